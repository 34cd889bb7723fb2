"""Base classes for tool input and output models.

Inputs use the reference's camelCase names on the wire and accept the snake_case spelling of each
field too (API-DELTAS D2).  Validation is strict (no "4" for an int, no 1 for a bool) and unknown
fields are refused (``extra="forbid"``, so schemas say ``additionalProperties: false``): a
misspelled argument must not silently become a default.  :mod:`devutils.input_errors` turns the
refusal into ``unknown field "text"; did you mean "content"?``.  JSON ``null`` for an optional
field means its default: ``Registry.parse``, the one place inputs are validated, drops null
members first (a model validator doing the same cost a Python call on every validation).
"""

from __future__ import annotations

from pydantic import AliasChoices, AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def _input_aliases(name: str) -> AliasChoices:
    camel = to_camel(name)
    return AliasChoices(camel, name) if camel != name else AliasChoices(name)


def wire_name(name: str) -> str:
    """The camelCase name a field has on the wire (schemas, error messages)."""
    return to_camel(name)


class ToolInput(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        alias_generator=AliasGenerator(
            validation_alias=_input_aliases, serialization_alias=to_camel
        ),
        populate_by_name=True,
        regex_engine="python-re",
    )

    def changed_fields(self) -> set[str]:
        """The fields given a value other than their default.  Options that only another kind
        or action reads are refused when given, not ignored; but a client that fills every field
        from the schema's defaults sends those too, and a default sent is the call it left out."""
        fields = type(self).model_fields
        return {
            name
            for name in self.model_fields_set
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        }


class NoInput(ToolInput):
    """For tools that take no arguments (GET endpoints such as time/now)."""


class ToolOutput(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        frozen=True,
    )


def omit_none(value: object) -> bool:
    """``exclude_if`` for optional output fields: left out of the JSON when they are None."""
    return value is None
