"""crypto/totp: RFC 4226 appendix D (HOTP) and RFC 6238 appendix B (TOTP) known answers,
verification windows, otpauth:// URIs and the error paths."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.frontends.schema import input_schema
from devutils.registry import Registry
from devutils.tools.otp import TotpOutput, hotp
from tests.conftest import FIXED_NOW

# RFC 6238 appendix B: the ASCII seeds "1234567890" repeated to 20, 32 and 64 bytes.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
SECRETS = {name: base64.b32encode(seed).decode() for name, seed in SEEDS.items()}
RFC_SHA1 = SECRETS["sha1"]
NOW = int(FIXED_NOW.timestamp())

# (time, code, algorithm): 8 digits, 30-second steps.
RFC6238 = [
    (59, "94287082", "sha1"),
    (59, "46119246", "sha256"),
    (59, "90693936", "sha512"),
    (1111111109, "07081804", "sha1"),
    (1111111109, "68084774", "sha256"),
    (1111111109, "25091201", "sha512"),
    (1111111111, "14050471", "sha1"),
    (1111111111, "67062674", "sha256"),
    (1111111111, "99943326", "sha512"),
    (1234567890, "89005924", "sha1"),
    (1234567890, "91819424", "sha256"),
    (1234567890, "93441116", "sha512"),
    (2000000000, "69279037", "sha1"),
    (2000000000, "90698825", "sha256"),
    (2000000000, "38618901", "sha512"),
    (20000000000, "65353130", "sha1"),
    (20000000000, "77737706", "sha256"),
    (20000000000, "47863826", "sha512"),
]
# RFC 4226 appendix D: counters 0-9, 6 digits, HMAC-SHA-1 with the 20-byte seed.
RFC4226 = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]


async def _totp(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/v1/crypto/totp", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _set(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize(
    ("time", "code", "algorithm"), RFC6238, ids=[f"{case[2]}-{case[0]}" for case in RFC6238]
)
async def test_rfc6238_generate(
    client: httpx.AsyncClient, time: int, code: str, algorithm: str
) -> None:
    body = {"secret": SECRETS[algorithm], "time": time, "digits": 8, "algorithm": algorithm}
    data = await _totp(client, body)
    assert _set(data) == {"code": code, "counter": time // 30, "remainingSeconds": 30 - time % 30}


@pytest.mark.parametrize(
    ("time", "code", "algorithm"), RFC6238, ids=[f"{case[2]}-{case[0]}" for case in RFC6238]
)
async def test_rfc6238_verify(
    client: httpx.AsyncClient, time: int, code: str, algorithm: str
) -> None:
    body = {"secret": SECRETS[algorithm], "digits": 8, "algorithm": algorithm, "code": code}
    on_time = await _totp(client, {**body, "action": "verify", "time": time})
    assert _set(on_time) == {"valid": True, "counter": time // 30, "offset": 0}
    late = await _totp(client, {**body, "action": "verify", "time": time + 30})
    assert _set(late) == {"valid": True, "counter": time // 30, "offset": -1}
    too_late = await _totp(client, {**body, "action": "verify", "time": time + 60})
    assert _set(too_late) == {"valid": False}
    wide = await _totp(client, {**body, "action": "verify", "time": time + 60, "window": 2})
    assert _set(wide) == {"valid": True, "counter": time // 30, "offset": -2}
    strict = await _totp(client, {**body, "action": "verify", "time": time + 30, "window": 0})
    assert _set(strict) == {"valid": False}


@pytest.mark.parametrize(
    ("counter", "code"), list(enumerate(RFC4226)), ids=[f"counter-{n}" for n in range(10)]
)
async def test_rfc4226_hotp(client: httpx.AsyncClient, counter: int, code: str) -> None:
    assert hotp(SEEDS["sha1"], counter, 6, "sha1") == code
    generated = await _totp(client, {"secret": RFC_SHA1, "counter": counter})
    assert _set(generated) == {"code": code, "counter": counter}
    checked = await _totp(
        client, {"action": "verify", "secret": RFC_SHA1, "counter": counter, "code": code}
    )
    assert _set(checked) == {"valid": True, "counter": counter, "offset": 0}


async def test_hotp_window_looks_ahead_only(client: httpx.AsyncClient) -> None:
    body = {"action": "verify", "secret": RFC_SHA1, "code": RFC4226[5]}
    ahead = await _totp(client, {**body, "counter": 3, "window": 2})
    assert _set(ahead) == {"valid": True, "counter": 5, "offset": 2}
    short = await _totp(client, {**body, "counter": 3, "window": 1})
    assert _set(short) == {"valid": False}
    behind = await _totp(client, {**body, "counter": 6, "window": 10})
    assert _set(behind) == {"valid": False}


async def test_now_comes_from_the_clock(client: httpx.AsyncClient) -> None:
    data = await _totp(client, {"secret": RFC_SHA1})
    step = NOW // 30
    assert _set(data) == {
        "code": hotp(SEEDS["sha1"], step, 6, "sha1"),
        "counter": step,
        "remainingSeconds": 30 - NOW % 30,
    }
    checked = await _totp(client, {"action": "verify", "secret": RFC_SHA1, "code": data["code"]})
    assert checked["valid"] is True
    sixty = await _totp(client, {"secret": RFC_SHA1, "period": 60, "digits": 7})
    assert sixty["code"] == hotp(SEEDS["sha1"], NOW // 60, 7, "sha1")


@pytest.mark.parametrize(
    "secret",
    [RFC_SHA1.lower(), " ".join([RFC_SHA1[i : i + 4] for i in range(0, 32, 4)]), RFC_SHA1 + "===="],
    ids=["lower-case", "grouped", "padded"],
)
async def test_secret_spellings(client: httpx.AsyncClient, secret: str) -> None:
    data = await _totp(client, {"secret": secret, "time": 59, "digits": 8})
    assert data["code"] == "94287082"


async def test_wrong_and_odd_codes(client: httpx.AsyncClient) -> None:
    body = {"action": "verify", "secret": RFC_SHA1, "time": 59, "digits": 8}
    assert (await _totp(client, {**body, "code": "94287083"}))["valid"] is False
    assert (await _totp(client, {**body, "code": "4287082"}))["valid"] is False
    assert (await _totp(client, {**body, "code": "9428 7082"}))["valid"] is True


URIS = [
    (
        "totp-issuer",
        {"secret": "JBSWY3DPEHPK3PXP", "issuer": "Example", "account": "alice@example.com"},
        "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
        "&algorithm=SHA1&digits=6&period=30",
    ),
    (
        "totp-spaces-and-options",
        {
            "secret": "jbsw y3dp ehpk 3pxp",
            "issuer": "ACME Co",
            "account": "john doe",
            "algorithm": "sha256",
            "digits": 8,
            "period": 60,
        },
        "otpauth://totp/ACME%20Co:john%20doe?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co"
        "&algorithm=SHA256&digits=8&period=60",
    ),
    (
        "hotp",
        {"secret": "JBSWY3DPEHPK3PXP", "account": "bob", "counter": 7},
        "otpauth://hotp/bob?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&counter=7",
    ),
    (
        "escaped-label",
        {"secret": "JBSWY3DPEHPK3PXP", "issuer": "a/b?c", "account": "x&y"},
        "otpauth://totp/a%2Fb%3Fc:x%26y?secret=JBSWY3DPEHPK3PXP&issuer=a%2Fb%3Fc"
        "&algorithm=SHA1&digits=6&period=30",
    ),
]


@pytest.mark.parametrize(
    ("body", "uri"), [case[1:] for case in URIS], ids=[case[0] for case in URIS]
)
async def test_otpauth_uri(client: httpx.AsyncClient, body: dict[str, Any], uri: str) -> None:
    data = await _totp(client, {"action": "uri", **body})
    assert _set(data) == {"uri": uri}
    query = parse_qs(urlsplit(uri).query)
    assert base64.b32decode(query["secret"][0] + "=" * (-len(query["secret"][0]) % 8))


ERRORS = [
    (
        "secret-not-base32",
        {"secret": "JBSWY3DPEHPK3PX1"},
        "secret must be base32 (letters A-Z and digits 2-7)",
    ),
    ("secret-empty", {"secret": ""}, "secret must be base32 (letters A-Z and digits 2-7)"),
    # str.upper() would make these S, I and ST: base32 is ASCII
    (
        "secret-long-s",
        {"secret": "\u017f" * 16},
        "secret must be base32 (letters A-Z and digits 2-7)",
    ),
    (
        "secret-dotless-i",
        {"secret": "\u0131" * 16},
        "secret must be base32 (letters A-Z and digits 2-7)",
    ),
    (
        "secret-st-ligature",
        {"secret": "\ufb06" * 8},
        "secret must be base32 (letters A-Z and digits 2-7)",
    ),
    ("secret-bad-length", {"secret": "JBSWY3DPEHPK3PXPA"}, "secret is not valid base32"),
    ("secret-short", {"secret": "JBSWY3DP"}, "secret must decode to 10 to 256 bytes, not 5"),
    ("secret-long", {"secret": "A" * 416}, "secret must decode to 10 to 256 bytes, not 260"),
    ("digits-5", {"secret": RFC_SHA1, "digits": 5}, "digits must be 6, 7 or 8"),
    ("digits-9", {"secret": RFC_SHA1, "digits": 9}, "digits must be 6, 7 or 8"),
    ("period-0", {"secret": RFC_SHA1, "period": 0}, "period must be 1 to 3600 seconds"),
    (
        "window-11",
        {"action": "verify", "secret": RFC_SHA1, "code": "1", "window": 11},
        "window must be 0 to 10",
    ),
    ("counter-negative", {"secret": RFC_SHA1, "counter": -1}, "counter must be 0 to 2^64-1"),
    (
        "time-negative",
        {"secret": RFC_SHA1, "time": -1},
        "time must be Unix seconds from 0 to 253402300799",
    ),
    (
        "counter-and-time",
        {"secret": RFC_SHA1, "counter": 1, "time": 59},
        "give a counter (HOTP) or a time (TOTP), not both",
    ),
    ("verify-no-code", {"action": "verify", "secret": RFC_SHA1}, 'verify needs "code"'),
    (
        "verify-letters",
        {"action": "verify", "secret": RFC_SHA1, "code": "12a456"},
        "code must be digits",
    ),
    (
        "code-for-generate",
        {"secret": RFC_SHA1, "code": "123456"},
        "code does not apply to action generate",
    ),
    (
        "issuer-for-verify",
        {"action": "verify", "secret": RFC_SHA1, "code": "1", "issuer": "x"},
        "issuer does not apply to action verify",
    ),
    (
        "time-for-uri",
        {"action": "uri", "secret": RFC_SHA1, "time": 5},
        "time does not apply to action uri",
    ),
    (
        "issuer-long",
        {"action": "uri", "secret": RFC_SHA1, "issuer": "x" * 257},
        "issuer exceeds maximum length of 256",
    ),
]


@pytest.mark.parametrize(
    ("body", "details"), [case[1:] for case in ERRORS], ids=[case[0] for case in ERRORS]
)
async def test_errors(client: httpx.AsyncClient, body: dict[str, Any], details: str) -> None:
    response = await client.post("/api/v1/crypto/totp", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Failed to process one-time code",
        "details": details,
    }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"secret": RFC_SHA1, "algorithm": "md5"},
        {"secret": RFC_SHA1, "action": "hash"},
        {"secret": 12},
    ],
    ids=["no-secret", "unknown-algorithm", "unknown-action", "secret-number"],
)
async def test_binding_errors(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/api/v1/crypto/totp", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_counter_beyond_64_bits(registry: Registry) -> None:
    # REST bodies cannot carry it (the JSON parser refuses integers past 64 bits); the CLI and
    # in-process calls can.
    spec = registry.get("crypto_totp")
    assert spec is not None
    last = registry.invoke_sync(spec, {"secret": RFC_SHA1, "counter": (1 << 64) - 1})
    assert isinstance(last, TotpOutput)
    assert last.counter == (1 << 64) - 1
    with pytest.raises(ValidationError) as caught:
        registry.invoke_sync(spec, {"secret": RFC_SHA1, "counter": 1 << 64})
    assert caught.value.details == "counter must be 0 to 2^64-1"


@pytest.mark.parametrize(
    ("action", "given"),
    [("generate", {}), ("verify", {"code": "755224"}), ("uri", {"issuer": "Acme"})],
)
async def test_every_option_sent_at_its_published_default_is_accepted(
    registry: Registry, client: httpx.AsyncClient, action: str, given: dict[str, Any]
) -> None:
    """Options of other actions at the schema's default are the call that leaves them out."""
    spec = registry.get("crypto_totp")
    assert spec is not None
    properties = input_schema(spec)["properties"]
    defaults = {name: prop["default"] for name, prop in properties.items() if "default" in prop}
    assert {"code", "window", "issuer", "account"} <= set(defaults)
    body = {**defaults, "action": action, "secret": RFC_SHA1, "counter": 0, **given}
    if action == "uri":
        del body["counter"]  # a counter makes an HOTP URI; both are fine, one is enough here
    response = await client.post("/api/v1/crypto/totp", json=body)
    assert response.status_code == 200, response.text
    if action == "verify":
        assert response.json()["data"]["valid"] is True  # RFC 4226 appendix D, counter 0
