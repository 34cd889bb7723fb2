"""crypto/keypair and crypto/cert/selfsigned: JWK encoding against the RFCs' own keys, generated
keys that are what they claim, and self-signed certificates checked by cryptography and openssl-
independent decoding."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devutils.registry import Registry
from devutils.tools import keygen
from devutils.tools._jwk import private_jwk, public_jwk, thumbprint

KEYPAIR = "/api/v1/crypto/keypair"
SELFSIGNED = "/api/v1/crypto/cert/selfsigned"
DECODE = "/api/v1/crypto/cert/decode"
CHAIN = Path(__file__).resolve().parent.parent / "fixtures" / "chain"
LEAF_KEY = (CHAIN / "leaf.key").read_text()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- JWK known answers -------------------------------------------------------------------------
# RFC 7638 §3.1 (the RFC 7517 appendix A.1 key).
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
    "bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
    "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM"
    "4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
# RFC 8037 appendix A.1 (Ed25519) and A.6 (X25519, the RFC 7748 §6.1 key).
ED25519_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
ED25519_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
X25519_D = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo"
X25519_X = "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"
# RFC 7515 appendix A.3 (ES256 key).
P256_D = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
P256_X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
P256_Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"


@pytest.mark.parametrize(
    ("jwk", "expected"),
    [
        (
            {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"},
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        ),
        (
            {"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "d": ED25519_D},
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        ),
    ],
    ids=["rfc7638-rsa", "rfc8037-ed25519"],
)
def test_thumbprint_known_answers(jwk: dict[str, str], expected: str) -> None:
    assert thumbprint(jwk) == expected


def test_ed25519_jwk_rfc8037() -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(unb64(ED25519_D))
    assert private_jwk(key) == {"kty": "OKP", "crv": "Ed25519", "x": ED25519_X, "d": ED25519_D}
    assert public_jwk(key) == {"kty": "OKP", "crv": "Ed25519", "x": ED25519_X}


def test_x25519_jwk_rfc8037() -> None:
    key = x25519.X25519PrivateKey.from_private_bytes(unb64(X25519_D))
    assert private_jwk(key) == {"kty": "OKP", "crv": "X25519", "x": X25519_X, "d": X25519_D}


def test_p256_jwk_rfc7515() -> None:
    key = ec.derive_private_key(int.from_bytes(unb64(P256_D), "big"), ec.SECP256R1())
    assert private_jwk(key) == {
        "kty": "EC",
        "crv": "P-256",
        "x": P256_X,
        "y": P256_Y,
        "d": P256_D,
    }


def test_ec_members_have_the_curve_size_even_with_leading_zeros() -> None:
    # P-521 coordinates are 66 octets; one key in 256 has a leading zero byte in d, x or y.
    key = ec.derive_private_key(1, ec.SECP521R1())  # d = 1: 65 leading zero octets
    jwk = private_jwk(key)
    assert [len(unb64(jwk[member])) for member in ("x", "y", "d")] == [66, 66, 66]
    assert unb64(jwk["d"]) == b"\x00" * 65 + b"\x01"


def test_rsa_members_are_minimal() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = private_jwk(key)
    assert jwk["e"] == "AQAB"
    assert len(unb64(jwk["n"])) == 256
    assert set(jwk) == {"kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"}
    numbers = key.private_numbers()
    assert int.from_bytes(unb64(jwk["qi"]), "big") == numbers.iqmp
    assert unb64(jwk["p"])[0] != 0


# --- crypto/keypair ----------------------------------------------------------------------------
def public_from_jwk(jwk: dict[str, str]) -> Any:
    if jwk["kty"] == "RSA":
        return rsa.RSAPublicNumbers(
            int.from_bytes(unb64(jwk["e"]), "big"), int.from_bytes(unb64(jwk["n"]), "big")
        ).public_key()
    if jwk["kty"] == "EC":
        curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(unb64(jwk["x"]), "big"),
            int.from_bytes(unb64(jwk["y"]), "big"),
            curve[jwk["crv"]],
        ).public_key()
    kind = ed25519.Ed25519PublicKey if jwk["crv"] == "Ed25519" else x25519.X25519PublicKey
    return kind.from_public_bytes(unb64(jwk["x"]))


def spki(key: Any) -> bytes:
    data: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


@pytest.mark.parametrize(
    ("body", "label", "kind", "size"),
    [
        ({"algorithm": "RSA-2048"}, "RSA-2048", rsa.RSAPrivateKey, 2048),
        ({"algorithm": "RSA-3072"}, "RSA-3072", rsa.RSAPrivateKey, 3072),
        ({}, "EC-P256", ec.EllipticCurvePrivateKey, 256),
        ({"algorithm": "EC-P384"}, "EC-P384", ec.EllipticCurvePrivateKey, 384),
        ({"algorithm": "EC-P521"}, "EC-P521", ec.EllipticCurvePrivateKey, 521),
        ({"algorithm": "Ed25519"}, "Ed25519", ed25519.Ed25519PrivateKey, None),
        ({"algorithm": "X25519"}, "X25519", x25519.X25519PrivateKey, None),
    ],
    ids=["rsa-2048", "rsa-3072", "ec-default", "ec-p384", "ec-p521", "ed25519", "x25519"],
)
async def test_keypair(
    client: httpx.AsyncClient, body: dict[str, Any], label: str, kind: type, size: int | None
) -> None:
    response = await client.post(KEYPAIR, json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["algorithm"] == label
    private = serialization.load_pem_private_key(data["privateKeyPem"].encode(), None)
    assert isinstance(private, kind)
    if size is not None:
        assert private.key_size == size  # type: ignore[union-attr]
    assert data["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----\n")
    public = serialization.load_pem_public_key(data["publicKeyPem"].encode())
    assert spki(public) == spki(private.public_key())
    assert spki(public_from_jwk(data["publicJwk"])) == spki(public)
    assert data["privateJwk"] == private_jwk(private)  # type: ignore[arg-type]
    assert {k: v for k, v in data["privateJwk"].items() if k in data["publicJwk"]} == data[
        "publicJwk"
    ]
    assert data["thumbprint"] == thumbprint(data["publicJwk"])


async def test_every_key_is_fresh(client: httpx.AsyncClient) -> None:
    first, second = [
        (await client.post(KEYPAIR, json={"algorithm": "Ed25519"})).json()["data"] for _ in range(2)
    ]
    assert first["privateKeyPem"] != second["privateKeyPem"]


@pytest.mark.parametrize(
    "body",
    [
        {"algorithm": "RSA-1024"},
        {"algorithm": "RSA-8192"},
        {"algorithm": "RSA"},
        {"algorithm": "DSA"},
        {"algorithm": "secp256k1"},
        {"algorithm": 2048},
        {"algorithm": "EC-P256", "bits": 256},
    ],
    ids=["rsa-1024", "rsa-8192", "rsa-no-size", "dsa", "secp256k1", "number", "unknown-field"],
)
async def test_keypair_bad_requests(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post(KEYPAIR, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


# --- crypto/cert/selfsigned --------------------------------------------------------------------
async def decoded(client: httpx.AsyncClient, pem: str) -> dict[str, Any]:
    """The certificate as crypto/cert/decode reads it."""
    response = await client.post(DECODE, json={"certificate": pem})
    assert response.status_code == 200, response.text
    info: dict[str, Any] = response.json()["data"]["certificate"]
    return info


async def selfsigned(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(SELFSIGNED, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_selfsigned_with_a_generated_key(client: httpx.AsyncClient) -> None:
    sans = ["Dev.Example.com", "127.0.0.1", "::1", "ops@example.com", "https://dev.example.com/"]
    data = await selfsigned(client, subject="CN=dev.example.com,O=Example,C=DE", sans=sans)
    cert = x509.load_pem_x509_certificate(data["certificatePem"].encode())
    key = serialization.load_pem_private_key(data["privateKeyPem"].encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert spki(cert.public_key()) == spki(key.public_key())
    cert.verify_directly_issued_by(cert)  # self-signed, and the signature verifies
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["dev.example.com"]
    assert names.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert names.get_values_for_type(x509.RFC822Name) == ["ops@example.com"]
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == ["https://dev.example.com/"]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.serial_number.bit_length() == 159
    # The test app's clock is 2023-12-25T15:30:45Z; 365 days later is 2024-12-24 (a leap year).
    info = await decoded(client, data["certificatePem"])
    assert (info["notBefore"], info["notAfter"], info["daysLeft"]) == (
        "2023-12-25T15:30:45Z",
        "2024-12-24T15:30:45Z",
        365,
    )
    assert info["signatureAlgorithm"] == "ECDSA-SHA256"
    assert {key: data[key] for key in ("serialNumber", "notBefore", "notAfter")} == {
        key: info[key] for key in ("serialNumber", "notBefore", "notAfter")
    }
    assert data["sha256Fingerprint"] == info["sha256Fingerprint"]


@pytest.mark.parametrize(
    ("body", "signature", "key_type"),
    [
        ({"algorithm": "Ed25519"}, "Ed25519", ed25519.Ed25519PublicKey),
        ({"algorithm": "EC-P384"}, "ECDSA-SHA384", ec.EllipticCurvePublicKey),
        ({"algorithm": "EC-P521"}, "ECDSA-SHA512", ec.EllipticCurvePublicKey),
        ({"algorithm": "RSA-2048"}, "SHA256-RSA", rsa.RSAPublicKey),
    ],
    ids=["ed25519", "p384", "p521", "rsa"],
)
async def test_selfsigned_key_types(
    client: httpx.AsyncClient, body: dict[str, Any], signature: str, key_type: type
) -> None:
    data = await selfsigned(client, subject="plain common name", days=30, **body)
    cert = x509.load_pem_x509_certificate(data["certificatePem"].encode())
    assert isinstance(cert.public_key(), key_type)
    cert.verify_directly_issued_by(cert)
    info = await decoded(client, data["certificatePem"])
    assert info["signatureAlgorithm"] == signature
    assert info["subject"] == "CN=plain common name"
    assert "dnsNames" not in info
    assert data["privateKeyPem"].startswith("-----BEGIN PRIVATE KEY-----\n")


async def test_selfsigned_with_a_given_key(client: httpx.AsyncClient) -> None:
    data = await selfsigned(client, subject="CN=ca.example", privateKey=LEAF_KEY, isCA=True)
    assert "privateKeyPem" not in data
    cert = x509.load_pem_x509_certificate(data["certificatePem"].encode())
    given = serialization.load_pem_private_key(LEAF_KEY.encode(), None)
    assert spki(cert.public_key()) == spki(given.public_key())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert (await decoded(client, data["certificatePem"]))["keyUsage"] == [
        "Digital Signature",
        "Certificate Sign",
        "CRL Sign",
    ]
    matches = await client.post(
        DECODE, json={"certificate": data["certificatePem"], "privateKey": LEAF_KEY}
    )
    assert matches.json()["data"]["keyMatches"] is True


def x25519_pem() -> str:
    return (
        x25519.X25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (
            {"privateKey": x25519_pem()},
            "privateKey: this key type cannot sign",
        ),
        (
            {"privateKey": LEAF_KEY, "algorithm": "EC-P256"},
            "algorithm applies to a generated key only",
        ),
        ({"sans": ["has space.example"]}, "a DNS name SAN cannot contain spaces"),
        (
            {"sans": ["bücher.example"]},
            "each SAN must be 1-1024 printable ASCII characters (xn-- form)",
        ),
        ({"privateKey": "not a key"}, "privateKey: neither PEM nor base64 DER"),
    ],
    ids=["x25519-key", "key-and-algorithm", "san-space", "san-unicode", "junk-key"],
)
async def test_selfsigned_refusals(
    client: httpx.AsyncClient, body: dict[str, Any], details: str
) -> None:
    response = await client.post(SELFSIGNED, json={"subject": "CN=x", **body})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Certificate creation failed",
        "details": details,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"subject": "CN=x,C=Germany"},
        {"subject": "CN=x,NOPE=y"},
        {"subject": "CN=x", "days": 0},
        {"subject": "CN=x", "days": 3651},
        {"subject": "CN=x", "sans": ["a.example"] * 101},
        {"subject": ""},
        {"subject": "CN=x", "algorithm": "X25519"},
    ],
    ids=[
        "bad-country",
        "unknown-attribute",
        "zero-days",
        "too-many-days",
        "too-many-sans",
        "empty",
        "x25519",
    ],
)
async def test_selfsigned_bad_requests(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post(SELFSIGNED, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("subject", ["CN=x,NOPE=y", "emailAddress=a@b.example", "CN=a,=b"])
async def test_selfsigned_names_the_subject_form(client: httpx.AsyncClient, subject: str) -> None:
    response = await client.post(SELFSIGNED, json={"subject": subject})
    assert response.status_code == 400, response.text
    details = response.json()["error"]["details"]
    assert details.startswith("invalid subject: expected RFC 4514 text such as CN=")
    assert "CN, O, OU, L, ST, C, STREET, DC, UID" in details


@pytest.mark.parametrize(
    ("algorithm", "pooled"),
    [("RSA-2048", True), ("RSA-4096", True), ("EC-P521", False), ("Ed25519", False)],
)
def test_rsa_generation_leaves_the_event_loop(
    registry: Registry, algorithm: str, pooled: bool
) -> None:
    limit = registry.context.settings.inline_max_work
    keypair = keygen.KeypairInput(algorithm=algorithm)  # type: ignore[arg-type]
    assert (keygen._keypair_work(keypair) > limit) is pooled
    given = keygen.SelfSignedInput(subject="CN=x", private_key=LEAF_KEY)
    assert keygen._selfsigned_work(given) > limit  # loading (validating) a key
    generated = keygen.SelfSignedInput(subject="CN=x", algorithm=algorithm)  # type: ignore[arg-type]
    assert (keygen._selfsigned_work(generated) > limit) is pooled
