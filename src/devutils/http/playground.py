"""The web playground (``/``), the API reference (``/docs``), their files and the ``/api/v1`` index.

The pages are plain HTML, CSS and JavaScript shipped inside the package (``devutils/web``): no
build step, no CDN, so they work air-gapped.  Every file is read once at start-up and served from
memory on its own exact route, so only the files listed here can ever be served (no path from the
request reaches the file system: traversal is impossible by construction).  Responses carry an
ETag (a 304 answers a matching ``If-None-Match``), ``Cache-Control: no-cache`` (revalidate, so an
upgrade is seen at once) and the page security headers (a ``default-src 'self'`` CSP, see
``PAGE_RESPONSE``).

The pages need no credential and are not rate limited (constant bytes from memory); the API calls
they make go through the REST API with the key the user typed, so auth and limits apply there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import orjson

from devutils import __version__
from devutils.http.asgi import (
    PAGE_RESPONSE,
    ASGIApp,
    Receive,
    Scope,
    Send,
    header,
    response_start,
    send_bytes,
)

if TYPE_CHECKING:
    from devutils.http.app import Application

STATIC_PREFIX = "/static/"
# Content types by file suffix: constants, as response_start requires.
CONTENT_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".svg": b"image/svg+xml",
}
# The pages and the files under /static/ (names inside devutils/web).
PAGES = {"/": "index.html", "/docs": "docs.html"}
STATIC_FILES = ("app.css", "common.js", "playground.js", "docs.js", "icon.svg")
CACHE_CONTROL = (b"cache-control", b"no-cache")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: bytes
    etag: bytes

    @classmethod
    def load(cls, name: str) -> Asset:
        body = resources.files("devutils").joinpath("web", name).read_bytes()
        suffix = name[name.rindex(".") :]
        digest = hashlib.sha256(body).hexdigest()[:32]
        return cls(body, CONTENT_TYPES[suffix], b'"%s"' % digest.encode())


def etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """RFC 9110 §13.1.2: a list of entity tags or ``*``; weak comparison."""
    if if_none_match is None:
        return False
    for candidate in if_none_match.split(b","):
        tag = candidate.strip()
        if tag == b"*" or tag.removeprefix(b"W/") == etag:
            return True
    return False


def asset_endpoint(asset: Asset) -> ASGIApp:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"etag", asset.etag), CACHE_CONTROL]
        if etag_matches(header(scope, b"if-none-match"), asset.etag):
            # No Content-Length: on a 304 it would have to be the 200's length (RFC 9110 §8.6), and
            # neither Content-Type: the validators say all a cache needs (§15.4.5).
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": headers,
                    PAGE_RESPONSE: True,
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        start = response_start(scope, 200, len(asset.body), asset.content_type, headers)
        start[PAGE_RESPONSE] = True
        await send(start)
        await send({"type": "http.response.body", "body": asset.body})

    return endpoint


def install_playground(app: Application) -> None:
    """Mount the pages and their files; they become public routes (no credential needed)."""
    routes = {path: Asset.load(name) for path, name in PAGES.items()}
    routes.update({STATIC_PREFIX + name: Asset.load(name) for name in STATIC_FILES})
    for path, asset in routes.items():
        app.router.add(path, ("GET",), asset_endpoint(asset))
    app.public_routes = app.public_routes | frozenset(routes)


def install_api_index(app: Application) -> None:
    """``GET /api/v1``: where to go from here (authenticated like the rest of the API)."""
    links = {
        "tools": "/api/v1/tools",
        "status": "/api/v1/status",
        "openapi": "/openapi.json",
    }
    if app.settings.playground_enabled:
        links["docs"] = "/docs"
        links["playground"] = "/"
    if app.settings.mcp_enabled:
        links["mcp"] = "/mcp"
    body = orjson.dumps(
        {
            "success": True,
            "data": {
                "service": "dev-utilities",
                "version": __version__,
                "toolCount": len(list(app.registry)),
                "links": links,
            },
        }
    )

    async def index(scope: Scope, receive: Receive, send: Send) -> None:
        await send_bytes(send, 200, body, scope=scope)

    app.router.add("/api/v1", ("GET",), index)
