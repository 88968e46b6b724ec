"""Embedded switch throughput, in-process, one core: packets per second.

``python bench/switch_pps.py [--packets N] [--routes N] [--seed S]`` prints

* ``switch.router.pps``: the IPv4 LPM router (p4src/router.p4 compiled by the embedded
  compiler; the hand-written tests/fixtures/bmv2/router.json when the compiler is missing):
  parse Ethernet + IPv4, LPM lookup, next hop, MAC rewrite, TTL decrement, checksum update,
  deparse, through the traffic manager on the virtual clock;
* ``switch.router.baseline_pps`` and ``switch.router.speedup``: the same forwarding done the
  way a naive Python switch would, dissecting and rebuilding every packet with Scapy;
* ``switch.<program>.pps`` for every other ``p4src/*.p4`` that compiles (no table entries:
  the default actions run), the heaviest program in p4src among them.

Rates are packets per CPU second of the measuring thread (``time.thread_time``), i.e. what one
core sustains even when the machine is shared; ``switch.router.wall_pps`` gives the wall-clock
rate of the same run.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import raw  # noqa: E402

from p4target.switch import LPM, Exact, Switch  # noqa: E402


def compile_program(path: Path) -> dict | None:
    try:
        from p4target.compiler import compile_file
    except ImportError:
        return None
    try:
        return compile_file(str(path), include_dirs=[str(ROOT / "p4src" / "include")]).json
    except Exception as exc:  # noqa: BLE001 - a program that does not compile is skipped
        print(f"# {path.name}: does not compile ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        return None


def routes(n: int, rng: random.Random) -> list[tuple[int, int, int]]:
    """(prefix, length, next hop) with distinct prefixes, /8 to /24."""
    out = {(0x0A000000, 8): 1}
    while len(out) < n:
        plen = rng.choice([16, 20, 24, 24, 24])
        net = rng.getrandbits(32) & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        out[(net, plen)] = rng.randint(1, 16)
    return [(net, plen, nh) for (net, plen), nh in out.items()]


def frames(rts: list[tuple[int, int, int]], n: int, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(n):
        net, plen, _nh = rng.choice(rts)
        host = net | rng.getrandbits(32 - plen) if plen < 32 else net
        out.append(
            raw(
                Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:aa")
                / IP(src="192.168.0.1", dst=str(ipaddress.IPv4Address(host)), ttl=64)
                / UDP(sport=rng.randint(1024, 65535), dport=80)
                / (b"x" * 18)
            )
        )
    return out


def build_router(rts: list[tuple[int, int, int]]) -> tuple[Switch, str]:
    prog = compile_program(ROOT / "p4src" / "router.p4")
    if prog is not None:
        sw = Switch(prog)
        for nh in range(1, 17):
            sw.table_add(
                "nexthop", [Exact(nh)], "forward", [0x020000000000 + nh, 0x020000000100, nh % 4 + 1]
            )
        for net, plen, nh in rts:
            sw.table_add("ipv4_lpm", [LPM(net, plen)], "set_nexthop", [nh])
        src = "p4src/router.p4"
    else:
        sw = Switch(json.loads((ROOT / "tests" / "fixtures" / "bmv2" / "router.json").read_text()))
        for net, plen, nh in rts:
            sw.table_add(
                "ipv4_lpm", [LPM(net, plen)], "ipv4_forward", [0x020000000000 + nh, nh % 4 + 1]
            )
        src = "tests/fixtures/bmv2/router.json"
    for p in range(1, 5):
        sw.add_port(p).record = False
    return sw, src


def measure(sw: Switch, pkts: list[bytes], repeat: int) -> tuple[float, float]:
    """(packets per CPU second of this thread, packets per wall-clock second)."""
    recv = sw.receive
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(repeat):
        for p in pkts:
            recv(1, p)
    n = repeat * len(pkts)
    return n / (time.thread_time() - c0), n / (time.perf_counter() - t0)


def scapy_baseline(rts: list[tuple[int, int, int]], pkts: list[bytes]) -> float:
    """Forwarding as a naive Python switch does it: dissect, look up, modify, rebuild."""
    table: dict[int, dict[int, int]] = {}
    for net, plen, nh in rts:
        table.setdefault(plen, {})[net] = nh
    plens = sorted(table, reverse=True)
    out = []
    c0 = time.thread_time()
    for p in pkts:
        e = Ether(p)
        ip = e[IP]
        if ip.ttl <= 1:
            continue
        dst = int(ipaddress.IPv4Address(ip.dst))
        nh = None
        for plen in plens:
            nh = table[plen].get(dst & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF))
            if nh is not None:
                break
        if nh is None:
            continue
        e.dst = f"02:00:00:00:00:{nh:02x}"
        e.src = "02:00:00:00:01:00"
        ip.ttl -= 1
        del ip.chksum
        out.append((nh % 4 + 1, raw(e)))
    return len(pkts) / (time.thread_time() - c0)


def cpn_gateway(packets: int) -> None:
    """cpn.p4 as an ingress gateway (AISID match, flowlet path choice, SRv6 encapsulation),
    configured with the data-plane test harness; skipped when that harness is absent."""
    sys.path.insert(0, str(ROOT / "tests" / "dataplane"))
    try:
        from cpn_harness import AISID_ADDR, CLIENT, EGW_SID, IGW_SID, MAC, PREFIX, CpnSwitch

        from traces.packets import aisid_udp_request
    except Exception as exc:  # noqa: BLE001
        print(f"# cpn gateway workload skipped: {type(exc).__name__}: {exc}")
        return
    gw = CpnSwitch(switch_id=1, ports=(1, 2, 3, 4, 5))
    gw.aisid_prefix(PREFIX)
    gw.classify(PREFIX, service_id=7)
    gw.service_site(7, 4)
    gw.path_split(4, [0.4, 0.3, 0.2, 0.1])
    for i in range(4):
        gw.srv6_path(4, i, IGW_SID, [f"fc00:0:{20 + i}::100", EGW_SID])
        gw.ipv6_route(f"fc00:0:{20 + i}::/48", i + 2, MAC["t2"], src_mac=MAC["igw"])
    for p in gw.ports.values():
        p.record = False
    gw.sw.advance(1000)
    pkts = [
        bytes(aisid_udp_request(AISID_ADDR, src=CLIENT, sport=40000 + i % 512, dport=8080))
        for i in range(1000)
    ]
    measure(gw.sw, pkts[:100], 1)
    pps, _wall = measure(gw.sw, pkts, max(1, packets // 4000))
    st = gw.sw.stats()
    sent = sum(v["packets"] for v in st["tx"].values())
    assert sent > 0, st
    print(f"switch.cpn.gateway_pps: {pps:.0f} packets/s")


def other_programs(packets: int) -> None:
    rng = random.Random(1)
    mix = [
        raw(Ether(dst="02:00:00:00:00:01") / IP(dst="10.0.0.1") / UDP() / (b"x" * 20)),
        raw(
            Ether(dst="02:00:00:00:00:01")
            / IPv6(dst="2001:db8:abcd:12:1:2:1:1388")
            / UDP()
            / (b"y" * 20)
        ),
        raw(Ether(dst="02:00:00:00:00:01") / IPv6(dst="2001:db8::1", nh=43) / (b"\x00" * 40)),
    ]
    for path in sorted((ROOT / "p4src").glob("*.p4")):
        if path.stem == "router":
            continue
        prog = compile_program(path)
        if prog is None:
            continue
        sw = Switch(prog)
        pkts = [rng.choice(mix) for _ in range(min(packets, 5000))]
        measure(sw, pkts[:200], 1)
        pps, _wall = measure(sw, pkts, 1)
        print(f"# {path.name}: no table entries, default actions only")
        print(f"switch.{path.stem}.pps: {pps:.0f} packets/s")
        if path.stem == "cpn":
            cpn_gateway(packets)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--packets", type=int, default=20000, help="packets per measurement")
    ap.add_argument("--routes", type=int, default=1000, help="IPv4 routes in the LPM table")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rts = routes(args.routes, rng)
    pkts = frames(rts, 1000, rng)
    sw, src = build_router(rts)
    measure(sw, pkts, 1)  # warm-up
    pps, wall = measure(sw, pkts, max(1, args.packets // len(pkts)))
    st = sw.stats()
    sent = sum(v["packets"] for v in st["tx"].values())
    assert sent > 0 and not st["drops"].get("internal_error"), st
    base = scapy_baseline(rts, pkts[: max(200, min(2000, args.packets // 10))])
    print(
        f"# router program: {src}; {len(rts)} routes; command: python bench/switch_pps.py --packets {args.packets} --routes {args.routes} --seed {args.seed}"
    )
    print(f"switch.router.pps: {pps:.0f} packets/s")
    print(f"switch.router.wall_pps: {wall:.0f} packets/s")
    print(f"switch.router.baseline_pps: {base:.0f} packets/s")
    print(f"switch.router.speedup: {pps / base:.1f} x")
    other_programs(args.packets)


if __name__ == "__main__":
    main()
