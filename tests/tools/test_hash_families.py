"""crypto/hash and crypto/hmac breadth: every family against published known answers, the byte
encodings of input and output, option checks, and the constant-time verify endpoints."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import blake3
import httpx
import pytest

from devutils.registry import Registry
from devutils.settings import Settings
from devutils.tools.crypto import HashInput

ABC_448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
SEQ_64 = bytes(range(64)).hex()
SEQ_32 = bytes(range(32)).hex()
BLAKE3_KEY = "whats the Elvish word for friend"  # the BLAKE3 test_vectors.json key (32 bytes)

# (algorithm, content, extra request fields, expected hex).  Sources: FIPS 180-4 and FIPS 202
# examples (NIST CSRC), RFC 7693 appendices and the BLAKE2 KAT files (blake2b-kat.txt,
# blake2s-kat.txt: key 00..3f / 00..1f, empty input), BLAKE3 test_vectors.json (input bytes
# i % 251), the xxHash reference values, and the CRC catalogue check values.
HASH_VECTORS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("sha224-abc", "sha224", "abc", {}, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
    (
        "sha384-abc",
        "sha384",
        "abc",
        {},
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
        "8086072ba1e7cc2358baeca134c825a7",
    ),
    (
        "sha512_256-abc",
        "sha512_256",
        "abc",
        {},
        "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
    ),
    (
        "sha512_256-448bit",
        "sha512_256",
        ABC_448,
        {},
        "bde8e1f9f19bb9fd3406c90ec6bc47bd36d8ada9f11880dbc8a22a7078b6a461",
    ),
    (
        "sha3_224-abc",
        "sha3_224",
        "abc",
        {},
        "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf",
    ),
    (
        "sha3_256-abc",
        "sha3_256",
        "abc",
        {},
        "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
    ),
    (
        "sha3_256-empty",
        "sha3_256",
        "",
        {},
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
    ),
    (
        "sha3_384-abc",
        "sha3_384",
        "abc",
        {},
        "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2"
        "98d88cea927ac7f539f1edf228376d25",
    ),
    (
        "sha3_512-abc",
        "sha3_512",
        "abc",
        {},
        "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
        "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
    ),
    (
        "shake_128-empty-default-256bit",
        "shake_128",
        "",
        {},
        "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26",
    ),
    (
        "shake_256-empty-default-512bit",
        "shake_256",
        "",
        {},
        "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
        "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be",
    ),
    ("shake_128-empty-length-8", "shake_128", "", {"length": 8}, "7f9c2ba4e88f827d"),
    (
        "blake2b-abc-rfc7693",
        "blake2b",
        "abc",
        {},
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    ),
    (
        "blake2s-abc-rfc7693",
        "blake2s",
        "abc",
        {},
        "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
    ),
    (
        "blake2b-keyed-kat-0",
        "blake2b",
        "",
        {"key": SEQ_64, "keyEncoding": "hex"},
        "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
        "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568",
    ),
    (
        "blake2s-keyed-kat-0",
        "blake2s",
        "",
        {"key": SEQ_32, "keyEncoding": "hex"},
        "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
    ),
    (
        "blake2s-keyed-kat-1",
        "blake2s",
        "00",
        {"key": SEQ_32, "keyEncoding": "hex", "inputEncoding": "hex"},
        "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1",
    ),
    (
        "blake3-empty",
        "blake3",
        "",
        {},
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    ),
    (
        "blake3-one-byte",
        "blake3",
        "00",
        {"inputEncoding": "hex"},
        "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    ),
    (
        "blake3-empty-xof-131",
        "blake3",
        "",
        {"length": 131},
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        "e00f03e7b69af26b7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a"
        "26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ffdbda"
        "7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421"
        "cce14d",
    ),
    (
        "blake3-keyed-empty",
        "blake3",
        "",
        {"key": BLAKE3_KEY},
        "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26",
    ),
    (
        "blake3-keyed-one-byte",
        "blake3",
        "AA==",
        {"key": BLAKE3_KEY, "inputEncoding": "base64"},
        "6d7878dfff2f485635d39013278ae14f1454b8c0a3a2d34bc1ab38228a80c95b",
    ),
    ("crc32-check", "crc32", "123456789", {}, "cbf43926"),
    ("crc32c-check", "crc32c", "123456789", {}, "e3069283"),
    ("crc32-empty", "crc32", "", {}, "00000000"),
    ("adler32-wikipedia", "adler32", "Wikipedia", {}, "11e60398"),
    ("adler32-empty", "adler32", "", {}, "00000001"),
    ("xxh64-empty", "xxh64", "", {}, "ef46db3751d8e999"),
    ("xxh64-a", "xxh64", "a", {}, "d24ec4f1a98c6e5b"),
    ("xxh64-abc", "xxh64", "abc", {}, "44bc2cf5ad770999"),
    ("xxh3_64-empty", "xxh3_64", "", {}, "2d06800538d394c2"),
    ("xxh3_64-a", "xxh3_64", "a", {}, "e6c632b61e964e1f"),
    ("xxh3_64-abc", "xxh3_64", "abc", {}, "78af5f94892f3950"),
    ("xxh3_128-empty", "xxh3_128", "", {}, "99aa06d3014798d86001c324468d497f"),
    ("xxh3_128-a", "xxh3_128", "a", {}, "a96faf705af16834e6c632b61e964e1f"),
]


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(path, json=body)


@pytest.mark.parametrize(
    ("algorithm", "content", "extra", "expected"),
    [row[1:] for row in HASH_VECTORS],
    ids=[row[0] for row in HASH_VECTORS],
)
async def test_hash_family_known_answers(
    client: httpx.AsyncClient, algorithm: str, content: str, extra: dict[str, Any], expected: str
) -> None:
    body = {"content": content, "algorithm": algorithm, **extra}
    response = await _post(client, "/api/v1/crypto/hash", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": {"hash": expected, "algorithm": algorithm}}


# RFC 2202 (HMAC-MD5, HMAC-SHA1) and RFC 4231 (HMAC-SHA-2), including the binary-key cases the
# old text-only tool could not take.  "hex:" keys and messages are sent with the hex encoding.
HMAC_VECTORS: list[tuple[str, str, str, str, str]] = [
    ("rfc2202-md5-1", "md5", "hex:" + "0b" * 16, "Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    (
        "rfc2202-md5-2",
        "md5",
        "Jefe",
        "what do ya want for nothing?",
        "750c783e6ab0b503eaa86e310a5db738",
    ),
    (
        "rfc2202-md5-3",
        "md5",
        "hex:" + "aa" * 16,
        "hex:" + "dd" * 50,
        "56be34521d144c88dbb8c733f0e8b3f6",
    ),
    (
        "rfc2202-sha1-1",
        "sha1",
        "hex:" + "0b" * 20,
        "Hi There",
        "b617318655057264e28bc0b6fb378c8ef146be00",
    ),
    (
        "rfc2202-sha1-2",
        "sha1",
        "Jefe",
        "what do ya want for nothing?",
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    ),
    (
        "rfc2202-sha1-6-long-key",
        "sha1",
        "hex:" + "aa" * 80,
        "Test Using Larger Than Block-Size Key - Hash Key First",
        "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    ),
    (
        "rfc4231-1-sha224",
        "sha224",
        "hex:" + "0b" * 20,
        "Hi There",
        "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
    ),
    (
        "rfc4231-1-sha384",
        "sha384",
        "hex:" + "0b" * 20,
        "Hi There",
        "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
        "faea9ea9076ede7f4af152e8b2fa9cb6",
    ),
    (
        "rfc4231-3-sha256",
        "sha256",
        "hex:" + "aa" * 20,
        "hex:" + "dd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        "rfc4231-3-sha512",
        "sha512",
        "hex:" + "aa" * 20,
        "hex:" + "dd" * 50,
        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
        "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    ),
    (
        "rfc4231-6-sha256-long-key",
        "sha256",
        "hex:" + "aa" * 131,
        "Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        "blake2b-keyed-kat-0",
        "blake2b",
        "hex:" + SEQ_64,
        "",
        "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
        "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568",
    ),
    (
        "blake2s-keyed-kat-0",
        "blake2s",
        "hex:" + SEQ_32,
        "",
        "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
    ),
    (
        "blake3-keyed-empty",
        "blake3",
        BLAKE3_KEY,
        "",
        "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26",
    ),
]


def _hmac_body(algorithm: str, key: str, content: str) -> dict[str, Any]:
    body: dict[str, Any] = {"algorithm": algorithm, "content": content, "key": key}
    if key.startswith("hex:"):
        body.update(key=key[4:], keyEncoding="hex")
    if content.startswith("hex:"):
        body.update(content=content[4:], inputEncoding="hex")
    return body


@pytest.mark.parametrize(
    ("algorithm", "key", "content", "expected"),
    [row[1:] for row in HMAC_VECTORS],
    ids=[row[0] for row in HMAC_VECTORS],
)
async def test_hmac_family_known_answers(
    client: httpx.AsyncClient, algorithm: str, key: str, content: str, expected: str
) -> None:
    response = await _post(client, "/api/v1/crypto/hmac", _hmac_body(algorithm, key, content))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"hmac": expected, "algorithm": algorithm}


def _rfc2104(algorithm: str, key: bytes, message: bytes) -> bytes:
    """HMAC written out from RFC 2104 over hashlib, to check the SHA-3 rows independently."""
    block = hashlib.new(algorithm).block_size
    if len(key) > block:
        key = hashlib.new(algorithm, key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.new(algorithm, bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.new(algorithm, bytes(b ^ 0x5C for b in key) + inner).digest()


@pytest.mark.parametrize(
    "algorithm", ["sha3_224", "sha3_256", "sha3_384", "sha3_512", "sha512_256"]
)
@pytest.mark.parametrize("key_size", [20, 200], ids=["short-key", "key-over-block"])
async def test_hmac_sha3_matches_rfc2104(
    client: httpx.AsyncClient, algorithm: str, key_size: int
) -> None:
    key = bytes(i % 251 for i in range(key_size))
    message = b"Sample message for keylen<blocklen"
    body = {
        "algorithm": algorithm,
        "key": key.hex(),
        "keyEncoding": "hex",
        "content": base64.b64encode(message).decode(),
        "inputEncoding": "base64",
    }
    response = await _post(client, "/api/v1/crypto/hmac", body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["hmac"] == _rfc2104(algorithm, key, message).hex()


SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
ABC_STD = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
ABC_URL = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("utf8", "abc"),
        ("hex", "616263"),
        ("hex", "616263".upper()),
        ("base64", "YWJj"),
        ("base64url", "YWJj"),
        ("base64url", "_w"),
    ],
    ids=["utf8", "hex", "hex-upper", "base64", "base64url", "base64url-unpadded-binary"],
)
async def test_input_encodings(client: httpx.AsyncClient, encoding: str, content: str) -> None:
    response = await _post(
        client,
        "/api/v1/crypto/hash",
        {"content": content, "algorithm": "sha256", "inputEncoding": encoding},
    )
    assert response.status_code == 200, response.text
    raw = b"\xff" if content == "_w" else b"abc"
    assert response.json()["data"]["hash"] == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize(
    ("output", "expected"),
    [("hex", SHA256_ABC), ("base64", ABC_STD), ("base64url", ABC_URL)],
)
async def test_output_formats(client: httpx.AsyncClient, output: str, expected: str) -> None:
    for path, extra, field in (
        ("/api/v1/crypto/hash", {}, "hash"),
        ("/api/v1/crypto/hmac", {"key": "key"}, "hmac"),
    ):
        body = {"content": "abc", "algorithm": "sha256", "outputFormat": output, **extra}
        response = await _post(client, path, body)
        assert response.status_code == 200, response.text
        if field == "hash":
            assert response.json()["data"][field] == expected
        else:
            digest = bytes.fromhex(
                "9c196e32dc0175f86f4b1cb89289d6619de6bee699e4c378e68309ed97a1a6ab"
            )
            assert _decode(response.json()["data"][field], output) == digest


def _decode(text: str, output: str) -> bytes:
    if output == "hex":
        return bytes.fromhex(text)
    if output == "base64":
        return base64.b64decode(text, validate=True)
    assert "=" not in text
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"inputEncoding": "hex", "content": "abc"}, "content", "invalid hex: odd length"),
        (
            {"inputEncoding": "hex", "content": "zz"},
            "content",
            "invalid hex: illegal character at offset 0",
        ),
        (
            {"inputEncoding": "base64", "content": "YWJ"},
            "content",
            "invalid base64: illegal base64 data at input byte 0",
        ),
        (
            {"inputEncoding": "base64", "content": "_w=="},
            "content",
            "invalid base64: illegal base64 data at input byte 0",
        ),
        (
            {"inputEncoding": "base64url", "content": "/w"},
            "content",
            "invalid base64url: illegal base64 data at input byte 0",
        ),
        (
            {"algorithm": "blake2b", "key": "0g", "keyEncoding": "hex"},
            "key",
            "invalid hex: illegal character at offset 1",
        ),
    ],
    ids=["odd-hex", "bad-hex", "short-base64", "url-char-in-base64", "std-char-in-url", "bad-key"],
)
async def test_undecodable_fields_are_named(
    client: httpx.AsyncClient, body: dict[str, Any], field: str, detail: str
) -> None:
    request = {"content": "", "algorithm": "sha256", **body}
    response = await _post(client, "/api/v1/crypto/hash", request)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Invalid request format",
        "details": f"{field}: {detail}",
    }


async def test_hmac_undecodable_key_is_named(client: httpx.AsyncClient) -> None:
    body = {"content": "x", "key": "abc", "keyEncoding": "hex", "algorithm": "sha256"}
    response = await _post(client, "/api/v1/crypto/hmac", body)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == "key: invalid hex: odd length"
    assert "abc" not in response.text.replace('"abc"', "")  # the key is not echoed


@pytest.mark.parametrize(
    ("body", "detail_part"),
    [
        ({"algorithm": "sha256", "length": 8}, "length: applies only to"),
        ({"algorithm": "shake_128", "length": 0}, "length"),
        ({"algorithm": "shake_128", "length": 1025}, "length"),
        ({"algorithm": "sha256", "digestSize": 8}, "digestSize: applies only to"),
        ({"algorithm": "blake2s", "digestSize": 33}, "digestSize: blake2s allows 1 to 32"),
        ({"algorithm": "blake2b", "digestSize": 65}, "digestSize"),
        ({"algorithm": "sha256", "key": "k"}, "key: a key applies only to"),
        ({"algorithm": "blake2s", "key": "k" * 33}, "key: blake2s keys are at most 32"),
        ({"algorithm": "blake3", "key": "short"}, "key: blake3 keys are exactly 32"),
        ({"algorithm": "sha256", "inputEncoding": "base32"}, "inputEncoding"),
        ({"algorithm": "sha256", "outputFormat": "HEX"}, "outputFormat"),
    ],
    ids=[
        "length-on-fixed",
        "length-zero",
        "length-over-cap",
        "digest-size-on-sha",
        "blake2s-digest-size",
        "blake2b-digest-size",
        "key-on-unkeyed",
        "blake2s-long-key",
        "blake3-short-key",
        "unknown-input-encoding",
        "output-format-case",
    ],
)
async def test_option_errors(
    client: httpx.AsyncClient, body: dict[str, Any], detail_part: str
) -> None:
    response = await _post(client, "/api/v1/crypto/hash", {"content": "x", **body})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert detail_part in error["details"]


async def test_blake2_digest_size_and_blake3_length(client: httpx.AsyncClient) -> None:
    response = await _post(
        client, "/api/v1/crypto/hash", {"content": "abc", "algorithm": "blake2b", "digestSize": 32}
    )
    # BLAKE2b-256 is its own function (the size is in the parameter block), not a truncation.
    assert response.json()["data"]["hash"] == (
        "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"
    )
    response = await _post(
        client, "/api/v1/crypto/hmac", {"content": "x", "key": "k" * 65, "algorithm": "blake2b"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == "key: blake2b keys are at most 64 bytes"


@pytest.mark.parametrize(
    ("expected", "valid"),
    [
        (SHA256_ABC, True),
        (SHA256_ABC.upper(), True),
        (f"  {SHA256_ABC}\n", True),
        (ABC_STD, True),
        (ABC_STD.rstrip("="), True),
        (ABC_URL, True),
        (ABC_URL + "=", True),
        (SHA256_ABC[:-1] + "e", False),
        (SHA256_ABC[:32], False),
        ("not a digest", False),
        ("é", False),
    ],
    ids=[
        "hex",
        "hex-upper",
        "whitespace",
        "base64",
        "base64-unpadded",
        "base64url",
        "base64url-padded",
        "one-nibble-off",
        "truncated",
        "garbage",
        "non-ascii",
    ],
)
async def test_hash_verify(client: httpx.AsyncClient, expected: str, valid: bool) -> None:
    body = {"content": "abc", "algorithm": "sha256", "expected": expected}
    response = await _post(client, "/api/v1/crypto/hash/verify", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": {"valid": valid, "algorithm": "sha256"}}


# One-byte digests whose unpadded base64 is two hex digits: "7A" is base64 of 0xec but hex of 0x7a.
# (algorithm, content, options, digest by hashlib / blake3, its hex as printed once)
ONE_BYTE_DIGESTS: list[tuple[str, str, dict[str, Any], bytes, str]] = [
    ("blake2b", "m6", {"digestSize": 1}, hashlib.blake2b(b"m6", digest_size=1).digest(), "ec"),
    ("blake2s", "m3", {"digestSize": 1}, hashlib.blake2s(b"m3", digest_size=1).digest(), "e0"),
    ("shake_128", "m9", {"length": 1}, hashlib.shake_128(b"m9").digest(1), "e0"),
    ("shake_256", "m6", {"length": 1}, hashlib.shake_256(b"m6").digest(1), "e8"),
    ("blake3", "m0", {"length": 1}, blake3.blake3(b"m0").digest(length=1), "d4"),
]


@pytest.mark.parametrize(
    ("algorithm", "content", "options", "digest", "digest_hex"),
    ONE_BYTE_DIGESTS,
    ids=[row[0] for row in ONE_BYTE_DIGESTS],
)
async def test_hash_verify_reads_hex_shaped_text_as_hex_only(
    client: httpx.AsyncClient,
    algorithm: str,
    content: str,
    options: dict[str, Any],
    digest: bytes,
    digest_hex: str,
) -> None:
    assert digest.hex() == digest_hex
    unpadded = base64.b64encode(digest).decode().rstrip("=")
    # the ambiguous spelling: two hex digits that stand for another byte
    assert len(unpadded) == 2
    assert bytes.fromhex(unpadded) != digest
    body = {"content": content, "algorithm": algorithm, **options}
    answers = {}
    for expected in (
        unpadded,
        unpadded.lower(),
        digest.hex(),
        digest.hex().upper(),
        unpadded + "==",
    ):
        response = await _post(client, "/api/v1/crypto/hash/verify", {**body, "expected": expected})
        assert response.status_code == 200, response.text
        answers[expected] = response.json()["data"]["valid"]
    assert answers == {
        unpadded: False,  # hex of another byte, though it is also this digest's unpadded base64
        unpadded.lower(): False,
        digest.hex(): True,
        digest.hex().upper(): True,
        unpadded + "==": True,  # padded base64 is not hex, so still read as base64
    }


async def test_hash_verify_takes_the_hash_options(client: httpx.AsyncClient) -> None:
    body = {
        "content": "313233343536373839",
        "inputEncoding": "hex",
        "algorithm": "crc32c",
        "expected": "E3069283",
    }
    response = await _post(client, "/api/v1/crypto/hash/verify", body)
    assert response.json()["data"]["valid"] is True
    response = await _post(client, "/api/v1/crypto/hash/verify", {**body, "expected": ""})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("algorithm", "key", "content", "expected"),
    [row[1:] for row in HMAC_VECTORS],
    ids=[row[0] for row in HMAC_VECTORS],
)
async def test_hmac_verify(
    client: httpx.AsyncClient, algorithm: str, key: str, content: str, expected: str
) -> None:
    body = _hmac_body(algorithm, key, content)
    good = base64.b64encode(bytes.fromhex(expected)).decode()
    response = await _post(client, "/api/v1/crypto/hmac/verify", {**body, "expected": good})
    assert response.json()["data"] == {"valid": True, "algorithm": algorithm}
    bad = expected[:-2] + ("00" if not expected.endswith("00") else "01")
    response = await _post(client, "/api/v1/crypto/hmac/verify", {**body, "expected": bad})
    assert response.json()["data"] == {"valid": False, "algorithm": algorithm}


def test_large_inputs_leave_the_event_loop(registry: Registry, settings: Settings) -> None:
    spec = registry.get("crypto_hash")
    assert spec is not None
    assert spec.estimate is not None
    small = HashInput(content="x" * 1024, algorithm="sha256")
    large = HashInput(content="x" * 1024 * 1024, algorithm="sha256")
    assert spec.estimate(small) <= settings.inline_max_work < spec.estimate(large)


async def test_a_mebibyte_is_hashed_in_the_pool(client: httpx.AsyncClient) -> None:
    content = "ab" * 300_000
    response = await _post(
        client,
        "/api/v1/crypto/hash",
        {"content": content, "algorithm": "blake3", "inputEncoding": "hex"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["hash"] == blake3.blake3(bytes.fromhex(content)).hexdigest()
