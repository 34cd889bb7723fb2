#!/usr/bin/env bash
# Install the test dependencies into .venv and run the whole suite: lint, format, types, tests.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy src tests bench
.venv/bin/pytest "$@"
