"""transform/jwt/sign and transform/jwt/verify: JWS compact tokens with PyJWT (decode lives in
:mod:`devutils.tools.transform`).

Verify *requires* the list of accepted algorithms (``none`` is not one of the choices) and answers
why a token is not valid as data (``reason``), in a fixed order: malformed, algorithm, key,
signature, required claims, audience, issuer, then exp, nbf and iat against the tool's clock with
``leeway``.  Input that is wrong on its own (an unreadable key, a key that fits none of the
accepted algorithms, oversized fields) is a 400.  Signing with RSA and verifying with an RSA
private key run in the ``cpu`` pool: loading a large RSA private key checks it, which takes time.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from pydantic import Field

from devutils.errors import ValidationError
from devutils.jws_text import signature_is_canonical
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools._jwkeys import (
    MAX_KEY_CHARS,
    Algorithm,
    KeyMaterial,
    KeyUnusable,
    hmac_key_bytes,
    key_for,
    parse_key,
)
from devutils.tools.transform import MAX_TOKEN_BYTES, SERIALIZABLE_DEPTH, decode_part

Reason = Literal[
    "malformed",
    "algorithm_not_allowed",
    "key_not_found",
    "invalid_key",
    "bad_signature",
    "missing_claim",
    "invalid_claim",
    "invalid_audience",
    "invalid_issuer",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "invalid_token",
]
MAX_LEEWAY_SECONDS = 300
MAX_EXPIRES_IN = 10 * 366 * 86400
_POOLED_WORK = 1 << 40  # an estimate above any INLINE_MAX_WORK: always off the event loop
_PRIVATE_KEYS = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)
# RFC 7518 §3.2: an HMAC key at least as long as the hash output.
_HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
# Subclasses before their bases (InvalidSignatureError is a DecodeError).
_REASONS: tuple[tuple[type[Exception], Reason], ...] = (
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.InvalidKeyError, "invalid_key"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAudienceError, "invalid_audience"),
    (jwt.InvalidIssuerError, "invalid_issuer"),
    (jwt.DecodeError, "malformed"),
    (jwt.exceptions.InvalidSubjectError, "invalid_claim"),
    (jwt.exceptions.InvalidJTIError, "invalid_claim"),
    (jwt.PyJWTError, "invalid_token"),
)
_EXAMPLE_SECRET = "a-string-secret-at-least-256-bits-long"  # noqa: S105 - documentation example
_EXAMPLE_CLAIMS = {"sub": "1234567890", "name": "John Doe", "admin": True, "iat": 1516239022}
_EXAMPLE_JWT = (  # jwt.io's example, signed with _EXAMPLE_SECRET
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRt"
    "aW4iOnRydWUsImlhdCI6MTUxNjIzOTAyMn0.KMUFsIDTnFmyG3nMiGM6H9FNFUROf3wh7SmqJp-QV30"
)


def _rsa_family(algorithm: str) -> bool:
    return algorithm.startswith(("RS", "PS"))


class JwtSignInput(ToolInput):
    claims: dict[str, Any] = Field(description="The claims (payload), a JSON object.")
    algorithm: Algorithm = Field(description="Signing algorithm.")
    key: str = Field(
        min_length=1,
        max_length=MAX_KEY_CHARS,
        description="HMAC secret text, PEM private key, JWK or JWKS (pick with kid).",
    )
    kid: str | None = Field(None, max_length=256, description="Key id for the header and JWKS.")
    header: dict[str, Any] | None = Field(None, description="Extra header fields (not alg).")
    expires_in: int | None = Field(
        None, ge=1, le=MAX_EXPIRES_IN, description="Seconds: sets exp (and iat if absent)."
    )


class JwtSignOutput(ToolOutput):
    token: str = Field(description="The signed JWT (compact JWS).")
    header: dict[str, Any] = Field(description="The header that was signed.")
    warnings: list[str] = Field(description="Weak choices, such as a short HMAC secret.")


def _key_load_may_be_slow(key: str) -> bool:
    """Loading a private key checks it (RSA: the primality of p and q, seconds for 8192 bits):
    a private PEM, or a JWK(S) holding a private RSA key, loads in the pool whatever the
    algorithm.  The JWK text is parsed to know (escapes such as "\u0064" hide a member name)."""
    if "PRIVATE KEY" in key:
        return True
    text = key.lstrip()
    if not text.startswith("{"):
        return False
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False  # refused as malformed when the key is read
    keys = value.get("keys") if isinstance(value, dict) and "keys" in value else [value]
    return isinstance(keys, list) and any(
        isinstance(jwk, dict) and jwk.get("kty") == "RSA" and "d" in jwk for jwk in keys
    )


def _sign_work(inp: JwtSignInput) -> int:
    if _rsa_family(inp.algorithm) or _key_load_may_be_slow(inp.key):
        return _POOLED_WORK
    return len(inp.key)


def _quiet_encode(claims: dict[str, Any], key: Any, algorithm: str, headers: dict[str, Any]) -> str:
    with warnings.catch_warnings():
        # Short HMAC secrets are answered in the output's warnings instead.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


@tool(
    "/api/v1/transform/jwt/sign",
    cost="cpu",
    estimate=_sign_work,
    title="Sign a JWT",
    description=(
        "Sign claims as a JWT with HS*, RS*, PS*, ES* or EdDSA; the key is secret text, a PEM "
        "private key, a JWK or a JWKS."
    ),
    rate_class="crypto",
    examples=(Example({"claims": _EXAMPLE_CLAIMS, "algorithm": "HS256", "key": _EXAMPLE_SECRET}),),
)
def transform_jwt_sign(inp: JwtSignInput, ctx: ToolContext) -> JwtSignOutput:
    header = dict(inp.header or {})
    if "alg" in header:
        raise ValidationError("Invalid header", "set the algorithm with algorithm, not header.alg")
    if "b64" in header or "crit" in header:
        # b64=false detaches the payload (RFC 7797), crit names extensions a verifier must know:
        # neither gives the compact JWT with its claims that this tool promises.
        raise ValidationError("Invalid header", "b64 and crit are not supported")
    kid = inp.kid if inp.kid is not None else header.get("kid")
    if inp.kid is not None and header.get("kid", inp.kid) != inp.kid:
        raise ValidationError("Invalid header", "kid and header.kid differ")
    material = parse_key(inp.key)
    try:
        key, chosen_kid = key_for(material, inp.algorithm, kid)
    except KeyUnusable as exc:
        raise ValidationError("Invalid key", exc.message) from None
    if not inp.algorithm.startswith("HS") and not isinstance(key, _PRIVATE_KEYS):
        raise ValidationError("Invalid key", f"{inp.algorithm} signing needs a private key")
    if kid is None and chosen_kid is not None:
        header["kid"] = chosen_kid
    elif kid is not None:
        header["kid"] = kid
    claims = dict(inp.claims)
    if inp.expires_in is not None:
        if "exp" in claims:
            raise ValidationError("Invalid claims", "give exp in claims or expiresIn, not both")
        now = int(ctx.clock().timestamp())
        claims.setdefault("iat", now)
        claims["exp"] = now + inp.expires_in
    try:
        token = _quiet_encode(claims, key, inp.algorithm, header)
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise ValidationError("JWT sign failed", str(exc)) from None
    notes: list[str] = []
    size = hmac_key_bytes(key)
    minimum = _HMAC_MIN_BYTES.get(inp.algorithm)
    if size is not None and minimum is not None and size < minimum:
        notes.append(
            f"the HMAC secret is {size} bytes; RFC 7518 asks for at least {minimum} "
            f"for {inp.algorithm}"
        )
    return JwtSignOutput(token=token, header=jwt.get_unverified_header(token), warnings=notes)


class JwtVerifyInput(ToolInput):
    token: str = Field(min_length=1, max_length=MAX_TOKEN_BYTES, description="The JWT.")
    key: str = Field(
        min_length=1,
        max_length=MAX_KEY_CHARS,
        description="HMAC secret text, PEM public key or certificate, JWK or JWKS (by kid).",
    )
    algorithms: list[Algorithm] = Field(
        min_length=1, max_length=13, description="Accepted algorithms (required)."
    )
    audience: str | list[str] | None = Field(None, description="Accepted aud value(s).")
    issuer: str | None = Field(None, description="Required iss.")
    leeway: int = Field(
        0, ge=0, le=MAX_LEEWAY_SECONDS, description="Seconds of clock skew for exp/nbf/iat."
    )
    required_claims: list[str] = Field(
        default_factory=list, max_length=20, description="Claims that must be present."
    )


class JwtVerifyOutput(ToolOutput):
    valid: bool = Field(description="True when every check passed.")
    reason: Reason | None = Field(None, description="The first failed check (null when valid).")
    message: str | None = Field(None, description="What failed, in words.")
    header: dict[str, Any] | None = Field(None, description="Decoded header.")
    claims: dict[str, Any] | None = Field(
        None, description="Decoded claims (unverified if invalid)."
    )


def _verify_work(inp: JwtVerifyInput) -> int:
    if _key_load_may_be_slow(inp.key):
        return _POOLED_WORK
    return len(inp.token) + len(inp.key)


def _usable_for_some(material: KeyMaterial, algorithms: list[Algorithm]) -> None:
    """A single key that fits none of the accepted algorithms is the caller's mistake: 400."""
    if material.is_set:
        return  # which JWKS key applies depends on the token's kid
    problems = []
    for name in dict.fromkeys(algorithms):
        try:
            key_for(material, name)
            return
        except KeyUnusable as exc:
            problems.append(exc.message)
    raise ValidationError("Invalid key", "; ".join(problems))


def _time_problem(claims: dict[str, Any], now: float, leeway: int) -> tuple[Reason, str] | None:
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            return "invalid_claim", f"{name} must be a number"
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if exp is not None and exp <= now - leeway:
        return "expired", f"the token expired at {exp} (now {int(now)}, leeway {leeway} s)"
    if nbf is not None and nbf > now + leeway:
        return "not_yet_valid", f"the token is not valid before {nbf} (now {int(now)})"
    if iat is not None and iat > now + leeway:
        return "issued_in_future", f"the token was issued at {iat}, after now ({int(now)})"
    return None


def _display(token: str, ctx: ToolContext) -> tuple[dict[str, Any] | None, ...]:
    parts = token.split(".")
    depth = min(ctx.settings.max_json_depth, SERIALIZABLE_DEPTH)
    shown: list[dict[str, Any] | None] = []
    for index, name in ((0, "header"), (1, "payload")):
        try:
            shown.append(decode_part(parts[index], name, depth) if len(parts) == 3 else None)
        except ValidationError:
            shown.append(None)
    return tuple(shown)


def _unshowable(token: str, ctx: ToolContext) -> str:
    """Why claims the signature covers cannot be shown as JSON (too deep, NaN, Infinity ...)."""
    depth = min(ctx.settings.max_json_depth, SERIALIZABLE_DEPTH)
    try:
        decode_part(token.split(".")[1], "payload", depth)
    except ValidationError as exc:
        return str(exc.details or exc.message)
    return "the claims are not a JSON object"


@tool(
    "/api/v1/transform/jwt/verify",
    cost="cpu",
    estimate=_verify_work,
    title="Verify a JWT",
    description=(
        "Verify a JWT's signature and exp/nbf/iat/aud/iss against a key and the accepted "
        "algorithms; a failed check is answered as valid=false with its reason."
    ),
    rate_class="crypto",
    examples=(
        Example(
            {"token": _EXAMPLE_JWT, "key": _EXAMPLE_SECRET, "algorithms": ["HS256"]},
            "valid",
        ),
        Example(
            {"token": _EXAMPLE_JWT, "key": _EXAMPLE_SECRET, "algorithms": ["HS384"]},
            "algorithm not accepted",
        ),
    ),
)
def transform_jwt_verify(inp: JwtVerifyInput, ctx: ToolContext) -> JwtVerifyOutput:
    material = parse_key(inp.key)
    _usable_for_some(material, inp.algorithms)
    size = len(inp.token.encode())
    if size > MAX_TOKEN_BYTES:
        raise ValidationError("Token too large", f"{size} bytes; the maximum is {MAX_TOKEN_BYTES}")
    header, shown = _display(inp.token, ctx)

    def invalid(reason: Reason, message: str) -> JwtVerifyOutput:
        return JwtVerifyOutput(
            valid=False, reason=reason, message=message, header=header, claims=shown
        )

    if header is None:
        return invalid("malformed", "not a JWT: expected three base64url parts, JSON header")
    if not signature_is_canonical(inp.token):
        return invalid("malformed", "the signature is not unpadded canonical base64url")
    algorithm = header.get("alg")
    if algorithm not in inp.algorithms:
        accepted = ", ".join(dict.fromkeys(inp.algorithms))
        return invalid("algorithm_not_allowed", f"alg {algorithm!r} is not one of: {accepted}")
    try:
        key, _ = key_for(material, str(algorithm), header.get("kid"))
    except KeyUnusable as exc:
        return invalid(exc.reason, exc.message)
    if isinstance(key, _PRIVATE_KEYS):
        key = key.public_key()  # a private key verifies through its public half
    options: Any = {
        "verify_exp": False,  # checked below against the tool's clock
        "verify_nbf": False,
        "verify_iat": False,
        "require": list(inp.required_claims),
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            claims = jwt.decode(
                inp.token,
                key,
                algorithms=[str(algorithm)],
                options=options,
                audience=inp.audience,
                issuer=inp.issuer,
            )
    except jwt.PyJWTError as exc:
        reason = next(reason for cls, reason in _REASONS if isinstance(exc, cls))
        return invalid(reason, str(exc) or reason)
    if shown is None:
        return invalid("malformed", _unshowable(inp.token, ctx))
    problem = _time_problem(claims, ctx.clock().timestamp(), inp.leeway)
    if problem is not None:
        return invalid(*problem)
    return JwtVerifyOutput(valid=True, header=header, claims=shown)
