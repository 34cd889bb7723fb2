"""id tools: UUIDs (versions 1, 3, 4, 5, 6 and 7), ULIDs and Nano IDs from the operating system's
CSPRNG, and id/inspect, which reads a UUID or ULID back."""

from __future__ import annotations

import os
import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from devutils.errors import ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.registry import Example, ToolContext, tool
from devutils.tools import _ulid, _uuidtime
from devutils.tools._idinspect import IdInspectOutput, inspect_id, parse_uuid
from devutils.tools._timefmt import unix_millis

MAX_COUNT = 1000
MAX_NANOID_SIZE = 50
DEFAULT_NANOID_SIZE = 21
NANOID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# byte & 63 picks each of the 64 symbols from exactly 4 byte values: no bias.
_NANOID_TABLE = bytes(ord(NANOID_ALPHABET[byte & 63]) for byte in range(256))
# RFC 9562 §6.10: a random node ID with the multicast bit set never collides with a real MAC
# address, and does not publish this host's.
_V1_NODE = int.from_bytes(os.urandom(6), "big") | 1 << 40
_UUID_ERROR = "Failed to generate UUIDs"
_ULID_ERROR = "Failed to generate ULIDs"
MAX_NAME_LENGTH = 65536
NAMESPACES = {
    "dns": uuid.NAMESPACE_DNS,
    "url": uuid.NAMESPACE_URL,
    "oid": uuid.NAMESPACE_OID,
    "x500": uuid.NAMESPACE_X500,
}
_V6_CLOCK = _uuidtime.V6Clock()
_ULIDS = _ulid.Generator()
_NANOID_ERROR = "Failed to generate Nano IDs"


def _whole_number(value: Any) -> Any:
    # A Literal of ints alone would take true for 1 and 4.0 for 4, which strict ints refuse.
    if type(value) is not int:
        raise ValueError("Input should be 1, 3, 4, 5, 6 or 7")
    return value


class UuidInput(ToolInput):
    # An enum, so schemas list the versions; 0 (Go's "missing") is refused like any other.
    version: Annotated[Literal[1, 3, 4, 5, 6, 7], BeforeValidator(_whole_number)] = Field(
        description="1/6 time-based, 4 random, 7 time-ordered random, 3/5 name-based (MD5/SHA-1)."
    )
    # 0 or less means 1 (as in the reference), so only the maximum is a bound.
    count: int = Field(
        1,
        description="How many UUIDs (0 or less means 1; at most 1000).",
        json_schema_extra={"maximum": MAX_COUNT},
    )
    namespace: str | None = Field(
        None, description="Versions 3/5: dns, url, oid, x500 or a namespace UUID."
    )
    name: str | None = Field(None, description="Versions 3/5: the name (its UTF-8 bytes).")


class UuidOutput(ToolOutput):
    uuids: list[str] = Field(description="Lower-case canonical UUIDs.")


def _uuid4s(count: int) -> list[str]:
    """RFC 9562 version-4 UUIDs from one read of the OS CSPRNG: the same bits ``uuid.uuid4()``
    draws, formatted without building a UUID object per id (a third of the cost)."""
    raw = bytearray(os.urandom(16 * count))
    out = []
    for offset in range(0, 16 * count, 16):
        raw[offset + 6] = raw[offset + 6] & 0x0F | 0x40  # version 4
        raw[offset + 8] = raw[offset + 8] & 0x3F | 0x80  # RFC 4122 variant
        h = raw[offset : offset + 16].hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


def _uuid6s(count: int, ticks: int) -> list[str]:
    first = _V6_CLOCK.take(ticks, count)
    clock_seq = int.from_bytes(os.urandom(2), "big")
    return [
        str(uuid.UUID(int=_uuidtime.uuid6_int(first + step, clock_seq, _V1_NODE)))
        for step in range(count)
    ]


def _namespace(text: str) -> uuid.UUID:
    known = NAMESPACES.get(text.lower())
    if known is not None:
        return known
    parsed = parse_uuid(text)
    if parsed is None:
        raise ValidationError(_UUID_ERROR, "namespace must be dns, url, oid, x500 or a UUID")
    return parsed


def _name_based(inp: UuidInput, count: int) -> str:
    if inp.namespace is None or inp.name is None:
        raise ValidationError(_UUID_ERROR, f"version {inp.version} needs a namespace and a name")
    if count != 1:
        raise ValidationError(
            _UUID_ERROR, "versions 3 and 5 give one UUID per namespace and name: count must be 1"
        )
    if len(inp.name) > MAX_NAME_LENGTH:
        raise ValidationError(
            _UUID_ERROR, f"name exceeds maximum length of {MAX_NAME_LENGTH} characters"
        )
    make = uuid.uuid3 if inp.version == 3 else uuid.uuid5
    return str(make(_namespace(inp.namespace), inp.name))


def _uuid7s(count: int, millis: int) -> list[str]:
    # Sorted random tails keep the batch strictly increasing within the millisecond while every
    # one of the 74 random bits stays random (RFC 9562 §6.2 allows any monotonic method).
    tails: list[int] = []
    while len(set(tails)) != count:
        tails = sorted(int.from_bytes(os.urandom(10), "big") >> 6 for _ in range(count))
    head = (millis & (1 << 48) - 1) << 80 | 7 << 76
    return [
        str(uuid.UUID(int=head | (tail >> 62) << 64 | 0b10 << 62 | tail & (1 << 62) - 1))
        for tail in tails
    ]


@tool(
    "/api/v1/id/uuid",
    title="Generate UUIDs",
    description=(
        "Generate 1 to 1000 UUIDs (RFC 9562): version 4 (random), 7 (Unix-time ordered), 1 or 6 "
        "(time-based, random node), or 3/5 from a namespace and name."
    ),
    idempotent=False,
    bind_error_message="Invalid request format",
    examples=(
        Example({"version": 4}),
        Example({"version": 7, "count": 3}),
        Example({"version": 1, "count": 2}),
        Example({"version": 6, "count": 2}),
        Example({"version": 5, "namespace": "dns", "name": "www.example.com"}, title="name-based"),
    ),
)
def id_uuid(inp: UuidInput, ctx: ToolContext) -> UuidOutput:
    count = inp.count if inp.count > 0 else 1
    if count > MAX_COUNT:
        raise ValidationError(_UUID_ERROR, f"count exceeds maximum limit of {MAX_COUNT}")
    if inp.version in (3, 5):
        return UuidOutput(uuids=[_name_based(inp, count)])
    if inp.namespace is not None or inp.name is not None:
        raise ValidationError(_UUID_ERROR, "namespace and name apply only to versions 3 and 5")
    if inp.version == 4:
        uuids = _uuid4s(count)
    elif inp.version == 7:
        uuids = _uuid7s(count, unix_millis(ctx.clock()))
    elif inp.version == 6:
        uuids = _uuid6s(count, _uuidtime.gregorian_ticks(ctx.clock()))
    else:
        uuids = [str(uuid.uuid1(node=_V1_NODE)) for _ in range(count)]
    return UuidOutput(uuids=uuids)


class NanoidInput(ToolInput):
    size: int = Field(
        DEFAULT_NANOID_SIZE,
        description="Characters per ID, 2 to 50 (0 or less means 21).",
        json_schema_extra={"maximum": MAX_NANOID_SIZE},
    )
    count: int = Field(
        1,
        description="How many IDs (0 or less means 1; at most 1000).",
        json_schema_extra={"maximum": MAX_COUNT},
    )
    alphabet: str | None = Field(
        None,
        description="Optional custom alphabet: 2 to 255 distinct characters (default A-Za-z0-9-_).",
        json_schema_extra={"minLength": 2, "maxLength": 255},
    )


class NanoidOutput(ToolOutput):
    ids: list[str] = Field(description="The generated IDs.")


def _nanoids_default(size: int, count: int) -> list[str]:
    text = os.urandom(size * count).translate(_NANOID_TABLE).decode("ascii")
    return [text[start : start + size] for start in range(0, size * count, size)]


def _nanoids_custom(alphabet: str, size: int, count: int) -> list[str]:
    # Rejection sampling over the smallest covering power of two: unbiased, and at least half of
    # the bytes are accepted, so a few rounds suffice.
    mask = (1 << (len(alphabet) - 1).bit_length()) - 1
    needed = size * count
    symbols: list[str] = []
    while len(symbols) < needed:
        batch = os.urandom(2 * (needed - len(symbols)) + 16)
        symbols.extend(alphabet[byte & mask] for byte in batch if byte & mask < len(alphabet))
    text = "".join(symbols[:needed])
    return [text[start : start + size] for start in range(0, needed, size)]


@tool(
    "/api/v1/id/nanoid",
    title="Generate Nano IDs",
    description=(
        "Generate 1 to 1000 URL-safe random IDs (default 21 characters of A-Za-z0-9-_, size "
        "2 to 50), optionally from a custom alphabet."
    ),
    idempotent=False,
    bind_error_message="Invalid request format",
    examples=(
        Example({}),
        Example({"size": 10, "count": 3}),
        Example({"size": 12, "alphabet": "0123456789abcdef"}, title="hex alphabet"),
    ),
)
def id_nanoid(inp: NanoidInput, ctx: ToolContext) -> NanoidOutput:
    size = inp.size if inp.size > 0 else DEFAULT_NANOID_SIZE
    count = inp.count if inp.count > 0 else 1
    if size > MAX_NANOID_SIZE:
        raise ValidationError(_NANOID_ERROR, f"size exceeds maximum limit of {MAX_NANOID_SIZE}")
    if count > MAX_COUNT:
        raise ValidationError(_NANOID_ERROR, f"count exceeds maximum limit of {MAX_COUNT}")
    if size < 2:
        raise ValidationError(
            _NANOID_ERROR,
            "failed to create Nano ID generator: length for ID is invalid (must be within 2-255)",
        )
    if inp.alphabet is None:
        return NanoidOutput(ids=_nanoids_default(size, count))
    if not 2 <= len(inp.alphabet) <= 255 or len(set(inp.alphabet)) != len(inp.alphabet):
        raise ValidationError(
            _NANOID_ERROR, "invalid alphabet: it must have 2-255 characters, all different"
        )
    return NanoidOutput(ids=_nanoids_custom(inp.alphabet, size, count))


class UlidInput(ToolInput):
    count: int = Field(
        1,
        description="How many ULIDs (0 or less means 1; at most 1000).",
        json_schema_extra={"maximum": MAX_COUNT},
    )
    monotonic: bool = Field(
        False, description="Within a millisecond, each ULID is the previous one plus one."
    )


class UlidOutput(ToolOutput):
    ulids: list[str] = Field(description="26-character Crockford base32 ULIDs.")


@tool(
    "/api/v1/id/ulid",
    title="Generate ULIDs",
    description=(
        "Generate 1 to 1000 ULIDs (48-bit Unix milliseconds + 80 random bits, sortable), "
        "optionally monotonic within a millisecond."
    ),
    idempotent=False,
    bind_error_message="Invalid request format",
    examples=(Example({}), Example({"count": 3, "monotonic": True})),
)
def id_ulid(inp: UlidInput, ctx: ToolContext) -> UlidOutput:
    count = inp.count if inp.count > 0 else 1
    if count > MAX_COUNT:
        raise ValidationError(_ULID_ERROR, f"count exceeds maximum limit of {MAX_COUNT}")
    return UlidOutput(ulids=_ULIDS.batch(unix_millis(ctx.clock()), count, inp.monotonic))


class IdInspectInput(ToolInput):
    id: str = Field(description="A UUID (any common form) or a 26-character ULID.")


@tool(
    "/api/v1/id/inspect",
    raw="canonical",
    title="Inspect a UUID or ULID",
    description=(
        "Version, variant, embedded time, clock sequence and node of a UUID or ULID, and its "
        "other forms (hex, base32, URN, base64)."
    ),
    bind_error_message="Invalid request format",
    examples=(
        Example({"id": "1ec9414c-232a-6b00-b3c8-9f6bdeced846"}, title="version 6"),
        Example({"id": "01ARYZ6S41TSV4RRFFQ69G5FAV"}, title="ULID"),
    ),
)
def id_inspect(inp: IdInspectInput, ctx: ToolContext) -> IdInspectOutput:
    return inspect_id(inp.id)
