"""Host text → an IP address or a normalised DNS name, the way a permissive client would read it.

Numeric IPv4 spellings that glibc and browsers accept (``2130706433``, ``0x7f000001``,
``0177.0.0.1``, ``127.1``) are parsed here as the addresses they denote (WHATWG URL IPv4 parser
rules), so they reach the deny table as addresses instead of slipping through as "names".  A name
whose last label is numeric but is not a valid address is malformed, never looked up.  Non-ASCII
labels must be valid IDNA 2008 on their own: full-width digits and ideographic dots are refused
rather than mapped to ASCII, because a different client might map them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

import idna

from devutils.netpolicy.denytable import IPAddress

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)\Z")

# Names that only ever mean something inside a network, or that exist to alias arbitrary (often
# loopback) addresses; refused by name so a lookup never happens.
INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata", "ip6-localhost"})
INTERNAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".corp",
    ".lan",
    ".home",
    ".home.arpa",
    ".arpa",
    ".svc",
    ".cluster.local",
    ".test",
    ".invalid",
    ".example",
    # Public wildcard services that resolve a name to any address written into it.
    ".nip.io",
    ".sslip.io",
    ".xip.io",
    ".traefik.me",
    ".localtest.me",
    ".lvh.me",
    ".localh.st",
    ".vcap.me",
    ".1u.ms",
)


class HostError(ValueError):
    """The host text is malformed (a validation error, not a policy refusal)."""


@dataclass(frozen=True)
class Host:
    """A parsed host: exactly one of ``address`` and ``name`` is set."""

    address: IPAddress | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        return str(self.address) if self.address is not None else str(self.name)


def _ipv4_number(part: str) -> int | None:
    if not _NUMBER.match(part):
        return None
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        if not part.isdigit() or any(ch in "89" for ch in part):
            return None
        return int(part, 8)
    return int(part)


def parse_ipv4(text: str) -> IPv4Address | None:
    """WHATWG "IPv4 parser": dotted 1-4 parts, each decimal, octal (0...) or hex (0x...).

    Returns ``None`` when the text is not numeric at all; raises :class:`HostError` when it looks
    numeric but does not denote an address (so it is never treated as a name either).
    """
    parts = text.split(".")
    if parts and parts[-1] == "":
        parts.pop()
    if not parts or not _NUMBER.match(parts[-1]):
        return None
    if len(parts) > 4:
        raise HostError("malformed IPv4 address")
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        raise HostError("malformed IPv4 address")
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise HostError("IPv4 address out of range")
    result = values[-1]
    for index, value in enumerate(values[:-1]):
        result += value << (8 * (3 - index))
    return IPv4Address(result)


def parse_ipv6(text: str) -> IPv6Address:
    if "%" in text:
        raise HostError("IPv6 zone identifiers are not allowed")
    try:
        return IPv6Address(text)
    except ValueError:
        raise HostError("malformed IPv6 address") from None


def normalise_name(text: str) -> str:
    """Lower-case ASCII (A-label) form of a DNS name, one trailing dot removed; or HostError."""
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        raise HostError("host name must be 1-253 characters")
    labels = []
    for label in name.split("."):
        if not label.isascii():
            try:
                label = idna.alabel(label.lower()).decode("ascii")
            except (idna.IDNAError, UnicodeError):
                raise HostError("host name contains characters that are not allowed") from None
        label = label.lower()
        if not _LABEL.match(label):
            raise HostError("host name labels must be 1-63 letters, digits, '-' or '_'")
        labels.append(label)
    result = ".".join(labels)
    if len(result) > 253:
        raise HostError("host name must be 1-253 characters")
    return result


def parse_host(text: str) -> Host:
    """An IP literal (bracketed IPv6, any IPv4 spelling) or a normalised name."""
    if text.startswith("[") and text.endswith("]"):
        return Host(address=parse_ipv6(text[1:-1]))
    if "/" in text or text.count(":") == 1:  # "https://host", "host:443": IPv6 has two or more
        raise HostError("a host is a name or an address, without a scheme, port or path")
    if ":" in text or "[" in text or "]" in text:
        raise HostError("IPv6 addresses must be written in brackets")
    if not text.isascii() and any(
        not ch.isascii() and (ch.isdigit() or ch in "。．｡") for ch in text
    ):
        raise HostError("host contains non-ASCII digits or dots")
    address = parse_ipv4(text.lower()) if text.isascii() else None
    if address is not None:
        return Host(address=address)
    return Host(name=normalise_name(text))


def internal_name(name: str) -> bool:
    """True for names that only mean something inside a network (or alias arbitrary addresses)."""
    if "." not in name or name in INTERNAL_NAMES:
        return True
    return any(name.endswith(suffix) or name == suffix[1:] for suffix in INTERNAL_SUFFIXES)


def name_allowed(name: str, patterns: tuple[str, ...]) -> bool:
    """Operator allow-list match: exact name, or ``*.suffix`` / ``.suffix`` for sub-domains."""
    for pattern in patterns:
        if pattern.startswith(("*.", ".")):
            suffix = pattern[pattern.index(".") :]
            if name.endswith(suffix) or name == suffix[1:]:
                return True
        elif name == pattern:
            return True
    return False
