"""REST front end: one generic endpoint per registry tool, plus health, status and tool listing.

Knows nothing about any single tool: adding a tool never touches this module.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from devutils import __version__
from devutils.errors import (
    RequestTooLargeError,
    ToolError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from devutils.http.asgi import (
    ASGIApp,
    Receive,
    RequestState,
    Scope,
    Send,
    header,
    read_body,
    response_start,
    send_bytes,
    send_json,
    state_of,
)
from devutils.http.router import Router
from devutils.json_digits import exceeds_digit_limit, has_long_digit_run
from devutils.readiness import Readiness, ReadinessCheck
from devutils.registry import CallInfo, Registry, ToolSpec, dump_output_json

SERVICE_NAME = "dev-utilities"


def decode_body(body: bytes, spec: ToolSpec) -> Any:
    """One JSON object (D2): empty bodies, trailing garbage and non-objects are 400.

    orjson reads an integer past 64 bits as a float (1.2345678901234568e+20 for
    123456789012345678901) and refuses one past a double's range; a body with such a digit run
    is read by the standard library's parser, whose integers are exact (a JWT claim keeps its
    value, a bounded field refuses it by its bounds).
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if not body.strip():
            message = "request body is empty; send a JSON object"
            raise ValidationError(spec.bind_error_message, message) from None
        if not has_long_digit_run(body):
            raise ValidationError(spec.bind_error_message, f"malformed JSON: {exc}") from None
        value = _exact_integers(body, spec, exc)
    else:
        if has_long_digit_run(body):
            value = _exact_integers(body, spec, None)
    if not isinstance(value, dict):
        raise ValidationError(spec.bind_error_message, "request body must be a JSON object")
    return value


def _exact_integers(body: bytes, spec: ToolSpec, refused: Exception | None) -> Any:
    """The body read with exact integers; ``refused`` is orjson's complaint, if it had one."""
    try:
        return json.loads(body, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, NaN, or an integer past 4300 digits
        if exceeds_digit_limit(exc):
            raise ValidationError(
                spec.bind_error_message, "malformed JSON: an integer has more than 4300 digits"
            ) from None
        raise ValidationError(
            spec.bind_error_message, f"malformed JSON: {refused or exc}"
        ) from None
    except RecursionError:
        raise ValidationError(spec.bind_error_message, "malformed JSON: nesting too deep") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


JSON_MEDIA_TYPE = b"application/json"


def check_content_coding(coding: bytes | None) -> None:
    """Request bodies are read as sent: one labelled with a content coding (``gzip``) would be
    read as JSON undecoded, so it is refused as the media type is (RFC 9110 §8.4: 415)."""
    if coding is None or coding.strip().lower() in (b"", b"identity"):
        return
    raise UnsupportedMediaTypeError(
        "Unsupported media type",
        "request bodies are not decoded: send the body without Content-Encoding "
        f"(got {coding.decode('latin-1')[:100]})",
    )


def check_media_type(content_type: bytes | None, body: bytes) -> None:
    """POST bodies are ``application/json`` (parameters such as ``charset`` allowed); no
    Content-Type only with an empty body.  A browser sends a cross-site POST without a CORS
    preflight only as text/plain, form or multipart data, so refusing those keeps any web page
    a developer opens from calling their local instance."""
    if content_type is None:
        if not body:
            return
    elif content_type.split(b";", 1)[0].strip().lower() == JSON_MEDIA_TYPE:
        return
    given = "none" if content_type is None else content_type.decode("latin-1")[:100]
    raise UnsupportedMediaTypeError(
        "Unsupported media type",
        f"send the body as Content-Type: application/json (got {given})",
    )


def tool_endpoint(registry: Registry, spec: ToolSpec, max_body_bytes: int) -> ASGIApp:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        state = state_of(scope)
        if state is not None:
            call = CallInfo(
                "rest", state.principal, state.authenticated, state.client_ip, state.request_id
            )
        else:
            call = CallInfo("rest")

        if spec.method == "GET":
            # GET tools take no input: query parameters are ignored, as in the reference.
            call.input_bytes = 0
            args: dict[str, Any] | None = {}
            load = None
        else:
            # The body is read first (it is usually in the same packet as the head, and a
            # refusal before it arrived would cost the client its connection), but checked and
            # decoded only once the call is admitted: a rate-limited call costs no decoding.
            try:
                raw = await read_body(receive, max_body_bytes)
            except RequestTooLargeError as exc:
                # A chunked body past the limit: refused once admitted, so the refusal is
                # charged to the caller's rate limit like any other call.
                too_large: RequestTooLargeError | None = exc
                raw = b""
            else:
                too_large = None
            call.input_bytes = len(raw)
            args = None

            def load() -> Any:
                if too_large is not None:
                    raise too_large
                check_content_coding(header(scope, b"content-encoding"))
                check_media_type(header(scope, b"content-type"), raw)
                return decode_body(raw, spec)

        try:
            result = await registry.invoke(spec, args, call, load=load)
        except ToolError as exc:
            if state is not None and call.response_headers:
                _keep_rate_headers(state, call, exc)
            raise
        body = b'{"success":true,"data":' + dump_output_json(result) + b"}"
        # send_bytes inlined: this is the hot path, and a helper coroutine costs more than it saves.
        await send(response_start(scope, 200, len(body), headers=call.response_headers))
        await send({"type": "http.response.body", "body": body})

    return endpoint


def _keep_rate_headers(state: RequestState, call: CallInfo, error: ToolError) -> None:
    """An admitted call that then failed (a 400, a 504) spent its token: its ``X-RateLimit-*``
    go on the error answer as on a 200 (the request context adds ``extra_headers`` to any
    response), unless the error carries its own (a pipeline step's 429)."""
    own = {name.lower().encode() for name in error.headers}
    state.extra_headers += [
        (name, value) for name, value in call.response_headers if name not in own
    ]


def tool_listing(registry: Registry) -> list[dict[str, Any]]:
    from devutils.frontends.schema import input_schema, output_schema

    return [
        {
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "family": spec.family,
            "method": spec.method,
            "path": spec.path,
            "cli": "devutils " + " ".join(spec.words),
            "rateClass": spec.rate_class,
            "annotations": {
                "readOnlyHint": spec.read_only,
                "idempotentHint": spec.idempotent,
                "openWorldHint": registry.reaches_network(spec),
                "destructiveHint": False,
            },
            "inputSchema": input_schema(spec),
            "outputSchema": output_schema(spec),
            "examples": [dict(example.args) for example in spec.examples],
        }
        for spec in registry
    ]


class Health:
    """Liveness is static; readiness fails while draining or when a required dependency is down."""

    def __init__(self) -> None:
        self.draining = False
        self.checks: dict[str, ReadinessCheck] = {}
        self._health_body = (0, b"")

    async def health(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The body only changes once a second; load balancers poll this path constantly.
        second = int(time.time())
        if self._health_body[0] != second:
            stamp = datetime.fromtimestamp(second, UTC).isoformat().replace("+00:00", "Z")
            payload = {"status": "ok", "timestamp": stamp, "service": SERVICE_NAME}
            self._health_body = (second, orjson.dumps(payload))
        body = self._health_body[1]
        # send_bytes inlined: a helper coroutine is a tenth of this request's own cost.
        await send(response_start(scope, 200, len(body)))
        await send({"type": "http.response.body", "body": body})

    async def live(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_json(send, 200, {"status": "alive"}, scope=scope)

    async def ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        checks = {}
        states: set[Readiness] = set()
        for name, check in self.checks.items():
            state, detail = check()
            checks[name] = {"status": state, "detail": detail}
            states.add(state)
        ok = not self.draining and "down" not in states
        status = "not ready" if not ok else "degraded" if "degraded" in states else "ready"
        body: dict[str, Any] = {"status": status}
        if self.draining:
            body["reason"] = "shutting down"
        if checks:
            body["checks"] = checks
        await send_json(send, 200 if ok else 503, body, scope=scope)


async def status_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(
        send,
        200,
        {"service": SERVICE_NAME, "version": __version__, "status": "running"},
        scope=scope,
    )


def add_rest_routes(
    router: Router, registry: Registry, health: Health, max_body_bytes: int
) -> None:
    router.add("/health", ("GET",), health.health)
    router.add("/health/live", ("GET",), health.live)
    router.add("/health/ready", ("GET",), health.ready)
    router.add("/api/v1/status", ("GET",), status_endpoint)

    listing_cache: list[bytes] = []

    async def tools_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        if not listing_cache:
            listing_cache.append(
                orjson.dumps({"success": True, "data": {"tools": tool_listing(registry)}})
            )
        await send_bytes(send, 200, listing_cache[0], scope=scope)

    router.add("/api/v1/tools", ("GET",), tools_endpoint)
    for spec in registry:
        router.add(
            spec.path, (spec.method,), tool_endpoint(registry, spec, max_body_bytes), tool=spec
        )
