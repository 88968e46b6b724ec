"""Packets per second through the CPN pipeline on the embedded switch, in-process.

    python bench/dataplane_pps.py [--packets 5000] [--flows 256] [--repeat 3] [--seed 1]

Prints one line per figure:

    dataplane.ingress_gw.pps: N packets/s   AISID classification + flowlet (4 paths) + H.Encaps
    dataplane.transit.pps: N packets/s      SRv6 End + IPv6 LPM routing
    dataplane.router.pps: N packets/s       p4src/router.p4, IPv4 LPM (the baseline)
    dataplane.ingress_gw.vs_router: R ratio
    dataplane.transit.vs_router: R ratio

All three are measured in the same run, on the same virtual-clock switch setup (MemoryPorts,
the clock advanced 1 µs per packet), best of ``--repeat`` runs. Every packet must come out of
the expected port, otherwise the script fails.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
from pathlib import Path

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from p4target.compiler import compile_file  # noqa: E402
from p4target.switch import LPM, Exact, Range, Switch, Ternary  # noqa: E402
from traces.aisid import AISID  # noqa: E402
from traces.constants import CPU_PORT  # noqa: E402
from traces.packets import aisid_udp_request  # noqa: E402
from traces.srv6 import h_encaps  # noqa: E402

PREFIX = "2001:db8:abcd:12::/64"
IGW_SID = "fc00:0:1::1"
SEGMENTS = [[f"fc00:0:{20 + i}::100", "fc00:0:30::100", "fc00:0:4::d6"] for i in range(4)]


def ip6(a: str) -> int:
    return int(ipaddress.IPv6Address(a))


def _switch(json: dict) -> tuple[Switch, dict]:
    sw = Switch(json, cpu_port=CPU_PORT, priority_queues=8)
    ports = {}
    for n in (1, 2, 3, 4, 5):
        p = sw.add_port(n)
        p.record = False  # count, do not keep the packets
        ports[n] = p
    return sw, ports


def ingress_gateway(json: dict) -> Switch:
    sw, _ = _switch(json)
    pfx = int(ipaddress.IPv6Network(PREFIX).network_address) >> 64
    sw.table_add("CpnIngress.aisid.prefixes", [LPM(pfx, 64)], "CpnIngress.aisid.aisid_prefix", [])
    sw.table_add(
        "CpnIngress.aisid.classify",
        [Exact(0), LPM(pfx, 64), Ternary(0, 0), Ternary(0, 0), Ternary(0, 0), Range(0, 0xFFFF)],
        "CpnIngress.aisid.set_service",
        [7, 0, 500_000],
        priority=1,
    )
    sw.table_add(
        "CpnIngress.flowlet.service_site", [Exact(0), Exact(7)], "CpnIngress.flowlet.set_site", [4]
    )
    sw.table_add(
        "CpnIngress.flowlet.path_split",
        [Exact(0), Exact(4)],
        "CpnIngress.flowlet.set_split",
        [4000, 7000, 9000],
    )
    for i, segs in enumerate(SEGMENTS):
        sw.table_add(
            "CpnIngress.srv6_encap.paths",
            [Exact(0), Exact(4), Exact(i)],
            "CpnIngress.srv6_encap.h_encaps_3",
            [ip6(IGW_SID), *(ip6(s) for s in segs)],
        )
        sw.table_add(
            "CpnIngress.routing.ipv6_routes",
            [LPM(ip6(f"fc00:0:{20 + i}::"), 48)],
            "CpnIngress.routing.route",
            [2 + i, 0x020000000100, 0x020000000200],
        )
    return sw


def ingress_packets(n_flows: int, rng: random.Random) -> list[bytes]:
    aisid = AISID.from_address("2001:db8:abcd:12:1:2:1:1388")
    return [
        bytes(
            aisid_udp_request(
                aisid,
                src=f"fd00:1::{rng.randrange(1, 1 << 16):x}",
                sport=rng.randrange(1024, 65535),
                payload=b"x" * 64,
            )
        )
        for _ in range(n_flows)
    ]


def transit(json: dict) -> Switch:
    sw, _ = _switch(json)
    sw.table_add(
        "CpnIngress.srv6.my_sid", [LPM(ip6(SEGMENTS[0][0]), 128)], "CpnIngress.srv6.end", []
    )
    sw.table_add(
        "CpnIngress.routing.ipv6_routes",
        [LPM(ip6("fc00:0:30::"), 48)],
        "CpnIngress.routing.route",
        [2, 0x020000000200, 0x020000000300],
    )
    return sw


def transit_packets(n_flows: int, rng: random.Random) -> list[bytes]:
    inner = ingress_packets(n_flows, rng)
    return [
        bytes(
            h_encaps(
                Ether(p),
                src=IGW_SID,
                path=SEGMENTS[0],
                tag=0,
                flow_label=rng.randrange(1 << 20),
                src_mac="02:00:00:00:01:00",
                dst_mac="02:00:00:00:02:00",
            )
        )
        for p in inner
    ]


def router(json: dict) -> Switch:
    sw, _ = _switch(json)
    sw.table_add("RouterIngress.ipv4_lpm", [LPM(0x0A000000, 8)], "RouterIngress.set_nexthop", [1])
    sw.table_add(
        "RouterIngress.nexthop",
        [Exact(1)],
        "RouterIngress.forward",
        [0x020000000300, 0x020000000200, 2],
    )
    return sw


def router_packets(n_flows: int, rng: random.Random) -> list[bytes]:
    return [
        bytes(
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:02:00")
            / IP(
                src=f"192.168.{rng.randrange(256)}.{rng.randrange(256)}",
                dst=f"10.{rng.randrange(256)}.{rng.randrange(256)}.1",
                ttl=64,
            )
            / UDP(sport=rng.randrange(1024, 65535), dport=80)
            / (b"x" * 64)
        )
        for _ in range(n_flows)
    ]


def measure(sw: Switch, packets: list[bytes], n: int, repeat: int) -> float:
    """Best packets/s over ``repeat`` runs of ``n`` packets; checks every packet came out."""
    port = sw.ports[1]
    best = 0.0
    for _ in range(repeat):
        sw.reset_stats()
        t0 = time.perf_counter()
        for i in range(n):
            sw.clock.advance(1.0)
            port.send(packets[i % len(packets)])
        dt = time.perf_counter() - t0
        tx = sum(s["packets"] for s in sw.stats()["tx"].values())
        if tx != n:
            raise SystemExit(f"{sw.name}: {n} packets in, {tx} out; stats {sw.stats()['drops']}")
        best = max(best, n / dt)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--packets", type=int, default=5000, help="packets per run (default 5000)")
    ap.add_argument("--flows", type=int, default=256, help="distinct flows cycled through")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    inc = [str(ROOT / "p4src" / "include")]
    cpn = compile_file(str(ROOT / "p4src" / "cpn.p4"), include_dirs=inc).json
    router_json = compile_file(str(ROOT / "p4src" / "router.p4")).json

    igw = measure(ingress_gateway(cpn), ingress_packets(args.flows, rng), args.packets, args.repeat)
    tr = measure(transit(cpn), transit_packets(args.flows, rng), args.packets, args.repeat)
    base = measure(router(router_json), router_packets(args.flows, rng), args.packets, args.repeat)
    print(f"dataplane.ingress_gw.pps: {igw:.0f} packets/s")
    print(f"dataplane.transit.pps: {tr:.0f} packets/s")
    print(f"dataplane.router.pps: {base:.0f} packets/s")
    print(f"dataplane.ingress_gw.vs_router: {igw / base:.3f} ratio")
    print(f"dataplane.transit.vs_router: {tr / base:.3f} ratio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
