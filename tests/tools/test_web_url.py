"""web/url: Go net/url parsing and building (seed §2.19) with the D8 changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.registry import Registry, dump_output


def run(registry: Registry, args: dict[str, Any]) -> dict[str, Any]:
    spec = registry.get("web_url")
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


def parse(registry: Registry, url: str) -> dict[str, Any]:
    return run(registry, {"action": "parse", "url": url})


def test_parse_full_url(registry: Registry) -> None:
    data = parse(
        registry, "HTTPS://user:s%40cret@Example.COM:8443/a%20b/c+d?q=1&q=2&x=a+b%2B#frag%20x"
    )
    assert data == {
        "scheme": "https",  # lower-cased
        "host": "Example.COM:8443",  # as written, without userinfo (D8)
        "path": "/a b/c+d",  # decoded; + stays + in a path
        "query": {"q": "1", "x": "a b+"},
        "fragment": "frag x",
        "queryAll": {"q": ["1", "2"], "x": ["a b+"]},
        "hostname": "Example.COM",
        "port": 8443,
        "username": "user",
        "hasPassword": True,
    }
    assert "s@cret" not in str(data)


PARSE_VECTORS = [
    ("http://example.com", {"host": "example.com", "path": "", "hostname": "example.com"}),
    ("http://[::1]:8080/x", {"host": "[::1]:8080", "hostname": "::1", "port": 8080}),
    ("http://[fe80::1%25eth0]/", {"host": "[fe80::1%eth0]", "hostname": "fe80::1%eth0"}),
    ("http://h:/", {"host": "h:", "hostname": "h"}),  # empty port is allowed, reported absent
    ("http://h:99999/", {"host": "h:99999", "hostname": "h"}),  # Go accepts; no valid port
    ("mailto:joe@example.com?subject=hi", {"host": "", "path": "", "query": {"subject": "hi"}}),
    ("//cdn.example.com/lib.js", {"scheme": "", "host": "cdn.example.com"}),
    ("http://u@h/", {"username": "u", "hasPassword": False, "host": "h"}),
    ("http://u:@h/", {"username": "u", "hasPassword": True}),
    ("http://h/?a&b=&c=1&a=2", {"query": {"a": "", "b": "", "c": "1"}}),
    ("http://h/?a=1;b=2&c=3", {"query": {"c": "3"}}),  # pairs with ; are dropped
    ("http://h/?a=%zz&b=ok", {"query": {"b": "ok"}}),  # malformed escapes dropped
    ("http://h/?&&a=1&&", {"query": {"a": "1"}}),
    ("http://h/?", {"query": {}, "queryAll": {}}),
    ("http://h/#a#b", {"fragment": "a#b"}),
    ("http://h/%E4%B8%96", {"path": "/世"}),
    ("http://h/%FF", {"path": "/\ufffd"}),  # invalid UTF-8 becomes U+FFFD
    ("http://m%C3%BCnchen.de/", {"host": "münchen.de"}),  # %-encoding allowed for non-ASCII
    ("HTTP://H/", {"scheme": "http", "host": "H"}),
]
PARSE_IDS = [
    "no-path", "ipv6-port", "ipv6-zone", "empty-port", "out-of-range-port", "opaque-mailto",
    "scheme-relative", "user-only", "empty-password", "query-forms", "semicolon",
    "bad-escape-pair", "empty-pairs", "force-query", "fragment-hash", "utf8-path",
    "invalid-utf8", "host-non-ascii-escape", "scheme-lowercase",
]  # fmt: skip


@pytest.mark.parametrize(("url", "expected"), PARSE_VECTORS, ids=PARSE_IDS)
def test_parse_vectors(registry: Registry, url: str, expected: dict[str, Any]) -> None:
    data = parse(registry, url)
    assert {key: data.get(key) for key in expected} == expected
    if "port" not in expected:
        assert "port" not in data or data["port"] == int(data["host"].rsplit(":", 1)[1])


PARSE_ERRORS = [
    ("http://x:8o/", 'parse "http://x:8o/": invalid port ":8o" after host'),
    ("http://x/\t", 'parse "http://x/\\t": net/url: invalid control character in URL'),
    ("http://x\n.com/", 'parse "http://x\\n.com/": net/url: invalid control character in URL'),
    ("http://x/%zz", 'parse "http://x/%zz": invalid URL escape "%zz"'),
    ("http://x/%4", 'parse "http://x/%4": invalid URL escape "%4"'),
    ("http://x/#%g1", 'parse "http://x/#%g1": invalid URL escape "%g1"'),
    ("http://a b/", 'parse "http://a b/": invalid character " " in host name'),
    ("http://%41/", 'parse "http://%41/": invalid URL escape "%41"'),
    ("http://[::1/", "parse \"http://[::1/\": missing ']' in host"),
    ("http://[::1]x/", 'parse "http://[::1]x/": invalid port "x" after host'),
    ("http://us er@h/", 'parse "http://us er@h/": net/url: invalid userinfo'),
    (":foo", 'parse ":foo": missing protocol scheme'),
    ("1a:b/c", 'parse "1a:b/c": first path segment in URL cannot contain colon'),
    (" http://x/", 'parse " http://x/": first path segment in URL cannot contain colon'),
]
PARSE_ERROR_IDS = [
    "bad-port", "tab", "newline-in-host", "bad-escape", "short-escape", "bad-fragment-escape",
    "space-in-host", "ascii-escape-in-host", "missing-bracket", "junk-after-bracket",
    "bad-userinfo", "missing-scheme", "colon-in-first-segment", "leading-space",
]  # fmt: skip


@pytest.mark.parametrize(("url", "reason"), PARSE_ERRORS, ids=PARSE_ERROR_IDS)
async def test_parse_errors(client: httpx.AsyncClient, url: str, reason: str) -> None:
    response = await client.post("/api/v1/web/url", json={"action": "parse", "url": url})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "URL parsing failed")
    assert error["details"] == f"failed to parse URL: {reason}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cretpw@host.example:bad/p", '"https://user:xxxxx@host.example:bad/p"'),
        ("ftp://bob:hunter2pw@h:x/", '"ftp://bob:xxxxx@h:x/"'),
        ("https://u:hunter2pw@h/%zz", '"https://u:xxxxx@h/%zz"'),
        ("https://u:hunter2pw@h/#%zz", '"https://u:xxxxx@h/#%zz"'),
    ],
    ids=["bad-port", "ftp", "bad-escape", "bad-fragment"],
)
async def test_a_url_that_fails_to_parse_never_echoes_its_password(
    client: httpx.AsyncClient, url: str, shown: str
) -> None:
    response = await client.post("/api/v1/web/url", json={"action": "parse", "url": url})
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details.startswith(f"failed to parse URL: parse {shown}: ")
    assert "pw" not in details


@pytest.mark.parametrize(
    ("url", "message", "details"),
    [
        ("", "URL is required for parse operation", None),
        ("  \t ", "URL parsing failed", "empty URL"),
        ("example.com", "URL parsing failed", "invalid URL format"),
        ("just some words", "URL parsing failed", "invalid URL format"),
        ("/relative/path?a=1", "URL parsing failed", "invalid URL format"),
    ],
    ids=["missing", "blank", "bare-host", "words", "relative-path"],
)
async def test_parse_reference_errors(
    client: httpx.AsyncClient, url: str, message: str, details: str | None
) -> None:
    response = await client.post("/api/v1/web/url", json={"action": "parse", "url": url})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == message
    assert error.get("details") == details


BUILD_VECTORS = [
    (
        {"path": "/search", "query": {"q": "hello world"}},
        "https://example.com/search?q=hello+world",
    ),
    ({"path": "a b?c", "fragment": "x y"}, "https://example.com/a%20b%3Fc#x%20y"),
    ({"path": "/:@&=+$,;~"}, "https://example.com/:@&=+$,;~"),
    ({"path": "/!'()*"}, "https://example.com/%21%27%28%29%2A"),
    ({"fragment": "/?!()*#"}, "https://example.com#/?!()*%23"),
    (
        {"query": {"b": "2", "a": "x&y=z", "é": "ü"}},
        "https://example.com?a=x%26y%3Dz&b=2&%C3%A9=%C3%BC",
    ),
    ({"path": "/ü"}, "https://example.com/%C3%BC"),
    ({"port": 8443, "path": "/x"}, "https://example.com:8443/x"),
    ({}, "https://example.com"),
]
BUILD_IDS = [
    "query-plus", "path-and-fragment-escapes", "path-keeps-reserved", "path-escapes-subdelims",
    "fragment-rules", "query-sorted-escaped", "path-utf8", "port", "bare",
]  # fmt: skip


@pytest.mark.parametrize(("parts", "expected"), BUILD_VECTORS, ids=BUILD_IDS)
def test_build_vectors(registry: Registry, parts: dict[str, Any], expected: str) -> None:
    data = run(registry, {"action": "build", "scheme": "https", "host": "example.com", **parts})
    assert data == {"url": expected}


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("::1", 8080, "http://[::1]:8080"),
        ("[::1]", 8080, "http://[::1]:8080"),
        ("h", None, "http://h"),
        ("h:81", None, "http://h:81"),
    ],
    ids=["bare-ipv6", "bracketed-ipv6", "no-port", "port-in-host"],
)
def test_build_hosts(registry: Registry, host: str, port: int | None, expected: str) -> None:
    data = run(registry, {"action": "build", "scheme": "http", "host": host, "port": port})
    assert data["url"] == expected


async def test_build_round_trips_through_parse(client: httpx.AsyncClient) -> None:
    built = await client.post(
        "/api/v1/web/url",
        json={
            "action": "build",
            "scheme": "https",
            "host": "api.example.com",
            "port": 8443,
            "path": "/v1/items list",
            "query": {"filter": "a&b", "page": "2"},
            "fragment": "top",
        },
    )
    assert built.status_code == 200
    url = built.json()["data"]["url"]
    assert url == "https://api.example.com:8443/v1/items%20list?filter=a%26b&page=2#top"
    parsed = (await client.post("/api/v1/web/url", json={"action": "parse", "url": url})).json()
    assert parsed["data"]["path"] == "/v1/items list"
    assert parsed["data"]["query"] == {"filter": "a&b", "page": "2"}
    assert parsed["data"]["port"] == 8443


@pytest.mark.parametrize(
    ("body", "message", "detail_part"),
    [
        ({"action": "build", "host": "h"}, "Scheme and host are required for build operation", None),
        ({"action": "build", "scheme": "https"}, "Scheme and host are required for build operation", None),
        ({"action": "build", "scheme": "h", "host": "h", "query": {"a": 1}}, "Invalid request", "query"),
        ({"action": "build", "scheme": "h", "host": "h", "port": 0}, "Invalid request", "port"),
        ({"action": "build", "scheme": "h", "host": "h", "port": 65536}, "Invalid request", "port"),
        ({"action": "build", "scheme": "h", "host": "h:1", "port": 2}, "Invalid request", "port"),
        ({"action": "build", "scheme": "h", "host": "[::1]:1", "port": 2}, "Invalid request", "port"),
        ({"action": "open", "url": "http://x"}, "Invalid request", "action"),
        ({"url": "http://x"}, 'field "action" is required', "action"),
    ],
    ids=[
        "build-no-scheme", "build-no-host", "query-not-string", "port-zero", "port-too-big",
        "port-twice", "ipv6-port-twice", "bad-action", "missing-action",
    ],
)  # fmt: skip
async def test_request_errors(
    client: httpx.AsyncClient, body: dict[str, Any], message: str, detail_part: str | None
) -> None:
    response = await client.post("/api/v1/web/url", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == message
    if detail_part is None:
        assert "details" not in error
    else:
        assert detail_part in error["details"]
