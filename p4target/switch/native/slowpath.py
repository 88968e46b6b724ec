"""The native engine's Python-side slow path: what ``datapath.py`` does around clones,
multicast, digests and failed asserts, on native packet states; and the C callbacks for
``random`` and ``log_msg`` (served by the switch's RNG and log, as in the Python engine)."""

from __future__ import annotations

import logging
from typing import Any

from ..datapath import Pkt
from ..program import PKT_INSTANCE_TYPE_EGRESS_CLONE, PKT_INSTANCE_TYPE_INGRESS_CLONE
from .state import split128

log = logging.getLogger("p4target.switch")


def s128(v: int) -> int:
    """Two's-complement 128-bit -> Python int."""
    return v - (1 << 128) if v >> 127 else v


class SlowPathMixin:
    """Mixin for :class:`.engine.NativeEngine` (needs ``sw``, ``prog``, ``ffi``, ``lib``...)."""

    sw: Any
    prog: Any
    ffi: Any
    lib: Any
    ctx: Any
    logs: list
    _fbuf: Any

    # -- callbacks from C (random numbers and log_msg come from the switch, as in Python) ------

    def _on_rand(self, lohi: Any, out: Any) -> None:
        lo = s128(lohi[0] | (lohi[1] << 64))
        hi = s128(lohi[2] | (lohi[3] << 64))
        v = lo if lo > hi else self.sw.rng.randint(lo, hi)
        out[0], out[1] = split128(v)

    def _on_log(self, mid: int, vals: Any, n: int) -> None:
        fmt, specs = self.logs[mid]
        raw = [vals[2 * i] | (vals[2 * i + 1] << 64) for i in range(n)]
        pos = 0

        def arg(spec: Any) -> str:
            nonlocal pos
            kind, info = spec
            if kind == "list":
                return "{" + ", ".join(arg(x) for x in info) + "}"
            if kind == "header":
                valid = raw[pos]
                fields = raw[pos + 1 : pos + 1 + len(info)]
                pos += 1 + len(info)
                if not valid:
                    return "invalid"
                return (
                    "{"
                    + ", ".join(str(v if w else s128(v)) for v, w in zip(fields, info, strict=True))
                    + "}"
                )
            v = raw[pos]
            pos += 1
            return str(v if info else s128(v))

        args = iter([arg(x) for x in specs])
        out, i = [], 0
        while i < len(fmt):
            if fmt.startswith("{}", i):
                out.append(str(next(args, "{}")))
                i += 2
            else:
                out.append(fmt[i])
                i += 1
        self.sw._log_sink("".join(out))

    def _aborted(self, pk: Any, where: str) -> None:
        """What ``datapath._ingress`` / ``_egress`` do when the pipeline raised."""
        if pk.assert_fail == 1:
            self.sw._count("assert_failed")
            log.error("packet dropped: assert failed")
        else:
            self.sw._count("internal_error")
            log.error("packet dropped: internal error in %s (action does not terminate)", where)

    def _copy(self, P: Pkt) -> Pkt:
        """``Pkt.copy`` for native states: own state, flags and queue marks cleared."""
        C = Pkt(P.data, P.in_port)
        C.ilen, C.lreg = P.ilen, P.lreg
        cst = self._new_state()
        self.lib.st_copy(cst, P.F)
        pk = self._pkt_of(cst)
        pk.exit_ = pk.clone = pk.clone_fl = pk.resubmit = pk.recirc = pk.lf = 0
        pk.enq_ts = 0.0
        pk.enq_depth = pk.deq_depth = 0
        C.F = cst
        return C

    def _multicast(self, P: Pkt, mgid: int) -> None:
        sw = self.sw
        replicas = sw.pre.replicas(mgid)
        if not replicas:
            sw._count("multicast_empty")
        for port, rid in replicas:
            self._set_std(P.F, "egress_rid", rid)
            C = self._copy(P)
            sw.tm.enqueue(C, port, self._get_std(C.F, "priority"))

    def _send_clone(self, C: Pkt, session: Any) -> None:
        if session.cos is not None:
            self._set_std(C.F, "priority", session.cos)
        if session.mgid is not None:
            self._multicast(C, session.mgid)
        if session.port is not None:
            self.sw.tm.enqueue(C, session.port, self._get_std(C.F, "priority"))

    def _clone_session(self, pk: Any) -> tuple[Any, int]:
        """Take the clone request off ``pk``: (its PRE session or None (counted), field list)."""
        sid, fl_id = pk.clone & 0x7FFF, pk.clone_fl
        pk.clone = pk.clone_fl = 0
        session = self.sw.pre.sessions.get(sid)
        if session is None:
            self.sw._count("clone_no_session")
        return session, fl_id

    def _ingress_clone(self, P: Pkt, pk: Any) -> None:
        sw, lib = self.sw, self.lib
        session, fl_id = self._clone_session(pk)
        if session is None:
            return
        C = Pkt(P.data, P.in_port)
        C.ilen = C.lreg = P.ilen
        cst = self._new_state()
        lib.clone_parse(self.ctx, cst, P.data, len(P.data), P.ilen, P.in_port)
        self._fold_stats()
        lib.reset_metadata(cst)
        lib.fl_copy(fl_id, P.F, cst)
        C.F = cst
        self._set_std(cst, "instance_type", PKT_INSTANCE_TYPE_INGRESS_CLONE)
        self._pkt_of(cst).trunc = session.truncate if session.truncate > 0 else -1
        sw._count("clone_i2e")
        self._send_clone(C, session)

    def _egress_clone(self, P: Pkt, pk: Any) -> None:
        sw, lib = self.sw, self.lib
        session, fl_id = self._clone_session(pk)
        if session is None:
            return
        C = self._copy(P)
        lib.reset_metadata(C.F)
        lib.fl_copy(fl_id, P.F, C.F)
        self._set_std(C.F, "instance_type", PKT_INSTANCE_TYPE_EGRESS_CLONE)
        if session.truncate > 0:
            ck = self._pkt_of(C.F)
            ck.trunc = session.truncate if ck.trunc < 0 else min(ck.trunc, session.truncate)
        sw._count("clone_e2e")
        self._send_clone(C, session)

    def _learn(self, st: Any, lid: int) -> None:
        sw = self.sw
        ll = self.prog.learn_lists.get(lid)
        if ll is None:
            sw._count("digest_unknown_list")
            return
        idx: list[Any] = []
        for el in ll.get("elements", []):
            if el.get("type") == "field":
                idx.append(self.prog.field(el["value"]))
            else:
                idx.extend(self.prog.header(el["value"]).fields)
        sw.digests.sample(lid, tuple(self._get_field(st, f) for f in idx))

    def _get_field(self, st: Any, f: Any) -> int:
        buf = self._fbuf
        self.lib.field_rw(st, f.index, buf, 0)
        v = buf[0] | (buf[1] << 64)
        if f.signed:
            v &= f.mask
            v = v - (1 << f.width) if v >> (f.width - 1) else v
        return v

    def _set_std(self, st: Any, name: str, value: int) -> None:
        f = self.prog.intrinsic(name)
        if f is None:
            return
        buf = self._fbuf
        buf[0], buf[1] = split128(value & f.mask)
        self.lib.field_rw(st, f.index, buf, 1)

    def _get_std(self, st: Any, name: str) -> int:
        f = self.prog.intrinsic(name)
        return 0 if f is None else self._get_field(st, f)
