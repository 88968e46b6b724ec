"""TSFT on new devices vs the Table-5 baselines (paper: TSFT MSE 0.00304, fine-tuning 8.7 s).

Trains (or loads from the user cache) a base model on the measured NB201 latency table minus the
held-out devices (the whole Titan Xp family, a Xeon Gold 6240, a Pixel 3), adapts to each held-out
device from 50 seeded labelled cells and prints one ``name: value unit`` line per figure. Targets:
TSFT mean MSE <= 0.003, fine-tuning <= 2 s per device on one CPU thread. Skips (exit 0, with the
reason) when no table is found: pass ``--csv`` or set ``CPN_P4_NB201_CSV``.

    python bench/latency_tsft.py [--csv PATH] [--seed 0] [--devices titanxp_32 gold_6240 pixel3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_CSV = REPO.parent / "shared" / "data" / "nb201_latency" / "devices_visible.csv"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--csv", type=Path, default=Path(os.environ.get("CPN_P4_NB201_CSV", DEFAULT_CSV))
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labelled", type=int, default=50)
    parser.add_argument(
        "--devices",
        nargs="*",
        default=["titanxp_1", "titanxp_32", "titanxp_256", "gold_6240", "pixel3"],
    )
    parser.add_argument("--repeats", type=int, default=1, help="labelled draws per device")
    parser.add_argument(
        "--cache", type=Path, default=None, help="base-model cache (default: user cache)"
    )
    args = parser.parse_args()
    if not args.csv.exists():
        print(
            f"latency.tsft: skipped (no NB201 latency table at {args.csv}; pass --csv or set CPN_P4_NB201_CSV)"
        )
        return 0

    import numpy as np
    import torch

    from agents.latency.basecache import load_or_train, training_devices
    from agents.latency.dataset import load_latency_csv
    from agents.latency.evaluate import score_device
    from agents.latency.report import DEFAULT_HOLDOUT, PAPER_TSFT_FINETUNE_S, PAPER_TSFT_MSE
    from agents.latency.train import TrainConfig

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    table = load_latency_csv(args.csv)
    held_out = sorted(
        set(DEFAULT_HOLDOUT) | set(args.devices)
    )  # never train on an evaluated device
    devices = training_devices(table, held_out)
    predictor, cached, _ = load_or_train(
        table, devices, TrainConfig(seed=args.seed), args.cache, progress=False
    )
    t_base = time.perf_counter() - t0
    predictor.warmup()

    scores = [
        score_device(predictor, table.ops, table.column(d), d, args.labelled, args.seed + r)
        for d in args.devices
        for r in range(args.repeats)
    ]
    methods = ["tsft", "tsft_stage1", "base", "flops", "layerwise", "brpnas"]
    mean = {m: float(np.mean([s.mse[m] for s in scores])) for m in methods}
    ft = float(np.mean([s.finetune_s for s in scores]))
    for d in args.devices:
        own = [s for s in scores if s.device == d]
        print(f"latency.tsft.mse.{d}: {np.mean([s.mse['tsft'] for s in own]):.5f} mse")
    print(f"latency.tsft.mse: {mean['tsft']:.5f} mse")
    print(f"latency.tsft.finetune_s: {ft:.3f} s/device")
    print(f"latency.tsft_stage1.mse: {mean['tsft_stage1']:.5f} mse")
    print(f"latency.base_model.mse: {mean['base']:.5f} mse")
    for m in ("flops", "layerwise", "brpnas"):
        print(f"latency.baseline.{m}.mse: {mean[m]:.5f} mse")
    best = min(("flops", "layerwise", "brpnas"), key=lambda m: mean[m])
    print(
        f"latency.tsft.vs_best_baseline: {mean['tsft'] / mean[best]:.3f} ratio (TSFT / {best}; < 1 is better)"
    )
    print(
        f"latency.tsft.vs_paper_mse: {mean['tsft'] / PAPER_TSFT_MSE:.3f} ratio (paper {PAPER_TSFT_MSE}; target <= 0.003 mse)"
    )
    print(
        f"latency.tsft.vs_paper_finetune: {ft / PAPER_TSFT_FINETUNE_S:.3f} ratio (paper {PAPER_TSFT_FINETUNE_S} s; target <= 2 s)"
    )
    print(
        f"latency.base_model.train_s: {t_base:.1f} s ({'cached' if cached else 'trained'}, {len(devices)} devices)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
