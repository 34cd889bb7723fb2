"""crypto/cert/decode: committed fixtures, Go-compatible names, PEM scanning and error paths.

Every expected name string, PEM scanning outcome, usage list and algorithm name below was
checked once against Go 1.19's ``crypto/x509`` and ``encoding/pem`` (the reference's libraries).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devutils.frontends.schema import output_schema
from devutils.registry import Registry
from devutils.tools._pem import first_pem_block
from devutils.tools.cert import format_name, rfc3339

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
V1_PEM = (FIXTURES / "v1.pem").read_text()
CA_PEM = (FIXTURES / "ca.pem").read_text()
LEAF_PEM = (FIXTURES / "leaf.pem").read_text()
PATH = "/api/v1/crypto/cert/decode"
KEY = ec.generate_private_key(ec.SECP256R1())
SignHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
SHA256 = hashes.SHA256()

CA_NAME = (
    "CN=Example Test CA,O=Example Corp,"
    "0.9.2342.19200300.100.1.25=#13076578616d706c65,0.9.2342.19200300.100.1.25=#1303636f6d"
)
EXPECTED = {
    "v1": {
        "subject": "CN=example.com,O=Example Corp,L=San Francisco,ST=California,C=US",
        "issuer": "CN=example.com,O=Example Corp,L=San Francisco,ST=California,C=US",
        "notBefore": "2025-09-21T05:59:12Z",
        "notAfter": "2026-09-21T05:59:12Z",
        "serialNumber": "11039883578623723793",
        "version": 1,
        "keyUsage": [],
        "isCA": False,
        "signatureAlgorithm": "ECDSA-SHA256",
        "publicKeyAlgorithm": "ECDSA",
        "sha256Fingerprint": "52951277cf5f03f81fdab78ba4786c96483ebdf260d2e33f8528ea2e68033f06",
    },
    "ca": {
        "subject": CA_NAME,
        "issuer": CA_NAME,
        "notBefore": "2024-01-01T00:00:00Z",
        "notAfter": "2034-01-01T00:00:00Z",
        "serialNumber": "4096",
        "version": 3,
        "keyUsage": ["Digital Signature", "Certificate Sign", "CRL Sign"],
        "isCA": True,
        "signatureAlgorithm": "ECDSA-SHA384",
        "publicKeyAlgorithm": "ECDSA",
        "sha256Fingerprint": "9e382b9445c5b47da3e07cde52fcff9a1852041a0f24bd7d677744db98e1163c",
    },
    "leaf": {
        "subject": (
            "CN=www.example.com,OU=Platform+OU=Engineering,O=Example\\, Inc.,"
            "L=San Francisco,ST=California,C=US,0.9.2342.19200300.100.1.1=#13046a646f65,"
            "1.2.840.113549.1.9.1=#0c1161646d696e406578616d706c652e636f6d"
        ),
        "issuer": CA_NAME,
        "notBefore": "2024-06-01T12:00:00Z",
        "notAfter": "2026-06-01T12:00:00Z",
        "serialNumber": "1234567890123456789012345678901234567890",
        "version": 3,
        "keyUsage": [
            "Digital Signature",
            "Key Encipherment",
            "Server Authentication",
            "Client Authentication",
            "Code Signing",
        ],
        "dnsNames": ["www.example.com", "example.com"],
        "ipAddresses": ["192.0.2.10", "2001:db8::1"],
        "emailAddresses": ["admin@example.com"],
        "uris": ["https://www.example.com/"],
        "isCA": False,
        "signatureAlgorithm": "ECDSA-SHA384",
        "publicKeyAlgorithm": "RSA",
        "sha256Fingerprint": "127f685174a3322f490290a43b049644c506c62d9ad89381f345ba1ed074c4b7",
    },
}


# Added fields, computed independently: ``openssl x509 -noout -fingerprint -sha1`` and
# (notAfter - FIXED_NOW) // 86400 with GNU date.
ADDED = {
    "v1": {"sha1Fingerprint": "3f4efe82becfd76b3088294902d5cd1278c709f0", "daysLeft": 1000},
    "ca": {"sha1Fingerprint": "e0a0c337cb959ff1179aab8299bc36a68b24e125", "daysLeft": 3659},
    "leaf": {"sha1Fingerprint": "82c4994d3d2e00babd096b08fdcb179beda6cbcb", "daysLeft": 888},
}


def build(
    rdns: list[x509.RelativeDistinguishedName] | None = None,
    extensions: Sequence[x509.ExtensionType] = (),
    *,
    not_after: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    key: Any = KEY,
    algorithm: SignHash | None = SHA256,
    rsa_padding: padding.PSS | None = None,
) -> x509.Certificate:
    name = x509.Name(rdns if rdns is not None else [one(NameOID.COMMON_NAME, "test")])
    builder = (
        x509.CertificateBuilder()
        .issuer_name(name)
        .subject_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(not_after)
    )
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(key, algorithm, rsa_padding=rsa_padding)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def one(oid: x509.ObjectIdentifier, value: str) -> x509.RelativeDistinguishedName:
    return x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)])


async def decode(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post(PATH, json=body)


@pytest.mark.parametrize("fixture", ["v1", "ca", "leaf"])
async def test_committed_fixtures(client: httpx.AsyncClient, fixture: str) -> None:
    text = (FIXTURES / f"{fixture}.pem").read_text()
    response = await decode(client, {"certificate": text})
    assert response.status_code == 200, response.text
    # Every reference field as the reference gives it; the new fields are additive.
    certificate = EXPECTED[fixture] | ADDED[fixture]
    assert response.json() == {
        "success": True,
        "data": {"certificate": certificate, "certificates": [certificate]},
    }


async def test_no_dns_names_means_no_key(client: httpx.AsyncClient) -> None:
    data = (await decode(client, {"certificate": V1_PEM})).json()["data"]["certificate"]
    assert not {"dnsNames", "ipAddresses", "emailAddresses", "uris"} & set(data)


def test_output_schema_does_not_require_the_optional_lists(registry: Registry) -> None:
    spec = registry.get("crypto_cert_decode")
    assert spec is not None
    schema = output_schema(spec)
    info = next(d for name, d in schema["$defs"].items() if "CertificateInfo" in name)
    assert "dnsNames" in info["properties"]
    assert "dnsNames" not in info["required"]
    assert "keyUsage" in info["required"]


async def test_first_certificate_of_a_chain_is_decoded(client: httpx.AsyncClient) -> None:
    body = {"certificate": "Leaf first:\n" + LEAF_PEM + CA_PEM}
    data = (await decode(client, body)).json()["data"]["certificate"]
    assert data["serialNumber"] == EXPECTED["leaf"]["serialNumber"]


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await decode(client, {"certificate": V1_PEM, "format": "pem"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": 'unknown field "format"',
        "details": "allowed fields: certificate, privateKey",
    }


NAME_CASES = [
    (
        [
            one(NameOID.ORGANIZATION_NAME, " lead"),
            one(NameOID.ORGANIZATION_NAME, "trail "),
            one(NameOID.ORGANIZATION_NAME, "#hash"),
            one(NameOID.ORGANIZATION_NAME, "a#b c"),
            one(NameOID.COMMON_NAME, 'x,y+z"q\\r<s>t;u'),
        ],
        'CN=x\\,y\\+z\\"q\\\\r\\<s\\>t\\;u,O=\\ lead+O=trail\\ +O=\\#hash+O=a#b c',
    ),
    ([one(NameOID.COMMON_NAME, " ")], "CN=\\ "),
    ([one(NameOID.COMMON_NAME, "first"), one(NameOID.COMMON_NAME, "second")], "CN=second"),
    (
        [
            one(NameOID.SERIAL_NUMBER, "SN123"),
            one(NameOID.COUNTRY_NAME, "DE"),
            one(NameOID.POSTAL_CODE, "10115"),
            one(NameOID.STREET_ADDRESS, "Main St 1"),
            one(NameOID.COMMON_NAME, "host"),
            one(NameOID.LOCALITY_NAME, "Berlin"),
            one(NameOID.ORGANIZATIONAL_UNIT_NAME, "IT"),
            one(NameOID.STATE_OR_PROVINCE_NAME, "Berlin"),
            one(NameOID.ORGANIZATION_NAME, "ACME"),
        ],
        "SERIALNUMBER=SN123,CN=host,OU=IT,O=ACME,POSTALCODE=10115,STREET=Main St 1,"
        "L=Berlin,ST=Berlin,C=DE",
    ),
    (
        [
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "x"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "y"),
                ]
            )
        ],
        "CN=x,O=y",
    ),
    ([one(NameOID.COUNTRY_NAME, "US"), one(NameOID.COUNTRY_NAME, "CA")], "C=US+C=CA"),
    (
        [one(NameOID.TITLE, "Dr. *Chief* & Co"), one(NameOID.GIVEN_NAME, "José")],
        "2.5.4.42=#0c054a6f73c3a9,2.5.4.12=#0c1044722e202a43686965662a202620436f",
    ),
    ([one(NameOID.SURNAME, "a" * 200)], "2.5.4.4=#1381c8" + "61" * 200),
    (
        [one(NameOID.ORGANIZATION_NAME, "Société Générale"), one(NameOID.COMMON_NAME, "日本")],
        "CN=日本,O=Société Générale",
    ),
    (
        [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ünïcode", _ASN1Type.BMPString)]
            ),
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(NameOID.LOCALITY_NAME, "Müller", _ASN1Type.T61String)]
            ),
        ],
        "O=Ünïcode,L=Müller",
    ),
    ([], ""),
]
NAME_IDS = [
    "rfc2253-escaping",
    "single-space",
    "last-cn-wins",
    "canonical-order",
    "mixed-rdn-is-spread",
    "repeated-type-joined",
    "unknown-oids-utf8-tag-reversed",
    "unknown-long-form-length",
    "non-ascii-unescaped",
    "bmp-and-t61-strings",
    "empty-name",
]


@pytest.mark.parametrize(("rdns", "expected"), NAME_CASES, ids=NAME_IDS)
def test_names_render_like_go(rdns: list[x509.RelativeDistinguishedName], expected: str) -> None:
    cert = x509.load_pem_x509_certificate(pem(build(rdns)).encode())
    assert format_name(cert.subject) == expected


async def test_name_rendering_reaches_the_wire(client: httpx.AsyncClient) -> None:
    rdns, expected = NAME_CASES[0]
    data = (await decode(client, {"certificate": pem(build(rdns))})).json()["data"]
    assert data["certificate"]["subject"] == expected
    assert data["certificate"]["issuer"] == expected


def _all_key_usages() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=True,
        data_encipherment=True,
        key_agreement=True,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=True,
        decipher_only=True,
    )


EKU_IN_CERT_ORDER = [
    ("1.3.6.1.4.1.311.61.1.1", "Microsoft Kernel Code Signing"),
    (ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string, "OCSP Signing"),
    ("1.3.6.1.5.5.7.3.5", "IPSEC End System"),
    ("1.3.6.1.5.5.7.3.6", "IPSEC Tunnel"),
    ("1.3.6.1.5.5.7.3.7", "IPSEC User"),
    ("1.2.3.4.5", None),  # private EKU: omitted, as Go does
    (ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string, "Any"),
    (ExtendedKeyUsageOID.TIME_STAMPING.dotted_string, "Time Stamping"),
    (ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string, "Email Protection"),
    ("1.3.6.1.4.1.311.10.3.3", "Microsoft Server Gated Crypto"),
    ("2.16.840.1.113730.4.1", "Netscape Server Gated Crypto"),
    ("1.3.6.1.4.1.311.2.1.22", "Microsoft Commercial Code Signing"),
    (ExtendedKeyUsageOID.CODE_SIGNING.dotted_string, "Code Signing"),
    (ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string, "Client Authentication"),
    (ExtendedKeyUsageOID.SERVER_AUTH.dotted_string, "Server Authentication"),
]


async def test_every_usage_in_go_order(client: httpx.AsyncClient) -> None:
    eku = x509.ExtendedKeyUsage([x509.ObjectIdentifier(oid) for oid, _ in EKU_IN_CERT_ORDER])
    cert = build(extensions=[_all_key_usages(), eku])
    data = (await decode(client, {"certificate": pem(cert)})).json()["data"]["certificate"]
    basic = [
        "Digital Signature",
        "Content Commitment",
        "Key Encipherment",
        "Data Encipherment",
        "Key Agreement",
        "Certificate Sign",
        "CRL Sign",
        "Encipher Only",
        "Decipher Only",
    ]
    assert data["keyUsage"] == basic + [name for _, name in EKU_IN_CERT_ORDER if name]


@pytest.mark.parametrize(
    ("key", "algorithm", "rsa_padding", "signature", "public_key"),
    [
        (ed25519.Ed25519PrivateKey.generate(), None, None, "Ed25519", "Ed25519"),
        (ec.generate_private_key(ec.SECP384R1()), hashes.SHA512(), None, "ECDSA-SHA512", "ECDSA"),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            hashes.SHA256(),
            padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH),
            "SHA256-RSAPSS",
            "RSA",
        ),
    ],
    ids=["ed25519", "ecdsa-sha512", "rsa-pss-sha256"],
)
async def test_algorithm_names(
    client: httpx.AsyncClient,
    key: Any,
    algorithm: SignHash | None,
    rsa_padding: padding.PSS | None,
    signature: str,
    public_key: str,
) -> None:
    cert = build(key=key, algorithm=algorithm, rsa_padding=rsa_padding)
    data = (await decode(client, {"certificate": pem(cert)})).json()["data"]["certificate"]
    assert (data["signatureAlgorithm"], data["publicKeyAlgorithm"]) == (signature, public_key)


async def test_generalized_time_after_2049(client: httpx.AsyncClient) -> None:
    cert = build(not_after=datetime(2051, 3, 4, 5, 6, 7, tzinfo=UTC))
    data = (await decode(client, {"certificate": pem(cert)})).json()["data"]["certificate"]
    assert data["notAfter"] == "2051-03-04T05:06:07Z"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2025, 9, 21, 5, 59, 12, tzinfo=UTC), "2025-09-21T05:59:12Z"),
        (datetime(2025, 9, 21, 5, 59, 12, 500000, tzinfo=UTC), "2025-09-21T05:59:12.5Z"),
        (datetime(1950, 1, 1, 0, 0, 0, 120, tzinfo=UTC), "1950-01-01T00:00:00.00012Z"),
    ],
    ids=["whole-seconds", "half-second", "microseconds"],
)
def test_rfc3339_like_go(moment: datetime, expected: str) -> None:
    assert rfc3339(moment) == expected


async def test_san_kinds_are_sorted_into_their_fields(client: httpx.AsyncClient) -> None:
    san = x509.SubjectAlternativeName(
        [
            x509.UniformResourceIdentifier("spiffe://example.org/svc"),
            x509.IPAddress(ipaddress.ip_address("::1")),
            x509.RFC822Name("ops@example.org"),
        ]
    )
    data = (await decode(client, {"certificate": pem(build(extensions=[san]))})).json()["data"]
    info = data["certificate"]
    assert "dnsNames" not in info
    assert (info["ipAddresses"], info["emailAddresses"], info["uris"]) == (
        ["::1"],
        ["ops@example.org"],
        ["spiffe://example.org/svc"],
    )


# --- PEM scanning: the outcome Go's pem.Decode gives for the same text ------------------------

_BODY = V1_PEM.split("\n", 1)[1].rsplit("-----END", 1)[0]
_V1_TYPE = "CERTIFICATE"
PEM_CASES = [
    ("hello\nworld\n" + V1_PEM, _V1_TYPE),
    ("junk -----BEGIN CERTIFICATE-----\n" + _BODY + "-----END CERTIFICATE-----\n", None),
    (V1_PEM.replace("\n", "\r\n"), _V1_TYPE),
    ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" + V1_PEM, "PRIVATE KEY"),
    ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n" + V1_PEM, _V1_TYPE),
    ("-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n" + V1_PEM, _V1_TYPE),
    ("-----BEGIN CERTIFICATE-----\n" + _BODY + "-----END X509-----\n" + V1_PEM, _V1_TYPE),
    (
        "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: x\n\n"
        + _BODY
        + "-----END CERTIFICATE-----\n",
        _V1_TYPE,
    ),
    (V1_PEM.rstrip("\n"), _V1_TYPE),
    (V1_PEM.replace("\nMII", "\n \tMII"), _V1_TYPE),
    (V1_PEM.replace("\nMII", "\n\vMII"), None),
    (V1_PEM.replace("\nMII", "\n\u00a0MII"), None),
    ("nothing here", None),
    ("-----BEGIN CERTIFICATE-----\n" + _BODY, None),
    ("-----BEGIN CERTIFICATE-----  \n" + _BODY + "-----END CERTIFICATE-----\n", _V1_TYPE),
    ("-----BEGIN CERTIFICATE-----\nYQ==YQ==\n-----END CERTIFICATE-----\n" + V1_PEM, _V1_TYPE),
    ("-----BEGIN A-----\n-----BEGIN B-----\nAAAA\n-----END B-----\n", "B"),
    ("-----BEGIN A-----\nAAAA\n-----END B-----\n-----BEGIN C-----\nAAAA\n-----END C-----\n", "C"),
]
PEM_IDS = [
    "leading-junk",
    "begin-not-at-line-start",
    "crlf",
    "private-key-first",
    "bad-base64-block-skipped",
    "bad-padding-block-skipped",
    "end-type-mismatch-skipped",
    "rfc1421-headers",
    "no-final-newline",
    "spaces-and-tabs-in-body",
    "vertical-tab-in-body",
    "nbsp-in-body",
    "no-block",
    "no-end-line",
    "blanks-after-type-line",
    "data-after-padding",
    "nested-begin",
    "end-mismatch-then-good-block",
]


@pytest.mark.parametrize(("text", "block_type"), PEM_CASES, ids=PEM_IDS)
def test_pem_scanning_like_go(text: str, block_type: str | None) -> None:
    block = first_pem_block(text)
    assert (block[0] if block else None) == block_type
    if block_type == _V1_TYPE:
        assert block is not None
        assert block[1] == x509.load_pem_x509_certificate(V1_PEM.encode()).public_bytes(
            serialization.Encoding.DER
        )


def test_adversarial_pem_text_is_scanned_in_linear_time() -> None:
    # Each case would take minutes if every candidate block rescanned the rest of the text.
    size = 256 * 1024
    nested = ("-----BEGIN A-----\n" * (size // 18))[: size - 20]
    for text in (nested + "\n-----END A-----\n", nested + "\n-----END B-----\n"):
        assert first_pem_block(text) is None


# --- errors ------------------------------------------------------------------------------------

CANARY = "CANARY-5d9c2f0e-secret-material"


def _block(kind: str, payload: bytes) -> str:
    return f"-----BEGIN {kind}-----\n{base64.b64encode(payload).decode()}\n-----END {kind}-----\n"


@pytest.mark.parametrize(
    ("certificate", "details"),
    [
        ("just some text", "failed to decode PEM block"),
        (V1_PEM.replace("-----END CERTIFICATE-----", ""), "failed to decode PEM block"),
        (
            KEY.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            "PEM block is not a certificate, got: PRIVATE KEY",
        ),
        (_block("X509 CRL", b"\x30\x00"), "PEM block is not a certificate, got: X509 CRL"),
        (_block("certificate", b"\x30\x00"), "PEM block is not a certificate, got: certificate"),
    ],
    ids=["no-pem", "unterminated", "private-key", "crl", "lowercase-type"],
)
async def test_decoding_failures(client: httpx.AsyncClient, certificate: str, details: str) -> None:
    response = await decode(client, {"certificate": certificate})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Certificate decoding failed",
        "details": details,
    }


@pytest.mark.parametrize(
    "payload",
    [
        CANARY.encode() * 50,
        b"\x30\x82\x01\x00" + CANARY.encode(),
        b"\x30\x03\x02\x01\x01",
        x509.load_pem_x509_certificate(V1_PEM.encode()).public_bytes(serialization.Encoding.DER)[
            :-10
        ],
    ],
    ids=["not-der", "truncated-sequence", "not-a-certificate", "truncated-certificate"],
)
async def test_parse_failures_do_not_echo_input(client: httpx.AsyncClient, payload: bytes) -> None:
    response = await decode(client, {"certificate": _block("CERTIFICATE", payload)})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Certificate decoding failed"
    assert error["details"].startswith("failed to parse certificate: ")
    assert len(error["details"]) <= 240
    assert CANARY not in response.text
    assert base64.b64encode(payload).decode()[:16] not in response.text


async def test_huge_block_type_is_not_echoed_in_full(client: httpx.AsyncClient) -> None:
    kind = "X" * 10_000
    response = await decode(client, {"certificate": _block(kind, b"\x30\x00")})
    details = response.json()["error"]["details"]
    assert details.startswith("PEM block is not a certificate, got: XXXX")
    assert len(details) < 300


async def test_bit_string_name_attribute_is_refused_like_go(client: httpx.AsyncClient) -> None:
    unique_id = x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x01\x02", _ASN1Type.BitString)
    cert = build([x509.RelativeDistinguishedName([unique_id])])
    response = await decode(client, {"certificate": pem(cert)})
    assert response.status_code == 400
    assert "unsupported attribute value type" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "body",
    [{}, {"certificate": ""}, {"certificate": None}, {"certificate": 1}, {"certificate": ["x"]}],
    ids=["missing", "empty", "null", "number", "array"],
)
async def test_bad_requests(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await decode(client, body)
    assert response.status_code == 400
    error = response.json()["error"]
    missing = body.get("certificate") is None
    message = 'field "certificate" is required' if missing else "Invalid request format"
    assert (error["code"], error["message"]) == ("VALIDATION_ERROR", message)
    assert "certificate" in error["details"]


async def test_oversized_input_is_refused_before_scanning(client: httpx.AsyncClient) -> None:
    response = await decode(client, {"certificate": "A" * (256 * 1024 + 1)})
    assert response.status_code == 400
    assert "certificate" in response.json()["error"]["details"]
