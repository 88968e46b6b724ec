"""``PacketReplicationEngineEntry``: multicast groups (replicas of (port, instance)) and clone
sessions.  A clone session with one replica of instance 0 clones to that port; any other
session clones through a multicast group of the reserved range ``CLONE_MGID_BASE + id``, which
is why client multicast group ids stop at ``CLONE_MGID_BASE - 1``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p4target.protos import p4runtime_pb2
from p4target.switch import EntryNotFoundError

from .codec import decode_uint, encode_uint
from .errors import Code, P4RTError, invalid, not_found
from .pipeline import UPDATE

if TYPE_CHECKING:  # pragma: no cover
    from .state import State, Txn

CLONE_MGID_BASE = 0x8000
MAX_SESSION_ID = 0x7FFF
MAX_INSTANCE = 0xFFFF


class PreMixin:
    def _init_pre(self: State) -> None:
        self.mc_meta: dict[int, tuple[bytes, bool]] = {}  # mgid -> (metadata, legacy ports)
        self.clones: dict[int, bool] = {}  # session id -> legacy ports

    def _replicas(self: State, reps: Any) -> tuple[list[tuple[int, int]], bool]:
        out: list[tuple[int, int]] = []
        legacy = False
        for r in reps:
            which = r.WhichOneof("port_kind")
            if which == "egress_port":
                port = r.egress_port
                legacy = True
            elif which == "port":
                port = decode_uint(r.port, 32, "replica port")
            else:
                raise invalid("a replica needs a port")
            if port > 0xFFFF:
                raise invalid(f"replica port {port} is not a port of this switch")
            if r.instance > MAX_INSTANCE:
                raise invalid(f"replica instance {r.instance} > {MAX_INSTANCE}")
            if (port, r.instance) in out:
                raise invalid(f"replica (port {port}, instance {r.instance}) listed twice")
            out.append((port, r.instance))
        return out, legacy

    @staticmethod
    def _replica_msgs(msg: Any, replicas: list[tuple[int, int]], legacy: bool) -> None:
        for port, rid in replicas:
            if legacy:
                msg.replicas.add(egress_port=port, instance=rid)
            else:
                msg.replicas.add(port=encode_uint(port), instance=rid)

    def write_pre(self: State, kind: int, pre: Any, txn: Txn) -> None:
        which = pre.WhichOneof("type")
        if which == "multicast_group_entry":
            self._write_mc(kind, pre.multicast_group_entry, txn)
        elif which == "clone_session_entry":
            self._write_clone(kind, pre.clone_session_entry, txn)
        else:
            raise invalid("PacketReplicationEngineEntry without a multicast group or session")

    def _write_mc(self: State, kind: int, g: Any, txn: Txn) -> None:
        mgid = g.multicast_group_id
        if mgid == 0:
            raise invalid("multicast_group_id 0 is reserved (wildcard)")
        if mgid >= CLONE_MGID_BASE:
            raise invalid(
                f"multicast group ids >= {CLONE_MGID_BASE:#x} are reserved for clone sessions"
            )
        exists = mgid in self.sw.mc_groups()
        if kind == UPDATE.INSERT and exists:
            raise P4RTError(Code.ALREADY_EXISTS, f"multicast group {mgid} exists")
        if kind != UPDATE.INSERT and not exists:
            raise not_found(f"no multicast group {mgid}")
        old = self.mc_meta.get(mgid)
        if kind == UPDATE.DELETE:
            self.sw.mc_delete_group(mgid)
            self.mc_meta.pop(mgid, None)
        else:
            replicas, legacy = self._replicas(g.replicas)
            self.sw.mc_set_group(mgid, replicas)
            self.mc_meta[mgid] = (g.metadata, legacy)

        def undo() -> None:
            if old is None:
                self.mc_meta.pop(mgid, None)
            else:
                self.mc_meta[mgid] = old

        txn.add(undo)

    def _write_clone(self: State, kind: int, c: Any, txn: Txn) -> None:
        sid = c.session_id
        if sid == 0:
            raise invalid("clone session_id 0 is reserved (wildcard)")
        if sid > MAX_SESSION_ID:
            raise invalid(f"clone session id {sid} > {MAX_SESSION_ID}")
        sw = self.sw
        try:
            old = sw.mirroring_get(sid)
        except EntryNotFoundError:
            old = None
        if kind == UPDATE.INSERT and old is not None:
            raise P4RTError(Code.ALREADY_EXISTS, f"clone session {sid} exists")
        if kind != UPDATE.INSERT and old is None:
            raise not_found(f"no clone session {sid}")
        mgid = CLONE_MGID_BASE + sid
        old_legacy = self.clones.get(sid)
        if kind == UPDATE.DELETE:
            sw.mirroring_delete(sid)
            if old is not None and old.mgid == mgid:
                sw.mc_delete_group(mgid)
            self.clones.pop(sid, None)
        else:
            if c.class_of_service > 7:
                raise invalid(f"class_of_service {c.class_of_service} not in 0..7")
            cos = c.class_of_service or None  # 0: clones keep the packet's own priority
            if c.packet_length_bytes < 0:
                raise invalid("packet_length_bytes must be >= 0")
            replicas, legacy = self._replicas(c.replicas)
            if len(replicas) == 1 and replicas[0][1] == 0:
                sw.mirroring_add(sid, port=replicas[0][0], truncate=c.packet_length_bytes, cos=cos)
                if old is not None and old.mgid == mgid:
                    sw.mc_delete_group(mgid)
            else:
                sw.mc_set_group(mgid, replicas)
                sw.mirroring_add(sid, mgid=mgid, truncate=c.packet_length_bytes, cos=cos)
            self.clones[sid] = legacy

        def undo() -> None:
            if old_legacy is None:
                self.clones.pop(sid, None)
            else:
                self.clones[sid] = old_legacy

        txn.add(undo)

    def read_pre(self: State, pre: Any) -> list[Any]:
        which = pre.WhichOneof("type")
        out = []
        if which == "multicast_group_entry":
            mgid = pre.multicast_group_entry.multicast_group_id
            groups = self.sw.mc_groups()
            if mgid:
                if mgid not in groups or mgid >= CLONE_MGID_BASE:
                    raise not_found(f"no multicast group {mgid}")
                ids = [mgid]
            else:
                ids = sorted(g for g in groups if g < CLONE_MGID_BASE)
            for g in ids:
                meta, legacy = self.mc_meta.get(g, (b"", False))
                e = p4runtime_pb2.PacketReplicationEngineEntry()
                e.multicast_group_entry.multicast_group_id = g
                e.multicast_group_entry.metadata = meta
                self._replica_msgs(e.multicast_group_entry, groups[g], legacy)
                out.append(e)
        elif which == "clone_session_entry":
            sid = pre.clone_session_entry.session_id
            if sid and sid not in self.clones:
                raise not_found(f"no clone session {sid}")
            for s in [sid] if sid else sorted(self.clones):
                session = self.sw.mirroring_get(s)
                if session.mgid is not None:
                    replicas = self.sw.mc_group_replicas(session.mgid)
                else:
                    replicas = [(session.port, 0)]
                e = p4runtime_pb2.PacketReplicationEngineEntry()
                c = e.clone_session_entry
                c.session_id = s
                c.packet_length_bytes = session.truncate
                c.class_of_service = session.cos or 0
                self._replica_msgs(c, replicas, self.clones[s])
                out.append(e)
        else:
            raise invalid("PacketReplicationEngineEntry without a multicast group or session")
        return out
