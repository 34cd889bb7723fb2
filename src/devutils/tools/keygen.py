"""crypto keypair and cert/selfsigned: fresh key pairs (PEM and JWK) and self-signed certificates.

Key generation uses the operating system's CSPRNG through cryptography.  RSA generation costs up to
seconds of CPU, so those calls (and any call that loads a given key) run in the cpu worker pool,
stopped at the deadline.  Private keys are the output of these tools; they are never logged.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any, Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import OFF_LOOP_WORK, Example, ToolContext, tool
from devutils.tools._jwk import GeneratedKey, private_jwk, public_jwk, thumbprint
from devutils.tools._x509 import MAX_KEY_CHARS, load_private_key, random_serial
from devutils.tools.cert import rfc3339

KeyType = Literal[
    "RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384", "EC-P521", "Ed25519", "X25519"
]
SigningKeyType = Literal[
    "RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384", "EC-P521", "Ed25519"
]

_CURVES: Final[dict[str, ec.EllipticCurve]] = {
    "EC-P256": ec.SECP256R1(),
    "EC-P384": ec.SECP384R1(),
    "EC-P521": ec.SECP521R1(),
}
_SELFSIGNED_ERROR = "Certificate creation failed"
MAX_SANS: Final = 100
MAX_DAYS: Final = 3650


def generate(key_type: str) -> GeneratedKey:
    if key_type.startswith("RSA-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type])
    if key_type == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return x25519.X25519PrivateKey.generate()


def private_pem(key: PrivateKeyTypes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# --- crypto/keypair ----------------------------------------------------------------------------
class KeypairInput(ToolInput):
    algorithm: KeyType = "EC-P256"


class KeypairOutput(ToolOutput):
    algorithm: str
    private_key_pem: str = Field(description="PKCS#8, unencrypted.")
    public_key_pem: str
    private_jwk: dict[str, str]
    public_jwk: dict[str, str]
    thumbprint: str = Field(description="RFC 7638 SHA-256.")


def _keypair_work(inp: KeypairInput) -> int:
    return OFF_LOOP_WORK if inp.algorithm.startswith("RSA-") else 0


@tool(
    "/api/v1/crypto/keypair",
    raw="private_key_pem",
    title="Generate a key pair",
    description="A fresh RSA, EC, Ed25519 or X25519 key pair as PEM and JWK.",
    bind_error_message="Invalid request format",
    idempotent=False,
    rate_class="crypto",
    blocking="large",  # RSA-4096 takes up to seconds of CPU: in the cpu pool
    estimate=_keypair_work,
    examples=(
        Example({"algorithm": "Ed25519"}, "Ed25519"),
        Example({"algorithm": "EC-P384"}, "ECDSA P-384"),
    ),
)
def crypto_keypair(inp: KeypairInput, ctx: ToolContext) -> KeypairOutput:
    key = generate(inp.algorithm)
    public = public_jwk(key)
    return KeypairOutput(
        algorithm=inp.algorithm,
        private_key_pem=private_pem(key),
        public_key_pem=key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        private_jwk=private_jwk(key),
        public_jwk=public,
        thumbprint=thumbprint(public),
    )


# --- crypto/cert/selfsigned --------------------------------------------------------------------
class SelfSignedInput(ToolInput):
    subject: str = Field(
        min_length=1, max_length=1024, description="RFC 4514 name (CN=a,O=b) or a common name."
    )
    sans: list[str] = Field(
        default_factory=list, max_length=MAX_SANS, description="DNS names, IPs, e-mails, URIs."
    )
    days: int = Field(365, ge=1, le=MAX_DAYS)
    is_ca: bool = Field(False, alias="isCA")
    private_key: str | None = Field(
        None, min_length=1, max_length=MAX_KEY_CHARS, description="PEM key; else one is made."
    )
    algorithm: SigningKeyType | None = Field(None, description="Generated key (default EC-P256).")


class SelfSignedOutput(ToolOutput):
    certificate_pem: str
    private_key_pem: str | None = Field(
        None, exclude_if=omit_none, description="Generated key (PKCS#8)."
    )
    serial_number: str
    not_before: str
    not_after: str
    sha256_fingerprint: str


def _selfsigned_work(inp: SelfSignedInput) -> int:
    if inp.private_key is not None or (inp.algorithm or "").startswith("RSA-"):
        return OFF_LOOP_WORK
    return 0


_SUBJECT_FORM = (
    "expected RFC 4514 text such as CN=example.com,O=Example,C=DE, with the attribute names "
    "CN, O, OU, L, ST, C, STREET, DC, UID or dotted OIDs (2.5.4.5=...)"
)


def _subject(text: str) -> x509.Name:
    try:
        if "=" not in text:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])
        return x509.Name.from_rfc4514_string(text)
    except ValueError as exc:
        # cryptography raises an empty ValueError for an attribute name it does not know.
        problem = str(exc)[:200] or _SUBJECT_FORM
        raise ValidationError(_SELFSIGNED_ERROR, f"invalid subject: {problem}") from None


def _san(text: str) -> x509.GeneralName:
    value = text.strip()
    if not value or len(value) > 1024 or not value.isascii() or not value.isprintable():
        raise ValidationError(
            _SELFSIGNED_ERROR, "each SAN must be 1-1024 printable ASCII characters (xn-- form)"
        )
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        pass
    if "://" in value:
        return x509.UniformResourceIdentifier(value)
    if "@" in value:
        try:
            return x509.RFC822Name(value)
        except ValueError:
            raise ValidationError(_SELFSIGNED_ERROR, "an e-mail SAN must be local@domain") from None
    if " " in value:
        raise ValidationError(_SELFSIGNED_ERROR, "a DNS name SAN cannot contain spaces")
    return x509.DNSName(value.lower())


def _signing_hash(
    key: CertificateIssuerPrivateKeyTypes,
) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA512() if key.curve.key_size > 384 else hashes.SHA384()
    return hashes.SHA256()


def _key_usage(key: CertificateIssuerPrivateKeyTypes, is_ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey) and not is_ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=is_ca,
        crl_sign=is_ca,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_key(inp: SelfSignedInput) -> tuple[CertificateIssuerPrivateKeyTypes, bool]:
    """The key to certify and whether it was generated here."""
    if inp.private_key is None:
        generated = generate(inp.algorithm or "EC-P256")
        if isinstance(generated, x25519.X25519PrivateKey):  # not offered: the Literal excludes it
            raise ValidationError(_SELFSIGNED_ERROR, "X25519 keys cannot sign")
        return generated, True
    if inp.algorithm is not None:
        raise ValidationError(_SELFSIGNED_ERROR, "algorithm applies to a generated key only")
    key = load_private_key(inp.private_key, _SELFSIGNED_ERROR)
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey
        | dsa.DSAPrivateKey,
    ):
        raise ValidationError(_SELFSIGNED_ERROR, "privateKey: this key type cannot sign")
    return key, False


@tool(
    "/api/v1/crypto/cert/selfsigned",
    title="Create a self-signed certificate",
    description="A self-signed X.509 certificate for a subject and SANs, with a given or freshly "
    "generated key.",
    bind_error_message="Invalid request format",
    idempotent=False,
    rate_class="crypto",
    blocking="large",  # RSA generation or loading a given key: in the cpu pool
    estimate=_selfsigned_work,
    examples=(
        Example(
            {
                "subject": "CN=dev.example.com,O=Example",
                "sans": ["dev.example.com", "127.0.0.1"],
                "algorithm": "Ed25519",
            },
            "Ed25519 key, one year",
        ),
    ),
)
def crypto_cert_selfsigned(inp: SelfSignedInput, ctx: ToolContext) -> SelfSignedOutput:
    name = _subject(inp.subject)
    sans = [_san(text) for text in inp.sans]
    key, generated = _signing_key(inp)
    now = ctx.clock().replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=inp.days))
        .add_extension(x509.BasicConstraints(ca=inp.is_ca, path_length=None), critical=True)
        .add_extension(_key_usage(key, inp.is_ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if not inp.is_ca:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    try:
        cert = builder.sign(key, _signing_hash(key))
    except (ValueError, TypeError) as exc:
        raise ValidationError(_SELFSIGNED_ERROR, f"cannot sign: {str(exc)[:200]}") from None
    fields: dict[str, Any] = {}
    if generated:
        fields["private_key_pem"] = private_pem(key)
    return SelfSignedOutput(
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        serial_number=str(cert.serial_number),
        not_before=rfc3339(cert.not_valid_before_utc),
        not_after=rfc3339(cert.not_valid_after_utc),
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        **fields,
    )
