"""data/number: integers in any base 2-36, two's complement, IEEE-754 bits and byte order.

Python integers are arbitrary precision, so a 200-digit number converts exactly.  Input is capped
below CPython's limit on decimal conversion (4300 digits, a guard against quadratic-time parsing)
so the limit is ours, stated in the schema, rather than an exception from deep inside.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput, omit_none
from devutils.registry import Example, ToolContext, tool

MAX_DIGITS = 4096
MAX_BITS = 4096
# Every answer shows the value in decimal: 8192 bits is 2467 digits, inside CPython's 4300.
MAX_VALUE_BITS = 8192
_FAILED = "Number conversion failed"
_PREFIXES = {"0x": 16, "0o": 8, "0b": 2}
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ECHO_LIMIT = 80


class NumberInput(ToolInput):
    action: Literal["convert", "twos_complement", "float_to_hex", "hex_to_float", "swap_bytes"] = (
        Field(
            "convert",
            description="convert (bases), twos_complement (at bits), float_to_hex / hex_to_float "
            "(IEEE-754), swap_bytes (at bits).",
        )
    )
    value: str = Field(
        min_length=1,
        max_length=MAX_DIGITS,
        description="The number: an integer in fromBase (0x/0o/0b prefixes detected), a decimal "
        "for float_to_hex, hex bits for hex_to_float.",
    )
    from_base: int | None = Field(
        None, ge=2, le=36, description="Base of value, 2-36 (default: from its prefix, else 10)."
    )
    to_base: int | None = Field(None, ge=2, le=36, description="convert: one more base to show.")
    bits: int | None = Field(
        None, ge=1, le=MAX_BITS, description="Width for twos_complement and swap_bytes."
    )
    float_format: Literal["f32", "f64"] = Field("f64", description="IEEE-754 binary32 or binary64.")


class NumberOutput(ToolOutput):
    action: str
    decimal: str | None = Field(None, exclude_if=omit_none)
    hex: str | None = Field(None, exclude_if=omit_none)
    octal: str | None = Field(None, exclude_if=omit_none)
    binary: str | None = Field(None, exclude_if=omit_none)
    base: int | None = Field(None, exclude_if=omit_none, description="The extra toBase.")
    in_base: str | None = Field(None, exclude_if=omit_none, description="value in toBase.")
    signed: str | None = Field(None, exclude_if=omit_none, description="Signed reading, decimal.")
    unsigned: str | None = Field(None, exclude_if=omit_none, description="Unsigned, decimal.")
    bits: int | None = Field(None, exclude_if=omit_none)
    float_value: str | None = Field(
        None,
        exclude_if=omit_none,
        description="Shortest decimal that reads back to the same value in floatFormat.",
    )
    exact: bool | None = Field(
        None,
        exclude_if=omit_none,
        description="float_to_hex: the decimal is exactly representable.",
    )


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "…"


def parse_integer(text: str, base: int | None) -> int:
    """An integer in ``base``, or in the base its 0x/0o/0b prefix names; ``_`` separators allowed."""
    body = text.strip().replace("_", "")
    sign = -1 if body.startswith("-") else 1
    if body[:1] in ("+", "-"):
        body = body[1:]  # one sign: a second one is no digit, refused below
    prefix = body[:2].lower()
    if prefix in _PREFIXES and (base is None or base == _PREFIXES[prefix]):
        base, body = _PREFIXES[prefix], body[2:]
    base = base or 10
    if not body or any(_DIGITS.find(c) not in range(base) for c in body.lower()):
        raise ValidationError(_FAILED, f"not an integer in base {base}: {_echo(text)}")
    number = sign * int(body, base)
    if number.bit_length() > MAX_VALUE_BITS:
        raise ValidationError(_FAILED, f"number too large: at most {MAX_VALUE_BITS} bits")
    return number


def to_base(number: int, base: int) -> str:
    if base == 10:
        return str(number)
    if base in (2, 8, 16):
        return format(number, {2: "b", 8: "o", 16: "x"}[base])
    digits = []
    magnitude = abs(number)
    while True:
        magnitude, digit = divmod(magnitude, base)
        digits.append(_DIGITS[digit])
        if not magnitude:
            break
    return ("-" if number < 0 else "") + "".join(reversed(digits))


def _convert(inp: NumberInput) -> NumberOutput:
    number = parse_integer(inp.value, inp.from_base)
    return NumberOutput(
        action="convert",
        decimal=str(number),
        hex=to_base(number, 16),
        octal=to_base(number, 8),
        binary=to_base(number, 2),
        base=inp.to_base,
        in_base=to_base(number, inp.to_base) if inp.to_base else None,
    )


def _width(inp: NumberInput, multiple: int = 1) -> int:
    if inp.bits is None or inp.bits % multiple:
        what = "a multiple of 8" if multiple == 8 else "given"
        raise ValidationError(_FAILED, f"bits must be {what} for {inp.action}")
    return inp.bits


def _twos_complement(inp: NumberInput) -> NumberOutput:
    """The bit pattern of a number at a width, read both as signed and as unsigned."""
    bits = _width(inp)
    number = parse_integer(inp.value, inp.from_base)
    if not -(1 << (bits - 1)) <= number < 1 << bits:
        raise ValidationError(
            _FAILED,
            f"{_echo(inp.value)} does not fit in {bits} bits (signed or unsigned)",
        )
    pattern = number & ((1 << bits) - 1)
    signed = pattern - (1 << bits) if pattern >> (bits - 1) else pattern
    return NumberOutput(
        action="twos_complement",
        bits=bits,
        hex=format(pattern, f"0{(bits + 3) // 4}x"),
        binary=format(pattern, f"0{bits}b"),
        signed=str(signed),
        unsigned=str(pattern),
    )


def _swap_bytes(inp: NumberInput) -> NumberOutput:
    bits = _width(inp, 8)
    number = parse_integer(inp.value, inp.from_base)
    if not 0 <= number < 1 << bits:
        raise ValidationError(_FAILED, f"swap_bytes takes an unsigned value that fits {bits} bits")
    swapped = int.from_bytes(number.to_bytes(bits // 8, "big"), "little")
    return NumberOutput(
        action="swap_bytes",
        bits=bits,
        hex=format(swapped, f"0{bits // 4}x"),
        decimal=str(swapped),
    )


_STRUCT = {"f32": (">f", 4), "f64": (">d", 8)}


def _nearest_f32(text: str) -> float:
    """The binary32 value nearest the decimal ``text`` (ties to even), as a float.  Rounding
    the binary64 value from float() again would round twice: a decimal just above a binary32
    midpoint can land on it as binary64 and then go down.  Raises OverflowError past binary32."""
    exact = Fraction(Decimal(text))
    magnitude = abs(exact)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1  # now 2**exponent <= magnitude < 2**(exponent + 1)
    exponent = max(exponent, -126)  # below it, subnormal: a fixed unit of 2**-149
    significand = round(magnitude / Fraction(2) ** (exponent - 23))  # Fraction: half to even
    value = math.copysign(math.ldexp(significand, exponent - 23), exact)
    struct.pack(">f", value)  # OverflowError past the largest binary32
    return value


def _float_to_hex(inp: NumberInput) -> NumberOutput:
    text = inp.value.strip()
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(_FAILED, f"not a decimal number: {_echo(inp.value)}") from None
    code, size = _STRUCT[inp.float_format]
    overflow = ValidationError(_FAILED, f"{_echo(inp.value)} overflows {inp.float_format}")
    if math.isinf(value) and text.lower().lstrip("+-") not in ("inf", "infinity"):
        raise overflow  # a finite decimal past binary64, as past binary32 below
    try:
        if inp.float_format == "f32" and math.isfinite(value) and value:
            value = _nearest_f32(text)
        packed = struct.pack(code, value)
    except OverflowError:
        raise overflow from None
    stored = struct.unpack(code, packed)[0]
    return NumberOutput(
        action="float_to_hex",
        hex=packed.hex(),
        binary=format(int.from_bytes(packed, "big"), f"0{size * 8}b"),
        float_value=shortest_repr(stored, inp.float_format),
        exact=_is_exact(inp.value.strip(), stored),
    )


def _is_exact(text: str, stored: float) -> bool:
    """Whether the decimal written equals the float stored, exactly (not just after rounding)."""
    if math.isnan(stored) or math.isinf(stored):
        return text.lower().lstrip("+-") in ("nan", "inf", "infinity")
    try:
        return Decimal(text) == Decimal(stored)
    except InvalidOperation:
        return False


def _hex_to_float(inp: NumberInput) -> NumberOutput:
    code, size = _STRUCT[inp.float_format]
    text = inp.value.strip().lower().removeprefix("0x").replace("_", "").replace(" ", "")
    if len(text) != 2 * size or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError(
            _FAILED, f"{inp.float_format} takes exactly {2 * size} hex digits: {_echo(inp.value)}"
        )
    value = struct.unpack(code, bytes.fromhex(text))[0]
    return NumberOutput(
        action="hex_to_float", hex=text, float_value=shortest_repr(value, inp.float_format)
    )


def shortest_repr(value: float, float_format: str) -> str:
    """The shortest decimal that reads back to the same value in the format: Python's repr for
    binary64; for binary32 the fewest significant digits (at most 9) that round-trip."""
    if float_format == "f64" or math.isnan(value) or math.isinf(value):
        return repr(value)
    packed = struct.pack(">f", value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        try:
            same = struct.pack(">f", float(text)) == packed
        except OverflowError:  # rounded past the largest binary32 (3.403e+38 for FLT_MAX)
            continue
        if same:
            return repr(float(text))
    return repr(value)  # unreachable: 9 significant digits always round-trip binary32


_ACTIONS = {
    "convert": _convert,
    "twos_complement": _twos_complement,
    "swap_bytes": _swap_bytes,
    "float_to_hex": _float_to_hex,
    "hex_to_float": _hex_to_float,
}


@tool(
    "/api/v1/data/number",
    raw="in_base",
    title="Convert numbers",
    description="Integers between bases 2-36 (arbitrary precision, 0x/0o/0b detected), two's "
    "complement at a bit width, IEEE-754 float32/64 to and from hex, byte-order swap.",
    examples=(
        Example({"value": "0xff"}),
        Example({"value": "255", "toBase": 36}),
        Example({"action": "twos_complement", "value": "-1", "bits": 16}),
        Example({"action": "float_to_hex", "value": "0.1", "floatFormat": "f32"}),
        Example({"action": "hex_to_float", "value": "3ff0000000000000"}),
        Example({"action": "swap_bytes", "value": "0x12345678", "bits": 32}),
    ),
)
def data_number(inp: NumberInput, ctx: ToolContext) -> NumberOutput:
    return _ACTIONS[inp.action](inp)
