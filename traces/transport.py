"""How a host program meets its network: frames out, frames in, a clock and timers.

The client, service-node and DNS programs only use :class:`Transport`, so the same code runs

* in process (:class:`ClockTransport`): frames handed to an emulated network's endpoint (or the
  test wire of :mod:`traces.memnet`), time and timers from its ``VirtualClock`` (µs);
* on a real interface (:class:`RawSocketTransport`): an ``AF_PACKET`` socket (root), wall time,
  one loop thread that runs every receive callback and every timer, so programs never see two
  callbacks at once.

Timers cannot be cancelled through the protocol; programs wrap their callbacks in a
:class:`Timer` and cancel that.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


class Transport(Protocol):
    def send(self, frame: bytes) -> None:
        """Put an Ethernet frame on the wire."""
        ...

    def now_us(self) -> float:
        """Current time in µs (virtual or wall, monotonic)."""
        ...

    def call_at(self, t_us: float, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` at time ``t_us`` (at once if that has passed)."""
        ...

    def on_receive(self, fn: Callable[[bytes], Any]) -> None:
        """Deliver every received frame to ``fn(frame)`` (replaces the previous callback)."""
        ...


class Timer:
    """A cancellable callback: ``transport.call_at(t, Timer(fn))``, later ``timer.cancel()``."""

    __slots__ = ("fn", "cancelled")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __call__(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self.fn()


def start_timer(transport: Transport, t_us: float, fn: Callable[[], Any]) -> Timer:
    """Schedule ``fn`` at ``t_us`` and return its :class:`Timer`."""
    timer = Timer(fn)
    transport.call_at(t_us, timer)
    return timer


class ClockTransport:
    """A transport on a virtual clock (``now()`` in µs and ``call_at(t, fn)``, as
    ``p4target.switch.clock.VirtualClock``): ``send_fn`` takes outgoing frames, and whoever
    delivers frames calls :meth:`deliver`."""

    def __init__(self, clock: Any, send_fn: Callable[[bytes], Any], name: str = "") -> None:
        self.clock = clock
        self._send = send_fn
        self._rx: Callable[[bytes], Any] | None = None
        self.name = name
        self.sent = 0
        self.received = 0

    @classmethod
    def for_endpoint(cls, ep: Any) -> ClockTransport:
        """Wrap an in-process network endpoint (``ep.clock``, ``ep.send(frame)``,
        ``ep.on_receive(cb(frame, t_s))``, as :class:`topo.emunet.hosts.Endpoint`)."""
        t = cls(ep.clock, ep.send, getattr(ep, "name", ""))
        ep.on_receive(lambda frame, _t_s: t.deliver(frame))
        return t

    def send(self, frame: bytes) -> None:
        self.sent += 1
        self._send(bytes(frame))

    def now_us(self) -> float:
        return float(self.clock.now())

    def call_at(self, t_us: float, fn: Callable[[], Any]) -> None:
        self.clock.call_at(t_us, fn)

    def on_receive(self, fn: Callable[[bytes], Any]) -> None:
        self._rx = fn

    def deliver(self, frame: bytes) -> None:
        """A frame arrived for this endpoint."""
        self.received += 1
        if self._rx is not None:
            self._rx(frame)


class RawSocketTransport:
    """Frames on a Linux interface through an ``AF_PACKET`` socket (needs root/CAP_NET_RAW).

    Nothing is opened until :meth:`start`, which starts the loop thread; every receive callback
    and timer runs on that thread. Frames the host itself sent are not delivered back.
    """

    def __init__(self, ifname: str, *, recv_size: int = 65535) -> None:
        if not ifname or "/" in ifname or len(ifname) > 15:
            raise ValueError(f"not an interface name: {ifname!r}")
        self.ifname = ifname
        self.recv_size = recv_size
        self._sock: socket.socket | None = None
        self._rx: Callable[[bytes], Any] | None = None
        self._timers: list[tuple[float, int, Callable[[], Any]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.errors: list[BaseException] = []

    # -- Transport --------------------------------------------------------------------------
    def send(self, frame: bytes) -> None:
        if self._sock is None:
            raise RuntimeError(f"transport on {self.ifname} is not started")
        self._sock.send(bytes(frame))

    def now_us(self) -> float:
        return time.monotonic() * 1e6

    def call_at(self, t_us: float, fn: Callable[[], Any]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (t_us, next(self._seq), fn))
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")

    def on_receive(self, fn: Callable[[bytes], Any]) -> None:
        self._rx = fn

    # -- lifecycle --------------------------------------------------------------------------
    def open(self) -> None:
        """Open and bind the socket (raises ``PermissionError`` without root)."""
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.bind((self.ifname, 0))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self._wake_r, self._wake_w = os.pipe()

    def start(self) -> None:
        """Open the socket and start the loop thread."""
        self.open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"raw-{self.ifname}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r, self._wake_w = -1, -1

    def _loop(self) -> None:
        assert self._sock is not None
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ, "sock")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        while not self._stop.is_set():
            with self._lock:
                due = self._timers[0][0] if self._timers else None
            timeout = None if due is None else max(0.0, (due - self.now_us()) / 1e6)
            for key, _ in sel.select(timeout):
                if key.data == "wake":
                    os.read(self._wake_r, 4096)
                    continue
                while True:
                    try:
                        frame, addr = self._sock.recvfrom(self.recv_size)
                    except (BlockingIOError, InterruptedError):
                        break
                    if addr[2] == PACKET_OUTGOING or self._rx is None:
                        continue
                    self._run(self._rx, frame)
            now = self.now_us()
            while True:
                with self._lock:
                    if not self._timers or self._timers[0][0] > now:
                        break
                    _, _, fn = heapq.heappop(self._timers)
                self._run(fn)
        sel.close()

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # a program's bug must not kill the loop
            self.errors.append(exc)


__all__ = ["ClockTransport", "RawSocketTransport", "Timer", "Transport", "start_timer"]
