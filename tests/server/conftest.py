"""A fresh test app and server per test, for modules that do not share one (module fixtures of
the same names take precedence)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.apps import Recorder, make_app
from tests.server.harness import Served, served


@pytest.fixture
def seen() -> Recorder:
    return Recorder()


@pytest.fixture
def server(seen: Recorder) -> Iterator[Served]:
    with served(make_app(seen)) as handle:
        yield handle
