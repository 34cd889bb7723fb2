"""Compiled patterns are not kept by the hundred: each may hold up to 1 MiB (RE2's max_mem), and
the server process runs small regex calls itself."""

from __future__ import annotations

import re2

from devutils.tools import _re2, regex
from devutils.tools._zones import _abbreviations, resolve_zone


def test_compiled_patterns_are_kept_by_the_few() -> None:
    options = re2.Options()
    source = "(?i)kept[0-9]+"
    first = re2.compile(source, options)
    assert re2.compile(source, options) is first  # the re2 module's own cache holds it
    for index in range(200):
        regex._compile(f"p{index}\\pL{{3}}", "")
    assert _re2.compiled.cache_info().currsize <= 16
    assert re2.compile(source, options) is not first  # and no longer does


def test_zone_abbreviations_are_cached_for_a_few_years() -> None:
    for year in range(1900, 1940):
        resolve_zone("AEST", year)
    assert _abbreviations.cache_info().currsize <= 8
