#!/usr/bin/env bash
# Install the locked test dependencies into .venv (fresh or existing) and run the whole suite:
# lint, format, types, tests. Extra arguments go to pytest.
# requirements/test.lock pins every package with its hashes (refresh: bash scripts/lock.sh); the
# project goes in editable with --no-deps, built by the lock's setuptools (--no-build-isolation).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --require-hashes -r requirements/test.lock
"${pip[@]}" --no-deps --no-build-isolation -e .
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy src tests bench
.venv/bin/pytest "$@"
