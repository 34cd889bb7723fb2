"""Credential checking, apart from the ASGI layer that applies it.

An :data:`Authenticator` takes the request's raw header list and returns the principal (a safe
identity for logs and rate limits: ``key:<fingerprint>`` or ``jwt:<sub>``) or raises
:class:`CredentialError`.  :func:`build_authenticator` makes one from the settings.
"""

from __future__ import annotations

from devutils.auth.credentials import (
    AUTH_REASONS,
    Authenticator,
    CredentialError,
    build_authenticator,
)

__all__ = ["AUTH_REASONS", "Authenticator", "CredentialError", "build_authenticator"]
