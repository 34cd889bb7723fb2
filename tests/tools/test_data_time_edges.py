"""Data and time tools at their edges: each case was a 500, a stalled event loop or a wrong
answer found in review."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devutils.registry import Registry
from tests.support import refused_by, run_tool

HUGE_HEX = "0x" + "f" * 5000  # any length in hex; 20,000 bits
HUGE_DECIMAL = "1" * 5000  # past Python's 4300-digit limit for text to int


run, refused = run_tool, refused_by


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("data_query", {"content": "[1]", "query": "$[0]"}),
        ("data_query", {"content": "[1]", "query": "[0]", "language": "jmespath"}),
        ("data_schema_validate", {"content": "1", "schema": '{"type":"integer"}'}),
        ("data_diff", {"original": "1", "modified": "2"}),
        ("data_patch", {"content": "{}", "patch": "[]"}),
    ],
)
def test_tools_whose_cost_does_not_follow_the_text_never_run_on_the_loop(
    registry: Registry, tool: str, args: dict[str, Any]
) -> None:
    # Nested JSONPath filters (O(n^k)), JMESPath multi-selects, anyOf chains and YAML aliases
    # cost far more than their text: however small the call, it goes to a pool process.
    spec = registry.get(tool)
    assert spec is not None
    assert spec.estimate is not None
    assert spec.estimate(spec.input_model.model_validate(args)) > 10**6


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("data_convert", {"content": f"a: {HUGE_HEX}", "from": "yaml", "to": "json"}),
        ("data_convert", {"content": f"a: {HUGE_HEX}", "from": "yaml", "to": "xml"}),
        ("data_convert", {"content": f"a = {HUGE_HEX}", "from": "toml", "to": "json"}),
        ("data_convert", {"content": f"a: {HUGE_DECIMAL}", "from": "yaml", "to": "json"}),
        ("data_query", {"content": f"a: {HUGE_HEX}", "format": "yaml", "query": "$.a"}),
        (
            "data_schema_validate",
            {
                "content": f"a: {HUGE_HEX}",
                "format": "yaml",
                "schema": '{"properties":{"a":{"type":"string"}}}',
            },
        ),
    ],
    ids=["yaml-json", "yaml-xml", "toml-json", "yaml-decimal", "query", "schema"],
)
def test_integers_past_the_digit_limit_are_a_400(
    registry: Registry, tool: str, args: dict[str, Any]
) -> None:
    assert "an integer has more than 4200 digits" in refused(registry, tool, **args)[1]


@pytest.mark.parametrize("literal", ["1e999", "-1e400"])
def test_a_jsonpath_number_out_of_range_is_a_400(registry: Registry, literal: str) -> None:
    assert refused(registry, "data_query", content="[1]", query=f"$[?@ == {literal}]")[1] == (
        "invalid JSONPath: a number literal is out of range"
    )


@pytest.mark.parametrize(
    ("duration", "part"),
    [("P2000000Y", "years"), ("P1500000D", "days"), ("PT999999999999S", "seconds")],
)
def test_durations_past_their_units_bounds_are_a_400(
    registry: Registry, duration: str, part: str
) -> None:
    assert refused(
        registry, "time_calc", action="add", start="2024-01-01T00:00:00Z", duration=duration
    ) == ("Time calculation failed", f"duration: the {part} part is too large")


@pytest.mark.parametrize(
    ("start", "zone"),
    [("9999-12-31T23:00:00Z", "Asia/Tokyo"), ("0001-01-01T00:00:00Z", "America/New_York")],
)
def test_a_diff_whose_wall_clock_leaves_the_calendar_is_a_400(
    registry: Registry, start: str, zone: str
) -> None:
    assert refused(
        registry, "time_calc", action="diff", start=start, end="2024-01-01T00:00:00Z", timezone=zone
    )[1] == ("an instant is outside the years 1-9999 in the zone")


@pytest.mark.parametrize("at", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z"])
def test_zones_at_the_ends_of_the_calendar_are_a_400(registry: Registry, at: str) -> None:
    assert refused(registry, "time_zones", at=at)[1] == (
        "at must be between 0001-01-02 and 9999-12-31 (UTC)"
    )


def test_a_schedule_rarer_than_28_years_still_runs(registry: Registry) -> None:
    # The fifth Monday of February is a Monday Feb 29: 2044, 2072, then 2112 (2100 is no leap year).
    runs = run(
        registry, "time_cron", expression="0 0 * 2 1#5", after="2024-01-01T00:00:00Z", count=3
    )["nextRuns"]
    assert runs == ["2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z", "2112-02-29T00:00:00Z"]
    assert run(
        registry, "time_cron", expression="0 0 * 2 1#5", after="2073-01-01T00:00:00Z", count=1
    )["nextRuns"] == ["2112-02-29T00:00:00Z"]


def test_xml_attributes_that_would_share_a_name_are_refused(registry: Registry) -> None:
    content = json.dumps({"r": {"@x y": "1", "@x_y": "2"}})
    details = refused(registry, "data_convert", content=content, **{"from": "json", "to": "xml"})[1]
    assert details.startswith("two attributes would both be named 'x_y' at ")


def test_carriage_returns_survive_a_round_trip_through_xml(registry: Registry) -> None:
    document = {"r": {"@a": "x\r\ny", "b": "p\rq"}}
    xml = run(
        registry, "data_convert", content=json.dumps(document), **{"from": "json", "to": "xml"}
    )
    assert "&#13;" in xml["result"]
    back = run(registry, "data_convert", content=xml["result"], **{"from": "xml", "to": "json"})
    assert json.loads(back["result"]) == document
    assert back["warnings"] == []


def test_an_empty_attribute_prefix_means_no_attributes_when_reading(registry: Registry) -> None:
    out = run(
        registry,
        "data_convert",
        content='<a id="1"><id>2</id></a>',
        attributePrefix="",
        **{"from": "xml", "to": "json"},
    )
    assert json.loads(out["result"]) == {"a": {"id": "2"}}
    assert out["warnings"] == ["attributes left out (attributePrefix is empty) (at /a)"]


def test_a_fixed_time_job_runs_once_when_the_clocks_go_back(registry: Registry) -> None:
    def runs(expression: str, after: str) -> list[str]:
        return list(
            run(
                registry,
                "time_cron",
                expression=expression,
                timezone="America/New_York",
                after=after,
                count=3,
            )["nextRuns"]
        )

    # 2024-11-03 01:00-02:00 happens twice in New York; cron runs a fixed-time job once.
    assert runs("30 1 * * *", "2024-11-02T12:00:00Z") == [
        "2024-11-03T01:30:00-04:00",
        "2024-11-04T01:30:00-05:00",
        "2024-11-05T01:30:00-05:00",
    ]
    # Two fixed times in that hour: each once (the second pass listed both again).
    assert runs("0,30 1 * * *", "2024-11-02T12:00:00Z") == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:30:00-04:00",
        "2024-11-04T01:00:00-05:00",
    ]
    # Listing from between the two passes: the job already ran in the first.
    assert runs("30 1 * * *", "2024-11-03T05:45:00Z")[0] == "2024-11-04T01:30:00-05:00"
    # A wildcard job runs in both copies of the hour.
    assert runs("30 * * * *", "2024-11-03T05:00:00Z") == [
        "2024-11-03T01:30:00-04:00",
        "2024-11-03T01:30:00-05:00",
        "2024-11-03T02:30:00-05:00",
    ]
