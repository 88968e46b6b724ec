"""A tiny in-memory network for testing host programs without switches.

Every endpoint hangs off one ideal router by an access link: a frame leaves its sender's uplink
(FIFO, ``rate_bps``, charged :func:`~traces.appproto.accounted_size` bytes; ``None`` = no
serialisation), spends ``delay_us`` in flight, and is delivered to the endpoint that owns its
IPv6 destination. So one-way latency = queueing at the sender + ``8 * size / rate_bps`` +
``delay_us``, which tests can compute exactly.

``alias(aisid, node_address)`` plays the egress gateway of the CPN: frames to the AISID are
delivered to the node with the destination rewritten, and the node's replies on that flow leave
with the AISID as source. ``drop(fn)`` installs a loss predicate; :meth:`MemoryNet.run` drives
the clock.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from p4target.switch.clock import VirtualClock
from traces.appproto import accounted_size
from traces.host import parse_frame
from traces.transport import ClockTransport


def _packed(address: str) -> bytes:
    return ipaddress.IPv6Address(address).packed


class MemoryNet:
    """Endpoints joined by access links to one router, on a :class:`VirtualClock`."""

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        delay_us: float = 1000.0,
        rate_bps: float | None = None,
    ) -> None:
        self.clock = clock or VirtualClock()
        self.delay_us = float(delay_us)
        self.rate_bps = rate_bps
        self._owners: dict[bytes, ClockTransport] = {}
        self._busy_until: dict[str, float] = {}
        self._aliases: dict[bytes, bytes] = {}
        self._flows: dict[tuple[bytes, bytes, int, int], bytes] = {}
        self._drop: Callable[[bytes], bool] | None = None
        self.delivered = 0
        self.dropped = 0
        self.log: list[tuple[float, str, bytes]] = []  # (time, sender name, frame)

    def endpoint(self, address: str, name: str = "", *extra: str) -> ClockTransport:
        """A transport that owns ``address`` (and ``extra`` addresses)."""
        t = ClockTransport(self.clock, lambda f, _n=name or address: self._send(_n, f), name)
        for a in (address, *extra):
            key = _packed(a)
            if key in self._owners:
                raise ValueError(f"address {a} is already attached")
            self._owners[key] = t
        return t

    def alias(self, aisid: str, node_address: str) -> None:
        """Send frames for ``aisid`` to ``node_address`` (as an egress gateway would)."""
        self._aliases[_packed(aisid)] = _packed(node_address)

    def drop(self, predicate: Callable[[bytes], bool] | None) -> None:
        """Drop the frames for which ``predicate(frame)`` is true (``None``: drop nothing)."""
        self._drop = predicate

    def _send(self, sender: str, frame: bytes) -> None:
        now = self.clock.now()
        self.log.append((now, sender, frame))
        if self._drop is not None and self._drop(frame):
            self.dropped += 1
            return
        frame = self._rewrite(frame)
        owner = self._owners.get(frame[38:54])
        if owner is None:
            self.dropped += 1
            return
        start = max(now, self._busy_until.get(sender, now))
        done = start
        if self.rate_bps:
            done = start + accounted_size(frame) * 8 / self.rate_bps * 1e6
        self._busy_until[sender] = done
        self.clock.call_at(done + self.delay_us, self._deliver, owner, frame)

    def _deliver(self, owner: ClockTransport, frame: bytes) -> None:
        self.delivered += 1
        owner.deliver(frame)

    def _rewrite(self, frame: bytes) -> bytes:
        if not self._aliases:
            return frame
        dst, src = frame[38:54], frame[22:38]
        seg = parse_frame(frame)
        ports = (seg.sport, seg.dport) if seg else (0, 0)
        node = self._aliases.get(dst)
        if node is not None:
            self._flows[(node, src, ports[1], ports[0])] = dst
            return frame[:38] + node + frame[54:]
        aisid = self._flows.get((src, dst, ports[0], ports[1]))
        if aisid is not None:
            return frame[:22] + aisid + frame[38:]
        return frame

    def run(self, until_us: float | None = None) -> None:
        """Run events until ``until_us`` (or until none is left)."""
        if until_us is None:
            self.clock.run_until_idle()
        else:
            self.clock.run_until(until_us)


__all__ = ["MemoryNet"]
