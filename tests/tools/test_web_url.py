"""web/url: Go net/url parsing and building (seed §2.19) with the D8 changes."""

from __future__ import annotations

import json
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


# A "/", "?" or "#" in a password ends the authority early, so Go's parse reports the password's
# first part as a port (or the like): neither the quoted URL nor the reason may show any of it.
CUT_PASSWORDS = [
    (
        "postgres://app:Zm9v/YmFy@db.example.com:5432/prod",
        ["Zm9v", "YmFy"],
        'parse "postgres://app:xxxxx@db.example.com:5432/prod": invalid port "xxxxx" after host',
    ),
    (
        "https://user:s3cr?t@host.example/",
        ["s3cr"],
        'parse "https://user:xxxxx@host.example/": invalid port "xxxxx" after host',
    ),
    (
        "https://user:Zm9v#YmFy@host.example/",  # Go quotes only the text before "#"
        ["Zm9v", "YmFy"],
        'parse "https://user:xxxxx": invalid port "xxxxx" after host',
    ),
    (
        "https://u:Zm9v%zzYmFy@h/",  # a bad escape inside the password
        ["Zm9v", "YmFy", "%zz"],
        'parse "https://u:xxxxx@h/": invalid URL escape "xxxxx"',
    ),
    (
        "https://u:Zm9v[YmFy/x@h/",
        ["Zm9v", "YmFy"],
        'parse "https://u:xxxxx@h/": invalid IP-literal',
    ),
    (
        " https://u:Zm9v/YmFy@h/",  # the leading space fails the scheme instead
        ["Zm9v", "YmFy"],
        'parse " https://u:xxxxx@h/": first path segment in URL cannot contain colon',
    ),
    (
        "http://[::1]:Zm9v/YmFy@h/x",  # unclear which ":" starts a password: hide from the first
        ["Zm9v", "YmFy"],
        'parse "http://[:xxxxx@h/x": invalid port "xxxxx" after host',
    ),
    (
        "https://user:Zm9vYmFy@host.example:bad/",  # a quoted piece outside it stays
        ["Zm9v", "YmFy"],
        'parse "https://user:xxxxx@host.example:bad/": invalid port ":bad" after host',
    ),
]
CUT_PASSWORD_IDS = [
    "slash", "question-mark", "hash", "bad-escape-in-password", "bracket-in-password",
    "leading-space", "ipv6-host", "port-outside-password",
]  # fmt: skip


@pytest.mark.parametrize(("url", "secrets", "reason"), CUT_PASSWORDS, ids=CUT_PASSWORD_IDS)
async def test_a_password_cut_short_by_a_delimiter_is_never_echoed(
    client: httpx.AsyncClient, url: str, secrets: list[str], reason: str
) -> None:
    response = await client.post("/api/v1/web/url", json={"action": "parse", "url": url})
    assert response.status_code == 400
    for secret in secrets:
        assert secret not in response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "URL parsing failed")
    assert error["details"] == f"failed to parse URL: {reason}"


# RFC 3986 §3.2.2: only an IPv6 address goes in brackets (Go since 1.24.8/1.25.2, CVE-2025-47912);
# the reasons are Go's url.Parse texts; an address that is not IPv6 is named, not diagnosed.
BRACKET_ERRORS = [
    (
        "http://[example.com]:80/",
        'invalid host: "example.com" is not an IPv6 address',
    ),
    ("http://[127.0.0.1]/", "invalid IP-literal"),
    ("http://[]/", 'invalid host: "" is not an IPv6 address'),
    ("http://[v1.x]/", 'invalid host: "v1.x" is not an IPv6 address'),
    ("http://[ab]/", 'invalid host: "ab" is not an IPv6 address'),
    ("http://a[::1]/", "invalid IP-literal"),
    ("http://[%25en0]/", 'invalid host: "%en0" is not an IPv6 address'),
    (
        "http://[fe80::1%25]/",
        'invalid host: "fe80::1%" is not an IPv6 address',
    ),
    ("http://[::1::]/", 'invalid host: "::1::" is not an IPv6 address'),
    (
        "http://[1:2:3:4:5:6:7:8:9]/",
        'invalid host: "1:2:3:4:5:6:7:8:9" is not an IPv6 address',
    ),
    (
        "http://[1:2::3:4:5:6:7:8]/",
        'invalid host: "1:2::3:4:5:6:7:8" is not an IPv6 address',
    ),
    ("http://[1:2:3]/", 'invalid host: "1:2:3" is not an IPv6 address'),
    (
        "http://[12345::]/",
        'invalid host: "12345::" is not an IPv6 address',
    ),
    (
        "http://[::1.2.3.04]/",
        'invalid host: "::1.2.3.04" is not an IPv6 address',
    ),
    ("http://[1.2.3]/", 'invalid host: "1.2.3" is not an IPv6 address'),
]
BRACKET_ERROR_IDS = [
    "name", "ipv4", "empty", "ipvfuture", "no-dot-or-colon", "text-before-bracket", "zone-only",
    "empty-zone", "two-ellipses", "too-long", "ellipsis-for-nothing", "too-short", "long-group",
    "embedded-ipv4-leading-zero", "short-ipv4",
]  # fmt: skip


@pytest.mark.parametrize(("url", "reason"), BRACKET_ERRORS, ids=BRACKET_ERROR_IDS)
async def test_brackets_hold_only_an_ipv6_address(
    client: httpx.AsyncClient, url: str, reason: str
) -> None:
    response = await client.post("/api/v1/web/url", json={"action": "parse", "url": url})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "URL parsing failed")
    assert error["details"] == f"failed to parse URL: parse {json.dumps(url)}: {reason}"


@pytest.mark.parametrize(
    ("url", "host", "hostname"),
    [
        ("http://[fe80::1%25en0]:8080/", "[fe80::1%en0]:8080", "fe80::1%en0"),
        ("http://[fe80::1%25eth0.10]/", "[fe80::1%eth0.10]", "fe80::1%eth0.10"),
        ("http://[2001:DB8::1]/", "[2001:DB8::1]", "2001:DB8::1"),
        ("http://[::]/", "[::]", "::"),
        ("http://[1:2:3:4:5:6:7::]/", "[1:2:3:4:5:6:7::]", "1:2:3:4:5:6:7::"),
        ("http://[::ffff:192.0.2.1]/", "[::ffff:192.0.2.1]", "::ffff:192.0.2.1"),
        ("http://[64:ff9b::192.0.2.1]:1/", "[64:ff9b::192.0.2.1]:1", "64:ff9b::192.0.2.1"),
    ],
    ids=["zone-port", "zone-with-dot", "upper-hex", "unspecified", "trailing-ellipsis", "v4-mapped", "v4-tail"],
)  # fmt: skip
def test_ipv6_literals_still_parse(registry: Registry, url: str, host: str, hostname: str) -> None:
    data = parse(registry, url)
    assert (data["host"], data["hostname"]) == (host, hostname)


@pytest.mark.parametrize(
    ("host", "port", "reason"),
    [
        ("[example.com]", None, 'invalid host: "example.com" is not an IPv6 address'),
        ("[127.0.0.1]", 80, "invalid IP-literal"),
        ("[v1.x]", None, 'invalid host: "v1.x" is not an IPv6 address'),
        ("[]:80", None, 'invalid host: "" is not an IPv6 address'),
        ("a[::1]", None, "invalid IP-literal"),
        ("[::1", None, "missing ']' in host"),
        ("[::1]x", None, 'invalid port "x" after host'),
    ],
    ids=["name", "ipv4-with-port", "ipvfuture", "empty-with-port", "text-before-bracket", "unclosed", "junk-after"],
)  # fmt: skip
async def test_build_refuses_what_parse_refuses_in_brackets(
    client: httpx.AsyncClient, host: str, port: int | None, reason: str
) -> None:
    body = {"action": "build", "scheme": "http", "host": host, "port": port}
    response = await client.post("/api/v1/web/url", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", "Invalid request")
    assert error["details"] == f"host {json.dumps(host)}: {reason}"


async def test_build_keeps_a_zone_and_round_trips(client: httpx.AsyncClient) -> None:
    body = {"action": "build", "scheme": "http", "host": "[fe80::1%en0]", "port": 8080}
    built = await client.post("/api/v1/web/url", json=body)
    assert built.status_code == 200
    url = built.json()["data"]["url"]
    assert url == "http://[fe80::1%25en0]:8080"
    parsed = await client.post("/api/v1/web/url", json={"action": "parse", "url": url})
    assert parsed.json()["data"]["hostname"] == "fe80::1%en0"


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
        # Bare, its last group would parse back as a port (Go writes http://::1).
        ("::1", None, "http://[::1]"),
        ("fe80::1%en0", None, "http://[fe80::1%25en0]"),
    ],
    ids=["bare-ipv6", "bracketed-ipv6", "no-port", "port-in-host", "ipv6-no-port", "zone-no-port"],
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
        ({"action": "build", "scheme": "h", "host": "a:b:c"}, "Invalid request", "not an IPv6 address"),
        ({"action": "open", "url": "http://x"}, "Invalid request", "action"),
        ({"url": "http://x"}, 'field "action" is required', "action"),
    ],
    ids=[
        "build-no-scheme", "build-no-host", "query-not-string", "port-zero", "port-too-big",
        "port-twice", "ipv6-port-twice", "colons-not-ipv6", "bad-action", "missing-action",
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
