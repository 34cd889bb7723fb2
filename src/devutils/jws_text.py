"""The spelling of a compact JWS's signature segment, checked before PyJWT reads it.

PyJWT accepts '=' padding after the signature, so one signed token had two spellings that both
verified: a token that a client deduplicates, caches or revokes by its text could be replayed under
the other.  RFC 7515 §2 says base64url without padding; this checks the whole spelling, so every
non-canonical form (padding, set trailing bits, stray characters) is refused the same way.
"""

from __future__ import annotations

import base64
import re

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def signature_is_canonical(token: str) -> bool:
    """True when the token's last segment is unpadded base64url and the only spelling of its
    bytes."""
    signature = token.rpartition(".")[2]
    if not _BASE64URL.fullmatch(signature) or len(signature) % 4 == 1:
        return False
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return base64.urlsafe_b64encode(raw).rstrip(b"=") == signature.encode("ascii")
