"""The AISID paper's DNS comparison as figures: AISID's change against DNS in percent.

    python bench/experiment_dns.py [--topology auto] [--requests 500] [--seeds 0]

Runs ``python -m cpn experiment aisid-vs-dns`` (:mod:`cpn.experiment_dns`) without a report and
prints one line per figure (``name: value unit``), negative = lower with AISID, as the paper
gives its results:

    experiment.aisid_vs_dns.latency_reduction: P %              request initiation latency
    experiment.aisid_vs_dns.bandwidth_variance_reduction: P %   link utilisation variance
    experiment.aisid_vs_dns.compute_variance_reduction: P %     compute utilisation variance

against DNS round robin (the paper's baseline: classic DNS scheduling), then the same three
against nearest-site DNS (``experiment.aisid_vs_dns.nearest.*``) and load-aware DNS
(``experiment.aisid_vs_dns.load_aware.*``), and ``experiment.aisid_vs_dns.wall_seconds``.
The default (``auto``: Chinanet, 42 switches, where ``../shared/data`` has it, else Abilene;
500 requests; one seed) takes a few minutes on two cores; each line says mean ± sd over the
seeds and the paper's figure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpn.experiment_dns import BASELINE, METHOD_LABEL, PAPER, run_experiment  # noqa: E402

NAMES = {
    "latency": "latency_reduction",
    "bandwidth_variance": "bandwidth_variance_reduction",
    "compute_variance": "compute_variance_reduction",
}
PREFIX = {BASELINE: "", "dns-nearest": "nearest.", "dns-load": "load_aware."}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topology", default="auto")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    t = time.perf_counter()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ex = run_experiment(args.topology, requests=args.requests, seeds=args.seeds,
                            command="python bench/experiment_dns.py")  # fmt: skip
    wall = time.perf_counter() - t
    cmp = ex.comparison()
    n = len(args.seeds)
    where = f"{ex.network}, {args.requests} requests, {n} seed{'s' if n > 1 else ''}"
    for dm, prefix in PREFIX.items():
        for metric, name in NAMES.items():
            c = cmp[dm][metric]
            val = "-" if c["mean"] is None else f"{c['mean']:+.1f} %"
            print(f"experiment.aisid_vs_dns.{prefix}{name}: {val}   (AISID vs "
                  f"{METHOD_LABEL[dm]}{' (the paper baseline)' if dm == BASELINE else ''}; "
                  f"± {c['sd'] or 0:.1f} over seeds; paper {PAPER[metric]:+.1f} %; {where})")  # fmt: skip
    print(f"experiment.aisid_vs_dns.wall_seconds: {wall:.0f} s   ({where}, 4 methods each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
