"""``MCP_TOOLSETS``: which tools an MCP client sees, by family or by named preset.

Every tool definition costs an agent context, and some clients cap the number of tools (Cursor
40), so a deployment can offer a slice of the catalogue.  A toolset is a family (``crypto``,
``text``, ...: the first word of the REST path) or a preset below; several combine as a union.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from devutils.registry import ToolSpec
from devutils.settings import SettingsError

# Presets name tools, not families, so a new tool joins one only when someone decides it should.
# Names that are not in the catalogue (a tool turned off by DISABLED_TOOLS) are skipped.
PRESETS: dict[str, tuple[str, ...]] = {
    # What agents reach for most, in one small list.
    "essentials": (
        "crypto_hash",
        "crypto_hmac",
        "transform_base64",
        "transform_url",
        "transform_jwt_decode",
        "data_json_format",
        "text_case",
        "text_info",
        "text_regex",
        "id_uuid",
        "time_convert",
        "time_now",
        "web_url",
        "pipeline",
    ),
}


def expand_toolsets(given: Sequence[str], every: Iterable[ToolSpec]) -> set[str] | None:
    """The tool names the toolsets select, or None for "all" (no toolset given)."""
    specs = list(every)
    families = {spec.family for spec in specs}
    known = families | set(PRESETS)
    unknown = sorted(set(given) - known)
    if unknown:
        raise SettingsError(
            f"MCP_TOOLSETS: unknown name(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if not given:
        return None
    chosen: set[str] = set()
    for name in given:
        if name in PRESETS:
            chosen.update(PRESETS[name])
        else:
            chosen.update(spec.name for spec in specs if spec.family == name)
    return chosen
