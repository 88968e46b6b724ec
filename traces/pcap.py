"""Record what a transport sends and receives as a pcap (on demand).

``PcapRecorder(transport, path)`` *is* a transport: hand it to a host program in place of
``transport`` and every frame the program sends or receives is written to ``path`` (Scapy's
``PcapWriter``, Ethernet link type) with the transport's clock as timestamp (virtual µs on the
in-process network, so a pcap of a run starts at time 0). ``close()`` flushes the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter

from traces.transport import Transport


class PcapRecorder:
    """A pass-through :class:`~traces.transport.Transport` that writes every frame to a pcap."""

    def __init__(self, transport: Transport, path: str | Path, *, sent: bool = True,
                 received: bool = True) -> None:  # fmt: skip
        self.inner = transport
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: PcapWriter | None = PcapWriter(str(self.path), linktype=1, sync=False)
        self.record_sent, self.record_received = sent, received
        self.frames = 0

    def _write(self, frame: bytes) -> None:
        if self._writer is None:
            return
        pkt = Ether(frame)
        pkt.time = self.inner.now_us() / 1e6
        self._writer.write(pkt)
        self.frames += 1

    # -- Transport --------------------------------------------------------------------------
    def send(self, frame: bytes) -> None:
        if self.record_sent:
            self._write(frame)
        self.inner.send(frame)

    def now_us(self) -> float:
        return self.inner.now_us()

    def call_at(self, t_us: float, fn: Callable[[], Any]) -> None:
        self.inner.call_at(t_us, fn)

    def on_receive(self, fn: Callable[[bytes], Any]) -> None:
        def rx(frame: bytes) -> None:
            if self.record_received:
                self._write(frame)
            fn(frame)

        self.inner.on_receive(rx)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> PcapRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["PcapRecorder"]
