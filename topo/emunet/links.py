"""Links of the in-process network: propagation delay, up/down state and loss counters.

A :class:`Link` joins two ends. The switch's traffic manager models the sending side of a
switch port (finite queue, serialisation at the link rate: ``Switch.set_link_rate`` /
``set_queue_depth``); the link adds the propagation delay and drops, and counts, what it cannot
carry: frames sent while it is down, frames in flight when it goes down, frames a restarted
switch's old ports still send. Ends are a switch port (:class:`SwitchEnd`) or the host side of
an access link (:class:`topo.emunet.hosts.HostPort`).

**What counts.** Frames are charged :func:`traces.appproto.accounted_size`: a BULK unit of the
host programs (one frame standing for ``units`` packets and ``length`` data bytes) costs the
serialisation time and the bytes of the packets it replaces, anything else its length. This
holds for the switches' ports (``Switch.set_frame_size``, set by the network: serialisation,
``tx_bytes``, and ``standard_metadata.packet_length``, hence the P4 byte counters ``port_rx``,
``port_tx`` and ``service_packets`` that telemetry reads), for the host side of access links
(:class:`topo.emunet.hosts.HostPort`) and for :attr:`Link.bytes`. Packet counts (``frames``,
the P4 counters' packet counts) count frames: a BULK unit once. ``wire_bytes`` is what the
frames really hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from p4target.switch import MemoryPort, VirtualClock
from traces.appproto import accounted_size

#: ``tap(side, data, t_us, outgoing)``: a frame leaving (``outgoing``) or reaching end ``side``.
Tap = Callable[[int, bytes, float, bool], None]


class End(Protocol):
    name: str

    def deliver(self, data: bytes) -> None: ...


class Link:
    """A bidirectional link between ``ends[0]`` and ``ends[1]`` (propagation ``delay_us``)."""

    def __init__(
        self,
        clock: VirtualClock,
        name: str,
        ends: tuple[End, End],
        *,
        rate_bps: float,
        delay_us: float,
        queue_packets: int,
    ) -> None:
        if rate_bps < 0 or delay_us < 0 or queue_packets < 1:
            raise ValueError(
                f"link {name}: rate_bps and delay_us must be >= 0 and queue_packets >= 1 "
                f"(got {rate_bps}, {delay_us}, {queue_packets})"
            )
        self.clock = clock
        self.name = name
        self.ends = ends
        self.rate_bps = float(rate_bps)
        self.delay_us = float(delay_us)
        self.queue_packets = int(queue_packets)
        self.up = True
        self.frames = [0, 0]  # carried, by sending end (a BULK unit counts once)
        self.bytes = [0, 0]  # accounted bytes (what BULK units stand for), by sending end
        self.wire_bytes = [0, 0]  # the frames' own lengths
        self.down_drops = 0  # sent while down, or in flight when it went down
        self.restart_drops = 0  # sent by the old ports of a restarted switch
        self.taps: list[Tap] = []

    def side_of(self, end_name: str) -> int:
        for i, e in enumerate(self.ends):
            if e.name == end_name:
                return i
        raise KeyError(f"{end_name} is not an end of link {self.name}")

    def carry(self, side: int, data: bytes) -> None:
        """End ``side`` puts ``data`` on the wire now (its serialisation is over)."""
        if not self.up:
            self.down_drops += 1
            return
        self.frames[side] += 1
        self.bytes[side] += accounted_size(data)
        self.wire_bytes[side] += len(data)
        now = self.clock.now()
        for tap in self.taps:
            tap(side, data, now, True)
        self.clock.call_at(now + self.delay_us, self._arrive, 1 - side, data)

    def _arrive(self, side: int, data: bytes) -> None:
        if not self.up:
            self.down_drops += 1
            return
        if self.taps:
            now = self.clock.now()
            for tap in self.taps:
                tap(side, data, now, False)
        self.ends[side].deliver(data)

    def stats(self) -> dict[str, object]:
        return {
            "link": self.name,
            "up": self.up,
            "frames": {self.ends[0].name: self.frames[0], self.ends[1].name: self.frames[1]},
            "bytes": {self.ends[0].name: self.bytes[0], self.ends[1].name: self.bytes[1]},
            "wire_bytes": {
                self.ends[0].name: self.wire_bytes[0],
                self.ends[1].name: self.wire_bytes[1],
            },
            "down_drops": self.down_drops,
            "restart_drops": self.restart_drops,
        }


class LinkPort(MemoryPort):
    """The switch-side port of a link: what the switch transmits goes onto the link."""

    def __init__(self, link: Link, side: int, name: str) -> None:
        super().__init__(name)
        self.link = link
        self.side = side
        self.record = False
        self.retired = False  # set when its switch is restarted (a fresh switch took over)

    def transmit(self, data: bytes) -> None:
        if self.retired:
            self.link.restart_drops += 1
            return
        self.link.carry(self.side, data)


class SwitchEnd:
    """A link end on switch ``switch`` port ``number``; ``port`` is the switch's current port."""

    def __init__(self, switch: str, number: int) -> None:
        self.switch = switch
        self.number = number
        self.name = f"{switch}:{number}"
        self.port: LinkPort | None = None

    def deliver(self, data: bytes) -> None:
        port = self.port
        if port is not None and port.switch is not None:
            port.switch.receive(self.number, data)
