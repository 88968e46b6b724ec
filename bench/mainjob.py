"""The main job's figures: the demo's wall time, and what the in-process network sustains on
Chinanet with the controller running.

    python bench/mainjob.py [--requests 500] [--seed 0] [--skip-demo]

Prints one line per figure (``name: value unit``):

    demo.wall_seconds: S s                   ``python -m cpn demo --no-progress`` as ``make demo``
                                             runs it (network, controller, workload, swap, report),
                                             on whichever network it picks (the line says which)
    emunet.chinanet.requests_per_s: R req/s  Table-3 requests completed per wall second of the run
                                             on Chinanet (42 switches, 10 ingress / 4 egress
                                             gateways, controller on Base2, 1 s interval)
    emunet.chinanet.packets_per_s: P pkt/s   frames through the switches' pipelines (every hop
                                             counts; a BULK unit once) per wall second of that run
    emunet.chinanet.frames_per_request: F    those frames per request (hops included)

Chinanet is ``../shared/data/topologies/graphml/Chinanet.graphml`` (``$CPN_P4_DATA_DIR``); without
it the Chinanet lines say they were skipped. Wall seconds of the run exclude building the network
and starting the controller (printed beside them).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpn import demo  # noqa: E402
from cpn.scenario import Scenario  # noqa: E402


def demo_seconds() -> tuple[float, str]:
    import contextlib
    import io

    with tempfile.TemporaryDirectory() as tmp:
        buf = io.StringIO()
        t = time.perf_counter()
        with contextlib.redirect_stdout(buf):
            rc = demo.main(["--no-progress", "--out", tmp])
        dt = time.perf_counter() - t
    if rc != 0:
        raise SystemExit(f"mainjob bench: the demo failed:\n{buf.getvalue()}")
    first = buf.getvalue().splitlines()[0]
    return dt, first.removeprefix("cpn demo: ")


def chinanet(requests: int, seed: int) -> str:
    try:
        dn = demo.build_network("chinanet", seed)
    except FileNotFoundError as e:
        return f"skipped ({e})"
    sc = Scenario(dn.desc, policy="base2", seed=seed, requests=requests, params=dn.params)
    with sc:
        sc.start()
        rx0 = _pipeline_frames(sc)
        sc.run()
        frames = _pipeline_frames(sc) - rx0
        res = sc.results()
    run = sc.wall_s["run"]
    ok = res.summary()["overall"]["ok"]
    print(f"emunet.chinanet.requests_per_s: {ok / run:.1f} req/s   ({ok}/{requests} requests ok "
          f"in {run:.1f} s of wall time for {res.meta['t_end_s']:.2f} s of virtual time; build "
          f"{sc.wall_s['build']:.1f} s, controller start {sc.wall_s['controller_start']:.1f} s; "
          f"lost {res.summary()['lost']})")  # fmt: skip
    print(f"emunet.chinanet.packets_per_s: {frames / run:.0f} pkt/s   ({frames} pipeline passes)")
    print(f"emunet.chinanet.frames_per_request: {frames / max(1, requests):.1f}")
    return ""


def _pipeline_frames(sc: Scenario) -> int:
    return sum(p["packets"] for sw in sc.net.switches.values() for p in sw.stats()["rx"].values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if not args.skip_demo:
        dt, what = demo_seconds()
        print(f"demo.wall_seconds: {dt:.1f} s   ({what})")
    skipped = chinanet(args.requests, args.seed)
    if skipped:
        for name in ("requests_per_s", "packets_per_s", "frames_per_request"):
            print(f"emunet.chinanet.{name}: {skipped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
