"""Certificate helpers shared by crypto/cert/* and network/tls: keys, chain order, days left.

Private keys handed in are only compared or used to sign; they never reach an error message.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from devutils.errors import ValidationError
from devutils.tools._pem import bare_base64, first_pem_block, has_armour

# A PEM RSA key of 8192 bits is ~6.3 KiB; larger keys cost seconds to validate when loaded.
MAX_KEY_CHARS: Final = 8 * 1024
_SECONDS_PER_DAY: Final = 86_400
_KEY_NAMES: Final = (
    (rsa.RSAPublicKey, "RSA"),
    (ec.EllipticCurvePublicKey, "ECDSA"),
    (ed25519.Ed25519PublicKey, "Ed25519"),
    (ed448.Ed448PublicKey, "Ed448"),
    (dsa.DSAPublicKey, "DSA"),
)
_PRIVATE_KEY_TYPES: Final = frozenset({"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"})


def load_private_key(text: str, message: str) -> PrivateKeyTypes:
    """An unencrypted private key from PEM (PKCS#8, PKCS#1 or SEC 1) or bare base64 PKCS#8 DER.

    Errors name what is wrong, never any part of the key.
    """
    if has_armour(text):
        block = first_pem_block(text)
        if block is None:
            raise ValidationError(message, "privateKey: failed to decode PEM block")
        block_type = block[0]
        if block_type == "ENCRYPTED PRIVATE KEY":
            raise ValidationError(message, "privateKey: encrypted keys are not accepted")
        if block_type not in _PRIVATE_KEY_TYPES:
            raise ValidationError(message, "privateKey: PEM block is not a private key")
        loader_input, is_pem = text.encode(), True
    else:
        raw = bare_base64(text)
        if raw is None:
            raise ValidationError(message, "privateKey: neither PEM nor base64 DER")
        loader_input, is_pem = raw, False
    try:
        if is_pem:
            return serialization.load_pem_private_key(loader_input, password=None)
        return serialization.load_der_private_key(loader_input, password=None)
    except TypeError:  # a password-protected traditional PEM key
        raise ValidationError(message, "privateKey: encrypted keys are not accepted") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValidationError(message, "privateKey: not a valid private key") from None


def spki(key: PublicKeyTypes) -> bytes:
    """The SubjectPublicKeyInfo DER of a public key (what two keys are compared by)."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_matches(public_key: PublicKeyTypes, private_key: PrivateKeyTypes) -> bool:
    return spki(public_key) == spki(private_key.public_key())


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """``parent``'s subject is ``child``'s issuer and ``parent``'s key verifies the signature."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def chain_order_valid(certificates: Sequence[x509.Certificate]) -> bool:
    """Each certificate is issued (name and signature) by the one after it."""
    return all(issued_by(child, parent) for child, parent in itertools.pairwise(certificates))


def public_key_name(key: PublicKeyTypes) -> str:
    """The reference's public key algorithm name, by key type."""
    for kind, name in _KEY_NAMES:
        if isinstance(key, kind):
            return name
    return type(key).__name__


def days_left(cert: x509.Certificate, now: datetime) -> int:
    """Whole days until notAfter (rounded down); negative once expired."""
    seconds = (cert.not_valid_after_utc - now).total_seconds()
    return int(seconds // _SECONDS_PER_DAY)


def random_serial() -> int:
    """A positive 159-bit serial with its top bit set (RFC 5280: at most 20 octets)."""
    return secrets.randbits(159) | (1 << 158)
