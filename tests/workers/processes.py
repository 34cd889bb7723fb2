"""Entry points of worker processes started by the tests (multiprocessing, spawn).

Kept free of application imports at module level: a spawned child imports this module first, and
the application must be imported only after :func:`devutils.workers.in_worker` (as the server does).
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def serve_worker(env: Mapping[str, str], workers: int, index: int, port: int) -> None:
    """One worker of a pod: in_worker, then the real server on its own loopback port."""
    os.environ.update(env)
    from devutils import workers as worker_state
    from devutils.settings import load_settings

    settings = load_settings()
    worker_state.in_worker(settings, workers, index)
    from devutils.server import serve

    serve(settings, "127.0.0.1", port, workers=1)  # this process is one worker of the test pod


def admitted_by_worker(
    env: Mapping[str, str], workers: int, index: int, attempts: int, seconds: float
) -> int:
    """How many of ``attempts`` requests from one client this worker's limiter admits, spread
    evenly over ``seconds`` of a simulated clock."""
    os.environ.update(env)
    from devutils import workers as worker_state
    from devutils.errors import RateLimitError
    from devutils.settings import load_settings

    settings = load_settings()
    worker_state.in_worker(settings, workers, index)
    from devutils.ratelimit.limiter import RateLimiter

    now = [1000.0]
    limiter = RateLimiter(settings, clock=lambda: now[0])
    admitted = 0
    for attempt in range(attempts):
        now[0] = 1000.0 + seconds * attempt / attempts
        try:
            limiter.admit_local("default", False, None, "203.0.113.7")
        except RateLimitError:
            continue
        admitted += 1
    return admitted
