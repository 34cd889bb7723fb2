"""The output cap counts a plain result's text as JSON writes it, without writing it."""

from __future__ import annotations

import random

import orjson
from pydantic import Field

from devutils.models import ToolOutput
from devutils.registry import _plain_fields_of, over_output_cap


class Plain(ToolOutput):
    result: str
    flag: bool
    maybe: str | None = None
    items: list[str] = Field(default_factory=list)


ALPHABET = [chr(code) for code in range(0x80)] + ["é", "☃", "😀", "\u2028", "/", "\ud7ff"]


def test_the_cap_compares_the_text_of_plain_results_as_json_writes_it() -> None:
    assert _plain_fields_of(Plain) is not None  # counted without writing it
    rng = random.Random(13)

    def text() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))

    for _ in range(2000):
        result = Plain(
            result=text(),
            flag=rng.random() < 0.5,
            maybe=rng.choice([None, text()]),
            items=[text() for _ in range(rng.randint(0, 4))],
        )
        texts = [result.result, *([result.maybe] if result.maybe else []), *result.items]
        size = sum(len(orjson.dumps(value)) - 2 for value in texts)  # without the quotes
        assert not over_output_cap(result, size)
        if size:
            assert over_output_cap(result, size - 1)
