"""id/inspect: what a UUID (RFC 9562) or ULID carries, and the same 128 bits in other forms."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import timedelta
from typing import Literal

from pydantic import Field

from devutils.errors import ValidationError
from devutils.models import ToolOutput
from devutils.tools import _ulid, _uuidtime
from devutils.tools._timefmt import EPOCH

MAX_ID_LENGTH = 64
_ERROR = "Failed to inspect ID"
# The last millisecond a datetime can hold (9999-12-31T23:59:59.999Z): 48-bit millisecond times
# (version 7, ULID) reach the year 10889.
_MAX_ISO_MILLIS = 253402300799999
_VARIANTS = {
    uuid.RESERVED_NCS: "ncs",
    uuid.RFC_4122: "rfc9562",
    uuid.RESERVED_MICROSOFT: "microsoft",
    uuid.RESERVED_FUTURE: "future",
}


class IdInspectOutput(ToolOutput):
    # Descriptions only where the name does not say it all (the MCP catalogue is budgeted).
    type: Literal["uuid", "ulid"]
    canonical: str
    version: int | None
    variant: str | None = Field(description="rfc9562, ncs, microsoft, future, nil or max.")
    time: str | None = Field(description="Embedded time, ISO 8601 UTC.")
    unix_ms: int | None
    clock_sequence: int | None
    node: str | None
    hex: str
    base32: str = Field(description="Crockford base32 (ULID form).")
    urn: str
    base64: str


_HEX32 = r"[0-9a-fA-F]{32}"
_DASHED = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The written forms of a UUID (RFC 9562 §4, Microsoft's braces, the URN).  uuid.UUID alone is
# looser: it drops braces, "urn:uuid:" and hyphens anywhere, then takes int(x, 16), which
# accepts "+", "_" and non-ASCII digits.
_UUID_FORMS = re.compile(
    rf"(?:[uU][rR][nN]:[uU][uU][iI][dD]:)?(?:{_DASHED}|{_HEX32})|\{{(?:{_DASHED}|{_HEX32})\}}"
)


def parse_uuid(text: str) -> uuid.UUID | None:
    """The UUID ``text`` writes in one of its standard forms, else None."""
    if _UUID_FORMS.fullmatch(text) is None:
        return None
    digits = text[9:] if text[:1] in "uU" else text.strip("{}")  # past "urn:uuid:" or braces
    return uuid.UUID(hex=digits.replace("-", ""))


def _parse(text: str) -> tuple[Literal["uuid", "ulid"], int]:
    text = text.strip()
    if len(text) <= MAX_ID_LENGTH:
        if len(text) == _ulid.LENGTH:
            value = _ulid.decode(text)
            if value is not None:
                return "ulid", value
        else:
            parsed = parse_uuid(text)
            if parsed is not None:
                return "uuid", parsed.int
    raise ValidationError(
        _ERROR,
        "not a UUID (32 hex digits, as 8-4-4-4-12, {...} or urn:uuid:...) or a ULID "
        "(26 Crockford base32 characters)",
    )


def _iso(millis: int) -> str | None:
    if not -62135596800000 <= millis <= _MAX_ISO_MILLIS:
        return None
    moment = EPOCH + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def inspect_id(text: str) -> IdInspectOutput:
    kind, value = _parse(text)
    as_uuid = uuid.UUID(int=value)
    version: int | None = None
    variant: str | None = None
    millis: int | None = None
    clock_seq: int | None = None
    node: str | None = None
    if kind == "ulid":
        millis = value >> _ulid.RANDOM_BITS
    elif value == 0:
        variant = "nil"
    elif value == (1 << 128) - 1:
        variant = "max"
    else:
        variant = _VARIANTS[as_uuid.variant]
        if as_uuid.variant == uuid.RFC_4122:
            version = value >> 76 & 0xF
            if version in (1, 6):
                ticks = (_uuidtime.uuid1_ticks if version == 1 else _uuidtime.uuid6_ticks)(value)
                millis = (ticks - _uuidtime.GREGORIAN_OFFSET) // 10_000
                clock_seq = _uuidtime.clock_seq(value)
                node = f"{_uuidtime.node(value):012x}"
            elif version == 7:
                millis = value >> 80
    return IdInspectOutput(
        type=kind,
        canonical=_ulid.encode(value) if kind == "ulid" else str(as_uuid),
        version=version,
        variant=variant,
        time=None if millis is None else _iso(millis),
        unix_ms=millis,
        clock_sequence=clock_seq,
        node=node,
        hex=as_uuid.hex,
        base32=_ulid.encode(value),
        urn=as_uuid.urn,
        base64=base64.b64encode(as_uuid.bytes).decode("ascii"),
    )
