"""Traffic manager: per-port egress queues between ingress and egress, as in simple_switch.

* Strict priority: each port has ``nb_queues`` queues (1 by default, up to 8 with
  ``--priority-queues``); ``standard_metadata.priority`` selects the queue and a larger
  priority is served first (simple_switch maps priority *p* to its internal queue
  ``nb_queues - 1 - p``, queue 0 being served first).  A priority >= ``nb_queues`` drops the
  packet, as simple_switch does.
* Each queue holds ``depth`` packets (64 by default); a full queue drops (``queue_full``).
* A queue may be rate-limited in packets per second (BMv2 ``set_queue_rate``); a port may
  have a link rate in bits per second (serialisation: the next packet starts when the
  previous one is on the wire) and a propagation delay (packets reach the port that much
  later), which BMv2 does not model but emulated networks need (no netem required).
* CQF gate mode (IEEE 802.1Qch) per port: with cycle length ``T`` µs, origin ``t0`` and a pair
  of queues ``(q0, q1)`` (default ``(0, 1)``), during cycle ``c = floor((now - t0) / T)`` only
  ``q0`` (c even) or ``q1`` (c odd) of the pair may transmit; other queues are not gated.  A
  packet sent after the first open window of its queue following its enqueue counts as a CQF
  overrun.

Timestamps are microseconds on the switch clock: ``enq_timestamp``, ``enq_qdepth`` at enqueue,
``deq_timedelta`` and ``deq_qdepth`` at dequeue (when egress processing starts).

This module is the reference; the native engine moves the queues of ports 0..1023 to C
(``set_backend``, :mod:`.native.tmq`) with the same rules, and every setter here reaches them.
"""

from __future__ import annotations

import collections
import contextlib
import math
from collections.abc import Callable
from typing import Any

from .clock import Clock
from .errors import BadValueError

DEFAULT_DEPTH = 64
MAX_QUEUES = 8
NATIVE_PORTS = 1024  # ports a native backend queues (larger numbers stay here)


class EgressPort:
    __slots__ = (
        "number",
        "queues",
        "depth",
        "rate_pps",
        "next_ok",
        "link_bps",
        "delay_us",
        "busy_until",
        "cqf",
        "sched_at",
        "token",
        "direct",
        "qlen",
        "tx_packets",
        "tx_bytes",
        "cqf_overruns",
        "drops",
        "nat",
    )

    def __init__(self, number: int, nq: int, depth: int):
        self.number = number
        self.queues: list[collections.deque[Any]] = [collections.deque() for _ in range(nq)]
        self.depth = [depth] * nq
        self.rate_pps = [0.0] * nq
        self.next_ok = [0.0] * nq
        self.link_bps = 0.0
        self.delay_us = 0.0  # propagation delay added after serialisation
        self.busy_until = 0.0
        self.cqf: tuple[float, float, int, int] | None = None  # (cycle_us, t0, q_even, q_odd)
        self.sched_at = math.inf  # time of the pending service event
        self.token = 0  # identifies the pending service event (older ones are stale)
        self.direct = True  # no link rate, queue rate or CQF: idle packets skip the queues
        self.qlen = 0  # packets queued over all priorities
        self.tx_packets = 0
        self.tx_bytes = 0
        self.cqf_overruns = 0
        self.drops = 0
        self.nat: Any = None  # the native queues holding this port's packets, if any

    def resize(self, nq: int, depth: int) -> None:
        while len(self.queues) < nq:
            self.queues.append(collections.deque())
            self.depth.append(depth)
            self.rate_pps.append(0.0)
            self.next_ok.append(0.0)

    def update_direct(self) -> None:
        self.direct = (
            not self.link_bps and not self.delay_us and self.cqf is None and not any(self.rate_pps)
        )

    def size(self, q: int | None = None) -> int:
        n = 0 if self.nat is None else self.nat.depth(self.number, q)
        if q is None:
            return self.qlen + n
        return n + (len(self.queues[q]) if q < len(self.queues) else 0)


class TrafficManager:
    def __init__(
        self,
        clock: Clock,
        egress: Callable[[Any, int, int], bytes | None],
        transmit: Callable[[int, bytes], None],
        count: Callable[[str], None],
        nb_queues: int = 1,
        lock: Any = None,
    ):
        if not 1 <= nb_queues <= MAX_QUEUES:
            raise BadValueError(f"priority queues must be in [1, {MAX_QUEUES}]")
        self.clock = clock
        self.egress = egress
        self.transmit = transmit
        self.count = count
        self.nb_queues = nb_queues
        self.default_depth = DEFAULT_DEPTH
        self.ports: dict[int, EgressPort] = {}
        self._in_egress = 0  # >0 while egress runs: new packets then always queue
        self.lock = lock if lock is not None else contextlib.nullcontext()
        # Bytes a frame occupies on the link (serialisation time, tx_bytes); ``len`` unless an
        # emulated network charges aggregated frames for what they stand for.
        self.frame_size: Callable[[bytes], int] = len
        self.backend: Any = None  # native queues (native/tmq.NativeQueues) or None

    def set_backend(self, backend: Any) -> None:
        """Queue in ``backend`` (the native engine's queues) from now on; None (or a disabled
        backend): in Python."""
        if backend is not None and not backend.enabled:
            backend = None
        old = self.backend
        if old is backend:
            return
        if old is not None:
            old.detach()
        self.backend = backend
        if backend is not None:
            backend.attach(self)
        for n, ep in self.ports.items():
            ep.nat = backend if backend is not None and 0 <= n < NATIVE_PORTS else None

    def _push(self, ep: EgressPort) -> None:
        if self.backend is not None and ep.nat is not None:
            self.backend.push(ep)

    # -- configuration ---------------------------------------------------------------------------

    def port(self, n: int) -> EgressPort:
        ep = self.ports.get(n)
        if ep is None:
            ep = self.ports[n] = EgressPort(n, self.nb_queues, self.default_depth)
            if self.backend is not None and 0 <= n < NATIVE_PORTS:
                ep.nat = self.backend
                self.backend.push(ep, full=True)
        return ep

    def _queues(self, ep: EgressPort, priority: int | None) -> list[int]:
        if priority is None:
            return list(range(len(ep.queues)))
        if not 0 <= priority < len(ep.queues):
            raise BadValueError(f"port {ep.number}: no queue for priority {priority}")
        return [priority]

    def set_queue_depth(self, port: int | None, depth: int, priority: int | None = None) -> None:
        if depth < 0:
            raise BadValueError("queue depth must be non-negative")
        if port is None:
            self.default_depth = depth
            for ep in self.ports.values():
                ep.depth = [depth] * len(ep.queues)
            if self.backend is not None:
                self.backend.defaults()
                for ep in self.ports.values():
                    self._push(ep)
            return
        ep = self.port(port)
        for q in self._queues(ep, priority):
            ep.depth[q] = depth
        self._push(ep)

    def set_queue_rate(self, port: int | None, pps: float, priority: int | None = None) -> None:
        if pps < 0:
            raise BadValueError("queue rate must be non-negative")
        targets = list(self.ports.values()) if port is None else [self.port(port)]
        for ep in targets:
            for q in self._queues(ep, priority):
                ep.rate_pps[q] = float(pps)
            ep.update_direct()
            self._push(ep)

    def set_link_rate(self, port: int, bps: float) -> None:
        if bps < 0:
            raise BadValueError("link rate must be non-negative")
        ep = self.port(port)
        ep.link_bps = float(bps)
        ep.update_direct()
        self._push(ep)

    def set_port_delay(self, port: int, delay_us: float) -> None:
        if delay_us < 0:
            raise BadValueError("delay must be non-negative")
        ep = self.port(port)
        ep.delay_us = float(delay_us)
        ep.update_direct()
        self._push(ep)

    def set_cqf(
        self,
        port: int,
        cycle_us: float | None,
        t0_us: float = 0.0,
        queues: tuple[int, int] = (0, 1),
    ) -> None:
        ep = self.port(port)
        if cycle_us is None or cycle_us == 0:
            ep.cqf = None
            ep.update_direct()
            self._push(ep)
            return
        if cycle_us < 0:
            raise BadValueError("CQF cycle must be positive")
        q0, q1 = (int(q) for q in queues)
        if q0 == q1 or not (0 <= q0 < MAX_QUEUES and 0 <= q1 < MAX_QUEUES):
            raise BadValueError(f"CQF needs two distinct queues in [0, {MAX_QUEUES}), got {queues}")
        ep.resize(max(q0, q1, len(ep.queues) - 1) + 1, self.default_depth)
        ep.cqf = (float(cycle_us), float(t0_us), q0, q1)
        ep.update_direct()
        self._push(ep)

    def set_nb_queues(self, n: int) -> None:
        if not 1 <= n <= MAX_QUEUES:
            raise BadValueError(f"priority queues must be in [1, {MAX_QUEUES}]")
        self.nb_queues = n
        for ep in self.ports.values():
            ep.resize(n, self.default_depth)
        if self.backend is not None:
            self.backend.defaults()
            for ep in self.ports.values():
                self._push(ep)

    def depth(self, port: int, priority: int | None = None) -> int:
        ep = self.ports.get(port)
        if ep is None:
            return 0 if self.backend is None else self.backend.depth(port, priority)
        return ep.size(priority)

    def reset(self) -> None:
        for ep in self.ports.values():
            for q in ep.queues:
                q.clear()
            ep.qlen = 0
        if self.backend is not None:
            self.backend.reset()

    # -- data path -------------------------------------------------------------------------------

    def enqueue(self, P: Any, port: int, priority: int) -> bool:
        ep = self.ports.get(port)
        if ep is None:
            ep = self.port(port)
        if ep.nat is not None:
            r = ep.nat.enqueue(P, port, priority, self._in_egress)
            if r < 0:
                return False
            if r == 1:
                return True
            P.enq_ts = self.clock.now()
            P.enq_depth = P.deq_depth = 0
            return self._direct(P, ep, port, priority)
        if priority >= len(ep.queues) or priority < 0:
            self.count("priority_out_of_range")
            return False
        q = ep.queues[priority]
        if len(q) >= ep.depth[priority]:
            ep.drops += 1
            self.count("queue_full")
            return False
        now = self.clock.now()
        P.enq_ts = now
        P.enq_depth = len(q)
        if ep.direct and not ep.qlen and not self._in_egress and ep.sched_at == math.inf:
            # idle, unconstrained port: straight to egress (what the queue would do at once)
            P.deq_depth = 0
            return self._direct(P, ep, port, priority)
        cqf = ep.cqf
        if cqf is not None and (priority == cqf[2] or priority == cqf[3]):
            c = math.floor((now - cqf[1]) / cqf[0])
            parity = 0 if priority == cqf[2] else 1
            P.cqf_deadline = c if c % 2 == parity else c + 1
        q.append(P)
        ep.qlen += 1
        if now < ep.sched_at:
            self._schedule(ep, now)
        return True

    def _direct(self, P: Any, ep: EgressPort, port: int, priority: int) -> bool:
        self._in_egress += 1
        try:
            data = self.egress(P, port, priority)
        finally:
            self._in_egress -= 1
        if data is not None:
            ep.tx_packets += 1
            ep.tx_bytes += self.frame_size(data)
            self.transmit(port, data)
        return True

    def _schedule(self, ep: EgressPort, t: float) -> None:
        ep.token += 1
        ep.sched_at = t
        self.clock.call_at(t, self._service, ep, ep.token)

    def _deferred_transmit(self, port: int, data: bytes) -> None:
        with self.lock:
            self.transmit(port, data)

    def _gate_open_at(self, ep: EgressPort, q: int, now: float) -> float:
        """When gated queue ``q`` may next transmit (``now`` if open)."""
        T, t0, q0, _q1 = ep.cqf  # type: ignore[misc]
        parity = 0 if q == q0 else 1
        c = math.floor((now - t0) / T)
        if c % 2 == parity:
            return now
        return t0 + (c + 1) * T

    def _service(self, ep: EgressPort, token: int) -> None:
        with self.lock:
            self._service_locked(ep, token)

    def _service_locked(self, ep: EgressPort, token: int) -> None:
        if token != ep.token:
            return  # superseded by an earlier service event
        ep.sched_at = math.inf
        clock = self.clock
        while True:
            now = clock.now()
            if ep.busy_until > now:
                self._schedule(ep, ep.busy_until)
                return
            pick = -1
            next_t = math.inf
            queues = ep.queues
            for qi in range(len(queues) - 1, -1, -1):
                if not queues[qi]:
                    continue
                t = ep.next_ok[qi]
                cqf = ep.cqf
                if cqf is not None and (qi == cqf[2] or qi == cqf[3]):
                    t = max(t, self._gate_open_at(ep, qi, now))
                if t <= now:
                    pick = qi
                    break
                if t < next_t:
                    next_t = t
            if pick < 0:
                if next_t < math.inf:
                    self._schedule(ep, next_t)
                return
            P = queues[pick].popleft()
            ep.qlen -= 1
            rate = ep.rate_pps[pick]
            if rate:
                ep.next_ok[pick] = max(now, ep.next_ok[pick]) + 1e6 / rate
            cqf = ep.cqf
            if cqf is not None and (pick == cqf[2] or pick == cqf[3]):
                if math.floor((now - cqf[1]) / cqf[0]) > P.cqf_deadline:
                    ep.cqf_overruns += 1
                    self.count("cqf_overrun")
            P.deq_depth = len(queues[pick])
            self._in_egress += 1
            try:
                data = self.egress(P, ep.number, pick)
            finally:
                self._in_egress -= 1
            if data is None:
                continue
            ep.tx_packets += 1
            size = self.frame_size(data)
            ep.tx_bytes += size
            done = now
            if ep.link_bps:
                done = now + size * 8e6 / ep.link_bps
                ep.busy_until = done
            if done + ep.delay_us > now:
                clock.call_at(done + ep.delay_us, self._deferred_transmit, ep.number, data)
            else:
                self.transmit(ep.number, data)
