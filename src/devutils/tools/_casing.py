"""Unicode case mapping with Go's per-code-point semantics, and word splitting for case styles.

Python's ``str.upper``/``str.lower`` apply the *full* Unicode mappings (``ß`` → ``SS``) and the
final-sigma rule; Go's ``strings.ToUpper``/``ToLower`` map each code point on its own with the
*simple* mappings, which never change the length.  The reference's results follow Go, so we do too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

# Go's unicode.IsSpace: Latin-1 spaces plus the White_Space code points above U+00FF.  Python's
# str.isspace() also counts U+001C..U+001F, which Go does not.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
ASCII_SPACE = "\t\n\f\r "  # Go regexp's \s

# The reference's word separators (besides ASCII whitespace).
_SEPARATORS = re.compile(r"[\t\n\f\r \-_.,;:!?()\[\]{}@#$%^&*+=<>/\\|~`]+")

# U+0130 is the one code point whose full lower-case mapping changes length while a simple mapping
# exists (İ → i); Go uses the simple one.
_SIMPLE_LOWER_EXCEPTIONS = {"\u0130": "i"}


def go_trim_space(text: str) -> str:
    return text.strip(GO_SPACE)


@lru_cache(maxsize=4096)
def _upper_char(char: str) -> str:
    full = char.upper()
    if len(full) == 1:
        return full
    # Full mapping expands (ß → SS, ᾳ → ΑΙ); the simple mapping, when one exists, is the
    # single-code-point title-case form (ᾳ → ᾼ); otherwise the character stays as it is.
    title = char.title()
    return title if len(title) == 1 else char


@lru_cache(maxsize=4096)
def _lower_char(char: str) -> str:
    full = char.lower()
    if len(full) == 1:
        return full
    return _SIMPLE_LOWER_EXCEPTIONS.get(char, char)


@lru_cache(maxsize=4096)
def _title_char(char: str) -> str:
    full = char.title()
    return full if len(full) == 1 else _upper_char(char)


def _map_chars(text: str, mapping: Callable[[str], str]) -> str:
    return "".join(map(mapping, text))


def go_upper(text: str) -> str:
    fast = text.upper()
    # Same length means no code point expanded, so the whole-string result equals per-code-point.
    return fast if len(fast) == len(text) else _map_chars(text, _upper_char)


def go_lower(text: str) -> str:
    fast = text.lower()
    if len(fast) == len(text) and "\u03a3" not in text:  # Σ: Python applies the final-sigma rule
        return fast
    return _map_chars(text, _lower_char)


def capitalise(word: str) -> str:
    """First code point to title case, the rest lower-cased (Unicode-correct, unlike the reference)."""
    if word.isascii():
        return word.capitalize()  # the same for ASCII, in one call
    return _title_char(word[0]) + go_lower(word[1:])


def sentence_case(text: str) -> str:
    """The first letter anywhere upper-cased, every other code point lower-cased."""
    lowered = go_lower(text)
    for index, char in enumerate(text):
        if char.isalpha():
            return lowered[:index] + _upper_char(char) + lowered[index + 1 :]
    return lowered


# Character classes for hump detection.
_UPPER, _LOWER, _DIGIT, _OTHER = 1, 2, 3, 4


def _kind(char: str) -> int:
    if char.isdecimal():
        return _DIGIT
    if char.isupper() or char.istitle():
        return _UPPER
    if char.isalpha():
        return _LOWER  # lower-case and caseless letters (CJK) behave alike at boundaries
    return _OTHER  # apostrophes, marks, symbols: never a boundary on their own


def _is_boundary(previous: int, kind: int, following: int) -> bool:
    if (previous == _DIGIT) != (kind == _DIGIT):
        return True
    if kind != _UPPER:
        return False
    # lower→Upper starts a word; in a run of capitals, the last one starts the next word when a
    # lower-case letter follows (HTTPServer → HTTP|Server).
    return previous == _LOWER or (previous == _UPPER and following == _LOWER)


def _split_humps(piece: str) -> list[str]:
    """Split one separator-free piece at camelCase humps and letter/digit changes.

    ``helloWorld`` → hello|World, ``HTTPServer`` → HTTP|Server, ``utf8Decoder`` → utf|8|Decoder.
    Combining marks and apostrophes join the current word.
    """
    if piece.isalpha() and (piece.islower() or piece.isupper()):
        return [piece]  # one case, no digits: no hump can exist (the common case, made cheap)
    words: list[str] = []
    start = 0
    previous = 0
    kinds = [_kind(char) for char in piece] + [_OTHER]
    for index, kind in enumerate(kinds[:-1]):
        if kind == _OTHER:
            continue
        if previous and index > start and _is_boundary(previous, kind, kinds[index + 1]):
            words.append(piece[start:index])
            start = index
        previous = kind
    words.append(piece[start:])
    return words


def split_words(text: str) -> list[str]:
    """Words as the reference splits them, then split further at humps and letter/digit edges."""
    words: list[str] = []
    for piece in _SEPARATORS.split(text):
        if piece.isalpha() and (piece.islower() or piece.isupper()):
            words.append(piece)  # the common case: nothing to trim, no hump (see _split_humps)
            continue
        piece = go_trim_space(piece)
        if piece:
            words.extend(word for word in _split_humps(piece) if word)
    return words
