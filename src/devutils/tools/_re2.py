"""RE2 patterns as every tool compiles them: the same limits, and only a few kept compiled.

Each compiled pattern may hold up to ``MAX_MEM``, and the server process runs small regex calls
itself, so one small cache serves text/regex and data/schema/validate alike.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_MEM = 1 << 20  # per compiled pattern


@functools.lru_cache(maxsize=16)
def compiled(source: str) -> Any:
    """``source`` compiled (leftmost-first, like Go, ECMA-262 and Python); raises ``re2.error``."""
    options = re2.Options()
    options.log_errors = False  # RE2 would print every rejected pattern to stderr
    options.max_mem = MAX_MEM
    options.longest_match = False
    try:
        return re2.compile(source, options)
    finally:
        # The re2 module keeps 128 compiled patterns of its own (each up to MAX_MEM, ~70 MiB
        # seen in the server process): ours keeps a few.
        re2.purge()
