"""The session side of :class:`~controlplane.p4rt.P4RuntimeClient`: channel, StreamChannel,
arbitration, packet-in/out and the stream barrier.

Arbitration: the client sends its election id (a ``Uint128``) on the stream; the switch's
``MasterArbitrationUpdate`` says whether it is the primary (status OK) or a backup
(ALREADY_EXISTS: another controller is primary, NOT_FOUND: none is). When a controller with a
higher election id arrives the switch advises this client that it is now a backup:
:attr:`P4RuntimeClient.is_primary` turns false, the ``on_arbitration`` callbacks run, and writes
raise :class:`NotPrimary` until :meth:`P4RuntimeClient.reclaim` takes primacy back.

A background thread reads the stream (arbitration advisories, packet-in, stream errors); a
lost session runs the ``on_disconnect`` callbacks once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc
from google.rpc import code_pb2

from p4target.protos import p4runtime_pb2, p4runtime_pb2_grpc

from .p4rt_errors import _CODE_NAME, NotPrimary, SwitchUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from .p4rt import P4RuntimeClient

log = logging.getLogger("controlplane.p4rt")

_MAX_MESSAGE = 256 * 1024 * 1024
_OPTIONS = [
    # a failed batch carries one p4.v1.Error per update in the trailers (spec appendix)
    ("grpc.max_metadata_size", 8 << 20),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
]


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


class StreamMixin:
    """Session and stream methods of :class:`~controlplane.p4rt.P4RuntimeClient` (its
    ``__init__`` holds the state they use)."""

    # ------------------------------------------------------------------------- session
    def connect(self: P4RuntimeClient) -> None:
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

    def close(self: P4RuntimeClient) -> None:
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

    def reclaim(
        self: P4RuntimeClient, election_id: int | None = None, timeout_s: float | None = None
    ) -> bool:
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

    def barrier(self: P4RuntimeClient, timeout_s: float | None = None) -> None:
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

    def _arbitrate(self: P4RuntimeClient, conn: _Conn, eid: int, timeout_s: float) -> bool:
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

    def _receive(self: P4RuntimeClient, conn: _Conn) -> None:
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

    def _lost(self: P4RuntimeClient, conn: _Conn, reason: str) -> None:
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

    def _on_arbitration(self: P4RuntimeClient, conn: _Conn, arb: Any) -> None:
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

    def _on_packet(self: P4RuntimeClient, pkt: Any) -> None:
        try:
            payload, meta = self.p4info_index().decode_packet_in(pkt)
        except Exception:  # noqa: BLE001 - a packet we cannot decode is dropped
            log.exception("%s: cannot decode a packet-in", self.address)
            return
        for cb in list(self._packet_cbs):
            _safe(cb, payload, meta)

    def on_packet_in(
        self: P4RuntimeClient, callback: Callable[[bytes, dict[str, int]], None]
    ) -> None:
        """``callback(payload, metadata by name)`` for every packet-in (stream thread)."""
        self._packet_cbs.append(callback)

    def on_disconnect(self: P4RuntimeClient, callback: Callable[[], None]) -> None:
        """``callback()`` when the session is lost (not after :meth:`close`)."""
        self._disconnect_cbs.append(callback)

    def on_arbitration(self: P4RuntimeClient, callback: Callable[[bool], None]) -> None:
        """``callback(is_primary)`` when the switch makes this client primary or backup."""
        self._arbitration_cbs.append(callback)

    def on_stream_error(self: P4RuntimeClient, callback: Callable[[str, str], None]) -> None:
        """``callback(code name, message)`` for each StreamError (e.g. a refused packet-out)."""
        self._stream_error_cbs.append(callback)

    # -------------------------------------------------------------------------- helpers
    def _require_conn(self: P4RuntimeClient) -> _Conn:
        conn = self._conn
        if conn is None or not self.connected:
            raise SwitchUnavailable(f"{self.address} device {self.device_id}: not connected")
        return conn

    def _require_primary(self: P4RuntimeClient) -> _Conn:
        conn = self._require_conn()
        if not self.is_primary:
            raise NotPrimary(
                f"{self.address} device {self.device_id}: this controller is a backup "
                f"({self.arbitration_status}); reclaim() to write again"
            )
        return conn

    # ------------------------------------------------------------------------ packet-out
    def packet_out(self: P4RuntimeClient, payload: bytes, **metadata: int) -> None:
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
