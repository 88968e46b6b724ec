"""Batched ``AF_PACKET`` I/O in C (``afio.c``): ``recvmmsg`` over all of a switch's sockets
and ``sendmmsg`` per port, loaded with cffi (the GIL is released while C waits or copies).

The library is compiled once with the compiler of :mod:`.build` into the same cache
(``afio_<hash>.so``, keyed by the source, compiler and flags).  :func:`afio` returns None
(with the reason in :func:`unavailable_reason`) when cffi or a compiler is missing or the
build fails; the ports then keep the per-frame Python path.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("p4target.switch")

SOURCE = Path(__file__).with_name("afio.c")
FLAGS = ["-O2", "-fPIC", "-shared", "-std=gnu11", "-Wall"]
SLOT = 65536  # bytes per received frame at most (as the per-frame path's recvfrom(65535))
CAP = 256  # frames per receive call

CDEF = """
typedef struct afio_rx afio_rx_t;
afio_rx_t *afio_rx_new(int cap, int slot);
void afio_rx_free(afio_rx_t *rx);
uint8_t *afio_rx_buf(afio_rx_t *rx);
int afio_recv(afio_rx_t *rx, int nfds, const int *fds, int stop_fd, int timeout_ms,
              int32_t *off, int32_t *len, int32_t *idx, int32_t *errs, uint64_t *stats);
int afio_send(int fd, const uint8_t *blob, const int32_t *off, const int32_t *len, int n,
              int wait_ms, int *err);
"""

_REASON: list[str] = []


def _build() -> Path:
    from .build import _cc_version, cache_dir, compiler

    cc = compiler()
    if cc is None:
        raise OSError("no C compiler (install gcc or set CC)")
    source = SOURCE.read_text()
    key = hashlib.sha256(
        "\0".join([_cc_version(cc), " ".join(FLAGS), source]).encode()
    ).hexdigest()[:24]
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    out = d / f"afio_{key}.so"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        lib = Path(tmp) / "afio.so"
        proc = subprocess.run(
            [cc, *FLAGS, "-o", str(lib), str(SOURCE)], capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            raise OSError(f"{cc} failed on afio.c:\n{proc.stderr[-2000:]}")
        os.replace(lib, out)  # atomic: concurrent builders are harmless
    return out


@functools.lru_cache(maxsize=1)
def afio() -> tuple[Any, Any] | None:
    """(ffi, lib) of the batched I/O library, or None when it cannot be built or loaded."""
    try:
        import cffi
    except ImportError:
        _REASON.append("cffi is not installed")
        return None
    try:
        path = _build()
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        return ffi, ffi.dlopen(str(path))
    except (OSError, subprocess.SubprocessError, cffi.CDefError) as exc:
        _REASON.append(str(exc))
        log.warning("batched AF_PACKET I/O unavailable: %s", exc)
        return None


def unavailable_reason() -> str:
    """Why :func:`afio` returned None ("" when it did not)."""
    return _REASON[-1] if _REASON else ""


class Receiver:
    """A receive buffer of ``cap`` frames and the arrays one :meth:`recv` fills."""

    def __init__(self, cap: int = CAP, slot: int = SLOT, max_fds: int = 1024):
        lib_ = afio()
        if lib_ is None:
            raise OSError(f"batched AF_PACKET I/O unavailable: {unavailable_reason()}")
        self.ffi, self.lib = ffi, lib = lib_
        self.cap = cap
        self.rx = ffi.gc(lib.afio_rx_new(cap, slot), lib.afio_rx_free)
        if self.rx == ffi.NULL:
            raise MemoryError("afio_rx_new failed")
        self.buf = lib.afio_rx_buf(self.rx)
        self.off = ffi.new("int32_t[]", cap)
        self.len = ffi.new("int32_t[]", cap)
        self.idx = ffi.new("int32_t[]", cap)
        self.errs = ffi.new("int32_t[]", max_fds)
        self.stats = ffi.new("uint64_t[2]")  # outgoing frames skipped, truncated frames
        self._fds: Any = ffi.new("int[]", 1)
        self._nfds = 0

    def set_fds(self, fds: list[int]) -> None:
        self._fds = self.ffi.new("int[]", fds or [0])
        self._nfds = len(fds)

    def recv(self, stop_fd: int, timeout_ms: int = -1) -> list[tuple[int, bytes]] | int:
        """Frames ``(socket index, data)`` read by one C call (possibly none), or -2 when
        ``stop_fd`` became readable; OSError on a poll error."""
        n = self.lib.afio_recv(
            self.rx,
            self._nfds,
            self._fds,
            stop_fd,
            timeout_ms,
            self.off,
            self.len,
            self.idx,
            self.errs,
            self.stats,
        )
        if n == -2:
            return -2
        if n < 0:
            err = self.ffi.errno
            raise OSError(err, os.strerror(err))
        if n == 0:
            return []
        unpack = self.ffi.unpack
        offs, lens, idxs = unpack(self.off, n), unpack(self.len, n), unpack(self.idx, n)
        raw = self.ffi.buffer(self.buf, offs[-1] + lens[-1])[:]
        return [(i, raw[o : o + ln]) for i, o, ln in zip(idxs, offs, lens, strict=True)]

    def errors(self) -> list[tuple[int, int]]:
        """(socket index, errno) of sockets whose last read failed."""
        return [(i, e) for i in range(self._nfds) if (e := self.errs[i])]


def send_frames(fd: int, frames: list[bytes], wait_ms: int = 5) -> tuple[int, int]:
    """Write ``frames`` to socket ``fd`` with ``sendmmsg``: (frames sent, last errno or 0)."""
    lib_ = afio()
    if lib_ is None:
        raise OSError(f"batched AF_PACKET I/O unavailable: {unavailable_reason()}")
    ffi, lib = lib_
    n = len(frames)
    if n == 0:
        return 0, 0
    lens = list(map(len, frames))
    offs = list(itertools.accumulate(lens, initial=0))
    blob = b"".join(frames)
    err = ffi.new("int *")
    sent = lib.afio_send(
        fd,
        ffi.from_buffer(blob),
        ffi.new("int32_t[]", offs),
        ffi.new("int32_t[]", lens),
        n,
        wait_ms,
        err,
    )
    return sent, err[0]
