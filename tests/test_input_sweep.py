"""Every tool against hostile arguments: each field of each example replaced, one at a time, by
values of every JSON type and awkward text.  Whatever comes in, a call either returns an output
the front doors can write or raises a ToolError with a 4xx status: never another exception (a 500).

Tools that reach the network (open world) are left out: their arguments would be looked up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devutils.errors import ToolError
from devutils.registry import CallInfo, Registry, ToolSpec, catalogue, dump_output_json

TEXT: list[Any] = [
    "",
    " ",
    "\x00",
    "\ud800",  # JSON's "\ud800": text UTF-8 cannot hold
    "é" * 300,
    "-1",
    "0",
    "💥👩‍👩‍👧",
    "\n\n",
    "%",
    "{",
    "a" * 20_000,
    "null",
    "0x",
    "9" * 400,
    "1e400",
    "NaN",
    "../..",
    "%zz",
    "::",
    "*",
]
NUMBERS: list[Any] = [0, -1, 1, 2**63, -(2**63), 10**30, 1.5, -0.0, 1e308, 2**31, 65536]
ANY_TYPE: list[Any] = [None, True, False, [], {}, [None], [""], [[]], {"": None}, "1", 7]
# Real Argon2 work per call: a shorter list keeps the sweep to seconds.
SLOW_TOOLS = frozenset({"crypto_password_hash", "crypto_password_verify"})


def hostile_values(example_value: Any, slow: bool) -> list[Any]:
    if slow:
        return [*ANY_TYPE, "", "\ud800", "a" * 20_000]
    if isinstance(example_value, bool):
        return [*ANY_TYPE, "true", 0]
    if isinstance(example_value, int | float):
        return [*NUMBERS, *ANY_TYPE]
    if isinstance(example_value, list):
        return [*ANY_TYPE, *([value] for value in TEXT[:12]), *([n] for n in NUMBERS[:6])]
    if isinstance(example_value, dict):
        keys = list(example_value)[:3]
        return [*ANY_TYPE, *({key: value} for key in keys for value in TEXT[:10])]
    return [*TEXT, *ANY_TYPE]


def cases(spec: ToolSpec) -> Iterator[dict[str, Any]]:
    wire_names = [field.alias or name for name, field in spec.input_model.model_fields.items()]
    for example in [dict(example.args) for example in spec.examples] or [{}]:
        for key in dict.fromkeys([*example, *wire_names]):
            for value in hostile_values(example.get(key, ""), spec.name in SLOW_TOOLS):
                yield {**example, key: value}


SWEPT = [spec for spec in catalogue() if not spec.open_world]


def test_the_sweep_covers_the_catalogue() -> None:
    assert len(SWEPT) >= 40
    assert all(spec.examples for spec in SWEPT)


@pytest.mark.parametrize("spec", SWEPT, ids=[spec.name for spec in SWEPT])
async def test_hostile_arguments_get_a_4xx_or_a_writable_output(
    registry: Registry, spec: ToolSpec
) -> None:
    tool = registry.get(spec.name)
    assert tool is not None
    refused = 0
    for args in cases(tool):
        try:
            output = await registry.invoke(tool, args, CallInfo("rest"))
            dump_output_json(output)
        except ToolError as error:
            status, answer = error.status, error.to_dict()
        else:
            continue
        assert 400 <= status < 500, (args, answer)
        refused += 1
    if tool.input_model.model_fields:
        assert refused > 0  # every field takes some of these values badly
