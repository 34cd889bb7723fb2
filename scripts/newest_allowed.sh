#!/usr/bin/env bash
# The newest-allowed job: install the project with the NEWEST versions pyproject.toml allows (no
# lock) into a separate fresh venv, list every package whose version differs from
# requirements/test.lock, run the unit tests (pytest only) and end with a one-line verdict:
#   newest-allowed: PASS
#   newest-allowed: FAIL — N tests failed with these versions: name locked -> newest, ...
# Drift shows up here the day an upstream release breaks us, not when a user installs.
# What to do when it fails: docs/development.md ("When the newest-allowed job fails").
# Usage: bash scripts/newest_allowed.sh [pytest args...]   (env: NEWEST_VENV, default .venv-newest)
# Exit status 0 only on PASS.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${NEWEST_VENV:-.venv-newest}
REPORT=$(mktemp -d)
trap 'rm -rf "$REPORT"' EXIT

verdict_fail() {
    echo "newest-allowed: FAIL — $*"
    exit 1
}

echo "newest-allowed: fresh venv $VENV, newest versions pyproject.toml allows (no lock)"
python3 -m venv --clear "$VENV" || verdict_fail "could not create the venv $VENV"
# The build backend is resolved newest too, and installed, so the venv can also build the project.
mapfile -t build_requires < <(python3 -c 'import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    --upgrade --upgrade-strategy eager -e '.[test]' "${build_requires[@]}" \
    >"$REPORT/install.log" 2>&1; then
    cat "$REPORT/install.log"
    verdict_fail "the newest allowed versions do not install: $(grep -m1 -i error "$REPORT/install.log")"
fi

# tests/ops/test_install.py builds the project wheel with this venv, not the locked .venv.
BUILD_PYTHON=$(cd "$VENV" && pwd)/bin/python
export BUILD_PYTHON

# Table of what differs from the lock; the one-line summary goes to drift.txt for the verdict.
"$VENV/bin/python" - requirements/test.lock "$REPORT/drift.txt" <<'PY'
import importlib.metadata
import re
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

lock_path, drift_path = sys.argv[1], sys.argv[2]
text = re.sub(r"\\\n", " ", open(lock_path).read())
locked = {}
for line in text.splitlines():
    if line and not line[0].isspace() and not line.startswith("#"):
        requirement = Requirement(line.split(" --hash=")[0].strip())
        if requirement.marker is None or requirement.marker.evaluate():
            locked[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
installed = {
    canonicalize_name(dist.metadata["Name"]): dist.version
    for dist in importlib.metadata.distributions()
}
installed.pop("dev-utilities", None)
installed.pop("pip", None)
rows = [
    (name, locked.get(name, "-"), installed.get(name, "-"))
    for name in sorted(set(locked) | set(installed))
    if locked.get(name) != installed.get(name)
]
if rows:
    width = max(len(name) for name, _, _ in rows + [("package", "", "")])
    print(f"{'package':<{width}}  {'locked':<16}  newest allowed")
    for name, old, new in rows:
        print(f"{name:<{width}}  {old:<16}  {new}")
else:
    print("every installed version equals the lock")
print(f"{len(rows)} of {len(installed)} installed packages differ from requirements/test.lock")
with open(drift_path, "w") as out:
    out.write(", ".join(f"{name} {old} -> {new}" for name, old, new in rows) or "none differ")
PY
[ -s "$REPORT/drift.txt" ] || verdict_fail "could not compare the install with the lock"

"$VENV/bin/python" -m pytest -p no:cacheprovider --junitxml="$REPORT/junit.xml" "$@"
status=$?
failed=$("$VENV/bin/python" - "$REPORT/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(-1)
else:
    suites = [root] if root.tag == "testsuite" else list(root)
    print(sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites))
PY
)
drift=$(cat "$REPORT/drift.txt")
if [ "$status" -eq 0 ]; then
    echo "newest-allowed: PASS (versions differing from the lock: $drift)"
elif [ "$failed" -gt 0 ]; then
    verdict_fail "$failed tests failed with these versions: $drift"
else
    verdict_fail "pytest exited with status $status (no test report) with these versions: $drift"
fi
