"""Scoring latency predictors on a new device as the paper's Table 5 does.

The metric is the MSE of latency min-max normalised per device to [0, 1] over every cell of the
target table (15,625 for NB201), computed on the cells that were not labelled. Only the labelled
cells' latencies are ever shown to a predictor; the min/max come from the full column and are
used for scoring alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.latency.adapt import AdaptConfig
from agents.latency.baselines import all_baselines
from agents.latency.predictor import LatencyPredictor

METHODS = ("tsft", "tsft_stage1", "base", "flops", "layerwise", "brpnas")


def normalised_mse(pred_ms: np.ndarray, true_ms: np.ndarray, lo: float, hi: float) -> float:
    """MSE after mapping both to [0, 1] with the device's min/max latency ``lo``, ``hi``."""
    span = max(hi - lo, 1e-12)
    return float(np.mean(((np.asarray(pred_ms) - np.asarray(true_ms)) / span) ** 2))


def pick_labelled(n: int, k: int, seed: int) -> np.ndarray:
    """``k`` distinct row numbers out of ``n``, seeded."""
    if not 3 <= k < n:
        raise ValueError(f"labelled count must be in [3, {n}), got {k}")
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


@dataclass
class DeviceScore:
    device: str
    n_labelled: int
    n_scored: int
    mse: dict[str, float]
    finetune_s: float
    baseline_s: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "labelled": self.n_labelled,
            "scored": self.n_scored,
            "mse": self.mse["tsft"],
            "baselines": {k: v for k, v in self.mse.items() if k != "tsft"},
            "finetune_s": self.finetune_s,
            "baseline_fit_s": self.baseline_s,
        }


def score_device(
    predictor: LatencyPredictor,
    ops: np.ndarray,
    latency_ms: np.ndarray,
    device: str,
    n_labelled: int = 50,
    seed: int = 0,
    cfg: AdaptConfig | None = None,
    baselines: bool | Sequence[str] = True,
) -> DeviceScore:
    """Adapt to ``device`` from ``n_labelled`` seeded cells of (``ops``, ``latency_ms``); score
    TSFT, its stage-1 model, the base model and the baselines (all, or those named) on the
    remaining cells."""
    latency_ms = np.asarray(latency_ms, dtype=np.float64)
    lab = pick_labelled(len(latency_ms), n_labelled, seed)
    rest = np.ones(len(latency_ms), dtype=bool)
    rest[lab] = False
    lo, hi = float(latency_ms.min()), float(latency_ms.max())
    y_l = latency_ms[lab]
    name = f"{device}@eval"
    info = predictor.adapt(
        name, ops[lab], y_l, unlabelled=ops[rest], cfg=cfg, seed=seed, keep_stage1=True
    )
    mse = {
        "tsft": normalised_mse(predictor.predict_ms(ops[rest], name), latency_ms[rest], lo, hi),
        "tsft_stage1": normalised_mse(
            predictor.predict_ms(ops[rest], f"{name}@stage1"), latency_ms[rest], lo, hi
        ),
        "base": normalised_mse(
            predictor.base_guess_ms(ops[rest], float(y_l.mean()), float(y_l.std())),
            latency_ms[rest],
            lo,
            hi,
        ),
    }
    del predictor.heads[name], predictor.heads[f"{name}@stage1"]
    fit_s: dict[str, float] = {}
    if baselines:
        wanted = None if baselines is True else set(baselines)
        for model in all_baselines(seed):
            if wanted is not None and model.name not in wanted:
                continue
            t0 = time.perf_counter()
            model.fit(ops[lab], y_l)
            fit_s[model.name] = time.perf_counter() - t0
            mse[model.name] = normalised_mse(model.predict(ops[rest]), latency_ms[rest], lo, hi)
    return DeviceScore(
        device=device,
        n_labelled=n_labelled,
        n_scored=int(rest.sum()),
        mse=mse,
        finetune_s=float(info["finetune_s"]),
        baseline_s=fit_s,
        info=info,
    )
