"""Time zones in time/convert, and time/zones, time/calc and time/cron, against worked answers.

Expected instants were worked out from the tz database's rules (US DST 2024: March 10 and
November 3; India +05:30 without DST; Nepal +05:45) and checked against `date` with TZ set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devutils.errors import ValidationError
from devutils.registry import Registry, ToolContext, catalogue, dump_output
from devutils.settings import SettingsError
from tests.conftest import FIXED_NOW, make_settings


def run(registry: Registry, name: str, **args: Any) -> dict[str, Any]:
    spec = registry.get(name)
    assert spec is not None
    return dump_output(registry.invoke_sync(spec, args))


def refused(registry: Registry, name: str, **args: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        run(registry, name, **args)
    return caught.value.message, str(caught.value.details)


@pytest.fixture
def kolkata_registry() -> Iterator[Registry]:
    settings = make_settings(time_default_timezone="Asia/Kolkata")
    registry = Registry(catalogue(), ToolContext(settings, clock=lambda: FIXED_NOW))
    yield registry
    registry.close()


# time/convert between zones


def convert(registry: Registry, value: str, **zones: str) -> dict[str, Any]:
    return run(
        registry,
        "time_convert",
        input=value,
        inputFormat="iso8601",
        outputFormat="iso8601",
        **zones,
    )


@pytest.mark.parametrize(
    ("value", "zones", "result", "offset", "dst", "abbreviation"),
    [
        # 09:00 in Kolkata (+05:30) is 03:30Z, 22:30 the day before in New York (EST, -05:00).
        ("2024-03-09T09:00:00", {"fromTimezone": "Asia/Kolkata", "timezone": "America/New_York"},
         "2024-03-08T22:30:00-05:00", "-05:00", False, "EST"),
        # After the March 10 change New York is on EDT (-04:00).
        ("2024-07-01T09:00:00", {"fromTimezone": "Asia/Kolkata", "timezone": "America/New_York"},
         "2024-06-30T23:30:00-04:00", "-04:00", True, "EDT"),
        ("2024-01-01T00:00:00Z", {"timezone": "+05:45"}, "2024-01-01T05:45:00+05:45", "+05:45",
         False, None),
        ("2024-01-01T00:00:00Z", {"timezone": "UTC-8"}, "2023-12-31T16:00:00-08:00", "-08:00",
         False, None),
        ("2024-01-01T00:00:00Z", {"timezone": "JST"}, "2024-01-01T09:00:00+09:00", "+09:00", False,
         "JST"),
        ("2024-01-01T12:00:00", {"fromTimezone": "+02:00"}, "2024-01-01T10:00:00Z", "+00:00",
         False, "UTC"),
        ("2024-01-01T00:00:00Z", {"timezone": "Z"}, "2024-01-01T00:00:00Z", "+00:00", False,
         "UTC"),
        # An abbreviation that names summer time says so, as the IANA zone would.
        ("2024-07-01T12:00:00Z", {"timezone": "CEST"}, "2024-07-01T14:00:00+02:00", "+02:00",
         True, "CEST"),
        ("2024-07-01T12:00:00Z", {"timezone": "EDT"}, "2024-07-01T08:00:00-04:00", "-04:00",
         True, "EDT"),
        ("2024-07-01T12:00:00Z", {"timezone": "bst"}, "2024-07-01T13:00:00+01:00", "+01:00",
         True, "BST"),
        # A date alone is midnight in the input's zone: fromTimezone when given, else timezone.
        ("2024-03-10", {"timezone": "Europe/London"}, "2024-03-10T00:00:00Z", "+00:00", False,
         "GMT"),
        ("2024-03-10", {"fromTimezone": "America/New_York"}, "2024-03-10T05:00:00Z", "+00:00",
         False, "UTC"),
        ("2024-03-10", {"fromTimezone": "America/New_York", "timezone": "Europe/London"},
         "2024-03-10T05:00:00Z", "+00:00", False, "GMT"),
    ],
    ids=["kolkata-new-york-winter", "kolkata-new-york-summer", "nepal-offset", "utc-minus-8",
         "unambiguous-abbreviation", "from-offset", "z", "cest-is-dst", "edt-is-dst",
         "bst-is-dst", "date-in-timezone", "date-in-from-timezone", "date-from-timezone-wins"],
)  # fmt: skip
def test_convert_between_zones(
    registry: Registry,
    value: str,
    zones: dict[str, str],
    result: str,
    offset: str,
    dst: bool,
    abbreviation: str | None,
) -> None:
    out = convert(registry, value, **zones)
    assert out["result"] == result
    assert (out["offset"], out["isDst"], out.get("abbreviation")) == (offset, dst, abbreviation)


def test_ambiguous_abbreviation_lists_candidates(registry: Registry) -> None:
    message, details = refused(
        registry,
        "time_convert",
        input="1",
        inputFormat="unix",
        outputFormat="iso8601",
        timezone="CST",
    )
    assert message == "Failed to convert time"
    assert details.startswith("timezone: CST is ambiguous; use an IANA zone or an offset.")
    assert "-06:00" in details
    assert "America/Chicago" in details
    assert "+08:00" in details


def test_misspelled_zone_gets_a_suggestion(registry: Registry) -> None:
    _, details = refused(
        registry,
        "time_convert",
        input="1",
        inputFormat="unix",
        outputFormat="iso8601",
        timezone="Europe/Pariss",
    )
    assert "did you mean Europe/Paris" in details


@pytest.mark.parametrize("offset", ["+18:01", "+24:00", "-19", "+05:60"])
def test_offsets_out_of_range_are_refused(registry: Registry, offset: str) -> None:
    _, details = refused(
        registry, "time_convert", input="1", inputFormat="unix", outputFormat="iso8601",
        timezone=offset,
    )  # fmt: skip
    assert details == f"timezone: offset {offset} is out of range"


def test_the_default_zone_setting_applies_when_none_is_named(kolkata_registry: Registry) -> None:
    out = convert(kolkata_registry, "2024-01-01T00:00:00Z")
    assert (out["result"], out["timezone"], out["offset"]) == (
        "2024-01-01T05:30:00+05:30",
        "Asia/Kolkata",
        "+05:30",
    )
    # A time without offset is read in the default zone too.
    unix = run(
        kolkata_registry, "time_convert", input="2024-01-01T05:30:00", inputFormat="iso8601",
        outputFormat="unix",
    )  # fmt: skip
    assert unix["result"] == "1704067200"


def test_an_ambiguous_default_zone_stops_start_up() -> None:
    with pytest.raises(SettingsError, match="TIME_DEFAULT_TIMEZONE"):
        make_settings(time_default_timezone="IST")


# time/zones


def test_zones_by_name(registry: Registry) -> None:
    out = run(registry, "time_zones", query="kolkata", at="2024-07-01T00:00:00Z")
    assert out["zones"] == [
        {"name": "Asia/Kolkata", "offset": "+05:30", "abbreviation": "IST", "isDst": False}
    ]
    assert (out["count"], out["total"], out["at"]) == (1, 1, "2024-07-01T00:00:00Z")


def test_zones_by_offset_follow_dst(registry: Registry) -> None:
    winter = {z["name"] for z in run(registry, "time_zones", offset="-05:00", at="2024-01-15T12:00:00Z", limit=600)["zones"]}  # fmt: skip
    summer = {z["name"] for z in run(registry, "time_zones", offset="-05:00", at="2024-07-15T12:00:00Z", limit=600)["zones"]}  # fmt: skip
    assert "America/New_York" in winter
    assert "America/New_York" not in summer
    assert "America/Chicago" in summer
    nepal = run(registry, "time_zones", offset="+05:45", at="2024-01-01T00:00:00Z")
    assert {z["name"] for z in nepal["zones"]} >= {"Asia/Kathmandu"}


def test_zones_limit_keeps_the_total(registry: Registry) -> None:
    out = run(registry, "time_zones", query="america/", limit=3, at="2024-01-01T00:00:00Z")
    assert out["count"] == 3
    assert out["total"] > 100
    assert [z["name"] for z in out["zones"]] == sorted(z["name"] for z in out["zones"])


# time/calc


@pytest.mark.parametrize(
    ("args", "result"),
    [
        ({"action": "add", "start": "2024-01-31T10:00:00Z", "duration": "P1M"},
         "2024-02-29T10:00:00Z"),
        ({"action": "add", "start": "2023-01-31T10:00:00Z", "duration": "P1M"},
         "2023-02-28T10:00:00Z"),
        ({"action": "add", "start": "2024-02-29", "duration": "P1Y"}, "2025-02-28T00:00:00Z"),
        ({"action": "subtract", "start": "2024-01-01", "duration": "P90D"},
         "2023-10-03T00:00:00Z"),
        ({"action": "add", "start": "2024-01-01", "duration": "-P1D"}, "2023-12-31T00:00:00Z"),
        ({"action": "add", "start": "2024-01-01T00:00:00Z", "duration": "PT1.5S"},
         "2024-01-01T00:00:01.5Z"),
        ({"action": "add", "start": "2024-01-01T00:00:00Z", "duration": "P1W2DT3H4M5S"},
         "2024-01-10T03:04:05Z"),
        # A calendar day across the DST change keeps the wall clock; 24 hours do not.
        ({"action": "add", "start": "2024-03-09T09:00:00", "units": {"days": 1},
          "timezone": "America/New_York"}, "2024-03-10T09:00:00-04:00"),
        ({"action": "add", "start": "2024-03-09T09:00:00", "units": {"hours": 24},
          "timezone": "America/New_York"}, "2024-03-10T10:00:00-04:00"),
        ({"action": "add", "start": "now", "units": {"minutes": 30}}, "2023-12-25T16:00:45Z"),
        # From the second pass of a repeated hour, clock parts are exact time from that instant
        # (its wall clock was read again as the first pass: +0 went back an hour).
        ({"action": "add", "start": "2026-11-01T06:30:00Z", "duration": "PT0S",
          "timezone": "America/New_York"}, "2026-11-01T01:30:00-05:00"),
        ({"action": "add", "start": "2026-11-01T01:30:00-05:00", "duration": "PT1H",
          "timezone": "America/New_York"}, "2026-11-01T02:30:00-05:00"),
    ],
    ids=["leap-month-end", "month-end", "leap-day-plus-year", "minus-90-days", "negative",
         "fraction", "mixed", "dst-calendar-day", "dst-24-hours", "now", "repeated-hour-zero",
         "repeated-hour-plus-1h"],
)  # fmt: skip
def test_calc_add_and_subtract(registry: Registry, args: dict[str, Any], result: str) -> None:
    assert run(registry, "time_calc", **args)["result"] == result


def test_calc_diff(registry: Registry) -> None:
    out = run(
        registry, "time_calc", action="diff", start="2024-01-15T08:00:00Z",
        end="2025-03-20T12:30:00.5Z",
    )  # fmt: skip
    assert out["calendar"] == {
        "years": 1, "months": 2, "days": 5, "hours": 4, "minutes": 30, "seconds": 0.5,
    }  # fmt: skip
    assert out["isoDuration"] == "P1Y2M5DT4H30M0.5S"
    assert out["totalSeconds"] == 37168200.5
    assert out["totalDays"] == pytest.approx(430.1875058)
    back = run(registry, "time_calc", action="diff", start="2024-01-02", end="2024-01-01")
    assert (back["isoDuration"], back["totalHours"]) == ("-P1D", -24.0)


def test_calc_diff_on_a_dst_day_is_one_calendar_day_of_23_hours(registry: Registry) -> None:
    out = run(
        registry, "time_calc", action="diff", start="2024-03-10T00:00:00",
        end="2024-03-11T00:00:00", timezone="America/New_York",
    )  # fmt: skip
    assert (out["isoDuration"], out["totalHours"]) == ("P1D", 23.0)


DIFFS_ACROSS_CHANGES = [
    # (start, end, zone, isoDuration, totalHours)
    ("2024-03-09T20:00:00", "2024-03-10T08:00:00", "America/New_York", "PT11H", 11.0),
    ("2024-11-02T20:00:00", "2024-11-03T08:00:00", "America/New_York", "PT13H", 13.0),
    ("2024-03-10T08:00:00", "2024-03-09T20:00:00", "America/New_York", "-PT11H", -11.0),
    # A day from 02:30 lands in the gap (03:30 EDT), past the end: 23 h 40 min, not a day.
    ("2024-03-09T02:30:00", "2024-03-10T03:10:00", "America/New_York", "PT23H40M", 23 + 2 / 3),
    ("2024-03-09T12:00:00", "2024-03-10T13:30:00", "America/New_York", "P1DT1H30M", 24.5),
    ("2011-12-29T12:00:00", "2011-12-31T12:00:00", "Pacific/Apia", "P2D", 24.0),  # no Dec 30
    ("2024-01-31T00:00:00.75", "2024-03-01T00:00:00.25", "UTC", "P1MT23H59M59.5S", 719.99986),
    # A start in the second pass of the repeated hour (01:30 EST, after 01:30 EDT) stays there.
    ("2024-11-03T01:30:00-05:00", "2024-11-03T01:30:00-04:00", "America/New_York", "-PT1H", -1.0),
    (
        "2024-11-03T01:30:00-05:00",
        "2024-11-04T01:00:00-05:00",
        "America/New_York",
        "PT23H30M",
        23.5,
    ),
    ("2024-11-03T01:30:00-05:00", "2024-11-03T03:00:00-05:00", "America/New_York", "PT1H30M", 1.5),
]


@pytest.mark.parametrize(("start", "end", "zone", "iso", "hours"), DIFFS_ACROSS_CHANGES)
def test_calc_diff_is_the_duration_that_adds_back(
    registry: Registry, start: str, end: str, zone: str, iso: str, hours: float
) -> None:
    """Clock parts are exact elapsed time, as add reads them: start + isoDuration is end."""
    out = run(registry, "time_calc", action="diff", start=start, end=end, timezone=zone)
    assert (out["isoDuration"], out["totalHours"]) == (iso, pytest.approx(hours))
    ahead = run(registry, "time_calc", action="add", start=start, duration=iso, timezone=zone)
    target = run(registry, "time_calc", action="add", start=end, duration="PT0S", timezone=zone)
    assert ahead["unix"] == target["unix"]
    assert ahead["result"] == target["result"]


@pytest.mark.parametrize(
    ("args", "details"),
    [
        ({"action": "add", "start": "2024-01-01"}, "add takes exactly one of duration and units"),
        ({"action": "add", "start": "2024-01-01", "duration": "P1D", "units": {"days": 1}},
         "add takes exactly one of duration and units"),
        ({"action": "add", "start": "2024-01-01", "duration": "P"},
         "duration: P is not an ISO 8601 duration such as P1Y2M3DT4H5M6S"),
        ({"action": "add", "start": "2024-01-01", "duration": "P1DT"},
         "duration: P1DT is not an ISO 8601 duration such as P1Y2M3DT4H5M6S"),
        ({"action": "add", "start": "2024-01-01", "duration": "1 day"},
         "duration: 1 day is not an ISO 8601 duration such as P1Y2M3DT4H5M6S"),
        ({"action": "diff", "start": "2024-01-01"}, "end is required for diff"),
        ({"action": "add", "start": "9999-12-31", "duration": "P1D"},
         "the result is outside the years 1-9999"),
        ({"action": "add", "start": "yesterday", "duration": "P1D"},
         "start: failed to parse input time: invalid ISO8601 format"),
    ],
)  # fmt: skip
def test_calc_errors(registry: Registry, args: dict[str, Any], details: str) -> None:
    assert refused(registry, "time_calc", **args) == ("Time calculation failed", details)


# time/cron


def test_cron_next_runs_and_words(registry: Registry) -> None:
    out = run(
        registry, "time_cron", expression="*/15 9-17 * * MON-FRI", after="2024-03-08T17:40:00Z",
        count=3,
    )  # fmt: skip
    assert out["nextRuns"] == ["2024-03-08T17:45:00Z", "2024-03-11T09:00:00Z", "2024-03-11T09:15:00Z"]  # fmt: skip
    assert out["description"] == "Every 15 minutes, between 09:00 and 17:59, Monday through Friday"
    assert out["hasSeconds"] is False


def test_cron_in_a_zone_across_dst(registry: Registry) -> None:
    out = run(
        registry, "time_cron", expression="0 2 * * *", timezone="America/New_York", count=3,
        after="2024-03-09T00:00:00Z",
    )  # fmt: skip
    # 02:00 does not exist on March 10: that run happens at 03:00 EDT.
    assert out["nextRuns"] == [
        "2024-03-09T02:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:00:00-04:00",
    ]  # fmt: skip
    assert out["timezone"] == "America/New_York"


def test_cron_six_fields_have_seconds_first(registry: Registry) -> None:
    out = run(
        registry, "time_cron", expression="30 */10 * * * *", count=2, after="2024-01-01T00:00:00Z"
    )
    assert out["nextRuns"] == ["2024-01-01T00:00:30Z", "2024-01-01T00:10:30Z"]
    assert out["hasSeconds"] is True


@pytest.mark.parametrize(
    ("alias", "fields"),
    [("@hourly", "0 * * * *"), ("@DAILY", "0 0 * * *"), ("@annually", "0 0 1 1 *")],
)
def test_cron_aliases(registry: Registry, alias: str, fields: str) -> None:
    assert run(registry, "time_cron", expression=alias)["expression"] == fields


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        # Vixie cron sets its "star" flag for a day field starting with *: then both must match
        ("0 0 */2 * 1", ["2026-01-05", "2026-01-19", "2026-02-09"]),  # odd days that are Mondays
        ("0 0 1-7 * */7", ["2026-01-04", "2026-02-01", "2026-03-01"]),  # first Sunday
    ],
)
def test_cron_a_day_field_starting_with_a_star_is_unrestricted(
    registry: Registry, expression: str, runs: list[str]
) -> None:
    out = run(registry, "time_cron", expression=expression, count=3, after="2026-01-01T00:00:00Z")
    assert out["nextRuns"] == [f"{day}T00:00:00Z" for day in runs]


@pytest.mark.parametrize(
    ("expression", "runs", "words"),
    [
        # croniter 7 ANDs (or finds nothing for) # and W with the other day field: ours is OR.
        ("0 0 1 * MON#1", ["2024-02-01", "2024-02-05", "2024-03-01", "2024-03-04"],
         "At 00:00, on day 1 of the month, or on the first Monday of the month"),
        ("0 0 15 * MON#1", ["2024-01-15", "2024-02-05", "2024-02-15", "2024-03-04"],
         "At 00:00, on day 15 of the month, or on the first Monday of the month"),
        # 15W: Monday Jan 15 (also a Monday), Thursday Feb 15.
        ("0 0 15W * MON", ["2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29", "2024-02-05",
                           "2024-02-12", "2024-02-15", "2024-02-19"],
         "At 00:00, on the weekday nearest day 15 of the month, or on Monday"),
        # Six fields: the day fields are still the last but two and the last.
        ("0 0 0 1 * MON#1", ["2024-02-01", "2024-02-05", "2024-03-01", "2024-03-04"],
         "At 00:00, on day 1 of the month, or on the first Monday of the month"),
    ],
    ids=["day-1-or-first-monday", "day-15-or-first-monday", "15w-or-monday", "six-fields"],
)  # fmt: skip
def test_cron_nth_weekday_or_nearest_weekday_with_the_other_day_field(
    registry: Registry, expression: str, runs: list[str], words: str
) -> None:
    out = run(
        registry, "time_cron", expression=expression, count=len(runs),
        after="2024-01-01T00:00:00Z",
    )  # fmt: skip
    assert out["nextRuns"] == [f"{day}T00:00:00Z" for day in runs]
    assert out["description"] == words


def test_cron_words_say_and_when_the_day_fields_both_apply(registry: Registry) -> None:
    out = run(registry, "time_cron", expression="0 0 */2 * 1", count=3, after="2024-01-01T00:00:00Z")  # fmt: skip
    assert out["nextRuns"] == ["2024-01-15T00:00:00Z", "2024-01-29T00:00:00Z", "2024-02-05T00:00:00Z"]  # fmt: skip
    assert out["description"] == "At 00:00, every 2 days, but only on Monday"


@pytest.mark.parametrize(
    ("expression", "runs", "words"),
    [
        # Either day field may match (OR): Tuesday Jan 2 is not the 13th, Saturday Jan 13 is.
        ("0 0 13 * MON-FRI", ["01-02", "01-03", "01-04", "01-05", "01-08"],
         "At 00:00, on day 13 of the month, or Monday through Friday"),
        # A day of week starting with * restricts the day of month (AND): Sat 13 Jan, Tue 13 Feb, Thu 13 Jun.
        ("0 0 13 * */2", ["01-13", "02-13", "04-13", "06-13", "07-13"],
         "At 00:00, on day 13 of the month, but only every 2 days of the week"),
        ("0 0 */2 * MON-FRI", ["01-03", "01-05", "01-09", "01-11", "01-15"],
         "At 00:00, every 2 days, but only Monday through Friday"),
    ],
    ids=["range-or", "step-and", "odd-days-and-range"],
)  # fmt: skip
def test_cron_words_join_every_weekday_form_as_the_runs_do(
    registry: Registry, expression: str, runs: list[str], words: str
) -> None:
    out = run(registry, "time_cron", expression=expression, count=5, after="2024-01-01T00:00:00Z")  # fmt: skip
    assert out["nextRuns"] == [f"2024-{day}T00:00:00Z" for day in runs]
    assert out["description"] == words


def test_cron_after_without_offset_is_in_the_zone(registry: Registry) -> None:
    for after in ("2024-01-01", "2024-01-01T00:00:00"):
        out = run(
            registry, "time_cron", expression="0 5 * * *", count=1, after=after,
            timezone="Asia/Tokyo",
        )  # fmt: skip
        assert out["nextRuns"] == ["2024-01-01T05:00:00+09:00"]


@pytest.mark.parametrize(
    ("expression", "after", "runs"),
    [
        ("0 0 1 1 *", "9997-06-01T00:00:00Z", ["9998-01-01T00:00:00Z", "9999-01-01T00:00:00Z"]),
        ("0 0 * * *", "9999-12-30T00:00:00Z", ["9999-12-31T00:00:00Z"]),
        ("0 0 1 * MON#1", "9999-11-15T00:00:00Z", ["9999-12-01T00:00:00Z", "9999-12-06T00:00:00Z"]),
    ],
    ids=["yearly", "daily", "union"],
)  # fmt: skip
def test_cron_near_the_year_9999_lists_the_runs_there_are(
    registry: Registry, expression: str, after: str, runs: list[str]
) -> None:
    out = run(registry, "time_cron", expression=expression, count=5, after=after)
    assert out["nextRuns"] == runs


def test_cron_day_of_month_or_weekday(registry: Registry) -> None:
    # Vixie cron: both restricted means either matches (the 13th, or any Friday).
    out = run(registry, "time_cron", expression="0 0 13 * FRI", count=3, after="2024-09-01T00:00:00Z")  # fmt: skip
    assert out["nextRuns"] == ["2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z"]  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "details"),
    [
        ("* * *", "expected 5 fields (or 6 with seconds first), got 3"),
        ("* * * * * * *", "expected 5 fields (or 6 with seconds first), got 7"),
        ("61 * * * *", "61 * * * *: is not acceptable, out of range"),
        ("0 0 30 2 *", "0 0 30 2 * never runs (no date matches within 48 years)"),
        ("@reboot", "unknown alias @reboot; known: @yearly, @annually, @monthly, @weekly, "
                    "@daily, @midnight, @hourly (@reboot is not a schedule)"),
    ],
)  # fmt: skip
def test_cron_errors(registry: Registry, expression: str, details: str) -> None:
    assert refused(registry, "time_cron", expression=expression) == (
        "Invalid cron expression",
        details,
    )


@pytest.mark.parametrize(
    ("after", "details"),
    [
        ("0001-01-01T02:00:00Z", "after is before the year 1 on the zone's clock"),
        ("9999-12-31T12:00:00Z", "the next runs fall after the year 9999"),
    ],
    ids=["year-0-on-the-clock", "past-9999"],
)
def test_cron_at_the_ends_of_the_calendar(registry: Registry, after: str, details: str) -> None:
    args = {"expression": "0 0 * * *", "timezone": "America/New_York", "after": after}
    assert refused(registry, "time_cron", **args) == ("Invalid cron expression", details)


def test_cron_with_no_run_before_the_year_10000_says_so(registry: Registry) -> None:
    # croniter raises ValueError("year 10000 is out of range") here: our sentence, not Python's.
    args = {"expression": "0 0 1 1 *", "after": "9999-06-01T00:00:00Z"}
    details = "the next runs fall after the year 9999"
    assert refused(registry, "time_cron", **args) == ("Invalid cron expression", details)


def test_cron_uses_the_default_zone(kolkata_registry: Registry) -> None:
    out = run(kolkata_registry, "time_cron", expression="0 9 * * *", count=1, after="2024-01-01T00:00:00Z")  # fmt: skip
    assert out["nextRuns"] == ["2024-01-01T09:00:00+05:30"]


async def test_time_tools_over_rest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/time/calc", json={"action": "add", "start": "2024-01-31", "duration": "P1M"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["result"] == "2024-02-29T00:00:00Z"
    response = await client.post("/api/v1/time/cron", json={"expression": "bad"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
