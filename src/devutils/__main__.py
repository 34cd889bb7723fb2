"""``python -m devutils`` behaves like the ``devutils`` command."""

from devutils.cli import main

raise SystemExit(main())
