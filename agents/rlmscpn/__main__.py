"""``python -m agents.rlmscpn``: see :mod:`agents.rlmscpn.cli`."""

import sys

from agents.rlmscpn.cli import main

sys.exit(main())
