"""time/zones: find IANA time zones by name or by their UTC offset at a moment."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, always_off_loop, tool
from devutils.tools._timefmt import rfc3339
from devutils.tools._zones import format_offset, is_dst, resolve_zone, zone_keys
from devutils.tools.timeconv import parse_time

MAX_LIMIT = 600


class ZonesInput(ToolInput):
    query: str = Field(
        "", max_length=64, description="Part of the zone name, any case (kolkata, america/)."
    )
    offset: str | None = Field(
        None,
        max_length=64,
        description="Only zones at this UTC offset then (+05:30, -8, UTC), or at a zone's offset.",
    )
    at: str | None = Field(
        None, max_length=64, description="The moment (ISO 8601) for offsets and DST; default now."
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description="Most zones listed (1-600).")


class ZoneInfoOut(ToolOutput):
    name: str
    offset: str = Field(description="UTC offset at that moment.")
    abbreviation: str
    is_dst: bool


class ZonesOutput(ToolOutput):
    at: str = Field(description="The moment the offsets are for (UTC).")
    zones: list[ZoneInfoOut]
    count: int = Field(description="Zones listed.")
    total: int = Field(description="Zones that match (more than count when limited).")


@tool(
    "/api/v1/time/zones",
    raw="zones",
    title="Find time zones",
    description="IANA time zones matching a name fragment or a UTC offset, with their offset, "
    "abbreviation and DST at a moment (default now).",
    blocking="large",  # every call scans the ~600 zones of the tz database (a few milliseconds)
    estimate=always_off_loop,
    examples=(
        Example({"query": "kolkata", "at": "2024-07-01T00:00:00Z"}),
        Example({"offset": "+05:45", "at": "2024-01-01T00:00:00Z"}),
        Example({"query": "america/new", "at": "2024-07-01T00:00:00Z"}),
    ),
)
def time_zones(inp: ZonesInput, ctx: ToolContext) -> ZonesOutput:
    moment = ctx.clock().astimezone(UTC) if inp.at is None else parse_time(inp.at, "iso8601")
    if not datetime(1, 1, 2, tzinfo=UTC) <= moment <= datetime(9999, 12, 31, tzinfo=UTC):
        # Within a day of the ends, some zone's wall clock would leave years 1-9999.
        raise ValidationError(
            "Failed to list time zones", "at must be between 0001-01-02 and 9999-12-31 (UTC)"
        )
    wanted = None
    if inp.offset is not None:
        fixed = resolve_zone(inp.offset, moment.year, "offset")
        wanted = moment.astimezone(fixed).utcoffset()
    needle = inp.query.strip().lower()
    matches: list[ZoneInfoOut] = []
    for key in sorted(zone_keys()):
        if needle and needle not in key.lower():
            continue
        local = moment.astimezone(ZoneInfo(key))
        if wanted is not None and local.utcoffset() != wanted:
            continue
        matches.append(
            ZoneInfoOut(
                name=key,
                offset=format_offset(local.utcoffset()),
                abbreviation=local.tzname() or "",
                is_dst=is_dst(local),
            )
        )
    listed = matches[: inp.limit]
    return ZonesOutput(at=rfc3339(moment), zones=listed, count=len(listed), total=len(matches))
