"""Unknown fields inside nested objects are answered with that object's fields, and a tool
without arguments says so: the same over REST and MCP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mcp import Client

from devutils.frontends.mcp import build_server
from devutils.registry import Registry
from tests.frontends.mcp_support import MODES, only_text, tool_error

STEP_FIELDS = "tool, args, id"
UNIT_FIELDS = "years, months, weeks, days, hours, minutes, seconds"

# (tool, arguments, message, details)
CASES = [
    (
        "pipeline",
        {"steps": [{"tool": "crypto_hash", "input": {"content": "a", "algorithm": "md5"}}]},
        'unknown field "steps.0.input"; did you mean "args"?',
        f"allowed fields of steps.0: {STEP_FIELDS}",
    ),
    (
        "time_calc",
        {"action": "add", "start": "now", "units": {"yearz": 1}},
        'unknown field "units.yearz"; did you mean "years"?',
        f"allowed fields of units: {UNIT_FIELDS}",
    ),
    (
        # Both levels at once: each unknown key against the object holding it, one list for the
        # steps that share a model.
        "pipeline",
        {
            "steps": [
                {"name": "text_info", "args": {"content": "a"}},
                {"tool": "text_info", "arguments": {"content": "a"}},
            ],
            "includeStep": True,
        },
        'unknown field "steps.0.name"; did you mean "tool"?; '
        'unknown field "steps.1.arguments"; did you mean "args"?; '
        'unknown field "includeStep"; did you mean "includeSteps"?',
        "steps.0.tool: Field required; "
        f"allowed fields of steps.0, steps.1: {STEP_FIELDS}; allowed fields: steps, includeSteps",
    ),
    (
        # The field meant is not suggested when the object already has it.
        "time_calc",
        {"action": "add", "start": "now", "units": {"days": 1, "Days": 2}},
        'unknown field "units.Days"',
        f"allowed fields of units: {UNIT_FIELDS}",
    ),
    (
        "time_now",
        {"x": 1},
        'unknown field "x"',
        "this tool takes no arguments",
    ),
    (
        # Refused before validation (a null value), in the same words.
        "time_now",
        {"x": None},
        'unknown field "x"',
        "this tool takes no arguments",
    ),
]
IDS = ["step-field", "units-field", "both-levels", "already-given", "no-arguments", "null-value"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("tool", "args", "message", "details"), CASES, ids=IDS)
async def test_mcp_names_the_fields_of_the_object_holding_the_key(
    registry: Registry, mode: str, tool: str, args: dict[str, Any], message: str, details: str
) -> None:
    async with Client(build_server(registry, registry.context.settings), mode=mode) as mcp:
        result = await mcp.call_tool(tool, args)
    assert tool_error(result) == {
        "code": "VALIDATION_ERROR",
        "message": message,
        "details": details,
    }
    assert only_text(result) == f"VALIDATION_ERROR: {message} ({details})"


@pytest.mark.parametrize(
    ("tool", "args", "message", "details"),
    [case for case in CASES if case[0] != "time_now"],
    ids=[name for name, case in zip(IDS, CASES, strict=True) if case[0] != "time_now"],
)
async def test_rest_names_the_fields_of_the_object_holding_the_key(
    client: httpx.AsyncClient, tool: str, args: dict[str, Any], message: str, details: str
) -> None:
    response = await client.post("/api/v1/" + tool.replace("_", "/"), json=args)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": {"code": "VALIDATION_ERROR", "message": message, "details": details},
    }


async def test_top_level_answers_keep_their_form(client: httpx.AsyncClient) -> None:
    # A step's own arguments are the step tool's: refused by that tool, inside the step's error.
    steps = [{"tool": "crypto_hash", "args": {"text": "a", "algorithm": "md5"}}]
    response = await client.post("/api/v1/pipeline", json={"steps": steps})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == (
        'Pipeline step 1 (crypto_hash) failed: unknown field "text"; did you mean "content"?'
    )
    assert error["details"]["details"].startswith('field "content" is required; allowed fields: ')
