"""A thin P4Runtime client over grpcio and the ``p4runtime`` package's protos.

One :class:`P4RuntimeClient` per switch: a channel, a StreamChannel read by a background thread
(arbitration advisories, packet-in, stream errors, disconnects), and the unary RPCs the control
plane needs (pipeline config, Write, Read). Entities are the controller's intent values
(:class:`~controlplane.entries.TableEntry`, :class:`~controlplane.entries.RegisterValue`),
translated by :class:`~controlplane.p4info.P4InfoIndex`.

The session (connect, arbitration, the stream thread, packet-in/out, barrier) is
:class:`~controlplane.p4rt_stream.StreamMixin`; the errors are in :mod:`controlplane.p4rt_errors`
and re-exported here.

Arbitration: the client sends its election id (a ``Uint128``) on the stream; the switch's
``MasterArbitrationUpdate`` says whether it is the primary (status OK) or a backup
(ALREADY_EXISTS: another controller is primary, NOT_FOUND: none is). When a controller with a
higher election id arrives the switch advises this client that it is now a backup:
:attr:`P4RuntimeClient.is_primary` turns false, the ``on_arbitration`` callbacks run, and writes
raise :class:`NotPrimary` until :meth:`P4RuntimeClient.reclaim` takes primacy back.

Errors: a switch that cannot be reached (or a stream/RPC that fails UNAVAILABLE) raises
:class:`SwitchUnavailable` and runs the ``on_disconnect`` callbacks once; a refused write raises
:class:`WriteError` with one ``(update index, code name, message)`` per failed update, decoded
from the ``p4.v1.Error`` details of the RPC's ``google.rpc.Status``.

finsy is not used: it pins ``protobuf<7`` and vendors its own compiled P4Runtime and
``google.rpc`` protos, which cannot share a process with the ``p4runtime`` package the embedded
server uses (duplicate ``google/rpc/status.proto`` in the descriptor pool).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.rpc import code_pb2

from p4target.protos import p4info_pb2, p4runtime_pb2

from .entries import RegisterValue, TableEntry
from .p4info import P4InfoIndex
from .p4rt_errors import (
    _CODE_NAME,
    NotPrimary,
    P4RuntimeError,
    PipelineError,
    SwitchUnavailable,
    Update,
    WriteError,
    status_details,
)
from .p4rt_stream import StreamMixin, _Conn, _u128
from .program import Program

log = logging.getLogger("controlplane.p4rt")

WR = p4runtime_pb2.WriteRequest
SET = p4runtime_pb2.SetForwardingPipelineConfigRequest
GET = p4runtime_pb2.GetForwardingPipelineConfigRequest
ATOMICITY = {
    "CONTINUE_ON_ERROR": WR.CONTINUE_ON_ERROR,
    "ROLLBACK_ON_ERROR": WR.ROLLBACK_ON_ERROR,
    "DATAPLANE_ATOMIC": WR.DATAPLANE_ATOMIC,
}
UPDATE = {
    "insert": p4runtime_pb2.Update.INSERT,
    "modify": p4runtime_pb2.Update.MODIFY,
    "delete": p4runtime_pb2.Update.DELETE,
}
PIPELINE_ACTIONS = {
    "VERIFY": SET.VERIFY,
    "VERIFY_AND_SAVE": SET.VERIFY_AND_SAVE,
    "VERIFY_AND_COMMIT": SET.VERIFY_AND_COMMIT,
    "COMMIT": SET.COMMIT,
    "RECONCILE_AND_COMMIT": SET.RECONCILE_AND_COMMIT,
}
MAX_BATCH = 1000  # updates per WriteRequest (CONTINUE_ON_ERROR writes are split)


def program_cookie(program: Program) -> int:
    """The pipeline cookie of a program: the first 8 bytes of sha256(JSON + P4Info)."""
    h = hashlib.sha256(program.json_bytes)
    h.update(program.p4info.SerializeToString(deterministic=True))
    return int.from_bytes(h.digest()[:8], "big")


# ----------------------------------------------------------------------------------- client
class P4RuntimeClient(StreamMixin):
    """Session with one P4Runtime device (thread-safe: one lock around writes)."""

    def __init__(
        self,
        address: str,
        device_id: int,
        election_id: int = 1,
        *,
        timeout_s: float = 5.0,
        max_batch: int = MAX_BATCH,
    ):
        if election_id <= 0:
            raise ValueError(f"election id must be > 0, got {election_id}")
        self.address = address
        self.device_id = device_id
        self.election_id = election_id
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self.is_primary = False
        self.connected = False
        self.arbitration_status = ""  # code name of the last MasterArbitrationUpdate
        self.highest_election_id: int | None = None  # as the switch last advised
        self.index: P4InfoIndex | None = None
        self.updates_written = 0  # updates the switch accepted, for counting and stats
        self.stream_errors: collections.deque[tuple[str, str]] = collections.deque(maxlen=100)
        self._lock = threading.RLock()  # writes and pipeline pushes
        self._arb_lock = threading.Lock()  # one re-arbitration (reclaim, barrier) at a time
        self._conn_lock = threading.Lock()  # connect / close
        self._cond = threading.Condition()  # arbitration state
        self._arb_seq = 0
        self._conn: _Conn | None = None
        self._packet_cbs: list[Callable[[bytes, dict[str, int]], None]] = []
        self._disconnect_cbs: list[Callable[[], None]] = []
        self._arbitration_cbs: list[Callable[[bool], None]] = []
        self._stream_error_cbs: list[Callable[[str, str], None]] = []

    def __repr__(self) -> str:
        role = "primary" if self.is_primary else "backup"
        state = role if self.connected else "disconnected"
        return f"P4RuntimeClient({self.address}, device {self.device_id}, {state})"

    # -------------------------------------------------------------------------- helpers
    def _rpc_error(self, conn: _Conn, exc: grpc.RpcError, what: str) -> Exception:
        """The exception for a failed RPC (UNAVAILABLE also ends the session)."""
        code = exc.code()
        msg = f"{self.address} device {self.device_id}: {what}: {code.name}: {exc.details()}"
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
            self._lost(conn, f"{what}: {code.name}")
            conn.shutdown()
            return SwitchUnavailable(msg)
        if code == grpc.StatusCode.PERMISSION_DENIED:
            return NotPrimary(msg)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return SwitchUnavailable(msg)
        return P4RuntimeError(msg, code.name)

    def _req(self, cls: Any, **kw: Any) -> Any:
        r = cls(device_id=self.device_id, **kw)
        r.election_id.CopyFrom(_u128(self.election_id))
        return r

    def use_p4info(self, p4info: p4info_pb2.P4Info) -> None:
        """Encode with this P4Info (the switch runs a pipeline this controller knows)."""
        self.index = P4InfoIndex(p4info)

    def p4info_index(self) -> P4InfoIndex:
        """The P4Info index in use (fetched from the switch when none was given)."""
        if self.index is None:
            resp = self._get_pipeline(GET.P4INFO_AND_COOKIE, "get pipeline")
            if not resp.config.p4info.tables:
                raise P4RuntimeError(f"{self.address}: the switch has no pipeline", "NOT_FOUND")
            self.index = P4InfoIndex(resp.config.p4info)
        return self.index

    # ------------------------------------------------------------------------- pipeline
    def _get_pipeline(self, response_type: int, what: str) -> Any:
        """GetForwardingPipelineConfig with ``response_type``; RPC errors as P4RuntimeError."""
        conn = self._require_conn()
        try:
            return conn.stub.GetForwardingPipelineConfig(
                GET(device_id=self.device_id, response_type=response_type),
                timeout=self.timeout_s,
            )
        except grpc.RpcError as exc:
            raise self._rpc_error(conn, exc, what) from None

    def set_pipeline(
        self, program: Program, *, cookie: int, action: str = "VERIFY_AND_COMMIT"
    ) -> None:
        """Push ``program`` (BMv2 JSON + P4Info) with ``cookie``."""
        if action not in PIPELINE_ACTIONS:
            raise ValueError(f"unknown pipeline action {action!r}: {sorted(PIPELINE_ACTIONS)}")
        req = self._req(SET, action=PIPELINE_ACTIONS[action])
        if action != "COMMIT":
            req.config.p4info.CopyFrom(program.p4info)
            req.config.p4_device_config = program.json_bytes
            req.config.cookie.cookie = cookie
        with self._lock:
            conn = self._require_primary()
            try:
                conn.stub.SetForwardingPipelineConfig(req, timeout=max(30.0, self.timeout_s))
            except grpc.RpcError as exc:
                err = self._rpc_error(conn, exc, f"set pipeline ({action})")
                if type(err) is P4RuntimeError:
                    err = PipelineError(str(err), err.code)
                raise err from None
            if action != "VERIFY":
                self.index = P4InfoIndex(program.p4info)
        log.info("%s: pipeline %s (%s), cookie %#x", self.address, action, program.source, cookie)

    def pipeline_cookie(self) -> int | None:
        """Cookie of the switch's pipeline; None when it has none (or one without a cookie)."""
        resp = self._get_pipeline(GET.COOKIE_ONLY, "get pipeline cookie")
        if not resp.HasField("config") or not resp.config.HasField("cookie"):
            return None
        return resp.config.cookie.cookie

    # ---------------------------------------------------------------------------- write
    def _encode(self, i: int, op: str, ent: TableEntry | RegisterValue) -> Any:
        idx = self.p4info_index()
        kind = UPDATE.get(op)
        if kind is None:
            raise ValueError(f"update {i}: unknown operation {op!r} (insert, modify, delete)")
        u = p4runtime_pb2.Update(type=kind)
        try:
            if isinstance(ent, TableEntry):
                u.entity.table_entry.CopyFrom(idx.encode_entry(ent))
            elif isinstance(ent, RegisterValue):
                if op != "modify":
                    raise ValueError("registers can only be modified")
                u.entity.register_entry.CopyFrom(idx.encode_register(ent))
            else:
                raise ValueError(f"not a TableEntry or RegisterValue: {ent!r}")
        except ValueError as exc:
            raise ValueError(f"update {i} ({op}): {exc}") from None
        return u

    def write(self, updates: Sequence[Update], *, atomicity: str = "CONTINUE_ON_ERROR") -> None:
        """Write ``(op, entity)`` updates. CONTINUE_ON_ERROR writes go in requests of at most
        ``max_batch`` updates (all are tried); ROLLBACK_ON_ERROR and DATAPLANE_ATOMIC go in one
        request so that the whole write is applied or none of it. Raises :class:`WriteError`
        listing the failed updates, :class:`NotPrimary`, :class:`SwitchUnavailable`; an update
        that cannot be encoded raises :class:`ValueError` before anything is sent."""
        if atomicity not in ATOMICITY:
            raise ValueError(f"unknown atomicity {atomicity!r}: {sorted(ATOMICITY)}")
        updates = list(updates)
        if not updates:
            return
        encoded = [self._encode(i, op, ent) for i, (op, ent) in enumerate(updates)]
        size = self.max_batch if atomicity == "CONTINUE_ON_ERROR" else len(encoded)
        errors: list[tuple[int, str, str]] = []
        with self._lock:
            conn = self._require_primary()
            for start in range(0, len(encoded), size):
                chunk = encoded[start : start + size]
                req = self._req(WR, atomicity=ATOMICITY[atomicity])
                req.updates.extend(chunk)
                try:
                    conn.stub.Write(req, timeout=self.timeout_s + 0.002 * len(chunk))
                except grpc.RpcError as exc:
                    details = status_details(exc)
                    if len(details) != len(chunk):
                        err = self._rpc_error(conn, exc, "write")
                        if type(err) is not P4RuntimeError:
                            raise err from None
                        errors.extend(
                            (start + j, exc.code().name, exc.details() or "")
                            for j in range(len(chunk))
                        )
                        break
                    bad = [
                        (start + j, _CODE_NAME.get(e.canonical_code, "UNKNOWN"), e.message)
                        for j, e in enumerate(details)
                        if e.canonical_code != code_pb2.OK
                    ]
                    errors.extend(bad)
                    if atomicity == "CONTINUE_ON_ERROR":
                        self.updates_written += len(chunk) - len(bad)
                else:
                    self.updates_written += len(chunk)
        if errors:
            raise WriteError(errors, updates)

    # ----------------------------------------------------------------------------- read
    def _read(self, entity: p4runtime_pb2.Entity, what: str) -> list[p4runtime_pb2.Entity]:
        conn = self._require_conn()
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.append(entity)
        out: list[p4runtime_pb2.Entity] = []
        try:
            for resp in conn.stub.Read(req, timeout=self.timeout_s * 4):
                out.extend(resp.entities)
        except grpc.RpcError as exc:
            raise self._rpc_error(conn, exc, f"read {what}") from None
        return out

    def read_entries(self, table: str | None = None) -> list[TableEntry]:
        """Entries of ``table`` (None: every table) the controller owns: default and const
        entries are left out."""
        idx = self.p4info_index()
        te = p4runtime_pb2.TableEntry(table_id=idx.table_id(table) if table else 0)
        out = []
        for ent in self._read(p4runtime_pb2.Entity(table_entry=te), table or "tables"):
            pb = ent.table_entry
            if pb.is_default_action or pb.is_const:
                continue
            out.append(idx.decode_entry(pb))
        return out

    def read_register(self, name: str, index: int | None = None) -> dict[int, int]:
        """``{index: value}`` of a register (one cell, or all)."""
        idx = self.p4info_index()
        r = p4runtime_pb2.RegisterEntry(register_id=idx.register_id(name))
        if index is not None:
            r.index.index = index
        return {
            e.register_entry.index.index: int.from_bytes(e.register_entry.data.bitstring, "big")
            for e in self._read(p4runtime_pb2.Entity(register_entry=r), name)
        }

    def read_counter(self, name: str, index: int | None = None) -> dict[int, tuple[int, int]]:
        """``{index: (bytes, packets)}`` of an indexed counter (one cell, or all)."""
        idx = self.p4info_index()
        c = p4runtime_pb2.CounterEntry(counter_id=idx.counter_id(name))
        if index is not None:
            c.index.index = index
        return {
            e.counter_entry.index.index: (
                e.counter_entry.data.byte_count,
                e.counter_entry.data.packet_count,
            )
            for e in self._read(p4runtime_pb2.Entity(counter_entry=c), name)
        }


__all__ = [
    "ATOMICITY",
    "GET",
    "MAX_BATCH",
    "NotPrimary",
    "P4RuntimeClient",
    "P4RuntimeError",
    "PIPELINE_ACTIONS",
    "PipelineError",
    "SET",
    "SwitchUnavailable",
    "UPDATE",
    "Update",
    "WR",
    "WriteError",
    "program_cookie",
    "status_details",
]
