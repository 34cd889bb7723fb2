"""A worker process: ``python -m devutils.http.server.worker --fd N --index I --workers W``.

Started by the supervisor with the listening socket inherited as descriptor N.  The order
matters: settings, then ``devutils.workers.in_worker``, and only then the application (and with
it prometheus_client), so the hook can prepare what the application's modules read at import.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence

from devutils.settings import SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devutils-worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _refuse_configuration(exc)
    from devutils.workers import in_worker

    in_worker(settings, args.workers, args.index)
    from devutils.server import run_app

    sock = socket.socket(fileno=args.fd)
    try:
        return run_app(settings, sock, parent_pid=os.getppid())
    except SettingsError as exc:
        return _refuse_configuration(exc)


def _refuse_configuration(exc: SettingsError) -> int:
    """One JSON log line, as ``devutils serve`` writes it; 78 tells the supervisor not to retry."""
    from devutils.observability.logging import config_error_line

    print(config_error_line(exc, 78), file=sys.stderr)
    return 78


if __name__ == "__main__":
    raise SystemExit(main())
