"""JSON Web Keys (RFC 7517/7518, OKP keys RFC 8037) and their thumbprints (RFC 7638).

Hand-rolled because it is a direct transcription of the RFCs' member lists and PyJWT's converters
do not cover X25519 keys; the RFCs' own examples are the tests' vectors.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

GeneratedKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | x25519.X25519PrivateKey
)
_CURVES: Final = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
# RFC 7638 §3.2: the required members of each key type, the only ones the thumbprint covers.
_REQUIRED: Final = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_RAW: Final = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int, size: int | None = None) -> str:
    """Big-endian unsigned octets: minimal (RSA) or fixed ``size`` (EC coordinates)."""
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def private_jwk(key: GeneratedKey) -> dict[str, str]:
    """The private JWK: public members plus the private ones (``d``, and RSA's CRT values)."""
    jwk = public_jwk(key)
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        jwk.update(
            d=_uint(numbers.d),
            p=_uint(numbers.p),
            q=_uint(numbers.q),
            dp=_uint(numbers.dmp1),
            dq=_uint(numbers.dmq1),
            qi=_uint(numbers.iqmp),
        )
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk["d"] = _uint(key.private_numbers().private_value, _coordinate_size(key.curve))
    else:
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        jwk["d"] = b64url(raw)
    return jwk


def public_jwk(key: GeneratedKey) -> dict[str, str]:
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        return {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    if isinstance(key, ec.EllipticCurvePrivateKey):
        point = key.public_key().public_numbers()
        size = _coordinate_size(key.curve)
        return {
            "kty": "EC",
            "crv": _CURVES[key.curve.name],
            "x": _uint(point.x, size),
            "y": _uint(point.y, size),
        }
    curve = "Ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "X25519"
    return {"kty": "OKP", "crv": curve, "x": b64url(key.public_key().public_bytes(*_RAW))}


def _coordinate_size(curve: ec.EllipticCurve) -> int:
    return (curve.key_size + 7) // 8


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 SHA-256 thumbprint: the required members, sorted, no whitespace."""
    members = {name: jwk[name] for name in _REQUIRED[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())
