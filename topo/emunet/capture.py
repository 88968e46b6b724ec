"""Packet capture on a port of the in-process network, written as pcap (Scapy ``wrpcap``).

A :class:`Capture` taps one end of a link and keeps every frame that leaves or reaches it,
stamped with the virtual time (pcap timestamps are seconds of virtual time, from 0). The file
is written by :meth:`Capture.close` (the network closes its captures when it stops).
"""

from __future__ import annotations

from pathlib import Path

from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from .links import Link


class Capture:
    """Frames crossing end ``side`` of ``link`` (both directions) until :meth:`close`."""

    def __init__(self, link: Link, side: int, path: str | Path) -> None:
        self.link = link
        self.side = side
        self.path = Path(path)
        self.frames: list[tuple[float, bytes, bool]] = []  # (t_s, frame, outgoing)
        self.closed = False
        link.taps.append(self._tap)

    def _tap(self, side: int, data: bytes, t_us: float, outgoing: bool) -> None:
        if side == self.side:
            self.frames.append((t_us / 1e6, data, outgoing))

    def close(self) -> Path:
        """Stop capturing and write the pcap file; returns its path."""
        if not self.closed:
            self.closed = True
            if self._tap in self.link.taps:
                self.link.taps.remove(self._tap)
            pkts = []
            for t, data, _out in self.frames:
                p = Ether(data)
                p.time = t
                pkts.append(p)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            wrpcap(str(self.path), pkts, linktype=1)
        return self.path

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
