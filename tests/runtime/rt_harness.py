"""Helpers for the P4Runtime server tests: compiled test programs, a hand-made-proto client
(for error cases and entities p4runtime-shell does not cover), and packet builders."""

from __future__ import annotations

import queue
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from controlplane.p4rt import status_details
from p4target.compiler import compile_file
from p4target.protos import p4info_pb2, p4runtime_pb2, p4runtime_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
P4DIR = Path(__file__).resolve().parent / "p4"
CPU_PORT = 255


@dataclass
class Program:
    json_path: Path
    p4info_path: Path
    json: dict
    p4info: Any

    def _find(self, items: Any, name: str) -> Any:
        for x in items:
            if x.preamble.name == name or x.preamble.alias == name:
                return x
        raise KeyError(name)

    def table(self, name: str) -> Any:
        return self._find(self.p4info.tables, name)

    def table_id(self, name: str) -> int:
        return self.table(name).preamble.id

    def action_id(self, name: str) -> int:
        return self._find(self.p4info.actions, name).preamble.id

    def field_id(self, table: str, name: str) -> int:
        for mf in self.table(table).match_fields:
            if mf.name == name:
                return mf.id
        raise KeyError(name)

    def id(self, kind: str, name: str) -> int:
        return self._find(getattr(self.p4info, kind), name).preamble.id

    def config(self, cookie: int | None = None) -> Any:
        cfg = p4runtime_pb2.ForwardingPipelineConfig(p4_device_config=self.json_path.read_bytes())
        cfg.p4info.CopyFrom(self.p4info)
        if cookie is not None:
            cfg.cookie.cookie = cookie
        return cfg


def compile_program(src: Path, out_dir: Path) -> Program:
    res = compile_file(str(src))
    out_dir.mkdir(parents=True, exist_ok=True)
    jp = out_dir / (src.stem + ".json")
    pp = out_dir / (src.stem + ".p4info.txtpb")
    res.write(jp, pp)
    return Program(jp, pp, res.json, res.p4info)


# -- hand-made-proto client ----------------------------------------------------------------------


def u128(v: int) -> Any:
    return p4runtime_pb2.Uint128(high=v >> 64, low=v & ((1 << 64) - 1))


class Client:
    """A P4Runtime client built on the raw stubs (one StreamChannel)."""

    def __init__(
        self,
        address: str,
        device_id: int,
        election: int | None = 1,
        role: str | None = None,
        arbitrate: bool = True,
    ):
        self.device_id = device_id
        self.election = election
        self.role = role
        # large failed batches carry one p4.v1.Error per update in the trailers: raise gRPC's
        # 16 KiB metadata limit as the P4Runtime spec's appendix advises clients to
        self.channel = grpc.insecure_channel(address, options=[("grpc.max_metadata_size", 8 << 20)])
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self._out: queue.Queue[Any] = queue.Queue()
        self.inbox: dict[str, queue.Queue[Any]] = {
            k: queue.Queue()
            for k in (
                "arbitration",
                "packet",
                "digest",
                "idle_timeout_notification",
                "error",
                "other",
            )
        }
        self.stream_error: grpc.RpcError | None = None

        def requests():
            while True:
                m = self._out.get()
                if m is None:
                    return
                yield m

        self._stream = self.stub.StreamChannel(requests())

        def receive():
            try:
                for m in self._stream:
                    self.inbox[m.WhichOneof("update") or "other"].put(m)
            except grpc.RpcError as exc:
                self.stream_error = exc
            for q in self.inbox.values():
                q.put(None)

        self._thread = threading.Thread(target=receive, daemon=True)
        self._thread.start()
        if arbitrate:
            self.arbitrate(election)

    def arbitrate(
        self, election: int | None, device_id: int | None = None, role: str | None = None
    ) -> Any:
        self.election = election
        m = p4runtime_pb2.StreamMessageRequest()
        m.arbitration.device_id = self.device_id if device_id is None else device_id
        if election is not None:
            m.arbitration.election_id.CopyFrom(u128(election))
        r = self.role if role is None else role
        if r is not None:
            m.arbitration.role.name = r
        self._out.put(m)
        return self.get("arbitration")

    def get(self, kind: str, timeout: float = 3.0) -> Any:
        try:
            return self.inbox[kind].get(timeout=timeout)
        except queue.Empty:
            return None

    def send(self, msg: Any) -> None:
        self._out.put(msg)

    def packet_out(self, payload: bytes, metadata: dict[int, bytes]) -> None:
        m = p4runtime_pb2.StreamMessageRequest()
        m.packet.payload = payload
        for mid, v in metadata.items():
            m.packet.metadata.add(metadata_id=mid, value=v)
        self._out.put(m)

    def _req(self, cls: Any) -> Any:
        r = cls(device_id=self.device_id)
        if self.election is not None:
            r.election_id.CopyFrom(u128(self.election))
        if self.role is not None:
            r.role = self.role
        return r

    def write(self, *updates: Any, atomicity: int = 0) -> Any:
        req = self._req(p4runtime_pb2.WriteRequest)
        req.updates.extend(updates)
        req.atomicity = atomicity
        return self.stub.Write(req)

    def write_error(self, *updates: Any, atomicity: int = 0) -> tuple[Any, list[Any]]:
        """(gRPC code, [p4.v1.Error per update]) of a Write expected to fail."""
        try:
            self.write(*updates, atomicity=atomicity)
        except grpc.RpcError as exc:
            return exc.code(), details(exc)
        raise AssertionError("the write succeeded")

    def read(self, *entities: Any) -> list[Any]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        out = []
        for resp in self.stub.Read(req):
            out.extend(resp.entities)
        return out

    def read_error(self, *entities: Any) -> tuple[Any, list[Any], list[Any]]:
        req = p4runtime_pb2.ReadRequest(device_id=self.device_id)
        req.entities.extend(entities)
        got: list[Any] = []
        try:
            for resp in self.stub.Read(req):
                got.extend(resp.entities)
        except grpc.RpcError as exc:
            return exc.code(), details(exc), got
        raise AssertionError("the read succeeded")

    def set_pipeline(
        self, prog: Program | None, action: int = 3, cookie: int | None = None, config: Any = None
    ) -> Any:
        req = self._req(p4runtime_pb2.SetForwardingPipelineConfigRequest)
        req.action = action
        if config is not None:
            req.config.CopyFrom(config)
        elif prog is not None:
            req.config.CopyFrom(prog.config(cookie))
        return self.stub.SetForwardingPipelineConfig(req)

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()
        self._thread.join(timeout=3)


details = status_details  # the p4.v1.Error details of a failed RPC


def update(kind: str, **entity: Any) -> Any:
    u = p4runtime_pb2.Update(type=getattr(p4runtime_pb2.Update, kind))
    for k, v in entity.items():
        getattr(u.entity, k).CopyFrom(v)
    return u


def entity(**kw: Any) -> Any:
    e = p4runtime_pb2.Entity()
    for k, v in kw.items():
        getattr(e, k).CopyFrom(v)
    return e


def b(v: int, n: int | None = None) -> bytes:
    """Canonical (or ``n``-byte) big-endian byte string."""
    if n is None:
        n = max(1, (v.bit_length() + 7) // 8)
    return v.to_bytes(n, "big")


# -- packets -------------------------------------------------------------------------------------


def mac(s: str) -> int:
    return int(s.replace(":", ""), 16)


def eth(dst: int, src: int, etype: int) -> bytes:
    return dst.to_bytes(6, "big") + src.to_bytes(6, "big") + struct.pack("!H", etype)


def ipv4(
    src: int, dst: int, proto: int = 17, ttl: int = 64, dscp: int = 0, payload: bytes = b""
) -> bytes:
    total = 20 + len(payload)
    hdr = struct.pack("!BBHHHBBHII", 0x45, dscp, total, 0, 0, ttl, proto, 0, src, dst)
    return hdr + payload


def udp(sport: int, dport: int, payload: bytes = b"hello") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def frame(
    dst: str = "00:00:00:00:00:aa",
    src: str = "00:00:00:00:00:01",
    ip_src: int = 0x0A000001,
    ip_dst: int = 0x0A000002,
    ttl: int = 64,
    sport: int = 1000,
    dport: int = 80,
    dscp: int = 0,
) -> bytes:
    return eth(mac(dst), mac(src), 0x0800) + ipv4(ip_src, ip_dst, 17, ttl, dscp, udp(sport, dport))


P4Info = p4info_pb2.P4Info


def canon_entry(te: Any) -> Any:
    """A TableEntry with canonical byte strings (p4runtime-shell pads some of them)."""
    out = p4runtime_pb2.TableEntry()
    out.CopyFrom(te)

    def c(v: bytes) -> bytes:
        return v.lstrip(b"\x00") or b"\x00"

    def fix(action: Any) -> None:
        for q in action.params:
            q.value = c(q.value)

    for fm in out.match:
        which = fm.WhichOneof("field_match_type")
        sub = getattr(fm, which)
        for f in ("value", "mask", "low", "high"):
            if hasattr(sub, f) and getattr(sub, f):
                setattr(sub, f, c(getattr(sub, f)))

    if out.action.HasField("action"):
        fix(out.action.action)
    for a in out.action.action_profile_action_set.action_profile_actions:
        fix(a.action)
    return out


# -- proto builders ------------------------------------------------------------------------------


def fm_exact(fid: int, v: bytes) -> Any:
    m = p4runtime_pb2.FieldMatch(field_id=fid)
    m.exact.value = v
    return m


def fm_lpm(fid: int, v: bytes, plen: int) -> Any:
    m = p4runtime_pb2.FieldMatch(field_id=fid)
    m.lpm.value, m.lpm.prefix_len = v, plen
    return m


def fm_ternary(fid: int, v: bytes, mask: bytes) -> Any:
    m = p4runtime_pb2.FieldMatch(field_id=fid)
    m.ternary.value, m.ternary.mask = v, mask
    return m


def fm_range(fid: int, lo: bytes, hi: bytes) -> Any:
    m = p4runtime_pb2.FieldMatch(field_id=fid)
    m.range.low, m.range.high = lo, hi
    return m


def fm_optional(fid: int, v: bytes) -> Any:
    m = p4runtime_pb2.FieldMatch(field_id=fid)
    m.optional.value = v
    return m


def action(aid: int, *params: bytes) -> Any:
    a = p4runtime_pb2.Action(action_id=aid)
    for i, v in enumerate(params, 1):
        a.params.add(param_id=i, value=v)
    return a


def table_entry(
    tid: int, match: list[Any] = (), act: Any = None, priority: int = 0, **kw: Any
) -> Any:
    te = p4runtime_pb2.TableEntry(table_id=tid, priority=priority, **kw)
    te.match.extend(match)
    if act is not None:
        if isinstance(act, int):
            te.action.action_profile_member_id = act
        else:
            te.action.action.CopyFrom(act)
    return te
