"""crypto/random: passwords, passphrases, tokens and PINs from ``secrets``, with their entropy.

One tool with a ``kind`` enum (the MCP catalogue is budgeted).  Every character, word and byte
comes from ``secrets`` (the OS CSPRNG).  A password holds at least one character of each requested
class without bias: whole candidates are drawn uniformly and redrawn until one qualifies, which is
uniform over exactly the qualifying passwords (placing one of each class first and shuffling would
favour the smaller classes).  Its entropy is log2 of the number of qualifying passwords, counted by
inclusion and exclusion.
"""

from __future__ import annotations

import contextlib
import functools
import math
import secrets
import string
from importlib import resources
from itertools import combinations
from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, wire_name
from devutils.registry import Example, ToolContext, tool

_ERROR = "Failed to generate random values"
MAX_COUNT = 100
MAX_PASSWORD_LENGTH = 256
MAX_TOKEN_BYTES = 512
MAX_PIN_LENGTH = 64
MAX_WORDS = 32
MAX_SEPARATOR = 8
MAX_EXCLUDE = 256
DEFAULTS = {"password": 20, "token": 32, "pin": 6}
MINIMUMS = {"password": 4, "token": 8, "pin": 4}
MAXIMUMS = {"password": MAX_PASSWORD_LENGTH, "token": MAX_TOKEN_BYTES, "pin": MAX_PIN_LENGTH}
DEFAULT_WORDS = 6
LOOKALIKES = "Il1|O0o"
# Printable ASCII punctuation without quotes, backslash and backtick (they trip shells and
# config files).
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
    "symbols": SYMBOLS,
}
ALPHANUMERIC = string.ascii_letters + string.digits
# Candidates drawn on average before one holds every class; beyond this the request is refused
# (a length barely above the class count with a tiny class, e.g. after exclusions).
MAX_EXPECTED_DRAWS = 1000

_COMMON = {"kind", "count"}
_APPLIES = {
    "password": _COMMON | {"length", "classes", "exclude", "exclude_lookalikes"},
    "passphrase": _COMMON | {"words", "separator"},
    "token": _COMMON | {"length", "encoding"},
    "pin": _COMMON | {"length"},
}

ClassName = Literal["lower", "upper", "digits", "symbols"]


class RandomInput(ToolInput):
    kind: Literal["password", "passphrase", "token", "pin"] = "password"
    count: int = Field(
        1, description="1 to 100.", json_schema_extra={"minimum": 1, "maximum": MAX_COUNT}
    )
    length: int | None = Field(
        None,
        description="Password chars (4-256, default 20), token bytes (8-512, 32) or PIN digits "
        "(4-64, 6).",
    )
    # At most one of each class: a longer list only repeats one, and the bound lets pydantic
    # refuse a huge list before it validates (and reports) every item.
    classes: list[ClassName] | None = Field(
        None, max_length=len(CLASSES), description="Password: each at least once (default all)."
    )
    exclude: str = Field("", description="Password: characters to leave out.")
    exclude_lookalikes: bool = Field(False, description=f"Password: leave out {LOOKALIKES}.")
    words: int = Field(
        DEFAULT_WORDS,
        description="Passphrase: 1 to 32.",
        json_schema_extra={"minimum": 1, "maximum": MAX_WORDS},
    )
    separator: str = Field(
        "-",
        description="Passphrase: up to 8 characters.",
        json_schema_extra={"maxLength": MAX_SEPARATOR},
    )
    encoding: Literal["hex", "base64url", "alphanumeric"] = Field(
        "hex", description="Token (alphanumeric: length is characters)."
    )


class RandomOutput(ToolOutput):
    kind: str
    values: list[str]
    entropy_bits: float = Field(description="Per value.")


@functools.cache
def wordlist() -> tuple[str, ...]:
    """The EFF large word list shipped with the package (see wordlists/README.md)."""
    text = resources.files("devutils.tools").joinpath("wordlists/eff_large_wordlist.txt")
    return tuple(line.split("\t")[1] for line in text.read_text("ascii").splitlines())


def _bits(combinations_count: int) -> float:
    return round(math.log2(combinations_count), 2)


def _qualifying(sizes: list[int], length: int) -> int:
    """Passwords of ``length`` over the union of disjoint classes of these sizes that hold every
    class at least once (inclusion-exclusion over the classes left out)."""
    total = sum(sizes)
    count = 0
    for missing in range(len(sizes) + 1):
        for left_out in combinations(sizes, missing):
            count += (-1) ** missing * (total - sum(left_out)) ** length
    return count


def _pools(inp: RandomInput) -> list[str]:
    """The characters each requested class may use after the exclusions."""
    names = list(dict.fromkeys(inp.classes if inp.classes is not None else CLASSES))
    if not names:
        raise ValidationError(_ERROR, "classes must name at least one class")
    if len(inp.exclude) > MAX_EXCLUDE:
        raise ValidationError(_ERROR, f"exclude exceeds maximum length of {MAX_EXCLUDE}")
    excluded = set(inp.exclude) | (set(LOOKALIKES) if inp.exclude_lookalikes else set())
    pools = []
    for name in names:
        pool = "".join(char for char in CLASSES[name] if char not in excluded)
        if not pool:
            raise ValidationError(_ERROR, f"every {name} character is excluded")
        pools.append(pool)
    return pools


def _expected_draws(pools: list[str], length: int) -> tuple[int, float]:
    """(qualifying passwords, candidates drawn per accepted one on average)."""
    qualifying = _qualifying([len(pool) for pool in pools], length)
    return qualifying, sum(map(len, pools)) ** length / qualifying


def _passwords(inp: RandomInput, length: int, count: int) -> tuple[list[str], float]:
    pools = _pools(inp)
    # length >= 4 (the minimum) >= the number of classes, so every class fits.
    qualifying, draws = _expected_draws(pools, length)
    if draws > MAX_EXPECTED_DRAWS:
        raise ValidationError(
            _ERROR, "length is too short for these classes and exclusions: use a longer one"
        )
    alphabet = "".join(pools)
    sets = [set(pool) for pool in pools]
    values: list[str] = []
    while len(values) < count:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(not chars.isdisjoint(candidate) for chars in sets):
            values.append(candidate)
    return values, _bits(qualifying)


def _passphrases(inp: RandomInput, count: int) -> tuple[list[str], float]:
    if not 1 <= inp.words <= MAX_WORDS:
        raise ValidationError(_ERROR, f"words must be between 1 and {MAX_WORDS}")
    if len(inp.separator) > MAX_SEPARATOR:
        raise ValidationError(_ERROR, f"separator exceeds maximum length of {MAX_SEPARATOR}")
    words = wordlist()
    values = [
        inp.separator.join(secrets.choice(words) for _ in range(inp.words)) for _ in range(count)
    ]
    return values, _bits(len(words) ** inp.words)


def _tokens(inp: RandomInput, length: int, count: int) -> tuple[list[str], float]:
    if inp.encoding == "hex":
        return [secrets.token_hex(length) for _ in range(count)], 8.0 * length
    if inp.encoding == "base64url":
        return [secrets.token_urlsafe(length) for _ in range(count)], 8.0 * length
    values = ["".join(secrets.choice(ALPHANUMERIC) for _ in range(length)) for _ in range(count)]
    return values, _bits(len(ALPHANUMERIC) ** length)


def _work(inp: RandomInput) -> int:
    """Work estimate: about 16 units per character drawn with secrets.choice, rejected password
    candidates included (so a short password with rare classes leaves the event loop)."""
    count = max(1, min(inp.count, MAX_COUNT))
    if inp.kind == "passphrase":
        return 16 * count * max(1, min(inp.words, MAX_WORDS))
    if inp.kind == "token" and inp.encoding != "alphanumeric":
        return count
    length = max(4, min(inp.length or DEFAULTS[inp.kind], MAX_PASSWORD_LENGTH))
    draws = 1.0
    if inp.kind == "password":
        with contextlib.suppress(ValidationError):  # refused before any drawing
            draws = min(_expected_draws(_pools(inp), length)[1], MAX_EXPECTED_DRAWS)
    return int(16 * count * length * draws)


@tool(
    "/api/v1/crypto/random",
    raw="values",
    title="Random passwords, passphrases, tokens, PINs",
    description=(
        "Passwords (classes, exclusions), EFF-wordlist passphrases, tokens (hex, base64url, "
        "alphanumeric) or PINs from a CSPRNG, with the entropy in bits."
    ),
    idempotent=False,
    rate_class="crypto",
    bind_error_message="Invalid request format",
    blocking="large",
    estimate=_work,
    # No passphrase example: its length varies with the words drawn, and the contract tests compare
    # the shape (string lengths) of random outputs across front ends.
    examples=(
        Example({}),
        Example(
            {"kind": "password", "length": 16, "classes": ["lower", "upper", "digits"]},
            title="no symbols",
        ),
        Example({"kind": "token", "length": 32, "encoding": "base64url"}),
        Example({"kind": "pin", "count": 3}),
    ),
)
def crypto_random(inp: RandomInput, ctx: ToolContext) -> RandomOutput:
    if not 1 <= inp.count <= MAX_COUNT:
        raise ValidationError(_ERROR, f"count must be between 1 and {MAX_COUNT}")
    stray = sorted(inp.changed_fields() - _APPLIES[inp.kind])
    if stray:
        # A field another kind reads would otherwise be ignored without a word.
        names = ", ".join(wire_name(name) for name in stray)
        raise ValidationError(_ERROR, f"{names} does not apply to kind {inp.kind}")
    if inp.kind == "passphrase":
        values, bits = _passphrases(inp, inp.count)
        return RandomOutput(kind=inp.kind, values=values, entropy_bits=bits)
    length = DEFAULTS[inp.kind] if inp.length is None else inp.length
    low, high = MINIMUMS[inp.kind], MAXIMUMS[inp.kind]
    if not low <= length <= high:
        unit = {"password": "characters", "token": "bytes", "pin": "digits"}[inp.kind]
        raise ValidationError(_ERROR, f"{inp.kind} length must be {low} to {high} {unit}")
    if inp.kind == "password":
        values, bits = _passwords(inp, length, inp.count)
    elif inp.kind == "token":
        values, bits = _tokens(inp, length, inp.count)
    else:
        values = [
            "".join(secrets.choice(string.digits) for _ in range(length)) for _ in range(inp.count)
        ]
        bits = _bits(10**length)
    return RandomOutput(kind=inp.kind, values=values, entropy_bits=bits)
