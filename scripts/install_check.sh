#!/usr/bin/env bash
# The container's install path, proved without Docker (CI has no engine):
#   1. build the wheel (from a copy of the sources, so the working tree gets no build/ litter);
#   2. as a NON-ROOT user, create a fresh venv; download the files requirements/runtime.lock pins
#      for that interpreter (hash-checked) and install from those files only, --require-hashes,
#      then the project's wheel with --no-deps;
#   3. (the Dockerfile installs the same lock with --require-hashes, then the project --no-deps);
#   4. make the install read-only, then run `devutils serve` as that user with a read-only working
#      directory and no HOME, so only /tmp is writable;
#   5. call /health/live, `devutils healthcheck`, a tool and the playground; SIGTERM; expect exit 0.
# Prints key=value lines (tests/ops/test_install.py reads them).  Run as root.
# Usage: scripts/install_check.sh WORKDIR   (env: RUN_AS=nobody PORT=18080 BUILD_PYTHON BASE_PYTHON)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:?usage: install_check.sh WORKDIR}
RUN_AS=${RUN_AS:-nobody}
PORT=${PORT:-18080}
BUILD_PYTHON=${BUILD_PYTHON:-$ROOT/.venv/bin/python}
# The interpreter the non-root user runs: must be readable by that user (not under /root).
BASE_PYTHON=${BASE_PYTHON:-/usr/bin/python3}

[ "$(id -u)" -eq 0 ] || { echo "install_check.sh: run as root (it switches to $RUN_AS)" >&2; exit 2; }
mkdir -p "$WORK"
chmod 755 "$WORK"
as_user() { runuser -u "$RUN_AS" -- env -i PATH=/usr/bin:/bin TMPDIR=/tmp PIP_NO_CACHE_DIR=1 "$@"; }

# 1-2. wheels (as root: a build step, like the Dockerfile's build stage); the build backend is
#      BUILD_PYTHON's locked setuptools (--no-build-isolation), not whatever is newest today.
mkdir -p "$WORK/source"
cp -r "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/src" "$WORK/source/"
find "$WORK/source" -name '__pycache__' -prune -exec rm -rf {} +
"$BUILD_PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$WORK/source" \
    2>"$WORK/build.log"
WHEEL=$(ls "$WORK"/dist/dev_utilities-*.whl)
echo "wheel=$(basename "$WHEEL")"

# 3. fresh venv (non-root user); the locked files chosen by that venv's own interpreter, as its
#    environment markers decide (e.g. async-timeout only below Python 3.11.3); install offline.
install -d -o "$RUN_AS" "$WORK/app"
as_user "$BASE_PYTHON" -m venv "$WORK/app/venv"
cp "$ROOT/requirements/runtime.lock" "$WORK/runtime.lock"
"$WORK/app/venv/bin/python" -m pip download -q --disable-pip-version-check --require-hashes \
    -d "$WORK/wheels" -r "$WORK/runtime.lock" 2>>"$WORK/build.log"
chmod -R a+rX "$WORK/dist" "$WORK/wheels" "$WORK/runtime.lock"
as_user "$WORK/app/venv/bin/pip" install -q --disable-pip-version-check --no-index \
    --find-links "$WORK/wheels" --require-hashes -r "$WORK/runtime.lock"
as_user "$WORK/app/venv/bin/pip" install -q --disable-pip-version-check --no-index --no-deps "$WHEEL"
# Every installed distribution but the project is a pin of the lock (prints the others, if any).
as_user "$WORK/app/venv/bin/python" -m pip freeze --disable-pip-version-check --all >"$WORK/freeze.txt"
echo "unlocked=$("$BUILD_PYTHON" - "$WORK/runtime.lock" "$WORK/freeze.txt" <<'PY'
import re, sys
def pins(text):
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.M)
    return {(re.sub(r"[-_.]+", "-", name).lower(), version) for name, version in found}
extra = pins(open(sys.argv[2]).read()) - pins(open(sys.argv[1]).read())
print(" ".join(sorted(f"{n}=={v}" for n, v in extra if n not in ("dev-utilities", "pip"))))
PY
)"
echo "installed_by=$(stat -c %U "$WORK/app/venv/bin/devutils")"

# 4. read-only install and working directory; HOME unset (env -i)
chmod -R a-w "$WORK/app"
install -d -m 555 "$WORK/readonly-cwd"
VENV_BIN="$WORK/app/venv/bin"
cd "$WORK/readonly-cwd"
# setpriv execs (runuser would stay as a root parent and hide the server's own exit status).
AS_USER=(setpriv --reuid="$RUN_AS" --regid="$(id -g "$RUN_AS")" --clear-groups
    env -i PATH="$VENV_BIN:/usr/bin:/bin" SERVER_HOST=127.0.0.1 SERVER_PORT="$PORT"
    SECRETS_MOUNT_PATH=/nonexistent SHUTDOWN_DRAIN_DELAY=0)
run() { "${AS_USER[@]}" "$@"; }
echo "version=$(run devutils --version)"
echo "metadata_version=$(run python -c 'import importlib.metadata as m; print(m.version("dev-utilities"))')"

LOG="$WORK/serve.log"
"${AS_USER[@]}" devutils serve >"$LOG" 2>&1 &  # a simple command: $! is the server
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
http() {  # METHOD PATH [BODY] -> "status body"
    run python - "$@" <<'PY'
import sys, urllib.error, urllib.request
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(f"http://127.0.0.1:{__import__('os').environ['SERVER_PORT']}{path}",
                             data=body, method=method, headers={"Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except OSError:
    print(0, "")
PY
}
for _ in $(seq 100); do
    [ "$(http GET /health/live | cut -d' ' -f1)" = 200 ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
echo "serve_user=$(ps -o user= -p "$PID" | tr -d ' ')"
echo "serve_cwd=$(readlink "/proc/$PID/cwd")"
echo "live=$(http GET /health/live)"
if run devutils healthcheck >/dev/null 2>&1; then echo "healthcheck=0"; else echo "healthcheck=$?"; fi
echo "tool=$(http POST /api/v1/crypto/hash '{"content":"abc","algorithm":"sha256"}')"
echo "status=$(http GET /api/v1/status)"
# The playground's files are package data: served by the installed wheel (status only).
echo "playground=$(http GET / | cut -d' ' -f1)"

# 5. graceful stop
kill -TERM "$PID"
set +e
wait "$PID"
echo "exit=$?"
set -e
trap - EXIT
echo "log_lines=$(wc -l <"$LOG")"
if grep -qi 'read-only file system\|permission denied' "$LOG"; then echo "write_errors=yes"; else echo "write_errors=no"; fi
