"""crypto/cert/decode beyond one PEM: chains and their order, DER without armour, CSRs, days left,
and whether a private key matches.

Fixtures: tests/fixtures/chain (written once by make_chain.py).  Fingerprints were computed with
``openssl x509 -noout -fingerprint -sha1|-sha256``; ``openssl verify`` accepts the chain.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

CHAIN = Path(__file__).resolve().parent.parent / "fixtures" / "chain"
ROOT, INTER, LEAF, CSR = (
    (CHAIN / f"{name}.pem").read_text() for name in ("root", "intermediate", "leaf", "csr")
)
LEAF_KEY, INTER_KEY, CSR_KEY = (
    (CHAIN / f"{name}.key").read_text() for name in ("leaf", "intermediate", "csr")
)
PATH = "/api/v1/crypto/cert/decode"
CANARY = "CANARY-81b7-secret-key-material"

FINGERPRINTS = {  # (sha1, sha256) from openssl
    "root": (
        "f3efa2e0a3e3835f508a2d02d1be4cf11a00f2d7",
        "7d79917fc04b03232c0cc5f0e97e637479422a7a3af6db56feac59abcc4fd5c0",
    ),
    "intermediate": (
        "dba15ade17795f7eafba6d7d0277b8cebad7f6a5",
        "c7b6e475fa3c15068066e91543162a441b5fd20a2277a5e48388d2175fe2ca44",
    ),
    "leaf": (
        "69f05ea55602c839054fa7b8fa001fd3a62cccbb",
        "7c77157b68a42566a58b39cb4fed0ee278b79c260df12f22b4ed524b61d1ef64",
    ),
}
# notAfter 2045-01-01T00:00:00Z against the test clock 2023-12-25T15:30:45Z, by GNU date.
DAYS_LEFT = 7677


def der_base64(pem: str, wrap: int | None = None) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    text = base64.b64encode(der).decode()
    if wrap is None:
        return text
    return "\n".join(text[i : i + wrap] for i in range(0, len(text), wrap))


async def decode(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(PATH, json=body)


async def data_of(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await decode(client, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["data"]
    return result


# --- chains ------------------------------------------------------------------------------------
async def test_a_chain_reports_every_certificate_in_order(client: httpx.AsyncClient) -> None:
    data = await data_of(client, certificate=LEAF + INTER + ROOT)
    names = ("leaf", "intermediate", "root")
    assert [(c["sha1Fingerprint"], c["sha256Fingerprint"]) for c in data["certificates"]] == [
        FINGERPRINTS[name] for name in names
    ]
    assert [c["subject"] for c in data["certificates"]] == [
        "CN=chain.example.com,O=devutils tests",
        "CN=devutils test intermediate,O=devutils tests",
        "CN=devutils test root,O=devutils tests",
    ]
    assert [c["daysLeft"] for c in data["certificates"]] == [DAYS_LEFT] * 3
    assert data["chainOrderValid"] is True
    first = data["certificates"][0]
    assert data["certificate"] == first
    assert first["dnsNames"] == ["chain.example.com", "www.chain.example.com"]
    assert first["ipAddresses"] == ["127.0.0.2"]


def forged_intermediate() -> str:
    """Same subject as the real intermediate, signed by another key: names chain, signatures don't."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "devutils tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, "devutils test intermediate"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(9)
        .not_valid_before(datetime(2025, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    ("bundle", "valid"),
    [
        (lambda: LEAF + INTER, True),
        (lambda: INTER + ROOT, True),
        (lambda: ROOT + INTER + LEAF, False),
        (lambda: INTER + LEAF, False),
        (lambda: LEAF + ROOT, False),
        (lambda: LEAF + forged_intermediate(), False),
        (lambda: LEAF + LEAF, False),
    ],
    ids=[
        "leaf-intermediate",
        "intermediate-root",
        "reversed",
        "child-after-parent",
        "missing-intermediate",
        "same-name-other-key",
        "duplicate",
    ],
)
async def test_chain_order_check(client: httpx.AsyncClient, bundle: Any, valid: bool) -> None:
    data = await data_of(client, certificate=bundle())
    assert data["chainOrderValid"] is valid


async def test_one_certificate_has_no_order_verdict(client: httpx.AsyncClient) -> None:
    data = await data_of(client, certificate=LEAF)
    assert "chainOrderValid" not in data
    assert len(data["certificates"]) == 1


async def test_other_blocks_in_a_bundle_are_skipped(client: httpx.AsyncClient) -> None:
    data = await data_of(client, certificate="# bundle\n" + LEAF + LEAF_KEY + INTER)
    assert [c["sha1Fingerprint"] for c in data["certificates"]] == [
        FINGERPRINTS["leaf"][0],
        FINGERPRINTS["intermediate"][0],
    ]
    assert data["chainOrderValid"] is True


async def test_certificate_count_is_capped(client: httpx.AsyncClient) -> None:
    response = await decode(client, certificate=INTER * 101)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == "more than 100 certificates"


async def test_an_expired_certificate_has_negative_days_left(client: httpx.AsyncClient) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2022, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2023, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    data = await data_of(client, certificate=pem)
    # 2023-01-01T00:00Z is 358.65 days before the test clock: rounded down, -359.
    assert data["certificates"][0]["daysLeft"] == -359


# --- without armour ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        pytest.param(der_base64(LEAF), id="one-line"),
        pytest.param(der_base64(LEAF, 64), id="pem-body-without-armour"),
        pytest.param("\n  " + der_base64(LEAF, 76).replace("\n", "\r\n") + "\n", id="crlf-blanks"),
    ],
)
async def test_base64_der_without_armour(client: httpx.AsyncClient, text: str) -> None:
    data = await data_of(client, certificate=text)
    assert data["certificates"][0]["sha1Fingerprint"] == FINGERPRINTS["leaf"][0]
    assert data == await data_of(client, certificate=LEAF)


@pytest.mark.parametrize(
    ("text", "details"),
    [
        ("bm90IGRlcg==", "failed to decode PEM block"),  # valid base64 of "not der"
        ("%%%", "failed to decode PEM block"),
        ("MAA=", "failed to parse certificate: "),  # an empty DER SEQUENCE
    ],
    ids=["not-der", "not-base64", "empty-sequence"],
)
async def test_bad_bare_input(client: httpx.AsyncClient, text: str, details: str) -> None:
    response = await decode(client, certificate=text)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Certificate decoding failed"
    assert error["details"].startswith(details)


# --- CSRs --------------------------------------------------------------------------------------
def csr_base64() -> str:
    csr = x509.load_pem_x509_csr(CSR.encode())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()


CSR_INFO = {
    "subject": "CN=csr.example.com,O=devutils tests",
    "dnsNames": ["csr.example.com"],
    "emailAddresses": ["ops@example.com"],
    "signatureAlgorithm": "Ed25519",
    "publicKeyAlgorithm": "Ed25519",
    "signatureValid": True,
}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(CSR, id="pem"),
        pytest.param(CSR.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"), id="new-pem"),
        pytest.param(csr_base64(), id="der"),
    ],
)
async def test_csr(client: httpx.AsyncClient, text: str) -> None:
    data = await data_of(client, certificate=text)
    assert data == {"certificates": [], "csr": CSR_INFO}


async def test_csr_with_a_bad_signature(client: httpx.AsyncClient) -> None:
    der = bytearray(base64.b64decode(csr_base64()))
    der[-1] ^= 0x01  # last byte of the signature
    data = await data_of(client, certificate=base64.b64encode(bytes(der)).decode())
    assert data["csr"]["signatureValid"] is False


# --- private keys ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("certificate", "key", "matches"),
    [
        (LEAF, LEAF_KEY, True),
        (LEAF + INTER, LEAF_KEY, True),
        (LEAF, INTER_KEY, False),
        (INTER + ROOT, INTER_KEY, True),
        (CSR, CSR_KEY, True),
        (CSR, LEAF_KEY, False),
        (LEAF, CSR_KEY, False),
    ],
    ids=[
        "leaf",
        "leaf-of-chain",
        "other-key",
        "intermediate",
        "csr",
        "csr-other-key",
        "ed25519-vs-rsa",
    ],
)
async def test_key_matches(
    client: httpx.AsyncClient, certificate: str, key: str, matches: bool
) -> None:
    data = await data_of(client, certificate=certificate, privateKey=key)
    assert data["keyMatches"] is matches


def traditional_rsa_key() -> str:
    key = serialization.load_pem_private_key(LEAF_KEY.encode(), None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def bare_pkcs8() -> str:
    key = serialization.load_pem_private_key(LEAF_KEY.encode(), None)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    "key", [traditional_rsa_key(), bare_pkcs8()], ids=["pkcs1-pem", "pkcs8-der-base64"]
)
async def test_other_key_encodings(client: httpx.AsyncClient, key: str) -> None:
    data = await data_of(client, certificate=LEAF, privateKey=key)
    assert data["keyMatches"] is True


def encrypted_key() -> str:
    key = serialization.load_pem_private_key(CSR_KEY.encode(), None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"password"),
    ).decode()


@pytest.mark.parametrize(
    ("key", "details"),
    [
        (encrypted_key(), "privateKey: encrypted keys are not accepted"),
        (LEAF, "privateKey: PEM block is not a private key"),
        (
            LEAF_KEY.replace("MII", "M!I", 1),
            "privateKey: failed to decode PEM block",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\n"
            + base64.b64encode(b"\x30\x10" + CANARY.encode()).decode()
            + "\n-----END PRIVATE KEY-----\n",
            "privateKey: not a valid private key",
        ),
        (CANARY, "privateKey: neither PEM nor base64 DER"),
    ],
    ids=["encrypted", "certificate", "bad-base64", "not-a-key", "junk"],
)
async def test_key_errors_never_echo_the_key(
    client: httpx.AsyncClient, key: str, details: str
) -> None:
    response = await decode(client, certificate=LEAF, privateKey=key)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Certificate decoding failed",
        "details": details,
    }
    assert CANARY not in response.text


# --- public keys of an algorithm cryptography does not know (ML-DSA, GOST, ...) ----------------
# An Ed25519 certificate and CSR whose SPKI algorithm OID is rewritten to 1.3.101.100, which no
# library knows; Go's x509 leaves such a key unparsed and `openssl x509 -text` prints the rest.
UNKNOWN_KEY = ed25519.Ed25519PrivateKey.generate()
UNKNOWN_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unknown key")])
ED25519_OID_DER = bytes.fromhex("06032b6570")  # OBJECT IDENTIFIER 1.3.101.112
UNKNOWN_OID_DER = bytes.fromhex("06032b6564")  # OBJECT IDENTIFIER 1.3.101.100


def _with_unknown_key_algorithm(der: bytes) -> bytes:
    spki = UNKNOWN_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert der.count(spki) == 1
    assert spki.count(ED25519_OID_DER) == 1
    return der.replace(spki, spki.replace(ED25519_OID_DER, UNKNOWN_OID_DER))


def unknown_key_certificate_der() -> bytes:
    cert = (
        x509.CertificateBuilder()
        .issuer_name(UNKNOWN_NAME)
        .subject_name(UNKNOWN_NAME)
        .public_key(UNKNOWN_KEY.public_key())
        .serial_number(5)
        .not_valid_before(datetime(2023, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .sign(UNKNOWN_KEY, None)
    )
    return _with_unknown_key_algorithm(cert.public_bytes(serialization.Encoding.DER))


def unknown_key_csr_der() -> bytes:
    csr = x509.CertificateSigningRequestBuilder().subject_name(UNKNOWN_NAME).sign(UNKNOWN_KEY, None)
    return _with_unknown_key_algorithm(csr.public_bytes(serialization.Encoding.DER))


def _pem(kind: str, der: bytes) -> str:
    return f"-----BEGIN {kind}-----\n{base64.encodebytes(der).decode()}-----END {kind}-----\n"


UNKNOWN_CERT_DER = unknown_key_certificate_der()
UNKNOWN_CERT = _pem("CERTIFICATE", UNKNOWN_CERT_DER)
UNKNOWN_CSR = _pem("CERTIFICATE REQUEST", unknown_key_csr_der())
UNKNOWN_KEY_PEM = UNKNOWN_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def test_the_unknown_key_fixtures_are_unknown_to_cryptography() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        x509.load_der_x509_certificate(UNKNOWN_CERT_DER).public_key()
    with pytest.raises(UnsupportedAlgorithm):
        x509.load_pem_x509_csr(UNKNOWN_CSR.encode()).public_key()


async def test_a_certificate_with_an_unknown_key_algorithm_is_decoded(
    client: httpx.AsyncClient,
) -> None:
    data = await data_of(client, certificate=UNKNOWN_CERT)
    certificate = {
        "subject": "CN=unknown key",
        "issuer": "CN=unknown key",
        "notBefore": "2023-01-01T00:00:00Z",
        "notAfter": "2045-01-01T00:00:00Z",
        "serialNumber": "5",
        "version": 3,
        "keyUsage": [],
        "isCA": False,
        "signatureAlgorithm": "Ed25519",
        "publicKeyAlgorithm": "1.3.101.100",
        "sha256Fingerprint": hashlib.sha256(UNKNOWN_CERT_DER).hexdigest(),
        "sha1Fingerprint": hashlib.sha1(UNKNOWN_CERT_DER).hexdigest(),  # noqa: S324 - a fingerprint
        "daysLeft": DAYS_LEFT,
    }
    assert data == {"certificate": certificate, "certificates": [certificate]}


async def test_a_csr_with_an_unknown_key_algorithm_is_decoded(client: httpx.AsyncClient) -> None:
    data = await data_of(client, certificate=UNKNOWN_CSR)
    assert data["csr"] == {
        "subject": "CN=unknown key",
        "signatureAlgorithm": "Ed25519",
        "publicKeyAlgorithm": "1.3.101.100",
        "signatureValid": False,  # no key to check it with (Go: ErrUnsupportedAlgorithm)
    }


@pytest.mark.parametrize(
    "certificate", [UNKNOWN_CERT, UNKNOWN_CSR, UNKNOWN_CERT + INTER], ids=["cert", "csr", "chain"]
)
@pytest.mark.parametrize(
    "key", [UNKNOWN_KEY_PEM, LEAF_KEY], ids=["same-key-bytes-known-algorithm", "other-key"]
)
async def test_a_key_of_an_unknown_algorithm_matches_no_private_key(
    client: httpx.AsyncClient, certificate: str, key: str
) -> None:
    data = await data_of(client, certificate=certificate, privateKey=key)
    assert data["keyMatches"] is False


def _ec_der(kind: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    if kind == "CERTIFICATE REQUEST":
        builder = x509.CertificateSigningRequestBuilder().subject_name(UNKNOWN_NAME)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    cert = (
        x509.CertificateBuilder()
        .issuer_name(UNKNOWN_NAME)
        .subject_name(UNKNOWN_NAME)
        .public_key(key.public_key())
        .serial_number(6)
        .not_valid_before(datetime(2023, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("kind", ["CERTIFICATE", "CERTIFICATE REQUEST"], ids=["cert", "csr"])
async def test_a_known_algorithm_with_unsupported_parameters_is_still_refused(
    client: httpx.AsyncClient, kind: str
) -> None:
    # An EC key on an unknown named curve: Go's ParseCertificate refuses it too.
    der = _ec_der(kind)
    p256 = bytes.fromhex("06082a8648ce3d030107")  # prime256v1, 1.2.840.10045.3.1.7
    assert der.count(p256) == 1
    unknown_curve = der.replace(p256, bytes.fromhex("06082a8648ce3d03017f"))
    response = await decode(client, certificate=_pem(kind, unknown_curve))
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Certificate decoding failed",
        "details": "failed to parse certificate: Curve 1.2.840.10045.3.1.127 is not supported",
    }
