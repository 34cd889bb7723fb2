"""JWKS key files hold public keys only, and no key type can turn a bearer token into a 500.

A private JWK (``d``) or a symmetric ``oct`` key stops ``devutils serve`` with exit code 78, as a
private PEM in AUTH_JWT_PUBLIC_KEY_FILE does; every token checked against any key type is either
accepted or a 401."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from devutils.auth.failures import CredentialError
from devutils.auth.tokens import JwtVerifier, load_jwt_verifier
from devutils.settings import SettingsError
from tests.conftest import make_settings
from tests.support import DEVUTILS, run_server

ALGORITHMS = "RS256,PS256,ES256,ES384,EdDSA"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC384_KEY = ec.generate_private_key(ec.SECP384R1())
SECP256K1_KEY = ec.generate_private_key(ec.SECP256K1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
# Each signing algorithm with the key that signs it.
SIGNERS: dict[str, Any] = {
    "RS256": RSA_KEY,
    "PS256": RSA_KEY,
    "ES256": EC_KEY,
    "ES384": EC384_KEY,
    "EdDSA": ED_KEY,
}


def jwk(key: Any, kid: str | None) -> dict[str, Any]:
    """The JWK of ``key`` (private members included when ``key`` is private)."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        to_jwk: Callable[[Any], str] = RSAAlgorithm.to_jwk
    elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        to_jwk = ECAlgorithm.to_jwk
    else:
        to_jwk = OKPAlgorithm.to_jwk
    entry: dict[str, Any] = json.loads(to_jwk(key))
    if kid is not None:
        entry["kid"] = kid
    return entry


OCT_JWK = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "kid": "o1"}
SECRET_JWKS = {
    "rsa": jwk(RSA_KEY, "r1"),
    "ec": jwk(EC_KEY, "e1"),
    "okp": jwk(ED_KEY, "d1"),
    "oct": OCT_JWK,
}


def token(alg: str, kid: str | None = None, **claims: Any) -> str:
    payload = {"sub": "agent-7", "exp": int(time.time()) + 300, **claims}
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, SIGNERS[alg], alg, headers=headers)


def forged(alg: str, kid: str | None = None) -> str:
    """A token with a well-formed but wrong signature: what a stranger can send."""
    head, payload, signature = token(alg, kid).split(".")
    return f"{head}.{payload}.{'A' * len(signature)}"


def write_jwks(directory: Path, *entries: dict[str, Any]) -> Path:
    path = directory / "jwks.json"
    path.write_bytes(orjson.dumps({"keys": list(entries)}))
    return path


def outcome(verifier: JwtVerifier, presented: str) -> str:
    """The principal, or ``refused:<reason>``; any other exception fails the test."""
    try:
        return verifier.verify(presented.encode())
    except CredentialError as exc:
        return f"refused:{exc.reason}"


@pytest.mark.parametrize("kind", SECRET_JWKS, ids=SECRET_JWKS.keys())
def test_a_secret_key_in_the_jwks_stops_start_up_naming_it(kind: str, tmp_path: Path) -> None:
    entry = SECRET_JWKS[kind]
    path = write_jwks(tmp_path, jwk(EC384_KEY.public_key(), "fine"), entry)
    settings = make_settings(
        auth_method="jwt", auth_jwt_algorithms=ALGORITHMS, auth_jwt_jwks_file=str(path)
    )
    with pytest.raises(SettingsError) as caught:
        load_jwt_verifier(settings)
    message = str(caught.value)
    assert message.startswith(f"AUTH_JWT_JWKS_FILE: {path}: key 1 (kid {entry['kid']!r}) is a ")
    assert ("symmetric" in message) == (kind == "oct")
    secret = entry["k"] if kind == "oct" else entry["d"]
    assert secret not in message


def test_a_private_key_without_kid_is_named_by_its_position(tmp_path: Path) -> None:
    # Only RSA's prime factors, no "d": still private material in a file meant to be public.
    entry = {key: value for key, value in jwk(RSA_KEY, None).items() if key != "d"}
    path = write_jwks(tmp_path, entry)
    settings = make_settings(
        auth_method="jwt", auth_jwt_algorithms="RS256", auth_jwt_jwks_file=str(path)
    )
    with pytest.raises(SettingsError, match=r": key 0 \(no kid\) is a private key"):
        load_jwt_verifier(settings)


@pytest.mark.parametrize("document", [b"[]", b'"keys"', b"1"], ids=["array", "string", "number"])
def test_a_jwks_that_is_no_object_stops_start_up(document: bytes, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_bytes(document)
    settings = make_settings(
        auth_method="jwt", auth_jwt_algorithms="RS256", auth_jwt_jwks_file=str(path)
    )
    with pytest.raises(SettingsError, match="AUTH_JWT_JWKS_FILE: cannot load"):
        load_jwt_verifier(settings)


def test_every_public_key_type_in_a_jwks_accepts_its_own_tokens_and_refuses_the_rest(
    tmp_path: Path,
) -> None:
    keys: dict[str, Any] = {
        "rsa": RSA_KEY,
        "ec": EC_KEY,
        "ec384": EC384_KEY,
        "k1": SECP256K1_KEY,  # a curve no accepted algorithm uses
        "ed": ED_KEY,
    }
    path = write_jwks(tmp_path, *(jwk(key.public_key(), kid) for kid, key in keys.items()))
    verifier = load_jwt_verifier(
        make_settings(
            auth_method="jwt", auth_jwt_algorithms=ALGORITHMS, auth_jwt_jwks_file=str(path)
        )
    )
    for kid, key in keys.items():
        for alg, signer in SIGNERS.items():
            fits = signer is key
            got = outcome(verifier, token(alg, kid))
            assert got == ("jwt:agent-7" if fits else "refused:bad_algorithm"), (kid, alg)
            expected_forged = "refused:invalid_token" if fits else "refused:bad_algorithm"
            assert outcome(verifier, forged(alg, kid)) == expected_forged, (kid, alg)


@pytest.mark.parametrize(
    "key",
    [RSA_KEY, EC_KEY, ED_KEY, b"secret-secret-secret-secret-secret"],
    ids=["rsa-private", "ec-private", "okp-private", "oct"],
)
def test_a_key_that_cannot_verify_is_a_401_never_an_error(key: Any) -> None:
    # Built directly, as start-up now refuses such files: the check at verification must hold
    # on its own.  A private RSA key used to raise AttributeError (a 500) here.
    verifier = JwtVerifier(algorithms=ALGORITHMS.split(","), jwks={"k": key})
    for alg in SIGNERS:
        for presented in (token(alg, "k"), forged(alg, "k"), token(alg)):
            assert outcome(verifier, presented) == "refused:bad_algorithm", alg


def serve(env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*DEVUTILS, "serve"],
        env={
            "PATH": "/usr/bin:/bin",
            "SECRETS_MOUNT_PATH": "/nonexistent",
            "SERVER_PORT": "0",
            "SERVER_WORKERS": "1",
            **env,
        },
        capture_output=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("kind", SECRET_JWKS, ids=SECRET_JWKS.keys())
def test_serve_refuses_a_jwks_with_a_secret_key_exit_78(kind: str, tmp_path: Path) -> None:
    entry = SECRET_JWKS[kind]
    path = write_jwks(tmp_path, entry)
    result = serve(
        {
            "AUTH_METHOD": "jwt",
            "AUTH_JWT_ALGORITHMS": ALGORITHMS,
            "AUTH_JWT_JWKS_FILE": str(path),
        }
    )
    assert result.returncode == 78, result.stderr
    assert b"Traceback" not in result.stderr
    secret = (entry["k"] if kind == "oct" else entry["d"]).encode()
    assert secret not in result.stderr + result.stdout
    for refusal in refusals(result.stderr):
        assert refusal["exit_code"] == 78
        assert f"AUTH_JWT_JWKS_FILE: {path}: key 0 (kid {entry['kid']!r})" in refusal["error"]


def refusals(stderr: bytes) -> list[dict[str, Any]]:
    """The start-up refusal lines of ``devutils serve`` (at least one; one per worker)."""
    found = [
        json.loads(line)
        for line in stderr.decode().splitlines()
        if '"invalid configuration, not starting"' in line
    ]
    assert found
    return found


def status_of(url: str, bearer: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_served_jwks_answers_every_token_with_200_or_401(tmp_path: Path) -> None:
    kids = {"RS256": "r1", "PS256": "r1", "ES256": "e1", "ES384": "e2", "EdDSA": "d1"}
    public = [
        jwk(RSA_KEY.public_key(), "r1"),
        jwk(EC_KEY.public_key(), "e1"),
        jwk(EC384_KEY.public_key(), "e2"),
        jwk(ED_KEY.public_key(), "d1"),
    ]
    env = {
        "AUTH_METHOD": "jwt",
        "AUTH_JWT_ALGORITHMS": ALGORITHMS,
        "AUTH_JWT_JWKS_FILE": str(write_jwks(tmp_path, *public)),
        "RATE_LIMIT_ENABLED": "false",
    }
    with run_server(env) as server:
        url = server.base + "/api/v1/status"
        for alg, kid in kids.items():
            assert status_of(url, token(alg, kid))[0] == 200, alg
            for other in kids.values():
                presented = [forged(alg, other)] + ([token(alg, other)] if other != kid else [])
                for bearer in presented:
                    status, body = status_of(url, bearer)
                    assert (status, body["error"]["code"]) == (401, "AUTHENTICATION_ERROR"), (
                        alg,
                        other,
                    )
