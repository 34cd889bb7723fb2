"""Find the one credential a request presents, and check it with the configured verifier.

Exact behaviour (tested over a real socket):

- ``api_key`` mode reads ``X-API-Key`` or ``Authorization: Bearer <key>``; ``jwt`` mode reads only
  ``Authorization: Bearer <token>``.  The scheme name is case-insensitive (RFC 9110).
- Two ``X-API-Key`` headers, two ``Authorization`` headers, or (api_key mode) both headers at once
  are refused (``malformed``): a proxy and the application could otherwise disagree on which one
  counts.
- Whitespace is never trimmed by us: a credential containing a space or tab (padding, or more than
  one space after ``Bearer``) is refused as ``malformed``.  The HTTP parser (httptools) already
  drops the optional whitespace *before* a header value, so ``X-API-Key:   k`` arrives as ``k`` and
  is accepted, while trailing padding (``X-API-Key: k<SP>``) reaches us and is refused.
- Credentials over 8 KiB are refused before any hashing or JWT parsing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from devutils.auth.api_keys import ApiKeyVerifier
from devutils.auth.failures import AUTH_REASONS, CredentialError
from devutils.auth.tokens import load_jwt_verifier
from devutils.settings import Settings

MAX_CREDENTIAL_BYTES = 8192

Headers = Iterable[tuple[bytes, bytes]]
# Raw ASGI header list in, principal out; raises CredentialError.
Authenticator = Callable[[Headers], str]


def _bearer(value: bytes) -> bytes:
    scheme, _, credential = value.partition(b" ")
    if scheme.lower() != b"bearer":
        raise CredentialError("malformed", "Authorization must use the Bearer scheme")
    return credential


def presented_credential(headers: Headers, *, accept_api_key_header: bool) -> bytes:
    api_keys: list[bytes] = []
    authorizations: list[bytes] = []
    for name, value in headers:
        if name == b"x-api-key":
            api_keys.append(value)
        elif name == b"authorization":
            authorizations.append(value)
    if not accept_api_key_header:
        api_keys = []
    if len(api_keys) + len(authorizations) > 1:
        raise CredentialError("malformed", "send exactly one X-API-Key or Authorization header")
    if api_keys:
        credential = api_keys[0]
    elif authorizations:
        credential = _bearer(authorizations[0])
    else:
        raise CredentialError(
            "missing",
            "send an API key in X-API-Key or Authorization: Bearer"
            if accept_api_key_header
            else "send a token in Authorization: Bearer",
        )
    if not credential:
        raise CredentialError("malformed", "credential is empty")
    if len(credential) > MAX_CREDENTIAL_BYTES:
        raise CredentialError("malformed", "credential is too long")
    if b" " in credential or b"\t" in credential:
        raise CredentialError("malformed", "credential contains whitespace")
    return credential


def build_authenticator(settings: Settings) -> Authenticator | None:
    """The authenticator for AUTH_METHOD, or None when authentication is off."""
    if settings.auth_method == "api_key":
        keys = ApiKeyVerifier(settings.auth_api_keys)

        def check_key(headers: Headers) -> str:
            return keys.verify(presented_credential(headers, accept_api_key_header=True))

        return check_key
    if settings.auth_method == "jwt":
        tokens = load_jwt_verifier(settings)

        def check_token(headers: Headers) -> str:
            return tokens.verify(presented_credential(headers, accept_api_key_header=False))

        return check_token
    return None


__all__ = [
    "AUTH_REASONS",
    "Authenticator",
    "CredentialError",
    "build_authenticator",
    "presented_credential",
]
