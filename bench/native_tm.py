"""The native engine's traffic manager: queues in C vs the Python traffic manager, same run.

    python bench/native_tm.py [--packets 40000] [--batch 32] [--repeat 3] [--seed 1]

router.p4 (tables of ``bench/dataplane_pps.py``) forwards frames of 64 to 1500 bytes to port 2,
which has a 10 Gbit/s link rate and a 5 µs propagation delay (what every port of the in-process
network has); ``Switch.receive_batch`` of --batch frames, then the virtual clock moves on by
the time they take on the wire, so the queue fills and drains.  Prints

    switch.native.shaped.pps             native engine, queues in C (tm_native.c)
    switch.native.shaped_python_tm.pps   native engine, queues in the Python traffic manager
                                         (``CPN_P4_NATIVE_TM=0``: every packet leaves C)
    switch.native.shaped.speedup         the ratio (x)

Rates are packets per CPU second of this process (``time.process_time``), best of --repeat;
every packet must come out of port 2, at the same virtual times in both modes (checked).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import dataplane_pps as dp  # noqa: E402

from p4target.compiler import compile_file  # noqa: E402
from p4target.switch import Switch  # noqa: E402

LINK_BPS = 10e9
DELAY_US = 5.0
SIZES = (64, 128, 512, 1024, 1500)


def frames(n_flows: int, rng: random.Random) -> list[bytes]:
    base = dp.router_packets(n_flows, rng)
    return [p + bytes(max(0, rng.choice(SIZES) - len(p))) for p in base]


def make(json: dict, native_tm: bool) -> Switch:
    sw = dp.router(json)
    assert sw.engine_name == "native", "the native engine is needed (gcc + cffi)"
    sw._native.queues.enable(native_tm)
    sw.set_link_rate(2, LINK_BPS)
    sw.set_port_delay(2, DELAY_US)
    sw.set_queue_depth(2, 4096)
    return sw


def run(sw: Switch, packets: list[bytes], n: int, batch: int) -> tuple[float, list[float]]:
    """CPU seconds for ``n`` packets; the virtual times the frames reached port 2."""
    seen: list[float] = []
    sw.on_transmit(lambda _p, _d: seen.append(sw.clock.now()))
    chunks = []
    for i in range(0, n, batch):
        fs = [(1, packets[(i + k) % len(packets)]) for k in range(min(batch, n - i))]
        wire = sum(len(f) for _p, f in fs) * 8e6 / LINK_BPS
        chunks.append((fs, wire))
    t0 = time.process_time()
    for fs, wire in chunks:
        sw.receive_batch(fs)
        sw.advance(wire)
    sw.run_until_idle()
    dt = time.process_time() - t0
    tx = sw.stats()["tx"].get(2, {}).get("packets", 0)
    assert tx == n, f"{tx} of {n} packets out"
    return dt, seen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packets", type=int, default=40000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--flows", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    json = compile_file(str(ROOT / "p4src" / "router.p4")).json
    packets = frames(args.flows, random.Random(args.seed))
    best = {True: float("inf"), False: float("inf")}
    times: dict[bool, list[float]] = {}
    for _ in range(args.repeat):
        for native_tm in (False, True):
            dt, seen = run(make(json, native_tm), packets, args.packets, args.batch)
            best[native_tm] = min(best[native_tm], dt)
            times[native_tm] = seen
    assert times[True] == times[False], "transmit times differ between the two modes"
    nat, pyt = args.packets / best[True], args.packets / best[False]
    print(f"switch.native.shaped.pps: {nat:.0f} pps")
    print(f"switch.native.shaped_python_tm.pps: {pyt:.0f} pps")
    print(f"switch.native.shaped.speedup: {nat / pyt:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
