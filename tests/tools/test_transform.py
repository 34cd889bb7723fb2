"""transform/base64, transform/url and transform/jwt/decode: known answers and every error path."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from devutils.http.app import Application
from devutils.tools import _gobase64


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _token(header: Any, payload: Any, signature: str = "c2lnbmF0dXJl") -> str:
    return f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}.{signature}"


async def _ok(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1/transform/{path}", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _error(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 400
) -> dict[str, Any]:
    response = await client.post(f"/api/v1/transform/{path}", json=body)
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.fixture
async def small_output_client(
    make_app: Callable[..., Application],
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(max_output_bytes=1024)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


# --- base64 -------------------------------------------------------------------------------------

RFC4648 = [("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg==")]
RFC4648 += [("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]


@pytest.mark.parametrize(("text", "encoded"), RFC4648, ids=[text for text, _ in RFC4648])
async def test_base64_rfc4648_vectors(client: httpx.AsyncClient, text: str, encoded: str) -> None:
    assert await _ok(client, "base64", {"content": text, "action": "encode"}) == {
        "result": encoded,
        "isBinary": False,
        "resultBase64": None,
    }
    decoded = await _ok(client, "base64", {"content": encoded, "action": "decode"})
    assert decoded["result"] == text
    assert decoded["isBinary"] is False


BASE64_CASES = [
    ("hello-world", {"content": "Hello, World!", "action": "encode"}, "SGVsbG8sIFdvcmxkIQ=="),
    ("utf8-encode", {"content": "Grüße 世界", "action": "encode"}, "R3LDvMOfZSDkuJbnlYw="),
    ("std-alphabet", {"content": "~~~?", "action": "encode"}, "fn5+Pw=="),
    ("url-safe", {"content": "~~~?", "action": "encode", "urlSafe": True}, "fn5-Pw=="),
    ("url-safe-snake", {"content": "~~~?", "action": "encode", "url_safe": True}, "fn5-Pw=="),
    ("url-safe-decode", {"content": "fn5-Pw==", "action": "decode", "urlSafe": True}, "~~~?"),
    ("newlines-skipped", {"content": "Zm9v\r\nYmFy\n", "action": "decode"}, "foobar"),
    ("newline-in-padding", {"content": "Zg=\n=", "action": "decode"}, "f"),
    ("trailing-bits-tolerated", {"content": "Zh==", "action": "decode"}, "f"),
    ("only-newlines", {"content": "\r\n", "action": "decode"}, ""),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [case[1:] for case in BASE64_CASES],
    ids=[case[0] for case in BASE64_CASES],
)
async def test_base64_known_answers(
    client: httpx.AsyncClient, body: dict[str, Any], expected: str
) -> None:
    assert (await _ok(client, "base64", body))["result"] == expected


async def test_base64_binary_decode_is_flagged_not_mangled(client: httpx.AsyncClient) -> None:
    data = await _ok(client, "base64", {"content": "/+8AYQ==", "action": "decode"})
    assert data == {"result": "\ufffd\ufffd\x00a", "isBinary": True, "resultBase64": "/+8AYQ=="}
    url = await _ok(client, "base64", {"content": "_-8AYQ==", "action": "decode", "urlSafe": True})
    assert url["isBinary"] is True
    assert url["resultBase64"] == "/+8AYQ=="


# Go's own table (encoding/base64 TestDecodeCorrupt): input → offset of the illegal byte.
GO_CORRUPT = [
    ("!!!!", 0),
    ("====", 0),
    ("x===", 1),
    ("=AAA", 0),
    ("A=AA", 1),
    ("AA=A", 2),
    ("AA==A", 4),
    ("AAA=AAAA", 4),
    ("AAAAA", 4),
    ("AAAAAA", 4),
    ("A=", 1),
    ("A==", 1),
    ("AA=", 3),
    ("AAAAAA=", 7),
    ("YWJjZA=====", 8),
    ("A!\n", 1),
    ("A=\n", 1),
]


@pytest.mark.parametrize(("text", "offset"), GO_CORRUPT, ids=[text for text, _ in GO_CORRUPT])
async def test_base64_decode_errors_name_the_byte_like_go(
    client: httpx.AsyncClient, text: str, offset: int
) -> None:
    error = await _error(client, "base64", {"content": text, "action": "decode"})
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "Base64 decode failed",
        "details": f"invalid base64 input: illegal base64 data at input byte {offset}",
    }


@pytest.mark.parametrize(
    ("text", "url_safe", "offset"),
    [
        ("fn5-Pw==", False, 3),
        ("fn5+Pw==", True, 3),
        ("Zg", False, 0),
        ("Zm9v\nZg=\n", False, 9),
        ("é", False, 0),
        ("YW Jj", False, 2),
    ],
    ids=[
        "url-char-in-std",
        "std-char-in-url",
        "missing-padding",
        "padding-at-end",
        "non-ascii",
        "space",
    ],
)
async def test_base64_alphabet_and_padding_are_strict(
    client: httpx.AsyncClient, text: str, url_safe: bool, offset: int
) -> None:
    body = {"content": text, "action": "decode", "urlSafe": url_safe}
    error = await _error(client, "base64", body)
    assert error["details"] == f"invalid base64 input: illegal base64 data at input byte {offset}"


def _offset_or_none(encoding: _gobase64.Encoding, text: bytes) -> int | None:
    try:
        encoding.decode(text)
    except _gobase64.Base64Error as exc:
        return exc.offset
    return None


@pytest.mark.parametrize(
    "encoding", [_gobase64.STD, _gobase64.URL, _gobase64.RAW_URL], ids=["std", "url", "raw-url"]
)
def test_fast_path_agrees_with_go_quantum_emulation(encoding: _gobase64.Encoding) -> None:
    """Every input up to 5 bytes: the C fast path fails exactly where Go's loop fails."""
    for length in range(6):
        for chars in itertools.product(b"AQ=\n!_+", repeat=length):
            text = bytes(chars)
            expected = _gobase64._go_decode_quanta(text, 0, encoding.alphabet, encoding.padded)
            assert _offset_or_none(encoding, text) == expected, text


def test_raw_url_encoding_rejects_padding_and_std_chars() -> None:
    assert _gobase64.RAW_URL.decode(b"Zm8") == b"fo"
    for text, offset in [(b"Zm8=", 3), (b"Zm+v", 2), (b"Z", 0)]:
        with pytest.raises(_gobase64.Base64Error) as caught:
            _gobase64.RAW_URL.decode(text)
        assert caught.value.offset == offset


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({"action": "encode"}, "content"),
        ({"content": "", "action": "encode"}, "content"),
        ({"content": "x", "action": "rot13"}, "action"),
        ({"content": "x"}, "action"),
        ({"content": 5, "action": "encode"}, "content"),
        ({"content": "x", "action": "encode", "urlSafe": "yes"}, "url"),
    ],
    ids=["missing-content", "empty-content", "bad-action", "missing-action", "number", "bad-bool"],
)
async def test_base64_binding_errors(
    client: httpx.AsyncClient, body: dict[str, Any], detail_part: str
) -> None:
    error = await _error(client, "base64", body)
    assert error["code"] == "VALIDATION_ERROR"
    missing = detail_part not in body and detail_part != "url"
    assert error["message"] == (
        f'field "{detail_part}" is required' if missing else "Invalid request"
    )
    assert detail_part in error["details"]


async def test_base64_output_is_bounded(small_output_client: httpx.AsyncClient) -> None:
    fits = await _ok(small_output_client, "base64", {"content": "a" * 768, "action": "encode"})
    assert len(fits["result"]) == 1024
    error = await _error(
        small_output_client, "base64", {"content": "a" * 769, "action": "encode"}, status=413
    )
    assert error["code"] == "REQUEST_TOO_LARGE"
    assert error["details"] == "output would exceed 1 KiB (MAX_OUTPUT_BYTES)"


# --- url ----------------------------------------------------------------------------------------

URL_ENCODE = [
    ("spaces-and-amp", "hello world & more", "hello+world+%26+more"),
    ("unreserved-kept", "AZaz09-_.~", "AZaz09-_.~"),
    ("reserved", "/?#[]@!$'()*+,;=", "%2F%3F%23%5B%5D%40%21%24%27%28%29%2A%2B%2C%3B%3D"),
    ("utf8-upper-hex", "é€", "%C3%A9%E2%82%AC"),
    ("percent", "100%", "100%25"),
    ("controls", "\t\n\x00", "%09%0A%00"),
]


@pytest.mark.parametrize(
    ("text", "encoded"), [case[1:] for case in URL_ENCODE], ids=[case[0] for case in URL_ENCODE]
)
async def test_url_encode_is_go_query_escape(
    client: httpx.AsyncClient, text: str, encoded: str
) -> None:
    assert (await _ok(client, "url", {"content": text, "action": "encode"}))["result"] == encoded
    decoded = await _ok(client, "url", {"content": encoded, "action": "decode"})
    assert decoded["result"] == text


URL_DECODE = [
    ("plus-is-space", "a+b", "a b"),
    ("escaped-plus", "a%2Bb", "a+b"),
    ("lower-hex", "%c3%a9", "é"),
    ("percent20", "a%20b", "a b"),
    ("one-layer-only", "%2541", "%41"),
    ("raw-unicode-kept", "é+x", "é x"),
]


@pytest.mark.parametrize(
    ("text", "decoded"), [case[1:] for case in URL_DECODE], ids=[case[0] for case in URL_DECODE]
)
async def test_url_decode_known_answers(client: httpx.AsyncClient, text: str, decoded: str) -> None:
    data = await _ok(client, "url", {"content": text, "action": "decode"})
    assert data == {"result": decoded, "isBinary": False, "resultBase64": None}


URL_ERRORS = [
    ("not-hex", "%ZZ", '"%ZZ"'),
    ("truncated-at-end", "abc%", '"%"'),
    ("one-digit", "abc%4", '"%4"'),
    ("first-bad-wins", "%41%G1%ZZ", '"%G1"'),
    ("double-percent", "a%%41", '"%%4"'),
    ("printable-unicode", "%é", '"%é"'),
    ("cut-utf8", "%1€", '"%1\\xe2"'),
]


@pytest.mark.parametrize(
    ("text", "quoted"), [case[1:] for case in URL_ERRORS], ids=[case[0] for case in URL_ERRORS]
)
async def test_url_decode_errors_quote_the_escape_like_go(
    client: httpx.AsyncClient, text: str, quoted: str
) -> None:
    error = await _error(client, "url", {"content": text, "action": "decode"})
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "URL decode failed",
        "details": f"invalid URL encoding: invalid URL escape {quoted}",
    }


async def test_url_binary_decode_is_flagged(client: httpx.AsyncClient) -> None:
    data = await _ok(client, "url", {"content": "%FF%00a", "action": "decode"})
    assert data == {"result": "\ufffd\x00a", "isBinary": True, "resultBase64": "/wBh"}


async def test_url_binding_errors_and_output_bound(
    client: httpx.AsyncClient, small_output_client: httpx.AsyncClient
) -> None:
    error = await _error(client, "url", {"content": "", "action": "decode"})
    assert error["message"] == "Invalid request"
    assert "content" in error["details"]
    error = await _error(client, "url", {"content": "x", "action": "escape"})
    assert "action" in error["details"]
    # 200 x "é" is 400 UTF-8 bytes and 1200 characters once escaped.
    error = await _error(
        small_output_client, "url", {"content": "é" * 200, "action": "encode"}, status=413
    )
    assert error["code"] == "REQUEST_TOO_LARGE"


# --- jwt ----------------------------------------------------------------------------------------

JWT_IO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


async def test_jwt_decode_known_token(client: httpx.AsyncClient) -> None:
    data = await _ok(client, "jwt/decode", {"token": JWT_IO})
    assert data == {
        "header": {"alg": "HS256", "typ": "JWT"},
        "payload": {"sub": "1234567890", "name": "John Doe", "iat": 1516239022},
        "signatureVerified": False,
        "times": {"iat": "2018-01-18T01:30:22Z"},
    }


async def test_jwt_keeps_integers_exact_and_adds_readable_times(client: httpx.AsyncClient) -> None:
    payload = {
        "id": 2**63 - 1,
        "neg": -(2**63),
        "exp": 1704067200,
        "nbf": 1703518245.9,
        "iat": "not a number",
        "nested": {"list": [1, 2.5, None, True]},
    }
    data = await _ok(client, "jwt/decode", {"token": _token({"alg": "none"}, payload, "")})
    assert data["payload"] == payload
    assert data["payload"]["id"] == 9223372036854775807
    assert data["times"] == {"exp": "2024-01-01T00:00:00Z", "nbf": "2023-12-25T15:30:45Z"}


async def test_jwt_oversized_integers_and_odd_times(client: httpx.AsyncClient) -> None:
    raw = b'{"big": 123456789012345678901234567890, "exp": 1e20, "iat": true, "nbf": -1}'
    token = f"{_b64url(b'null')}.{_b64url(raw)}."
    data = await _ok(client, "jwt/decode", {"token": token})
    # Beyond 64 bits too an integer stays exact (the reference reads every number as a float).
    assert data["header"] is None
    assert data["payload"]["big"] == 123456789012345678901234567890
    assert data["times"] == {"nbf": "1969-12-31T23:59:59Z"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"exp": 1000000000000000000000000000000, "iat": -100000000000000000000}',
        b'{"n": 1' + b"0" * 5000 + b"}",  # past Python's 4300 digits: orjson's float, or its error
        b'{"n": 12345678901234567890, "x": NaN}',  # no JSON: refused as before
        b'{"s": "12345678901234567890123"}',  # a long digit run in a string only
        b'{"n": 12345678901234567890123, "s": "\\ud800"}',  # a lone surrogate: refused as before
    ],
    ids=["huge-times", "over-4300-digits", "nan", "digits-in-a-string", "lone-surrogate"],
)
async def test_jwt_long_integers_never_fail_the_call(client: httpx.AsyncClient, raw: bytes) -> None:
    token = f"{_b64url(b'null')}.{_b64url(raw)}."
    response = await client.post("/api/v1/transform/jwt/decode", json={"token": token})
    assert response.status_code in (200, 400), response.text
    if raw.startswith(b'{"exp"'):
        data = response.json()["data"]
        assert data["payload"]["exp"] == 10**30
        assert data["times"] == {}  # beyond any date: no readable time, no error
    if b"NaN" in raw or b"ud800" in raw:
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "JWT decode failed"
    if raw.startswith(b'{"s"'):
        assert response.json()["data"]["payload"] == {"s": "12345678901234567890123"}


def _deep(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


JWT_ERRORS = [
    ("one-part", "abc", "invalid JWT format: expected 3 parts, got 1"),
    ("four-parts", "a.b.c.d", "invalid JWT format: expected 3 parts, got 4"),
    (
        "padded-header",
        "eyJhbGciOiJub25lIn0=.e30.",
        "invalid JWT header encoding: illegal base64 data at input byte 19",
    ),
    (
        "std-alphabet-payload",
        "e30.e30+.",
        "invalid JWT payload encoding: illegal base64 data at input byte 3",
    ),
    (
        "array-header",
        f"{_b64url(b'[1]')}.e30.",
        "invalid JWT header JSON: json: cannot unmarshal array into Go value of type "
        "map[string]interface {}",
    ),
    (
        "string-payload",
        "e30." + _b64url(b'"x"') + ".",
        "invalid JWT payload JSON: json: cannot unmarshal string into Go value of type "
        "map[string]interface {}",
    ),
    ("empty-payload", "e30..", "invalid JWT payload JSON: unexpected end of JSON input"),
    (
        "too-deep",
        f"e30.{_b64url(_deep(300))}.",
        "invalid JWT payload JSON: nesting depth exceeds limit of 250",
    ),
    (
        "parser-recursion-limit",
        f"e30.{_b64url(_deep(2000))}.",
        "invalid JWT payload JSON: nesting depth exceeds limit of 250",
    ),
]


@pytest.mark.parametrize(
    ("token", "details"), [case[1:] for case in JWT_ERRORS], ids=[case[0] for case in JWT_ERRORS]
)
async def test_jwt_errors_use_the_reference_wording(
    client: httpx.AsyncClient, token: str, details: str
) -> None:
    error = await _error(client, "jwt/decode", {"token": token})
    assert error == {"code": "VALIDATION_ERROR", "message": "JWT decode failed", "details": details}


@pytest.mark.parametrize(
    "payload",
    [b"{", b'{"a": 1e400}', b'{"a": NaN}', b'{"a": "\\ud800"}'],
    ids=["truncated", "inf", "nan", "surrogate"],
)
async def test_jwt_malformed_json_is_400(client: httpx.AsyncClient, payload: bytes) -> None:
    error = await _error(client, "jwt/decode", {"token": f"e30.{_b64url(payload)}."})
    assert error["details"].startswith("invalid JWT payload JSON: ")


async def test_jwt_nesting_at_the_limit_is_fine(client: httpx.AsyncClient) -> None:
    # 250, not MAX_JSON_DEPTH (256): deeper objects cannot be serialized into the response.
    data = await _ok(client, "jwt/decode", {"token": f"e30.{_b64url(_deep(250))}."})
    assert data["header"] == {}
    error = await _error(client, "jwt/decode", {"token": f"e30.{_b64url(_deep(251))}."})
    assert error["details"] == "invalid JWT payload JSON: nesting depth exceeds limit of 250"


async def test_jwt_size_and_binding_errors(client: httpx.AsyncClient) -> None:
    huge = "e30." + _b64url(b'{"a": "' + b"x" * 70_000 + b'"}') + "."
    error = await _error(client, "jwt/decode", {"token": huge}, status=413)
    assert error["code"] == "REQUEST_TOO_LARGE"
    assert error["details"].startswith("token too large: ")
    error = await _error(client, "jwt/decode", {"token": ""})
    assert error["message"] == "Invalid request"
    assert "token" in error["details"]
