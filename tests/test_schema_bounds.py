"""The bounds an input schema states are the ones the tool enforces: at the bound 200, one past
it 400.  The tools check these bounds themselves (their messages predate the schema keywords), so
a schema that left them out, or a check that drifts from it, misleads every client that builds
calls from the schema (MCP tools/list, /api/v1/tools, /openapi.json)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devutils.frontends.schema import input_schema
from devutils.registry import Registry

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
# (tool, arguments the field needs besides itself, field)
BOUNDED = [
    ("crypto_random", {}, "count"),
    ("crypto_random", {"kind": "passphrase"}, "words"),
    ("crypto_random", {"kind": "passphrase"}, "separator"),
    ("crypto_totp", {"secret": SECRET}, "digits"),
    ("crypto_totp", {"secret": SECRET}, "period"),
    ("crypto_totp", {"secret": SECRET}, "time"),
    ("crypto_totp", {"secret": SECRET, "action": "verify", "code": "123456"}, "window"),
    ("id_uuid", {"version": 4}, "count"),
    ("id_nanoid", {}, "size"),
    ("id_nanoid", {}, "count"),
    ("id_nanoid", {}, "alphabet"),
    ("id_ulid", {}, "count"),
]


def distinct(length: int) -> str:
    return "".join(chr(0x100 + index) for index in range(length))


def probes(prop: dict[str, Any]) -> list[tuple[Any, bool]]:
    """(value, whether the schema admits it) at and past each bound the property states."""
    cases: list[tuple[Any, bool]] = []
    if "maximum" in prop:
        cases += [(prop["maximum"], True), (prop["maximum"] + 1, False)]
    if "minimum" in prop:
        cases += [(prop["minimum"], True), (prop["minimum"] - 1, False)]
    if "maxLength" in prop:
        cases += [(distinct(prop["maxLength"]), True), (distinct(prop["maxLength"] + 1), False)]
    if "minLength" in prop:
        cases += [(distinct(prop["minLength"]), True), (distinct(prop["minLength"] - 1), False)]
    return cases


@pytest.mark.parametrize(
    ("tool", "base", "field"), BOUNDED, ids=[f"{t}.{f}" for t, _, f in BOUNDED]
)
async def test_the_schema_bounds_are_the_tool_s(
    registry: Registry, client: httpx.AsyncClient, tool: str, base: dict[str, Any], field: str
) -> None:
    spec = registry.get(tool)
    assert spec is not None
    prop = input_schema(spec)["properties"][field]
    cases = probes(prop)
    assert cases, f"{tool}.{field} states no bound"
    for value, admitted in cases:
        response = await client.post(spec.path, json={**base, field: value})
        shown = value if not isinstance(value, str) else f"{len(value)} characters"
        expected = 200 if admitted else 400
        assert response.status_code == expected, (field, shown, response.text)
