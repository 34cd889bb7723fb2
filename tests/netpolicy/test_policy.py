"""NetworkPolicy: URL → checked addresses, allow lists, ports, resolution, metrics and logs.

No test here opens a socket: the policy only parses and resolves (through fake resolvers)."""

from __future__ import annotations

import logging
from ipaddress import ip_address

import pytest
from prometheus_client import REGISTRY

from devutils.errors import SSRFBlockedError, ToolError, ToolTimeoutError, UpstreamError
from devutils.netpolicy.denytable import IPAddress
from devutils.netpolicy.policy import NetworkPolicy, network_policy
from devutils.netpolicy.resolve import ResolveError, ResolveTimeout
from devutils.settings import parse_nameserver
from tests.conftest import make_settings
from tests.netpolicy.loopback import MapResolver, RebindingResolver

PUBLIC = MapResolver(
    {
        "example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "internal.example.com": ["10.1.2.3"],
        "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
        "mapped.example.com": ["::ffff:169.254.169.254"],
        "meta.example.com": ["169.254.169.254"],
        "partner.example.net": ["10.9.9.9"],
    }
)


def blocks(reason: str) -> float:
    return REGISTRY.get_sample_value("ssrf_blocks_total", {"reason": reason}) or 0.0


def code_of(policy: NetworkPolicy, url: str) -> str:
    try:
        policy.destination(url, PUBLIC, 1.0)
    except ToolError as exc:
        return exc.code
    return "OK"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/", "OK"),
        ("https://example.com:8443/", "OK"),
        ("http://8.8.8.8:8080/", "OK"),
        ("http://internal.example.com/", "SSRF_BLOCKED"),
        ("http://mixed.example.com/", "SSRF_BLOCKED"),  # one bad answer refuses the name
        ("http://mapped.example.com/", "SSRF_BLOCKED"),
        ("http://meta.example.com/latest/meta-data/", "SSRF_BLOCKED"),
        ("http://nxdomain.example.com/", "UPSTREAM_ERROR"),
        ("http://localhost/", "SSRF_BLOCKED"),
        ("http://metadata.google.internal/", "SSRF_BLOCKED"),
        ("http://127.0.0.1.nip.io/", "SSRF_BLOCKED"),
        ("http://2130706433/", "SSRF_BLOCKED"),
        ("http://[::ffff:127.0.0.1]/", "SSRF_BLOCKED"),
        ("http://[fd00:ec2::254]/", "SSRF_BLOCKED"),
        ("http://100.100.100.200/", "SSRF_BLOCKED"),
        ("file:///etc/passwd", "SSRF_BLOCKED"),
        ("javascript:alert(1)", "SSRF_BLOCKED"),
        ("tftp://127.0.0.1:69/x", "SSRF_BLOCKED"),
        ("jar:http://example.com!/", "SSRF_BLOCKED"),
        ("file://localhost/etc/passwd", "SSRF_BLOCKED"),
        ("gopher://example.com:70/", "SSRF_BLOCKED"),
        ("dict://example.com:11211/", "SSRF_BLOCKED"),
        ("ftp://example.com/", "SSRF_BLOCKED"),
        ("http://example.com:22/", "SSRF_BLOCKED"),
        ("http://example.com:6379/", "SSRF_BLOCKED"),
        ("http://127.0.0.1:80\\@example.com/", "VALIDATION_ERROR"),
    ],
)
def test_default_policy(url: str, code: str) -> None:
    assert code_of(NetworkPolicy(), url) == code


def test_destination_is_exactly_the_checked_addresses() -> None:
    destination = NetworkPolicy().destination("https://example.com/x", PUBLIC, 1.0)
    assert destination.addresses == (
        ip_address("93.184.216.34"),
        ip_address("2606:2800:220:1:248:1893:25c8:1946"),
    )
    assert destination.server_name == "example.com"
    assert destination.url.host_header == "example.com"


def test_mapped_literal_is_dialled_as_ipv4() -> None:
    destination = NetworkPolicy().destination("http://[::ffff:8.8.8.8]/", PUBLIC, 1.0)
    assert destination.addresses == (ip_address("8.8.8.8"),)


def test_port_check_never_replaces_the_address_check() -> None:
    policy = NetworkPolicy(allow_ports=((1, 65535),))
    assert code_of(policy, "http://127.0.0.1:6379/") == "SSRF_BLOCKED"
    assert code_of(policy, "http://example.com:6379/") == "OK"


def test_rebinding_resolver_is_asked_once() -> None:
    resolver = RebindingResolver("93.184.216.34", "127.0.0.1")
    destination = NetworkPolicy().destination("http://rebind.example.com/", resolver, 1.0)
    assert resolver.calls == 1
    assert destination.addresses == (ip_address("93.184.216.34"),)


def test_settings_allow_lists() -> None:
    policy = network_policy(
        make_settings(
            ssrf_allow_cidrs="10.0.0.0/8,fd00::/8",
            ssrf_allow_hosts="*.example.net, metadata.google.internal",
            ssrf_allow_ports="80,8000-9000",
        )
    )
    assert code_of(policy, "http://10.1.2.3/") == "OK"
    assert code_of(policy, "http://[::ffff:10.1.2.3]/") == "OK"
    assert code_of(policy, "http://[fd00:ec2::254]/") == "OK"
    assert code_of(policy, "http://internal.example.com:8500/") == "OK"
    assert code_of(policy, "http://partner.example.net/") == "OK"
    assert code_of(policy, "http://127.0.0.1/") == "SSRF_BLOCKED"
    assert code_of(policy, "http://172.16.0.1/") == "SSRF_BLOCKED"
    assert code_of(policy, "http://example.com:443/") == "SSRF_BLOCKED"
    assert code_of(policy, "http://example.com:9001/") == "SSRF_BLOCKED"
    with pytest.raises(ToolError) as caught:  # allow-listed by name, so no name rule applies
        policy.destination("http://metadata.google.internal/", PUBLIC, 1.0)
    assert caught.value.code == "UPSTREAM_ERROR"  # ...and it simply does not resolve here


def test_deadline_is_shorter_than_the_tool_timeout() -> None:
    policy = network_policy(make_settings(network_timeout=30, tool_timeout=10))
    assert policy.timeout == pytest.approx(8.0)
    assert network_policy(make_settings()).timeout == 5.0


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def resolve(self, name: str, timeout: float) -> list[IPAddress]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ResolveTimeout(), ToolTimeoutError),
        (ResolveError(missing=False), UpstreamError),
        (ResolveError(missing=True), UpstreamError),
    ],
)
def test_resolution_failures(error: Exception, expected: type[ToolError]) -> None:
    with pytest.raises(expected):
        NetworkPolicy().destination("http://example.com/", _Failing(error), 1.0)


def test_refusals_are_counted_and_logged_without_the_url(caplog: pytest.LogCaptureFixture) -> None:
    before = blocks("link_local"), blocks("port"), blocks("internal_name")
    caplog.set_level(logging.WARNING, logger="devutils.netpolicy")
    secret_url = "http://meta.example.com/latest/meta-data/iam/CANARY-7f3a"
    with pytest.raises(SSRFBlockedError) as caught:
        NetworkPolicy().destination(secret_url, PUBLIC, 1.0)
    for url in ("http://example.com:25/", "http://db.svc.cluster.local/"):
        with pytest.raises(SSRFBlockedError):
            NetworkPolicy().destination(url, PUBLIC, 1.0)
    after = blocks("link_local"), blocks("port"), blocks("internal_name")
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
    records = [r for r in caplog.records if r.name == "devutils.netpolicy"]
    assert [getattr(r, "reason", None) for r in records] == ["link_local", "port", "internal_name"]
    assert all(r.levelno == logging.WARNING and getattr(r, "ssrf", False) for r in records)
    assert all("ssrf blocked" in r.getMessage() for r in records)
    assert "CANARY" not in caplog.text
    assert "meta.example.com" not in caplog.text
    # The client learns that it was refused, not which address or range.
    assert "169.254" not in str(caught.value.details)
    assert "link" not in str(caught.value.details)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
    ],
)
def test_nameserver_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["dns.google", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_bad_nameservers(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any ValueError subclass is the contract
        parse_nameserver(text)
