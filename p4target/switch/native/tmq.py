"""The traffic manager's queues in native memory (``tm_native.c``) behind :class:`..tm.TrafficManager`.

A :class:`NativeQueues` belongs to one :class:`.engine.NativeEngine`; ``tm.set_backend`` hands
it the configuration of every port and from then on the packets of ports 0..1023 queue in C
rings (post-ingress state + bytes).  C decides when a port needs service (``sched_at`` and a
token, as ``tm.py`` does); this class keeps the one clock event per port and, at the event,
calls ``tm_service`` which dequeues what is eligible, runs egress and the deparser and returns
the frames with the time each reaches the port.  Packets that need Python after egress
(clones, recirculation, failed asserts) come back one at a time and go through the engine's
slow path, then the service continues.  Frame sizes: the length, an
:class:`..framesize.AggregateFrameRule` computed in C, or (any other ``set_frame_size``
function) one Python call per frame.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..datapath import Pkt
from ..framesize import AggregateFrameRule
from ..tm import MAX_QUEUES, EgressPort, TrafficManager
from .tmq_cdef import TMQ_OUT_MAX

if TYPE_CHECKING:  # pragma: no cover
    from .engine import NativeEngine

NPORTS = 1024
INF = float("inf")
OUT_CAP = 1 << 20


def acct_mode(fn: Any) -> int:
    """0: frames charge their length; 1: an aggregate rule in C; 2: ``fn`` per frame."""
    if fn is None or fn is len:
        return 0
    return 1 if isinstance(fn, AggregateFrameRule) else 2


class NativeQueues:
    """Native egress queues of ports 0..1023 for ``eng`` (see the module docstring)."""

    def __init__(self, eng: NativeEngine):
        self.eng = eng
        self.sw = eng.sw
        ffi, lib = self.ffi, self.lib = eng.ffi, eng.lib
        tm = self.sw.tm
        t = lib.tmq_new(tm.nb_queues, tm.default_depth)
        if t == ffi.NULL:
            raise MemoryError("native engine: cannot allocate the traffic manager")
        self.t = ffi.gc(t, lib.tmq_free)
        self.stats = ffi.cast("uint64_t *", lib.tmq_stats(self.t))
        self.tm: TrafficManager | None = None
        self._ints = ffi.new("int32_t[5]")
        self._depth = ffi.new("int64_t[8]")
        self._dbl = ffi.new("double[21]")
        self._token = ffi.new("int64_t[1]")
        self._plen = ffi.new("int32_t[1]")
        self.res = ffi.new("tm_res_t *")
        self.out = ffi.new("uint8_t[]", OUT_CAP)
        self._out_buf = ffi.buffer(self.out)
        self.o_off = ffi.new("int32_t[]", TMQ_OUT_MAX)
        self.o_len = ffi.new("int32_t[]", TMQ_OUT_MAX)
        self.o_at = ffi.new("double[]", TMQ_OUT_MAX)
        self.o_size = ffi.new("int64_t[]", TMQ_OUT_MAX)
        self._tk_ports = ffi.new("int32_t[]", NPORTS)
        self._tk_drops = ffi.new("uint64_t[]", NPORTS)
        self._tk_over = ffi.new("uint64_t[]", NPORTS)
        self._fs: Any = None
        self.acct = 0
        self.enabled = True
        self.enable(os.environ.get("CPN_P4_NATIVE_TM", "1") != "0")

    def enable(self, on: bool) -> None:
        """Native queues on (default; ``$CPN_P4_NATIVE_TM=0``: off) or off: every unicast
        packet then leaves C after ingress for the Python traffic manager (the reference)."""
        self.enabled = bool(on)
        self.lib.tmq_set_bypass(self.t, 0 if on else 1)
        if self.sw._native is self.eng:
            self.sw.tm.set_backend(self)

    # -- configuration (TrafficManager.set_backend / its setters) -------------------------------

    def attach(self, tm: TrafficManager) -> None:
        """Take over ``tm``'s ports: configuration and scheduling state."""
        self.tm = tm
        self.defaults()
        for ep in tm.ports.values():
            self.push(ep, full=True)

    def detach(self) -> None:
        """Give the scheduling state back to ``tm``'s Python ports."""
        tm = self.tm
        if tm is None:
            return
        for n, ep in tm.ports.items():
            if (
                0 <= n < NPORTS
                and self.lib.tmq_port(self.t, n, self._ints, self._depth, self._dbl, 0) == 0
            ):
                ep.next_ok = [self._dbl[8 + q] for q in range(len(ep.queues))]
                ep.busy_until = self._dbl[18]
        self.tm = None

    def defaults(self) -> None:
        """Ports the Python side has not created: ``nb_queues`` queues of the default depth."""
        tm = self.tm
        assert tm is not None
        known = bytearray(NPORTS)
        for n in tm.ports:
            if 0 <= n < NPORTS:
                known[n] = 1
        self.lib.tmq_defaults(self.t, tm.nb_queues, tm.default_depth, bytes(known))

    def push(self, ep: EgressPort, full: bool = False) -> None:
        """Copy ``ep``'s configuration (``full``: and its next_ok / busy_until) to C."""
        if 0 <= ep.number < NPORTS:
            self._write(ep.number, len(ep.queues), ep.depth, ep, 2 if full else 1)

    def _write(self, n: int, nq: int, depth: list[int], ep: EgressPort | None, mode: int) -> None:
        ints, dp, dbl = self._ints, self._depth, self._dbl
        cqf = ep.cqf if ep is not None else None
        ints[0], ints[1] = nq, 1 if ep is None else int(ep.direct)
        ints[2], ints[3], ints[4] = (0, 0, 1) if cqf is None else (1, cqf[2], cqf[3])
        for q in range(MAX_QUEUES):
            dp[q] = depth[q] if q < len(depth) else 0
            dbl[q] = ep.rate_pps[q] if ep is not None and q < len(ep.rate_pps) else 0.0
            dbl[8 + q] = ep.next_ok[q] if ep is not None and q < len(ep.next_ok) else 0.0
        dbl[16] = ep.link_bps if ep is not None else 0.0
        dbl[17] = ep.delay_us if ep is not None else 0.0
        dbl[18] = ep.busy_until if ep is not None else 0.0
        dbl[19], dbl[20] = (1.0, 0.0) if cqf is None else (cqf[0], cqf[1])
        if self.lib.tmq_port(self.t, n, ints, dp, dbl, mode) != 0:
            raise ValueError(f"native traffic manager: bad configuration for port {n}")

    def reset(self) -> None:
        self.lib.tmq_reset(self.t)

    def depth(self, port: int, q: int | None = None) -> int:
        if not 0 <= port < NPORTS:
            return 0
        return int(self.lib.tmq_depth(self.t, port, -1 if q is None else q))

    def sync_acct(self) -> int:
        """Follow ``Switch.set_frame_size``: the frame-size mode in C (0, 1 or 2)."""
        fs = self.sw.frame_size
        if fs is not self._fs:
            self._fs = fs
            self.acct = acct_mode(fs)
            if self.acct == 1:
                self.lib.tmq_set_rule(
                    self.t,
                    fs.magic,
                    fs.type_offset,
                    fs.type_value,
                    fs.units_offset,
                    fs.length_offset,
                    fs.header_len,
                )
            self.lib.tmq_set_acct(self.t, self.acct)
        return self.acct

    # -- counters --------------------------------------------------------------------------------

    def fold(self) -> None:
        """Drops, priority drops and CQF overruns counted in C -> the switch and its ports."""
        s = self.stats
        if not s[7]:
            return
        tm, counts = self.tm, self.sw._counts
        n = self.lib.tmq_take(self.t, self._tk_ports, self._tk_drops, self._tk_over, NPORTS)
        if tm is not None:
            for i in range(n):
                ep = tm.port(self._tk_ports[i])
                ep.drops += self._tk_drops[i]
                ep.cqf_overruns += self._tk_over[i]
        for idx, key in ((0, "queue_full"), (1, "priority_out_of_range"), (2, "cqf_overrun")):
            if s[idx]:
                counts[key] += s[idx]
                s[idx] = 0

    # -- packets ---------------------------------------------------------------------------------

    def enqueue(self, P: Pkt, port: int, prio: int, in_egress: int) -> int:
        """``tm.enqueue`` of a Python-held packet: -1 / -2 dropped (counted), 0 direct (the
        caller runs egress), 1 queued."""
        self.sync_acct()
        now = self.sw.clock.now()
        r = self.lib.tmq_enq(
            self.t, P.F, P.data, len(P.data), port, prio, float(now), in_egress, self._token
        )
        self.fold()
        if r == -3:
            raise MemoryError("native traffic manager: out of memory")
        if r == 2:
            self.schedule(port, now, self._token[0])
        return min(r, 1)

    def schedule(self, port: int, t: float, token: int) -> None:
        self.sw.clock.call_at(t, self._service, port, token)

    def _service(self, port: int, token: int) -> None:
        sw = self.sw
        with sw.lock:
            if sw._native is not self.eng or self.tm is None:
                return  # a program loaded since: its queues were reset
            self.service(port, token)

    def service(self, port: int, token: int) -> None:
        """``tm._service_locked`` for ``port``, in C but for the slow packets."""
        eng, lib, sw = self.eng, self.lib, self.sw
        tm = self.tm
        assert tm is not None
        if eng.dirty:
            eng.sync()
        self.sync_acct()
        res = self.res
        cont = 0
        while True:
            now = sw.clock.now()
            lib.tm_service(
                eng.ctx, self.t, port, token, cont, float(now), self.out, OUT_CAP,
                self.o_off, self.o_len, self.o_at, self.o_size, res,
            )  # fmt: skip
            eng._fold_counts()
            status = res.status
            if status == 1:
                return
            if res.n_out:
                self._send(port, res.n_out, now)
            if status == 0:
                if res.next != INF:
                    self.schedule(port, res.next, res.token)
                return
            if status == 2:
                self._slow_egress(port, now)
                if eng.dirty:
                    eng.sync()
            cont = 1

    def _send(self, port: int, n: int, now: float) -> None:
        sw, tm, lib = self.sw, self.tm, self.lib
        assert tm is not None
        ep = tm.ports.get(port) or tm.port(port)
        buf = self._out_buf
        clock = sw.clock
        for i in range(n):
            o = self.o_off[i]
            data = buf[o : o + self.o_len[i]]
            size, at = self.o_size[i], self.o_at[i]
            if size < 0:
                size = tm.frame_size(data)
                at = lib.tmq_charge(self.t, port, size, float(now))
            ep.tx_packets += 1
            ep.tx_bytes += size
            if at > now:
                clock.call_at(at, tm._deferred_transmit, port, data)
            else:
                sw._transmit(port, data)

    def _slow_egress(self, port: int, now: float) -> None:
        """The packet tm_service stopped on: the engine's ``_after_egress``, then transmit."""
        eng, lib, tm, sw = self.eng, self.lib, self.tm, self.sw
        assert tm is not None
        p = lib.tmq_pend(self.t, self._plen)
        data = self.ffi.buffer(p, self._plen[0])[:]
        st = eng._new_state()
        lib.st_copy(st, lib.ctx_pending(eng.ctx))
        pk = eng._pkt_of(st)
        P = Pkt(data, pk.in_port)
        P.ilen = pk.ilen
        P.F = st
        tm._in_egress += 1
        try:
            out = eng._after_egress(P, port)
        finally:
            tm._in_egress -= 1
        if out is None:
            return
        ep = tm.ports.get(port) or tm.port(port)
        size = tm.frame_size(out)
        at = lib.tmq_charge(self.t, port, size, float(now))
        ep.tx_packets += 1
        ep.tx_bytes += size
        if at > now:
            sw.clock.call_at(at, tm._deferred_transmit, port, out)
        else:
            sw._transmit(port, out)
