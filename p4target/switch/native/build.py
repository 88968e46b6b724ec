"""Compile generated C into a shared library, cached by content hash, and load it with cffi.

Cache: ``$CPN_P4_NATIVE_CACHE`` or ``~/.cache/cpn-p4/native``; one ``<hash>.so`` per (source,
generator version, compiler, flags).  ``sanitize=True`` builds with AddressSanitizer and
UndefinedBehaviorSanitizer (the process must have ``libasan`` preloaded: see
:func:`sanitizer_env`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .cgen import CDEF, GENERATOR_VERSION

CFLAGS = ["-O2", "-fwrapv", "-fPIC", "-shared", "-std=gnu11", "-fno-strict-aliasing"]
SAN_FLAGS = [
    "-O1",
    "-g",
    "-fwrapv",
    "-fPIC",
    "-shared",
    "-std=gnu11",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
]


def compiler() -> str | None:
    """The C compiler to use (``$CC``, else gcc, else cc), or None."""
    for cand in (os.environ.get("CC"), "gcc", "cc"):
        if cand and shutil.which(cand):
            return cand
    return None


def cache_dir() -> Path:
    d = os.environ.get("CPN_P4_NATIVE_CACHE")
    return Path(d) if d else Path.home() / ".cache" / "cpn-p4" / "native"


@functools.lru_cache(maxsize=4)
def _cc_version(cc: str) -> str:
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return cc


def library_path(source: str, sanitize: bool = False) -> tuple[Path, bool]:
    """Build (or find in the cache) the library for ``source``; returns (path, was_cached)."""
    cc = compiler()
    if cc is None:
        raise ConfigError("native engine: no C compiler found (install gcc or set CC)")
    flags = SAN_FLAGS if sanitize else CFLAGS
    key = hashlib.sha256(
        "\0".join([GENERATOR_VERSION, _cc_version(cc), " ".join(flags), source]).encode()
    ).hexdigest()[:24]
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    out = d / f"p4_{key}{'_san' if sanitize else ''}.so"
    if out.exists():
        return out, True
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        src = Path(tmp) / "prog.c"
        src.write_text(source)
        lib = Path(tmp) / "prog.so"
        proc = subprocess.run(
            [cc, *flags, "-o", str(lib), str(src)], capture_output=True, text=True, timeout=600
        )
        if proc.returncode != 0:
            (d / f"p4_{key}_failed.c").write_text(source)
            raise ConfigError(
                f"native engine: {cc} failed (source kept in {d}/p4_{key}_failed.c):\n"
                + proc.stderr[-4000:]
            )
        os.replace(lib, out)  # atomic: concurrent builders of the same key are harmless
    return out, False


@functools.lru_cache(maxsize=1)
def shared_ffi() -> Any:
    """One FFI for every program (the interface is the same; parsing it costs ~20 ms)."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(
        CDEF + "\nstate_t *st_new(void);\nvoid st_free(state_t *s);\n"
        "void st_copy(state_t *d, const state_t *s);\n"
    )
    return ffi


_LIBS: dict[str, Any] = {}


def load(source: str, sanitize: bool = False) -> tuple[Any, Any, bool]:
    """(ffi, lib, was_cached) for ``source``; a library is opened once per process."""
    path, cached = library_path(source, sanitize)
    ffi = shared_ffi()
    lib = _LIBS.get(str(path))
    if lib is None:
        lib = _LIBS[str(path)] = ffi.dlopen(str(path))
    return ffi, lib, cached


def sanitizer_env() -> dict[str, str]:
    """Environment for a Python process that loads sanitizer builds (ASan preloaded)."""
    cc = compiler() or "gcc"
    asan = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True
    ).stdout.strip()
    ubsan = subprocess.run(
        [cc, "-print-file-name=libubsan.so"], capture_output=True, text=True
    ).stdout.strip()
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(x for x in (asan, ubsan) if x and os.path.exists(x))
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    env["CPN_P4_NATIVE_SANITIZE"] = "1"
    return env
