"""Base classes for tool input and output models.

Inputs use the reference's camelCase names on the wire and accept the snake_case spelling of each
field too (API-DELTAS D2).  Validation is strict (no "4" for an int, no 1 for a bool), unknown
fields are ignored and JSON ``null`` for an optional field means its default.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, AliasGenerator, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


def _input_aliases(name: str) -> AliasChoices:
    camel = to_camel(name)
    return AliasChoices(camel, name) if camel != name else AliasChoices(name)


class ToolInput(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        alias_generator=AliasGenerator(
            validation_alias=_input_aliases, serialization_alias=to_camel
        ),
        populate_by_name=True,
        regex_engine="python-re",
    )

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and None in data.values():
            return {key: value for key, value in data.items() if value is not None}
        return data


class NoInput(ToolInput):
    """For tools that take no arguments (GET endpoints such as time/now)."""


class ToolOutput(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        frozen=True,
    )
