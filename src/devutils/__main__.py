"""``python -m devutils`` behaves like the ``devutils`` command."""

from devutils.entry import main

raise SystemExit(main())
