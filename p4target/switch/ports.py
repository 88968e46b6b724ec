"""Switch ports: in-memory ports (tests, in-process networks) and Linux interfaces.

A port is attached to a switch under a port number (``Switch.add_port``).  The switch calls
``port.transmit(data)`` for every packet it sends out; packets come in through
``Switch.receive(port_number, data)``, which :class:`MemoryPort.send` and the
:class:`AfPacketPort` reader thread call.

:class:`MemoryPort` keeps what the switch transmitted (``port.received``) and can be linked
to another memory port (``a.connect(b, delay_us=...)``) so that packets cross an emulated
link with a propagation delay, on the shared clock.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .switch import Switch

log = logging.getLogger("p4target.switch")

ETH_P_ALL = 0x0003


class Port:
    """Base class: a numbered port of a switch."""

    def __init__(self, name: str = ""):
        self.name = name
        self.switch: Switch | None = None
        self.number: int | None = None

    def attach(self, switch: Switch, number: int) -> None:
        self.switch = switch
        self.number = number

    def transmit(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class MemoryPort(Port):
    """A port whose traffic stays in Python objects."""

    def __init__(self, name: str = "", maxlen: int | None = None):
        super().__init__(name)
        self.received: collections.deque[bytes] = collections.deque(maxlen=maxlen)
        self.received_at: collections.deque[float] = collections.deque(maxlen=maxlen)
        self.callbacks: list[Callable[[bytes], None]] = []
        self.peer: MemoryPort | None = None
        self.delay_us = 0.0
        self.record = True

    def send(self, data: bytes) -> None:
        """Inject a packet into the switch through this port."""
        if self.switch is None or self.number is None:
            raise RuntimeError(f"port {self.name!r} is not attached to a switch")
        self.switch.receive(self.number, bytes(data))

    def transmit(self, data: bytes) -> None:
        if self.record:
            self.received.append(data)
            if self.switch is not None:
                self.received_at.append(self.switch.clock.now())
        for cb in self.callbacks:
            cb(data)
        peer = self.peer
        if peer is not None and peer.switch is not None:
            clock = peer.switch.clock
            if self.delay_us > 0:
                clock.call_later(self.delay_us, peer.send, data)
            else:
                clock.call_later(0.0, peer.send, data)

    def connect(self, other: MemoryPort, delay_us: float = 0.0) -> None:
        """Link two memory ports (both directions) with a one-way propagation delay."""
        self.peer, other.peer = other, self
        self.delay_us = other.delay_us = float(delay_us)
        self.record = other.record = False

    def take(self) -> list[bytes]:
        """Return and forget the packets received so far."""
        out = list(self.received)
        self.received.clear()
        self.received_at.clear()
        return out


class AfPacketPort(Port):
    """A Linux network interface, through a raw ``AF_PACKET`` socket (needs CAP_NET_RAW).

    A reader thread hands every frame received on the interface to the switch; frames the
    switch transmits are written to the socket.  Frames the socket reports as outgoing (our
    own transmissions looped back) are ignored.
    """

    def __init__(self, ifname: str):
        super().__init__(ifname)
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None

    def attach(self, switch: Switch, number: int) -> None:
        super().attach(switch, number)
        self._thread = threading.Thread(
            target=self._reader, name=f"p4switch-{self.ifname}", daemon=True
        )
        self._thread.start()

    def _reader(self) -> None:
        sock = self.sock
        while True:
            r, _w, _x = select.select([sock, self._stop_r], [], [])
            if self._stop_r in r:
                return
            try:
                data, addr = sock.recvfrom(65535)
            except BlockingIOError:
                continue
            except OSError:
                return
            if len(addr) > 2 and addr[2] == socket.PACKET_OUTGOING:
                continue
            sw = self.switch
            if sw is not None and self.number is not None:
                try:
                    sw.receive(self.number, data)
                except Exception:  # noqa: BLE001 - the reader must survive
                    log.exception("port %s: receive failed", self.ifname)

    def transmit(self, data: bytes) -> None:
        try:
            self.sock.send(data)
        except OSError as exc:
            log.warning("port %s: send failed: %s", self.ifname, exc)

    def close(self) -> None:
        try:
            os.write(self._stop_w, b"x")
        except OSError:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        for fd in (self._stop_r, self._stop_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.sock.close()


def make_port(spec: Any) -> Port:
    """A port from a spec: a Port passes through, a string names a Linux interface."""
    if isinstance(spec, Port):
        return spec
    if isinstance(spec, str):
        return AfPacketPort(spec)
    raise TypeError(f"cannot make a port from {spec!r}")
