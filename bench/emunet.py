"""The in-process network's figures: build time at the AISID paper's scale, packets/s.

    python bench/emunet.py [--packets 3000] [--repeat 3] [--seed 0]

Prints one line per figure (``name: value unit``):

    emunet.chinanet.build_seconds: S s            42 switches, 66 links, 10 ingress and 4 egress
                                                  gateways, one P4Runtime server each, no
                                                  pipeline (what the controller connects to)
    emunet.chinanet.build_preloaded_seconds: S s  the same with cpn.p4 loaded in every switch
    emunet.pps: N packets/s                       AISID requests through a 5-hop path (6 switches:
                                                  ingress gw, 4 SRv6 transits, egress gw) on the
                                                  virtual clock, per second of wall time
    emunet.switch_pps: N packets/s                pipeline passes per wall second (6 per packet)

Chinanet is ``../shared/data/topologies/graphml/Chinanet.graphml`` (through
``controlplane.netgen``) when present, else a seeded synthetic stand-in with 42 nodes and 66
links (the line says which). The path is filled through the switches' Python API (the test
helper ``tests/topo/emunet_helpers.py``), not P4Runtime: this measures the network, not the
controller. Best of ``--repeat`` runs; every packet must arrive, otherwise the script fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "topo"))

from emunet_helpers import AISID, fill_direct, line, line_entries  # noqa: E402

from controlplane.netgen import generate, resolve_topology  # noqa: E402
from controlplane.program import load_program  # noqa: E402
from topo.emunet import InProcessNetwork  # noqa: E402
from topo.synthetic import synthetic_topology  # noqa: E402
from traces.packets import aisid_udp_request  # noqa: E402


def chinanet(seed: int):
    try:
        topo = resolve_topology("chinanet", seed=seed)
    except FileNotFoundError:
        topo = synthetic_topology(42, 132, seed=seed, name="Chinanet (synthetic stand-in)")
    d = generate(topo, ingress=10, egress=4, seed=seed, link_rate_bps=100e9, link_delay_us=5000)
    for s in d.switches:
        s.address = "127.0.0.1:0"
    return topo, d


def build_seconds(d, program, preload: bool) -> float:
    t = time.perf_counter()
    net = InProcessNetwork(d, program, preload_pipeline=preload)
    dt = time.perf_counter() - t
    net.stop()
    return dt


def path_pps(program, packets: int, seed: int) -> float:
    d = line(6, rate_bps=100e9, delay_us=1000.0, queue_packets=1000)
    net = InProcessNetwork(d, program, seed=seed, start_servers=False, preload_pipeline=True)
    ents = line_entries(net.description)
    for name, sw in net.switches.items():
        fill_direct(sw, ents[name], program)
    h1 = net.endpoints["h1"]
    frames = [
        bytes(
            aisid_udp_request(
                AISID,
                src=h1.address,
                sport=10000 + i % 50000,
                src_mac=h1.mac,
                dst_mac=h1.gateway_mac,
                payload=b"x" * 64,
            )
        )
        for i in range(packets)
    ]
    nodes = [net.endpoints["n1"], net.endpoints["n2"]]
    for ep in nodes:
        ep.record = False
    t = time.perf_counter()
    for i, f in enumerate(frames):
        net.at(i * 10e-6, h1.send, f)  # 100k requests/s of virtual time: no queueing
    net.run_for(packets * 10e-6 + 0.1)
    dt = time.perf_counter() - t
    got = sum(ep.rx for ep in nodes)
    if got != packets or net.losses():
        raise SystemExit(f"emunet bench: {got}/{packets} packets arrived, losses {net.losses()}")
    return packets / dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    program = load_program()
    topo, d = chinanet(args.seed)
    build = min(build_seconds(d, program, False) for _ in range(args.repeat))
    pre = min(build_seconds(d, program, True) for _ in range(args.repeat))
    pps = max(path_pps(program, args.packets, args.seed) for _ in range(args.repeat))
    src = topo.source
    print(
        f"emunet.chinanet.build_seconds: {build:.3f} s   ({len(d.switches)} switches, "
        f"{len(d.links)} links, {len(d.ingress_gateways)} ingress / "
        f"{len(d.egress_gateways)} egress gateways; {src})"
    )
    print(f"emunet.chinanet.build_preloaded_seconds: {pre:.3f} s")
    print(f"emunet.pps: {pps:.0f} packets/s   (5-hop SRv6 path, {args.packets} requests)")
    print(f"emunet.switch_pps: {pps * 6:.0f} packets/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
