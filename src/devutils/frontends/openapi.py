"""OpenAPI 3.1 document generated from the registry (served at ``GET /openapi.json``)."""

from __future__ import annotations

import copy
from typing import Any

from devutils import __version__
from devutils.errors import ALL_ERRORS
from devutils.frontends.schema import input_schema, output_schema
from devutils.registry import Registry, ToolSpec
from devutils.settings import Settings

_REF_PREFIX = "#/components/schemas/"


def _hoist(schema: dict[str, Any], components: dict[str, Any], name: str) -> dict[str, Any]:
    """Move pydantic's ``$defs`` into components and point every ``$ref`` there."""
    schema = copy.deepcopy(schema)
    for def_name, definition in schema.pop("$defs", {}).items():
        components[def_name] = _rewrite(definition)
    components[name] = _rewrite(schema)
    return {"$ref": _REF_PREFIX + name}


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", _REF_PREFIX)
                if key == "$ref" and isinstance(value, str)
                else _rewrite(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF_PREFIX + "ErrorEnvelope"}}},
    }


def _method_not_allowed() -> dict[str, Any]:
    # Documented on every operation: each path answers the methods it does not serve with 405.
    response = _error_response(
        "Another method on this path (METHOD_NOT_ALLOWED); Allow lists the methods it serves"
    )
    response["headers"] = {
        "Allow": {"description": "The methods this path serves", "schema": {"type": "string"}}
    }
    return response


def _retry_after(response: dict[str, Any]) -> dict[str, Any]:
    response["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before a retry can pass",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return response


def _rate_limited() -> dict[str, Any]:
    """A 429 carries Retry-After and the limit it hit (devutils.ratelimit.limiter)."""
    response = _retry_after(_error_response("Rate limit exceeded (RATE_LIMIT_ERROR)"))
    response["headers"].update(
        {
            "X-RateLimit-Limit": {
                "description": "Requests per minute of the class refused",
                "schema": {"type": "integer"},
            },
            "X-RateLimit-Remaining": {
                "description": "Requests left in the burst (0)",
                "schema": {"type": "integer"},
            },
            "X-RateLimit-Reset": {
                "description": "Unix time (seconds) when the burst is whole again",
                "schema": {"type": "integer"},
            },
        }
    )
    return response


# What the Host/Origin check answers (devutils.http.middleware.host_origin; the health paths are
# exempt from it).
_FORBIDDEN = "Host or Origin not allowed (FORBIDDEN)"
_SSRF_BLOCKED = "destination refused by the network policy (SSRF_BLOCKED)"
# Every error answer's body (devutils.http.asgi.send_error).
_ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"enum": sorted({cls.code for cls in ALL_ERRORS})},
                "message": {"type": "string"},
                "details": {},
            },
        },
    },
}
# Readiness answers with its own body, 200 or 503, never the error envelope.
_READINESS = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"enum": ["ready", "degraded", "not ready"]},
        "reason": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"status": {"type": "string"}, "detail": {}},
            },
        },
    },
}


def _can_time_out(spec: ToolSpec) -> bool:
    """Whether a call can end in 504: inline tools run at once with no deadline; every other
    placement (pools, executors, gates, composites) and every open-world tool has one."""
    return spec.composite is not None or spec.open_world or spec.cost_class != "inline"


def _rate_limit_store_can_deny(settings: Settings) -> bool:
    """RATE_LIMIT_FAIL_MODE=deny answers 503 while the shared (Redis) store is unreachable."""
    return (
        settings.rate_limit_enabled
        and settings.rate_limit_store == "redis"
        and settings.rate_limit_fail_mode == "deny"
    )


def _security(settings: Settings) -> tuple[list[dict[str, list[str]]] | None, dict[str, Any]]:
    """What AUTH_METHOD accepts (devutils.auth.credentials): the operations' requirement (None:
    anonymous access) and the schemes it names."""
    if settings.auth_method == "api_key":
        return [{"ApiKey": []}, {"Bearer": []}], {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "Bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key sent as Authorization: Bearer <key>",
            },
        }
    if settings.auth_method == "jwt":
        # Only Authorization: Bearer; a token in X-API-Key is refused.
        return [{"Bearer": []}], {
            "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
    return None, {}


def _guarded_responses(settings: Settings) -> dict[str, Any]:
    """What every operation behind the Host/Origin check and the router's guards can answer
    (not the probes, which are exempt), besides its own statuses."""
    responses: dict[str, Any] = {
        "403": _error_response(_FORBIDDEN),
        "405": _method_not_allowed(),
        "413": _error_response("Request too large (REQUEST_TOO_LARGE)"),
    }
    if settings.auth_method != "none":
        responses["401"] = _error_response("Missing or invalid credentials")
    if settings.rate_limit_enabled:
        # The caller's class, or (with authentication on) failed attempts from its address.
        responses["429"] = _rate_limited()
    return responses


def _tool_operation(
    spec: ToolSpec, registry: Registry, settings: Settings, components: dict[str, Any]
) -> dict[str, Any]:
    stem = "".join(word.capitalize() for word in spec.words)
    out_ref = _hoist(output_schema(spec), components, f"{stem}Output")
    responses: dict[str, Any] = {
        "200": {
            "description": "Success",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["success", "data"],
                        "properties": {"success": {"const": True}, "data": out_ref},
                    }
                }
            },
        },
        "400": _error_response("Invalid input (VALIDATION_ERROR)"),
        **_guarded_responses(settings),
        "500": _error_response("Internal error"),
        "503": _error_response("Overloaded or shutting down"),
    }
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.title,
        "description": spec.description,
        "tags": [spec.family],
        "responses": responses,
    }
    if spec.method == "POST":
        in_ref = _hoist(input_schema(spec), components, f"{stem}Input")
        examples = {
            f"example{index + 1}": {"value": dict(example.args)}
            for index, example in enumerate(spec.examples)
        }
        media: dict[str, Any] = {"schema": in_ref}
        if examples:
            media["examples"] = examples
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
        responses["415"] = _error_response(
            "Body not sent as Content-Type: application/json, or with a Content-Encoding "
            "(UNSUPPORTED_MEDIA_TYPE)"
        )
    if registry.reaches_network(spec):
        responses["403"] = _error_response(f"{_FORBIDDEN}, or {_SSRF_BLOCKED}")
        responses["502"] = _error_response("Upstream failed (UPSTREAM_ERROR)")
    if _can_time_out(spec):
        responses["504"] = _error_response("Deadline exceeded (TIMEOUT)")
    operation["responses"] = dict(sorted(responses.items()))
    return operation


# The routes that are not tools, with their summaries; the probes are exempt from credentials,
# the Host/Origin check and rate limits.
_SERVICE_ROUTES = (
    ("/health", "Service health"),
    ("/health/live", "Liveness probe"),
    ("/health/ready", "Readiness probe"),
    ("/api/v1/status", "Service status and version"),
    ("/api/v1/tools", "Tool catalogue with schemas"),
)
_PROBES = frozenset(("/health", "/health/live", "/health/ready"))


def _service_operation(path: str, summary: str, settings: Settings) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        # The server's own refusals, on any path: a malformed request (several Host headers,
        # a broken chunked body) and a declared body over MAX_BODY_BYTES, even on a GET.
        "400": _error_response("Malformed request (VALIDATION_ERROR), e.g. several Host headers"),
        "405": _method_not_allowed(),
        "413": _error_response("Request too large (REQUEST_TOO_LARGE)"),
    }
    if path == "/health/ready":
        readiness = {"application/json": {"schema": {"$ref": _REF_PREFIX + "Readiness"}}}
        responses["200"] = {"description": "Ready (or degraded)", "content": readiness}
        responses["503"] = {
            "description": "Not ready: shutting down, or a required dependency is down",
            "content": readiness,
        }
    elif path not in _PROBES:
        responses.update(_guarded_responses(settings))
        if _rate_limit_store_can_deny(settings):
            responses["503"] = _retry_after(
                _error_response("Rate limiting temporarily unavailable (SERVICE_UNAVAILABLE)")
            )
    return {
        "operationId": path.strip("/").replace("/", "_"),
        "summary": summary,
        "tags": ["service"],
        "responses": dict(sorted(responses.items())),
    }


def build_openapi(registry: Registry, settings: Settings | None = None) -> dict[str, Any]:
    """The document for a server run with ``settings`` (default: the registry's): security and
    the statuses each operation can answer follow the configuration."""
    settings = settings or registry.context.settings
    # Copies: a caller may edit its document.
    components: dict[str, Any] = {"ErrorEnvelope": copy.deepcopy(_ERROR_ENVELOPE)}
    requirement, schemes = _security(settings)
    paths: dict[str, Any] = {}
    for spec in registry:
        operation = _tool_operation(spec, registry, settings, components)
        paths[spec.path] = {spec.method.lower(): operation}
    components["Readiness"] = copy.deepcopy(_READINESS)
    for path, summary in _SERVICE_ROUTES:
        paths[path] = {"get": _service_operation(path, summary, settings)}
    if requirement is not None:
        for path, item in paths.items():
            if path not in _PROBES:
                for operation in item.values():
                    operation["security"] = copy.deepcopy(requirement)
    document_components: dict[str, Any] = {"schemas": components}
    if schemes:
        document_components["securitySchemes"] = schemes
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dev-utilities",
            "version": __version__,
            "description": "Developer utilities over REST (wire-compatible with "
            "keyurgolani/DeveloperTools v1), MCP and a CLI, generated from one tool registry.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": document_components,
    }
