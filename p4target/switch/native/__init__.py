"""Native engine of the embedded switch: BMv2 JSON -> generated C -> shared library (cffi).

``Switch(config, engine="native")`` (or ``$CPN_P4_ENGINE=native``, ``--engine native``) runs
the program through :class:`.engine.NativeEngine`; ``engine="auto"`` uses it when a C compiler
and cffi are present and the program is supported.  The generator refuses what it does not
implement with :class:`NativeUnsupported` (clone, resubmit, digests, meters, action profiles,
direct counters, idle timeouts, value sets, varbit, header unions, log_msg, assert/assume,
random, hashes other than crc16/crc32/crcCCITT/csum16/identity, fields over 128 bits).
"""

from __future__ import annotations

import functools

from .cexpr import NativeUnsupported


@functools.lru_cache(maxsize=1)
def native_available() -> bool:
    """True when cffi imports and a C compiler is on PATH."""
    try:
        import cffi  # noqa: F401
    except ImportError:
        return False
    from .build import compiler

    return compiler() is not None


__all__ = ["NativeUnsupported", "native_available"]
