"""A thin P4Runtime client over grpcio and the ``p4runtime`` package's protos.

One :class:`P4RuntimeClient` per switch: a channel, a StreamChannel read by a background thread
(arbitration advisories, packet-in, stream errors, disconnects), and the unary RPCs the control
plane needs (pipeline config, Write, Read). Entities are the controller's intent values
(:class:`~controlplane.entries.TableEntry`, :class:`~controlplane.entries.RegisterValue`),
translated by :class:`~controlplane.p4info.P4InfoIndex`.

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
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc
from google.rpc import code_pb2, status_pb2

from p4target.protos import p4info_pb2, p4runtime_pb2, p4runtime_pb2_grpc

from .entries import RegisterValue, TableEntry
from .p4info import P4InfoIndex
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
_MAX_MESSAGE = 256 * 1024 * 1024
_OPTIONS = [
    # a failed batch carries one p4.v1.Error per update in the trailers (spec appendix)
    ("grpc.max_metadata_size", 8 << 20),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
]
_CODE_NAME = {c.value[0]: c.name for c in grpc.StatusCode}

Update = tuple[str, TableEntry | RegisterValue]


# ----------------------------------------------------------------------------------- errors
class SwitchUnavailable(ConnectionError):
    """The switch cannot be reached, or the session to it was lost."""


class NotPrimary(PermissionError):
    """This client is a backup: another controller is the primary."""


class P4RuntimeError(RuntimeError):
    """An RPC the switch refused: ``code`` is the gRPC status name."""

    def __init__(self, message: str, code: str = "UNKNOWN"):
        super().__init__(message)
        self.code = code


class PipelineError(P4RuntimeError):
    """SetForwardingPipelineConfig was refused."""


class WriteError(P4RuntimeError):
    """A Write the switch refused, in whole or in part.

    ``errors``: ``(update index, code name, message)`` per failed update, indices into the
    caller's ``updates``; ``failed``: the same with the update itself instead of the index.
    ABORTED entries are updates a ROLLBACK_ON_ERROR / DATAPLANE_ATOMIC batch did not apply.
    """

    def __init__(self, errors: list[tuple[int, str, str]], updates: Sequence[Update]):
        self.errors = errors
        self.failed = [(updates[i][0], updates[i][1], c, m) for i, c, m in errors]
        real = [e for e in errors if e[1] != "ABORTED"] or errors
        i, code, msg = real[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"update {i} ({updates[i][0]}): {code}: {msg}{more}", code)


def program_cookie(program: Program) -> int:
    """The pipeline cookie of a program: the first 8 bytes of sha256(JSON + P4Info)."""
    h = hashlib.sha256(program.json_bytes)
    h.update(program.p4info.SerializeToString(deterministic=True))
    return int.from_bytes(h.digest()[:8], "big")


def status_details(exc: grpc.RpcError) -> list[p4runtime_pb2.Error]:
    """The ``p4.v1.Error`` details of a failed RPC's ``google.rpc.Status`` (empty if none)."""
    for k, v in exc.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(v)
            out = []
            for a in st.details:
                e = p4runtime_pb2.Error()
                if a.Unpack(e):
                    out.append(e)
            return out
    return []


def _u128(v: int) -> p4runtime_pb2.Uint128:
    return p4runtime_pb2.Uint128(high=v >> 64, low=v & ((1 << 64) - 1))


class _Conn:
    """One channel + StreamChannel (a reconnect makes a new one)."""

    def __init__(self, channel: grpc.Channel):
        self.channel = channel
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
        self.out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.call: Any = None
        self.alive = True
        self.arbitrated = threading.Event()
        self.end_reason = ""

    def requests(self) -> Iterator[Any]:
        while True:
            m = self.out.get()
            if m is None:
                return
            yield m

    def shutdown(self) -> None:
        self.alive = False
        self.out.put(None)
        if self.call is not None:
            self.call.cancel()
        self.channel.close()


# ----------------------------------------------------------------------------------- client
class P4RuntimeClient:
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

    # ------------------------------------------------------------------------- session
    def connect(self) -> None:
        """Open the channel and the StreamChannel and arbitrate; sets :attr:`is_primary`.

        Raises :class:`SwitchUnavailable` when the switch cannot be reached or refuses the
        arbitration (e.g. another controller uses the same election id)."""
        with self._conn_lock:
            if self.connected:
                return
            if self._conn is not None:
                self._conn.shutdown()
                self._conn = None
            channel = grpc.insecure_channel(self.address, options=_OPTIONS)
            try:
                _wait_ready(channel, self.timeout_s, self.address)
            except SwitchUnavailable:
                channel.close()
                raise
            conn = _Conn(channel)
            conn.call = conn.stub.StreamChannel(conn.requests())
            self._conn = conn
            threading.Thread(
                target=self._receive, args=(conn,), name=f"p4rt-rx-{self.address}", daemon=True
            ).start()
            m = p4runtime_pb2.StreamMessageRequest()
            m.arbitration.device_id = self.device_id
            m.arbitration.election_id.CopyFrom(_u128(self.election_id))
            conn.out.put(m)
            got = conn.arbitrated.wait(self.timeout_s)
            with self._cond:
                if got and conn.alive and self.arbitration_status:
                    self.connected = True
                    log.info(
                        "%s device %d: connected, %s",
                        self.address,
                        self.device_id,
                        "primary" if self.is_primary else f"backup ({self.arbitration_status})",
                    )
                    return
            self._conn = None
            conn.shutdown()
            reason = conn.end_reason or "no arbitration answer"
            raise SwitchUnavailable(
                f"{self.address} device {self.device_id}: arbitration failed: {reason}"
            )

    def close(self) -> None:
        """End the session (no ``on_disconnect`` callbacks: this is not a loss)."""
        with self._conn_lock:
            conn, self._conn = self._conn, None
            with self._cond:
                self.connected = False
                self.is_primary = False
                self.arbitration_status = ""
                self._cond.notify_all()
            if conn is not None:
                conn.shutdown()

    def reclaim(self, election_id: int | None = None, timeout_s: float | None = None) -> bool:
        """Become primary again: re-arbitrate with ``election_id`` (default: above the highest
        the switch has seen). Returns :attr:`is_primary`."""
        conn = self._require_conn()
        with self._arb_lock:
            with self._cond:
                if self.is_primary and election_id is None:
                    return True
                eid = election_id or max(self.election_id, (self.highest_election_id or 0) + 1)
                self.election_id = eid
            self._arbitrate(conn, eid, timeout_s or self.timeout_s)
            return self.is_primary

    def barrier(self, timeout_s: float | None = None) -> None:
        """Stream barrier: re-send this session's MasterArbitrationUpdate (same election id,
        so nothing changes) and wait for the switch's answer. The switch handles the stream's
        messages in order and answers on the same FIFO stream, so on return every packet-out
        sent before the call has been handed to the switch (``Switch.inject``), and every
        packet-in the switch queued for this session before it read the barrier has been
        through the ``on_packet_in`` callbacks. Raises :class:`SwitchUnavailable` when the
        session is lost or no answer comes within ``timeout_s`` (default: the client's).

        Caveat: an advisory the switch sends at the same moment for another reason (a second
        controller arbitrating) is taken for the answer."""
        conn = self._require_conn()
        with self._arb_lock:
            if not self._arbitrate(conn, self.election_id, timeout_s or self.timeout_s):
                raise SwitchUnavailable(
                    f"{self.address} device {self.device_id}: stream barrier: "
                    + ("session lost" if not conn.alive else "no answer")
                )

    def _arbitrate(self, conn: _Conn, eid: int, timeout_s: float) -> bool:
        """Send a MasterArbitrationUpdate with ``eid`` on ``conn``; wait for the next advisory
        (False: none came, or the session ended). Called with ``_arb_lock`` held."""
        with self._cond:
            seq = self._arb_seq
        m = p4runtime_pb2.StreamMessageRequest()
        m.arbitration.device_id = self.device_id
        m.arbitration.election_id.CopyFrom(_u128(eid))
        conn.out.put(m)
        with self._cond:
            ok = self._cond.wait_for(lambda: self._arb_seq > seq or not conn.alive, timeout_s)
            return bool(ok) and conn.alive and self._arb_seq > seq

    def _receive(self, conn: _Conn) -> None:
        reason = "the switch ended the stream"
        try:
            for msg in conn.call:
                which = msg.WhichOneof("update")
                if which == "arbitration":
                    self._on_arbitration(conn, msg.arbitration)
                elif which == "packet":
                    self._on_packet(msg.packet)
                elif which == "error":
                    e = msg.error
                    name = _CODE_NAME.get(e.canonical_code, str(e.canonical_code))
                    self.stream_errors.append((name, e.message))
                    log.warning("%s: stream error %s: %s", self.address, name, e.message)
                    for cb in list(self._stream_error_cbs):
                        _safe(cb, name, e.message)
                else:
                    log.debug("%s: ignored stream message %s", self.address, which)
        except grpc.RpcError as exc:
            reason = f"{exc.code().name}: {exc.details()}"
        except Exception:  # noqa: BLE001 - the stream must end cleanly
            log.exception("%s: stream reader failed", self.address)
            reason = "stream reader failed"
        conn.end_reason = reason
        conn.arbitrated.set()
        self._lost(conn, reason)

    def _lost(self, conn: _Conn, reason: str) -> None:
        """The session ``conn`` is gone: mark disconnected and tell the callbacks once."""
        with self._cond:
            conn.alive = False
            fire = self._conn is conn and self.connected
            if fire:
                self.connected = False
                self.is_primary = False
            self._cond.notify_all()
        if fire:
            log.warning("%s device %d: disconnected (%s)", self.address, self.device_id, reason)
            for cb in list(self._disconnect_cbs):
                _safe(cb)

    def _on_arbitration(self, conn: _Conn, arb: Any) -> None:
        primary = arb.status.code == code_pb2.OK
        with self._cond:
            if conn is not self._conn:
                return
            changed = self.connected and primary != self.is_primary
            self.is_primary = primary
            self.arbitration_status = _CODE_NAME.get(arb.status.code, str(arb.status.code))
            if arb.HasField("election_id"):
                self.highest_election_id = (arb.election_id.high << 64) | arb.election_id.low
            self._arb_seq += 1
            self._cond.notify_all()
        conn.arbitrated.set()
        if changed:
            log.warning(
                "%s device %d: now %s (%s)",
                self.address,
                self.device_id,
                "primary" if primary else "backup",
                arb.status.message,
            )
            for cb in list(self._arbitration_cbs):
                _safe(cb, primary)

    def _on_packet(self, pkt: Any) -> None:
        try:
            payload, meta = self.p4info_index().decode_packet_in(pkt)
        except Exception:  # noqa: BLE001 - a packet we cannot decode is dropped
            log.exception("%s: cannot decode a packet-in", self.address)
            return
        for cb in list(self._packet_cbs):
            _safe(cb, payload, meta)

    def on_packet_in(self, callback: Callable[[bytes, dict[str, int]], None]) -> None:
        """``callback(payload, metadata by name)`` for every packet-in (stream thread)."""
        self._packet_cbs.append(callback)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        """``callback()`` when the session is lost (not after :meth:`close`)."""
        self._disconnect_cbs.append(callback)

    def on_arbitration(self, callback: Callable[[bool], None]) -> None:
        """``callback(is_primary)`` when the switch makes this client primary or backup."""
        self._arbitration_cbs.append(callback)

    def on_stream_error(self, callback: Callable[[str, str], None]) -> None:
        """``callback(code name, message)`` for each StreamError (e.g. a refused packet-out)."""
        self._stream_error_cbs.append(callback)

    # -------------------------------------------------------------------------- helpers
    def _require_conn(self) -> _Conn:
        conn = self._conn
        if conn is None or not self.connected:
            raise SwitchUnavailable(f"{self.address} device {self.device_id}: not connected")
        return conn

    def _require_primary(self) -> _Conn:
        conn = self._require_conn()
        if not self.is_primary:
            raise NotPrimary(
                f"{self.address} device {self.device_id}: this controller is a backup "
                f"({self.arbitration_status}); reclaim() to write again"
            )
        return conn

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

    # ------------------------------------------------------------------------ packet-out
    def packet_out(self, payload: bytes, **metadata: int) -> None:
        """Send a packet through the switch's CPU port (metadata by packet_out names; fields
        not given are 0). The switch's refusals come back as stream errors."""
        msg = p4runtime_pb2.StreamMessageRequest()
        msg.packet.CopyFrom(self.p4info_index().packet_out(payload, **metadata))
        self._require_primary().out.put(msg)


def _wait_ready(channel: grpc.Channel, timeout_s: float, address: str) -> None:
    """Wait until ``channel`` connects; fail fast when the connection is refused."""
    done = threading.Event()
    seen: list[grpc.ChannelConnectivity] = []
    final = (
        grpc.ChannelConnectivity.READY,
        grpc.ChannelConnectivity.TRANSIENT_FAILURE,
        grpc.ChannelConnectivity.SHUTDOWN,
    )

    def watch(state: grpc.ChannelConnectivity) -> None:
        seen.append(state)
        if state in final:
            done.set()

    channel.subscribe(watch, try_to_connect=True)
    try:
        done.wait(timeout_s)
    finally:
        channel.unsubscribe(watch)
    state = seen[-1] if seen else None
    if state is not grpc.ChannelConnectivity.READY:
        why = "timed out" if state not in final else state.name.lower().replace("_", " ")
        raise SwitchUnavailable(f"{address}: cannot connect ({why})")


def _safe(cb: Callable[..., Any], *args: Any) -> None:
    try:
        cb(*args)
    except Exception:  # noqa: BLE001 - a callback must not kill the stream thread
        log.exception("P4Runtime callback %r failed", cb)
