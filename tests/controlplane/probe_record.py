"""Run the web demo's driver (controller, traffic, a probe round per interval) on line4 with
slow links and print, as one JSON line, what its probes did: per probe the virtual times of
injection (first hop's ingress timestamp), return (last hop's egress timestamp), sending and
handling by the controller, and the delay; per poll the path delays the snapshot holds.

    python tests/controlplane/probe_record.py SEED SECONDS [--no-barrier]

``--no-barrier`` turns the stream barrier off (to show what it fixes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LINE4 = ROOT / "controlplane" / "examples" / "line4.json"
INTERVAL_S = 0.05
LINK_BPS = 10e6  # the requests queue ahead of the probes: their delays depend on when they go
RATE_PER_HOST = 1000.0


def record(seed: int, seconds: float, barrier: bool = True) -> dict[str, Any]:
    from controlplane.netdesc import load
    from controlplane.webdemo import DemoDriver

    if not barrier:
        from controlplane.p4rt import P4RuntimeClient

        P4RuntimeClient.barrier = lambda self, timeout_s=None: None  # type: ignore[method-assign]
    d = load(LINE4)
    d.controller.interval_s = INTERVAL_S
    for lk in d.links:
        lk.rate_bps = LINK_BPS
    drv = DemoDriver(d, seed=seed, rate_per_host=RATE_PER_HOST)
    try:
        drv.start()
        drv.run(seconds)
        tel = drv.ctl.telemetry
        probes = [
            [r.seq, r.path_id, r.ingress_ts_us, r.egress_ts_us, r.delay_us, r.sent_s, r.collected_s]
            for _, r in sorted(tel.results.items())
        ]
        polls = [[s.t, sorted([*k, v] for k, v in s.path_delay_us.items())] for s in tel.history]
        return {"probes": probes, "polls": polls, "lost": tel.lost_probes, "sent": drv.sent}
    finally:
        drv.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(record(int(args[0]), float(args[1]), "--no-barrier" not in args)))
