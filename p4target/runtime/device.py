"""One P4Runtime device: a :class:`~p4target.switch.Switch`, its arbitration, its forwarding
pipeline config (with VERIFY_AND_SAVE / COMMIT and RECONCILE_AND_COMMIT), the Write
atomicity modes, Read, and the switch-to-controller traffic (packet-in, digest lists, idle
timeout notifications)."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import threading
import time
from typing import Any

from p4target.protos import p4runtime_pb2
from p4target.switch import Switch, SwitchError, VirtualClock

from . import pipeline as pipeline_mod
from .arbitration import Arbitration, Session, election_id
from .codec import decode_uint, encode_sint, encode_uint
from .errors import Code, P4RTError, from_exception, invalid, not_found
from .state import State, Txn

log = logging.getLogger("p4target.runtime")
WR = p4runtime_pb2.WriteRequest
SET = p4runtime_pb2.SetForwardingPipelineConfigRequest


class _Abort(Exception):
    pass


class Device:
    """P4Runtime view of one switch (``device_id``)."""

    def __init__(self, switch: Switch, device_id: int, p4info: Any = None):
        self.switch = switch
        self.device_id = device_id
        self.lock = threading.RLock()
        self.arbitration = Arbitration(device_id)
        self.config: Any = None  # committed ForwardingPipelineConfig
        self.committed: State | None = None  # drives the data plane
        self.state: State | None = None  # what Read / Write address (the saved config's)
        self.saved: tuple[Any, dict[str, Any], pipeline_mod.Pipeline] | None = None
        self.saved_log: list[Any] = []
        switch.on_packet_in(self._on_packet_in)
        switch.on_digest(self._on_digest)
        switch.on_idle_timeout(self._on_idle)
        if p4info is not None:
            if switch.program is None:
                raise ValueError("a P4Info was given but the switch has no program loaded")
            j = switch.program.json
            pipe = pipeline_mod.build(p4info, j)
            cfg = p4runtime_pb2.ForwardingPipelineConfig(p4_device_config=json.dumps(j).encode())
            cfg.p4info.CopyFrom(p4info)
            self.config = cfg
            self.committed = self.state = State(switch, pipe)

    def close(self) -> None:
        """Stop receiving the switch's packet-in, digest and idle timeout callbacks."""
        sw = self.switch
        sw.off_packet_in(self._on_packet_in)
        sw.off_digest(self._on_digest)
        sw.off_idle_timeout(self._on_idle)

    # -- pipeline config -------------------------------------------------------------------------

    def set_pipeline(self, req: Any) -> None:
        with self.lock:
            self.arbitration.check_primary(req.role, election_id(req))
            action = req.action
            if action == SET.COMMIT:
                if req.HasField("config"):
                    raise invalid("COMMIT takes no config (it commits the saved one)")
                if self.saved is None:
                    raise not_found("no saved config to commit (VERIFY_AND_SAVE first)")
                cfg, j, pipe = self.saved
                log_, self.saved_log = self.saved_log, []
                self._commit(cfg, j, pipe)
                errs = self._replay(self.committed, log_)
                if errs:
                    log.warning(
                        "device %d: %d saved writes failed on COMMIT: %s",
                        self.device_id,
                        len(errs),
                        errs[0],
                    )
                return
            if action not in (
                SET.VERIFY,
                SET.VERIFY_AND_SAVE,
                SET.VERIFY_AND_COMMIT,
                SET.RECONCILE_AND_COMMIT,
            ):
                raise invalid("unknown SetForwardingPipelineConfig action")
            if not req.HasField("config"):
                raise invalid("a forwarding pipeline config is required")
            cfg = req.config
            j, pipe, shadow = self._verify(cfg)
            if action == SET.VERIFY:
                return
            if action == SET.VERIFY_AND_SAVE:
                self.saved = (cfg, j, pipe)
                self.saved_log = []
                self.state = State(shadow, pipe)
            elif action == SET.VERIFY_AND_COMMIT:
                self._commit(cfg, j, pipe)
            else:
                self._reconcile(cfg, j, pipe)

    def _verify(self, cfg: Any) -> tuple[dict[str, Any], pipeline_mod.Pipeline, Switch]:
        try:
            j = json.loads(cfg.p4_device_config)
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(f"p4_device_config is not BMv2 JSON: {exc}") from None
        pipe = pipeline_mod.build(cfg.p4info, j)
        try:
            shadow = Switch(j, device_id=self.device_id, clock=VirtualClock())
        except SwitchError as exc:
            raise invalid(f"the switch cannot realize this config: {exc}") from None
        return j, pipe, shadow

    def _commit(self, cfg: Any, j: dict[str, Any], pipe: pipeline_mod.Pipeline) -> None:
        self.switch.load_config(j)
        self.config = p4runtime_pb2.ForwardingPipelineConfig()
        self.config.CopyFrom(cfg)
        self.committed = self.state = State(self.switch, pipe)
        self.saved = None
        self.saved_log = []

    def _replay(self, state: State, updates: list[Any]) -> list[P4RTError]:
        errs = []
        for u in updates:
            txn = Txn()
            try:
                with state.sw.batch():
                    state.write(u, txn)
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                txn.rollback()
                errs.append(from_exception(exc))
        return errs

    def _reconcile(self, cfg: Any, j: dict[str, Any], pipe: pipeline_mod.Pipeline) -> None:
        old = self.committed
        if old is None:
            self._commit(cfg, j, pipe)
            return
        snapshot = old.snapshot_updates()
        old_cfg, old_json = self.config, self.switch.program.json
        with self.switch.lock:  # packets see the old pipeline or the reconciled new one
            self._commit(cfg, j, pipe)
            errs = self._replay(self.committed, snapshot)
            if errs:
                self._commit(old_cfg, old_json, old.p)
                self._replay(self.committed, snapshot)
                raise invalid(f"the forwarding state cannot be preserved: {errs[0]}")

    def get_pipeline(self, response_type: int) -> Any:
        resp = p4runtime_pb2.GetForwardingPipelineConfigResponse()
        with self.lock:
            cfg = self.saved[0] if self.saved is not None else self.config
            if cfg is None:
                return resp
            R = p4runtime_pb2.GetForwardingPipelineConfigRequest
            out = resp.config
            if cfg.HasField("cookie"):
                out.cookie.CopyFrom(cfg.cookie)
            if response_type in (R.ALL, R.P4INFO_AND_COOKIE):
                out.p4info.CopyFrom(cfg.p4info)
            if response_type in (R.ALL, R.DEVICE_CONFIG_AND_COOKIE):
                out.p4_device_config = cfg.p4_device_config
        return resp

    # -- Write / Read ----------------------------------------------------------------------------

    def write(self, req: Any) -> list[P4RTError | None] | None:
        """Apply a WriteRequest; None when every update succeeded, else one error (or None)
        per update.  RPC-wide problems raise P4RTError."""
        with self.lock, _no_gc():
            self.arbitration.check_primary(req.role, election_id(req))
            state = self.state
            if state is None:
                raise P4RTError(Code.FAILED_PRECONDITION, "no forwarding pipeline config set")
            updates = req.updates
            sw = state.sw
            if req.atomicity == WR.CONTINUE_ON_ERROR:
                errors: list[P4RTError | None] = [None] * len(updates)
                failed = False
                for i, u in enumerate(updates):
                    txn = Txn()
                    try:
                        with sw.batch():
                            state.write(u, txn)
                    except Exception as exc:  # noqa: BLE001 - becomes the update's status
                        txn.rollback()
                        errors[i] = self._error(exc)
                        failed = True
                    else:
                        if self.saved is not None:
                            self.saved_log.append(u)
                return errors if failed else None
            if req.atomicity not in (WR.ROLLBACK_ON_ERROR, WR.DATAPLANE_ATOMIC):
                raise invalid(f"unknown atomicity {req.atomicity}")
            txn = Txn()
            bad: tuple[int, P4RTError] | None = None
            try:
                with sw.batch():  # packets see the batch whole or not at all
                    for i, u in enumerate(updates):
                        try:
                            state.write(u, txn)
                        except Exception as exc:  # noqa: BLE001
                            bad = (i, self._error(exc))
                            raise _Abort from None
            except _Abort:
                txn.rollback()
                assert bad is not None
                aborted = P4RTError(Code.ABORTED, f"not applied: update {bad[0]} failed")
                errors = [aborted] * len(updates)
                errors[bad[0]] = bad[1]
                return errors
            if self.saved is not None:
                self.saved_log.extend(updates)
            return None

    @staticmethod
    def _error(exc: BaseException) -> P4RTError:
        err = from_exception(exc)
        if err.code == Code.INTERNAL:
            log.error("internal error while serving a P4Runtime request", exc_info=exc)
        return err

    def read(self, req: Any) -> tuple[list[Any], list[P4RTError | None] | None]:
        with self.lock:
            state = self.state
            if state is None:
                raise P4RTError(Code.FAILED_PRECONDITION, "no forwarding pipeline config set")
            out: list[Any] = []
            errors: list[P4RTError | None] = [None] * len(req.entities)
            failed = False
            for i, e in enumerate(req.entities):
                try:
                    out.extend(state.read(e))
                except Exception as exc:  # noqa: BLE001 - becomes the request's status
                    errors[i] = self._error(exc)
                    failed = True
            return out, (errors if failed else None)

    # -- controller <-> data plane ---------------------------------------------------------------

    def packet_out(self, session: Session, pkt: Any) -> P4RTError | None:
        state = self.committed
        if state is None:
            return P4RTError(Code.FAILED_PRECONDITION, "no forwarding pipeline config set")
        if not self.arbitration.is_primary(session):
            return P4RTError(Code.PERMISSION_DENIED, "only the primary controller sends packets")
        meta = state.p.packet_out
        header = b""
        if meta is not None:
            given: dict[int, bytes] = {}
            for m in pkt.metadata:
                if m.metadata_id in given:
                    return invalid(f"packet_out metadata id {m.metadata_id} given twice")
                given[m.metadata_id] = m.value
            x = 0
            try:
                for mid, name, width in meta.fields:
                    if mid not in given:
                        return invalid(f"packet_out metadata {name} (id {mid}) missing")
                    x = (x << width) | decode_uint(given.pop(mid), width, f"packet_out {name}")
            except P4RTError as exc:
                return invalid(exc.message)
            if given:
                return invalid(f"unknown packet_out metadata id(s) {sorted(given)}")
            header = x.to_bytes(meta.nbytes, "big")
        elif len(pkt.metadata):
            return invalid("the P4 program has no packet_out controller header")
        if self.switch.cpu_port is None:
            return P4RTError(Code.FAILED_PRECONDITION, "the switch has no CPU port (--cpu-port)")
        self.switch.inject(header + pkt.payload)
        return None

    def _on_packet_in(self, data: bytes) -> None:
        state = self.committed
        if state is None:
            return
        msg = p4runtime_pb2.StreamMessageResponse()
        meta = state.p.packet_in
        if meta is not None:
            if len(data) < meta.nbytes:
                log.warning("device %d: packet-in shorter than its header, dropped", self.device_id)
                return
            x = int.from_bytes(data[: meta.nbytes], "big")
            shift = meta.nbytes * 8
            for mid, _name, width in meta.fields:
                shift -= width
                msg.packet.metadata.add(
                    metadata_id=mid, value=encode_uint((x >> shift) & ((1 << width) - 1))
                )
            data = data[meta.nbytes :]
        msg.packet.payload = data
        for s in self.arbitration.primaries():
            s.send(msg)

    def _on_digest(self, m: Any) -> None:
        state = self.committed
        if state is None:
            return
        spec = state.p.digests_by_name.get(m.name)
        if spec is None or spec.id not in state.digest_cfg:
            return
        dl = p4runtime_pb2.DigestList(digest_id=spec.id, list_id=m.msg_id, timestamp=time.time_ns())
        for sample in dict.fromkeys(m.samples):  # a list holds distinct messages only
            d = dl.data.add()
            if spec.kind == "bitstring":
                d.bitstring = _enc(sample[0], spec.widths[0])
                continue
            members = d.struct.members if spec.kind == "struct" else d.tuple.members
            for v, w in zip(sample, spec.widths, strict=False):
                members.add(bitstring=_enc(v, w))
        msg = p4runtime_pb2.StreamMessageResponse(digest=dl)
        for s in self.arbitration.primaries():
            s.send(msg)

    def digest_ack(self, session: Session, ack: Any) -> P4RTError | None:
        state = self.committed
        if state is None:
            return P4RTError(Code.FAILED_PRECONDITION, "no forwarding pipeline config set")
        if not self.arbitration.is_primary(session):
            return P4RTError(Code.PERMISSION_DENIED, "only the primary controller acks digests")
        spec = state.p.digests.get(ack.digest_id)
        if spec is None:
            return invalid(f"unknown digest id {ack.digest_id}")
        self.switch.digest_ack(spec.name, ack.list_id)
        return None

    def _on_idle(self, table: str, info: dict[str, Any]) -> None:
        state = self.committed
        if state is None:
            return
        found = state.idle_entry(table, info)
        if found is None:
            return
        te, rec = found
        if rec.idle_ns:
            try:  # the spec resets the timer: a new notification after another TTL
                self.switch.table_entry_ttl(table, rec.handle, rec.idle_ns / 1000.0)
            except SwitchError:
                return  # entry deleted meanwhile
        msg = p4runtime_pb2.StreamMessageResponse()
        msg.idle_timeout_notification.table_entry.append(te)
        msg.idle_timeout_notification.timestamp = time.time_ns()
        for s in self.arbitration.primaries():
            s.send(msg)


@contextlib.contextmanager
def _no_gc():
    """Defer cyclic garbage collection while a batch is applied: the translation allocates
    many small objects, and full collections over the (large) program heap would otherwise
    cost about a third of the write throughput.  Reference counting still frees memory."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _enc(v: int, w: tuple[int, bool]) -> bytes:
    width, signed = w
    if signed and width and v >> (width - 1):
        return encode_sint(v - (1 << width))
    return encode_uint(v)
