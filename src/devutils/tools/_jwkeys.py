"""Keys for transform/jwt/sign and /verify: secret text, PEM, a JWK or a JWKS, parsed once.

What the caller sent decides the kind: text starting with ``{`` is a JWK (or a JWKS when it has
``keys``), text starting with ``-----BEGIN`` is a PEM private key, public key or certificate, and
anything else is an HMAC secret (its UTF-8 bytes).  For the HS algorithms a PEM stays text, so
PyJWT's own guard refuses a public key used as an HMAC secret (algorithm confusion, CVE-2022-29217).
A key is picked for one algorithm by :func:`key_for`, which lets PyJWT check that the key fits the
algorithm (type, curve).  Key material never appears in an error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devutils.errors import ValidationError

Algorithm = Literal[
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
]
MAX_KEY_CHARS = 64 * 1024  # a JWKS of a few dozen RSA keys; PEM keys are a few KiB
MAX_JWKS_KEYS = 64
MAX_RSA_BITS = 8192


@dataclass(frozen=True)
class KeyMaterial:
    text: str
    loaded: Any = None  # a cryptography key object from a PEM
    jwks: tuple[dict[str, Any], ...] | None = None  # the JWK(s); a single JWK is a set of one
    is_set: bool = False

    @property
    def secret_only(self) -> bool:
        return self.loaded is None and self.jwks is None


class KeyUnusable(Exception):
    """This key cannot be used for this algorithm or token (verify answers it as data)."""

    def __init__(self, reason: Literal["key_not_found", "invalid_key"], message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _bad_key(details: str) -> ValidationError:
    return ValidationError("Invalid key", details)


def _check_size(key: Any) -> Any:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size > MAX_RSA_BITS:
        raise _bad_key(f"RSA key of {key.key_size} bits; the maximum is {MAX_RSA_BITS}")
    return key


def _load_pem(text: str) -> Any:
    data = text.encode()
    if b"PRIVATE KEY-----" in data:
        try:
            return serialization.load_pem_private_key(data, password=None)
        except TypeError:
            raise _bad_key("encrypted private keys are not supported") from None
        except ValueError:
            raise _bad_key("the PEM private key could not be read") from None
    if b"CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            raise _bad_key("the PEM certificate could not be read") from None
    try:
        return serialization.load_pem_public_key(data)
    except ValueError:
        raise _bad_key("not a PEM private key, public key or certificate") from None
    except Exception:  # cryptography raises UnsupportedAlgorithm for unknown key types
        raise _bad_key("unsupported PEM key type") from None


def _load_jwks(text: str) -> tuple[tuple[dict[str, Any], ...], bool]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _bad_key("the key looks like JSON but is not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad_key("a JWK must be a JSON object")
    keys, is_set = (value.get("keys"), True) if "keys" in value else ([value], False)
    if not isinstance(keys, list) or not keys:
        raise _bad_key('a JWKS needs a non-empty "keys" array')
    if len(keys) > MAX_JWKS_KEYS:
        raise _bad_key(f"the JWKS has {len(keys)} keys; the maximum is {MAX_JWKS_KEYS}")
    for item in keys:
        if not isinstance(item, dict) or not isinstance(item.get("kty"), str):
            raise _bad_key('every JWK must be an object with a "kty" member')
    return tuple(keys), is_set


def parse_key(text: str) -> KeyMaterial:
    """Read the key field once; 400 VALIDATION_ERROR when it cannot be a key."""
    stripped = text.strip()
    if stripped.startswith("{"):
        jwks, is_set = _load_jwks(stripped)
        if not is_set:
            _from_jwk(jwks[0], None)  # a lone JWK must be readable whatever the token says
        return KeyMaterial(text, jwks=jwks, is_set=is_set)
    if stripped.startswith("-----BEGIN"):
        return KeyMaterial(text, loaded=_check_size(_load_pem(stripped)))
    return KeyMaterial(text)


# RFC 7518 §6.3.2: a private RSA JWK should carry its CRT parameters.  Without p and q the
# library recovers them from n, e and d (cryptography's rsa_recover_prime_factors), which a crafted
# key (n prime) turns into seconds of modular exponentiation per call: refused instead.
_RSA_CRT_MEMBERS = ("p", "q", "dp", "dq", "qi")


def _check_jwk_cost(jwk: dict[str, Any]) -> None:
    if jwk.get("kty") != "RSA":
        return
    modulus = jwk.get("n")
    if isinstance(modulus, str) and len(modulus.rstrip("=")) * 6 > MAX_RSA_BITS + 6:
        raise _bad_key(f"RSA key of more than {MAX_RSA_BITS} bits")
    if "d" in jwk and not all(name in jwk for name in _RSA_CRT_MEMBERS):
        raise _bad_key("a private RSA JWK needs its CRT members p, q, dp, dq and qi")


def _from_jwk(jwk: dict[str, Any], algorithm: str | None) -> Any:
    _check_jwk_cost(jwk)
    try:
        return _check_size(jwt.PyJWK(jwk, algorithm=algorithm).key)
    # PyJWK raises KeyError or TypeError for some malformed members ({"kty": "oct"} without k,
    # an "alg" that is a list), ValueError from cryptography for inconsistent numbers.
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        problem = f"missing member {exc}" if isinstance(exc, KeyError) else str(exc)
        if algorithm is None:
            raise _bad_key(f"the JWK could not be read: {problem}") from None
        _from_jwk(jwk, None)  # unreadable on its own: the caller's input error (400)
        raise KeyUnusable(
            "invalid_key", f"the JWK cannot be used for {algorithm}: {problem}"
        ) from None


def _select(material: KeyMaterial, kid: Any) -> dict[str, Any]:
    keys = material.jwks or ()
    if not material.is_set:
        return keys[0]
    if isinstance(kid, str):
        for jwk in keys:
            if jwk.get("kid") == kid:
                return jwk
        raise KeyUnusable("key_not_found", f'no key with kid "{kid}" in the JWKS')
    if len(keys) == 1:
        return keys[0]
    raise KeyUnusable("key_not_found", f"no kid to choose among the JWKS's {len(keys)} keys")


def key_for(material: KeyMaterial, algorithm: str, kid: Any = None) -> tuple[Any, str | None]:
    """The key to use for ``algorithm`` (and the chosen JWK's kid); raises :class:`KeyUnusable`."""
    chosen_kid: str | None = None
    if material.jwks is not None:
        jwk = _select(material, kid)
        declared = jwk.get("alg")
        if declared is not None and declared != algorithm:
            raise KeyUnusable("invalid_key", f"the JWK is for {declared}, not {algorithm}")
        key = _from_jwk(jwk, algorithm)
        chosen_kid = jwk.get("kid") if isinstance(jwk.get("kid"), str) else None
    elif algorithm.startswith("HS"):
        key = material.text  # a PEM stays text: PyJWT refuses it as an HMAC secret
    elif material.loaded is not None:
        key = material.loaded
    else:
        raise KeyUnusable("invalid_key", f"{algorithm} needs a PEM or JWK key, not secret text")
    try:
        jwt.get_algorithm_by_name(algorithm).prepare_key(key)
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise KeyUnusable("invalid_key", f"the key cannot be used for {algorithm}: {exc}") from None
    return key, chosen_kid


def hmac_key_bytes(key: Any) -> int | None:
    """Length of an HMAC secret in bytes (for the short-key warning), None for other keys."""
    if isinstance(key, str):
        return len(key.encode())
    if isinstance(key, bytes):
        return len(key)
    return None
