"""The URL parser: what it accepts, how it reads numeric hosts, and the tricks it refuses."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from devutils.netpolicy.hosts import HostError, internal_name, name_allowed, parse_host, parse_ipv4
from devutils.netpolicy.urlcheck import UrlError, parse_url

# (url, host text, port, request target, Host header)
ACCEPTED = [
    ("http://example.com", "example.com", 80, "/", "example.com"),
    ("https://example.com/a/b?q=1#frag", "example.com", 443, "/a/b?q=1", "example.com"),
    ("HTTP://EXAMPLE.COM./", "example.com", 80, "/", "example.com"),
    ("http://example.com:8080/x", "example.com", 8080, "/x", "example.com:8080"),
    ("http://example.com:080/", "example.com", 80, "/", "example.com:80"),
    ("http://example.com?x=1", "example.com", 80, "/?x=1", "example.com"),
    ("http://example.com/ü?q=ä", "example.com", 80, "/%C3%BC?q=%C3%A4", "example.com"),
    ("http://example.com/a%20b", "example.com", 80, "/a%20b", "example.com"),
    ("http://bücher.de/", "xn--bcher-kva.de", 80, "/", "xn--bcher-kva.de"),
    ("http://8.8.8.8/", "8.8.8.8", 80, "/", "8.8.8.8"),
    ("http://[2001:4860::8888]:8443/", "2001:4860::8888", 8443, "/", "[2001:4860::8888]:8443"),
    (
        "http://under_score.example.com/",
        "under_score.example.com",
        80,
        "/",
        "under_score.example.com",
    ),
]

# Numeric host spellings are addresses, whatever their form (WHATWG IPv4 parser).
NUMERIC = [
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0X7F000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0177.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("127.000.000.001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("0x", "0.0.0.0"),
    ("2852039166", "169.254.169.254"),
    ("0251.00376.000251.0000376", "169.254.169.254"),
    ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
    ("127.0.0.1.", "127.0.0.1"),
]

# (url, part of the error message)
REJECTED = [
    ("", "empty"),
    ("example.com", "scheme"),
    ("http:example.com", "scheme://host"),
    ("http:/example.com", "scheme://host"),
    ("http://", "no host"),
    ("http:///path", "no host"),
    (" http://example.com/", "whitespace"),
    ("http://example.com/ ", "whitespace"),
    ("http://127.0.\t0.1/", "whitespace"),
    ("http://exa\nmple.com/", "whitespace"),
    ("http://example.com/\x00", "whitespace"),
    ("http://example.com/\x7f", "whitespace"),
    ("http://example.com\u3000/", "whitespace"),
    ("http://1.1.1.1 &@2.2.2.2# @3.3.3.3/", "whitespace"),
    ("http://127.0.0.1:80\\@example.com/", "backslash"),
    ("http:\\\\127.0.0.1/", "backslash"),
    ("http://example.com\\@127.0.0.1/", "backslash"),
    ("http://user@example.com/", "credentials"),
    ("http://example.com@127.0.0.1/", "credentials"),
    ("http://user:pass@example.com/", "credentials"),
    ("http://%31%32%37.0.0.1/", "percent"),
    ("http://127.0.0.1%2f@example.com/", "credentials"),
    ("http://ex%61mple.com/", "percent"),
    ("http://[fe80::1%25eth0]/", "percent"),
    ("http://127。0。0。1/", "non-ASCII"),
    ("http://127．0．0．1/", "non-ASCII"),
    ("http://１２７.0.0.1/", "non-ASCII"),
    ("http://ex\u200bample.com/", "not allowed"),
    ("http://[::1]a/", "after the IPv6"),
    ("http://[::1/", "unterminated"),
    ("http://[127.0.0.1]/", "IPv6"),
    ("http://[v1.fe80::a]/", "IPv6"),
    ("http://::1/", "no host"),
    ("http://fe80::1/", "port"),
    ("http://example.com:/", "port"),
    ("http://example.com:0/", "port"),
    ("http://example.com:65536/", "port"),
    ("http://example.com:+80/", "port"),
    ("http://example.com:-1/", "port"),
    ("http://example.com:0x50/", "port"),
    ("http://example.com:000080/", "port"),
    ("http://425.510.425.510/", "out of range"),
    ("http://7147006462/", "out of range"),
    ("http://0x41414141A9FEA9FE/", "out of range"),
    ("http://256.0.0.1/", "out of range"),
    ("http://1.2.3.4.5/", "malformed IPv4"),
    ("http://08.0.0.1/", "malformed IPv4"),
    ("http://example.1/", "malformed IPv4"),
    ("http://1..2/", "malformed IPv4"),
    ("http://-bad-.example.com/", "labels"),
    ("http://a..b.com/", "labels"),
    ("http://" + "a" * 64 + ".com/", "labels"),
    ("http://" + "a." * 127 + "com/", "1-253"),
    ("http://example.com/" + "a" * 9000, "longer"),
]


@pytest.mark.parametrize(
    ("url", "host", "port", "target", "host_header"), ACCEPTED, ids=[row[0] for row in ACCEPTED]
)
def test_accepted(url: str, host: str, port: int, target: str, host_header: str) -> None:
    parsed = parse_url(url)
    assert (parsed.host.text, parsed.port, parsed.target, parsed.host_header) == (
        host,
        port,
        target,
        host_header,
    )


@pytest.mark.parametrize(("host", "address"), NUMERIC, ids=[row[0] for row in NUMERIC])
def test_numeric_hosts_are_addresses(host: str, address: str) -> None:
    assert parse_url(f"http://{host}/").host.address == ip_address(address)
    assert parse_host(host).name is None


@pytest.mark.parametrize(("url", "message"), REJECTED, ids=[repr(row[0])[:60] for row in REJECTED])
def test_rejected(url: str, message: str) -> None:
    with pytest.raises(UrlError, match=message):
        parse_url(url)


def test_scheme_is_reported_not_judged() -> None:
    """The parser reads any scheme; refusing it is the policy's job (so it is counted)."""
    assert parse_url("gopher://example.com:70/").scheme == "gopher"
    assert parse_url("FILE://example.com/etc").scheme == "file"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("127.0.0.1:443", "a host is a name or an address, without a scheme, port or path"),
        ("example.com:8443", "a host is a name or an address, without a scheme, port or path"),
        ("https://example.com", "a host is a name or an address, without a scheme, port or path"),
        ("example.com/path", "a host is a name or an address, without a scheme, port or path"),
        ("::1", "IPv6 addresses must be written in brackets"),
        ("2001:db8::1", "IPv6 addresses must be written in brackets"),
    ],
)
def test_a_host_field_says_what_is_wrong(host: str, message: str) -> None:
    """A host given alone (network/tls, network/dns): a port or scheme was called IPv6."""
    with pytest.raises(HostError) as caught:
        parse_host(host)
    assert str(caught.value) == message


def test_text_that_is_not_numeric_is_a_name() -> None:
    assert parse_ipv4("example.com") is None
    assert parse_ipv4("1.2.3.example") is None
    with pytest.raises(HostError):
        parse_ipv4("example.0x")


@pytest.mark.parametrize(
    ("name", "internal"),
    [
        ("localhost", True),
        ("api.localhost", True),
        ("intranet", True),
        ("metadata", True),
        ("printer.local", True),
        ("metadata.google.internal", True),
        ("db.prod.svc.cluster.local", True),
        ("redis.default.svc", True),
        ("router.home.arpa", True),
        ("1.0.0.127.in-addr.arpa", True),
        ("127.0.0.1.nip.io", True),
        ("localtest.me", True),
        ("www.localtest.me", True),
        ("example.com", False),
        ("local.example.com", False),
        ("svc.example.org", False),
        ("notlocalhost.com", False),
    ],
)
def test_internal_names(name: str, internal: bool) -> None:
    assert internal_name(name) is internal


@pytest.mark.parametrize(
    ("name", "patterns", "allowed"),
    [
        ("api.partner.internal", ("api.partner.internal",), True),
        ("x.partner.internal", ("*.partner.internal",), True),
        ("partner.internal", ("*.partner.internal",), True),
        ("x.partner.internal", (".partner.internal",), True),
        ("evilpartner.internal", ("*.partner.internal",), False),
        ("other.internal", ("api.partner.internal",), False),
    ],
)
def test_host_allow_list(name: str, patterns: tuple[str, ...], allowed: bool) -> None:
    assert name_allowed(name, patterns) is allowed
