"""Finding Mininet: Debian's ``mininet`` package installs it for the system Python
(``/usr/lib/python3/dist-packages``), which a virtual environment does not see. Only the
``mininet`` package is taken from there: the folder is on ``sys.path`` just while it is
imported (its submodules load later through the package's own ``__path__``).
"""

from __future__ import annotations

import glob
import importlib
import logging
import os
import shutil
import sys
from types import ModuleType

SYSTEM_DIRS = (
    "/usr/lib/python3/dist-packages",
    *sorted(glob.glob("/usr/lib/python3.*/site-packages")),
)


def _import() -> ModuleType:
    """Import ``mininet.net`` (and with it ``mininet.log``), keeping the logging class: Mininet
    sets ``logging.setLoggerClass(MininetLogger)``, which would give every logger created
    afterwards its own console handler and level."""
    cls = logging.getLoggerClass()
    try:
        importlib.import_module("mininet.net")
        return importlib.import_module("mininet")
    finally:
        logging.setLoggerClass(cls)


def import_mininet() -> ModuleType:
    """``import mininet`` (from the venv, else from the system folders); ImportError if absent."""
    if "mininet.net" in sys.modules:
        return sys.modules["mininet"]
    try:
        return _import()
    except ImportError:
        pass
    for d in SYSTEM_DIRS:
        if os.path.isfile(os.path.join(d, "mininet", "net.py")):
            sys.path.insert(0, d)
            try:
                return _import()
            finally:
                sys.path.remove(d)
    raise ImportError(
        "Mininet is not installed (Debian: apt-get install mininet; `make setup` as root does it)"
    )


def why_unavailable() -> str | None:
    """``None`` when a Mininet network can be built here, else the reason."""
    if os.geteuid() != 0:
        return "Mininet needs root"
    try:
        import_mininet()
    except ImportError as exc:
        return str(exc)
    for tool in ("mnexec", "ip", "ifconfig"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (Debian packages mininet, iproute2, net-tools)"
    return None


__all__ = ["import_mininet", "why_unavailable"]
