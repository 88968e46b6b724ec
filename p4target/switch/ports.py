"""Switch ports: in-memory ports (tests, in-process networks) and Linux interfaces.

A port is attached to a switch under a port number (``Switch.add_port``).  The switch calls
``port.transmit(data)`` for every packet it sends out; packets come in through
``Switch.receive(port_number, data)`` (:class:`MemoryPort.send`, the per-frame
:class:`AfPacketPort` reader thread) or ``Switch.receive_batch`` (the batched I/O thread of
:mod:`.afloop`).

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

from .errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .switch import Switch

log = logging.getLogger("p4target.switch")


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


ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23  # Linux >= 4.20: outgoing frames are not looped back to us
SO_RCVBUFFORCE = 33  # SO_RCVBUF beyond rmem_max (CAP_NET_ADMIN)
RCVBUF = 8 << 20  # bytes of receive buffer asked for (bursts must not overflow it)
IO_ENV = "CPN_P4_AFIO"  # batched | per-frame | auto (default)


def _wanted(batched: bool | None) -> bool | None:
    """The path asked for (``batched`` else ``$CPN_P4_AFIO``): True, False or None (auto).

    Raises (before anything is opened) on a bad variable or a batched path that cannot run."""
    env = os.environ.get(IO_ENV, "auto")
    if env not in ("batched", "per-frame", "auto"):
        raise ConfigError(f"${IO_ENV} must be batched, per-frame or auto, not {env!r}")
    want = batched if batched is not None else {"batched": True, "per-frame": False}.get(env)
    if want:
        from .native.afio import afio, unavailable_reason

        if afio() is None:
            raise OSError(f"batched AF_PACKET I/O unavailable: {unavailable_reason()}")
    return want


def _io_mode(want: bool | None, switch: Switch) -> tuple[bool, str]:
    """(use the batched path, why not) for a port attached to ``switch``."""
    if want is not None:
        return want, "asked for (batched=False or $CPN_P4_AFIO=per-frame)"
    if switch.engine == "python":
        return False, "python engine asked for"
    from .native.afio import afio, unavailable_reason

    if afio() is None:
        return False, f"batched I/O unavailable ({unavailable_reason()})"
    return True, ""


class AfPacketPort(Port):
    """A Linux network interface, through a raw ``AF_PACKET`` socket (needs CAP_NET_RAW).

    Two paths, chosen when the port is attached (``batched``: True / False / None = auto:
    ``$CPN_P4_AFIO`` = ``batched``, ``per-frame`` or ``auto``):

    * batched (the default with a C compiler and cffi, unless the switch was asked for the
      python engine): the switch's one I/O thread (:mod:`.afloop`) reads frames of all its
      batched interfaces with ``recvmmsg`` in C and hands each batch to the switch in one call;
      what the switch sends during a batch goes out with one ``sendmmsg`` per port;
    * per-frame: a reader thread per interface, one ``recvfrom`` and one ``Switch.receive``
      per frame, one ``send`` per transmitted frame.

    ``batched=True`` (or ``$CPN_P4_AFIO=batched``) without the C library raises OSError here,
    before anything is opened.  Either way, frames the socket reports as outgoing (our own
    transmissions) are ignored.
    """

    def __init__(self, ifname: str, batched: bool | None = None):
        super().__init__(ifname)
        self.ifname = ifname
        self.want_batched = _wanted(batched)
        self.batched = False
        self.pending: list[bytes] = []
        self.tx_failed = 0
        self.last_tx_warning = 0.0
        # protocol 0 until bound: a socket made with ETH_P_ALL would queue frames of every
        # interface until bind() narrows it to this one
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self.sock.bind((ifname, ETH_P_ALL))
            self.sock.setblocking(False)
            try:
                self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:
                pass  # older kernel: outgoing frames are filtered by pkttype instead
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        except OSError:
            self.sock.close()
            raise
        self._stop_r = self._stop_w = -1
        self._thread: threading.Thread | None = None
        self._loop: Any = None

    def attach(self, switch: Switch, number: int) -> None:
        super().attach(switch, number)
        self.batched, why = _io_mode(self.want_batched, switch)
        if self.batched:
            from .afloop import AfIoLoop

            self._loop = AfIoLoop.of(switch)
            self._loop.add(self)
            return
        log.info("%s: port %s: AF_PACKET I/O per frame (%s)", switch.name, self.ifname, why)
        self._stop_r, self._stop_w = os.pipe()
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
        loop = self._loop
        if loop is not None and loop.collecting and threading.get_ident() == loop.tid:
            if not self.pending:  # in a batch, in the I/O thread: sent by one sendmmsg after it
                loop.dirty.append(self)
            self.pending.append(data)
            return
        try:
            self.sock.send(data)
        except OSError as exc:
            log.warning("port %s: send failed: %s", self.ifname, exc)

    def flush(self) -> None:
        """Write the frames queued during a batch (one ``sendmmsg`` call)."""
        frames, self.pending = self.pending, []
        if frames:
            from .afloop import flush_port

            flush_port(self, frames)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.remove(self)  # the I/O thread closes the socket
            return
        if self._stop_w >= 0:
            try:
                os.write(self._stop_w, b"x")
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        for fd in (self._stop_r, self._stop_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._stop_r = self._stop_w = -1
        self.sock.close()


def make_port(spec: Any) -> Port:
    """A port from a spec: a Port passes through, a string names a Linux interface."""
    if isinstance(spec, Port):
        return spec
    if isinstance(spec, str):
        return AfPacketPort(spec)
    raise TypeError(f"cannot make a port from {spec!r}")
