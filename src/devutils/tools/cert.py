"""crypto cert tools: decode an X.509 certificate from PEM text.

Output follows the reference (Go ``crypto/x509``) to the letter: names are rendered like Go's
``pkix.Name.String()``, times as RFC 3339 UTC, key usages in Go's order then extended key usages.
Only the first PEM block counts, found the way Go's ``pem.Decode`` finds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import OFF_LOOP_WORK, Example, ToolContext, tool
from devutils.tools._pem import bare_base64, has_armour, pem_blocks
from devutils.tools._x509 import (
    MAX_KEY_CHARS,
    chain_order_valid,
    days_left,
    key_matches,
    load_private_key,
    public_key_name,
)

# Certificates are a few KiB; a pasted bundle of a few hundred still fits.
_MAX_PEM_CHARS = 256 * 1024
_ERROR = "Certificate decoding failed"
_MAX_DETAIL_CHARS = 200
MAX_CERTIFICATES = 100

# --- names (Go pkix.Name.String semantics) ---------------------------------------------------

_CN, _SERIAL = "2.5.4.3", "2.5.4.5"
# Go's canonical order after CN and SERIALNUMBER; each type becomes one (multi-valued) RDN.
_LISTED = (
    ("2.5.4.11", "OU"),
    ("2.5.4.10", "O"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.6", "C"),
)
_KNOWN = {_CN, _SERIAL, *(oid for oid, _ in _LISTED)}
_PRINTABLE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+,-./ :=?")


def _escape(value: str) -> str:
    """RFC 2253 escaping as Go does it."""
    out = []
    last = len(value) - 1
    for index, char in enumerate(value):
        if (
            char in ',+"\\<>;'
            or (char == " " and index in (0, last))
            or (char == "#" and index == 0)
        ):
            out.append("\\")
        out.append(char)
    return "".join(out)


def _der_string_hex(value: str) -> str:
    """Hex DER of the value re-encoded as Go's asn1.Marshal does: PrintableString or UTF8String."""
    body = value.encode()
    tag = 0x13 if all(char in _PRINTABLE for char in value) else 0x0C
    size = len(body)
    if size < 0x80:
        length = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return (bytes([tag]) + length + body).hex()


def _attribute_value(attribute: x509.NameAttribute[Any]) -> str:
    value = attribute.value
    if not isinstance(value, str):
        # Go accepts only string types in names and rejects the whole certificate otherwise.
        raise ValueError(
            f"unsupported attribute value type in name ({attribute.oid.dotted_string})"
        )
    return value


def format_name(name: x509.Name) -> str:
    """The name as Go's ``pkix.Name.String()`` renders it (canonical, not certificate order)."""
    single: dict[str, str] = {}
    listed: dict[str, list[str]] = {}
    extras: list[tuple[str, str]] = []
    for rdn in name.rdns:
        for attribute in rdn:
            oid, value = attribute.oid.dotted_string, _attribute_value(attribute)
            if oid in (_CN, _SERIAL):
                single[oid] = value  # Go keeps the last one
            elif oid in _KNOWN:
                listed.setdefault(oid, []).append(value)
            else:
                extras.append((oid, value))
    parts = [
        f"{label}={_escape(single[oid])}"
        for oid, label in ((_SERIAL, "SERIALNUMBER"), (_CN, "CN"))
        if single.get(oid)
    ]
    parts.extend(
        "+".join(f"{label}={_escape(value)}" for value in listed[oid])
        for oid, label in _LISTED
        if oid in listed
    )
    parts.extend(f"{oid}=#{_der_string_hex(value)}" for oid, value in reversed(extras))
    return ",".join(parts)


# --- usages, algorithms, times ---------------------------------------------------------------

_EKU_NAMES = {
    "2.5.29.37.0": "Any",
    "1.3.6.1.5.5.7.3.1": "Server Authentication",
    "1.3.6.1.5.5.7.3.2": "Client Authentication",
    "1.3.6.1.5.5.7.3.3": "Code Signing",
    "1.3.6.1.5.5.7.3.4": "Email Protection",
    "1.3.6.1.5.5.7.3.5": "IPSEC End System",
    "1.3.6.1.5.5.7.3.6": "IPSEC Tunnel",
    "1.3.6.1.5.5.7.3.7": "IPSEC User",
    "1.3.6.1.5.5.7.3.8": "Time Stamping",
    "1.3.6.1.5.5.7.3.9": "OCSP Signing",
    "1.3.6.1.4.1.311.10.3.3": "Microsoft Server Gated Crypto",
    "2.16.840.1.113730.4.1": "Netscape Server Gated Crypto",
    "1.3.6.1.4.1.311.2.1.22": "Microsoft Commercial Code Signing",
    "1.3.6.1.4.1.311.61.1.1": "Microsoft Kernel Code Signing",
}

# Go's SignatureAlgorithm names; RSASSA-PSS is named after its hash below.
_SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.2": "MD2-RSA",
    "1.2.840.113549.1.1.4": "MD5-RSA",
    "1.2.840.113549.1.1.5": "SHA1-RSA",
    "1.2.840.113549.1.1.11": "SHA256-RSA",
    "1.2.840.113549.1.1.12": "SHA384-RSA",
    "1.2.840.113549.1.1.13": "SHA512-RSA",
    "1.2.840.10040.4.3": "DSA-SHA1",
    "2.16.840.1.101.3.4.3.2": "DSA-SHA256",
    "1.2.840.10045.4.1": "ECDSA-SHA1",
    "1.2.840.10045.4.3.2": "ECDSA-SHA256",
    "1.2.840.10045.4.3.3": "ECDSA-SHA384",
    "1.2.840.10045.4.3.4": "ECDSA-SHA512",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
}
_RSA_PSS = "1.2.840.113549.1.1.10"

_PUBLIC_KEY_NAMES = {
    "1.2.840.113549.1.1.1": "RSA",
    _RSA_PSS: "RSA-PSS",
    "1.2.840.10040.4.1": "DSA",
    "1.2.840.10045.2.1": "ECDSA",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    "1.3.101.110": "X25519",
    "1.3.101.111": "X448",
}


def _key_usages(extensions: x509.Extensions) -> list[str]:
    usages: list[str] = []
    try:
        basic = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        pass
    else:
        agreement = basic.key_agreement
        flags = (
            (basic.digital_signature, "Digital Signature"),
            (basic.content_commitment, "Content Commitment"),
            (basic.key_encipherment, "Key Encipherment"),
            (basic.data_encipherment, "Data Encipherment"),
            (agreement, "Key Agreement"),
            (basic.key_cert_sign, "Certificate Sign"),
            (basic.crl_sign, "CRL Sign"),
            # cryptography only defines these two when key agreement is set.
            (agreement and basic.encipher_only, "Encipher Only"),
            (agreement and basic.decipher_only, "Decipher Only"),
        )
        usages.extend(label for is_set, label in flags if is_set)
    try:
        extended = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return usages
    # Go drops EKU OIDs it has no name for.
    usages.extend(
        _EKU_NAMES[oid.dotted_string] for oid in extended if oid.dotted_string in _EKU_NAMES
    )
    return usages


def _signature_algorithm(cert: x509.Certificate | x509.CertificateSigningRequest) -> str:
    oid = cert.signature_algorithm_oid.dotted_string
    if oid == _RSA_PSS:
        try:
            digest = cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            digest = None
        return f"{digest.name.upper()}-RSAPSS" if digest is not None else oid
    return _SIGNATURE_NAMES.get(oid, oid)


def rfc3339(moment: datetime) -> str:
    """Go's RFC 3339 with nanoseconds: fraction only when present, trailing zeros dropped."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _excluded_when_empty(value: list[str]) -> bool:
    return not value


# A list of SANs, left out of the output when empty (Go's omitempty on dnsNames).
SanList = Annotated[list[str], Field(default_factory=list, exclude_if=_excluded_when_empty)]


class CertDecodeInput(ToolInput):
    certificate: str = Field(
        min_length=1,
        max_length=_MAX_PEM_CHARS,
        description="PEM certificate(s) or CSR, or base64 DER without armour.",
    )
    private_key: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_KEY_CHARS,
        description="Unencrypted PEM key to match against it.",
    )


class CertificateInfo(ToolOutput):
    subject: str = Field(description="Subject DN as Go renders it (CN first, C last).")
    issuer: str
    not_before: str = Field(description="RFC 3339 UTC.")
    not_after: str = Field(description="RFC 3339 UTC.")
    serial_number: str = Field(description="Decimal.")
    version: int
    key_usage: list[str] = Field(description="Key usages, then extended key usages.")
    dns_names: SanList = Field(description="SANs by kind; each absent when empty.")
    ip_addresses: SanList
    email_addresses: SanList
    uris: SanList
    is_ca: bool = Field(alias="isCA")
    signature_algorithm: str = Field(description="Go's name, e.g. SHA256-RSA.")
    public_key_algorithm: str = Field(description="RSA, ECDSA, Ed25519, ... or the OID.")
    sha256_fingerprint: str = Field(description="Hex, of the DER.")
    sha1_fingerprint: str = Field(description="Hex, of the DER.")
    days_left: int = Field(description="Whole days to notAfter; negative once expired.")


class CsrInfo(ToolOutput):
    subject: str
    dns_names: SanList
    ip_addresses: SanList
    email_addresses: SanList
    uris: SanList
    signature_algorithm: str
    public_key_algorithm: str
    signature_valid: bool


class CertDecodeOutput(ToolOutput):
    certificate: CertificateInfo | None = Field(
        None, exclude_if=omit_none, description="The first certificate (absent for a CSR)."
    )
    certificates: list[CertificateInfo] = Field(
        default_factory=list, description="Every certificate, in input order."
    )
    chain_order_valid: bool | None = Field(
        None, exclude_if=omit_none, description="Chains: each one is issued by the next."
    )
    csr: CsrInfo | None = Field(None, exclude_if=omit_none)
    key_matches: bool | None = Field(
        None, exclude_if=omit_none, description="privateKey belongs to the first cert or CSR."
    )


def _sans(extensions: x509.Extensions) -> dict[str, list[str]]:
    try:
        names = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {}

    def strings(values: Iterable[object]) -> list[str]:
        return [str(value) for value in values]

    return {
        "dns_names": strings(names.get_values_for_type(x509.DNSName)),
        "ip_addresses": strings(names.get_values_for_type(x509.IPAddress)),
        "email_addresses": strings(names.get_values_for_type(x509.RFC822Name)),
        "uris": strings(names.get_values_for_type(x509.UniformResourceIdentifier)),
    }


def _is_ca(extensions: x509.Extensions) -> bool:
    try:
        return extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _fields(cert: x509.Certificate) -> dict[str, Any]:
    """Every field is read here, because cryptography parses parts of a certificate lazily."""
    extensions = cert.extensions
    public_key_oid = cert.public_key_algorithm_oid.dotted_string
    return {
        "subject": format_name(cert.subject),
        "issuer": format_name(cert.issuer),
        "not_before": rfc3339(cert.not_valid_before_utc),
        "not_after": rfc3339(cert.not_valid_after_utc),
        "serial_number": str(cert.serial_number),
        "version": cert.version.value + 1,
        "key_usage": _key_usages(extensions),
        **_sans(extensions),
        "is_ca": _is_ca(extensions),
        "signature_algorithm": _signature_algorithm(cert),
        "public_key_algorithm": _PUBLIC_KEY_NAMES.get(public_key_oid, public_key_oid),
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
    }


def describe(cert: x509.Certificate, now: datetime) -> CertificateInfo:
    """The reference's view of one certificate, plus SHA-1 fingerprint and days left at ``now``."""
    return CertificateInfo(
        **_fields(cert),
        sha1_fingerprint=cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - a fingerprint
        days_left=days_left(cert, now),
    )


def _der_element(der: bytes, offset: int) -> tuple[int, int]:
    """Where the contents of the DER element at ``offset`` start and end."""
    length, start = der[offset + 1], offset + 2
    if length & 0x80:  # long form: the low bits count the length octets that follow
        count = length & 0x7F
        length, start = int.from_bytes(der[start : start + count], "big"), start + count
    return start, start + length


def _oid_text(body: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's contents (X.690 8.19)."""
    arcs: list[int] = []
    value = 0
    for octet in body:
        value = value << 7 | octet & 0x7F
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def _key_algorithm_oid(subject: x509.Certificate | x509.CertificateSigningRequest) -> str:
    """The SPKI algorithm OID; cryptography's typed API has it for certificates only, so a
    CSR's is read from its already parsed CertificationRequestInfo (version, subject, SPKI)."""
    if isinstance(subject, x509.Certificate):
        return subject.public_key_algorithm_oid.dotted_string
    info = subject.tbs_certrequest_bytes
    version, _ = _der_element(info, 0)
    _, subject_at = _der_element(info, version)
    _, spki_at = _der_element(info, subject_at)
    algorithm, _ = _der_element(info, spki_at)
    oid, _ = _der_element(info, algorithm)
    start, end = _der_element(info, oid)
    return _oid_text(info[start:end])


def known_public_key(
    subject: x509.Certificate | x509.CertificateSigningRequest,
) -> PublicKeyTypes | None:
    """The subject's public key, or None when its algorithm is one cryptography does not know.

    Like Go's ``x509.ParseCertificate``, a key of an unknown algorithm (ML-DSA, GOST, ...) is left
    unparsed rather than failing the whole certificate; a bad key of a known algorithm still fails.
    """
    try:
        return subject.public_key()
    except UnsupportedAlgorithm:
        if _key_algorithm_oid(subject) in _PUBLIC_KEY_NAMES:
            raise  # e.g. an EC key on a curve nobody supports: Go refuses it too
        return None


def describe_csr(csr: x509.CertificateSigningRequest) -> CsrInfo:
    key = known_public_key(csr)
    return CsrInfo(
        subject=format_name(csr.subject),
        **_sans(csr.extensions),
        signature_algorithm=_signature_algorithm(csr),
        public_key_algorithm=public_key_name(key) if key is not None else _key_algorithm_oid(csr),
        # A signature under a key nobody can load cannot be checked (Go: ErrUnsupportedAlgorithm).
        signature_valid=key is not None and csr.is_signature_valid,
    )


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL_CHARS else text[:_MAX_DETAIL_CHARS] + "..."


_EXAMPLE_PEM = """\
-----BEGIN CERTIFICATE-----
MIIBvTCCAWQCCQCZNYufeYkJETAKBggqhkjOPQQDAjBnMQswCQYDVQQGEwJVUzET
MBEGA1UECAwKQ2FsaWZvcm5pYTEWMBQGA1UEBwwNU2FuIEZyYW5jaXNjbzEVMBMG
A1UECgwMRXhhbXBsZSBDb3JwMRQwEgYDVQQDDAtleGFtcGxlLmNvbTAeFw0yNTA5
MjEwNTU5MTJaFw0yNjA5MjEwNTU5MTJaMGcxCzAJBgNVBAYTAlVTMRMwEQYDVQQI
DApDYWxpZm9ybmlhMRYwFAYDVQQHDA1TYW4gRnJhbmNpc2NvMRUwEwYDVQQKDAxF
eGFtcGxlIENvcnAxFDASBgNVBAMMC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEGx+gDlEoDuWUrbwmAocNLqvOwzeH5C62ZhCxrIcAAcTh3DvD
/D/K+VPzW/b6TswefQgD2nJTfseO288Blr/jFzAKBggqhkjOPQQDAgNHADBEAiB2
9NP2bSEubtXcguhlS14Ct66FvHH3i5Qzriru+0HxngIgUI72VNz138He9+F4je/K
9llklnYZWArpLH21Z76fa84=
-----END CERTIFICATE-----
"""


def _work_estimate(inp: CertDecodeInput) -> int:
    """Text to scan and parse; loading (validating) a private key always leaves the loop."""
    return len(inp.certificate) + (OFF_LOOP_WORK if inp.private_key is not None else 0)


@tool(
    "/api/v1/crypto/cert/decode",
    title="Decode an X.509 certificate",
    description="Subject, issuer, validity, SANs, usages and fingerprints of a certificate, a "
    "chain (with an order check) or a CSR; optionally whether a private key matches.",
    bind_error_message="Invalid request format",
    rate_class="crypto",
    blocking="large",  # a 256 KiB bundle is ~200 certificates to parse: off the event loop
    estimate=_work_estimate,
    examples=(Example({"certificate": _EXAMPLE_PEM}, "self-signed v1 certificate"),),
)
def crypto_cert_decode(inp: CertDecodeInput, ctx: ToolContext) -> CertDecodeOutput:
    certificates, csr = _read(inp.certificate)
    try:
        if csr is not None:
            output = CertDecodeOutput(csr=describe_csr(csr))
            public_key = known_public_key(csr)
        else:
            now = ctx.clock()
            details = [describe(cert, now) for cert in certificates]
            output = CertDecodeOutput(
                certificate=details[0],
                certificates=details,
                chain_order_valid=chain_order_valid(certificates)
                if len(certificates) > 1
                else None,
            )
            public_key = known_public_key(certificates[0])
    except _PARSE_ERRORS as exc:
        raise _parse_error(exc) from None
    if inp.private_key is None:
        return output
    private_key = load_private_key(inp.private_key, _ERROR)
    # A key that loaded is of an algorithm cryptography knows, so it cannot be a key of an
    # algorithm it does not know: false is the exact answer, not a guess.
    matches = public_key is not None and key_matches(public_key, private_key)
    return output.model_copy(update={"key_matches": matches})


_PARSE_ERRORS = (ValueError, x509.InvalidVersion, x509.DuplicateExtension, UnsupportedAlgorithm)
_CSR_TYPES = frozenset({"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"})


def _parse_error(exc: Exception) -> ValidationError:
    return ValidationError(_ERROR, f"failed to parse certificate: {_shorten(str(exc))}")


def _read(text: str) -> tuple[list[x509.Certificate], x509.CertificateSigningRequest | None]:
    """Certificates (in order) or one CSR, from PEM or from base64 DER without armour."""
    if not has_armour(text):
        der = bare_base64(text)
        if der is None or not der.startswith(b"\x30"):
            raise ValidationError(_ERROR, "failed to decode PEM block")
        try:
            return [x509.load_der_x509_certificate(der)], None
        except ValueError as exc:
            try:
                return [], x509.load_der_x509_csr(der)
            except ValueError:
                raise _parse_error(exc) from None
    blocks = pem_blocks(text)
    first = next(blocks, None)
    if first is None:
        raise ValidationError(_ERROR, "failed to decode PEM block")
    block_type, der = first
    if block_type in _CSR_TYPES:
        try:
            return [], x509.load_der_x509_csr(der)
        except ValueError as exc:
            raise _parse_error(exc) from None
    if block_type != "CERTIFICATE":
        raise ValidationError(
            _ERROR, f"PEM block is not a certificate, got: {_shorten(block_type)}"
        )
    ders = [der]
    for block_type, der in blocks:  # later blocks of other types (a key, a CRL) are skipped
        if block_type == "CERTIFICATE":
            ders.append(der)
            if len(ders) > MAX_CERTIFICATES:
                raise ValidationError(_ERROR, f"more than {MAX_CERTIFICATES} certificates")
    try:
        return [x509.load_der_x509_certificate(item) for item in ders], None
    except ValueError as exc:
        raise _parse_error(exc) from None
