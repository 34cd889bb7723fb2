"""The one URL parser of outbound requests, strict enough that no other parser disagrees with it.

The fetcher in :mod:`devutils.netpolicy.fetch` uses exactly what this returns (address or name,
port, request target), so "what was checked" and "what is dialled" cannot differ.  Anything that
parsers are known to read differently is refused outright instead of being interpreted:
whitespace and control characters anywhere (urlsplit silently deletes TABs), backslashes
(``http://127.0.0.1:80\\@example.com/``), any userinfo (``@`` in the authority), ``%`` in the host
(percent-encoded hosts, IPv6 zones), non-ASCII digits or dots, brackets around non-IPv6 text, and
ports that are not 1-5 plain digits in 1-65535.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from devutils.netpolicy.hosts import Host, HostError, parse_host

MAX_URL_LENGTH = 8192
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_PORT = re.compile(r"[0-9]{1,5}\Z")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that may appear in a path or query as they are; anything else printable is %-encoded.
_SAFE_TARGET = "/?:@!$&'()*+,;=-._~%[]"


class UrlError(ValueError):
    """The URL is malformed or ambiguous: a validation error (400), never a policy refusal."""


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str  # lower-case; may be any scheme, the policy decides which are allowed
    host: Host
    port: int
    explicit_port: bool
    target: str  # origin-form request target: path plus query, never empty

    @property
    def host_header(self) -> str:
        host = self.host.text
        if self.host.address is not None and self.host.address.version == 6:
            host = f"[{host}]"
        return f"{host}:{self.port}" if self.explicit_port else host


def _check_characters(url: str) -> None:
    if not url:
        raise UrlError("URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(f"URL is longer than {MAX_URL_LENGTH} characters")
    for ch in url:
        if ch <= " " or ch == "\x7f" or ("\x80" <= ch <= "\x9f") or ch.isspace():
            raise UrlError("URL contains whitespace or control characters")
        if ch == "\\":
            raise UrlError("URL contains a backslash")


def _split_authority(rest: str) -> tuple[str, str]:
    if not rest.startswith("//"):
        raise UrlError("URL must have the form scheme://host[:port]/path")
    rest = rest[2:]
    end = len(rest)
    for delimiter in "/?#":
        position = rest.find(delimiter)
        if position != -1:
            end = min(end, position)
    return rest[:end], rest[end:]


def _split_port(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise UrlError("unterminated IPv6 address")
        host, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise UrlError("unexpected text after the IPv6 address")
        return host, (after[1:] if after else None)
    host, colon, port = authority.partition(":")
    return host, (port if colon else None)


def _target(tail: str) -> str:
    target = tail.split("#", 1)[0]
    if not target.startswith("/"):
        target = "/" + target
    # Non-ASCII in path or query is sent as UTF-8 percent-encoding, as browsers do.
    return quote(target, safe=_SAFE_TARGET)


def scheme_of(url: str) -> str | None:
    """The lower-case scheme of ``url``, or None when it does not start with one."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def parse_url(url: str) -> ParsedUrl:
    """Parse an absolute URL with an authority, or raise :class:`UrlError`."""
    _check_characters(url)
    match = _SCHEME.match(url)
    if not match:
        raise UrlError("URL must start with a scheme such as https://")
    scheme = match.group(1).lower()
    authority, tail = _split_authority(url[match.end() :])
    if "@" in authority:
        raise UrlError("credentials (user@host) are not allowed in URLs")
    if "%" in authority:
        raise UrlError("percent-encoding is not allowed in the host")
    host_text, port_text = _split_port(authority)
    if not host_text:
        raise UrlError("URL has no host")
    port = DEFAULT_PORTS.get(scheme, 0)
    if port_text is not None:
        if not _PORT.match(port_text) or not 1 <= int(port_text) <= 65535:
            raise UrlError("port must be a number from 1 to 65535")
        port = int(port_text)
    try:
        host = parse_host(host_text)
    except HostError as exc:
        raise UrlError(f"invalid host: {exc}") from None
    return ParsedUrl(scheme, host, port, port_text is not None, _target(tail))
