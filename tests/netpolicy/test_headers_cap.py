"""network/headers: NETWORK_MAX_HEADER_BYTES caps the response head whatever the read boundaries.

A head that crosses the cap and ends within one read never trips h11's incomplete-event limit, so
the fetcher must measure what h11 parsed.  Loopback servers only: 127.0.0.2 is allow-listed as
"a public host" and the recording connector refuses anything that is not loopback.
"""

from __future__ import annotations

import pytest

from devutils.errors import UpstreamError
from devutils.netpolicy.fetch import HeaderFetcher, tls_context
from devutils.netpolicy.policy import NetworkPolicy
from tests.conftest import make_settings
from tests.netpolicy.loopback import MapResolver, RecordingConnector, respond, serving

PUBLIC_IP = "127.0.0.2"
DEFAULT_CAP = 64 * 1024
_PREFIX = b"HTTP/1.1 200 OK\r\nX-Big: "
_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def head_of(size: int) -> bytes:
    """A complete response head of exactly ``size`` bytes (its blank line included)."""
    head = _PREFIX + b"a" * (size - len(_PREFIX) - len(_END)) + _END
    assert len(head) == size
    return head


def fetcher(cap: int | None) -> HeaderFetcher:
    settings = make_settings(
        ssrf_allow_cidrs=f"{PUBLIC_IP}/32",
        ssrf_allow_ports="1-65535",
        **({} if cap is None else {"network_max_header_bytes": cap}),
    )
    policy = NetworkPolicy.from_settings(settings)
    assert policy.max_header_bytes == (DEFAULT_CAP if cap is None else cap)
    return HeaderFetcher(policy, MapResolver({}), RecordingConnector(), tls_context(settings))


def fetch(cap: int | None, wire: bytes) -> int:
    """The status of a fetch from a server that sends ``wire`` in one send after the request."""
    with serving(PUBLIC_IP, respond(wire)) as server:
        return fetcher(cap).fetch(f"http://{PUBLIC_IP}:{server.port}/").status_code


CAPS = [pytest.param(1024, id="cap-1024"), pytest.param(None, id="default-cap")]


@pytest.mark.parametrize("cap", CAPS)
def test_a_head_one_byte_over_the_cap_is_refused(cap: int | None) -> None:
    limit = cap or DEFAULT_CAP
    with pytest.raises(UpstreamError) as caught:
        fetch(cap, head_of(limit + 1))
    assert caught.value.details == f"the response header block exceeds {limit} bytes"


@pytest.mark.parametrize("cap", CAPS)
def test_a_head_of_exactly_the_cap_passes_with_body_bytes_behind_it(cap: int | None) -> None:
    """Body bytes that arrive in the same read as the head are not part of the head."""
    limit = cap or DEFAULT_CAP
    assert fetch(cap, head_of(limit) + b"x" * 8192) == 200


def test_informational_heads_count_towards_the_cap() -> None:
    """30 x 100 Continue (750 bytes) and a 300-byte final head, all in one read: 1050 > 1024,
    as it is when the same bytes arrive in several reads."""
    with pytest.raises(UpstreamError) as caught:
        fetch(1024, _CONTINUE * 30 + head_of(300))
    assert caught.value.details == "the response header block exceeds 1024 bytes"
    assert fetch(1024, _CONTINUE * 20 + head_of(300)) == 200  # 800 bytes
