#!/usr/bin/env bash
# Regenerate the dependency locks from pyproject.toml:
#   requirements/test.lock     runtime + the `test` extra + the build backend (scripts/test.sh)
#   requirements/runtime.lock  runtime + the build backend (README, Dockerfile, install check)
# Exact versions with the sha256 of EVERY file PyPI publishes for each version (uv's --universal
# output), for Python 3.11+ on any platform, so the same lock installs on x86_64 and aarch64 and a
# locally rebuilt copy of a file can never be installed in place of PyPI's.
# The build backend ([build-system].requires) is locked too: the project itself is installed with
# --no-build-isolation, so its build uses these pinned versions instead of whatever is newest.
# runtime.lock is resolved under test.lock as a constraint, so the versions the service runs with
# are exactly the versions the tests ran with.
# Usage: bash scripts/lock.sh          (needs python3 >= 3.11 and access to PyPI; ~1 minute)
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8  # the locking tool, pinned: a new uv may write the lock differently
INDEX=https://pypi.org/simple

tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
python3 -m venv "$tool/venv"
"$tool/venv/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"

compile() {  # OUTPUT [uv pip compile options...]; the build backend arrives on stdin ("-")
    local output=$1
    shift
    python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' |
        "$tool/venv/bin/uv" pip compile --quiet --no-config --default-index "$INDEX" \
            --universal --python-version 3.11 --generate-hashes \
            --custom-compile-command "bash scripts/lock.sh" \
            "$@" pyproject.toml - -o "$output"
}

compile requirements/test.lock --extra test
compile requirements/runtime.lock --constraints requirements/test.lock
echo "lock.sh: wrote requirements/test.lock ($(grep -c '==' requirements/test.lock) pins)" \
    "and requirements/runtime.lock ($(grep -c '==' requirements/runtime.lock) pins)"
