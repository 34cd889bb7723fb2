"""DNS_RESOLVERS resolution when the server answers A and never answers AAAA.

Some broken authoritative servers and middleboxes drop AAAA queries.  Once A has given addresses,
AAAA only gets a short grace (``AAAA_GRACE``), so the caller keeps its budget to connect; when A
gave nothing, AAAA keeps the rest of the deadline.  Against a real dnslib server on 127.0.0.1
whose answers are scripted per name and record type.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import dnslib
import dnslib.server
import httpx
import pytest

from devutils.http.app import Application
from devutils.netpolicy.fetch import socket_connector
from devutils.netpolicy.resolve import (
    AAAA_GRACE,
    DnspythonResolver,
    ResolveTimeout,
    name_resolver,
)
from tests.conftest import make_settings
from tests.netpolicy.loopback import OK_HEAD, RecordingConnector, respond, serving
from tests.netpolicy.test_dns_families import ScriptedResolver

V4 = "127.0.0.2"
V6 = "2001:db8::7"
TIMEOUT = 4.0  # generous, so that "well before the deadline" is a correctness bound
SLOW = AAAA_GRACE + 0.7  # an AAAA answer past the grace, well inside the deadline
# name -> (A behaviour, AAAA behaviour), as test_dns_families' ScriptedResolver reads them.
SCRIPT = {
    "aaaa-silent.example.com.": ("ok", "mute"),
    "both-silent.example.com.": ("mute", "mute"),
    "a-nodata-aaaa-slow.example.com.": ("nodata", "slow"),
    "a-servfail-aaaa-slow.example.com.": ("servfail", "slow"),
}


@pytest.fixture(scope="module")
def dns() -> Iterator[tuple[int, ScriptedResolver]]:
    scripted = ScriptedResolver(SCRIPT, slow=SLOW)
    quiet = dnslib.server.DNSLogger(log="-request,-reply,-truncated,-error", prefix=False)
    server = dnslib.server.DNSServer(scripted, address="127.0.0.1", port=0, logger=quiet)
    port = int(server.server.server_address[1])  # chosen by the system: free
    server.start_thread()
    try:
        yield port, scripted
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            server.server.server_close()


def resolver_for(port: int) -> DnspythonResolver:
    settings = make_settings(dns_resolvers=f"127.0.0.1:{port}", dns_timeout=TIMEOUT)
    resolver = name_resolver(settings)
    assert isinstance(resolver, DnspythonResolver)
    return resolver


def test_a_silent_aaaa_does_not_hold_the_a_answer(dns: tuple[int, ScriptedResolver]) -> None:
    port, scripted = dns
    started = time.monotonic()
    found = resolver_for(port).resolve("aaaa-silent.example.com", TIMEOUT)
    elapsed = time.monotonic() - started
    assert [str(address) for address in found] == [V4]
    assert ("aaaa-silent.example.com.", "AAAA") in scripted.queries  # AAAA was asked, unanswered
    assert elapsed < TIMEOUT / 2, f"the A answer waited {elapsed:.2f} s for a silent AAAA"


def test_with_a_silent_too_the_lookup_times_out(dns: tuple[int, ScriptedResolver]) -> None:
    with pytest.raises(ResolveTimeout):
        resolver_for(dns[0]).resolve("both-silent.example.com", 1.0)


@pytest.mark.parametrize(
    "name", ["a-nodata-aaaa-slow.example.com", "a-servfail-aaaa-slow.example.com"]
)
def test_without_a_addresses_aaaa_keeps_the_deadline(
    dns: tuple[int, ScriptedResolver], name: str
) -> None:
    # The AAAA answer comes after the grace: only the rest of the deadline may bound it here.
    found = resolver_for(dns[0]).resolve(name, TIMEOUT)
    assert [str(address) for address in found] == [V6]


@contextlib.asynccontextmanager
async def app_client(
    make_app: Callable[..., Application], services: dict[Any, Any], **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(**settings)
    for factory, instance in services.items():
        app.registry.context.provide(factory, instance)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


async def test_headers_tool_answers_despite_a_silent_aaaa(
    make_app: Callable[..., Application], dns: tuple[int, ScriptedResolver]
) -> None:
    # Resolution and the fetch share NETWORK_TIMEOUT: a silent AAAA used to spend all of it (504).
    connector = RecordingConnector()  # refuses anything but loopback
    with serving(V4, respond(OK_HEAD)) as server:
        url = f"http://aaaa-silent.example.com:{server.port}/"
        async with app_client(
            make_app,
            {socket_connector: connector},
            dns_resolvers=f"127.0.0.1:{dns[0]}",
            dns_timeout=3,
            network_timeout=3,
            ssrf_allow_cidrs=f"{V4}/32",
            ssrf_allow_ports="1-65535",
        ) as http:
            response = await http.post("/api/v1/network/headers", json={"url": url})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["statusCode"] == 200
    assert connector.dials == [(V4, server.port)]
