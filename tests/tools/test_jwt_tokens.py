"""transform/jwt/sign and transform/jwt/verify (issue #15 item 3).

Known answers: RFC 7515 appendix A.1 (HS256 with a JWK), RFC 8037 appendix A.4 (Ed25519) and
jwt.io's HS256 example.  Tokens for the claim checks are made with PyJWT directly, so the tool is
checked against an independent signer; keys are generated once per module with cryptography.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from devutils.errors import ValidationError
from devutils.registry import CallInfo, Registry, ToolContext, catalogue
from devutils.tools.tokens import JwtSignInput, JwtSignOutput, JwtVerifyInput, JwtVerifyOutput
from tests.conftest import FIXED_NOW, make_settings
from tests.support import run_server

SIGN_PATH = "/api/v1/transform/jwt/sign"
VERIFY_PATH = "/api/v1/transform/jwt/verify"
NOW = int(FIXED_NOW.timestamp())
SECRET = "a-test-secret-" + "0123456789abcdef" * 4  # 77 bytes: long enough for HS512

# RFC 7515 A.1: HS256 with this JWK; exp 1300819380 (2011-03-22).
RFC7515_A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
RFC7515_A1_JWK = '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}'
# RFC 8037 A.4: Ed25519 over the (non-JSON) payload "Example of Ed25519 signing".
RFC8037_A4_TOKEN = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
RFC8037_PUBLIC = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_PRIVATE = {**RFC8037_PUBLIC, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}
# jwt.io's HS256 example.
JWTIO_CLAIMS = {"sub": "1234567890", "name": "John Doe", "admin": True, "iat": 1516239022}
JWTIO_SECRET = "a-string-secret-at-least-256-bits-long"
JWTIO_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiYWRt"
    "aW4iOnRydWUsImlhdCI6MTUxNjIzOTAyMn0.KMUFsIDTnFmyG3nMiGM6H9FNFUROf3wh7SmqJp-QV30"
)

ALGORITHMS = [
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


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    private_jwk: dict[str, Any]
    public_jwk: dict[str, Any]


def _pair(key: Any) -> KeyPair:
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return KeyPair(
        private_pem, public_pem, orjson.loads(_jwk_of(key)), orjson.loads(_jwk_of(public))
    )


def _jwk_of(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return jwt.algorithms.RSAAlgorithm.to_jwk(key)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return jwt.algorithms.ECAlgorithm.to_jwk(key)
    return jwt.algorithms.OKPAlgorithm.to_jwk(key)


@pytest.fixture(scope="module")
def pairs() -> dict[str, KeyPair]:
    rsa_pair = _pair(rsa.generate_private_key(65537, 2048))
    return {
        "RS": rsa_pair,
        "PS": rsa_pair,
        "ES256": _pair(ec.generate_private_key(ec.SECP256R1())),
        "ES384": _pair(ec.generate_private_key(ec.SECP384R1())),
        "ES512": _pair(ec.generate_private_key(ec.SECP521R1())),
        "EdDSA": _pair(ed25519.Ed25519PrivateKey.generate()),
    }


def _pair_for(pairs: dict[str, KeyPair], algorithm: str) -> KeyPair:
    return pairs.get(algorithm) or pairs[algorithm[:2]]


def _keys(pairs: dict[str, KeyPair], algorithm: str, form: str) -> tuple[str, str]:
    """(signing key, verifying key) for an algorithm in one of the key forms."""
    if algorithm.startswith("HS"):
        jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("=")}
        private = public = {**jwk, "kid": "k1"}
        if form == "pem":  # secret text stands for the PEM form of the HMAC algorithms
            return SECRET, SECRET
    else:
        pair = _pair_for(pairs, algorithm)
        if form == "pem":
            return pair.private_pem, pair.public_pem
        private, public = {**pair.private_jwk, "kid": "k1"}, {**pair.public_jwk, "kid": "k1"}
    if form == "jwk":
        return orjson.dumps(private).decode(), orjson.dumps(public).decode()
    other = {"kty": "oct", "k": "c2Vjb25k", "kid": "k0"}
    return (
        orjson.dumps({"keys": [other, private]}).decode(),
        orjson.dumps({"keys": [other, public]}).decode(),
    )


@pytest.fixture
def at() -> Iterator[Callable[[datetime], Registry]]:
    made: list[Registry] = []

    def build(now: datetime) -> Registry:
        registry = Registry(catalogue(), ToolContext(make_settings(), clock=lambda: now))
        made.append(registry)
        return registry

    yield build
    for registry in made:
        registry.close()


async def sign(registry: Registry, **args: Any) -> JwtSignOutput:
    spec = registry.get("transform_jwt_sign")
    assert spec is not None
    result = await registry.invoke(spec, args, CallInfo(frontend="rest"))
    assert isinstance(result, JwtSignOutput)
    return result


async def verify(registry: Registry, **args: Any) -> JwtVerifyOutput:
    spec = registry.get("transform_jwt_verify")
    assert spec is not None
    result = await registry.invoke(spec, args, CallInfo(frontend="rest"))
    assert isinstance(result, JwtVerifyOutput)
    return result


def hs256(claims: dict[str, Any], secret: str = SECRET, **headers: Any) -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers=headers or None)


_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def with_trailing_bits(token: str) -> str:
    """The token with its signature's unused last bits set (HS256's 43 characters carry 258 bits
    for 256): the same bytes to a lenient base64 decoder, but not canonical base64url."""
    last = _B64URL.index(token[-1])
    return token[:-1] + _B64URL[last | 0b01]


# --- known answers ---------------------------------------------------------------------------


async def test_rfc7515_a1_hs256_with_a_jwk(at: Callable[[datetime], Registry]) -> None:
    before_exp = at(datetime(2011, 1, 1, tzinfo=UTC))
    result = await verify(
        before_exp, token=RFC7515_A1_TOKEN, key=RFC7515_A1_JWK, algorithms=["HS256"]
    )
    assert result.valid is True
    assert result.reason is None
    assert result.header == {"typ": "JWT", "alg": "HS256"}
    assert result.claims == {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
    later = await verify(
        at(FIXED_NOW), token=RFC7515_A1_TOKEN, key=RFC7515_A1_JWK, algorithms=["HS256"], leeway=300
    )
    assert (later.valid, later.reason) == (False, "expired")
    assert later.claims == result.claims  # shown, though not valid


async def test_rfc8037_a4_ed25519(at: Callable[[datetime], Registry]) -> None:
    registry = at(FIXED_NOW)
    for key in (RFC8037_PUBLIC, RFC8037_PRIVATE):
        args = {"token": RFC8037_A4_TOKEN, "key": orjson.dumps(key).decode()}
        result = await verify(registry, **args, algorithms=["EdDSA"])
        # The signature checks out; the payload is text, not JWT claims.
        assert (result.valid, result.reason) == (False, "malformed")
        assert "payload" in (result.message or "")
        assert result.header == {"alg": "EdDSA"}
        tampered = await verify(
            registry, **{**args, "token": RFC8037_A4_TOKEN[:-4] + "AAAA"}, algorithms=["EdDSA"]
        )
        assert (tampered.valid, tampered.reason) == (False, "bad_signature")


async def test_jwtio_hs256_example_signs_to_the_published_token(
    at: Callable[[datetime], Registry],
) -> None:
    registry = at(FIXED_NOW)
    result = await sign(registry, claims=JWTIO_CLAIMS, algorithm="HS256", key=JWTIO_SECRET)
    assert result.token == JWTIO_TOKEN
    assert result.header == {"alg": "HS256", "typ": "JWT"}
    assert result.warnings == []
    checked = await verify(registry, token=JWTIO_TOKEN, key=JWTIO_SECRET, algorithms=["HS256"])
    assert checked.valid is True
    assert checked.claims == JWTIO_CLAIMS


async def test_ed25519_signing_is_deterministic(at: Callable[[datetime], Registry]) -> None:
    registry = at(FIXED_NOW)
    key = orjson.dumps(RFC8037_PRIVATE).decode()
    first = await sign(registry, claims={"sub": "x"}, algorithm="EdDSA", key=key)
    second = await sign(registry, claims={"sub": "x"}, algorithm="EdDSA", key=key)
    assert first.token == second.token
    public = orjson.dumps(RFC8037_PUBLIC).decode()
    assert jwt.decode(first.token, jwt.PyJWK(RFC8037_PUBLIC).key, algorithms=["EdDSA"]) == {
        "sub": "x"
    }
    assert (await verify(registry, token=first.token, key=public, algorithms=["EdDSA"])).valid


# --- every algorithm, every key form -----------------------------------------------------------


@pytest.mark.parametrize("form", ["pem", "jwk", "jwks"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_sign_then_verify(
    at: Callable[[datetime], Registry], pairs: dict[str, KeyPair], algorithm: str, form: str
) -> None:
    registry = at(FIXED_NOW)
    signing, checking = _keys(pairs, algorithm, form)
    kid = "k1" if form == "jwks" else None
    signed = await sign(
        registry, claims={"sub": "alice", "n": 2**60}, algorithm=algorithm, key=signing, kid=kid
    )
    assert signed.header["alg"] == algorithm
    if form != "pem":
        assert signed.header["kid"] == "k1"  # from kid, or from the JWK
    result = await verify(registry, token=signed.token, key=checking, algorithms=[algorithm])
    assert (result.valid, result.reason, result.claims) == (
        True,
        None,
        {"sub": "alice", "n": 2**60},
    )
    # An independent verifier (PyJWT directly) accepts the token too.
    if algorithm.startswith("HS"):
        independent: Any = SECRET
    else:
        independent = serialization.load_pem_public_key(
            _pair_for(pairs, algorithm).public_pem.encode()
        )
    assert jwt.decode(signed.token, independent, algorithms=[algorithm])["sub"] == "alice"
    # One changed signature character is caught.
    head, body, signature = signed.token.split(".")
    flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
    bad = await verify(
        registry, token=f"{head}.{body}.{flipped}", key=checking, algorithms=[algorithm]
    )
    assert (bad.valid, bad.reason) == (False, "bad_signature")


# --- reasons as data ---------------------------------------------------------------------------

REASONS: list[tuple[str, dict[str, Any], str | None]] = [
    (hs256({"exp": NOW + 1}), {}, None),
    (hs256({"exp": NOW}), {}, "expired"),
    (hs256({"exp": NOW - 1}), {}, "expired"),
    (hs256({"exp": NOW - 1}), {"leeway": 5}, None),
    (hs256({"nbf": NOW + 100}), {}, "not_yet_valid"),
    (hs256({"nbf": NOW + 100}), {"leeway": 100}, None),
    (hs256({"iat": NOW + 100}), {}, "issued_in_future"),
    (hs256({"exp": "soon"}), {}, "invalid_claim"),
    (hs256({"exp": True}), {}, "invalid_claim"),
    (hs256({"sub": 42}), {}, "invalid_claim"),
    (hs256({"aud": "a"}), {"audience": "b"}, "invalid_audience"),
    (hs256({"aud": "a"}), {"audience": ["b", "a"]}, None),
    (hs256({"aud": ["x", "a"]}), {"audience": "a"}, None),
    (hs256({"aud": "a"}), {}, "invalid_audience"),
    (hs256({"iss": "x"}), {"issuer": "y"}, "invalid_issuer"),
    (hs256({"iss": "x"}), {"issuer": "x"}, None),
    (hs256({"iss": "x"}), {"requiredClaims": ["iss", "sub"]}, "missing_claim"),
    (hs256({"sub": "s"}, secret=SECRET + "!"), {}, "bad_signature"),
    (hs256({}), {"algorithms": ["HS384", "RS256"]}, "algorithm_not_allowed"),
    ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJzIn0.", {}, "algorithm_not_allowed"),  # alg "none"
    ("eyJhbGciOiJOT05FIn0.eyJzdWIiOiJzIn0.", {}, "algorithm_not_allowed"),  # alg "NONE"
    ("a.b", {}, "malformed"),
    ("!!.eyJzdWIiOiJzIn0.c2ln", {}, "malformed"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzIn0", {}, "malformed"),
    (hs256({"sub": "s"}) + "=", {}, "malformed"),
    (with_trailing_bits(hs256({"sub": "s"})), {}, "malformed"),
    (hs256({"sub": "s"})[:-10] + "\n" + hs256({"sub": "s"})[-10:], {}, "malformed"),
    (hs256({"exp": NOW - 1, "aud": "a"}), {"audience": "b"}, "invalid_audience"),
]
REASON_IDS = [
    "exp-in-one-second",
    "exp-now",
    "exp-past",
    "exp-within-leeway",
    "nbf-future",
    "nbf-within-leeway",
    "iat-future",
    "exp-not-a-number",
    "exp-boolean",
    "sub-not-a-string",
    "aud-mismatch",
    "aud-one-of-list",
    "aud-list-in-token",
    "aud-unchecked",
    "iss-mismatch",
    "iss-match",
    "required-claim-missing",
    "bad-signature",
    "alg-not-in-list",
    "alg-none",
    "alg-NONE",
    "two-parts",
    "bad-header-base64",
    "no-signature-part",
    "signature-padded",
    "signature-trailing-bits-set",
    "signature-with-line-break",
    "audience-checked-before-time",
]


@pytest.mark.parametrize(("token", "options", "reason"), REASONS, ids=REASON_IDS)
async def test_reasons(
    at: Callable[[datetime], Registry], token: str, options: dict[str, Any], reason: str | None
) -> None:
    args = {"token": token, "key": SECRET, "algorithms": ["HS256"], **options}
    result = await verify(at(FIXED_NOW), **args)
    assert (result.valid, result.reason) == (reason is None, reason)
    assert (result.message is None) is (reason is None)


async def test_reason_answers_over_rest_with_200(client: httpx.AsyncClient) -> None:
    token = hs256({"sub": "s", "exp": 1})
    response = await client.post(
        VERIFY_PATH, json={"token": token, "key": SECRET, "algorithms": ["HS256"]}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["valid"], data["reason"]) == (False, "expired")
    assert data["header"] == {"alg": "HS256", "typ": "JWT"}
    assert data["claims"] == {"sub": "s", "exp": 1}
    assert "expired" in data["message"]


# --- keys: JWKS selection, confusion, limits ----------------------------------------------------


def _oct(secret: str, kid: str | None = None, **extra: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = {
        "kty": "oct",
        "k": base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
    }
    return {**jwk, **({"kid": kid} if kid else {}), **extra}


@pytest.mark.parametrize(
    ("token", "jwks", "reason"),
    [
        (hs256({}, kid="b"), [_oct("wrong", "a"), _oct(SECRET, "b")], None),
        (hs256({}, kid="c"), [_oct("wrong", "a"), _oct(SECRET, "b")], "key_not_found"),
        (hs256({}), [_oct("wrong", "a"), _oct(SECRET, "b")], "key_not_found"),
        (hs256({}), [_oct(SECRET, "b")], None),
        (hs256({}, kid="a"), [_oct(SECRET, "a", alg="HS512")], "invalid_key"),
        (hs256({}, kid="a"), [{"kty": "EC", "kid": "a"}], None),
    ],
    ids=[
        "by-kid",
        "unknown-kid",
        "no-kid-two-keys",
        "no-kid-one-key",
        "jwk-for-another-alg",
        "selected-jwk-unreadable",
    ],
)
async def test_jwks_selection(
    at: Callable[[datetime], Registry],
    token: str,
    jwks: list[dict[str, Any]],
    reason: str | None,
) -> None:
    key = orjson.dumps({"keys": jwks}).decode()
    registry = at(FIXED_NOW)
    if jwks[0]["kty"] == "EC":  # an unreadable key is the caller's input error, not token data
        with pytest.raises(ValidationError):
            await verify(registry, token=token, key=key, algorithms=["HS256"])
        return
    result = await verify(registry, token=token, key=key, algorithms=["HS256"])
    assert (result.valid, result.reason) == (reason is None, reason)


def _forge_hs256(secret: bytes, claims: dict[str, Any]) -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    signing_input = f"{header}.{b64(orjson.dumps(claims))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


async def test_public_key_as_hmac_secret_never_verifies(
    at: Callable[[datetime], Registry], pairs: dict[str, KeyPair]
) -> None:
    """Algorithm confusion: an attacker signs HS256 with the server's public RSA key."""
    public_pem = pairs["RS"].public_pem
    forged = _forge_hs256(public_pem.encode(), {"sub": "admin"})
    registry = at(FIXED_NOW)
    result = await verify(registry, token=forged, key=public_pem, algorithms=["HS256", "RS256"])
    assert (result.valid, result.reason) == (False, "invalid_key")
    assert "HMAC" in (result.message or "")
    # With HS256 alone the key fits no accepted algorithm at all: the caller's mistake, a 400.
    with pytest.raises(ValidationError) as refused:
        await verify(registry, token=forged, key=public_pem, algorithms=["HS256"])
    assert refused.value.message == "Invalid key"
    # Nor can one sign HS256 with a PEM.
    with pytest.raises(ValidationError):
        await sign(registry, claims={"sub": "admin"}, algorithm="HS256", key=public_pem)


def _huge_rsa_public_pem(bits: int) -> str:
    numbers = rsa.RSAPublicNumbers(65537, (1 << (bits - 1)) | 1)
    return (
        numbers.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _encrypted_pem(pairs: dict[str, KeyPair]) -> str:
    key = serialization.load_pem_private_key(pairs["ES256"].private_pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()


@pytest.mark.parametrize(
    ("change", "details"),
    [
        ({"algorithms": []}, "algorithms"),
        ({"algorithms": ["none"]}, "algorithms"),
        ({"algorithms": ["NONE"]}, "algorithms"),
        ({"algorithms": ["HS1"]}, "algorithms"),
        ({"algorithms": None}, "algorithms"),
        ({"key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}, "PEM"),
        ({"key": "{not json"}, "not valid JSON"),
        ({"key": "{}"}, "kty"),
        ({"key": '{"keys": {}}'}, "keys"),
        ({"key": '{"keys": []}'}, "keys"),
        ({"key": orjson.dumps({"keys": [_oct("s")] * 65}).decode()}, "maximum is 64"),
        ({"key": '{"kty": "RSA", "n": "AQAB"}'}, "JWK could not be read"),
        ({"key": '{"kty": "oct", "k": ""}'}, "must not be empty"),
        ({"key": "x" * (64 * 1024 + 1)}, "key"),
        ({"key": "secret text", "algorithms": ["RS256"]}, "needs a PEM or JWK"),
        ({"token": "é" * 40000}, "maximum is 65536"),
        ({"token": "a" * (64 * 1024 + 1)}, "token"),
        ({"leeway": 301}, "leeway"),
    ],
    ids=[
        "no-algorithms",
        "alg-none",
        "alg-NONE",
        "alg-unknown",
        "algorithms-null",
        "bad-pem",
        "bad-json",
        "jwk-without-kty",
        "keys-not-an-array",
        "empty-jwks",
        "jwks-too-many",
        "jwk-unreadable",
        "jwk-empty-hmac-key",
        "key-too-long",
        "secret-for-rs256",
        "token-too-many-bytes",
        "token-too-long",
        "leeway-over-max",
    ],
)
async def test_bad_input_is_400(
    client: httpx.AsyncClient, change: dict[str, Any], details: str | None
) -> None:
    body = {"token": hs256({"sub": "s"}), "key": SECRET, "algorithms": ["HS256"], **change}
    response = await client.post(VERIFY_PATH, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    if details is not None:
        assert details in orjson.dumps(error).decode()


async def test_key_limits(at: Callable[[datetime], Registry], pairs: dict[str, KeyPair]) -> None:
    registry = at(FIXED_NOW)
    token = hs256({})
    with pytest.raises(ValidationError) as refused:
        await verify(registry, token=token, key=_huge_rsa_public_pem(8200), algorithms=["RS256"])
    assert refused.value.details == "RSA key of 8200 bits; the maximum is 8192"
    with pytest.raises(ValidationError) as encrypted:
        await verify(registry, token=token, key=_encrypted_pem(pairs), algorithms=["ES256"])
    assert encrypted.value.details == "encrypted private keys are not supported"
    # 8192 bits is allowed (a public key: no slow generation needed).
    at_limit = await verify(
        registry, token=token, key=_huge_rsa_public_pem(8192), algorithms=["RS256"]
    )
    assert at_limit.reason == "algorithm_not_allowed"


# --- sign options and refusals ---------------------------------------------------------------


async def test_expires_in_uses_the_clock(at: Callable[[datetime], Registry]) -> None:
    registry = at(FIXED_NOW)
    signed = await sign(registry, claims={"sub": "s"}, algorithm="HS256", key=SECRET, expiresIn=60)
    claims = jwt.decode(signed.token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {"sub": "s", "iat": NOW, "exp": NOW + 60}
    kept = await sign(
        registry, claims={"iat": 5}, algorithm="HS256", key=SECRET, expiresIn=1, header={"cty": "x"}
    )
    assert jwt.decode(kept.token, options={"verify_signature": False}) == {"iat": 5, "exp": NOW + 1}
    assert kept.header == {"alg": "HS256", "typ": "JWT", "cty": "x"}


async def test_short_hmac_secret_is_signed_with_a_warning(
    at: Callable[[datetime], Registry],
) -> None:
    signed = await sign(at(FIXED_NOW), claims={}, algorithm="HS512", key="short")
    assert signed.warnings == [
        "the HMAC secret is 5 bytes; RFC 7518 asks for at least 64 for HS512"
    ]


@pytest.mark.parametrize(
    ("args", "details"),
    [
        ({"algorithm": "RS256", "key": "public"}, "needs a private key"),
        ({"algorithm": "ES256", "key": "rsa-private"}, "cannot be used for ES256"),
        ({"header": {"alg": "none"}}, "header.alg"),
        ({"kid": "a", "header": {"kid": "b"}}, "differ"),
        ({"claims": {"exp": 1}, "expiresIn": 5}, "not both"),
        ({"key": orjson.dumps({"keys": [_oct("a", "1"), _oct("b", "2")]}).decode()}, "no kid"),
        ({"algorithm": "none"}, None),
        ({"expiresIn": 0}, None),
        ({"claims": []}, None),
    ],
    ids=[
        "public-key",
        "rsa-key-for-es256",
        "header-alg",
        "kid-mismatch",
        "exp-twice",
        "jwks-without-kid",
        "alg-none",
        "expires-in-zero",
        "claims-not-an-object",
    ],
)
async def test_sign_refusals(
    at: Callable[[datetime], Registry],
    pairs: dict[str, KeyPair],
    args: dict[str, Any],
    details: str | None,
) -> None:
    keys = {"public": pairs["RS"].public_pem, "rsa-private": pairs["RS"].private_pem}
    if args.get("key") in keys:
        args = {**args, "key": keys[args["key"]]}
    base = {"claims": {"sub": "s"}, "algorithm": "HS256", "key": SECRET}
    with pytest.raises(ValidationError) as refused:
        await sign(at(FIXED_NOW), **{**base, **args})
    if details is not None:
        assert details in str(refused.value.details)


def test_rsa_work_runs_in_the_pool(registry: Registry) -> None:
    limit = registry.context.settings.inline_max_work
    signing = registry.get("transform_jwt_sign")
    checking = registry.get("transform_jwt_verify")
    assert signing is not None
    assert checking is not None
    assert signing.estimate is not None
    assert checking.estimate is not None
    assert (signing.cost_class, checking.cost_class) == ("cpu", "cpu")
    assert (signing.rate_class, checking.rate_class) == ("crypto", "crypto")

    def sign_input(algorithm: str) -> JwtSignInput:
        return JwtSignInput(claims={}, algorithm=algorithm, key="k")  # type: ignore[arg-type]

    assert signing.estimate(sign_input("RS256")) > limit
    assert signing.estimate(sign_input("PS512")) > limit
    assert signing.estimate(sign_input("HS256")) <= limit
    private = JwtVerifyInput(token="t", key="-----BEGIN PRIVATE KEY-----", algorithms=["RS256"])
    public = JwtVerifyInput(token="t", key="-----BEGIN PUBLIC KEY-----", algorithms=["RS256"])
    assert checking.estimate(private) > limit
    assert checking.estimate(public) <= limit


# --- no key or token in the logs ---------------------------------------------------------------


def test_keys_and_tokens_never_reach_the_server_logs() -> None:
    canary = "CANARY-jwt-secret-" + base64.b32encode(hashlib.sha256(b"x").digest()).decode()
    env = {"LOG_LEVEL": "debug", "RATE_LIMIT_ENABLED": "false"}
    with run_server(env) as server, httpx.Client(base_url=server.base) as http:
        headers = {"Content-Type": "application/json", "Host": "localhost"}
        signed = http.post(
            SIGN_PATH,
            json={"claims": {"sub": "CANARY-claim"}, "algorithm": "HS256", "key": canary},
            headers=headers,
        )
        assert signed.status_code == 200, signed.text
        token = signed.json()["data"]["token"]
        checked = http.post(
            VERIFY_PATH,
            json={"token": token, "key": canary, "algorithms": ["HS256"]},
            headers=headers,
        )
        assert checked.json()["data"]["valid"] is True
        wrong = http.post(
            VERIFY_PATH,
            json={"token": token, "key": canary + "-wrong", "algorithms": ["HS256"]},
            headers=headers,
        )
        assert wrong.json()["data"]["reason"] == "bad_signature"
        refused = http.post(
            VERIFY_PATH,
            json={"token": token, "key": "-----BEGIN " + canary, "algorithms": ["RS256"]},
            headers=headers,
        )
        assert refused.status_code == 400
        server.stop()  # flushes buffered log lines
        logs = server.logs()
    assert "/api/v1/transform/jwt/verify" in logs  # logging was on and saw these requests
    for secret in (canary, token, token.split(".")[2], "CANARY-claim"):
        assert secret not in logs
