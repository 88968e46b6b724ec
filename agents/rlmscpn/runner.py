"""Running schedulers on seeded task sets: many simulators in lockstep, one batched forward.

Every method is scored on the same task sets: episode seed s gives the same arrivals, cells,
data sizes, compute-noise draws and background timeline to each. Learned policies see the
filtered candidates' features; heuristics read the simulator's state directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from agents.rlmscpn.features import snapshot_features
from agents.rlmscpn.sim import ComputeNetworkSim, Outcome

#: Offsets keeping training, validation and test episode seeds apart.
VALIDATION_SEED_BASE = 500_000
TEST_SEED_BASE = 1_000_000


class Heuristic(Protocol):
    def act(self, sim: ComputeNetworkSim) -> tuple[int, np.ndarray]: ...


@dataclass
class EpisodeStats:
    """Per-task outcomes of one method over a set of episodes."""

    response_ms: list[float] = field(default_factory=list)
    transfer_ms: list[float] = field(default_factory=list)
    wait_ms: list[float] = field(default_factory=list)
    compute_ms: list[float] = field(default_factory=list)
    decision_s: list[float] = field(default_factory=list)

    def add(self, out: Outcome) -> None:
        self.response_ms.append(out.response_ms)
        self.transfer_ms.append(out.transfer_ms)
        self.wait_ms.append(out.wait_ms)
        self.compute_ms.append(out.compute_ms)

    @property
    def mean_ms(self) -> float:
        return float(np.mean(self.response_ms)) if self.response_ms else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "mean_response_ms": self.mean_ms,
            "mean_transfer_ms": float(np.mean(self.transfer_ms)),
            "mean_wait_ms": float(np.mean(self.wait_ms)),
            "mean_compute_ms": float(np.mean(self.compute_ms)),
            "tasks": len(self.response_ms),
        }


def clone_sims(template: ComputeNetworkSim, n: int) -> list[ComputeNetworkSim]:
    """Independent copies of a simulator (same placement, background, caches)."""
    return [template.clone() for _ in range(n)]


def batch_features(
    sims: Sequence[ComputeNetworkSim],
) -> tuple[torch.Tensor, torch.Tensor, list[np.ndarray]]:
    """Candidates and features of each simulator's current task, stacked."""
    nodes, paths, cands = [], [], []
    for sim in sims:
        cand = sim.candidates()
        n, p = snapshot_features(sim.snapshot(cand))
        nodes.append(n)
        paths.append(p)
        cands.append(cand)
    return torch.from_numpy(np.stack(nodes)), torch.from_numpy(np.stack(paths)), cands


def run_model(
    model: torch.nn.Module,
    template: ComputeNetworkSim,
    seeds: Sequence[int],
    n_tasks: int | None = None,
    task_kind: str = "mixed",
    deterministic: bool = True,
    batch: int = 16,
    **task_kw: Any,
) -> EpisodeStats:
    """Run a learned actor-critic on one episode per seed, ``batch`` episodes in lockstep."""
    stats = EpisodeStats()
    model.eval()
    for start in range(0, len(seeds), batch):
        chunk = list(seeds[start : start + batch])
        sims = clone_sims(template, len(chunk))
        for sim, s in zip(sims, chunk, strict=True):
            sim.reset(s, n_tasks, task_kind, **task_kw)
        while True:
            live = [sim for sim in sims if not sim.done]
            if not live:
                break
            nodes, paths, cands = batch_features(live)
            node, split, _, _ = model.act(nodes, paths, deterministic=deterministic)
            for sim, cand, a, x in zip(live, cands, node.tolist(), split.numpy(), strict=True):
                stats.add(sim.execute(int(cand[a]), x))
    return stats


def run_heuristic(
    scheduler: Heuristic | Callable[[ComputeNetworkSim], tuple[int, np.ndarray]],
    template: ComputeNetworkSim,
    seeds: Sequence[int],
    n_tasks: int | None = None,
    task_kind: str = "mixed",
    **task_kw: Any,
) -> EpisodeStats:
    """Run a rule-based scheduler (``act(sim) -> (node index, split)``) on the seeds."""
    act = scheduler.act if hasattr(scheduler, "act") else scheduler
    stats = EpisodeStats()
    sim = template.clone()
    for s in seeds:
        sim.reset(s, n_tasks, task_kind, **task_kw)
        while not sim.done:
            node_idx, split = act(sim)
            stats.add(sim.execute(node_idx, split))
    return stats


def eval_seeds(n: int, seed: int = 0) -> list[int]:
    return [TEST_SEED_BASE + 1000 * seed + i for i in range(n)]


def validation_seeds(n: int, seed: int = 0) -> list[int]:
    return [VALIDATION_SEED_BASE + 1000 * seed + i for i in range(n)]
