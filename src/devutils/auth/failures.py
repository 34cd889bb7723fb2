"""The one error an authenticator raises, with a reason from a fixed vocabulary.

The reason labels ``auth_failures_total`` and picks the details text; neither ever contains the
presented credential.
"""

from __future__ import annotations

from typing import Literal, get_args

from devutils.errors import AuthenticationError

Reason = Literal[
    "missing",
    "malformed",
    "invalid_key",
    "invalid_token",
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "bad_algorithm",
]
AUTH_REASONS: tuple[Reason, ...] = get_args(Reason)

REALM = "dev-utilities"


class CredentialError(AuthenticationError):
    """401 ``AUTHENTICATION_ERROR`` with an RFC 6750 ``WWW-Authenticate`` challenge."""

    def __init__(self, reason: Reason, details: str) -> None:
        if reason == "missing":
            # RFC 6750 §3.1: no error code when the request carried no credentials at all.
            challenge = f'Bearer realm="{REALM}"'
            message = "Authentication required"
        else:
            challenge = (
                f'Bearer realm="{REALM}", error="invalid_token", error_description="{details}"'
            )
            message = "Authentication failed"
        super().__init__(message, details, headers={"WWW-Authenticate": challenge})
        self.reason: Reason = reason
