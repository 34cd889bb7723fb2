"""Our HTTP/1.1 ASGI 3 server: asyncio (uvloop when available) plus httptools' documented parser.

Why our own (docs/architecture.md, "The HTTP server"): stock servers either buffer header blocks
and URLs without limit and never close idle connections (uvicorn's httptools path) or cost too
much per request (h11); the previous uvicorn subclass depended on its private classes.

Modules, one job each:

- :mod:`.limits`    the limits and timeouts, from settings
- :mod:`.wire`      bytes on the wire: status lines, the Date header, header checks, error answers
- :mod:`.cycle`     one request/response: the ASGI ``scope``, ``receive`` and ``send``
- :mod:`.protocol`  one connection: parsing, limits, timers, keep-alive, pipelining, flow control
- :mod:`.lifespan`  the ASGI lifespan protocol
- :mod:`.runner`    one worker: listen, serve, drain on SIGTERM
- :mod:`.supervisor` the parent of N workers: bind, spawn, restart, forward signals
- :mod:`.worker`    the entry point of a worker process

Nothing here imports the application: the worker entry point imports it only after
``devutils.workers.in_worker`` ran.
"""

import signal

# What stops a server (the first drains it, a second stops it at once), in the supervisor and in
# each worker alike.  SIGHUP (the terminal went away) too: its default action killed the
# supervisor before it could drain its workers and remove its metrics directory.
STOP_SIGNALS = frozenset((signal.SIGTERM, signal.SIGINT, signal.SIGHUP))
