"""A port of the parts of Go's ``net/url`` the reference exposes: ``Parse``, ``Query``,
``Hostname``/``Port``, ``URL.String`` and ``Values.Encode``.

``urllib.parse`` is deliberately not used: it silently deletes tabs and newlines, accepts any
port text and never rejects a bad ``%`` escape, so it would answer 200 where Go answers 400.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from devutils.tools._gotext import strconv_quote


class URLError(ValueError):
    """A Go ``url.Error``-style message. ``quoted`` holds the pieces of the input the message
    quotes, so :func:`parse` can hide the ones that are part of a password."""

    def __init__(self, message: str, quoted: tuple[bytes, ...] = ()) -> None:
        super().__init__(message)
        self.quoted = quoted


class Mode(enum.Enum):
    PATH = enum.auto()
    HOST = enum.auto()
    ZONE = enum.auto()
    USER_PASSWORD = enum.auto()
    QUERY_COMPONENT = enum.auto()
    FRAGMENT = enum.auto()


_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_HOST_SUB_DELIMS = frozenset(b"!$&'()*+,;=:[]<>\"")
_RESERVED = frozenset(b"$&+,/:;=?@")


def should_escape(byte: int, mode: Mode) -> bool:
    """Go's ``shouldEscape``: RFC 3986 rules per URL component."""
    if byte in _ALNUM:
        return False
    if mode in (Mode.HOST, Mode.ZONE) and byte in _HOST_SUB_DELIMS:
        return False
    if byte in b"-_.~":
        return False
    if byte in _RESERVED:
        if mode is Mode.PATH:
            return byte == ord("?")
        if mode is Mode.USER_PASSWORD:
            return byte in b"@/?:"
        if mode is Mode.QUERY_COMPONENT:
            return True
        if mode is Mode.FRAGMENT:
            return False
    return not (mode is Mode.FRAGMENT and byte in b"!()*")


def _escape_table(mode: Mode) -> tuple[str, ...]:
    table = []
    for byte in range(256):
        if byte == 0x20 and mode is Mode.QUERY_COMPONENT:
            table.append("+")
        elif should_escape(byte, mode):
            table.append(f"%{byte:02X}")
        else:
            table.append(chr(byte))
    return tuple(table)


_ESCAPE_TABLES = {mode: _escape_table(mode) for mode in Mode}


def escape(text: str, mode: Mode) -> str:
    table = _ESCAPE_TABLES[mode]
    return "".join(table[byte] for byte in text.encode())


def unescape(text: str, mode: Mode) -> str:
    """Go's ``unescape``: strict ``%XX`` checking; invalid UTF-8 results become U+FFFD."""
    data = text.encode()
    index = 0
    length = len(data)
    while index < length:
        byte = data[index]
        if byte == 0x25:  # "%"
            chunk = data[index : index + 3]
            if len(chunk) < 3 or chunk[1] not in _HEX or chunk[2] not in _HEX:
                raise URLError(f"invalid URL escape {strconv_quote(chunk)}", (chunk,))
            value = int(chunk[1:], 16)
            if mode is Mode.HOST and value < 0x80 and chunk != b"%25":
                # RFC 3986 §3.2.2: in a host, %-encoding is only for non-ASCII bytes.
                raise URLError(f"invalid URL escape {strconv_quote(chunk)}", (chunk,))
            if (
                mode is Mode.ZONE
                and chunk != b"%25"
                and value != 0x20
                and should_escape(value, Mode.HOST)
            ):
                raise URLError(f"invalid URL escape {strconv_quote(chunk)}", (chunk,))
            index += 3
            continue
        if mode in (Mode.HOST, Mode.ZONE) and byte < 0x80 and should_escape(byte, mode):
            char = bytes([byte])
            raise URLError(f"invalid character {strconv_quote(char)} in host name", (char,))
        index += 1
    if mode is Mode.QUERY_COMPONENT:
        data = data.replace(b"+", b" ")
    if b"%" in data:
        data = unquote_to_bytes(data)
    return data.decode("utf-8", "replace")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _valid_optional_port(port: str) -> bool:
    if port == "":
        return True
    return port[0] == ":" and all("0" <= char <= "9" for char in port[1:])


@dataclass
class GoURL:
    scheme: str = ""
    opaque: str = ""
    username: str | None = None
    password: str | None = None
    host: str = ""
    path: str = ""
    raw_query: str = ""
    fragment: str = ""
    query: dict[str, list[str]] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        return split_host_port(self.host)[0]

    @property
    def port(self) -> str:
        return split_host_port(self.host)[1]


def split_host_port(host_port: str) -> tuple[str, str]:
    """Go's ``splitHostPort`` behind ``URL.Hostname`` and ``URL.Port``."""
    host, port = host_port, ""
    colon = host.rfind(":")
    if colon != -1 and _valid_optional_port(host[colon:]):
        host, port = host[:colon], host[colon + 1 :]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def _get_scheme(raw: str) -> tuple[str, str]:
    for index, char in enumerate(raw):
        if "a" <= char <= "z" or "A" <= char <= "Z":
            continue
        if "0" <= char <= "9" or char in "+-.":
            if index == 0:
                return "", raw
            continue
        if char == ":":
            if index == 0:
                raise URLError("missing protocol scheme")
            return raw[:index], raw[index + 1 :]
        return "", raw
    return "", raw


def _invalid_port(colon_port: str) -> URLError:
    quoted = colon_port.encode()
    return URLError(f"invalid port {strconv_quote(quoted)} after host", (quoted,))


def _parse_host(host: str) -> str:
    bracket = host.rfind("[")
    if bracket > 0:
        # RFC 3986 §3.2.2: an IP-literal is the whole host, never a part of one. Newer Go
        # rejects it so too; its first CVE-2025-47912 fix silently kept the bracketed part.
        raise URLError("invalid IP-literal")
    if bracket == 0:
        return _parse_ip_literal(host)
    colon = host.rfind(":")
    if colon != -1 and not _valid_optional_port(host[colon:]):
        raise _invalid_port(host[colon:])
    return unescape(host, Mode.HOST)


def _parse_ip_literal(host: str) -> str:
    """``[IPv6]`` or ``[IPv6%25zone]`` (RFC 3986, RFC 6874), optionally with ``:port``."""
    literal, colon_port = _split_ip_literal(host)
    # RFC 6874: "%25" starts the zone, which may %-encode any byte; the address itself may not.
    zone = literal.find("%25")
    if zone >= 0:
        address = unescape(literal[:zone], Mode.HOST) + unescape(literal[zone:], Mode.ZONE)
    else:
        address = unescape(literal, Mode.HOST)
    _check_ipv6(address)
    return f"[{address}]{colon_port}"


def _split_ip_literal(host: str) -> tuple[str, str]:
    """``[literal]:port`` as the literal between the brackets and ``:port`` (maybe empty)."""
    close = host.rfind("]")
    if close < 0:
        raise URLError("missing ']' in host")
    colon_port = host[close + 1 :]
    if not _valid_optional_port(colon_port):
        raise _invalid_port(colon_port)
    return host[1:close], colon_port


def _check_ipv6(address: str) -> None:
    """Only an IPv6 address may be bracketed (RFC 3986 §3.2.2). Go enforces it since 1.24.8 and
    1.25.2 (CVE-2025-47912): IPv4 in brackets is its ``invalid IP-literal``, and a name, ``[]``
    or IPvFuture (``[v1.x]``, which Go does not support) is ``invalid host``; an IPv4-mapped
    IPv6 address is still accepted. ``ipaddress`` reads addresses as Go's ``netip`` does
    (no leading zeros in IPv4 parts, a non-empty zone); its reasons are not Go's, so the
    message names the text only."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        pass
    else:
        raise URLError("invalid IP-literal")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        quoted = address.encode()
        raise URLError(
            f"invalid host: {strconv_quote(quoted)} is not an IPv6 address", (quoted,)
        ) from None


def check_host(host: str) -> None:
    """For build, whose Go counterpart ``URL.String`` checks nothing: a host with a ``[`` must be
    ``[IPv6]``, ``[IPv6%zone]`` or either with ``:port``, as parse requires, so build does not
    write a bracketed host that parse refuses. ``host`` is unescaped (a zone is ``%en0``, not
    ``%25en0``), as ``URL.Host`` holds it."""
    bracket = host.rfind("[")
    if bracket < 0:
        return
    if bracket > 0:
        raise URLError("invalid IP-literal")
    _check_ipv6(_split_ip_literal(host)[0])


_USERINFO_OK = frozenset("-._:~!$&'()*+,;=%@")


def _parse_authority(url: GoURL, authority: str) -> None:
    at = authority.rfind("@")
    url.host = _parse_host(authority[at + 1 :] if at >= 0 else authority)
    if at < 0:
        return
    userinfo = authority[:at]
    if any(
        not (char.isascii() and char.isalnum()) and char not in _USERINFO_OK for char in userinfo
    ):
        raise URLError("net/url: invalid userinfo")
    username, colon, password = userinfo.partition(":")
    url.username = unescape(username, Mode.USER_PASSWORD)
    if colon:
        url.password = unescape(password, Mode.USER_PASSWORD)


def parse_query(raw_query: str) -> dict[str, list[str]]:
    """Go's ``url.ParseQuery`` as ``URL.Query`` uses it: bad pairs are skipped, not fatal."""
    values: dict[str, list[str]] = {}
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        try:
            key = unescape(key, Mode.QUERY_COMPONENT)
            value = unescape(value, Mode.QUERY_COMPONENT)
        except URLError:
            continue
        values.setdefault(key, []).append(value)
    return values


def _parse(raw: str) -> GoURL:
    if _CONTROL.search(raw):
        raise URLError("net/url: invalid control character in URL")
    url = GoURL()
    if raw == "*":
        url.path = "*"
        return url
    scheme, rest = _get_scheme(raw)
    url.scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest, _, url.raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if url.scheme:
            url.opaque = rest
            return url
        if ":" in rest.partition("/")[0]:
            raise URLError("first path segment in URL cannot contain colon")
    if (url.scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, slash, tail = rest[2:].partition("/")
        rest = slash + tail
        _parse_authority(url, authority)
    url.path = unescape(rest, Mode.PATH)
    return url


def password_span(raw: str) -> tuple[int, int] | None:
    """Where ``raw`` may hold a password: from after the first ``:`` that follows a ``//`` to
    the last ``@``, or None. Wider than Go's own parse on purpose: a ``/``, ``?`` or ``#`` in a
    password ends Go's authority early, so the password then shows up as a port or a path, and
    an error must not echo it either."""
    slashes = raw.find("//")
    at = raw.rfind("@")
    if slashes < 0 or at < slashes + 2:
        return None
    colon = raw.find(":", slashes + 2, at)
    return None if colon < 0 else (colon + 1, at)


def _redact(text: str, span: tuple[int, int] | None) -> str:
    """``text`` (``raw`` or a head of it) with the password span replaced by ``xxxxx``, as Go's
    ``URL.Redacted`` shows a password."""
    if span is None or span[0] >= len(text):
        return text
    return text[: span[0]] + "xxxxx" + text[span[1] :]


def _touches(raw: bytes, piece: bytes, start: int, end: int) -> bool:
    """Whether ``piece`` may come from ``raw[start:end]``: it occurs overlapping that span, or
    it cannot be placed in ``raw`` at all (decoded text), so it might."""
    index = raw.find(piece)
    if index < 0:
        return True
    while index >= 0:
        if index < end and index + len(piece) > start:
            return True
        index = raw.find(piece, index + 1)
    return False


def _redact_reason(exc: URLError, raw: str, span: tuple[int, int] | None) -> str:
    """The message of ``exc`` with each input piece it quotes from the password replaced by
    ``"xxxxx"`` (``invalid port ":s3cr" after host`` for ``user:s3cr/t@host``)."""
    reason = str(exc)
    if span is None or span[0] == span[1]:
        return reason
    data = raw.encode()
    start, end = len(raw[: span[0]].encode()), len(raw[: span[1]].encode())
    for piece in exc.quoted:
        if piece and _touches(data, piece, start, end):
            reason = reason.replace(strconv_quote(piece), '"xxxxx"')
    return reason


def _parse_error(shown: str, exc: URLError, raw: str, span: tuple[int, int] | None) -> URLError:
    reason = _redact_reason(exc, raw, span)
    return URLError(f"parse {strconv_quote(_redact(shown, span).encode())}: {reason}")


def parse(raw: str) -> GoURL:
    """Go ``url.Parse`` (plus ``Query()``); errors read ``parse "<url>": <reason>``, with any
    text that may be a password shown as ``xxxxx`` in both parts."""
    span = password_span(raw)
    head, _, fragment = raw.partition("#")
    try:
        url = _parse(head)
    except URLError as exc:
        raise _parse_error(head, exc, raw, span) from None
    if fragment:
        try:
            url.fragment = unescape(fragment, Mode.FRAGMENT)
        except URLError as exc:
            raise _parse_error(raw, exc, raw, span) from None
    url.query = parse_query(url.raw_query)
    return url


def encode_query(values: dict[str, str]) -> str:
    """Go ``url.Values.Encode`` for single values: keys sorted, QueryEscape on both sides."""
    return "&".join(
        f"{escape(key, Mode.QUERY_COMPONENT)}={escape(values[key], Mode.QUERY_COMPONENT)}"
        for key in sorted(values)
    )


def build(scheme: str, host: str, path: str, query: dict[str, str], fragment: str) -> str:
    """Go ``URL{Scheme, Host, Path, RawQuery, Fragment}.String()`` with scheme and host set."""
    escaped_path = "*" if path == "*" else escape(path, Mode.PATH)
    if escaped_path and not escaped_path.startswith("/"):
        escaped_path = "/" + escaped_path
    text = f"{scheme}://{escape(host, Mode.HOST)}{escaped_path}"
    if query:
        text += "?" + encode_query(query)
    if fragment:
        text += "#" + escape(fragment, Mode.FRAGMENT)
    return text
