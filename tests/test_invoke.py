"""Registry.invoke: prechecks before gates, gates, placement by cost class, middleware order."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from types import MappingProxyType

import pytest
from pydantic import Field

from devutils.errors import ServiceUnavailableError, ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.observability.metrics import ARGON2_REJECTED
from devutils.registry import (
    CallInfo,
    ConcurrencyGate,
    InvokeMiddleware,
    Proceed,
    Registry,
    ToolContext,
    ToolSpec,
    catalogue,
    dump_output_json,
)
from devutils.settings import Settings
from tests.support import HASH_FIELDS


class TextIn(ToolInput):
    content: str = Field("")


class ThreadOut(ToolOutput):
    thread: str
    pid: int = 0


def _where(inp: TextIn, ctx: ToolContext) -> ThreadOut:
    return ThreadOut(thread=threading.current_thread().name, pid=os.getpid())


LIMIT = 8 * 1024  # INLINE_MAX_WORK's default


def _spec(**kwargs: object) -> ToolSpec:
    return ToolSpec(
        path="/api/v1/test/where",
        title="where",
        description="Which thread ran the tool.",
        func=_where,
        input_model=TextIn,
        output_model=ThreadOut,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("blocking", "size", "input_bytes", "where"),
    [
        (False, LIMIT * 4, None, "loop"),
        (True, 10, None, "thread"),
        ("large", 10, None, "loop"),
        ("large", LIMIT + 1, None, "process"),
        ("large", 10, 30, "loop"),
        ("large", LIMIT + 1, LIMIT + 20, "process"),
        # A big body (whitespace padding, other fields) with little text still stays inline.
        ("large", 10, 10 * LIMIT, "loop"),
    ],
    ids=[
        "inline",
        "network-thread",
        "cpu-small-input",
        "cpu-big-input",
        "small-body",
        "big-body-big-text",
        "big-body-small-text",
    ],
)
async def test_placement_by_cost_class_and_input_size(
    settings: Settings, blocking: object, size: int, input_bytes: int | None, where: str
) -> None:
    spec = _spec(blocking=blocking)
    registry = Registry((spec,), ToolContext(settings))
    call = CallInfo("rest", input_bytes=input_bytes)
    try:
        result = await registry.invoke(spec, {"content": "x" * size}, call)
    finally:
        registry.close()
    assert isinstance(result, ThreadOut)
    on_loop = result.thread == threading.main_thread().name and result.pid == os.getpid()
    seen = "loop" if on_loop else ("thread" if result.pid == os.getpid() else "process")
    assert seen == where


async def test_estimate_decides_placement(settings: Settings) -> None:
    spec = _spec(blocking="large", cost="regex", estimate=lambda inp: len(inp.content) * 500)
    registry = Registry((spec,), ToolContext(settings))
    try:
        small = await registry.invoke(spec, {"content": "x" * 16}, CallInfo("rest", input_bytes=30))
        big = await registry.invoke(spec, {"content": "x" * 17}, CallInfo("rest", input_bytes=30))
        assert registry.executors.pools["regex"].pids()
    finally:
        registry.close()
    assert isinstance(small, ThreadOut)
    assert isinstance(big, ThreadOut)
    assert small.pid == os.getpid()
    assert big.pid != os.getpid()


async def test_forged_argon2_hash_is_400_even_when_every_slot_is_busy(registry: Registry) -> None:
    spec = registry.get("crypto_password_verify")
    assert spec is not None
    gate = registry.gates["argon2"]
    forged = "$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$" + "A" * 43
    release = asyncio.Event()

    async def hold() -> ToolOutput:
        await release.wait()
        return ThreadOut(thread="held")

    holders = [asyncio.create_task(gate.run(hold)) for _ in range(gate.limit + gate.queue)]
    await asyncio.sleep(0.01)
    try:
        with pytest.raises(ValidationError, match="exceed server limits"):
            await registry.invoke(spec, {"password": "x", "hash": forged}, CallInfo("rest"))
        before = ARGON2_REJECTED._value.get()
        with pytest.raises(ServiceUnavailableError) as refused:
            await registry.invoke(
                spec, {"password": "x", "hash": "$argon2id$bad"}, CallInfo("rest")
            )
        assert refused.value.headers["Retry-After"] == "1"
        assert ARGON2_REJECTED._value.get() == before + 1
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_gate_queue_waits_then_runs() -> None:
    gate = ConcurrencyGate(limit=1, queue=1, timeout=5)
    order: list[str] = []
    first_started = asyncio.Event()
    release = asyncio.Event()

    async def first() -> ToolOutput:
        first_started.set()
        await release.wait()
        order.append("first")
        return ThreadOut(thread="1")

    async def second() -> ToolOutput:
        order.append("second")
        return ThreadOut(thread="2")

    task1 = asyncio.create_task(gate.run(first))
    await first_started.wait()
    task2 = asyncio.create_task(gate.run(second))
    await asyncio.sleep(0.01)
    assert order == []
    release.set()
    await asyncio.gather(task1, task2)
    assert order == ["first", "second"]


async def test_invoke_middleware_wraps_validation_in_order(settings: Settings) -> None:
    spec = _spec()
    registry = Registry((spec,), ToolContext(settings))
    seen: list[str] = []

    def layer(name: str) -> InvokeMiddleware:
        async def middleware(spec: ToolSpec, call: CallInfo, proceed: Proceed) -> ToolOutput:
            seen.append(f"{name}>")
            try:
                return await proceed()
            finally:
                seen.append(f"<{name}:{'parsed' if call.parsed else 'unparsed'}")

        return middleware

    registry.middleware[:] = [layer("outer"), layer("inner")]
    with pytest.raises(ValidationError):
        await registry.invoke(spec, {"content": 5}, CallInfo("rest"))
    assert seen == ["outer>", "inner>", "<inner:unparsed", "<outer:unparsed"]


def test_catalogue_is_stable() -> None:
    assert catalogue() == catalogue()


@pytest.mark.parametrize(
    "args",
    [
        {"content": "x", "action": "encode", "urlSafe": None},
        MappingProxyType({"content": "x", "action": "encode", "urlSafe": None}),
    ],
    ids=["dict", "mapping"],
)
def test_null_members_mean_their_defaults(registry: Registry, args: Mapping[str, object]) -> None:
    spec = registry.get("transform_base64")
    assert spec is not None
    parsed = Registry.parse(spec, args)
    assert parsed.model_dump() == {"content": "x", "action": "encode", "url_safe": False}


def test_null_for_an_unknown_field_is_still_unknown(registry: Registry) -> None:
    spec = registry.get("crypto_hash")
    assert spec is not None
    with pytest.raises(ValidationError) as refused:
        Registry.parse(spec, {"content": "x", "algorithm": "md5", "text": None})
    assert refused.value.message == 'unknown field "text"'
    assert refused.value.details == f"allowed fields: {HASH_FIELDS}"


def test_null_for_a_required_field_is_missing(registry: Registry) -> None:
    spec = registry.get("crypto_hash")
    assert spec is not None
    with pytest.raises(ValidationError) as refused:
        Registry.parse(spec, {"content": "x", "algorithm": None})
    assert "algorithm" in refused.value.details
    with pytest.raises(ValidationError):
        Registry.parse(spec, ["content", "x"])


# A lone surrogate is text UTF-8 cannot hold: JSON's "\ud800" where a decoder lets it through, or
# a CLI argument's undecodable byte.  Wherever it meets an encoder (a precheck, the tool, the
# output's serializer) the call is a 400, on both paths.
@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("crypto_password_hash", {"password": "\ud800"}),  # the precheck encodes it
        ("text_diff", {"original": "\ud800", "modified": "b"}),  # echoed into the output
        ("web_url", {"action": "build", "scheme": "\udcff", "host": "example.com"}),
    ],
    ids=["precheck", "diff-output", "url-output"],
)
async def test_lone_surrogates_are_a_validation_error(
    registry: Registry, tool: str, args: dict[str, object]
) -> None:
    spec = registry.get(tool)
    assert spec is not None
    with pytest.raises(ValidationError) as sync_error:
        dump_output_json(registry.invoke_sync(spec, args))
    with pytest.raises(ValidationError) as async_error:
        dump_output_json(await registry.invoke(spec, args, CallInfo("rest")))  # as REST writes it
    for error in (sync_error.value, async_error.value):
        assert error.details == "text contains unpaired surrogate code points"


@pytest.mark.parametrize(
    ("tool", "args", "pooled"),
    [
        # Quadratic codecs: 8,000 CJK characters took 6 s of punycode on the loop.
        (
            "transform_encode",
            {"content": "\u4e00" * 10, "codec": "punycode", "direction": "encode"},
            True,
        ),
        ("transform_encode", {"content": "abc", "codec": "base58", "direction": "encode"}, True),
        ("transform_encode", {"content": "abc", "codec": "hex", "direction": "encode"}, False),
        # 48 bytes of bzip2 are 8 MiB of output.
        (
            "transform_compress",
            {"content": "QlpoOQ==", "action": "decompress", "algorithm": "bzip2"},
            True,
        ),
        (
            "transform_compress",
            {"content": "abc", "action": "compress", "algorithm": "gzip"},
            False,
        ),
        # Runs of flags make grapheme counting quadratic.
        ("text_info", {"content": "\U0001f1e6" * 4}, True),
        ("text_info", {"content": "plain words"}, False),
    ],
    ids=["punycode", "base58", "hex", "decompress", "compress", "flags", "plain"],
)
def test_work_that_outgrows_its_text_leaves_the_loop(
    registry: Registry, tool: str, args: dict[str, object], pooled: bool
) -> None:
    spec = registry.get(tool)
    assert spec is not None
    assert spec.estimate is not None
    work = spec.estimate(spec.input_model.model_validate(args))
    assert (work > registry.context.settings.inline_max_work) is pooled
