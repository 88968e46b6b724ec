"""The embedded switch's two engines side by side: packets/s per core, compile time, fuzzing.

    python bench/native_pps.py [--packets 20000] [--batch 256] [--flows 256] [--seed 1]
                               [--sanitize-packets 0]

For router.p4 and cpn.p4's ingress gateway, transit and egress gateway (table setups of
``bench/dataplane_pps.py``; the egress gateway balances over 2 nodes), prints

    switch.python.<case>.pps          Python engine, one ``MemoryPort.send`` per packet
    switch.native.<case>.pps          native engine, one ``send`` per packet
    switch.native.<case>.batch_pps    native engine, ``Switch.receive_batch`` of --batch frames
    switch.native.<case>.speedup      batch_pps / python pps (x); .speedup_per_packet too
    switch.native.cpn.compile_s       generate + gcc + load, empty cache (cold)
    switch.native.cpn.load_cached_s   the same with the library cached
    switch.native.verdict.*           the issue's targets, computed from the figures above

Rates are packets per CPU second of this process (``time.process_time``), best of --repeat
runs, so a shared machine does not distort them; every packet must come out (checked).
``simple_switch`` figures are printed only when it is on PATH (it is not here: a line says
so).  ``--sanitize-packets N`` also runs N packets through the AddressSanitizer +
UndefinedBehaviorSanitizer builds against the Python engine (tests/dataplane/native_sancheck.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import dataplane_pps as dp  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from p4target.compiler import compile_file  # noqa: E402
from p4target.switch import LPM, Exact, Switch  # noqa: E402
from traces.srv6 import h_encaps  # noqa: E402

EGW_SID = "fc00:0:4::d6"


def egress_gateway(json: dict) -> Switch:
    sw, _ = dp._switch(json)
    pfx = int(ipaddress.IPv6Network(dp.PREFIX).network_address) >> 64
    sw.table_add(
        "CpnIngress.srv6.my_sid", [LPM(dp.ip6(EGW_SID), 128)], "CpnIngress.srv6.end_dt6", []
    )
    sw.table_add("CpnIngress.aisid.prefixes", [LPM(pfx, 64)], "CpnIngress.aisid.aisid_prefix", [])
    sw.table_add(
        "CpnIngress.aisid.classify",
        [
            Exact(0),
            LPM(pfx, 64),
            dp.Ternary(0, 0),
            dp.Ternary(0, 0),
            dp.Ternary(0, 0),
            dp.Range(0, 0xFFFF),
        ],
        "CpnIngress.aisid.set_service",
        [7, 0, 500_000],
        priority=1,
    )
    params = [1, 1, 2, 1] + [0, 0] * 6
    sw.table_add(
        "CpnIngress.egw.service_nodes", [Exact(0), Exact(7)], "CpnIngress.egw.set_nodes", params
    )
    for n in (1, 2):
        sw.table_add(
            "CpnIngress.egw.nodes",
            [Exact(n)],
            "CpnIngress.egw.set_node_address",
            [dp.ip6(f"fd00:4::{20 + n}")],
        )
    sw.table_add(
        "CpnIngress.routing.ipv6_routes",
        [LPM(dp.ip6("fd00:4::"), 64)],
        "CpnIngress.routing.route",
        [3, 0x020000000400, 0x020000004400],
    )
    return sw


def egress_packets(n_flows: int, rng: random.Random) -> list[bytes]:
    inner = dp.ingress_packets(n_flows, rng)
    return [
        bytes(
            h_encaps(
                Ether(p),
                src=dp.IGW_SID,
                path=[EGW_SID],
                tag=0,
                flow_label=i,
                src_mac="02:00:00:00:03:00",
                dst_mac="02:00:00:00:04:00",
            )
        )
        for i, p in enumerate(inner)
    ]


def run_send(sw: Switch, packets: list[bytes], n: int) -> float:
    port = sw.ports[1]
    t0 = time.process_time()
    for i in range(n):
        sw.clock.advance(1.0)
        port.send(packets[i % len(packets)])
    return time.process_time() - t0


def run_batch(sw: Switch, packets: list[bytes], n: int, batch: int) -> float:
    frames = [(1, packets[i % len(packets)]) for i in range(n)]
    t0 = time.process_time()
    for i in range(0, n, batch):
        sw.clock.advance(1.0)
        sw.receive_batch(frames[i : i + batch])
    return time.process_time() - t0


def measure(make, packets: list[bytes], n: int, repeat: int, batch: int | None) -> float:
    best = 0.0
    for _ in range(repeat):
        sw = make()
        dt = run_send(sw, packets, n) if batch is None else run_batch(sw, packets, n, batch)
        tx = sum(s["packets"] for s in sw.stats()["tx"].values())
        if tx != n:
            raise SystemExit(f"{sw.name}: {n} packets in, {tx} out; drops {sw.stats()['drops']}")
        best = max(best, n / dt)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--packets", type=int, default=20000, help="packets per native run")
    ap.add_argument("--python-packets", type=int, default=3000, help="packets per Python run")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--flows", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sanitize-packets", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    inc = [str(ROOT / "p4src" / "include")]
    cpn = compile_file(str(ROOT / "p4src" / "cpn.p4"), include_dirs=inc).json
    router = compile_file(str(ROOT / "p4src" / "router.p4")).json

    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("CPN_P4_NATIVE_CACHE")
        os.environ["CPN_P4_NATIVE_CACHE"] = tmp
        t0 = time.perf_counter()
        Switch(cpn, engine="native")
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        Switch(cpn, engine="native")
        cached = time.perf_counter() - t0
        if old is None:
            del os.environ["CPN_P4_NATIVE_CACHE"]
        else:
            os.environ["CPN_P4_NATIVE_CACHE"] = old
    print(f"switch.native.cpn.compile_s: {cold:.2f} s")
    print(f"switch.native.cpn.load_cached_s: {cached:.2f} s")

    cases = {
        "router": (dp.router, router, dp.router_packets(args.flows, rng)),
        "ingress_gw": (dp.ingress_gateway, cpn, dp.ingress_packets(args.flows, rng)),
        "transit": (dp.transit, cpn, dp.transit_packets(args.flows, rng)),
        "egress_gw": (egress_gateway, cpn, egress_packets(args.flows, rng)),
    }
    figures: dict[str, float] = {}
    for name, (setup, json, packets) in cases.items():

        def make(engine: str, setup=setup, json=json):
            os.environ["CPN_P4_ENGINE"] = engine
            try:
                return setup(json)
            finally:
                del os.environ["CPN_P4_ENGINE"]

        py = measure(lambda: make("python"), packets, args.python_packets, args.repeat, None)
        nat = measure(lambda: make("native"), packets, args.packets, args.repeat, None)
        bat = measure(lambda: make("native"), packets, args.packets * 4, args.repeat, args.batch)
        figures[name] = bat / py
        print(f"switch.python.{name}.pps: {py:,.0f} packets/s")
        print(f"switch.native.{name}.pps: {nat:,.0f} packets/s")
        print(f"switch.native.{name}.batch_pps: {bat:,.0f} packets/s")
        print(f"switch.native.{name}.speedup: {bat / py:.1f} x")
        print(f"switch.native.{name}.speedup_per_packet: {nat / py:.1f} x")
        figures[f"{name}.batch_pps"] = bat
    ok_gw = figures["ingress_gw"] >= 10
    ok_router = figures["router.batch_pps"] >= 1_000_000
    print(
        f"switch.native.verdict.ingress_gw_10x: {'PASS' if ok_gw else 'FAIL'} "
        f"({figures['ingress_gw']:.1f} x, target 10 x)"
    )
    print(
        f"switch.native.verdict.router_1mpps: {'PASS' if ok_router else 'FAIL'} "
        f"({figures['router.batch_pps']:,.0f} packets/s, target 1,000,000)"
    )
    if shutil.which("simple_switch") is None:
        print("# simple_switch is not on PATH: no BMv2 figures in this run")
    if args.sanitize_packets:
        from p4target.switch.native.build import sanitizer_env

        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests" / "dataplane" / "native_sancheck.py"),
                "--packets",
                str(args.sanitize_packets),
                "--seed",
                str(args.seed),
            ],
            env=sanitizer_env(),
            capture_output=True,
            text=True,
        )
        print((proc.stdout.strip() or proc.stderr[-2000:]).splitlines()[-1])
        if proc.returncode:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
