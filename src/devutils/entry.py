"""The ``devutils`` command's entry point (and ``python -m devutils``'s).

Importing the command line's modules and the tools it runs takes a few hundred milliseconds.  A
Ctrl-C in that time would raise KeyboardInterrupt inside some module's import: a traceback
instead of a quiet stop (inside a class body it even comes out as a RuntimeError, and once seen,
as a crash inside an extension module's initialisation).  So until every module the command
needs is imported and the command line can answer Ctrl-C itself (exit 130,
:func:`devutils.cli.main`), SIGINT keeps the default action a Unix tool has: the process ends,
killed by SIGINT, which the shell reports as 130.

What cannot be covered is the interpreter's own start-up before this module runs (~20 ms).
"""

from __future__ import annotations

import signal
import sys


def main() -> int:
    quiet = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if quiet:  # not when SIGINT is ignored (a background job): it stays ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    from devutils.cli import load_modules
    from devutils.cli import main as cli_main

    load_modules(sys.argv[1:])
    if quiet:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return cli_main()
