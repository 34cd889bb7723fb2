"""The tool registry: every tool is declared once, here-by-decorator, and every front end reads it.

A declaration (:func:`tool`) only attaches data: the REST path (which gives the MCP name and the CLI
words), title, description, annotations, its cost class (where it runs), its rate-limit class and
examples.  The input and output models come from the function's type hints.  :class:`Registry`
validates input, applies admission checks (tool span, rate limits), concurrency gates and outcome
observers (metrics, span end), runs the function where its cost class says (on the event loop
while the work is small, else in a bounded worker-process pool that is killed at the deadline, see
:mod:`devutils.execution`), caps the output and returns the output model.  Wrapping invoke
middleware is supported for anything that must wrap a whole call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import threading
import time
import typing
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar, cast

import orjson
import pydantic

from devutils.errors import (
    RateLimitError,
    ServiceUnavailableError,
    ToolError,
    ToolTimeoutError,
    ValidationError,
)
from devutils.execution.budget import OutputBudget, output_too_large
from devutils.execution.call import run_tool, surrogate_error, too_deep_error
from devutils.execution.executors import CostClass, Executors
from devutils.input_errors import accepted_keys, input_error, unknown_fields_error
from devutils.models import ToolInput, ToolOutput
from devutils.observability.metrics import ARGON2_IN_FLIGHT, ARGON2_REJECTED
from devutils.settings import Settings, SettingsError

T = TypeVar("T")
API_PREFIX = "/api/v1/"
FAMILY_MODULES = (
    "devutils.tools.crypto",
    "devutils.tools.secretgen",
    "devutils.tools.otp",
    "devutils.tools.password",
    "devutils.tools.cert",
    "devutils.tools.keygen",
    "devutils.tools.text",
    "devutils.tools.regex",
    "devutils.tools.data",
    "devutils.tools.number",
    "devutils.tools.dataquery",
    "devutils.tools.dataschema",
    "devutils.tools.diffpatch",
    "devutils.tools.transform",
    "devutils.tools.textcodec",
    "devutils.tools.tokens",
    "devutils.tools.compress",
    "devutils.tools.ids",
    "devutils.tools.timeconv",
    "devutils.tools.timezones",
    "devutils.tools.timecalc",
    "devutils.tools.cronexpr",
    "devutils.tools.web",
    "devutils.tools.ipinfo",
    "devutils.tools.cidr",
    "devutils.tools.network",
    "devutils.tools.pipeline",
)

RateClass = Literal["default", "crypto", "network"]
# Kept for declarations: True (I/O, Argon2) or "large" (input-proportional CPU).  Where a call runs
# is decided by the cost class (``cost``), which defaults from this and the gate.
Blocking = bool | Literal["large"]
# A tool's work estimate for one input (about bytes touched); compared with INLINE_MAX_WORK to
# decide whether it runs on the event loop.  Default: the characters of text in the input.
Estimate = Callable[[Any], int]
# A work estimate past any INLINE_MAX_WORK: the call always leaves the event loop.
OFF_LOOP_WORK = 1 << 30


def always_off_loop(inp: Any) -> int:
    """The estimate of a tool whose every call belongs in its pool (RSA, a scan of all zones)."""
    return OFF_LOOP_WORK


class StepCall(Protocol):
    """How a composite tool (the pipeline) calls another tool: through the registry, with the
    same validation, admission (rate limits), placement, deadline and output cap as a direct
    call."""

    def __call__(self, spec: ToolSpec, args: Mapping[str, Any], /) -> Awaitable[ToolOutput]: ...

    def plan(self, specs: Sequence[ToolSpec], /) -> None:
        """Declare every step before the first runs: raises (nothing spent) when the steps
        could never all be admitted, whatever the caller waits (the plan checks)."""

    def offers(self, spec: ToolSpec, /) -> bool:
        """Whether the caller's front end offers ``spec`` (MCP_TOOLSETS, MCP_DISABLED_TOOLS):
        a step naming a tool it hides must be refused as an unknown name would be."""


Composite = Callable[[Any, "Registry", StepCall], Coroutine[Any, Any, ToolOutput]]


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
    cost: CostClass | None = None
    estimate: Estimate | None = None
    composite: Composite | None = None
    # The output field(s) ``--raw`` prints on the CLI (snake_case names): the first of them the
    # output has (a tool with actions names one per action); default: the first field.
    raw: str | tuple[str, ...] | None = None

    @functools.cached_property
    def cost_class(self) -> CostClass:
        """Where the tool runs (see :mod:`devutils.execution.executors`)."""
        if self.cost is not None:
            return self.cost
        if self.gate == "argon2":
            return "argon2"
        if self.blocking is True:
            return "network"
        return "cpu" if self.blocking == "large" else "inline"

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
    cost: CostClass | None = None,
    estimate: Estimate | None = None,
    composite: bool = False,
    raw: str | tuple[str, ...] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a tool.  The function is ``(input_model, ToolContext) -> output_model``; for a
    ``composite`` tool it is ``async (input_model, Registry, StepCall) -> output_model`` and it
    runs on the event loop, each of its steps placed and bounded like any call."""

    def attach(func: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(func)
        params = [name for name in hints if name != "return"]
        input_model = hints[params[0]]
        output_model = hints["return"]
        if not (isinstance(input_model, type) and issubclass(input_model, ToolInput)):
            raise TypeError(f"{func.__qualname__}: first parameter must be a ToolInput model")
        if not (isinstance(output_model, type) and issubclass(output_model, ToolOutput)):
            raise TypeError(f"{func.__qualname__}: return type must be a ToolOutput model")
        raw_names = (raw,) if isinstance(raw, str) else raw or ()
        if any(name not in output_model.model_fields for name in raw_names):
            raise TypeError(f"{func.__qualname__}: raw={raw!r} is not a field of its output")
        _CATALOGUE.append(
            ToolSpec(
                path=path,
                title=title,
                description=description,
                func=_composite_only if composite else func,
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
                cost="inline" if composite else cost,
                estimate=estimate,
                composite=func if composite else None,
                raw=raw,
            )
        )
        return func

    return attach


def _composite_only(inp: Any, ctx: ToolContext) -> ToolOutput:
    raise TypeError("a composite tool runs through Registry.invoke or invoke_sync only")


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

    def output_budget(self, message: str = "Output too large") -> OutputBudget:
        """A fresh running count against ``MAX_OUTPUT_BYTES`` for a tool that produces output."""
        return OutputBudget(self.settings.max_output_bytes, message)


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
    admitted: bool = False  # set once every admission check (rate limits) let the call through
    span: Any = None  # the tool-call span while one is open (tracing)
    # The size of the encoded arguments when the front end knows it (REST: the body).  Text in a
    # JSON body of n bytes is at most n characters, so a small body needs no counting to know the
    # call stays on the event loop.
    input_bytes: int | None = None
    # A composite's step: the inline work its steps may still do on the loop, shared by them all.
    inline_budget: InlineBudget | None = None


@dataclass(slots=True)
class InlineBudget:
    """The work a composite's steps may still run on the event loop, all of them together.

    Each step alone is small, but sixteen of them in one call never yield to the loop, so
    INLINE_MAX_WORK bounds their sum: once it is spent, the next steps run in their pools,
    where TOOL_TIMEOUT can stop them."""

    left: int

    def take(self, work: int) -> bool:
        """Whether ``work`` still fits; if it does, it is spent."""
        if work > self.left:
            return False
        self.left -= work
        return True


Proceed = Callable[[], Awaitable[ToolOutput]]
# Wraps a whole call (spans).  Each wrapper costs a coroutine and a closure per call, so checks and
# observations that need no wrapping use the two cheaper kinds below.
InvokeMiddleware = Callable[[ToolSpec, CallInfo, Proceed], Awaitable[ToolOutput]]
# Runs before validation and may refuse the call by raising (rate limits); returns None when it
# decided synchronously (the memory store) or an awaitable to wait for (the Redis store).
Admission = Callable[[ToolSpec, CallInfo], Awaitable[None] | None]
# Told, before a composite's first step, how many admissions the whole needs per rate class (its
# own and its steps'): raises when they can never all pass (more than the caller's burst), so the
# caller is told at once instead of spending its budget on the first steps and failing again.
PlanCheck = Callable[["ToolSpec", Mapping[str, int], CallInfo], None]
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

    async def run(self, work: Proceed, deadline: float | None = None) -> ToolOutput:
        """Run ``work`` in a slot; waiting ends at the queue timeout (503) or ``deadline`` (504)."""
        if self._semaphore.locked():
            if self._waiting >= self.queue:
                raise self._busy()
            self._waiting += 1
            wait = self.timeout
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            try:
                await asyncio.wait_for(self._semaphore.acquire(), wait)
            except TimeoutError:
                if deadline is not None and wait < self.timeout:
                    raise ToolTimeoutError(
                        "Operation timed out", "the deadline passed while queued"
                    ) from None
                raise self._busy() from None
            finally:
                self._waiting -= 1
        else:
            await self._semaphore.acquire()
        try:
            return await work()
        finally:
            self._semaphore.release()

    def run_sync(self, work: Callable[[], ToolOutput], deadline: float | None = None) -> ToolOutput:
        wait = self.timeout
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - time.monotonic()))
        if not self._sync.acquire(timeout=wait):
            raise self._busy()
        try:
            return work()
        finally:
            self._sync.release()


def disabled_specs(specs: tuple[ToolSpec, ...], names: tuple[str, ...]) -> tuple[ToolSpec, ...]:
    """The tools DISABLED_TOOLS names, by MCP name or REST path.  An unknown name would leave a
    tool on that the operator meant to turn off, so it stops start-up naming the variable."""
    wanted = set(names)
    known = {spec.name for spec in specs} | {spec.path for spec in specs}
    unknown = sorted(wanted - known)
    if unknown:
        raise SettingsError(
            f"DISABLED_TOOLS: unknown tool(s) {', '.join(unknown)}; use MCP names such as "
            "crypto_hash or REST paths such as /api/v1/crypto/hash"
        )
    return tuple(spec for spec in specs if spec.name in wanted or spec.path in wanted)


class Registry:
    def __init__(self, specs: tuple[ToolSpec, ...], context: ToolContext) -> None:
        self.context = context
        # Turned off for every front door: REST, MCP, CLI, OpenAPI and the catalogue are all
        # generated from this registry, so a tool left out here exists nowhere.
        self.disabled = disabled_specs(specs, context.settings.disabled_tools)
        self._by_name: dict[str, ToolSpec] = {}
        self._by_path: dict[str, ToolSpec] = {}
        off = {spec.name for spec in self.disabled}
        for spec in specs:
            if spec.name in off:
                continue
            if spec.name in self._by_name or spec.path in self._by_path:
                raise ValueError(f"tool declared twice: {spec.name}")
            self._by_name[spec.name] = spec
            self._by_path[spec.path] = spec
        self.middleware: list[InvokeMiddleware] = []
        self.admission: list[Admission] = []
        self.plan_checks: list[PlanCheck] = []
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
        self.executors = Executors(settings)
        self._inline_max_work = settings.inline_max_work
        self._max_output = settings.max_output_bytes
        # Tools a front end does not offer (MCP_TOOLSETS, MCP_DISABLED_TOOLS), by front end: a
        # composite's steps may not reach them either.
        self.hidden: dict[str, frozenset[str]] = {}

    @classmethod
    def default(cls, settings: Settings, clock: Callable[[], datetime] = utc_now) -> Registry:
        return cls(catalogue(), ToolContext(settings, clock))

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> ToolSpec | None:
        return self._by_name.get(name)

    def reaches_network(self, spec: ToolSpec, front_end: str | None = None) -> bool:
        """Whether a call can make outbound requests (MCP's ``openWorldHint``; REST's 502 and
        SSRF_BLOCKED answers): a network tool, or a composite once PIPELINE_NETWORK_TOOLS lets
        its steps be network tools that are served, through ``front_end`` when given (its hidden
        tools are no step's either)."""
        if spec.open_world:
            return True
        if spec.composite is None or not self.context.settings.pipeline_network_tools:
            return False
        hidden = self.hidden.get(front_end, frozenset()) if front_end is not None else frozenset()
        return any(other.open_world and other.name not in hidden for other in self)

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
                raise unknown_fields_error(spec.input_model, unknown, args)
            args = {key: value for key, value in args.items() if value is not None}
        try:
            # The validator itself: model_validate is a Python wrapper that costs 0.3 µs a call.
            parsed: ToolInput = spec.input_model.__pydantic_validator__.validate_python(args)
            return parsed
        except pydantic.ValidationError as exc:
            raise input_error(spec.input_model, exc, spec.bind_error_message, given) from None

    def _precheck(self, spec: ToolSpec, parsed: ToolInput) -> None:
        if spec.precheck is None:
            return
        try:
            spec.precheck(parsed, self.context)
        except UnicodeEncodeError:
            raise surrogate_error(spec.bind_error_message) from None

    def _call(self, spec: ToolSpec, parsed: ToolInput) -> ToolOutput:
        return cast(
            ToolOutput,
            run_tool(spec.func, parsed, self.context, spec.output_model, spec.bind_error_message),
        )

    async def invoke(
        self,
        spec: ToolSpec,
        args: Any,
        call: CallInfo,
        *,
        load: Callable[[], Any] | None = None,
        _inner: bool = False,
    ) -> ToolOutput:
        """Validate, gate, run and return the output model; raises :class:`ToolError`.

        Middleware (if any) wraps everything; observers (metrics, span end) see every outcome,
        refusals and validation errors included; admission checks (span start, rate limits) run
        before validation, so a refused call costs no parsing.  With ``load`` the arguments are
        what it returns, called after the admission checks (REST decodes the request body
        there), so a refused call costs no decoding either; ``args`` is ignored then.
        """
        if self.middleware and not _inner:

            async def run() -> ToolOutput:
                return await self.invoke(spec, args, call, load=load, _inner=True)

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
            call.admitted = True
            if load is not None:
                args = load()
            parsed = self.parse(spec, args)
            call.parsed = parsed
            self._precheck(spec, parsed)
            cost = spec.cost_class
            if spec.composite is not None:
                result = await self._composite(spec, parsed, call)
            elif cost == "inline":
                # The common case: no coroutine of its own.  Inline tools are cheap and bounded
                # by their input caps, so their results are not measured (~0.5 µs a call).
                result = self._call(spec, parsed)
            elif (cost == "cpu" or cost == "regex") and self._fits_inline(spec, parsed, call):
                result = self._call(spec, parsed)
                self._check_output(result)
            else:
                result = await self._offload(spec, parsed)
        except Exception as exc:
            for observe in observers:
                observe(spec, call, time.perf_counter() - started, None, exc)
            raise
        for observe in observers:
            observe(spec, call, time.perf_counter() - started, result, None)
        return result

    async def _composite(self, spec: ToolSpec, parsed: ToolInput, call: CallInfo) -> ToolOutput:
        """A composite call: every step through :meth:`invoke` as the same caller (so each step
        is rate-limited in its own class and observed), all of them within one TOOL_TIMEOUT."""
        assert spec.composite is not None
        steps = _Steps(self, spec, call, self._deadline())
        try:
            async with asyncio.timeout(self.context.settings.tool_timeout):
                result = await spec.composite(parsed, self, steps)
        except (TimeoutError, _DeadlinePassed):
            # The running step is cancelled with the rest (a pool process is killed); a step
            # that would start after the deadline never starts.
            raise steps.timed_out() from None
        self._check_output(result)
        return result

    def _fits_inline(self, spec: ToolSpec, parsed: ToolInput, call: CallInfo) -> bool:
        """True when the call's work estimate is within INLINE_MAX_WORK (stays on the loop); for
        a composite's step, within what its steps have left of it."""
        if call.inline_budget is not None:
            work = spec.estimate(parsed) if spec.estimate is not None else _text_size(parsed)
            return call.inline_budget.take(work)
        limit = self._inline_max_work
        if spec.estimate is not None:
            return spec.estimate(parsed) <= limit
        if call.input_bytes is not None and call.input_bytes <= limit:
            return True  # text in a JSON body of n bytes is at most n characters
        return _text_size(parsed) <= limit

    def _check_output(self, result: ToolOutput) -> None:
        """The central output cap for a result produced in this process (see output_size).

        Pool processes measure their results the same way before sending them.
        """
        if over_output_cap(result, self._max_output):
            raise output_too_large(self._max_output)

    def _deadline(self) -> float:
        return time.monotonic() + self.context.settings.tool_timeout

    async def _offload(self, spec: ToolSpec, parsed: ToolInput) -> ToolOutput:
        """Run a call away from the event loop: its class's pool or executor, under its deadline."""
        deadline = self._deadline()
        cost = spec.cost_class
        if cost == "network":
            result = await self.executors.network.run(
                lambda: self._call(spec, parsed), spec.name, deadline
            )
            self._check_output(result)
            return result
        pool = self.executors.pool(cost)
        if spec.gate is not None and (gate := self.gates.get(spec.gate)) is not None:
            # The slot is held until the pool process answers or is killed at the deadline, so
            # memory-heavy work (Argon2) never piles up past the gate.
            return await gate.run(lambda: self._gated(pool, spec, parsed, deadline), deadline)
        return await pool.run(spec, parsed, deadline)

    @staticmethod
    async def _gated(pool: Any, spec: ToolSpec, parsed: ToolInput, deadline: float) -> ToolOutput:
        # The run happens in a pool process (its own metrics are not scraped): count it here.
        ARGON2_IN_FLIGHT.inc()
        try:
            result: ToolOutput = await pool.run(spec, parsed, deadline)
            return result
        finally:
            ARGON2_IN_FLIGHT.dec()

    def invoke_sync(
        self,
        spec: ToolSpec,
        args: Any,
        deadline: float | None = None,
        inline_budget: InlineBudget | None = None,
    ) -> ToolOutput:
        """The CLI path: no event loop, admission checks, observers or middleware; the same
        placement, deadline and output cap as :meth:`invoke`.  ``deadline`` (a
        ``time.monotonic()`` value) and ``inline_budget`` are a composite call's, which its
        steps share."""
        parsed = self.parse(spec, args)
        self._precheck(spec, parsed)
        cost = spec.cost_class
        if spec.composite is not None:
            return self._composite_sync(spec, parsed)
        if cost == "inline":
            return self._call(spec, parsed)
        if cost == "network" or (
            (cost == "cpu" or cost == "regex")
            and self._fits_inline(spec, parsed, CallInfo("cli", inline_budget=inline_budget))
        ):
            # Network: one call per CLI process, bounded by its own I/O timeouts.
            result = self._call(spec, parsed)
            self._check_output(result)
            return result
        until = self._deadline() if deadline is None else deadline
        pool = self.executors.pool(cost)
        gate = self.gates.get(spec.gate) if spec.gate else None
        if gate:
            return gate.run_sync(lambda: pool.run_sync(spec, parsed, until), until)
        return pool.run_sync(spec, parsed, until)

    def _composite_sync(self, spec: ToolSpec, parsed: ToolInput) -> ToolOutput:
        """The CLI's composite call: steps through :meth:`invoke_sync` under one deadline, as
        the server runs them (a step in a pool process is stopped at it), and the same error
        as the server's when the deadline passes."""
        assert spec.composite is not None
        steps = _SyncSteps(self, spec, self._deadline())
        # The steps never wait on anything (invoke_sync is synchronous), so the coroutine runs to
        # its end on the first send: no event loop is needed, and none may be running (tests).
        coroutine = spec.composite(parsed, self, steps)
        try:
            coroutine.send(None)
        except StopIteration as done:
            result: ToolOutput = done.value
            self._check_output(result)
            return result
        except _DeadlinePassed:
            raise steps.timed_out() from None
        coroutine.close()
        raise RuntimeError("a composite tool waited on something other than its steps")

    def close(self) -> None:
        """Stop the pool processes and executors (server shutdown, end of a CLI run)."""
        self.executors.close()

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Pools live as long as the server: a lifespan hook that closes them at shutdown."""
        try:
            yield
        finally:
            self.close()


class _DeadlinePassed(Exception):
    """A composite's deadline passed before a step (or, on the CLI, during one).  Not a
    ToolError, so the composite does not wrap it as its step's failure: the registry answers for
    the whole."""


class _Steps:
    """A composite's :class:`StepCall` on the server: each step an ordinary :meth:`Registry.invoke`
    as the same caller."""

    def __init__(
        self, registry: Registry, spec: ToolSpec, call: CallInfo | None, deadline: float
    ) -> None:
        self.registry = registry
        self.spec = spec
        self.call = call
        self.deadline = deadline
        # One INLINE_MAX_WORK for all the steps: inline steps never yield to the loop, so their
        # sum is what the loop (and the deadline, which cannot fire meanwhile) waits for.
        self.inline_budget = InlineBudget(registry.context.settings.inline_max_work)
        self.running: list[str] = []
        # Admissions per rate class a run of the composite needs, its own and its steps'.
        self.needs: dict[str, int] = {}

    def plan(self, specs: Sequence[ToolSpec], /) -> None:
        call = self.call
        if call is None:
            return  # the CLI: every tool offered, no admission checks
        for step in specs:
            self._offered(step, call)
        needs: dict[str, int] = {self.spec.rate_class: 1}  # the composite's own admission
        for step in specs:
            needs[step.rate_class] = needs.get(step.rate_class, 0) + 1
        self.needs = needs
        for check in self.registry.plan_checks:
            check(self.spec, needs, call)

    def __call__(self, spec: ToolSpec, args: Mapping[str, Any], /) -> Awaitable[ToolOutput]:
        assert self.call is not None
        self._offered(spec, self.call)
        # Inline steps never yield, so the composite's timeout cannot fire between them: the
        # deadline is checked here, as the CLI's steps do.
        if time.monotonic() >= self.deadline:
            raise _DeadlinePassed
        self.running.append(spec.name)
        return self._run(spec, args, self.call)

    def offers(self, spec: ToolSpec, /) -> bool:
        call = self.call
        if call is None:
            return True  # the CLI: every tool offered
        return spec.name not in self.registry.hidden.get(call.frontend, frozenset())

    def _offered(self, spec: ToolSpec, call: CallInfo) -> None:
        """A step may not reach a tool its front end does not offer (MCP_TOOLSETS ...): the
        backstop for a composite that did not ask :meth:`offers` before naming its steps."""
        if not self.offers(spec):
            raise ValidationError(f"Unknown tool: {spec.name}")

    async def _run(self, spec: ToolSpec, args: Mapping[str, Any], call: CallInfo) -> ToolOutput:
        step_call = _step_call(call, self.inline_budget)
        try:
            result = await self.registry.invoke(spec, args, step_call)
        except RateLimitError as refused:
            # A retry of the composite spends again every admission it needs in this class: a
            # Retry-After for one call would be refused again.
            refused.retry_needing(self.needs.get(spec.rate_class, 1))
            raise
        if spec.rate_class == self.spec.rate_class and step_call.response_headers:
            # The step charged the bucket the response's X-RateLimit-* headers describe (same
            # caller, same class), after the composite's own admission: its headers tell what
            # is left once the steps have spent their share.
            _supersede(call.response_headers, step_call.response_headers)
        return result

    def timed_out(self) -> ToolTimeoutError:
        """The composite's error when its TOOL_TIMEOUT passes: the same on every front end."""
        timeout = self.registry.context.settings.tool_timeout
        running = self.running
        where = f"; step {len(running)} ({running[-1]}) was running" if running else ""
        return ToolTimeoutError(
            "Operation timed out", f"the steps did not finish within {timeout:g} s{where}"
        )


class _SyncSteps(_Steps):
    """The CLI's :class:`StepCall`: :meth:`Registry.invoke_sync` steps under one deadline."""

    def __init__(self, registry: Registry, spec: ToolSpec, deadline: float) -> None:
        super().__init__(registry, spec, None, deadline)

    def __call__(self, spec: ToolSpec, args: Mapping[str, Any], /) -> Awaitable[ToolOutput]:
        if time.monotonic() >= self.deadline:
            raise _DeadlinePassed
        self.running.append(spec.name)
        return self._run_sync(spec, args)

    async def _run_sync(self, spec: ToolSpec, args: Mapping[str, Any]) -> ToolOutput:
        try:
            return self.registry.invoke_sync(spec, args, self.deadline, self.inline_budget)
        except ToolTimeoutError:
            if time.monotonic() >= self.deadline:
                raise _DeadlinePassed from None  # the shared deadline, not the step's own
            raise


def _supersede(headers: list[tuple[bytes, bytes]], newer: list[tuple[bytes, bytes]]) -> None:
    """Replace in ``headers`` (in place) every header that ``newer`` also sets."""
    names = {name for name, _ in newer}
    headers[:] = [header for header in headers if header[0] not in names]
    headers += newer


def _step_call(call: CallInfo, inline_budget: InlineBudget) -> CallInfo:
    """The same caller for a composite's step; its own headers and parsed input, and the
    composite's shared inline budget."""
    return CallInfo(
        frontend=call.frontend,
        principal=call.principal,
        authenticated=call.authenticated,
        client_ip=call.client_ip,
        request_id=call.request_id,
        inline_budget=inline_budget,
    )


def _text_size(parsed: ToolInput) -> int:
    """Characters of text in the input: the default work estimate of a cpu tool."""
    return sum(len(value) for value in parsed.__dict__.values() if isinstance(value, str))


def output_size(result: ToolOutput) -> int:
    """The JSON bytes of the result's ``data``: what ``MAX_OUTPUT_BYTES`` caps."""
    return len(dump_output_json(result))


def over_output_cap(result: ToolOutput, limit: int) -> bool:
    """Whether the result passes ``limit`` bytes: a plain result (text, booleans, lists of text)
    by its text as JSON writes it (UTF-8, escapes included, without quotes, keys or commas: the
    text is what grows), any other result by its JSON bytes.  Characters alone are not enough:
    8 Mi control characters are 48 MiB of JSON (``\u0001`` each)."""
    texts = _plain_texts(result)
    if texts is None:
        return output_size(result) > limit
    # JSON writes a character in at most 6 bytes: most results are decided without counting.
    return sum(map(len, texts)) * 6 > limit and sum(map(_json_text_bytes, texts)) > limit


def _plain_texts(result: ToolOutput) -> list[str] | None:
    """A plain result's text values (its text fields and the items of its lists of text), or
    None when the result is not plain."""
    fields = _plain_fields_of(type(result))
    if fields is None:
        return None
    texts: list[str] = []
    values = result.__dict__
    for name, _ in fields:
        value = values[name]
        if type(value) is str:
            texts.append(value)
        elif type(value) is list:
            texts.extend(value)
    return texts


# Bytes JSON writes as two (\b \t \n \f \r \" \\) and as six (\u00XX, the other controls).
_SHORT_ESCAPED = b'\x08\t\n\x0c\r"\\'
_LONG_ESCAPED = bytes(byte for byte in range(0x20) if byte not in _SHORT_ESCAPED)
_NOT_SHORT_ESCAPED = bytes(byte for byte in range(256) if byte not in _SHORT_ESCAPED)
_NOT_LONG_ESCAPED = bytes(byte for byte in range(256) if byte not in _LONG_ESCAPED)


def _json_text_bytes(text: str) -> int:
    """The bytes of ``text`` inside a JSON string as orjson writes it, without writing it:
    counted on its UTF-8, which a result that may pass the cap can afford."""
    data = text.encode("utf-8", "surrogatepass")
    short = len(data.translate(None, _NOT_SHORT_ESCAPED))
    long = len(data.translate(None, _NOT_LONG_ESCAPED))
    return len(data) + short + 5 * long


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
    try:
        return result.model_dump(mode="json", by_alias=True)
    except ValueError as exc:  # pydantic_core's PydanticSerializationError is a ValueError
        raise _unserializable(exc) from None


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
        except orjson.JSONEncodeError:  # e.g. a lone surrogate: let pydantic say what it is
            pass
    try:
        return cls.__pydantic_serializer__.to_json(result, by_alias=True)
    except ValueError as exc:  # pydantic_core's PydanticSerializationError is a ValueError
        raise _unserializable(exc) from None


def _unserializable(exc: ValueError) -> Exception:
    """A result pydantic cannot write, as the input's fault where it is: a tool that echoes its
    input echoes a lone surrogate too, and a result built from deeply nested input (a patched or
    queried document, a schema inferred from it) can pass the serializer's depth limit."""
    if "surrogates not allowed" in str(exc):
        return surrogate_error("Invalid request")
    if "Maximum serialization depth" in str(exc):
        return too_deep_error()
    return exc


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
        if (
            info.annotation not in _PLAIN_TYPES
            or info.metadata
            or info.exclude
            or info.exclude_if is not None  # left out by pydantic's serializer only
        ):
            return None
        fields.append((name, info.serialization_alias or info.alias or name))
    return tuple(fields)


__all__ = [
    "Admission",
    "CallInfo",
    "ConcurrencyGate",
    "Example",
    "InlineBudget",
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
