"""Readiness vocabulary shared by the health endpoint and the dependencies that report to it.

"ok"; "degraded": still serving correctly with a fallback, so the replica stays ready (a shared
dependency's outage must not empty the Service); "down": readiness answers 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Readiness = Literal["ok", "degraded", "down"]
ReadinessCheck = Callable[[], tuple[Readiness, str]]
