"""Small network descriptions for the routing/registry tests, and an embedded network that runs
them: one :class:`p4target.switch.Switch` per switch on one virtual clock, links connected,
entries installed through the switch's Python API (TableEntry -> key list by P4Info order)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from controlplane.entries import Exact, Lpm, Range, TableEntry, Ternary
from controlplane.netdesc import (
    ControllerDesc,
    CqfDesc,
    HostDesc,
    LinkDesc,
    NetworkDescription,
    PortDesc,
    ServiceNodeDesc,
    SiteDesc,
    SwitchDesc,
)
from controlplane.program import Program
from p4target.switch import LPM as SwLPM
from p4target.switch import Exact as SwExact
from p4target.switch import Range as SwRange
from p4target.switch import Switch
from p4target.switch import Ternary as SwTernary
from p4target.switch.clock import VirtualClock
from traces.constants import CPU_PORT

AISID_PREFIX = "2001:db8:abcd:12::/64"
CLIENT = "fd00:1::10"
CLIENT_MAC = "02:00:00:01:00:01"


def switch_mac(device_id: int, port: int) -> str:
    return f"02:00:00:00:{device_id:02x}:{port:02x}"


def build_net(
    name: str,
    switches: Sequence[tuple[str, str]],
    links: Iterable[tuple[str, str, float]],
    *,
    sites: Sequence[tuple[str, int, Sequence[int]]] = (),
    hosts: Sequence[tuple[str, str]] = (("client", "igw"),),
    cqf_ports: Sequence[tuple[str, int]] = (),
    cycle_us: int = 256,
    max_segments: int = 6,
) -> NetworkDescription:
    """``switches``: (name, role); ``links``: (a, b, delay_us) numbered from port 1 up on each
    switch; ``hosts``: (host, switch); ``sites``: (egress gateway, site_id, node ports: one
    node per entry, port numbers of the egress gateway, counted after its links)."""
    sw = {
        n: SwitchDesc(n, i + 1, f"127.0.0.1:{50000 + i}", role, f"fc00:0:{i + 1:x}::/48")
        for i, (n, role) in enumerate(switches)
    }

    def next_port(s: SwitchDesc) -> int:
        return max((p.number for p in s.ports), default=0) + 1

    out_links = []
    for a, b, delay in links:
        pa, pb = next_port(sw[a]), next_port(sw[b])
        sw[a].ports.append(PortDesc(pa, switch_mac(sw[a].device_id, pa), b, pb, 100e9, delay))
        sw[b].ports.append(PortDesc(pb, switch_mac(sw[b].device_id, pb), a, pa, 100e9, delay))
        out_links.append(LinkDesc(a, pa, b, pb, 100e9, delay))
    host_descs = []
    for i, (h, at) in enumerate(hosts):
        p = next_port(sw[at])
        addr = CLIENT if i == 0 else f"fd00:{i + 1:x}::10"
        hmac = f"02:00:00:01:00:{i + 1:02x}"
        sw[at].ports.append(PortDesc(p, switch_mac(sw[at].device_id, p), h, 0, 10e9, 1.0))
        host_descs.append(HostDesc(h, addr, hmac, at, p))
    site_descs = []
    for egw, site_id, node_ports in sites:
        s = sw[egw]
        base = next_port(s)
        nodes = []
        for k, off in enumerate(node_ports):
            p = base + off
            if all(pp.number != p for pp in s.ports):
                s.ports.append(
                    PortDesc(p, switch_mac(s.device_id, p), f"n{site_id}_{off}", 0, 10e9, 1.0)
                )
            nodes.append(
                ServiceNodeDesc(
                    k + 1,
                    f"n{site_id}_{k + 1}",
                    f"fd01:{site_id:x}::{k + 0x21:x}",
                    f"02:00:00:02:{site_id:02x}:{off + 1:02x}",  # one MAC per node port
                    "a100_1",
                    100.0,
                    p,
                )
            )
        site_descs.append(SiteDesc(site_id, f"site{site_id}", egw, f"fd01:{site_id:x}::/64", nodes))
    return NetworkDescription(
        name=name,
        switches=list(sw.values()),
        links=out_links,
        hosts=host_descs,
        sites=site_descs,
        aisid_prefixes=[AISID_PREFIX],
        cqf=CqfDesc(cycle_us=cycle_us, ports=list(cqf_ports)),
        controller=ControllerDesc(k_paths=4, max_segments=max_segments),
    )


def line4() -> NetworkDescription:
    """client - igw - t2 - t3 - egw - two service nodes on two ports."""
    return build_net(
        "line4",
        [
            ("igw", "ingress_gateway"),
            ("t2", "transit"),
            ("t3", "transit"),
            ("egw", "egress_gateway"),
        ],
        [("igw", "t2", 10.0), ("t2", "t3", 10.0), ("t3", "egw", 10.0)],
        sites=[("egw", 4, (0, 1))],
    )


def diamond(
    *, sites: Sequence[tuple[str, int, Sequence[int]]] = (("egw", 7, (0, 0)),), **kw
) -> NetworkDescription:
    """igw -a- c -egw (300 µs) and igw -b- d -egw (350 µs), a-d cross link (200 µs); by
    default one site behind egw with two nodes on one port (same MAC: one node-prefix route);
    ``sites`` and ``kw`` go to :func:`build_net`."""
    return build_net(
        "diamond",
        [
            ("igw", "ingress_gateway"),
            ("a", "transit"),
            ("b", "transit"),
            ("c", "transit"),
            ("d", "transit"),
            ("egw", "egress_gateway"),
        ],
        [
            ("igw", "a", 100.0),
            ("a", "c", 100.0),
            ("c", "egw", 100.0),
            ("igw", "b", 100.0),
            ("b", "d", 150.0),
            ("d", "egw", 100.0),
            ("a", "d", 200.0),
        ],
        sites=sites,
        **kw,
    )


# -- installing TableEntries on an embedded switch -----------------------------------------------
class P4InfoOrder:
    """Key and parameter order of every table and action, from the P4Info."""

    def __init__(self, program: Program) -> None:
        self.keys = {
            t.preamble.name: [(m.name, m.bitwidth, m.match_type) for m in t.match_fields]
            for t in program.p4info.tables
        }
        self.params = {a.preamble.name: [p.name for p in a.params] for a in program.p4info.actions}

    def key(self, e: TableEntry) -> list:
        from p4.config.v1 import p4info_pb2

        mt = p4info_pb2.MatchField
        m = e.match_dict
        out = []
        for name, width, kind in self.keys[e.table]:
            v = m.get(name)
            if isinstance(v, Exact):
                out.append(SwExact(v.value))
            elif isinstance(v, Lpm):
                out.append(SwLPM(v.value, v.prefix_len))
            elif isinstance(v, Ternary):
                out.append(SwTernary(v.value, v.mask))
            elif isinstance(v, Range):
                out.append(SwRange(v.low, v.high))
            elif kind == mt.LPM:
                out.append(SwLPM(0, 0))
            elif kind == mt.TERNARY:
                out.append(SwTernary(0, 0))
            elif kind == mt.RANGE:
                out.append(SwRange(0, (1 << width) - 1))
            else:
                raise AssertionError(f"{e.table}: exact field {name} missing")
        return out

    def params_of(self, e: TableEntry) -> list[int]:
        p = e.params_dict
        names = self.params[e.action]
        assert set(p) == set(names), (e.action, sorted(p), names)
        return [p[n] for n in names]


class EmuNet:
    """The switches of a NetworkDescription on one virtual clock, links connected."""

    def __init__(self, net: NetworkDescription, program: Program) -> None:
        self.net = net
        self.order = P4InfoOrder(program)
        self.clock = VirtualClock(start_us=1000.0)
        cfg = json.loads(program.json_text)
        self.sw: dict[str, Switch] = {}
        self.ports: dict[str, dict] = {}
        self.tx: list[tuple[str, int, bytes]] = []  # (switch, port, frame) in order of sending
        self.punts: dict[str, list[bytes]] = {}
        for s in net.switches:
            sw = Switch(
                cfg,
                cpu_port=CPU_PORT,
                priority_queues=8,
                clock=self.clock,
                name=s.name,
                device_id=s.device_id,
            )
            self.sw[s.name] = sw
            self.ports[s.name] = {p.number: sw.add_port(p.number) for p in s.ports}
            sw.on_transmit(lambda port, data, n=s.name: self.tx.append((n, port, data)))
            self.punts[s.name] = []
            sw.on_packet_in(self.punts[s.name].append)
        for ln in net.links:
            self.ports[ln.a][ln.a_port].connect(self.ports[ln.b][ln.b_port], ln.delay_us)
        self.handles: dict[tuple[str, tuple], int] = {}

    def install(self, switch: str, entries: Iterable[TableEntry]) -> None:
        sw = self.sw[switch]
        for e in entries:
            h = self.handles.get((switch, e.key()))
            if h is not None:
                sw.table_modify(e.table, h, e.action, self.order.params_of(e))
                continue
            self.handles[(switch, e.key())] = sw.table_add(
                e.table,
                self.order.key(e),
                e.action,
                self.order.params_of(e),
                priority=e.priority or None,
            )

    def clear(self, switch: str, table: str) -> None:
        self.sw[switch].table_clear(table)
        for k in [k for k in self.handles if k[0] == switch and k[1][0] == table]:
            del self.handles[k]

    def send(self, switch: str, port: int, frame: bytes) -> None:
        self.tx.clear()
        self.ports[switch][port].send(frame)
        self.clock.run_until_idle()

    def take(self, switch: str, port: int) -> list[bytes]:
        return self.ports[switch][port].take()
