"""OpenAPI 3.1 document generated from the registry (served at ``GET /openapi.json``)."""

from __future__ import annotations

import copy
from typing import Any

from devutils import __version__
from devutils.errors import ALL_ERRORS
from devutils.frontends.schema import input_schema, output_schema
from devutils.registry import Registry, ToolSpec

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


# What the Host/Origin check answers (devutils.http.middleware.host_origin; the health paths are
# exempt from it).
_FORBIDDEN = "Host or Origin not allowed (FORBIDDEN)"
_SSRF_BLOCKED = "destination refused by the network policy (SSRF_BLOCKED)"
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


def build_openapi(registry: Registry) -> dict[str, Any]:
    components: dict[str, Any] = {
        "ErrorEnvelope": {
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
    }
    paths: dict[str, Any] = {}
    for spec in registry:
        stem = "".join(word.capitalize() for word in spec.words)
        out_ref = _hoist(output_schema(spec), components, f"{stem}Output")
        operation: dict[str, Any] = {
            "operationId": spec.name,
            "summary": spec.title,
            "description": spec.description,
            "tags": [spec.family],
            "responses": {
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
                "401": _error_response("Missing or invalid credentials"),
                "403": _error_response(_FORBIDDEN),
                "405": _method_not_allowed(),
                "413": _error_response("Request too large"),
                "429": _error_response("Rate limit exceeded"),
                "500": _error_response("Internal error"),
                "503": _error_response("Overloaded or shutting down"),
            },
            "security": [{}, {"ApiKey": []}, {"Bearer": []}],
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
            operation["responses"]["415"] = _error_response(
                "Body not sent as Content-Type: application/json (UNSUPPORTED_MEDIA_TYPE)"
            )
        if spec.open_world:
            operation["responses"].update(
                {
                    "403": _error_response(f"{_FORBIDDEN}, or {_SSRF_BLOCKED}"),
                    "502": _error_response("Upstream failed"),
                }
            )
        if _can_time_out(spec):
            operation["responses"]["504"] = _error_response("Deadline exceeded (TIMEOUT)")
        operation["responses"] = dict(sorted(operation["responses"].items()))
        paths[spec.path] = {spec.method.lower(): operation}
    components["Readiness"] = _READINESS
    readiness = {"application/json": {"schema": {"$ref": _REF_PREFIX + "Readiness"}}}
    for path, summary in (
        ("/health", "Service health"),
        ("/health/live", "Liveness probe"),
        ("/health/ready", "Readiness probe"),
        ("/api/v1/status", "Service status and version"),
        ("/api/v1/tools", "Tool catalogue with schemas"),
    ):
        responses: dict[str, Any] = {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "405": _method_not_allowed(),
        }
        service: dict[str, Any] = {
            "operationId": path.strip("/").replace("/", "_"),
            "summary": summary,
            "tags": ["service"],
            "responses": responses,
        }
        if path == "/health/ready":
            responses["200"] = {"description": "Ready (or degraded)", "content": readiness}
            responses["503"] = {
                "description": "Not ready: shutting down, or a required dependency is down",
                "content": readiness,
            }
        elif not path.startswith("/health"):
            # Probes are exempt from credentials, the Host/Origin check and rate limits.
            service["security"] = [{}, {"ApiKey": []}, {"Bearer": []}]
            responses["401"] = _error_response("Missing or invalid credentials")
            responses["403"] = _error_response(_FORBIDDEN)
            responses["429"] = _error_response("Rate limit exceeded")
        service["responses"] = dict(sorted(responses.items()))
        paths[path] = {"get": service}
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
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "Bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
