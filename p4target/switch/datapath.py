"""The v1model packet path of simple_switch: ingress side (parse, verify checksums, ingress,
then clone / digest / resubmit / multicast / drop / unicast) and egress side (egress, clone,
drop, compute checksums, deparse, recirculate), following BMv2's ``simple_switch.cpp``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .program import (
    PKT_INSTANCE_TYPE_EGRESS_CLONE,
    PKT_INSTANCE_TYPE_INGRESS_CLONE,
    PKT_INSTANCE_TYPE_NORMAL,
    PKT_INSTANCE_TYPE_RECIRC,
    PKT_INSTANCE_TYPE_REPLICATION,
    PKT_INSTANCE_TYPE_RESUBMIT,
)
from .runtime import AssertFailure

if TYPE_CHECKING:  # pragma: no cover
    from .switch import Switch

log = logging.getLogger("p4target.switch")


class Pkt:
    """Per-packet context: the packet bytes, its PHV and simple_switch's packet registers."""

    __slots__ = (
        "data",
        "payload",
        "in_port",
        "ilen",
        "lreg",
        "err",
        "cksum_err",
        "exit",
        "clone",
        "clone_fl",
        "resubmit",
        "recirc",
        "lf",
        "trunc",
        "vl",
        "F",
        "V",
        "S",
        "enq_ts",
        "enq_depth",
        "deq_depth",
        "cqf_deadline",
    )

    def __init__(self, data: bytes, in_port: int):
        self.data = data
        self.payload = b""
        self.in_port = in_port
        self.ilen = len(data)
        self.lreg = len(data)
        self.err = 0
        self.cksum_err = 0
        self.exit = False
        self.clone = 0
        self.clone_fl = 0
        self.resubmit = 0
        self.recirc = 0
        self.lf = 0
        self.trunc = -1  # smallest truncate() length asked for; -1: none
        self.vl: dict[int, int] = {}
        self.F: list[int] = []
        self.V: list[bool] = []
        self.S: list[int] = []
        self.enq_ts = 0.0
        self.enq_depth = 0
        self.deq_depth = 0
        self.cqf_deadline = 0

    def copy(self) -> Pkt:
        """A replica sharing the payload, with its own PHV (multicast, egress clone)."""
        c = Pkt.__new__(Pkt)
        c.data = self.data
        c.payload = self.payload
        c.in_port = self.in_port
        c.ilen = self.ilen
        c.lreg = self.lreg
        c.err = self.err
        c.cksum_err = self.cksum_err
        c.exit = False
        c.clone = c.clone_fl = c.resubmit = c.recirc = c.lf = 0
        c.trunc = self.trunc
        c.vl = dict(self.vl)
        c.F = self.F[:]
        c.V = self.V[:]
        c.S = self.S[:]
        c.enq_ts = 0.0
        c.enq_depth = c.deq_depth = c.cqf_deadline = 0
        return c


class DatapathMixin:
    """Packet processing for :class:`.switch.Switch`; all methods run with the switch lock held."""

    # -- helpers ---------------------------------------------------------------------------------

    def _reset_metadata(self: Switch, F: list[int]) -> None:
        for a, b in self._meta_ranges:
            F[a:b] = self._zeros[: b - a]

    def _set(self: Switch, F: list[int], slot: int | None, value: int) -> None:
        if slot is not None:
            F[slot] = value & self._masks[slot]

    def _new_phv(self: Switch, P: Pkt) -> None:
        P.F = self._F0[:]
        P.V = self._V0[:]
        P.S = self._S0[:]

    def _parse_into(self: Switch, P: Pkt) -> None:
        P.err = no_error = self._no_error
        P.cksum_err = 0
        F, V, S = P.F, P.V, P.S
        pos = self._fn_parse(F, V, S, P)
        P.payload = P.data[pos:] if pos else P.data
        self._fn_verify(F, V, S, P)
        if P.err != no_error:
            self._count_parser_error(P.err)
        if P.cksum_err:
            self._counts["checksum_error"] += 1

    # -- ingress ---------------------------------------------------------------------------------

    def _ingress(
        self: Switch, P: Pkt, itype: int = PKT_INSTANCE_TYPE_NORMAL, preserve: tuple | None = None
    ) -> None:
        """Run one packet through parser, checksum verification and ingress."""
        try:
            self._ingress_unsafe(P, itype, preserve)
        except AssertFailure as exc:
            self._count("assert_failed")
            log.error("packet dropped: %s failed", exc)
        except Exception:  # noqa: BLE001 - a packet must never bring the switch down
            self._count("internal_error")
            log.exception("packet dropped: internal error in ingress")

    def _ingress_unsafe(self: Switch, P: Pkt, itype: int, preserve: tuple | None) -> None:
        if self._native is not None:
            return self._native.ingress(P, itype, preserve)
        F = P.F = self._F0[:]
        V = P.V = self._V0[:]
        S = P.S = self._S0[:]
        if preserve is None:
            self._pro["ig_new"](F, P, itype, self.clock.now())
        else:
            src_F, fl_id = preserve
            fl = self._compiled.field_lists.get(fl_id)
            if fl is not None:
                fl(src_F, F)
            self._pro["ig_keep"](F, P, itype)
        self._parse_into(P)
        self._pro["ig_post"](F, P)
        self._fn_ingress(F, V, S, P)
        P.exit = False
        if P.clone:
            self._ingress_clone(P)
        if P.lf:
            self._learn(P)
        if P.resubmit:
            fl_id = P.resubmit
            R = Pkt(P.data, P.in_port)
            R.ilen = P.ilen
            self._count("resubmit")
            self.clock.call_at(
                self.clock.now() + self.recirculate_delay_us,
                self._locked_ingress,
                R,
                PKT_INSTANCE_TYPE_RESUBMIT,
                (F, fl_id),
            )
            return
        sf = self._sf
        mgid = F[sf.mcast_grp] if sf.mcast_grp is not None else 0
        if mgid:
            self._set(F, sf.instance_type, PKT_INSTANCE_TYPE_REPLICATION)
            self._multicast(P, mgid)
            return
        egress_spec = F[sf.egress_spec] if sf.egress_spec is not None else 0
        if egress_spec == self.drop_port:
            self._counts["ingress_drop"] += 1
            return
        if sf.instance_type is not None:
            F[sf.instance_type] = PKT_INSTANCE_TYPE_NORMAL
        self.tm.enqueue(P, egress_spec, F[sf.priority] if sf.priority is not None else 0)

    def _locked_ingress(self: Switch, P: Pkt, itype: int, preserve: tuple | None) -> None:
        with self.lock:
            self._ingress(P, itype, preserve)

    def _ingress_clone(self: Switch, P: Pkt) -> None:
        sid = P.clone & 0x7FFF
        fl_id = P.clone_fl
        P.clone = P.clone_fl = 0
        session = self.pre.sessions.get(sid)
        if session is None:
            self._count("clone_no_session")
            return
        C = Pkt(P.data, P.in_port)
        C.ilen = P.ilen
        C.lreg = P.ilen
        self._new_phv(C)
        self._set(C.F, self._sf.ingress_port, P.in_port)
        self._parse_into(C)
        self._reset_metadata(C.F)
        fl = self._compiled.field_lists.get(fl_id)
        if fl is not None:
            fl(P.F, C.F)
        self._set(C.F, self._sf.instance_type, PKT_INSTANCE_TYPE_INGRESS_CLONE)
        C.trunc = session.truncate if session.truncate > 0 else -1
        self._count("clone_i2e")
        self._send_clone(C, session)

    def _send_clone(self: Switch, C: Pkt, session: Any) -> None:
        if session.cos is not None and self._sf.priority is not None:
            self._set(C.F, self._sf.priority, session.cos)
        if session.mgid is not None:
            self._multicast(C, session.mgid)
        if session.port is not None:
            self._enqueue(C, session.port)

    def _multicast(self: Switch, P: Pkt, mgid: int) -> None:
        sf = self._sf
        replicas = self.pre.replicas(mgid)
        if not replicas:
            self._count("multicast_empty")
        for port, rid in replicas:
            self._set(P.F, sf.egress_rid, rid)
            self._enqueue(P.copy(), port)

    def _enqueue(self: Switch, P: Pkt, port: int) -> None:
        sf = self._sf
        self.tm.enqueue(P, port, P.F[sf.priority] if sf.priority is not None else 0)

    def _learn(self: Switch, P: Pkt) -> None:
        lid = P.lf
        P.lf = 0
        fn = self._compiled.learn_lists.get(lid)
        if fn is None:
            self._count("digest_unknown_list")
            return
        self.digests.sample(lid, fn(P.F))

    # -- egress ----------------------------------------------------------------------------------

    def _egress(self: Switch, P: Pkt, port: int, qid: int) -> bytes | None:
        """Called by the traffic manager when the packet leaves its queue."""
        with self.lock:
            try:
                return self._egress_unsafe(P, port, qid)
            except AssertFailure as exc:
                self._count("assert_failed")
                log.error("packet dropped: %s failed", exc)
            except Exception:  # noqa: BLE001
                self._count("internal_error")
                log.exception("packet dropped: internal error in egress")
            return None

    def _egress_unsafe(self: Switch, P: Pkt, port: int, qid: int) -> bytes | None:
        if self._native is not None:
            return self._native.egress(P, port, qid)
        F, V, S = P.F, P.V, P.S
        now = self.clock.now()
        self._pro["eg_pre"](F, P, port, qid, now)
        self._fn_egress(F, V, S, P)
        P.exit = False
        if P.clone:
            self._egress_clone(P)
        es = self._sf.egress_spec
        if es is not None and F[es] == self.drop_port:
            self._counts["egress_drop"] += 1
            return None
        self._fn_update(F, V, S, P)
        data = self._fn_deparse(F, V, S, P) + P.payload
        if 0 <= P.trunc < len(data):
            data = data[: P.trunc]
        if P.recirc:
            fl_id = P.recirc
            R = Pkt(data, 0)
            self._count("recirculate")
            self.clock.call_at(
                now + self.recirculate_delay_us,
                self._locked_ingress,
                R,
                PKT_INSTANCE_TYPE_RECIRC,
                (F, fl_id),
            )
            return None
        return data

    def _egress_clone(self: Switch, P: Pkt) -> None:
        sid = P.clone & 0x7FFF
        fl_id = P.clone_fl
        P.clone = P.clone_fl = 0
        session = self.pre.sessions.get(sid)
        if session is None:
            self._count("clone_no_session")
            return
        C = P.copy()
        self._reset_metadata(C.F)
        fl = self._compiled.field_lists.get(fl_id)
        if fl is not None:
            fl(P.F, C.F)
        self._set(C.F, self._sf.instance_type, PKT_INSTANCE_TYPE_EGRESS_CLONE)
        C.lreg = P.lreg
        if session.truncate > 0:
            C.trunc = session.truncate if C.trunc < 0 else min(C.trunc, session.truncate)
        self._count("clone_e2e")
        self._send_clone(C, session)

    # -- transmission ----------------------------------------------------------------------------

    def _transmit(self: Switch, port: int, data: bytes) -> None:
        p = self.ports.get(port)
        cpu = port == self.cpu_port
        for cb in self.tx_callbacks:
            cb(port, data)
        if p is None and not cpu:
            self._count("tx_no_port")
            return
        st = self._tx.setdefault(port, [0, 0])
        st[0] += 1
        st[1] += len(data)
        if p is not None:
            try:
                p.transmit(data)
            except Exception:  # noqa: BLE001
                self._count("tx_error")
                log.exception("port %d: transmit failed", port)
        if cpu:
            for cb in self.packet_in_callbacks:
                cb(data)
