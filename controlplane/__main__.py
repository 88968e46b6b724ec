"""``python -m controlplane``: see :mod:`controlplane.cli`."""

from controlplane.cli import main

raise SystemExit(main())
