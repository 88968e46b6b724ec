"""Task streams for the orchestration environment: AI-model tasks and unexpected tasks.

A stream depends only on (config, seed), so every method is evaluated on identical tasks. Tasks
belong to one of the paper's three stages (training, deployment, inference) with different
resource profiles, durations and tolerances. Within each window the tasks are queued in the
draft's priority order (high demand and low tolerance first, with a weight between the two); the
same order is served to every method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.detcom.orchestration.config import OrchestrationConfig


@dataclass
class TaskStream:
    """Arrays for ``n`` independent episodes (leading axis) of ``T`` tasks and ``K`` slots."""

    request: np.ndarray  # [n, T, 3] requested compute (cores), storage (TB), bandwidth (Gb/s)
    duration: np.ndarray  # [n, T] declared execution time at full grant (slots)
    actual: np.ndarray  # [n, T] actual execution time at full grant (slots; unknown to agents)
    tolerance: np.ndarray  # [n, T] deadline: the task must finish within this many slots
    stage: np.ndarray  # [n, T] 0 training, 1 deployment, 2 inference
    unexpected: np.ndarray  # [n, K, M] unexpected-task arrivals per slot and domain

    @property
    def n(self) -> int:
        return self.request.shape[0]


def priority_key(
    request: np.ndarray, tolerance: np.ndarray, mean_request: np.ndarray, weight: float
) -> np.ndarray:
    """The draft's sort key (larger first): weighted demand minus weighted tolerance."""
    demand = (request / mean_request).mean(axis=-1)
    return weight * demand / 3.0 - (1.0 - weight) * tolerance / 40.0


def generate_one(cfg: OrchestrationConfig, seed: int) -> dict[str, np.ndarray]:
    """One episode's tasks, sorted within each window by the draft's priority."""
    rng = np.random.default_rng(seed)
    n_t, w = cfg.n_tasks, cfg.window
    stage = rng.integers(0, len(cfg.stage_demand), size=n_t)
    prof = np.asarray(cfg.stage_demand)[stage]  # [T, 3]
    scale = cfg.demand_scale()
    spread = rng.lognormal(0.0, cfg.demand_sigma, size=n_t)
    request = prof * spread[:, None] * scale
    cap = cfg.capacity()
    request = np.minimum(request, 0.25 * cap.min(axis=0))  # no single task takes > 1/4 domain
    mean_dur = np.asarray(cfg.stage_duration)[stage]
    duration = np.clip(np.round(rng.exponential(1.0, size=n_t) * mean_dur), 1, cfg.max_duration)
    actual = duration * rng.lognormal(0.0, cfg.duration_noise, size=n_t)
    actual = np.clip(actual, 0.5, 2.0 * cfg.max_duration)
    lo, hi = np.asarray(cfg.stage_slack)[stage].T
    tolerance = duration * rng.uniform(lo, hi)
    # Draft: sort each window by demand and tolerance (high demand, low tolerance first).
    key = priority_key(request, tolerance, scale, cfg.priority_weight)
    order = np.argsort(-key.reshape(-1, w), axis=1, kind="stable")
    order = (order + np.arange(0, n_t, w)[:, None]).reshape(-1)
    rate = np.asarray(cfg.unexpected_rate)
    unexpected = rng.poisson(rate, size=(cfg.n_slots, cfg.n_domains))
    return {
        "request": request[order].astype(np.float32),
        "duration": duration[order].astype(np.float32),
        "actual": actual[order].astype(np.float32),
        "tolerance": tolerance[order].astype(np.float32),
        "stage": stage[order].astype(np.int8),
        "unexpected": unexpected.astype(np.int32),
    }


def generate(cfg: OrchestrationConfig, seeds: list[int] | np.ndarray) -> TaskStream:
    """Episodes for each seed, stacked."""
    parts = [generate_one(cfg, int(s)) for s in seeds]
    return TaskStream(**{k: np.stack([p[k] for p in parts]) for k in parts[0]})


TRAIN_STREAM, EVAL_STREAM = 0, 1


def episode_seeds(seed: int, count: int, start: int = 0, stream: int = TRAIN_STREAM) -> np.ndarray:
    """Distinct per-episode task-stream seeds derived from one experiment seed.

    ``stream`` separates training episodes from evaluation episodes of the same seed.
    """
    ss = np.random.SeedSequence([seed, stream])
    return np.array(
        [int(c.generate_state(1)[0]) for c in ss.spawn(start + count)[start:]], dtype=np.int64
    )
