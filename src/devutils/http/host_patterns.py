"""Allow-list entries for ``Host`` and ``Origin`` values (ALLOWED_HOSTS, ALLOWED_ORIGINS).

A ``*`` stands only for whole things, never for a prefix of text:

* ``*`` alone: any value;
* ``*.example.com``: any host under example.com (``a.example.com``, ``a.b.example.com``), never
  ``example.com`` itself nor ``example.com.attacker.net``;
* ``host:*``: any port (for a host entry one must be present; a host entry without a port already
  accepts every port, and an origin entry without a port only the scheme's default one).

An origin's default port written out (``https://app.example.com:443``, ``http://a.example:80``)
is the same origin as none, in an entry and in an ``Origin`` value alike: browsers never write it
(RFC 6454 §6.2), so an entry naming it must still match them.

An entry with a ``*`` right after the name (``legacy.example.com*``, once a prefix match that also
let ``legacy.example.com.attacker.net`` in) now means that name on any port, or none.  Any other
``*`` is a configuration error that stops start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

# Port rules: "" no port at all; "*" any port or none; "+" any port, one present; digits: that one.
NO_PORT = ""
ANY_PORT = "*"
SOME_PORT = "+"
# The ports an origin of these schemes has when it names none (RFC 6454 §4, RFC 9110 §4.2).
DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True, slots=True)
class HostPattern:
    host: str  # lower case; "*" any host; ".example.com" for "*.example.com"
    port: str

    def matches(self, host: str, port: str | None) -> bool:
        if port is not None and not (port.isascii() and port.isdigit()):
            return False  # "name:junk" or "[::1]junk" is no host:port at all
        if self.host == "*":
            pass
        elif self.host.startswith("."):
            if not (host.endswith(self.host) and len(host) > len(self.host)):
                return False
        elif host != self.host:
            return False
        if self.port == ANY_PORT:
            return True
        if self.port == SOME_PORT:
            return port is not None
        if self.port == NO_PORT:
            return port is None
        return port == self.port


@dataclass(frozen=True, slots=True)
class OriginPattern:
    scheme: str  # "*": any origin at all (the host pattern is then unused)
    host: HostPattern

    def matches(self, origin: str) -> bool:
        if self.scheme == "*":
            return True
        scheme, sep, rest = origin.partition("://")
        if not sep or scheme != self.scheme:
            return False
        host, port = split_host_port(rest)
        if port is not None and port == DEFAULT_PORTS.get(scheme):
            port = None
        return self.host.matches(host, port)


def split_host_port(value: str) -> tuple[str, str | None]:
    """``host[:port]`` → (host, port or None), lower case, IPv6 brackets kept."""
    value = value.lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        host, rest = value[: end + 1], value[end + 1 :]
        return (host, rest[1:]) if rest.startswith(":") else (host, rest or None)
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, port
    return value, None


def without_default_port(scheme: str, authority: str) -> str:
    """``authority`` (``host[:port]``, lower case) without ``scheme``'s default port."""
    default = DEFAULT_PORTS.get(scheme)
    if default is not None and authority.endswith(":" + default):
        host, port = split_host_port(authority)
        if port == default:
            return host
    return authority


def _parse(entry: str, *, default_port: str, star_port: str) -> HostPattern:
    text = entry.strip().lower()
    if text == "*":
        return HostPattern("*", ANY_PORT)
    legacy = text.endswith("*") and not text.endswith(":*")
    if legacy:
        text = text[:-1]  # "name*": the name on any port (or none), no longer a prefix
    host, port = split_host_port(text)
    if legacy and port is None:
        rule = ANY_PORT
    elif port is None:
        rule = default_port
    elif port == "*":
        rule = star_port
    elif port.isdigit() and 0 < int(port) < 65536:
        rule = str(int(port))
    else:
        raise ValueError(f"{entry!r}: bad port {port!r}")
    if host.startswith("*."):
        host = host[1:]
    if not host.strip(".") or "*" in host or "/" in host:
        raise ValueError(
            f"{entry!r}: a '*' may stand only for leading labels (*.example.com), a port "
            "(host:*) or everything (*)"
        )
    return HostPattern(host, rule)


def parse_host_pattern(entry: str) -> HostPattern:
    """A Host allow-list entry: without a port any port matches."""
    return _parse(entry, default_port=ANY_PORT, star_port=SOME_PORT)


def parse_origin_pattern(entry: str) -> OriginPattern:
    """An Origin allow-list entry, ``scheme://host[:port]``; without a port, no port."""
    text = entry.strip().lower().rstrip("/")
    if text == "*":
        return OriginPattern("*", HostPattern("*", ANY_PORT))
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or "*" in scheme:
        raise ValueError(f"{entry!r}: an origin is scheme://host[:port], or *")
    host = _parse(rest, default_port=NO_PORT, star_port=ANY_PORT)
    if host.port == DEFAULT_PORTS.get(scheme):
        host = HostPattern(host.host, NO_PORT)  # matches() drops that port from Origin values
    return OriginPattern(scheme, host)
