"""API keys: constant-time comparison of SHA-256 digests over every configured key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from devutils.auth.failures import CredentialError


class ApiKeyVerifier:
    """Accepts any configured key; several may be valid at once (rotation).

    Digests make every comparison 32 bytes against 32 bytes, so neither the length nor the prefix
    of a configured key leaks through timing, and the loop never exits early.  An empty key list
    accepts nothing (``compare_digest(b"", b"")`` would be true on raw values).
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple(hashlib.sha256(key.encode()).digest() for key in keys if key)

    def verify(self, presented: bytes) -> str:
        digest = hashlib.sha256(presented).digest()
        matched = False
        for known in self._digests:
            matched |= hmac.compare_digest(digest, known)
        if not matched:
            raise CredentialError("invalid_key", "API key not recognised")
        # 48 bits of the digest: enough to tell keys apart in logs, useless to an attacker.
        return "key:" + digest.hex()[:12]
