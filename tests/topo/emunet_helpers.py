"""Test helpers for the in-process network: a hand-made line4 description, the entries that make
it carry AISID requests, and two ways to install them: a minimal P4Runtime client on the raw
gRPC stubs, and (tests only) the embedded switches' Python API."""

from __future__ import annotations

import queue
import threading
from typing import Any

import grpc

from controlplane.entries import (
    Exact,
    Lpm,
    Range,
    RegisterValue,
    TableEntry,
    Ternary,
    entry,
    ip6,
    ip6_prefix,
    mac,
)
from controlplane.netdesc import (
    HostDesc,
    LinkDesc,
    NetworkDescription,
    PortDesc,
    ServiceNodeDesc,
    SiteDesc,
    SwitchDesc,
)
from controlplane.program import Program
from p4target import switch as swapi
from p4target.protos import p4runtime_pb2, p4runtime_pb2_grpc

PREFIX = "2001:db8:abcd:12::/64"
AISID = "2001:db8:abcd:12:1:2:1:1388"
CLIENT_PREFIX = "fd00:1::/64"
NODE_PREFIX = "fd01:4::/64"
SERVICE = 7
SITE = 1
IG = "CpnIngress."


def line(
    n: int = 4, *, rate_bps: float = 1e9, delay_us: float = 1000.0, queue_packets: int = 64
) -> NetworkDescription:
    """h1 - s1 (ingress gw) - s2 .. s<n-1> (transit) - s<n> (egress gw) - {n1, n2} (both on
    s<n> port 3). Link i (s_i - s_i+1) has delay ``delay_us * i``; access 10 Gbit/s, 100 µs."""
    if not 2 <= n <= 7:
        raise ValueError("line(): 2..7 switches (at most 6 SRv6 segments)")
    sws = []
    for i in range(1, n + 1):
        role = "ingress_gateway" if i == 1 else "egress_gateway" if i == n else "transit"
        ports = []
        if i > 1:
            ports.append(PortDesc(1, f"02:00:00:00:0{i}:01", f"s{i - 1}", 2, rate_bps, delay_us))
        if i < n:
            ports.append(PortDesc(2, f"02:00:00:00:0{i}:02", f"s{i + 1}", 1, rate_bps, delay_us))
        sws.append(SwitchDesc(f"s{i}", i, "127.0.0.1:0", role, f"fc00:0:{i}::/48", ports))  # type: ignore[arg-type]
    sws[0].ports.insert(0, PortDesc(1, "02:00:00:00:01:01", "h1", 0, 10e9, 100.0))
    sws[-1].ports.append(PortDesc(3, f"02:00:00:00:0{n}:03", "n1", 0, 10e9, 100.0))
    links = [
        LinkDesc(f"s{i}", 2, f"s{i + 1}", 1, rate_bps, delay_us * i, queue_packets)
        for i in range(1, n)
    ]
    nodes = [
        ServiceNodeDesc(1, "n1", "fd01:4::21", "02:00:00:00:44:21", "a100_1", 100.0, 3),
        ServiceNodeDesc(2, "n2", "fd01:4::22", "02:00:00:00:44:22", "a100_1", 100.0, 3),
    ]
    return NetworkDescription(
        name=f"line{n}",
        switches=sws,
        links=links,
        hosts=[HostDesc("h1", "fd00:1::10", "02:00:00:00:00:10", "s1", 1)],
        sites=[SiteDesc(SITE, "site1", f"s{n}", NODE_PREFIX, nodes)],
        aisid_prefixes=[PREFIX],
    )


def line4(**kw: Any) -> NetworkDescription:
    return line(4, **kw)


def _route(prefix: str, port: int, src: str, dst: str) -> TableEntry:
    return entry(
        IG + "routing.ipv6_routes",
        {"dst_addr": Lpm(*ip6_prefix(prefix))},
        IG + "routing.route",
        {"port": port, "src_mac": mac(src), "dst_mac": mac(dst)},
    )


def line_entries(d: NetworkDescription) -> dict[str, list[TableEntry | RegisterValue]]:
    """What a controller would install so that h1's AISID requests reach the site and back."""
    n = len(d.switches)
    last = f"s{n}"
    pfx = Lpm(ip6_prefix(PREFIX)[0] >> 64, 64)
    classify = entry(
        IG + "aisid.classify",
        {"policy_version": 0, "prefix": pfx, "performance": Range(0, 0xFFFF)},
        IG + "aisid.set_service",
        {"service_id": SERVICE, "traffic_class": 0, "deadline_us": 500_000},
        priority=1,
    )
    prefixes = entry(IG + "aisid.prefixes", {"prefix": pfx}, IG + "aisid.aisid_prefix")
    sw = {s.name: s for s in d.switches}
    h1 = d.hosts[0]
    out: dict[str, list[TableEntry | RegisterValue]] = {n: [] for n in sw}
    segs = [d.end_sid(f"s{i}") for i in range(2, n)] + [d.dt6_sid(last)]
    out["s1"] += [
        prefixes,
        classify,
        entry(
            IG + "flowlet.service_site",
            {"policy_version": 0, "service_id": SERVICE},
            IG + "flowlet.set_site",
            {"site_id": SITE},
        ),
        entry(
            IG + "srv6_encap.paths",
            {"policy_version": 0, "site_id": SITE, "path_id": 0},
            IG + f"srv6_encap.h_encaps_{len(segs)}",
            {"src": ip6(d.src_address("s1")), **{f"s{i + 1}": ip6(s) for i, s in enumerate(segs)}},
        ),
        _route(CLIENT_PREFIX, 1, sw["s1"].port(1).mac, h1.mac),
    ]
    for i in range(1, n):
        here, nxt = sw[f"s{i}"], sw[f"s{i + 1}"]
        out[here.name].append(_route(f"fc00:0:{i + 1}::/48", 2, here.port(2).mac, nxt.port(1).mac))
    for i in range(2, n + 1):
        here, prev = sw[f"s{i}"], sw[f"s{i - 1}"]
        out[here.name].append(_route(CLIENT_PREFIX, 1, here.port(1).mac, prev.port(2).mac))
    for i in range(2, n):
        out[f"s{i}"].append(
            entry(IG + "srv6.my_sid", {"sid": Lpm(ip6(d.end_sid(f"s{i}")), 128)}, IG + "srv6.end")
        )
    site = d.sites[0]
    nodes = {f"node_{k}": 0 for k in range(8)} | {f"weight_{k}": 0 for k in range(8)}
    for k, node in enumerate(site.nodes):
        nodes[f"node_{k}"], nodes[f"weight_{k}"] = node.node_id, 1
    out[last] += [
        entry(IG + "srv6.my_sid", {"sid": Lpm(ip6(d.dt6_sid(last)), 128)}, IG + "srv6.end_dt6"),
        prefixes,
        classify,
        entry(
            IG + "egw.service_nodes",
            {"policy_version": 0, "service_id": SERVICE},
            IG + "egw.set_nodes",
            nodes,
        ),
        entry(
            IG + "egw.node_replies",
            {"src_addr": Lpm(*ip6_prefix(NODE_PREFIX))},
            IG + "egw.reply_from_node",
        ),
    ]
    for node in site.nodes:
        out[last].append(
            entry(
                IG + "egw.nodes",
                {"node_id": node.node_id},
                IG + "egw.set_node_address",
                {"address": ip6(node.address)},
            )
        )
        out[last].append(_route(f"{node.address}/128", node.port, sw[last].port(3).mac, node.mac))
    for s in d.switches:
        out[s.name].append(RegisterValue("CpnEgress.telemetry.switch_id", 0, s.device_id))
    return out


# -- test-only: fill through the embedded switch's Python API (no P4Runtime) ----------------------
_SW_MATCH = {
    Exact: lambda m: swapi.Exact(m.value),
    Lpm: lambda m: swapi.LPM(m.value, m.prefix_len),
    Ternary: lambda m: swapi.Ternary(m.value, m.mask),
    Range: lambda m: swapi.Range(m.low, m.high),
}


def fill_direct(
    sw: swapi.Switch, items: list[TableEntry | RegisterValue], program: Program
) -> None:
    """Install ``items`` with ``Switch.table_add`` / ``register_write`` (tests only)."""
    info = _Info(program)
    for it in items:
        if isinstance(it, RegisterValue):
            sw.register_write(it.register, it.index, it.value)
            continue
        t = info.tables[it.table]
        md = it.match_dict
        key = []
        for mf in t.match_fields:
            m = md.get(mf.name)
            if m is None:  # wildcard left out
                m = {3: Lpm(0, 0), 4: Ternary(0, 0), 5: Range(0, (1 << mf.bitwidth) - 1)}[
                    mf.match_type
                ]
            key.append(_SW_MATCH[type(m)](m))
        a = info.actions[it.action]
        params = [it.params_dict[p.name] for p in a.params]
        sw.table_add(it.table, key, it.action, params, priority=it.priority or None)


class _Info:
    def __init__(self, program: Program) -> None:
        p = program.p4info
        self.tables = {t.preamble.name: t for t in p.tables}
        self.actions = {a.preamble.name: a for a in p.actions}
        self.registers = {r.preamble.name: r for r in p.registers}
        self.packet_out = next(
            m for m in p.controller_packet_metadata if m.preamble.name == "packet_out"
        )


# -- a minimal P4Runtime client on the raw stubs ---------------------------------------------------
def _b(v: int) -> bytes:
    return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")


def _wildcard(m: Any, width: int) -> bool:
    return (
        (isinstance(m, Range) and (m.low, m.high) == (0, (1 << width) - 1))
        or (isinstance(m, Ternary) and m.mask == 0)
        or (isinstance(m, Lpm) and m.prefix_len == 0)
    )


class P4RTClient:
    """One primary StreamChannel (election id 1); ``inbox`` gets packet-ins, ``ended`` is set
    when the server ends the stream."""

    def __init__(self, address: str, device_id: int, program: Program) -> None:
        self.device_id = device_id
        self.info = _Info(program)
        self.program = program
        self.channel = grpc.insecure_channel(address)
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self._out: queue.Queue[Any] = queue.Queue()
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.ended = threading.Event()
        self._stream = self.stub.StreamChannel(iter(self._out.get, None))
        arb = p4runtime_pb2.StreamMessageRequest()
        arb.arbitration.device_id = device_id
        arb.arbitration.election_id.low = 1
        self._out.put(arb)
        got_arb = threading.Event()

        def receive() -> None:
            try:
                for m in self._stream:
                    if m.HasField("arbitration"):
                        got_arb.set()
                    else:
                        self.inbox.put(m)
            except grpc.RpcError:
                pass
            self.ended.set()

        threading.Thread(target=receive, daemon=True).start()
        if not got_arb.wait(5):
            raise TimeoutError(f"no arbitration answer from {address}")

    def _req(self, cls: Any) -> Any:
        r = cls(device_id=self.device_id)
        r.election_id.low = 1
        return r

    def set_pipeline(self) -> None:
        req = self._req(p4runtime_pb2.SetForwardingPipelineConfigRequest)
        req.action = p4runtime_pb2.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
        req.config.p4info.CopyFrom(self.program.p4info)
        req.config.p4_device_config = self.program.json_bytes
        self.stub.SetForwardingPipelineConfig(req)

    def get_pipeline(self) -> Any:
        req = p4runtime_pb2.GetForwardingPipelineConfigRequest(device_id=self.device_id)
        return self.stub.GetForwardingPipelineConfig(req)

    def write(self, items: list[TableEntry | RegisterValue]) -> None:
        req = self._req(p4runtime_pb2.WriteRequest)
        for it in items:
            u = req.updates.add(type=p4runtime_pb2.Update.INSERT)
            if isinstance(it, RegisterValue):
                u.type = p4runtime_pb2.Update.MODIFY
                r = u.entity.register_entry
                r.register_id = self.info.registers[it.register].preamble.id
                r.index.index = it.index
                r.data.bitstring = _b(it.value)
                continue
            t = self.info.tables[it.table]
            te = u.entity.table_entry
            te.table_id = t.preamble.id
            te.priority = it.priority
            md = it.match_dict
            for mf in t.match_fields:
                m = md.get(mf.name)
                if m is None or _wildcard(m, mf.bitwidth):
                    continue  # P4Runtime: don't-care matches are left out
                fm = te.match.add(field_id=mf.id)
                if isinstance(m, Exact):
                    fm.exact.value = _b(m.value)
                elif isinstance(m, Lpm):
                    fm.lpm.value, fm.lpm.prefix_len = _b(m.value), m.prefix_len
                elif isinstance(m, Ternary):
                    fm.ternary.value, fm.ternary.mask = _b(m.value), _b(m.mask)
                else:
                    fm.range.low, fm.range.high = _b(m.low), _b(m.high)
            a = self.info.actions[it.action]
            te.action.action.action_id = a.preamble.id
            for p in a.params:
                te.action.action.params.add(param_id=p.id, value=_b(it.params_dict[p.name]))
        self.stub.Write(req)

    def packet_out(self, payload: bytes, egress_port: int, mode: int = 0) -> None:
        m = p4runtime_pb2.StreamMessageRequest()
        m.packet.payload = payload
        ids = {md.name: md.id for md in self.info.packet_out.metadata}
        m.packet.metadata.add(metadata_id=ids["egress_port"], value=_b(egress_port))
        m.packet.metadata.add(metadata_id=ids["mode"], value=_b(mode))
        self._out.put(m)

    def close(self) -> None:
        self._out.put(None)
        self.channel.close()


line4_entries = line_entries
