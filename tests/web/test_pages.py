"""The playground's HTTP side: pages and files from the package, headers, caching, traversal, auth,
rate limits, the PLAYGROUND_ENABLED switch and the /api/v1 index (through the real app)."""

from __future__ import annotations

import fnmatch
import socket
import tomllib
from collections.abc import AsyncIterator, Callable, MutableMapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from devutils.http.app import Application
from devutils.http.playground import PAGES, STATIC_FILES, STATIC_PREFIX, etag_matches
from tests.support import ROOT, run_server

API_KEY = "playground-test-key-0123456789"
WEB = ROOT / "src" / "devutils" / "web"
PAGE_ROUTES = [*PAGES, *(STATIC_PREFIX + name for name in STATIC_FILES)]
CONTENT_TYPES = {
    "/": "text/html; charset=utf-8",
    "/docs": "text/html; charset=utf-8",
    "/static/app.css": "text/css; charset=utf-8",
    "/static/common.js": "text/javascript; charset=utf-8",
    "/static/playground.js": "text/javascript; charset=utf-8",
    "/static/docs.js": "text/javascript; charset=utf-8",
    "/static/icon.svg": "image/svg+xml",
}


@pytest.fixture
async def app_client(
    make_app: Callable[..., Application],
) -> AsyncIterator[Callable[..., Any]]:
    """Builds an app with the given settings and yields a client for it (closed at the end)."""
    stack: list[tuple[Any, httpx.AsyncClient]] = []

    async def build(**overrides: Any) -> httpx.AsyncClient:
        app = make_app(**overrides)
        lifespan = app.lifespan()
        await lifespan.__aenter__()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://localhost")
        stack.append((lifespan, client))
        return client

    yield build
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


def test_every_route_has_its_content_type_listed() -> None:
    assert sorted(CONTENT_TYPES) == sorted(PAGE_ROUTES)


@pytest.mark.parametrize("path", PAGE_ROUTES)
async def test_page_files_are_served_with_type_etag_and_page_csp(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPES[path]
    name = PAGES.get(path) or path.removeprefix(STATIC_PREFIX)
    assert response.content == (WEB / name).read_bytes()
    assert response.headers["etag"].startswith('"')
    assert len(response.headers["etag"]) == 34
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers.get_list("content-security-policy")
    assert len(csp) == 1  # one policy: a second (the API's 'none') would block the page
    directives = dict(part.strip().split(" ", 1) for part in csp[0].split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp[0]
    assert "unsafe-eval" not in csp[0]
    assert "script-src" not in directives  # scripts fall back to default-src 'self'


async def test_api_responses_keep_the_strict_api_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/status")
    assert response.headers.get_list("content-security-policy") == [
        "default-src 'none'; frame-ancestors 'none'"
    ]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("if_none_match", "expect_304"),
    [
        pytest.param("{etag}", True, id="exact"),
        pytest.param("W/{etag}", True, id="weak"),
        pytest.param('"other", {etag}', True, id="in-list"),
        pytest.param("*", True, id="star"),
        pytest.param('"other"', False, id="different"),
        pytest.param("", False, id="empty"),
    ],
)
async def test_conditional_get(
    client: httpx.AsyncClient, if_none_match: str, expect_304: bool
) -> None:
    first = await client.get("/static/app.css")
    etag = first.headers["etag"]
    response = await client.get(
        "/static/app.css", headers={"If-None-Match": if_none_match.format(etag=etag)}
    )
    assert response.status_code == (304 if expect_304 else 200)
    assert response.headers["etag"] == etag
    assert response.content == (b"" if expect_304 else first.content)


@pytest.mark.parametrize(
    ("header", "etag", "matches"),
    [
        pytest.param(None, b'"a"', False, id="absent"),
        pytest.param(b'"a"', b'"a"', True, id="same"),
        pytest.param(b' W/"a" ', b'"a"', True, id="weak-spaces"),
        pytest.param(b'"b","a"', b'"a"', True, id="list"),
        pytest.param(b'"ab"', b'"a"', False, id="prefix-only"),
        pytest.param(b"a", b'"a"', False, id="unquoted"),
    ],
)
def test_etag_matching(header: bytes | None, etag: bytes, matches: bool) -> None:
    assert etag_matches(header, etag) is matches


# Paths that would reach a file outside the served set if a path were ever joined to a directory.
TRAVERSALS = [
    "/static/../settings.py",
    "/static/../../pyproject.toml",
    "/static/..%2fsettings.py",
    "/static/%2e%2e/settings.py",
    "/static/..\\settings.py",
    "/static//etc/passwd",
    "/static/web/app.css",
    "/static/APP.CSS",
    "/static/app.css%00.py",
    "/static/__init__.py",
    "/static/",
    "/static",
    "/web/app.css",
    "/index.html",
    "/docs.html",
]


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_no_path_reaches_another_file_in_process(
    make_app: Callable[..., Application], path: str
) -> None:
    """The path exactly as the ASGI scope carries it (clients would normalise the dots)."""
    app = make_app()
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "scheme": "http",
        "http_version": "1.1",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 404
    assert b"NOT_FOUND" in sent[1]["body"]


def _raw_get(port: int, target: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_no_path_reaches_another_file_through_the_real_server() -> None:
    secret_markers = (b"[project]", b"root:", b"class Settings", b"import ")
    with run_server({"RATE_LIMIT_ENABLED": "false"}) as server:
        for target in TRAVERSALS:
            response = _raw_get(server.port, target)
            status = response.split(b" ", 2)[1]
            assert status in (b"400", b"404"), (target, response[:200])
            assert not any(marker in response for marker in secret_markers), target
        assert _raw_get(server.port, "/static/app.css").startswith(b"HTTP/1.1 200")


async def test_pages_need_no_credential_but_the_api_does(
    app_client: Callable[..., Any],
) -> None:
    client = await app_client(auth_method="api_key", auth_api_keys=(API_KEY,))
    for path in PAGE_ROUTES:
        assert (await client.get(path)).status_code == 200, path
    for path in ("/api/v1", "/api/v1/tools", "/openapi.json"):
        refused = await client.get(path)
        assert refused.status_code == 401, path
        assert refused.json()["error"]["code"] == "AUTHENTICATION_ERROR"
        assert (await client.get(path, headers={"X-API-Key": API_KEY})).status_code == 200


async def test_pages_are_not_rate_limited_but_api_routes_are(
    app_client: Callable[..., Any],
) -> None:
    client = await app_client(
        rate_limit_enabled=True, rate_limit_anonymous_burst=3, rate_limit_anonymous_per_minute=1
    )
    for _ in range(10):
        for path in PAGE_ROUTES:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "x-ratelimit-limit" not in response.headers
    statuses = [(await client.get("/api/v1")).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


async def test_playground_can_be_switched_off(app_client: Callable[..., Any]) -> None:
    client = await app_client(playground_enabled=False)
    for path in PAGE_ROUTES:
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"
    links = (await client.get("/api/v1")).json()["data"]["links"]
    assert "docs" not in links
    assert "playground" not in links


async def test_api_index_points_at_live_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["service"] == "dev-utilities"
    tools = (await client.get("/api/v1/tools")).json()["data"]["tools"]
    assert data["toolCount"] == len(tools)
    assert set(data["links"]) == {"tools", "status", "openapi", "docs", "playground", "mcp"}
    for name, path in data["links"].items():
        if name == "mcp":
            continue  # POST only
        assert (await client.get(path)).status_code == 200, path
    redirect = await client.get("/api/v1/")
    assert redirect.status_code == 301
    assert redirect.headers["location"] == "/api/v1"


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attr in ("src", "href"):
            if values.get(attr):
                self.urls.append(str(values[attr]))
        if tag == "script" and "src" not in values:
            self.inline_scripts += 1
        if tag == "style" or "style" in values or any(a.startswith("on") for a in values):
            self.inline_styles += 1


@pytest.mark.parametrize("path", list(PAGES))
async def test_pages_reference_only_their_own_files(client: httpx.AsyncClient, path: str) -> None:
    parser = _References()
    parser.feed((await client.get(path)).text)
    assert parser.inline_scripts == 0  # the CSP would block them: no inline script at all
    assert parser.inline_styles == 0  # nor inline styles or handlers
    assert parser.urls
    for url in parser.urls:
        if url.startswith("#"):
            continue
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        assert (await client.get(url)).status_code == 200, url


def test_every_web_file_is_served_and_shipped_as_package_data() -> None:
    files = sorted(path.name for path in WEB.iterdir() if path.is_file())
    assert files == sorted([*PAGES.values(), *STATIC_FILES])
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["devutils"]
    for name in files:
        assert any(fnmatch.fnmatch(f"web/{name}", pattern) for pattern in package_data), name


def test_the_pages_load_nothing_from_another_origin() -> None:
    """No absolute URL in the page files: everything is this server's (air-gapped use)."""
    for path in Path(WEB).iterdir():
        text = path.read_text()
        if path.suffix == ".svg":
            text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "http://" not in text, path.name
        assert "https://" not in text, path.name


def _read_response(sock: socket.socket, buffered: bytes) -> tuple[bytes, bytes]:
    """One response head (and what follows it) from a kept-alive connection."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_a_304_carries_no_content_length_and_no_body() -> None:
    """RFC 9110 §8.6: a 304's Content-Length, if any, must be the 200's; we send none, and the
    server frames nothing (no chunked coding), so the kept-alive connection reads on cleanly."""
    with run_server({"RATE_LIMIT_ENABLED": "false"}) as server:
        etag = httpx.get(server.base + "/static/app.css", timeout=10).headers["etag"]
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            for target in ("/static/app.css", "/", "/docs"):
                sock.sendall(
                    f"GET {target} HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: *\r\n\r\n".encode()
                )
                head, rest = _read_response(sock, b"")
                assert head.startswith(b"HTTP/1.1 304"), head
                lines = [line.lower() for line in head.split(b"\r\n")[1:]]
                names = {line.split(b":", 1)[0] for line in lines}
                assert b"content-length" not in names, head
                assert b"transfer-encoding" not in names, head
                assert b"etag" in names
                assert rest == b""  # nothing after the head
            # The same connection carries the next request: no stray body bytes were framed.
            sock.sendall(
                b"GET /static/app.css HTTP/1.1\r\nHost: localhost\r\n"
                + f"If-None-Match: {etag}\r\nConnection: close\r\n\r\n".encode()
            )
            head, rest = _read_response(sock, b"")
            assert head.startswith(b"HTTP/1.1 304"), head
            assert b"content-length" not in head.lower()
            while chunk := sock.recv(65536):
                rest += chunk
            assert rest == b""
