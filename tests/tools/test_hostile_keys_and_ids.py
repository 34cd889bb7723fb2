"""Keys, tokens and identifiers as an attacker or a careless client sends them: each case was a
500, a stalled event loop or a wrong answer found in review."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devutils.registry import Registry
from tests.support import refused_by, run_tool

SECRET = "a-test-secret-" + "0123456789abcdef" * 4


run, refused = run_tool, refused_by


def off_loop(registry: Registry, tool: str, /, **args: Any) -> bool:
    spec = registry.get(tool)
    assert spec is not None
    assert spec.estimate is not None
    parsed = spec.input_model.model_validate(args)
    return spec.estimate(parsed) > registry.context.settings.inline_max_work


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.fixture(scope="module")
def rsa_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_private_rsa_key_verifies_through_its_public_half(
    registry: Registry, rsa_key: rsa.RSAPrivateKey, rsa_pem: str
) -> None:
    private_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key)
    for algorithm, key in (("RS256", rsa_pem), ("PS256", private_jwk), ("RS512", private_jwk)):
        token = jwt.encode({"a": 1}, rsa_key, algorithm)
        result = run(registry, "transform_jwt_verify", token=token, key=key, algorithms=[algorithm])
        assert (result["valid"], result["claims"]) == (True, {"a": 1}), algorithm


@pytest.mark.parametrize(
    ("jwk", "details"),
    [
        ('{"kty":"oct"}', "the JWK could not be read: missing member 'k'"),
        ('{"kty":"oct","k":"AAAA","alg":["HS256"]}', "the JWK could not be read: "),
    ],
    ids=["no-k", "alg-list"],
)
def test_malformed_jwks_are_a_400(registry: Registry, jwk: str, details: str) -> None:
    token = jwt.encode({"a": 1}, SECRET, "HS256")
    message, got = refused(
        registry, "transform_jwt_verify", token=token, key=jwk, algorithms=["HS256"]
    )
    assert message == "Invalid key"
    assert got.startswith(details)


def test_a_private_rsa_jwk_without_crt_members_is_refused_before_any_work(
    registry: Registry, rsa_key: rsa.RSAPrivateKey
) -> None:
    # n a prime: recovering p and q from (n, e, d) would loop for seconds.
    numbers = rsa_key.private_numbers()
    jwk = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key))
    jwk = {key: jwk[key] for key in ("kty", "n", "e", "d")}
    jwk["n"] = jwt.utils.to_base64url_uint(numbers.p).decode()
    token = jwt.encode({"a": 1}, SECRET, "HS256")
    started = time.monotonic()
    message, details = refused(
        registry,
        "transform_jwt_verify",
        token=token,
        key=orjson.dumps(jwk).decode(),
        algorithms=["HS256"],
    )
    assert (message, details) == (
        "Invalid key",
        "a private RSA JWK needs its CRT members p, q, dp, dq and qi",
    )
    assert time.monotonic() - started < 5  # refused, not recovered (that took 8-16 s)


def test_private_keys_load_off_the_event_loop_whatever_the_algorithm(
    registry: Registry, rsa_key: rsa.RSAPrivateKey, rsa_pem: str
) -> None:
    hidden = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key).replace('"d"', '"\\u0064"')
    token = "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"
    assert off_loop(
        registry, "transform_jwt_verify", token=token, key=rsa_pem, algorithms=["ES256"]
    )
    assert off_loop(registry, "transform_jwt_verify", token=token, key=hidden, algorithms=["HS256"])
    assert off_loop(registry, "transform_jwt_sign", claims={}, key=rsa_pem, algorithm="HS256")
    # A secret, or a public or symmetric JWK, stays on the loop.
    assert not off_loop(
        registry, "transform_jwt_verify", token=token, key=SECRET, algorithms=["HS256"]
    )
    assert not off_loop(
        registry,
        "transform_jwt_verify",
        token=token,
        key='{"kty":"oct","k":"AAAA"}',
        algorithms=["HS256"],
    )


def test_claims_that_are_not_json_are_named_as_such(registry: Registry) -> None:
    token = jwt.encode({"exp": float("nan")}, SECRET, "HS256")
    result = run(registry, "transform_jwt_verify", token=token, key=SECRET, algorithms=["HS256"])
    assert (result["valid"], result["reason"]) == (False, "malformed")
    assert "JSON" in result["message"]
    assert "nested" not in result["message"]


@pytest.mark.parametrize("header", [{"b64": False}, {"crit": ["exp"]}])
def test_headers_that_change_the_token_format_are_refused(
    registry: Registry, header: dict[str, Any]
) -> None:
    assert refused(
        registry,
        "transform_jwt_sign",
        claims={"a": 1},
        key=SECRET,
        algorithm="HS256",
        header=header,
    ) == ("Invalid header", "b64 and crit are not supported")


def test_an_email_san_that_is_not_an_address_is_a_400(registry: Registry) -> None:
    for san in ("a@", "a@b@c"):
        assert refused(
            registry, "crypto_cert_selfsigned", subject="x", sans=[san], algorithm="Ed25519"
        ) == ("Certificate creation failed", "an e-mail SAN must be local@domain")


@pytest.mark.parametrize(
    "text",
    [
        "+0000000000000000000000000000001",
        "0_00000000000000000000000000000a",
        "\u0661" * 32,  # Arabic-Indic digits: int() takes them
        "urn:uuid:urn:uuid:12345678123456781234567812345678",
        "{{12345678-1234-5678-1234-567812345678}}",
        "1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0-1-2",
        "12345678-1234-5678-1234567812345678",
    ],
)
def test_only_the_written_forms_of_a_uuid_are_accepted(registry: Registry, text: str) -> None:
    assert refused(registry, "id_inspect", id=text)[0] == "Failed to inspect ID"
    assert (
        refused(registry, "id_uuid", version=5, namespace=text, name="x")[1]
        == "namespace must be dns, url, oid, x500 or a UUID"
    )


@pytest.mark.parametrize(
    "text",
    [
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "6BA7B8109DAD11D180B400C04FD430C8",
        "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
        "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "URN:UUID:6ba7b8109dad11d180b400c04fd430c8",
    ],
)
def test_the_written_forms_of_a_uuid_still_work(registry: Registry, text: str) -> None:
    assert (
        run(registry, "id_inspect", id=text)["canonical"] == "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    )
    # 6ba7b810-... is the DNS namespace: the same name-based UUID as Python's uuid module.
    expected = str(uuid.uuid5(uuid.NAMESPACE_DNS, "x"))
    assert run(registry, "id_uuid", version=5, namespace=text, name="x")["uuids"] == [expected]


def test_a_colon_in_a_totp_label_part_is_refused(registry: Registry) -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    for field in ("issuer", "account"):
        args = {"issuer": "A", "account": "x", field: "A:B"}
        assert refused(registry, "crypto_totp", action="uri", secret=secret, **args) == (
            "Failed to process one-time code",
            f"{field} cannot contain ':'",
        )
