"""Drive ``p4src/cpn.p4`` on the embedded switch: compile once, program roles, send Scapy packets.

``CpnSwitch`` wraps one :class:`p4target.switch.Switch` running the CPN pipeline with
MemoryPorts, a CPU port and 8 priority queues, and offers one method per table of the program
(named after the table) so tests read like a control plane would write them.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from pathlib import Path

from scapy.layers.l2 import Ether
from scapy.packet import Packet

from p4target.compiler import compile_file
from p4target.switch import LPM, Exact, Range, Switch, Ternary
from traces.constants import CPU_PORT, DropReason
from traces.layers import CpuPacketIn

ROOT = Path(__file__).resolve().parents[2]
CPN_P4 = ROOT / "p4src" / "cpn.p4"
INCLUDE = ROOT / "p4src" / "include"

GW_MAC = "02:00:00:00:01:00"


@functools.cache
def cpn_compiled(**defines: str):
    """cpn.p4 compiled by the embedded compiler (once per set of defines)."""
    return compile_file(str(CPN_P4), include_dirs=[str(INCLUDE)], defines=dict(defines))


def cpn_json(**defines: str) -> dict:
    """The BMv2 JSON of cpn.p4."""
    return cpn_compiled(**defines).json


def ip6(a: str | int) -> int:
    return a if isinstance(a, int) else int(ipaddress.IPv6Address(a))


def mac(m: str) -> int:
    return int(m.replace(":", ""), 16)


def prefix64(p: str) -> tuple[int, int]:
    """``"2001:db8:abcd:12::/64"`` -> (upper 64 bits, prefix length)."""
    net = ipaddress.IPv6Network(p)
    return int(net.network_address) >> 64, net.prefixlen


class CpnSwitch:
    """One switch running cpn.p4 on a virtual clock (or the clock given)."""

    def __init__(
        self,
        *,
        switch_id: int = 1,
        ports: Iterable[int] = (1, 2, 3, 4),
        clock=None,
        defines: dict[str, str] | None = None,
        name: str = "",
    ):
        self.sw = Switch(
            cpn_json(**(defines or {})),
            cpu_port=CPU_PORT,
            priority_queues=8,
            clock=clock,
            name=name or f"cpn{switch_id}",
            device_id=switch_id,
        )
        self.ports = {p: self.sw.add_port(p) for p in ports}
        self.packet_ins: list[bytes] = []
        self.sw.on_packet_in(self.packet_ins.append)
        self.sw.register_write("CpnEgress.telemetry.switch_id", 0, switch_id)

    # -- packets -------------------------------------------------------------------------------
    def send(self, port: int, pkt: Packet | bytes) -> dict[int, list[bytes]]:
        """Send one packet in on ``port``; return what came out, by port (CPU_PORT: packet-ins)."""
        data = bytes(pkt)
        self.ports[port].send(data)
        return self.take()

    def take(self) -> dict[int, list[bytes]]:
        out: dict[int, list[bytes]] = {}
        for n, p in self.ports.items():
            got = p.take()
            if got:
                out[n] = got
        if self.packet_ins:
            out[CPU_PORT] = list(self.packet_ins)
            self.packet_ins.clear()
        return out

    def inject(self, pkt: Packet | bytes) -> dict[int, list[bytes]]:
        """Packet-out: ``pkt`` must start with the packet_out header."""
        self.sw.inject(bytes(pkt))
        return self.take()

    # -- counters ------------------------------------------------------------------------------
    def drops(self) -> dict[DropReason, int]:
        """Non-zero entries of the drop_reasons counter."""
        out = {}
        for r in DropReason:
            n = self.sw.counter_read("CpnIngress.telemetry.drop_reasons", int(r))[0]
            if n:
                out[r] = n
        return out

    # -- tables (one method per table) ---------------------------------------------------------
    def ipv6_route(self, prefix: str, port: int, dst_mac: str, src_mac: str = GW_MAC) -> int:
        net = ipaddress.IPv6Network(prefix)
        return self.sw.table_add(
            "CpnIngress.routing.ipv6_routes",
            [LPM(int(net.network_address), net.prefixlen)],
            "CpnIngress.routing.route",
            [port, mac(src_mac), mac(dst_mac)],
        )

    def ipv4_route(self, prefix: str, port: int, dst_mac: str, src_mac: str = GW_MAC) -> int:
        net = ipaddress.IPv4Network(prefix)
        return self.sw.table_add(
            "CpnIngress.routing.ipv4_routes",
            [LPM(int(net.network_address), net.prefixlen)],
            "CpnIngress.routing.route",
            [port, mac(src_mac), mac(dst_mac)],
        )

    def my_sid(self, sid: str, behavior: str, plen: int = 128) -> int:
        return self.sw.table_add(
            "CpnIngress.srv6.my_sid", [LPM(ip6(sid), plen)], f"CpnIngress.srv6.{behavior}", []
        )

    def aisid_prefix(self, prefix: str) -> int:
        value, plen = prefix64(prefix)
        return self.sw.table_add(
            "CpnIngress.aisid.prefixes", [LPM(value, plen)], "CpnIngress.aisid.aisid_prefix", []
        )

    def classify(
        self,
        prefix: str,
        *,
        service_id: int,
        traffic_class: int = 0,
        deadline_us: int = 0,
        version: int = 0,
        object: tuple[int, int] = (0, 0),
        function: tuple[int, int] = (0, 0),
        method: tuple[int, int] = (0, 0),
        performance: tuple[int, int] = (0, 0xFFFF),
        priority: int = 1,
    ) -> int:
        """``object``/``function``/``method`` are (value, mask); ``performance`` (lo, hi)."""
        value, plen = prefix64(prefix)
        return self.sw.table_add(
            "CpnIngress.aisid.classify",
            [
                Exact(version),
                LPM(value, plen),
                Ternary(*object),
                Ternary(*function),
                Ternary(*method),
                Range(*performance),
            ],
            "CpnIngress.aisid.set_service",
            [service_id, traffic_class, deadline_us],
            priority=priority,
        )

    def service_site(self, service_id: int, site_id: int | None, version: int = 0) -> int:
        """``site_id=None``: the service is served at this gateway's own site."""
        if site_id is None:
            return self.sw.table_add(
                "CpnIngress.flowlet.service_site",
                [Exact(version), Exact(service_id)],
                "CpnIngress.flowlet.local_site",
                [],
            )
        return self.sw.table_add(
            "CpnIngress.flowlet.service_site",
            [Exact(version), Exact(service_id)],
            "CpnIngress.flowlet.set_site",
            [site_id],
        )

    def path_split(self, site_id: int, ratios: Sequence[float], version: int = 0) -> int:
        """Split ratios (summing to 1) over paths 0..len-1 -> cumulative thresholds of 10000."""
        cum = [
            min(10000, round(sum(ratios[: i + 1]) * 10000)) if i < len(ratios) else 10000
            for i in range(3)
        ]
        return self.sw.table_add(
            "CpnIngress.flowlet.path_split",
            [Exact(version), Exact(site_id)],
            "CpnIngress.flowlet.set_split",
            cum,
        )

    def srv6_path(
        self, site_id: int, path_id: int, src: str, segments: Sequence[str], version: int = 0
    ) -> int:
        return self.sw.table_add(
            "CpnIngress.srv6_encap.paths",
            [Exact(version), Exact(site_id), Exact(path_id)],
            f"CpnIngress.srv6_encap.h_encaps_{len(segments)}",
            [ip6(src), *(ip6(s) for s in segments)],
        )

    def service_nodes(
        self, service_id: int, nodes: Sequence[tuple[int, int]], version: int = 0
    ) -> int:
        """``nodes``: up to 8 (node id, weight) pairs."""
        params: list[int] = []
        for node, weight in list(nodes) + [(0, 0)] * (8 - len(nodes)):
            params += [node, weight]
        return self.sw.table_add(
            "CpnIngress.egw.service_nodes",
            [Exact(version), Exact(service_id)],
            "CpnIngress.egw.set_nodes",
            params,
        )

    def node(self, node_id: int, address: str) -> int:
        return self.sw.table_add(
            "CpnIngress.egw.nodes",
            [Exact(node_id)],
            "CpnIngress.egw.set_node_address",
            [ip6(address)],
        )

    def node_replies(self, prefix: str) -> int:
        net = ipaddress.IPv6Network(prefix)
        return self.sw.table_add(
            "CpnIngress.egw.node_replies",
            [LPM(int(net.network_address), net.prefixlen)],
            "CpnIngress.egw.reply_from_node",
            [],
        )

    def cqf_port(self, port: int, cycle_shift: int, cycle_bytes: int) -> int:
        return self.sw.table_add(
            "CpnIngress.cqf.ports",
            [Exact(port)],
            "CpnIngress.cqf.enable",
            [cycle_shift, cycle_bytes],
        )

    def cqf_flow_offset(
        self,
        offset: int,
        *,
        src: tuple[int, int] = (0, 0),
        flow_label: tuple[int, int] = (0, 0),
        version: int = 0,
        priority: int = 1,
    ) -> int:
        return self.sw.table_add(
            "CpnIngress.cqf.flow_offsets",
            [Exact(version), Ternary(*src), Ternary(*flow_label)],
            "CpnIngress.cqf.set_offset",
            [offset],
            priority=priority,
        )

    def set_policy_version(self, version: int) -> None:
        self.sw.register_write("CpnIngress.active_policy_version", 0, version)


def packet_in_of(data: bytes) -> CpuPacketIn:
    return CpuPacketIn(data)


def ether(data: bytes) -> Ether:
    return Ether(data)


# -- a reference network: client - IGW(1) - T2(2) - T3(3) - EGW(4) - service nodes --------------
# Ports: each switch receives from upstream on port 1 and sends downstream on port 2; the
# egress gateway reaches its service nodes on port 3.
PREFIX = "2001:db8:abcd:12::/64"
AISID_ADDR = "2001:db8:abcd:12:1:2:1:1388"
CLIENT = "fd00:1::10"
IGW_SID = "fc00:0:1::1"
T2_SID = "fc00:0:2::100"
T3_SID = "fc00:0:3::100"
EGW_SID = "fc00:0:4::d6"
PATH = [T2_SID, T3_SID, EGW_SID]
NODE_PREFIX = "fd00:4::/64"
NODES = {1: "fd00:4::21", 2: "fd00:4::22", 3: "fd00:4::23"}
SERVICE = 7
SITE = 4
MAC = {
    "client": "02:00:00:00:00:01",
    "igw": "02:00:00:00:01:00",
    "t2": "02:00:00:00:02:00",
    "t3": "02:00:00:00:03:00",
    "egw": "02:00:00:00:04:00",
    "node": "02:00:00:00:44:00",
}


def ingress_gateway(**kw) -> CpnSwitch:
    """Switch 1: classifies PREFIX requests as SERVICE, sends them to SITE over PATH."""
    s = CpnSwitch(switch_id=1, **kw)
    s.aisid_prefix(PREFIX)
    s.classify(PREFIX, service_id=SERVICE, traffic_class=0, deadline_us=500_000)
    s.service_site(SERVICE, SITE)
    s.srv6_path(SITE, 0, IGW_SID, PATH)
    s.ipv6_route("fc00:0:2::/48", 2, MAC["t2"], src_mac=MAC["igw"])
    s.ipv6_route("fd00:1::/64", 1, MAC["client"], src_mac=MAC["igw"])
    return s


def transit(switch_id: int, sid: str, next_prefix: str, next_mac: str, **kw) -> CpnSwitch:
    """A transit switch: End at ``sid``, routes ``next_prefix`` out of port 2."""
    s = CpnSwitch(switch_id=switch_id, **kw)
    s.my_sid(sid, "end")
    s.ipv6_route(next_prefix, 2, next_mac, src_mac=f"02:00:00:00:0{switch_id}:01")
    return s


def egress_gateway(nodes: Sequence[tuple[int, int]] = ((1, 1), (2, 1)), **kw) -> CpnSwitch:
    """Switch 4: End.DT6 at EGW_SID, SERVICE balanced over ``nodes`` (id, weight) on port 3."""
    s = CpnSwitch(switch_id=4, **kw)
    s.my_sid(EGW_SID, "end_dt6")
    s.aisid_prefix(PREFIX)
    s.classify(PREFIX, service_id=SERVICE, traffic_class=0, deadline_us=500_000)
    s.service_nodes(SERVICE, list(nodes))
    for n, addr in NODES.items():
        s.node(n, addr)
    s.node_replies(NODE_PREFIX)
    s.ipv6_route(NODE_PREFIX, 3, MAC["node"], src_mac=MAC["egw"])
    s.ipv6_route("fd00:1::/64", 1, MAC["t3"], src_mac=MAC["egw"])
    return s


class Network:
    """client - IGW(1) - T2(2) - T3(3) - EGW(4) - nodes, on one virtual clock.

    ``client`` is IGW port 1 (``send``/``take`` there), ``nodes`` is EGW port 3; links have a
    one-way delay of ``link_delay_us``."""

    def __init__(self, link_delay_us: float = 10.0, nodes=((1, 1), (2, 1))):
        from p4target.switch.clock import VirtualClock

        self.clock = VirtualClock(start_us=1000.0)
        self.igw = ingress_gateway(clock=self.clock)
        self.t2 = transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"], clock=self.clock)
        self.t3 = transit(3, T3_SID, "fc00:0:4::/48", MAC["egw"], clock=self.clock)
        self.egw = egress_gateway(nodes=nodes, clock=self.clock)
        for s, up in ((self.t2, MAC["igw"]), (self.t3, MAC["t2"])):
            s.ipv6_route("fd00:1::/64", 1, up, src_mac=MAC["t3"])
        self.igw.ports[2].connect(self.t2.ports[1], link_delay_us)
        self.t2.ports[2].connect(self.t3.ports[1], link_delay_us)
        self.t3.ports[2].connect(self.egw.ports[1], link_delay_us)
        self.switches = [self.igw, self.t2, self.t3, self.egw]

    def run(self) -> None:
        self.clock.run_until_idle()

    def client_send(self, pkt) -> None:
        self.igw.ports[1].send(bytes(pkt))
        self.run()

    def node_send(self, pkt) -> None:
        self.egw.ports[3].send(bytes(pkt))
        self.run()

    def at_nodes(self) -> list[bytes]:
        return self.egw.ports[3].take()

    def at_client(self) -> list[bytes]:
        return self.igw.ports[1].take()

    def packet_ins(self) -> list[bytes]:
        """Packet-ins of the egress gateway (its other ports are left alone)."""
        out = list(self.egw.packet_ins)
        self.egw.packet_ins.clear()
        return out
