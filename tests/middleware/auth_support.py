"""Keys and tokens for the authentication tests (generated per session, never fixed secrets)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SECRET = "test-hmac-secret-that-is-at-least-64-bytes-long-for-hs512-0123456789abcdef"
ISSUER = "https://issuer.example"
AUDIENCE = "dev-utilities"


@dataclass(frozen=True)
class KeyMaterial:
    rsa_private: rsa.RSAPrivateKey
    ec_private: ec.EllipticCurvePrivateKey
    rsa_public_pem: bytes

    def write_public_pem(self, directory: Path) -> Path:
        path = directory / "public.pem"
        path.write_bytes(self.rsa_public_pem)
        return path

    def write_jwks(self, directory: Path) -> Path:
        rsa_jwk = orjson.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_private.public_key()))
        ec_jwk = orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec_private.public_key()))
        rsa_jwk.update(kid="rsa-1", alg="RS256", use="sig")
        ec_jwk.update(kid="ec-1", alg="ES256", use="sig")
        path = directory / "jwks.json"
        path.write_bytes(orjson.dumps({"keys": [rsa_jwk, ec_jwk]}))
        return path


def make_keys() -> KeyMaterial:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyMaterial(private, ec.generate_private_key(ec.SECP256R1()), pem)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "agent-7", "iat": now, "exp": now + 300}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def hs_token(payload: dict[str, Any], alg: str = "HS256", secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def unsigned_token(payload: dict[str, Any]) -> str:
    """``alg: none``: what an attacker sends hoping the server skips the signature."""
    return jwt.encode(payload, "", algorithm="none")
