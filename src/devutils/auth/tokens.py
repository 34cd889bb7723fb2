"""JWT bearer tokens (PyJWT), following RFC 8725.

- Algorithms come from an allow-list (AUTH_JWT_ALGORITHMS); ``none`` is refused at start-up.
- The key is chosen by the token's algorithm *family*, never by anything else the token says: HS*
  uses AUTH_JWT_SECRET; RS*/PS*/ES*/EdDSA use AUTH_JWT_PUBLIC_KEY_FILE or, by ``kid``, an entry of
  AUTH_JWT_JWKS_FILE (a lookup in the loaded file, never a fetch).  An HS token presented where
  only a public key is configured is refused as ``bad_algorithm`` (no key confusion).
- ``exp`` is required (a deliberate difference from the reference, which accepted tokens without
  it: a leaked token must not be valid forever); ``exp``/``nbf``/``iat`` allow AUTH_JWT_LEEWAY.
- ``iss`` and ``aud`` are checked when configured; ``aud`` may be a string or a list containing the
  configured audience.
- Key files hold public keys only: a JWKS entry with private members (``d``, ...) or a symmetric
  (``oct``) key stops start-up, as a private PEM does.  PyJWT keeps a private RSA JWK as a private
  key that cannot verify (every RS/PS token would be a 500); a key whose type does not fit the
  token's algorithm is refused as ``bad_algorithm`` before PyJWT sees it.
- A key file that no accepted public-key algorithm can use (a DSA/X25519/X448/DH PEM, an EC PEM
  with only RS256 accepted or on a curve no accepted ES algorithm uses, a JWKS none of whose keys
  fits) stops start-up: otherwise the service would run and refuse every RS/PS/ES/EdDSA token as
  ``bad_algorithm``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.dsa import DSAPublicKey
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.x448 import X448PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from devutils.auth.failures import CredentialError, Reason
from devutils.jws_text import signature_is_canonical
from devutils.settings import Settings, SettingsError

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_SAFE_SUBJECT = re.compile(r"[\x21-\x7e]{1,128}")
# The public key type each public-key algorithm family verifies with (by the algorithm's prefix).
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "RS": (RSAPublicKey,),
    "PS": (RSAPublicKey,),
    "ES": (EllipticCurvePublicKey,),
    "Ed": (Ed25519PublicKey, Ed448PublicKey),
}
# Names for start-up messages: the types of _KEY_TYPES, and those a PEM may hold that no JWT
# algorithm verifies with (key agreement or DSA), so an operator sees what the file holds.  DH is
# left to the fallback: naming its class makes cryptography warn that FFDH is deprecated.
_KEY_NAMES: tuple[tuple[type, str], ...] = (
    (RSAPublicKey, "an RSA public key"),
    (EllipticCurvePublicKey, "an EC public key"),
    (Ed25519PublicKey, "an Ed25519 public key"),
    (Ed448PublicKey, "an Ed448 public key"),
    (DSAPublicKey, "a DSA public key"),
    (X25519PublicKey, "an X25519 public key"),
    (X448PublicKey, "an X448 public key"),
)
# RFC 7518 §3.4: each ES algorithm verifies on one curve (PyJWT refuses a key on another).
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
# RFC 7518 §6.2.2 (EC, and OKP by RFC 8037) and §6.3.2 (RSA): members only a private key has.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


class JwtVerifier:
    def __init__(
        self,
        *,
        algorithms: Sequence[str],
        secret: str | None = None,
        public_key: Any = None,
        jwks: dict[str, Any] | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: float = 30.0,
    ) -> None:
        unknown = [alg for alg in algorithms if alg not in HMAC_ALGORITHMS | PUBLIC_KEY_ALGORITHMS]
        if unknown:
            raise SettingsError(f"AUTH_JWT_ALGORITHMS: unsupported algorithm(s) {unknown}")
        self._secret = secret.encode() if secret else None
        self._public_key = public_key
        self._jwks = jwks or {}
        # An algorithm only counts when its key family is configured.
        self.accepted = frozenset(
            alg
            for alg in algorithms
            if (alg in HMAC_ALGORITHMS and self._secret)
            or (alg in PUBLIC_KEY_ALGORITHMS and (public_key is not None or self._jwks))
        )
        if not self.accepted:
            raise SettingsError(
                "AUTH_JWT_ALGORITHMS: no listed algorithm has a configured key "
                "(AUTH_JWT_SECRET for HS*, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWT_JWKS_FILE otherwise)"
            )
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._options: Any = {"require": ["exp"], "verify_aud": audience is not None}

    def verify(self, presented: bytes) -> str:
        try:
            token = presented.decode("ascii")
            header = jwt.get_unverified_header(token)
        except (UnicodeDecodeError, jwt.PyJWTError):
            # PyJWTError is the library's documented base class: header checks it adds later
            # (``crit``, ``kid`` type, ...) must stay a 401, never escape as a 500.
            raise CredentialError("invalid_token", "token is not a well-formed JWT") from None
        if not signature_is_canonical(token):
            raise CredentialError("invalid_token", "token is not a well-formed JWT")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.accepted:
            raise CredentialError("bad_algorithm", "token algorithm not accepted")
        key = self._key_for(alg, header.get("kid"))
        if alg not in HMAC_ALGORITHMS and not isinstance(key, _KEY_TYPES[alg[:2]]):
            # Checked here rather than left to PyJWT, which fails on some misfits (a private or
            # symmetric key) with errors of its own that are not PyJWTError.
            raise CredentialError("bad_algorithm", "token algorithm does not fit the key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                options=self._options,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
            )
        except jwt.PyJWTError as exc:
            reason, details = _classify(exc)
            raise CredentialError(reason, details) from None
        except RecursionError:
            # A signed payload nested deeper than json.loads can follow (only a key holder can
            # sign one, but it must still not be a 500).
            raise CredentialError("invalid_token", "token is invalid") from None
        except (TypeError, ValueError):
            # A key of the wrong type for the algorithm (e.g. an EC JWK under RS256).
            raise CredentialError("bad_algorithm", "token algorithm does not fit the key") from None
        for claim in _TIME_CLAIMS:
            value = claims.get(claim)
            if value is not None and (type(value) is bool or not isinstance(value, int | float)):
                # RFC 7519 §2: a NumericDate is a JSON number; PyJWT would read "1796543000".
                raise CredentialError("invalid_token", f"token {claim} claim is not a number")
        return "jwt:" + _subject(claims.get("sub"))

    def _key_for(self, alg: str, kid: Any) -> Any:
        if alg in HMAC_ALGORITHMS:
            return self._secret
        if self._jwks:
            if isinstance(kid, str) and kid in self._jwks:
                return self._jwks[kid]
            if kid is None and len(self._jwks) == 1:
                return next(iter(self._jwks.values()))
            raise CredentialError("invalid_token", "token key id (kid) not known")
        return self._public_key


_TIME_CLAIMS = ("exp", "nbf", "iat")


def _classify(exc: jwt.PyJWTError) -> tuple[Reason, str]:
    # Most specific first: several of these subclass DecodeError / InvalidTokenError.
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "expired", "token has expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "not_yet_valid", "token is not yet valid"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        if exc.claim == "iss":
            return "wrong_issuer", "token has no issuer"
        if exc.claim == "aud":
            return "wrong_audience", "token has no audience"
        return "invalid_token", f"token lacks the required {exc.claim} claim"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "wrong_issuer", "token issuer not accepted"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "wrong_audience", "token audience not accepted"
    if isinstance(exc, jwt.InvalidAlgorithmError | jwt.InvalidKeyError):
        return "bad_algorithm", "token algorithm does not fit the key"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "invalid_token", "token signature is invalid"
    return "invalid_token", "token is invalid"


def _subject(sub: Any) -> str:
    """A log-safe subject: printable ASCII kept, anything else replaced by a digest prefix."""
    if isinstance(sub, str) and _SAFE_SUBJECT.fullmatch(sub):
        return sub
    if isinstance(sub, str) and sub:
        return "sha256-" + hashlib.sha256(sub.encode()).hexdigest()[:12]
    return "unknown"


def _refuse_secret_keys(path: Path, entries: list[Any]) -> None:
    """Stop start-up on a private or symmetric key: the file is meant to be public, and a secret
    in it is a leak to fix at its source.  The message names the key, never its material."""
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue  # PyJWKSet already skipped it as unusable
        kid = entry.get("kid")
        # The kid is the file's own label (bounded, repr-escaped); without one, the position.
        name = f"kid {kid[:64]!r}" if isinstance(kid, str) and kid else "no kid"
        where = f"AUTH_JWT_JWKS_FILE: {path}: key {index} ({name})"
        if entry.get("kty") == "oct":
            raise SettingsError(
                f"{where} is a symmetric (oct) key; the file must hold public keys only "
                "(HS* tokens use AUTH_JWT_SECRET)"
            )
        if any(member in entry for member in _PRIVATE_MEMBERS):
            raise SettingsError(
                f"{where} is a private key; the file must hold public keys only "
                '(publish it without its private members such as "d")'
            )


def _load_jwks(path: Path) -> dict[str, Any]:
    """The file's public keys by kid (``#<n>`` for one without); anything else stops start-up."""
    try:
        document = orjson.loads(path.read_bytes())
        if not isinstance(document, dict):
            raise ValueError('a JWKS is a JSON object with a "keys" list')
        key_set = jwt.PyJWKSet.from_dict(document)
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise SettingsError(f"AUTH_JWT_JWKS_FILE: cannot load {path}: {exc}") from None
    # from_dict succeeded, so "keys" is a non-empty list.
    _refuse_secret_keys(path, document["keys"])
    return {entry.key_id or f"#{index}": entry.key for index, entry in enumerate(key_set.keys)}


def _key_name(key: Any) -> str:
    """The key's type in words (an EC key with its curve's name), never its material."""
    for key_type, name in _KEY_NAMES:
        if isinstance(key, key_type):
            if isinstance(key, EllipticCurvePublicKey):
                return f"{name} (curve {key.curve.name})"
            return name
    return f"a public key of type {type(key).__name__}"


def _fits(key: Any, algorithms: Sequence[str]) -> bool:
    for alg in algorithms:
        if not isinstance(key, _KEY_TYPES[alg[:2]]):
            continue
        curve = _EC_CURVES.get(alg)
        if curve is None or (isinstance(key, EllipticCurvePublicKey) and key.curve.name == curve):
            return True
    return False


def _what_fits(algorithms: Sequence[str]) -> str:
    """The keys the algorithms verify with, e.g. "an RSA public key (for RS256, PS256)"."""
    by_key: dict[str, list[str]] = {}
    for alg in algorithms:
        key_types = _KEY_TYPES[alg[:2]]
        wanted = " or ".join(name for key_type, name in _KEY_NAMES if key_type in key_types)
        if alg in _EC_CURVES:
            wanted += f" on curve {_EC_CURVES[alg]}"
        by_key.setdefault(wanted, []).append(alg)
    return "; ".join(f"{wanted} (for {', '.join(algs)})" for wanted, algs in by_key.items())


def _refuse_unfit_keys(settings: Settings, public_key: Any, jwks: dict[str, Any]) -> None:
    """Stop start-up when a key file fits none of the accepted public-key algorithms: the service
    would otherwise run and refuse every such token.  A key that fits some of them is fine (the
    others may be meant for another key file, or are simply not used)."""
    algorithms = [alg for alg in settings.auth_jwt_algorithms if alg in PUBLIC_KEY_ALGORITHMS]
    if not algorithms:
        return  # no public-key algorithm accepted: the key file is unused, not misleading
    needs = f"what would fit: {_what_fits(algorithms)}"
    if public_key is not None and not _fits(public_key, algorithms):
        raise SettingsError(
            f"AUTH_JWT_PUBLIC_KEY_FILE: {settings.auth_jwt_public_key_file} holds "
            f"{_key_name(public_key)}, which no accepted algorithm of AUTH_JWT_ALGORITHMS "
            f"verifies with; {needs}"
        )
    # Per entry would be too strict: a published key set often holds keys for other uses or
    # algorithms.  Only a set in which no key fits refuses every token.
    if jwks and not any(_fits(key, algorithms) for key in jwks.values()):
        held = ", ".join(dict.fromkeys(_key_name(key) for key in jwks.values()))
        raise SettingsError(
            f"AUTH_JWT_JWKS_FILE: {settings.auth_jwt_jwks_file} holds {held}, none of which "
            f"an accepted algorithm of AUTH_JWT_ALGORITHMS verifies with; {needs}"
        )


def load_jwt_verifier(settings: Settings) -> JwtVerifier:
    """Read the configured keys once; unreadable or invalid key files stop start-up."""
    public_key: Any = None
    jwks: dict[str, Any] = {}
    if settings.auth_jwt_public_key_file:
        path = Path(settings.auth_jwt_public_key_file)
        try:
            public_key = load_pem_public_key(path.read_bytes())
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # UnsupportedAlgorithm (not a ValueError): a key type or curve cryptography does not
            # load, e.g. SM2; without it the service stopped with a traceback, not exit 78.
            raise SettingsError(f"AUTH_JWT_PUBLIC_KEY_FILE: cannot load {path}: {exc}") from None
    if settings.auth_jwt_jwks_file:
        jwks = _load_jwks(Path(settings.auth_jwt_jwks_file))
    if "none" in {alg.lower() for alg in settings.auth_jwt_algorithms}:
        raise SettingsError("AUTH_JWT_ALGORITHMS: 'none' is never accepted")
    verifier = JwtVerifier(
        algorithms=settings.auth_jwt_algorithms,
        secret=settings.auth_jwt_secret,
        public_key=public_key,
        jwks=jwks,
        issuer=settings.auth_jwt_issuer,
        audience=settings.auth_jwt_audience,
        leeway=settings.auth_jwt_leeway,
    )
    # After construction, so an unsupported or keyless algorithm list is reported first.
    _refuse_unfit_keys(settings, public_key, jwks)
    return verifier
