"""crypto/hash and crypto/hmac: FIPS 180 and RFC 4231 known answers, and the error paths."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.registry import Registry

ABC_448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
ABC_896 = (
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
    "lmnopqrsmnopqrstnopqrstu"
)
NUL_10000 = "\x00" * 10_000
A_MILLION = "a" * 1_000_000

# FIPS 180 examples (and RFC 1321 for MD5); the NUL and non-ASCII rows were checked with coreutils.
HASH_VECTORS = [
    ("md5", "", "d41d8cd98f00b204e9800998ecf8427e"),
    ("md5", "abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("md5", ABC_448, "8215ef0796a20bcaaae116d3876c664a"),
    ("md5", NUL_10000, "b85d6fb9ef4260dcf1ce0a1b0bff80d3"),
    ("md5", A_MILLION, "7707d6ae4e027c70eea2a935c2296f21"),
    ("sha1", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("sha1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("sha1", ABC_448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ("sha1", NUL_10000, "f907b7bf318b79fd6b9da589646f8b1dac77d0c8"),
    ("sha1", A_MILLION, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
    ("sha256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("sha256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("sha256", ABC_448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ("sha256", ABC_896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ("sha256", NUL_10000, "95b532cc4381affdff0d956e12520a04129ed49d37e154228368fe5621f0b9a2"),
    ("sha256", A_MILLION, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    (
        "sha256",
        "Grüße, 世界",
        "49837434716aa6f6917104cbba82bd5b8e82a970ddc5bfef7bcc45e3d6ea60b6",
    ),
    (
        "sha512",
        "",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    ),
    (
        "sha512",
        "abc",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
    (
        "sha512",
        ABC_448,
        "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
        "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445",
    ),
    (
        "sha512",
        ABC_896,
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
        "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
    (
        "sha512",
        NUL_10000,
        "3a78d48b669178347daa903538ba25f60818e8f96e9efa5aafef09230fb30532"
        "2f7368ace800c124f6dc0e76b51e2b5233e5001d4f13654706a1cf02febf246e",
    ),
    (
        "sha512",
        A_MILLION,
        "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
        "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b",
    ),
]
HASH_IDS = [
    f"{alg}-{name}"
    for alg, names in (
        ("md5", ["empty", "abc", "448bit", "10000-nul", "million-a"]),
        ("sha1", ["empty", "abc", "448bit", "10000-nul", "million-a"]),
        ("sha256", ["empty", "abc", "448bit", "896bit", "10000-nul", "million-a", "utf8"]),
        ("sha512", ["empty", "abc", "448bit", "896bit", "10000-nul", "million-a"]),
    )
    for name in names
]


@pytest.mark.parametrize(("algorithm", "content", "expected"), HASH_VECTORS, ids=HASH_IDS)
async def test_hash_known_answers(
    client: httpx.AsyncClient, algorithm: str, content: str, expected: str
) -> None:
    response = await client.post(
        "/api/v1/crypto/hash", json={"content": content, "algorithm": algorithm}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "data": {"hash": expected, "algorithm": algorithm}}


# RFC 4231 section 4.  Cases 3, 4, 6 and 7 are left out: their key or data holds bytes >= 0x80
# that are not UTF-8 text, and the tool takes text.  Case 5's MAC is truncated to 128 bits.
HMAC_VECTORS = [
    (
        "sha256",
        "\x0b" * 20,
        "Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        "sha512",
        "\x0b" * 20,
        "Hi There",
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    ),
    (
        "sha256",
        "Jefe",
        "what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        "sha512",
        "Jefe",
        "what do ya want for nothing?",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    ),
    ("sha256", "\x0c" * 20, "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    ("sha512", "\x0c" * 20, "Test With Truncation", "415fad6271580a531d4179bc891d87a6"),
    # Not from the RFC: a non-ASCII key and message are used as UTF-8 (checked with openssl).
    (
        "sha256",
        "ключ",
        "Grüße, 世界",
        "4751126b6ca865521fb1f6d669e1246a24a35ed8ea0a2cbbcacdc3d85cde104f",
    ),
]
HMAC_IDS = [
    "rfc4231-1-sha256",
    "rfc4231-1-sha512",
    "rfc4231-2-sha256",
    "rfc4231-2-sha512",
    "rfc4231-5-sha256-truncated",
    "rfc4231-5-sha512-truncated",
    "utf8-key-and-message",
]


@pytest.mark.parametrize(("algorithm", "key", "content", "expected"), HMAC_VECTORS, ids=HMAC_IDS)
async def test_hmac_known_answers(
    client: httpx.AsyncClient, algorithm: str, key: str, content: str, expected: str
) -> None:
    response = await client.post(
        "/api/v1/crypto/hmac", json={"content": content, "key": key, "algorithm": algorithm}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["algorithm"] == algorithm
    assert len(data["hmac"]) == {"sha256": 64, "sha512": 128}[algorithm]
    assert data["hmac"].startswith(expected)


async def test_missing_or_null_content_is_refused(client: httpx.AsyncClient) -> None:
    # The reference hashed "" here: a misspelled field gave the digest of nothing.
    for path, body in (
        ("/api/v1/crypto/hash", {"algorithm": "sha1"}),
        ("/api/v1/crypto/hash", {"algorithm": "sha1", "content": None}),
        ("/api/v1/crypto/hmac", {"key": "k", "algorithm": "sha256"}),
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == 'field "content" is required'
    response = await client.post("/api/v1/crypto/hash", json={"content": "", "algorithm": "sha1"})
    assert response.json()["data"]["hash"] == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


async def test_misspelled_content_names_the_field_meant(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/crypto/hash", json={"text": "hello", "algorithm": "sha256"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": 'unknown field "text"; did you mean "content"?',
        "details": 'field "content" is required; allowed fields: content, algorithm, '
        "inputEncoding, length, digestSize, key, keyEncoding, outputFormat",
    }


@pytest.mark.parametrize(
    ("path", "body", "detail_part"),
    [
        ("/api/v1/crypto/hash", {"content": "x"}, "algorithm"),
        ("/api/v1/crypto/hash", {"content": "x", "algorithm": "sha3"}, "algorithm"),
        ("/api/v1/crypto/hash", {"content": "x", "algorithm": "SHA256"}, "algorithm"),
        ("/api/v1/crypto/hash", {"content": 5, "algorithm": "md5"}, "content"),
        ("/api/v1/crypto/hash", {"content": ["a"], "algorithm": "md5"}, "content"),
        ("/api/v1/crypto/hmac", {"content": "x", "algorithm": "sha256"}, "key"),
        ("/api/v1/crypto/hmac", {"content": "x", "key": "", "algorithm": "sha256"}, "key"),
        ("/api/v1/crypto/hmac", {"content": "x", "key": "k", "algorithm": "crc32"}, "algorithm"),
        (
            "/api/v1/crypto/hmac",
            {"content": "x", "key": "k", "algorithm": "shake_128"},
            "algorithm",
        ),
        ("/api/v1/crypto/hmac", {"content": "x", "key": "k"}, "algorithm"),
        ("/api/v1/crypto/hmac", {"content": "x", "key": 1, "algorithm": "sha256"}, "key"),
    ],
    ids=[
        "hash-missing-algorithm",
        "hash-unknown-algorithm",
        "hash-algorithm-case",
        "hash-number-content",
        "hash-array-content",
        "hmac-missing-key",
        "hmac-empty-key",
        "hmac-checksum",
        "hmac-xof",
        "hmac-missing-algorithm",
        "hmac-number-key",
    ],
)
async def test_bad_requests_are_validation_errors(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], detail_part: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    missing = detail_part not in body
    message = f'field "{detail_part}" is required' if missing else "Invalid request format"
    assert error["message"] == message
    assert detail_part in error["details"]


async def test_lone_surrogate_content_is_a_validation_error(client: httpx.AsyncClient) -> None:
    # JSON may carry an escaped lone surrogate; its UTF-8 bytes do not exist.
    response = await client.post(
        "/api/v1/crypto/hash",
        content=b'{"content": "a\\udc80b", "algorithm": "sha256"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_hash_and_hmac_are_crypto_class_and_pure(registry: Registry) -> None:
    # Input-proportional: large inputs are hashed in the cpu pool, off the event loop.
    for name in ("crypto_hash", "crypto_hash_verify", "crypto_hmac", "crypto_hmac_verify"):
        spec = registry.get(name)
        assert spec is not None
        assert spec.rate_class == "crypto"
        assert (spec.read_only, spec.idempotent, spec.blocking, spec.open_world) == (
            True,
            True,
            "large",
            False,
        )
        assert spec.cost_class == "cpu"
