"""Base64 decoding with the reference's (Go ``encoding/base64``) acceptance rules and error offsets.

Go skips ``\\r`` and ``\\n`` anywhere, decodes padded input strictly (or unpadded input for the
``Raw`` encodings), tolerates non-zero trailing bits, and reports the first bad byte as
``illegal base64 data at input byte <n>``.

Everything that scales with the input runs in C: newline removal, ``binascii``'s strict decoder
(plus the two padding rules it lacks), and on failure a regular expression that finds the end of
the complete quanta.  Only the last, incomplete quantum is walked in Python, emulating Go's
``decodeQuantum`` to name the same byte Go names.
"""

from __future__ import annotations

import binascii
import re

_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_NEWLINES = b"\r\n"
_NEWLINE_RUN = re.compile(rb"[\r\n]*")


class Base64Error(ValueError):
    """Go's ``CorruptInputError``: ``offset`` is the byte index in the original input."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        super().__init__(f"illegal base64 data at input byte {offset}")


class Encoding:
    """One of Go's encodings: an alphabet, padded (``StdEncoding``) or not (``RawURLEncoding``)."""

    def __init__(self, alphabet: bytes, *, padded: bool) -> None:
        self.alphabet = alphabet
        self.padded = padded
        self._foreign = bytes(set(_STD + _URL) - set(alphabet))  # the other alphabet's 62, 63
        self._to_std = bytes.maketrans(alphabet[62:], b"+/")
        self._symbols = re.compile(b"[" + re.escape(alphabet) + b"]*")

    def decode(self, data: bytes) -> bytes:
        """Decode like Go's ``Encoding.DecodeString``; raise :class:`Base64Error` like Go."""
        cleaned = data.translate(None, _NEWLINES)
        decoded = self._strict(cleaned)
        if decoded is None:
            raise Base64Error(self._error_offset(data, cleaned))
        return decoded

    def _strict(self, cleaned: bytes) -> bytes | None:
        if any(char in cleaned for char in self._foreign):
            return None
        if self.padded:
            # binascii's strict mode also accepts "AAAA=" and "AAAA====": Go does not.
            if len(cleaned) % 4 or cleaned.endswith(b"==="):
                return None
        elif b"=" in cleaned or len(cleaned) % 4 == 1:
            return None
        else:
            cleaned += b"=" * (-len(cleaned) % 4)
        try:
            # Strict mode still ignores non-zero trailing bits, as Go's non-strict encodings do.
            return binascii.a2b_base64(cleaned.translate(self._to_std), strict_mode=True)
        except binascii.Error:
            return None

    def _error_offset(self, src: bytes, cleaned: bytes) -> int:
        run = self._symbols.match(cleaned)
        symbols = run.end() - run.end() % 4 if run else 0
        start = _index_after(src, symbols) if len(cleaned) != len(src) else symbols
        offset = _go_decode_quanta(src, start, self.alphabet, self.padded)
        # Unreachable while the strict check and the emulation agree; 0 keeps it a 400.
        return 0 if offset is None else offset


def _index_after(src: bytes, count: int) -> int:
    """The smallest index ``k`` with ``count`` non-newline bytes in ``src[:k]`` (binary search)."""
    low, high = count, len(src)
    while low < high:
        mid = (low + high) // 2
        kept = mid - src.count(b"\r", 0, mid) - src.count(b"\n", 0, mid)
        if kept < count:
            low = mid + 1
        else:
            high = mid
    return low


def _skip_newlines(src: bytes, si: int) -> int:
    match = _NEWLINE_RUN.match(src, si)
    return match.end() if match else si


def _go_decode_quanta(src: bytes, si: int, alphabet: bytes, padded: bool) -> int | None:
    """Go's ``decodeQuantum`` loop from ``si``: the offset of the first error, or None."""
    while si < len(src):
        j = 0
        while j < 4:
            si = _skip_newlines(src, si)
            if si == len(src):
                if j == 0:
                    return None
                return si - j if j == 1 or padded else None
            char = src[si]
            si += 1
            if char in alphabet:
                j += 1
                continue
            if not padded or char != ord("=") or j < 2:
                return si - 1
            if j == 2:
                si = _skip_newlines(src, si)
                if si == len(src):
                    return len(src)
                if src[si] != ord("="):
                    return si - 1
                si += 1
            si = _skip_newlines(src, si)
            return si if si < len(src) else None
    return None


STD = Encoding(_STD, padded=True)
URL = Encoding(_URL, padded=True)
RAW_URL = Encoding(_URL, padded=False)


def encode(data: bytes, *, url_safe: bool = False) -> str:
    text = binascii.b2a_base64(data, newline=False)
    if url_safe:
        text = text.translate(bytes.maketrans(b"+/", b"-_"))
    return text.decode("ascii")


def encoded_length(size: int) -> int:
    """Length of the padded encoding of ``size`` bytes, known before encoding."""
    return (size + 2) // 3 * 4
