"""data/number: bases, two's complement, IEEE-754 and byte order against known values."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, dump_output


def run(registry: Registry, **args: Any) -> dict[str, Any]:
    spec = registry.get("data_number")
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


@pytest.mark.parametrize(
    ("value", "base", "decimal", "hex_"),
    [
        ("0xff", None, "255", "ff"),
        ("0XFF", None, "255", "ff"),
        ("0o17", None, "15", "f"),
        ("0b1010_1010", None, "170", "aa"),
        ("-0x10", None, "-16", "-10"),
        ("zz", 36, "1295", "50f"),
        ("ff", 16, "255", "ff"),
        ("0b1", 16, "177", "b1"),  # in base 16, "0b1" is the digits 0, b, 1
        ("1" + "0" * 60, 2, str(2**60), "1" + "0" * 15),
        (str(2**200), None, str(2**200), "1" + "0" * 50),
    ],
)
def test_convert(registry: Registry, value: str, base: int | None, decimal: str, hex_: str) -> None:
    args: dict[str, Any] = {"value": value} | ({"fromBase": base} if base else {})
    out = run(registry, **args)
    assert (out["decimal"], out["hex"]) == (decimal, hex_)
    assert int(out["binary"], 2) == int(out["octal"], 8) == int(decimal)


@pytest.mark.parametrize(
    ("value", "base", "expected"),
    [("255", 36, "73"), ("1295", 36, "zz"), ("-35", 36, "-z"), ("0", 7, "0"), ("48", 7, "66")],
)
def test_to_base(registry: Registry, value: str, base: int, expected: str) -> None:
    out = run(registry, value=value, toBase=base)
    assert (out["base"], out["inBase"]) == (base, expected)


@pytest.mark.parametrize(
    ("value", "bits", "hex_", "signed", "unsigned"),
    [
        ("-1", 16, "ffff", "-1", "65535"),
        ("-128", 8, "80", "-128", "128"),
        ("127", 8, "7f", "127", "127"),
        ("0x80", 8, "80", "-128", "128"),
        ("-2", 4, "e", "-2", "14"),
        ("-1", 128, "f" * 32, "-1", str(2**128 - 1)),
    ],
)
def test_twos_complement(
    registry: Registry, value: str, bits: int, hex_: str, signed: str, unsigned: str
) -> None:
    out = run(registry, action="twos_complement", value=value, bits=bits)
    assert (out["hex"], out["signed"], out["unsigned"]) == (hex_, signed, unsigned)
    assert len(out["binary"]) == bits


# (decimal, format, bits as hex, shortest decimal, exact): IEEE 754-2008 encodings.
FLOAT_VECTORS = [
    ("1", "f64", "3ff0000000000000", "1.0", True),
    ("0.1", "f64", "3fb999999999999a", "0.1", False),
    ("-2", "f32", "c0000000", "-2.0", True),
    ("0.1", "f32", "3dcccccd", "0.1", False),
    ("0.5", "f32", "3f000000", "0.5", True),
    ("5e-324", "f64", "0000000000000001", "5e-324", False),
    ("inf", "f32", "7f800000", "inf", True),
    ("-0", "f64", "8000000000000000", "-0.0", True),
    ("16777217", "f32", "4b800000", "16777216.0", False),  # 2**24 + 1 rounds to even
    # Just above the midpoint of 1 and the next binary32: up, although as binary64 it is the
    # midpoint itself (rounding twice went down to 1.0); the midpoint exactly goes to even.
    ("1.000000059604644775390625001", "f32", "3f800001", "1.0000001", False),
    ("1.000000059604644775390625", "f32", "3f800000", "1.0", False),
    ("-1.000000178813934326171875", "f32", "bf800002", "-1.0000002", False),  # tie, to even
    ("7e-46", "f32", "00000000", "0.0", False),  # under half the smallest subnormal
    ("7.1e-46", "f32", "00000001", "1e-45", False),
]


@pytest.mark.parametrize(("decimal", "fmt", "bits", "shortest", "exact"), FLOAT_VECTORS)
def test_float_to_hex_and_back(
    registry: Registry, decimal: str, fmt: str, bits: str, shortest: str, exact: bool
) -> None:
    out = run(registry, action="float_to_hex", value=decimal, floatFormat=fmt)
    assert (out["hex"], out["floatValue"], out["exact"]) == (bits, shortest, exact)
    back = run(registry, action="hex_to_float", value="0x" + bits, floatFormat=fmt)
    assert back["floatValue"] == shortest


def test_nan_bits_decode(registry: Registry) -> None:
    assert run(registry, action="hex_to_float", value="7ff8000000000000")["floatValue"] == "nan"


def test_f32_shortest_round_trips_for_many_values(registry: Registry) -> None:
    for bits in range(0x3F800000, 0x3F800000 + 2000, 7):
        packed = bits.to_bytes(4, "big")
        out = run(registry, action="hex_to_float", value=packed.hex(), floatFormat="f32")
        assert struct.pack(">f", float(out["floatValue"])) == packed


@pytest.mark.parametrize("bits", ["7f7fffff", "ff7fffff", "7f7ffffe"])
def test_f32_values_next_to_the_largest_read_back(registry: Registry, bits: str) -> None:
    """FLT_MAX's shorter decimals round past binary32's range (was an OverflowError, a 500)."""
    out = run(registry, action="hex_to_float", value=bits, floatFormat="f32")
    assert struct.pack(">f", float(out["floatValue"])).hex() == bits
    back = run(registry, action="float_to_hex", value=out["floatValue"], floatFormat="f32")
    assert back["hex"] == bits


@pytest.mark.parametrize(
    ("value", "bits", "expected"),
    [("0x12345678", 32, "78563412"), ("0x0102", 16, "0201"), ("1", 64, "0100000000000000")],
)
def test_swap_bytes(registry: Registry, value: str, bits: int, expected: str) -> None:
    out = run(registry, action="swap_bytes", value=value, bits=bits)
    assert out["hex"] == expected
    assert out["decimal"] == str(int(expected, 16))


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        ({"value": "12a"}, "not an integer in base 10: 12a"),
        ({"value": "+-5"}, "not an integer in base 10: +-5"),
        ({"value": "--5"}, "not an integer in base 10: --5"),
        ({"value": "-+0x5"}, "not an integer in base 10: -+0x5"),
        ({"value": "0x"}, "not an integer in base 16: 0x"),
        ({"value": "2", "fromBase": 2}, "not an integer in base 2: 2"),
        ({"value": "f" * 2049, "fromBase": 16}, "number too large: at most 8192 bits"),
        ({"action": "twos_complement", "value": "1"}, "bits must be given for twos_complement"),
        ({"action": "twos_complement", "value": "256", "bits": 8},
         "256 does not fit in 8 bits (signed or unsigned)"),
        ({"action": "twos_complement", "value": "-129", "bits": 8},
         "-129 does not fit in 8 bits (signed or unsigned)"),
        ({"action": "swap_bytes", "value": "1", "bits": 12},
         "bits must be a multiple of 8 for swap_bytes"),
        ({"action": "swap_bytes", "value": "-1", "bits": 16},
         "swap_bytes takes an unsigned value that fits 16 bits"),
        ({"action": "float_to_hex", "value": "abc"}, "not a decimal number: abc"),
        ({"action": "float_to_hex", "value": "1e39", "floatFormat": "f32"}, "1e39 overflows f32"),
        ({"action": "float_to_hex", "value": "1e309"}, "1e309 overflows f64"),
        ({"action": "float_to_hex", "value": "3.4028236e38", "floatFormat": "f32"},
         "3.4028236e38 overflows f32"),
        ({"action": "hex_to_float", "value": "3ff0"}, "f64 takes exactly 16 hex digits: 3ff0"),
    ],
)  # fmt: skip
def test_bad_input_is_a_validation_error(
    registry: Registry, args: dict[str, Any], detail: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        run(registry, **args)
    assert (caught.value.message, caught.value.details) == ("Number conversion failed", detail)
