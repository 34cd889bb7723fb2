"""The tool registry: every tool is declared once, here-by-decorator, and every front end reads it.

A declaration (:func:`tool`) only attaches data: the REST path (which gives the MCP name and the CLI
words), title, description, annotations, whether it blocks, its rate-limit class and examples.  The
input and output models come from the function's type hints.  :class:`Registry` validates input,
applies admission checks (tool span, rate limits), concurrency gates and outcome observers
(metrics, span end), runs the function (in a thread when it blocks) and returns the output model.
Wrapping invoke middleware is supported for anything that must wrap a whole call.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import threading
import time
import typing
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

import orjson
import pydantic

from devutils.errors import ServiceUnavailableError, ToolError, ToolTimeoutError, ValidationError
from devutils.input_errors import accepted_keys, input_error, unknown_fields_error
from devutils.models import ToolInput, ToolOutput
from devutils.observability.metrics import ARGON2_REJECTED
from devutils.settings import Settings

T = TypeVar("T")
API_PREFIX = "/api/v1/"
FAMILY_MODULES = (
    "devutils.tools.crypto",
    "devutils.tools.password",
    "devutils.tools.cert",
    "devutils.tools.text",
    "devutils.tools.regex",
    "devutils.tools.data",
    "devutils.tools.transform",
    "devutils.tools.compress",
    "devutils.tools.ids",
    "devutils.tools.timeconv",
    "devutils.tools.web",
    "devutils.tools.ipinfo",
    "devutils.tools.network",
)

RateClass = Literal["default", "crypto", "network"]
# True: always run in a worker thread (I/O, Argon2).  "large": run in a thread only when the
# input's text exceeds OFFLOAD_ABOVE characters; a thread hop costs more than the tool on small
# inputs, but a 1 MiB input must not hold the event loop.
Blocking = bool | Literal["large"]
OFFLOAD_ABOVE = 64 * 1024


@dataclass(frozen=True)
class Example:
    """A worked example: arguments as a client sends them.  Run by the contract tests."""

    args: Mapping[str, Any]
    title: str = ""


ToolFunc = Callable[[Any, "ToolContext"], ToolOutput]
# Cheap checks that must answer 4xx before a concurrency gate is entered (a forged Argon2 hash
# is refused even while every slot is busy).
Precheck = Callable[[Any, "ToolContext"], None]


@dataclass(frozen=True)
class ToolSpec:
    path: str
    title: str
    description: str
    func: ToolFunc
    input_model: type[ToolInput]
    output_model: type[ToolOutput]
    method: Literal["GET", "POST"] = "POST"
    read_only: bool = True
    idempotent: bool = True
    open_world: bool = False
    blocking: Blocking = False
    rate_class: RateClass = "default"
    gate: str | None = None
    examples: tuple[Example, ...] = ()
    bind_error_message: str = "Invalid request"
    precheck: Precheck | None = None

    # Cached: read on every call by metrics and limits.
    @functools.cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(self.path.removeprefix(API_PREFIX).split("/"))

    @functools.cached_property
    def name(self) -> str:
        return "_".join(self.words)

    @functools.cached_property
    def family(self) -> str:
        return self.words[0]


_CATALOGUE: list[ToolSpec] = []


def tool(
    path: str,
    *,
    title: str,
    description: str,
    method: Literal["GET", "POST"] = "POST",
    read_only: bool = True,
    idempotent: bool = True,
    open_world: bool = False,
    blocking: Blocking = False,
    rate_class: RateClass = "default",
    gate: str | None = None,
    examples: tuple[Example, ...] = (),
    bind_error_message: str = "Invalid request",
    precheck: Precheck | None = None,
) -> Callable[[Callable[[Any, ToolContext], Any]], Callable[[Any, ToolContext], Any]]:
    """Declare a tool.  The function is ``(input_model, ToolContext) -> output_model``."""

    def attach(func: Callable[[Any, ToolContext], Any]) -> Callable[[Any, ToolContext], Any]:
        hints = typing.get_type_hints(func)
        params = [name for name in hints if name != "return"]
        input_model = hints[params[0]]
        output_model = hints["return"]
        if not (isinstance(input_model, type) and issubclass(input_model, ToolInput)):
            raise TypeError(f"{func.__qualname__}: first parameter must be a ToolInput model")
        if not (isinstance(output_model, type) and issubclass(output_model, ToolOutput)):
            raise TypeError(f"{func.__qualname__}: return type must be a ToolOutput model")
        _CATALOGUE.append(
            ToolSpec(
                path=path,
                title=title,
                description=description,
                func=func,
                input_model=input_model,
                output_model=output_model,
                method=method,
                read_only=read_only,
                idempotent=idempotent,
                open_world=open_world,
                blocking=blocking,
                rate_class=rate_class,
                gate=gate,
                examples=examples,
                bind_error_message=bind_error_message,
                precheck=precheck,
            )
        )
        return func

    return attach


def catalogue() -> tuple[ToolSpec, ...]:
    """Every declared tool, importing the family modules once."""
    for module in FAMILY_MODULES:
        importlib.import_module(module)
    return tuple(_CATALOGUE)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ToolContext:
    """What a tool may use besides its input: settings, a clock and lazily built services.

    A service is any object made from the settings by a factory function; the first call builds
    it, later calls reuse it.  Tests replace one with :meth:`provide` (a fixed resolver, a clock).
    """

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self._services: dict[Callable[[Settings], Any], Any] = {}
        self._lock = threading.Lock()

    def service(self, factory: Callable[[Settings], T]) -> T:
        try:
            return typing.cast(T, self._services[factory])
        except KeyError:
            with self._lock:
                if factory not in self._services:
                    self._services[factory] = factory(self.settings)
                return typing.cast(T, self._services[factory])

    def provide(self, factory: Callable[[Settings], T], instance: T) -> None:
        with self._lock:
            self._services[factory] = instance


@dataclass(slots=True)  # created on every call
class CallInfo:
    """Who is calling and how; admission checks, observers and middleware read and annotate it."""

    frontend: Literal["rest", "mcp", "cli"]
    principal: str | None = None
    authenticated: bool = False
    client_ip: str | None = None
    request_id: str | None = None
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # lower-case names
    parsed: ToolInput | None = None  # set once the arguments validate
    span: Any = None  # the tool-call span while one is open (tracing)
    # The size of the encoded arguments when the front end knows it (REST: the body).  Text in a
    # JSON body of n bytes is at most n characters, so a small body needs no counting to know the
    # call stays on the event loop.
    input_bytes: int | None = None


Proceed = Callable[[], Awaitable[ToolOutput]]
# Wraps a whole call (spans).  Each wrapper costs a coroutine and a closure per call, so checks and
# observations that need no wrapping use the two cheaper kinds below.
InvokeMiddleware = Callable[[ToolSpec, CallInfo, Proceed], Awaitable[ToolOutput]]
# Runs before validation and may refuse the call by raising (rate limits); returns None when it
# decided synchronously (the memory store) or an awaitable to wait for (the Redis store).
Admission = Callable[[ToolSpec, CallInfo], Awaitable[None] | None]
# Told every outcome with the call's duration: (spec, call, seconds, result, error); cancellation
# (the client went away) is not an outcome.
Observer = Callable[[ToolSpec, CallInfo, float, ToolOutput | None, Exception | None], None]


class ConcurrencyGate:
    """At most ``limit`` calls in flight, at most ``queue`` waiting up to ``timeout`` s, else 503."""

    def __init__(
        self,
        limit: int,
        queue: int,
        timeout: float,
        on_reject: Callable[[], None] | None = None,
    ) -> None:
        self.on_reject = on_reject
        self.limit = limit
        self.queue = queue
        self.timeout = timeout
        self._semaphore = asyncio.Semaphore(limit)
        self._waiting = 0
        self._sync = threading.BoundedSemaphore(limit)

    def _busy(self) -> ServiceUnavailableError:
        if self.on_reject is not None:
            self.on_reject()
        return ServiceUnavailableError(
            "Server busy, retry shortly",
            "too many concurrent requests for this tool",
            headers={"Retry-After": "1"},
        )

    async def run(self, work: Proceed) -> ToolOutput:
        if self._semaphore.locked():
            if self._waiting >= self.queue:
                raise self._busy()
            self._waiting += 1
            try:
                await asyncio.wait_for(self._semaphore.acquire(), self.timeout)
            except TimeoutError:
                raise self._busy() from None
            finally:
                self._waiting -= 1
        else:
            await self._semaphore.acquire()
        try:
            return await work()
        finally:
            self._semaphore.release()

    def run_sync(self, work: Callable[[], ToolOutput]) -> ToolOutput:
        if not self._sync.acquire(timeout=self.timeout):
            raise self._busy()
        try:
            return work()
        finally:
            self._sync.release()


class Registry:
    def __init__(self, specs: tuple[ToolSpec, ...], context: ToolContext) -> None:
        self.context = context
        self._by_name: dict[str, ToolSpec] = {}
        self._by_path: dict[str, ToolSpec] = {}
        for spec in specs:
            if spec.name in self._by_name or spec.path in self._by_path:
                raise ValueError(f"tool declared twice: {spec.name}")
            self._by_name[spec.name] = spec
            self._by_path[spec.path] = spec
        self.middleware: list[InvokeMiddleware] = []
        self.admission: list[Admission] = []
        self.observers: list[Observer] = []
        settings = context.settings
        self.gates: dict[str, ConcurrencyGate] = {
            "argon2": ConcurrencyGate(
                settings.argon_concurrency,
                settings.argon_queue_size,
                settings.argon_queue_timeout,
                on_reject=ARGON2_REJECTED.inc,
            )
        }

    @classmethod
    def default(cls, settings: Settings, clock: Callable[[], datetime] = utc_now) -> Registry:
        return cls(catalogue(), ToolContext(settings, clock))

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> ToolSpec | None:
        return self._by_name.get(name)

    def by_path(self, path: str) -> ToolSpec | None:
        return self._by_path.get(path)

    @staticmethod
    def parse(spec: ToolSpec, args: Any) -> ToolInput:
        if type(args) is not dict:  # a dict skips the ABC check
            if not isinstance(args, Mapping):
                raise ValidationError(spec.bind_error_message, "request body must be a JSON object")
            args = dict(args)
        given = args
        if None in args.values():
            # JSON null for a field means its default (API-DELTAS D2); an unknown field stays
            # an error even when it is null.
            accepted = accepted_keys(spec.input_model)
            unknown = [key for key, value in args.items() if value is None and key not in accepted]
            if unknown:
                raise unknown_fields_error(spec.input_model, unknown, set(args))
            args = {key: value for key, value in args.items() if value is not None}
        try:
            # The validator itself: model_validate is a Python wrapper that costs 0.3 µs a call.
            parsed: ToolInput = spec.input_model.__pydantic_validator__.validate_python(args)
            return parsed
        except pydantic.ValidationError as exc:
            raise input_error(spec.input_model, exc, spec.bind_error_message, set(given)) from None

    def _call(self, spec: ToolSpec, parsed: ToolInput) -> ToolOutput:
        try:
            result = spec.func(parsed, self.context)
        except UnicodeEncodeError:
            # Only reachable through text that JSON allowed but UTF-8 cannot hold (lone surrogates).
            raise ValidationError(
                spec.bind_error_message, "text contains unpaired surrogate code points"
            ) from None
        if not isinstance(result, spec.output_model):
            raise TypeError(f"{spec.name} returned {type(result).__name__}")
        return result

    async def invoke(
        self, spec: ToolSpec, args: Any, call: CallInfo, *, _inner: bool = False
    ) -> ToolOutput:
        """Validate, gate, run and return the output model; raises :class:`ToolError`.

        Middleware (if any) wraps everything; observers (metrics, span end) see every outcome,
        refusals and validation errors included; admission checks (span start, rate limits) run
        before validation, so a refused call costs no parsing.
        """
        if self.middleware and not _inner:

            async def run() -> ToolOutput:
                return await self.invoke(spec, args, call, _inner=True)

            proceed: Proceed = run
            for middleware in reversed(self.middleware):
                proceed = _bind(middleware, spec, call, proceed)
            return await proceed()

        observers = self.observers
        started = time.perf_counter()
        try:
            for admit in self.admission:
                pending = admit(spec, call)
                if pending is not None:
                    await pending
            parsed = self.parse(spec, args)
            call.parsed = parsed
            if spec.precheck is not None:
                spec.precheck(parsed, self.context)
            if spec.gate is None and (
                not spec.blocking or (spec.blocking == "large" and _small(parsed, call))
            ):
                result = self._call(spec, parsed)  # the common case: no coroutine of its own
            else:
                result = await self._offload(spec, parsed)
        except Exception as exc:
            for observe in observers:
                observe(spec, call, time.perf_counter() - started, None, exc)
            raise
        for observe in observers:
            observe(spec, call, time.perf_counter() - started, result, None)
        return result

    async def _offload(self, spec: ToolSpec, parsed: ToolInput) -> ToolOutput:
        """Run a blocking tool in a thread: behind its gate, or under the tool deadline."""
        if spec.gate is not None and (gate := self.gates.get(spec.gate)) is not None:
            # A gated tool keeps its slot until its thread ends: a deadline that freed the slot
            # early would let memory-heavy work (Argon2) pile up past the gate.
            return await gate.run(lambda: asyncio.to_thread(self._call, spec, parsed))
        if not spec.blocking or (spec.blocking == "large" and _text_size(parsed) <= OFFLOAD_ABOVE):
            return self._call(spec, parsed)  # a gate named but not configured
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._call, spec, parsed), self.context.settings.tool_timeout
            )
        except TimeoutError:
            raise ToolTimeoutError(
                "Operation timed out", f"{spec.name} exceeded its deadline"
            ) from None

    def invoke_sync(self, spec: ToolSpec, args: Any) -> ToolOutput:
        """The CLI path: no event loop, no admission checks, observers or middleware."""
        parsed = self.parse(spec, args)
        if spec.precheck is not None:
            spec.precheck(parsed, self.context)
        gate = self.gates.get(spec.gate) if spec.gate else None
        if gate:
            return gate.run_sync(lambda: self._call(spec, parsed))
        return self._call(spec, parsed)


def _small(parsed: ToolInput, call: CallInfo) -> bool:
    """True when the input's text is at most OFFLOAD_ABOVE characters (stays on the loop)."""
    if call.input_bytes is not None and call.input_bytes <= OFFLOAD_ABOVE:
        return True
    return _text_size(parsed) <= OFFLOAD_ABOVE


def _text_size(parsed: ToolInput) -> int:
    """Characters of text in the input: what decides whether a "large" tool leaves the loop."""
    return sum(len(value) for value in parsed.__dict__.values() if isinstance(value, str))


def _bind(
    middleware: InvokeMiddleware, spec: ToolSpec, call: CallInfo, proceed: Proceed
) -> Proceed:
    async def step() -> ToolOutput:
        return await middleware(spec, call, proceed)

    return step


def dump_output(result: ToolOutput) -> dict[str, Any]:
    """The JSON-ready ``data`` object: identical for REST, MCP structured content and the CLI."""
    fields = _plain_fields_of(type(result))
    if fields is not None:  # JSON-ready already: text, booleans, lists of text
        values = result.__dict__
        return {key: values[name] for name, key in fields}
    return result.model_dump(mode="json", by_alias=True)


def dump_output_json(result: ToolOutput) -> bytes:
    """:func:`dump_output` as compact JSON (a test holds the bytes equal for every example).

    Models whose fields are all text, booleans or lists of text go straight to orjson: pydantic's
    serializer escapes text a character at a time (1.4 KiB of base64 took 0.68 µs against orjson's
    0.17).  Any other model is written by pydantic's serializer in one step, a third of the time
    of building the dict and encoding it.
    """
    cls = type(result)
    fields = _plain_fields_of(cls)
    if fields is not None:
        values = result.__dict__
        try:
            return orjson.dumps({key: values[name] for name, key in fields})
        except orjson.JSONEncodeError:  # e.g. a lone surrogate: let pydantic report it
            pass
    return cls.__pydantic_serializer__.to_json(result, by_alias=True)


# Field types that orjson writes exactly as pydantic does (no floats: the two format some
# differently; no nested models or custom serializers).
_PLAIN_TYPES: tuple[object, ...] = (str, bool, str | None, bool | None, list[str])
_PLAIN_FIELDS: dict[type[ToolOutput], tuple[tuple[str, str], ...] | None] = {}
_UNKNOWN: Any = object()


def _plain_fields_of(cls: type[ToolOutput]) -> tuple[tuple[str, str], ...] | None:
    fields = _PLAIN_FIELDS.get(cls, _UNKNOWN)
    if fields is _UNKNOWN:
        fields = _PLAIN_FIELDS[cls] = _plain_fields(cls)
    return cast("tuple[tuple[str, str], ...] | None", fields)


def _plain_fields(cls: type[ToolOutput]) -> tuple[tuple[str, str], ...] | None:
    """(attribute, JSON name) of each field when all are plain, else None."""
    decorators = cls.__pydantic_decorators__
    if cls.model_computed_fields or decorators.field_serializers or decorators.model_serializers:
        return None
    fields = []
    for name, info in cls.model_fields.items():
        if info.annotation not in _PLAIN_TYPES or info.metadata or info.exclude:
            return None
        fields.append((name, info.serialization_alias or info.alias or name))
    return tuple(fields)


__all__ = [
    "Admission",
    "CallInfo",
    "ConcurrencyGate",
    "Example",
    "InvokeMiddleware",
    "Observer",
    "Registry",
    "ToolContext",
    "ToolError",
    "ToolSpec",
    "catalogue",
    "dump_output",
    "dump_output_json",
    "tool",
]
