"""The native engine of a :class:`~p4target.switch.Switch`: generated C behind the Python datapath.

``NativeEngine(switch, program)`` generates and loads the program's library, moves registers
and counters to native memory, tracks tables, and runs packets:

* :meth:`receive_batch` runs frames through ingress, the traffic manager's direct path,
  egress and the deparser in one C call; a packet that needs Python (a queued or shaped port,
  multicast, recirculation, a priority out of range) stops the call and continues on the
  Python side (:meth:`_after_ingress` / :meth:`_after_egress`) exactly as ``datapath.py`` does;
* :meth:`ingress` / :meth:`egress` are the per-packet entry points ``datapath.py`` dispatches
  to (resubmitted/recirculated packets, packets the traffic manager dequeues).
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from ..datapath import Pkt
from ..ports import MemoryPort
from ..program import (
    PKT_INSTANCE_TYPE_NORMAL,
    PKT_INSTANCE_TYPE_RECIRC,
    PKT_INSTANCE_TYPE_REPLICATION,
    PKT_INSTANCE_TYPE_RESUBMIT,
    Program,
)
from . import build
from .cgen import CGen
from .slowpath import SlowPathMixin
from .state import (
    NativeCounterArray,
    NativeRegisterArray,
    TrackedTable,
    sync_meter,
    sync_profile,
    sync_table,
    sync_vset,
    track_meters,
    track_profiles,
    track_vsets,
)
from .tmq import NativeQueues

if TYPE_CHECKING:  # pragma: no cover
    from ..switch import Switch

log = logging.getLogger("p4target.switch")

OUT_CAP = 1 << 20
MAX_BATCH = 4096


class NativeEngine(SlowPathMixin):
    """Native data path for one loaded program of ``sw``."""

    def __init__(self, sw: Switch, prog: Program, sanitize: bool | None = None):
        if sanitize is None:
            sanitize = os.environ.get("CPN_P4_NATIVE_SANITIZE") == "1"
        t0 = time.perf_counter()
        order = [(p["name"], t) for p in prog.pipelines for t in p.get("tables", [])]
        gen = CGen(prog, order)
        self.source = gen.generate()
        self.logs = gen.prims.logs
        self.ffi, self.lib, self.cached = build.load(self.source, sanitize)
        self.load_seconds = time.perf_counter() - t0
        self.sanitize = sanitize
        self.sw = sw
        self.prog = prog
        ctx = self.lib.ctx_new()
        if ctx == self.ffi.NULL:
            raise MemoryError("native engine: cannot allocate the switch context")
        self.ctx = self.ffi.gc(ctx, self.lib.ctx_free)
        self.lib.ctx_set_drop_port(self.ctx, sw.drop_port)
        self._cb_rand = self.ffi.callback("void(const uint64_t *, uint64_t *)", self._on_rand)
        self._cb_log = self.ffi.callback("void(int, const uint64_t *, int)", self._on_log)
        self.lib.ctx_set_callbacks(self.ctx, self._cb_rand, self._cb_log)
        self.order = order
        self.stats = self.ffi.cast("uint64_t *", self.lib.ctx_stats(self.ctx))
        self.res = self.ffi.new("tm_res_t *")
        self.out = self.ffi.new("uint8_t[]", OUT_CAP)
        self.o_off = self.ffi.new("int32_t[]", MAX_BATCH)
        self.o_len = self.ffi.new("int32_t[]", MAX_BATCH)
        self.o_port = self.ffi.new("int32_t[]", MAX_BATCH)
        self.o_size = self.ffi.new("int64_t[]", MAX_BATCH)
        self.dirty: set[Any] = set()
        self._out_buf = self.ffi.buffer(self.out)
        self._fbuf = self.ffi.new("uint64_t[2]")
        self._a_off = self.ffi.new("int32_t[1]")
        self._a_len = self.ffi.new("int32_t[1]")
        self._a_port = self.ffi.new("int32_t[1]")
        self.queues = NativeQueues(self)

    # -- wiring into the switch (called by Switch.load_config) ---------------------------------

    def attach_state(self, state: dict[str, Any]) -> None:
        """Replace the Python registers/counters with native views; track the tables."""
        prog = self.prog
        regs = {}
        for i, r in enumerate(prog.register_arrays):
            regs[r["name"]] = NativeRegisterArray(
                self, i, r["name"], int(r["size"]), int(r["bitwidth"])
            )
        cnts = dict(state["counters"])  # direct counters stay: their values are per entry
        for i, c in enumerate(prog.counter_arrays):
            if not c.get("is_direct"):
                cnts[c["name"]] = NativeCounterArray(self, i, c["name"], int(c.get("size", 0)))
        state["registers"] = regs
        state["counters"] = cnts
        self.tindex: dict[int, int] = {}
        for i, (pname, t) in enumerate(self.order):
            del pname
            table = state["tables"][t["name"]]
            table.__class__ = TrackedTable
            table._native_dirty = self.dirty
            self.tindex[id(table)] = i
            self.dirty.add(table)
        self.tables_by_id = {id(t): t for t in state["tables"].values()}
        track_meters(self, [state["meters"][m["name"]] for m in prog.meter_arrays])
        track_vsets(self, [state["vsets"][v["name"]] for v in prog.parse_vsets])
        profs = [ap for pipe in prog.pipelines for ap in pipe.get("action_profiles", [])]
        track_profiles(self, [state["profiles"][ap["name"]] for ap in profs])

    def sync(self) -> None:
        """Push dirty tables to native memory (before packets run)."""
        while self.dirty:
            t = self.dirty.pop()
            if isinstance(t, tuple):
                {"meter": sync_meter, "vset": sync_vset, "prof": sync_profile}[t[0]](self, t)
                continue
            ti = self.tindex.get(id(t))
            if ti is not None:
                sync_table(self, ti, t)

    def mark_all_dirty(self) -> None:
        """After a rolled-back batch: re-sync everything the journal may have restored."""
        for t in self.tables_by_id.values():
            self.dirty.add(t)
        self.dirty.update(self.prof_objs)
        self.dirty.update(self.vset_objs)
        # meters: their undo goes through set_rates / reset_rates, which report themselves

    # -- helpers ---------------------------------------------------------------------------------

    def _new_state(self) -> Any:
        return self.ffi.gc(self.lib.st_new(), self.lib.st_free)

    def _pkt_of(self, st: Any) -> Any:
        return self.ffi.cast("pkt_t *", st)

    def _fold_counts(self) -> None:
        """After a C call: what C counted (parser errors, drops, queue drops) -> the switch."""
        if self.stats[79]:
            self._fold_stats()
        if self.queues.stats[7]:
            self.queues.fold()

    def _fold_stats(self) -> None:
        s = self.stats
        if not s[79]:
            return
        sw = self.sw
        if self.lib.ctx_take_rehit(self.ctx):
            sw._arm_idle()
        for code in range(64):
            n = s[code]
            if n:
                sw._counts["parser_error"] += n
                name = sw.error_names.get(code, str(code)) if code < 63 else "63+"
                sw._parser_errors[name] += n
                s[code] = 0
        for idx, key in ((64, "checksum_error"), (65, "ingress_drop"), (66, "egress_drop")):
            if s[idx]:
                sw._counts[key] += s[idx]
                s[idx] = 0
        s[79] = 0

    # -- packets ---------------------------------------------------------------------------------

    def receive_batch(self, frames: list[tuple[int, bytes]]) -> None:
        """Process ``(port, frame)`` pairs in order (lock held, rx counted by the caller)."""
        if self.dirty:
            self.sync()
        ffi = self.ffi
        acct = self.queues.sync_acct()
        fsize = self.sw.frame_size
        i, n = 0, len(frames)
        while i < n:
            chunk = frames[i : i + MAX_BATCH] if i or n > MAX_BATCH else frames
            m = len(chunk)
            ilens = ffi.NULL
            if acct == 2:  # charged sizes from a Python function: one call per frame
                ilens = ffi.new("int64_t[]", [fsize(bytes(f)) for _p, f in chunk])
            if m == 1:
                port, data = chunk[0]
                self._a_off[0], self._a_len[0], self._a_port[0] = 0, len(data), port
                blob = data
                offs, lens, ports = self._a_off, self._a_len, self._a_port
            else:
                ls = [len(f) for _p, f in chunk]
                os_, o = [], 0
                for ln in ls:
                    os_.append(o)
                    o += ln
                blob = b"".join([f for _p, f in chunk])
                offs = ffi.new("int32_t[]", os_)
                lens = ffi.new("int32_t[]", ls)
                ports = ffi.new("int32_t[]", [p for p, _f in chunk])
            i += self._run(chunk, blob, offs, lens, ports, m, ilens)

    def receive_one(self, port: int, data: bytes) -> None:
        """:meth:`receive_batch` of one frame, with less bookkeeping (lock held)."""
        sw = self.sw
        if self.dirty:
            self.sync()
        q = self.queues
        if q.sync_acct() == 2:
            self.receive_batch([(port, data)])
            return
        self._a_off[0], self._a_len[0], self._a_port[0] = 0, len(data), port
        res = self.res
        tm = sw.tm
        now = float(sw.clock.now())
        self.lib.run_batch_q(
            self.ctx, q.t, 1, self.ffi.from_buffer(data), self._a_off, self._a_len,
            self._a_port, self.ffi.NULL, now, tm._in_egress, self.out, OUT_CAP,
            self.o_off, self.o_len, self.o_port, self.o_size, res,
        )  # fmt: skip
        self._fold_counts()
        if res.status == 0:
            if res.n_out:
                out_port = self.o_port[0]
                out = self._out_buf[0 : self.o_len[0]]
                ep = tm.ports.get(out_port) or tm.port(out_port)
                ep.tx_packets += 1
                ep.tx_bytes += self.o_size[0]
                sw._transmit(out_port, out)
            return
        self._run([(port, data)], data, self._a_off, self._a_len, self._a_port, 1, None, now)

    def _run(
        self,
        chunk: list,
        blob: bytes,
        offs: Any,
        lens: Any,
        ports: Any,
        m: int,
        ilens: Any,
        done: float | None = None,
    ) -> int:
        """One C call over ``chunk`` (``done``: the time of a call already made, whose result
        is in ``self.res``); returns how many frames were consumed."""
        sw, lib = self.sw, self.lib
        res = self.res
        tm = sw.tm
        q = self.queues
        if done is None:
            now = float(sw.clock.now())
            lib.run_batch_q(
                self.ctx, q.t, m, self.ffi.from_buffer(blob), offs, lens, ports, ilens, now,
                tm._in_egress, self.out, OUT_CAP, self.o_off, self.o_len, self.o_port,
                self.o_size, res,
            )  # fmt: skip
            self._fold_counts()
        else:
            now = done
        if res.n_out:
            self._emit(res.n_out)
            res.n_out = 0
        status, k = res.status, res.index
        if status == 0:
            return m
        if status == 3:
            return k
        if status == 4:  # queued on an idle port: its service event, as tm.enqueue does
            if res.port not in tm.ports:
                tm.port(res.port)
            q.schedule(res.port, now, res.token)
        else:
            port, data = chunk[k]
            P = Pkt(data, port)
            st = self._new_state()
            lib.st_copy(st, lib.ctx_pending(self.ctx))
            P.F = st
            P.ilen = self._pkt_of(st).ilen
            if status == 1:
                self._after_ingress(P)
            else:
                ep = tm.port(res.port)
                out = self._after_egress(P, res.port)
                if out is not None:
                    ep.tx_packets += 1
                    ep.tx_bytes += tm.frame_size(out)
                    sw._transmit(res.port, out)
        if sw.clock.virtual:
            sw.clock.run_due()
        if self.dirty:
            self.sync()
        return k + 1

    def _emit(self, n_out: int) -> None:
        """Hand the batch's output frames to the ports, as the traffic manager would."""
        sw = self.sw
        unpack = self.ffi.unpack
        offs, lens, ports = (
            unpack(self.o_off, n_out),
            unpack(self.o_len, n_out),
            unpack(self.o_port, n_out),
        )
        raw = self._out_buf[0 : offs[-1] + lens[-1]]
        datas = [raw[o : o + ln] for o, ln in zip(offs, lens, strict=True)]
        tm = sw.tm
        if self.queues.acct == 2:
            sizes = [tm.frame_size(d) for d in datas]
        else:
            sizes = unpack(self.o_size, n_out)
        if sw.tx_callbacks or n_out == 1:
            bulk: dict[int, Any] = {}
        else:
            bulk = {}
            for port in set(ports):
                p = sw.ports.get(port)
                if (
                    type(p) is MemoryPort
                    and not p.callbacks
                    and p.peer is None
                    and port != sw.cpu_port
                ):
                    bulk[port] = p
        if not bulk:
            for port, data, size in zip(ports, datas, sizes, strict=True):
                ep = tm.ports.get(port) or tm.port(port)
                ep.tx_packets += 1
                ep.tx_bytes += size
                sw._transmit(port, data)
            return
        groups: dict[int, list[tuple[bytes, int]]] = {}
        for port, data, size in zip(ports, datas, sizes, strict=True):
            if port in bulk:
                groups.setdefault(port, []).append((data, size))
                continue
            ep = tm.ports.get(port) or tm.port(port)
            ep.tx_packets += 1
            ep.tx_bytes += size
            sw._transmit(port, data)
        now = sw.clock.now()
        for port, items in groups.items():
            ep = tm.ports.get(port) or tm.port(port)
            ds = [d for d, _s in items]
            ep.tx_packets += len(ds)
            ep.tx_bytes += sum(sz for _d, sz in items)
            st = sw._tx.setdefault(port, [0, 0])
            st[0] += len(ds)
            st[1] += sum(map(len, ds))
            p = bulk[port]
            if p.record:
                p.received.extend(ds)
                p.received_at.extend([now] * len(ds))

    def ingress(self, P: Pkt, itype: int, preserve: tuple | None) -> None:
        """``datapath._ingress_unsafe`` for the native engine."""
        if self.dirty:
            self.sync()
        st = self._new_state()
        P.F = st
        data = P.data
        src, fl_id = self.ffi.NULL, 0
        if preserve is not None:
            (owner, src), fl_id = preserve
            if owner is not self:  # state of a program replaced since: its layout differs
                self.sw._count("internal_error")
                return
        self.lib.ig_run(
            self.ctx,
            st,
            data,
            len(data),
            P.ilen,
            P.in_port,
            itype,
            float(self.sw.clock.now()),
            src,
            fl_id,
        )
        self._fold_stats()
        self._after_ingress(P)

    def _after_ingress(self, P: Pkt) -> None:
        """The tail of ``datapath._ingress_unsafe``: clone, digest, resubmit, multicast, drop,
        unicast."""
        sw = self.sw
        st = P.F
        pk = self._pkt_of(st)
        if pk.assert_fail:
            self._aborted(pk, "ingress")
            return
        if pk.clone:
            self._ingress_clone(P, pk)
        if pk.lf:
            lid = pk.lf
            pk.lf = 0
            self._learn(st, lid)
        if pk.resubmit:
            fl_id = pk.resubmit
            R = Pkt(P.data, P.in_port)
            R.ilen = P.ilen
            sw._count("resubmit")
            sw.clock.call_at(
                sw.clock.now() + sw.recirculate_delay_us,
                sw._locked_ingress,
                R,
                PKT_INSTANCE_TYPE_RESUBMIT,
                ((self, st), fl_id),
            )
            return
        mgid = pk.o_mcast
        if mgid:
            self._set_std(st, "instance_type", PKT_INSTANCE_TYPE_REPLICATION)
            self._multicast(P, mgid)
            return
        if pk.o_espec == sw.drop_port:
            sw._counts["ingress_drop"] += 1
            return
        self._set_std(st, "instance_type", PKT_INSTANCE_TYPE_NORMAL)
        sw.tm.enqueue(P, pk.o_espec, pk.o_prio)

    def egress(self, P: Pkt, port: int, qid: int) -> bytes | None:
        """``datapath._egress_unsafe`` for the native engine."""
        if self.dirty:
            self.sync()
        st = P.F
        pk = self._pkt_of(st)
        pk.enq_ts = float(P.enq_ts)
        pk.enq_depth = P.enq_depth
        pk.deq_depth = P.deq_depth
        self.lib.eg_run(self.ctx, st, P.data, port, qid, float(self.sw.clock.now()))
        return self._after_egress(P, port)

    def _after_egress(self, P: Pkt, port: int) -> bytes | None:
        sw = self.sw
        st = P.F
        pk = self._pkt_of(st)
        if pk.assert_fail:
            self._aborted(pk, "egress")
            return None
        if pk.clone:
            self._egress_clone(P, pk)
        if pk.o_espec == sw.drop_port:
            sw._counts["egress_drop"] += 1
            return None
        cap = pk.len + sum(h.nbytes for h in self.prog.headers) + 64
        out = self.ffi.new("uint8_t[]", cap)
        n = self.lib.dep_run(self.ctx, st, P.data, out, cap)
        if n < 0:
            sw._count("internal_error")
            return None
        data = self.ffi.buffer(out, n)[:]
        if pk.recirc:
            fl_id = pk.recirc
            R = Pkt(data, 0)
            sw._count("recirculate")
            sw.clock.call_at(
                sw.clock.now() + sw.recirculate_delay_us,
                sw._locked_ingress,
                R,
                PKT_INSTANCE_TYPE_RECIRC,
                ((self, st), fl_id),
            )
            return None
        return data
