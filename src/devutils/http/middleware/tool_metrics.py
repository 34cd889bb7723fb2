"""Per-tool metrics, as a registry observer (:class:`ToolMetrics`): one place for REST and MCP.

``tool_calls_total{tool,frontend,status}`` and ``tool_call_duration_seconds{tool}`` for every
tool, plus the reference's per-family counters (``crypto_operations_total`` and friends) with its
operation names and ``status`` = success | validation_error | error (| invalid_password for a
verify that ran but did not match).  A call refused by an admission check (429, rate limit)
never reached its tool: it counts in ``tool_calls_total`` (status ``RATE_LIMIT_ERROR``) and in
``rate_limit_hits_total``, not as a failed operation of its family.  Labels taken from the parsed input (``algorithm``,
``action``) are used only when the input model declares that field as a ``Literal``, so a
free-text field can never become a label.
"""

from __future__ import annotations

import logging
import operator
import typing
from collections.abc import Callable
from typing import Literal, NamedTuple

from devutils.errors import ToolError, ValidationError
from devutils.models import ToolInput, ToolOutput
from devutils.observability.batching import Batch
from devutils.observability.fastmetrics import FastCounter
from devutils.observability.metrics import (
    CRYPTO_OPERATIONS,
    ID_OPERATIONS,
    NETWORK_OPERATIONS,
    TEXT_OPERATIONS,
    TIME_OPERATIONS,
    TOOL_CALLS,
    TOOL_DURATION,
    TRANSFORM_OPERATIONS,
)
from devutils.registry import CallInfo, ToolSpec

log = logging.getLogger("devutils.observability")

_TEXT_OPERATIONS = {"case": "case_convert", "info": "analyze", "regex": "regex_test"}
_TIME_OPERATIONS = {"now": "current"}
_NETWORK_OPERATIONS = {"dns": "dns_lookup", "ip": "ip_analysis"}
_literal_fields: dict[tuple[type[ToolInput], str], bool] = {}


def literal_value(parsed: ToolInput | None, name: str) -> str | None:
    """``parsed.<name>`` if the model declares it as a string Literal (bounded), else None."""
    if parsed is None:
        return None
    model = type(parsed)
    bounded = _literal_fields.get((model, name))
    if bounded is None:
        field = model.model_fields.get(name)
        annotation = field.annotation if field is not None else None
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is not Literal:
            # Optional[Literal[...]]: look one level down.
            args = tuple(
                value
                for arg in args
                if typing.get_origin(arg) is Literal
                for value in typing.get_args(arg)
            )
        bounded = bool(args) and all(isinstance(value, str) for value in args)
        _literal_fields[(model, name)] = bounded
    if not bounded:
        return None  # and no getattr: a missing attribute takes pydantic's slow path
    value = getattr(parsed, name)
    return value if isinstance(value, str) else None


def family_labels(
    spec: ToolSpec, parsed: ToolInput | None
) -> tuple[FastCounter, tuple[str, ...]] | None:
    """(counter, label values except status).  Reads only ``action`` and ``algorithm`` from the
    input: the cache in :func:`tool_metrics` is keyed on exactly those."""
    words = spec.words
    family, rest = words[0], words[1:]
    operation = "_".join(rest)
    if family == "crypto":
        if rest[0] == "password":
            algorithm = "argon2id"
        elif rest[0] == "cert":
            algorithm = "x509"
        else:
            algorithm = literal_value(parsed, "algorithm") or "unknown"
        return CRYPTO_OPERATIONS, (operation, algorithm)
    if family == "text":
        return TEXT_OPERATIONS, (_TEXT_OPERATIONS.get(operation, operation),)
    if family == "data":
        return TEXT_OPERATIONS, (operation,)  # data/json/format → json_format, as the reference
    if family == "transform":
        if rest[0] == "compress":
            action = literal_value(parsed, "action")
            codec = literal_value(parsed, "algorithm")
            if action and codec:
                return TRANSFORM_OPERATIONS, (action, codec)
            return TRANSFORM_OPERATIONS, ("unknown", "compression")
        if len(rest) > 1:  # jwt/decode
            return TRANSFORM_OPERATIONS, (rest[1], rest[0])
        return TRANSFORM_OPERATIONS, (literal_value(parsed, "action") or "unknown", rest[0])
    if family == "id":
        return ID_OPERATIONS, ("generate", operation)
    if family == "time":
        return TIME_OPERATIONS, (_TIME_OPERATIONS.get(operation, operation),)
    if family == "web":
        action = literal_value(parsed, "action")
        return NETWORK_OPERATIONS, (
            f"{operation}_{action}" if action else f"{operation}_operation",
        )
    if family == "network":
        return NETWORK_OPERATIONS, (_NETWORK_OPERATIONS.get(operation, operation),)
    return None


_LABEL_GETTERS: dict[type[ToolInput], Callable[[ToolInput], object]] = {}


def _no_labels(parsed: ToolInput) -> object:
    return None


def _label_inputs(parsed: ToolInput | None) -> object:
    """The input values :func:`family_labels` may read (``action``, ``algorithm``), for the cache
    key: only string-Literal fields, so the key space stays bounded."""
    if parsed is None:
        return None
    model = type(parsed)
    getter = _LABEL_GETTERS.get(model)
    if getter is None:
        for name in ("action", "algorithm"):
            literal_value(parsed, name)  # decides (and caches) whether the field is bounded
        names = [name for name in ("action", "algorithm") if _literal_fields[(model, name)]]
        getter = _LABEL_GETTERS[model] = operator.attrgetter(*names) if names else _no_labels
    return getter(parsed)


_HAS_VALID: dict[type[ToolOutput], bool] = {}


def _family_status(result: ToolOutput | None, error: Exception | None) -> str:
    if error is not None:
        return "validation_error" if isinstance(error, ValidationError) else "error"
    if result is not None:
        kind = type(result)
        has_valid = _HAS_VALID.get(kind)
        if has_valid is None:
            has_valid = _HAS_VALID[kind] = "valid" in kind.model_fields
        if has_valid and result.valid is False:  # type: ignore[attr-defined]
            return "invalid_password"  # password verify ran and did not match (reference label)
    return "success"


class _CallLabels(NamedTuple):
    calls: tuple[str, ...]  # tool_calls_total
    duration: tuple[str, ...]  # tool_call_duration_seconds
    family: tuple[FastCounter, tuple[str, ...]] | None  # the family counter and its labels


class ToolMetrics:
    """The registry observer: resolves a call's label tuples at once (cached per distinct key;
    the key holds only bounded values, so the cache stays as small as the label space) and
    applies the counter updates in batches.  Only the labels and the duration wait in the batch,
    never inputs or results."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], _CallLabels] = {}
        self.batch = Batch(self._apply)

    def observe(
        self,
        spec: ToolSpec,
        call: CallInfo,
        elapsed: float,
        result: ToolOutput | None,
        error: Exception | None,
    ) -> None:
        if error is None:
            status = "success"
        else:
            status = error.code if isinstance(error, ToolError) else "INTERNAL_ERROR"
        family_status = _family_status(result, error)
        parsed = call.parsed
        operation = error is None or call.admitted
        key = (spec.name, call.frontend, status, family_status, operation, _label_inputs(parsed))
        labels = self._cache.get(key)
        if labels is None:
            family = family_labels(spec, parsed) if operation else None
            labels = self._cache[key] = _CallLabels(
                (spec.name, call.frontend, status),
                (spec.name,),
                (family[0], (*family[1], family_status)) if family is not None else None,
            )
        self.batch.add((labels, elapsed))

    @staticmethod
    def _apply(items: list[tuple[_CallLabels, float]]) -> None:
        calls, duration = TOOL_CALLS, TOOL_DURATION
        for labels, elapsed in items:
            try:
                calls.inc(labels.calls)
                duration.observe(labels.duration, elapsed)
                if labels.family is not None:
                    labels.family[0].inc(labels.family[1])
            except Exception:
                log.exception("recording failed")
