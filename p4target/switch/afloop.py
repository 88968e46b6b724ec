"""One I/O thread per switch for its batched Linux interfaces (:class:`.ports.AfPacketPort`).

The thread waits in C (``native/afio.c``: poll over every batched socket of the switch and a
wake-up pipe, GIL released), reads up to 256 frames with ``recvmmsg``, hands them to
:meth:`Switch.receive_batch` in one call, and then writes what the switch transmitted to
each batched port during that call with one ``sendmmsg`` call per port.  Frames the switch
transmits outside a batch (timers, packet-out) are written at once by the port.

Sockets of ports removed from the loop are closed by the thread itself, so that C never
polls a descriptor number that was closed (and perhaps reused) behind its back.
"""

from __future__ import annotations

import errno as errno_mod
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from .native.afio import Receiver, send_frames

if TYPE_CHECKING:  # pragma: no cover
    from .ports import AfPacketPort
    from .switch import Switch

log = logging.getLogger("p4target.switch")

LOOP_ATTR = "_afio_loop"


class AfIoLoop:
    """The batched I/O thread of one switch (created by the first batched port)."""

    def __init__(self, sw: Switch):
        self.sw = sw
        self.rx = Receiver()
        self.ports: list[AfPacketPort] = []
        self.batches = 0  # receive_batch calls made
        self.frames = 0  # frames handed to the switch
        self.collecting = False  # in receive_batch: ports queue what the I/O thread sends
        self.tid: int | None = None
        self.dirty: list[AfPacketPort] = []
        self._mu = threading.Lock()
        self._gen = 0
        self._to_close: list[socket.socket] = []
        self._stopping = False
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self.thread = threading.Thread(
            target=self._main, name=f"p4switch-{sw.name}-io", daemon=True
        )
        self.thread.start()
        log.info("%s: AF_PACKET I/O batched (recvmmsg/sendmmsg in C, one I/O thread)", sw.name)

    @classmethod
    def of(cls, sw: Switch) -> AfIoLoop:
        """The switch's loop, started on first use (call with the switch lock held)."""
        loop = sw.__dict__.get(LOOP_ATTR)
        if loop is None or loop._stopping:
            loop = cls(sw)
            sw.__dict__[LOOP_ATTR] = loop
        return loop

    def _wake(self) -> None:
        try:
            os.write(self._w, b"x")
        except (BlockingIOError, OSError):
            pass  # a full pipe already wakes the thread

    def add(self, port: AfPacketPort) -> None:
        with self._mu:
            self.ports.append(port)
            self._gen += 1
        self._wake()

    def remove(self, port: AfPacketPort) -> None:
        """Stop serving ``port`` and close its socket (in the I/O thread); the loop stops
        with its last port (joined unless called from a thread that would deadlock it)."""
        with self._mu:
            if port in self.ports:
                self.ports.remove(port)
            self._gen += 1
            last = not self.ports
            alive = self.thread.is_alive() and not self._stopping
            if alive:
                self._to_close.append(port.sock)
            if last:
                self._stopping = True
        if not alive:
            port.sock.close()
        self._wake()
        if last:
            if self.sw.__dict__.get(LOOP_ATTR) is self:
                del self.sw.__dict__[LOOP_ATTR]
            owned = getattr(self.sw.lock, "_is_owned", lambda: False)()
            if threading.current_thread() is not self.thread and not owned:
                self.thread.join(timeout=5)

    # -- the thread ------------------------------------------------------------------------------

    def _main(self) -> None:
        self.tid = threading.get_ident()
        gen = -1
        numbers: list[int] = []
        ports: list[AfPacketPort] = []
        reported: set[tuple[str, int]] = set()
        try:
            while True:
                with self._mu:
                    for s in self._to_close:
                        s.close()
                    self._to_close.clear()
                    if self._stopping:
                        return
                    if gen != self._gen:
                        gen = self._gen
                        ports = list(self.ports)
                        numbers = [p.number if p.number is not None else -1 for p in ports]
                        self.rx.set_fds([p.sock.fileno() for p in ports])
                try:
                    got = self.rx.recv(self._r)
                except OSError as exc:
                    log.error("%s: I/O thread stops: poll failed: %s", self.sw.name, exc)
                    return
                if got == -2:
                    try:
                        while os.read(self._r, 4096):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                assert isinstance(got, list)
                for i, err in self.rx.errors():
                    key = (ports[i].ifname, err)
                    if key not in reported:  # once per interface and error
                        reported.add(key)
                        log.warning(
                            "port %s: receive failed: %s", ports[i].ifname, os.strerror(err)
                        )
                if got:
                    self._deliver([(numbers[i], data) for i, data in got if numbers[i] >= 0])
        finally:
            with self._mu:
                self._stopping = True
                for s in self._to_close:
                    s.close()
                self._to_close.clear()
            for fd in (self._r, self._w):
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _deliver(self, frames: list[tuple[int, bytes]]) -> None:
        """One batch into the switch; then each port's output in one ``sendmmsg`` call."""
        self.collecting = True
        try:
            self.sw.receive_batch(frames)
        except Exception:  # noqa: BLE001 - the I/O thread must survive
            log.exception("%s: receive_batch failed", self.sw.name)
        finally:
            self.collecting = False
        self.batches += 1
        self.frames += len(frames)
        dirty, self.dirty = self.dirty, []
        for port in dirty:
            port.flush()


def flush_port(port: AfPacketPort, frames: list[bytes]) -> None:
    """Write ``frames`` to ``port``'s socket in one C call; failures are logged (rate-limited)
    and counted in ``port.tx_failed``, as the per-frame path logs them."""
    try:
        fd = port.sock.fileno()
    except OSError:
        fd = -1
    if fd < 0:
        sent, err = 0, errno_mod.EBADF
    else:
        sent, err = send_frames(fd, frames)
    if sent < len(frames):
        port.tx_failed += len(frames) - sent
        now = time.monotonic()
        if now - port.last_tx_warning >= 1.0:
            port.last_tx_warning = now
            log.warning(
                "port %s: send failed for %d of %d frames: %s",
                port.ifname,
                len(frames) - sent,
                len(frames),
                os.strerror(err) if err else "unknown error",
            )


def io_path(sw: Any) -> str:
    """How ``sw``'s Linux interfaces move frames: "batched", "per-frame", "mixed" or "none"."""
    from .ports import AfPacketPort

    modes = {p.batched for p in sw.ports.values() if isinstance(p, AfPacketPort)}
    if not modes:
        return "none"
    if len(modes) == 2:
        return "mixed"
    return "batched" if modes.pop() else "per-frame"
