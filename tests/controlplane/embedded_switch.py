"""Embedded switches behind real P4Runtime servers for the P4Runtime client / connection tests,
and sample entries covering every match kind cpn.p4 uses."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from controlplane.entries import Lpm, Range, RegisterValue, TableEntry, Ternary, entry, ip6, mac
from p4target.runtime import RuntimeServer, serve
from p4target.switch import Switch
from traces.constants import CPU_PORT

AISID_P48 = 0x20010DB8ABCD0000  # upper 64 bits of 2001:db8:abcd::/48


@dataclass
class Served:
    """A switch without a program (waits for a pipeline push), its ports and its server."""

    sw: Switch
    srv: RuntimeServer
    ports: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.srv.address

    def stop(self) -> None:
        self.srv.stop(0)


def free_address() -> str:
    """A loopback address with a port free right now (to bind again after a restart)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def start_switch(address: str = "127.0.0.1:0", device_id: int = 1) -> Served:
    sw = Switch(cpu_port=CPU_PORT, priority_queues=8, device_id=device_id)
    ports = {n: sw.add_port(n) for n in (1, 2, 3)}
    return Served(sw, serve(sw, address, device_id=device_id), ports)


def route(prefix: str, port: int, dst_mac: str = "02:00:00:00:00:02") -> TableEntry:
    net, plen = prefix.split("/")
    return entry(
        "CpnIngress.routing.ipv6_routes",
        {"dst_addr": Lpm(ip6(net), int(plen))},
        "CpnIngress.routing.route",
        {"port": port, "src_mac": mac("02:00:00:00:00:01"), "dst_mac": mac(dst_mac)},
    )


def classify(service: int, obj: int, perf: tuple[int, int], priority: int, version: int = 0):
    """aisid.classify: exact version, lpm prefix, ternary object/function/method, range."""
    return entry(
        "CpnIngress.aisid.classify",
        {
            "policy_version": version,
            "prefix": Lpm(0x20010DB8ABCD0001, 64),
            "object": Ternary(obj, 0xFFFF),
            "function": Ternary(0x10, 0xFFF0),
            "method": Ternary(0, 0),  # don't care: omitted on the wire
            "performance": Range(*perf),
        },
        "CpnIngress.aisid.set_service",
        {"service_id": service, "traffic_class": 1, "deadline_us": 2000},
        priority=priority,
    )


def sample_entries() -> list[TableEntry]:
    """One or more entries of every match kind of cpn.p4."""
    return [
        entry(
            "CpnIngress.aisid.prefixes",
            {"prefix": Lpm(AISID_P48, 48)},
            "CpnIngress.aisid.aisid_prefix",
        ),
        route("fd00:1::/64", 1),
        route("fc00:0:2::/48", 2),
        route("::/0", 3),  # default route: LPM /0 is a don't-care match, omitted
        entry(
            "CpnIngress.egw.nodes",
            {"node_id": 0},
            "CpnIngress.egw.set_node_address",
            {"address": ip6("fd01:4::1")},
        ),  # fmt: skip
        entry(
            "CpnIngress.egw.nodes",
            {"node_id": 2},
            "CpnIngress.egw.set_node_address",
            {"address": ip6("fd01:4::2")},
        ),  # fmt: skip
        classify(10, 1, (1, 20), priority=30),
        classify(11, 1, (0, 0xFFFF), priority=20),  # full range: omitted
        entry(
            "CpnIngress.cqf.flow_offsets",
            {
                "policy_version": 1,
                "src_addr": Ternary(ip6("fd00:1::10"), (1 << 128) - 1),
                "flow_label": Ternary(0x12345, 0xFFFFF),
            },
            "CpnIngress.cqf.set_offset",
            {"offset": 1},
            priority=1,
        ),
        entry(
            "CpnIngress.srv6_encap.paths",
            {"policy_version": 0, "site_id": 4, "path_id": 1},
            "CpnIngress.srv6_encap.h_encaps_2",
            {"src": ip6("fc00:0:1::"), "s1": ip6("fc00:0:2::100"), "s2": ip6("fc00:0:4::d6")},
        ),
        entry(
            "CpnIngress.flowlet.path_split",
            {"policy_version": 0, "site_id": 4},
            "CpnIngress.flowlet.set_split",
            {"split_0": 5000, "split_1": 10000, "split_2": 10000},
        ),
        entry(
            "CpnIngress.flowlet.service_site",
            {"policy_version": 0, "service_id": 10},
            "CpnIngress.flowlet.local_site",
        ),  # fmt: skip
    ]


def policy_register(version: int) -> RegisterValue:
    return RegisterValue("CpnIngress.active_policy_version", 0, version)
