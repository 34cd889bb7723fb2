"""Host/Origin allow-lists (ALLOWED_HOSTS, ALLOWED_ORIGINS) on REST and /mcp, and the REST
Content-Type rule: what a web page in a developer's browser cannot make a local instance do."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from devutils.http.app import Application
from devutils.http.host_patterns import parse_host_pattern, parse_origin_pattern
from devutils.http.middleware.host_origin import HostOriginGuard
from devutils.settings import SettingsError
from tests.conftest import make_settings
from tests.frontends.mcp_support import modern_call
from tests.middleware.asgi_client import in_process

HASH = "/api/v1/crypto/hash"
HASH_ARGS = {"content": "abc", "algorithm": "md5"}
MD5_ABC = "900150983cd24fb0d6963f7d28e17f72"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8080", True),
        ("localhost:1", True),
        ("localhost", True),
        ("[::1]:8080", True),
        ("[::1]", True),
        ("LOCALHOST:8080", True),
        (None, False),
        ("attacker.example", False),
        ("localhost.attacker.example", False),
        ("127.0.0.1.nip.io:8080", False),
        ("localhostx:80", False),
        ("localhost:junk", False),
        ("[::1]junk", False),
    ],
    ids=lambda value: str(value),
)
def test_default_hosts_are_the_loopback_names(host: str | None, allowed: bool) -> None:
    assert HostOriginGuard((), ()).host_allowed(host) is allowed


@pytest.mark.parametrize(
    ("configured", "host", "allowed"),
    [
        ("api.example.com", "api.example.com", True),
        ("api.example.com", "api.example.com:443", True),
        ("api.example.com", "localhost:8080", False),
        ("api.example.com:8443", "api.example.com:8443", True),
        ("api.example.com:8443", "api.example.com:443", False),
        ("api.example.com:*", "api.example.com:1", True),
        ("api.example.com:*", "api.example.com", False),
        ("api.example.com:*", "api.example.com.evil.io", False),
        ("*", "anything.example", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com:8080", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "example.com.attacker.net", False),
        ("*.example.com", "badexample.com", False),
        ("*.example.com:8443", "a.example.com:443", False),
        # Once a prefix match that let example.com.attacker.net in; now "any port".
        ("legacy.example.com*", "legacy.example.com", True),
        ("legacy.example.com*", "legacy.example.com:9000", True),
        ("legacy.example.com*", "legacy.example.com.attacker.net", False),
        ("legacy.example.com*", "legacy.example.community", False),
    ],
    ids=lambda value: str(value),
)
def test_configured_hosts(configured: str, host: str, allowed: bool) -> None:
    assert HostOriginGuard((configured,), ()).host_allowed(host) is allowed


@pytest.mark.parametrize(
    ("hosts", "configured", "origin", "allowed"),
    [
        ((), (), None, True),
        ((), (), "http://localhost:8080", True),
        ((), (), "http://127.0.0.1:6274", True),
        ((), (), "https://[::1]", True),
        ((), (), "http://localhost", True),
        ((), (), "http://localhost.attacker.net", False),
        ((), (), "http://evil.example", False),
        ((), (), "null", False),
        (("api.example.com",), (), "http://localhost:8080", False),
        ((), ("https://app.example.com",), "https://app.example.com", True),
        ((), ("https://app.example.com/",), "https://app.example.com", True),
        ((), ("https://app.example.com",), "HTTPS://APP.EXAMPLE.COM", True),
        ((), ("https://app.example.com",), "https://app.example.com.evil.io", False),
        ((), ("https://app.example.com",), "https://app.example.com:8443", False),
        ((), ("https://app.example.com",), "http://app.example.com", False),
        ((), ("https://*.example.com",), "https://a.example.com", True),
        ((), ("https://*.example.com",), "https://example.com.evil.io", False),
        ((), ("https://app.example.com*",), "https://app.example.com:8443", True),
        ((), ("https://app.example.com*",), "https://app.example.com.evil.io", False),
        ((), ("*",), "null", True),
        # A default port written out is the same origin as none, in the entry or the Origin.
        ((), ("https://app.example.com:443",), "https://app.example.com", True),
        ((), ("https://app.example.com:443",), "https://app.example.com:443", True),
        ((), ("https://app.example.com",), "https://app.example.com:443", True),
        ((), ("http://b.example.com:80",), "http://b.example.com", True),
        ((), ("http://b.example.com",), "http://b.example.com:80", True),
        ((), ("https://*.example.com:443",), "https://a.example.com", True),
        ((), ("https://app.example.com:443",), "https://app.example.com:8443", False),
        ((), ("https://app.example.com:443",), "http://app.example.com", False),
        ((), ("https://app.example.com:80",), "https://app.example.com", False),
        ((), ("http://b.example.com:443",), "http://b.example.com", False),
        ((), ("https://app.example.com",), "https://app.example.com:80", False),
    ],
    ids=lambda value: str(value),
)
def test_origins(
    hosts: tuple[str, ...], configured: tuple[str, ...], origin: str | None, allowed: bool
) -> None:
    assert HostOriginGuard(hosts, configured).origin_allowed(origin) is allowed


def test_cors_origins_are_allowed_origins() -> None:
    guard = HostOriginGuard(("api.example.com",), (), ("https://app.example",))
    assert guard.origin_allowed("https://app.example")
    assert not guard.origin_allowed("https://other.example")


@pytest.mark.parametrize(
    "entry",
    ["*example.com", "api.*.com", "a*b.example.com", "host:port", "*.", "https://a*.example.com"],
)
def test_other_wildcards_stop_start_up(entry: str) -> None:
    with pytest.raises(ValueError, match="'"):
        parse_origin_pattern(entry) if entry.startswith("https") else parse_host_pattern(entry)
    variable = "ALLOWED_ORIGINS" if entry.startswith("https") else "ALLOWED_HOSTS"
    with pytest.raises(SettingsError, match=variable):
        make_settings(**{variable.lower(): entry})


def test_old_names_are_read_when_new_ones_are_unset() -> None:
    old = make_settings(mcp_allowed_hosts="api.example.com", mcp_allowed_origins="https://a.b")
    assert old.effective_allowed_hosts == ("api.example.com",)
    assert old.effective_allowed_origins == ("https://a.b",)
    both = make_settings(mcp_allowed_hosts="old.example", allowed_hosts="new.example")
    assert both.effective_allowed_hosts == ("new.example",)


# --- over HTTP, in process ------------------------------------------------------------------


async def _post(app: Application, path: str, **kwargs: object) -> httpx.Response:
    async with app.lifespan(), in_process(app) as http:
        return await http.post(path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Host": "attacker.example"}, 403, "FORBIDDEN"),
        ({"Host": "localhost.attacker.example:8080"}, 403, "FORBIDDEN"),
        ({"Origin": "https://evil.example"}, 403, "FORBIDDEN"),
        ({"Origin": "null"}, 403, "FORBIDDEN"),
    ],
    ids=["foreign-host", "suffix-host", "foreign-origin", "null-origin"],
)
async def test_rest_refuses_foreign_host_or_origin(
    make_app: Callable[..., Application], headers: dict[str, str], status: int, code: str
) -> None:
    app = make_app()
    response = await _post(app, HASH, json=HASH_ARGS, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "not allowed" in response.json()["error"]["message"]


async def test_rest_serves_loopback_browser_origins(make_app: Callable[..., Application]) -> None:
    app = make_app()
    headers = {"Host": "localhost:8080", "Origin": "http://localhost:5173"}
    response = await _post(app, HASH, json=HASH_ARGS, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["hash"] == MD5_ABC


async def test_configured_host_replaces_loopback_on_rest(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(allowed_hosts="api.example.com", allowed_origins="https://app.example")
    async with app.lifespan(), in_process(app) as http:
        served = await http.post(
            HASH,
            json=HASH_ARGS,
            headers={"Host": "api.example.com", "Origin": "https://app.example"},
        )
        loopback = await http.post(HASH, json=HASH_ARGS)
        probe = await http.get("/health/live")  # kubelets address pods by IP
    assert served.status_code == 200
    assert loopback.status_code == 403
    assert probe.status_code == 200


def _raw_headers_request(extra: list[tuple[bytes, bytes]]) -> httpx.Request:
    request = httpx.Request("POST", "http://localhost" + HASH, json=HASH_ARGS)
    request.headers = httpx.Headers([*request.headers.raw, *extra])
    return request


@pytest.mark.parametrize(
    ("extra", "details"),
    [
        ([(b"Host", b"attacker.example")], "several Host headers"),
        ([(b"Origin", b"http://localhost"), (b"Origin", b"https://evil")], "several Origin"),
    ],
    ids=["host", "origin"],
)
async def test_several_host_or_origin_headers_are_400(
    make_app: Callable[..., Application], extra: list[tuple[bytes, bytes]], details: str
) -> None:
    app = make_app()
    async with app.lifespan(), in_process(app) as http:
        response = await http.send(_raw_headers_request(extra))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert details in response.json()["error"]["details"]


async def test_several_host_headers_on_mcp_are_400(make_app: Callable[..., Application]) -> None:
    app = make_app()
    call_headers, body = modern_call("crypto_hash", HASH_ARGS)
    request = httpx.Request("POST", "http://localhost/mcp", json=body, headers=call_headers)
    request.headers = httpx.Headers([*request.headers.raw, (b"Host", b"attacker.example")])
    async with app.lifespan(), in_process(app) as http:
        response = await http.send(request)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32600
    assert "several Host headers" in response.json()["error"]["message"]


async def test_loopback_origin_reaches_mcp(make_app: Callable[..., Application]) -> None:
    app = make_app()
    call_headers, body = modern_call("crypto_hash", HASH_ARGS)
    headers = {**call_headers, "Host": "localhost:6274", "Origin": "http://localhost:6274"}
    response = await _post(app, "/mcp", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["result"]["structuredContent"]["hash"] == MD5_ABC


# --- Content-Type on REST POSTs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json-patch+json",
        None,
    ],
    ids=lambda value: str(value),
)
async def test_rest_post_needs_json_media_type(
    make_app: Callable[..., Application], content_type: str | None
) -> None:
    app = make_app()
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await _post(app, HASH, content=b'{"content":"abc"}', headers=headers)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in error["details"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"],
)
async def test_rest_post_accepts_json_with_parameters(
    make_app: Callable[..., Application], content_type: str
) -> None:
    app = make_app()
    body = b'{"content":"abc","algorithm":"md5"}'
    response = await _post(app, HASH, content=body, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["hash"] == MD5_ABC


async def test_empty_body_without_content_type_is_validated_not_415(
    make_app: Callable[..., Application],
) -> None:
    app = make_app()
    response = await _post(app, HASH, content=b"")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# --- same-origin pages (the playground calling its own server) -----------------------------


@pytest.mark.parametrize(
    ("host", "origin", "allowed"),
    [
        ("api.example.com", "https://api.example.com", True),
        ("api.example.com", "http://api.example.com", True),
        ("api.example.com:8443", "https://api.example.com:8443", True),
        ("API.example.com", "https://api.example.com", True),
        ("api.example.com", "https://api.example.com:8443", False),
        ("api.example.com:8443", "https://api.example.com", False),
        ("api.example.com", "https://api.example.com.evil.io", False),
        ("api.example.com", "https://evil.io", False),
        ("api.example.com", "null", False),
        ("api.example.com", "api.example.com", False),
        ("api.example.com", "ftp://api.example.com", False),
        ("evil.io", "https://evil.io", False),  # the Host itself must be allowed first
        # The Origin scheme's default port, written out on either side, is the same as none.
        ("api.example.com:443", "https://api.example.com", True),
        ("api.example.com", "https://api.example.com:443", True),
        ("api.example.com:80", "http://api.example.com", True),
        ("api.example.com", "http://api.example.com:80", True),
        ("api.example.com:443", "http://api.example.com", False),
        ("api.example.com:80", "https://api.example.com", False),
        ("api.example.com:8443", "https://api.example.com:443", False),
    ],
    ids=lambda value: str(value),
)
def test_an_origin_naming_the_allowed_host_itself_is_same_origin(
    host: str, origin: str, allowed: bool
) -> None:
    """A page served by this host calling it (the playground) is not cross-site; the Host was
    already checked against ALLOWED_HOSTS, so a rebinding or foreign page cannot pass this way."""
    guard = HostOriginGuard(("api.example.com", "api.example.com:8443"), ())
    verdict = guard.verdict(host.encode(), origin.encode())
    assert (verdict is None) is allowed


async def test_rest_serves_its_own_pages_with_a_configured_host(
    make_app: Callable[..., Application],
) -> None:
    app = make_app(allowed_hosts="api.example.com")
    async with app.lifespan(), in_process(app) as http:
        own = await http.post(
            HASH,
            json=HASH_ARGS,
            headers={"Host": "api.example.com", "Origin": "https://api.example.com"},
        )
        other = await http.post(
            HASH,
            json=HASH_ARGS,
            headers={"Host": "api.example.com", "Origin": "https://app.example.com"},
        )
    assert own.status_code == 200, own.text
    assert other.status_code == 403


@pytest.mark.parametrize("variable", ["allowed_origins", "cors_allow_origins"])
async def test_origin_entries_naming_the_default_port_serve_browsers_on_rest(
    make_app: Callable[..., Application], variable: str
) -> None:
    """Browsers never write the default port in Origin (RFC 6454 §6.2): an entry naming it
    must still let them in, and so must a Host naming it for the server's own pages."""
    app = make_app(
        allowed_hosts="api.example.com",
        **{variable: "https://app.example.com:443,http://b.example.com:80"},
    )
    sent = [
        ("api.example.com", "https://app.example.com"),
        ("api.example.com", "http://b.example.com"),
        ("api.example.com:443", "https://api.example.com"),
        ("api.example.com", "https://c.example.com"),
    ]
    async with app.lifespan(), in_process(app) as http:
        statuses = [
            (await http.post(HASH, json=HASH_ARGS, headers={"Host": h, "Origin": o})).status_code
            for h, o in sent
        ]
    assert statuses == [200, 200, 200, 403]


async def test_a_refused_host_says_to_set_allowed_hosts(
    make_app: Callable[..., Application],
) -> None:
    """The LAN-name case (http://devbox:8080/ on the default settings): the code and message stay,
    the details say which setting serves that name."""
    default = await _post(make_app(), HASH, json=HASH_ARGS, headers={"Host": "devbox:8080"})
    assert default.status_code == 403
    error = default.json()["error"]
    assert error["code"] == "FORBIDDEN"
    assert error["message"] == "Host header not allowed"
    assert "ALLOWED_HOSTS" in error["details"]
    assert "localhost, 127.0.0.1 and [::1]" in error["details"]
    configured = make_app(allowed_hosts="api.example.com")
    async with configured.lifespan(), in_process(configured) as http:
        page = await http.get("/", headers={"Host": "devbox"})
    assert page.status_code == 403
    details = page.json()["error"]["details"]
    assert "not in ALLOWED_HOSTS" in details
    assert "api.example.com" not in details  # the configured names are not told to strangers
    # A refused Origin is another matter: no Host hint there.
    origin = await _post(
        make_app(), HASH, json=HASH_ARGS, headers={"Origin": "https://evil.example"}
    )
    assert "ALLOWED_HOSTS" not in str(origin.json()["error"].get("details"))
