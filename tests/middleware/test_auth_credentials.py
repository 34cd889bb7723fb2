"""Credential checking without HTTP: header rules, API keys, the JWT matrix."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest

from devutils.auth import AUTH_REASONS, CredentialError, build_authenticator
from devutils.auth.api_keys import ApiKeyVerifier
from devutils.auth.credentials import Authenticator, presented_credential
from devutils.auth.tokens import load_jwt_verifier
from devutils.observability.metrics import AUTH_FAILURES
from devutils.settings import SettingsError
from tests.conftest import make_settings
from tests.middleware.auth_support import (
    AUDIENCE,
    ISSUER,
    SECRET,
    KeyMaterial,
    claims,
    hs_token,
    make_keys,
    unsigned_token,
)

KEY_1 = "k1-" + "a" * 40
KEY_2 = "k2-" + "b" * 40
FP_1 = "key:" + hashlib.sha256(KEY_1.encode()).hexdigest()[:12]
FP_2 = "key:" + hashlib.sha256(KEY_2.encode()).hexdigest()[:12]


@pytest.fixture(scope="module")
def keys() -> KeyMaterial:
    return make_keys()


def api_key_auth() -> Authenticator:
    authenticator = build_authenticator(
        make_settings(auth_method="api_key", auth_api_keys=(KEY_1, KEY_2))
    )
    assert authenticator is not None
    return authenticator


def outcome(authenticator: Authenticator, headers: list[tuple[bytes, bytes]]) -> str:
    """The principal, or "refused:<reason>"."""
    try:
        return authenticator(headers)
    except CredentialError as exc:
        return f"refused:{exc.reason}"


# --- API keys -----------------------------------------------------------------------------------

API_KEY_CASES: list[tuple[str, list[tuple[bytes, bytes]], str]] = [
    ("x-api-key", [(b"x-api-key", KEY_1.encode())], FP_1),
    ("second-key-valid-too", [(b"x-api-key", KEY_2.encode())], FP_2),
    ("bearer", [(b"authorization", b"Bearer " + KEY_1.encode())], FP_1),
    ("bearer-lowercase-scheme", [(b"authorization", b"bearer " + KEY_2.encode())], FP_2),
    ("bearer-uppercase-scheme", [(b"authorization", b"BEARER " + KEY_1.encode())], FP_1),
    ("no-credentials", [(b"accept", b"*/*")], "refused:missing"),
    ("unknown-key", [(b"x-api-key", b"not-a-key")], "refused:invalid_key"),
    ("prefix-of-key", [(b"x-api-key", KEY_1[:-1].encode())], "refused:invalid_key"),
    ("key-plus-suffix", [(b"x-api-key", KEY_1.encode() + b"x")], "refused:invalid_key"),
    ("key-case-changed", [(b"x-api-key", KEY_1.upper().encode())], "refused:invalid_key"),
    ("trailing-space", [(b"x-api-key", KEY_1.encode() + b" ")], "refused:malformed"),
    ("leading-tab", [(b"x-api-key", b"\t" + KEY_1.encode())], "refused:malformed"),
    ("bearer-two-spaces", [(b"authorization", b"Bearer  " + KEY_1.encode())], "refused:malformed"),
    ("bearer-empty", [(b"authorization", b"Bearer")], "refused:malformed"),
    ("empty-x-api-key", [(b"x-api-key", b"")], "refused:malformed"),
    ("basic-scheme", [(b"authorization", b"Basic " + KEY_1.encode())], "refused:malformed"),
    (
        "duplicate-x-api-key",
        [(b"x-api-key", KEY_1.encode()), (b"x-api-key", KEY_1.encode())],
        "refused:malformed",
    ),
    (
        "duplicate-authorization",
        [(b"authorization", b"Bearer " + KEY_1.encode())] * 2,
        "refused:malformed",
    ),
    (
        "both-headers",
        [(b"x-api-key", KEY_1.encode()), (b"authorization", b"Bearer " + KEY_1.encode())],
        "refused:malformed",
    ),
    ("too-long", [(b"x-api-key", b"k" * 8193)], "refused:malformed"),
]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [case[1:] for case in API_KEY_CASES],
    ids=[case[0] for case in API_KEY_CASES],
)
def test_api_key_matrix(headers: list[tuple[bytes, bytes]], expected: str) -> None:
    assert outcome(api_key_auth(), headers) == expected


def test_every_configured_key_is_compared_with_equal_length_digests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No early exit and no length leak: one 32-byte comparison per configured key."""
    calls: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr("devutils.auth.api_keys.hmac.compare_digest", spy)
    verifier = ApiKeyVerifier([KEY_1, KEY_2, "third"])
    assert verifier.verify(KEY_1.encode()) == FP_1  # matches the first key, still checks all
    assert calls == [(32, 32)] * 3
    calls.clear()
    with pytest.raises(CredentialError):
        verifier.verify(b"x")
    assert calls == [(32, 32)] * 3


@pytest.mark.parametrize("configured", [(), ("",)], ids=["no-keys", "one-empty-key"])
@pytest.mark.parametrize("presented", [b"", b"anything"], ids=["empty", "non-empty"])
def test_empty_key_list_accepts_nothing(configured: tuple[str, ...], presented: bytes) -> None:
    with pytest.raises(CredentialError) as info:
        ApiKeyVerifier(configured).verify(presented)
    assert info.value.reason == "invalid_key"


@pytest.mark.parametrize("value", ["", " , ,"], ids=["empty", "only-commas"])
def test_api_key_mode_without_keys_does_not_start(value: str) -> None:
    with pytest.raises(SettingsError, match="AUTH_API_KEYS"):
        make_settings(auth_method="api_key", auth_api_keys=value)


def test_error_carries_challenge_and_no_credential() -> None:
    with pytest.raises(CredentialError) as info:
        api_key_auth()([(b"x-api-key", b"CANARY-secret-key")])
    error = info.value
    assert error.status == 401
    assert error.code == "AUTHENTICATION_ERROR"
    challenge = error.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="dev-utilities", error="invalid_token"')
    assert "CANARY" not in orjson.dumps(error.envelope()).decode() + challenge


def test_missing_credentials_challenge_has_no_error_code() -> None:
    with pytest.raises(CredentialError) as info:
        api_key_auth()([])
    assert info.value.headers["WWW-Authenticate"] == 'Bearer realm="dev-utilities"'
    assert info.value.message == "Authentication required"


# --- JWT ----------------------------------------------------------------------------------------


def jwt_auth(**overrides: Any) -> Authenticator:
    settings: dict[str, Any] = {"auth_method": "jwt", "auth_jwt_secret": SECRET}
    settings.update(overrides)
    authenticator = build_authenticator(make_settings(**settings))
    assert authenticator is not None
    return authenticator


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", b"Bearer " + token.encode())]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tampered(token: str) -> str:
    header, _, signature = token.split(".")
    return ".".join([header, _b64(orjson.dumps(claims(sub="admin"))), signature])


JWT_CASES: list[tuple[str, Callable[[], str], str]] = [
    ("hs256", lambda: hs_token(claims()), "jwt:agent-7"),
    ("hs384", lambda: hs_token(claims(), "HS384"), "jwt:agent-7"),
    ("hs512", lambda: hs_token(claims(), "HS512"), "jwt:agent-7"),
    ("expired", lambda: hs_token(claims(exp=claims()["iat"] - 120)), "refused:expired"),
    ("expired-within-leeway", lambda: hs_token(claims(exp=claims()["iat"] - 5)), "jwt:agent-7"),
    ("not-yet-valid", lambda: hs_token(claims(nbf=claims()["iat"] + 120)), "refused:not_yet_valid"),
    ("nbf-within-leeway", lambda: hs_token(claims(nbf=claims()["iat"] + 5)), "jwt:agent-7"),
    ("no-exp", lambda: hs_token(claims(exp=None)), "refused:invalid_token"),
    ("exp-as-text", lambda: hs_token(claims(exp=str(claims()["exp"]))), "refused:invalid_token"),
    ("nbf-as-text", lambda: hs_token(claims(nbf=str(claims()["iat"]))), "refused:invalid_token"),
    ("iat-as-bool", lambda: hs_token(claims(iat=True)), "refused:invalid_token"),
    ("float-times", lambda: hs_token(claims(iat=claims()["iat"] + 0.5)), "jwt:agent-7"),
    ("alg-none", lambda: unsigned_token(claims()), "refused:bad_algorithm"),
    ("wrong-secret", lambda: hs_token(claims(), secret=SECRET + "x"), "refused:invalid_token"),
    ("tampered-payload", lambda: tampered(hs_token(claims())), "refused:invalid_token"),
    ("not-a-jwt", lambda: "abc.def", "refused:invalid_token"),
    ("padded-signature", lambda: hs_token(claims()) + "=", "refused:invalid_token"),
    ("no-sub", lambda: hs_token(claims(sub=None)), "jwt:unknown"),
    (
        "odd-sub-is-digested",
        lambda: hs_token(claims(sub="a b")),
        "jwt:sha256-" + hashlib.sha256(b"a b").hexdigest()[:12],
    ),
]


@pytest.mark.parametrize(
    ("make_token", "expected"),
    [case[1:] for case in JWT_CASES],
    ids=[case[0] for case in JWT_CASES],
)
def test_jwt_matrix(make_token: Callable[[], str], expected: str) -> None:
    assert outcome(jwt_auth(), bearer(make_token())) == expected


STRICT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("issuer-and-audience", {"iss": ISSUER, "aud": AUDIENCE}, "jwt:agent-7"),
    ("audience-list", {"iss": ISSUER, "aud": ["other", AUDIENCE]}, "jwt:agent-7"),
    ("wrong-issuer", {"iss": "https://evil.example", "aud": AUDIENCE}, "refused:wrong_issuer"),
    ("missing-issuer", {"aud": AUDIENCE}, "refused:wrong_issuer"),
    ("wrong-audience", {"iss": ISSUER, "aud": "other"}, "refused:wrong_audience"),
    ("audience-list-without-ours", {"iss": ISSUER, "aud": ["a", "b"]}, "refused:wrong_audience"),
    ("missing-audience", {"iss": ISSUER}, "refused:wrong_audience"),
]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [case[1:] for case in STRICT_CASES],
    ids=[case[0] for case in STRICT_CASES],
)
def test_jwt_issuer_and_audience(extra: dict[str, Any], expected: str) -> None:
    authenticator = jwt_auth(auth_jwt_issuer=ISSUER, auth_jwt_audience=AUDIENCE)
    assert outcome(authenticator, bearer(hs_token(claims(**extra)))) == expected


def test_unconfigured_audience_is_not_checked() -> None:
    assert outcome(jwt_auth(), bearer(hs_token(claims(aud="anything")))) == "jwt:agent-7"


def test_jwt_mode_ignores_x_api_key() -> None:
    token = hs_token(claims())
    assert outcome(jwt_auth(), [(b"x-api-key", token.encode())]) == "refused:missing"


def test_rs256_with_public_key_file(keys: KeyMaterial, tmp_path: Path) -> None:
    authenticator = jwt_auth(
        auth_jwt_secret=None,
        auth_jwt_public_key_file=str(keys.write_public_pem(tmp_path)),
        auth_jwt_algorithms="RS256",
    )
    good = jwt.encode(claims(), keys.rsa_private, algorithm="RS256")
    assert outcome(authenticator, bearer(good)) == "jwt:agent-7"
    other = jwt.encode(claims(), make_keys().rsa_private, algorithm="RS256")
    assert outcome(authenticator, bearer(other)) == "refused:invalid_token"
    assert outcome(authenticator, bearer(hs_token(claims()))) == "refused:bad_algorithm"


def test_hs_token_signed_with_the_public_key_is_refused(keys: KeyMaterial, tmp_path: Path) -> None:
    """Key confusion: an HS256 token whose HMAC key is the server's public key PEM."""
    pem_path = keys.write_public_pem(tmp_path)
    header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    payload = _b64(orjson.dumps(claims()))
    signing_input = f"{header}.{payload}".encode()
    signature = _b64(hmac.new(keys.rsa_public_pem, signing_input, "sha256").digest())
    forged = f"{header}.{payload}.{signature}"
    for algorithms in ("RS256", "RS256,HS256"):
        authenticator = jwt_auth(
            auth_jwt_secret=None,
            auth_jwt_public_key_file=str(pem_path),
            auth_jwt_algorithms=algorithms,
        )
        assert outcome(authenticator, bearer(forged)) == "refused:bad_algorithm"


def test_jwks_selects_key_by_kid(keys: KeyMaterial, tmp_path: Path) -> None:
    authenticator = jwt_auth(
        auth_jwt_secret=None,
        auth_jwt_jwks_file=str(keys.write_jwks(tmp_path)),
        auth_jwt_algorithms="RS256,ES256",
    )
    rsa_token = jwt.encode(claims(), keys.rsa_private, "RS256", headers={"kid": "rsa-1"})
    ec_token = jwt.encode(claims(), keys.ec_private, "ES256", headers={"kid": "ec-1"})
    unknown = jwt.encode(claims(), keys.rsa_private, "RS256", headers={"kid": "nope"})
    crossed = jwt.encode(claims(), keys.ec_private, "ES256", headers={"kid": "rsa-1"})
    assert outcome(authenticator, bearer(rsa_token)) == "jwt:agent-7"
    assert outcome(authenticator, bearer(ec_token)) == "jwt:agent-7"
    assert outcome(authenticator, bearer(unknown)) == "refused:invalid_token"
    assert outcome(authenticator, bearer(crossed)) == "refused:bad_algorithm"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"auth_jwt_algorithms": "HS256,none"}, "never accepted"),
        ({"auth_jwt_algorithms": "XX999"}, "unsupported"),
        ({"auth_jwt_algorithms": "RS256"}, "no listed algorithm"),
        ({"auth_jwt_public_key_file": "/nonexistent/key.pem"}, "AUTH_JWT_PUBLIC_KEY_FILE"),
        ({"auth_jwt_jwks_file": "/nonexistent/jwks.json"}, "AUTH_JWT_JWKS_FILE"),
    ],
    ids=["alg-none", "unknown-alg", "no-key-for-alg", "missing-pem", "missing-jwks"],
)
def test_bad_jwt_configuration_stops_start_up(overrides: dict[str, Any], message: str) -> None:
    settings = make_settings(auth_method="jwt", auth_jwt_secret=SECRET, **overrides)
    with pytest.raises(SettingsError, match=message):
        load_jwt_verifier(settings)


def test_presented_credential_reads_only_authorization_in_jwt_mode() -> None:
    headers = [(b"x-api-key", b"k"), (b"authorization", b"Bearer t")]
    assert presented_credential(headers, accept_api_key_header=False) == b"t"


def test_every_reason_is_documented_on_the_metric() -> None:
    help_text = AUTH_FAILURES._documentation
    assert [reason for reason in AUTH_REASONS if reason not in help_text] == []
