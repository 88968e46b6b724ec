"""Suite-wide setup.

Tests are imported with ``--import-mode=importlib`` (so two folders may both hold a
``test_router.py``); helper modules that sit beside tests (``sw_jsonlib``, ``cpn_harness``, ...)
stay importable by name because every test folder is appended to ``sys.path`` here.
"""

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
for _folder in sorted(p for p in _TESTS.rglob("*") if p.is_dir() and p.name != "__pycache__"):
    if any(_folder.glob("*.py")) and str(_folder) not in sys.path:
        sys.path.append(str(_folder))
