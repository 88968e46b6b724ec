"""Evaluate orchestration methods on identical seeded task streams and compare them.

Metrics per method (mean over evaluation episodes): utilisation variance across domains
(time-averaged after warm-up, mean over compute/storage/bandwidth), acceptance rate, deadline
success rate (accepted tasks finishing within tolerance), mean utilisation and mean grant.

"Equal acceptance": a method is compared with greedy at equal acceptance when its acceptance
rate is at least greedy's minus ``ACCEPTANCE_TOLERANCE`` (0.5 percentage point) on the same
episodes, i.e. a lower variance was not bought by rejecting tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from agents.detcom.orchestration.baselines import (
    BASELINES,
    GreedyOrchestrator,
    choice_to_actions,
    feasible,
)
from agents.detcom.orchestration.config import OrchestrationConfig
from agents.detcom.orchestration.networks import BidActor, bids_from_scores
from agents.detcom.orchestration.tasks import EVAL_STREAM
from agents.detcom.orchestration.vecenv import VecOrchestrationEnv

ACCEPTANCE_TOLERANCE = 0.005
METRICS = (
    "util_var",
    "util_var_compute",
    "acceptance",
    "deadline_success",
    "mean_util",
    "mean_grant",
)


class Orchestrator(Protocol):
    name: str

    def reset(self, env: VecOrchestrationEnv) -> None: ...

    def act(self, env: VecOrchestrationEnv) -> tuple[np.ndarray, np.ndarray]: ...


class LearnedOrchestrator:
    """A trained actor (MAPPO or IPPO) acting deterministically (bid = score, grant = mode)."""

    def __init__(
        self,
        actor: BidActor,
        name: str = "mappo",
        deterministic: bool = True,
        balance_features: bool = False,
    ):
        self.actor = actor.eval()
        self.name = name
        self.deterministic = deterministic
        self.balance_features = balance_features  # the observation extras it was trained with
        self._obs_cfg: OrchestrationConfig | None = None

    def reset(self, env: VecOrchestrationEnv) -> None:
        self._obs_cfg = env.cfg.replace(balance_features=self.balance_features)

    @torch.no_grad()
    def act(self, env: VecOrchestrationEnv) -> tuple[np.ndarray, np.ndarray]:
        if self._obs_cfg is None or self._obs_cfg.n_domains != env.m:
            self.reset(env)
        obs = torch.from_numpy(env.observe(self._obs_cfg))
        x, grants = self.actor.act(obs, deterministic=self.deterministic)
        return bids_from_scores(x.numpy()), grants.numpy()


class BalanceGreedyOrchestrator:
    """Reference heuristic (ours, not the draft's): the feasible domain that minimises the sum
    over resources of the utilisation variance across domains after placing the task."""

    name = "greedy_balance"

    def reset(self, env: VecOrchestrationEnv) -> None:
        pass

    def act(self, env: VecOrchestrationEnv) -> tuple[np.ndarray, np.ndarray]:
        ok = feasible(env)
        req = env.tasks.request[:, min(env.t, env.cfg.n_tasks - 1)].astype(np.float64)
        u = env.utilisation()
        best = np.full(env.n, np.inf)
        choice = np.full(env.n, -1)
        for m in range(env.m):
            trial = u.copy()
            trial[:, m] += req / env.cap[m]
            v = trial.var(axis=1).sum(axis=-1)
            better = ok[:, m] & (v < best)
            best = np.where(better, v, best)
            choice = np.where(better, m, choice)
        return choice_to_actions(env, choice)


@dataclass
class MethodResult:
    name: str
    per_episode: dict[str, np.ndarray]
    assignments: dict[str, np.ndarray] = field(repr=False)
    trace: np.ndarray | None = field(default=None, repr=False)

    def mean(self, key: str) -> float:
        return float(np.mean(self.per_episode[key]))

    def std(self, key: str) -> float:
        return float(np.std(self.per_episode[key]))

    def summary(self) -> dict[str, float]:
        out = {k: self.mean(k) for k in METRICS}
        out["util_var_std"] = self.std("util_var")
        out["episodes"] = len(self.per_episode["util_var"])
        return out


def run_method(
    cfg: OrchestrationConfig,
    orchestrator: Orchestrator,
    seed: int,
    episodes: int,
    record_trace: bool = False,
) -> MethodResult:
    """Run ``episodes`` evaluation episodes (in parallel) of one method."""
    env = VecOrchestrationEnv(
        cfg, episodes, seed=seed, stream=EVAL_STREAM, auto_reset=False, record_trace=record_trace
    )
    orchestrator.reset(env)
    done = False
    while not done:
        done = env.step(*orchestrator.act(env))[3]
    assert env.episode_metrics is not None and env.episode_assignments is not None
    return MethodResult(
        orchestrator.name, env.episode_metrics, env.episode_assignments, env.episode_trace
    )


def make_orchestrator(name: str, seed: int = 0, checkpoint: Path | None = None) -> Orchestrator:
    """A method by name: a baseline, ``greedy_balance``, or a learned actor from ``checkpoint``
    (default: the shipped one in ``agents/detcom/policies/``)."""
    if name in BASELINES:
        return BASELINES[name](seed) if name == "random" else BASELINES[name]()
    if name == "greedy_balance":
        return BalanceGreedyOrchestrator()
    if name in ("mappo", "ippo"):
        from agents.detcom.orchestration.policy import load_actor, shipped_policy

        actor, meta = load_actor(checkpoint if checkpoint is not None else shipped_policy(name))
        env = OrchestrationConfig.from_dict(meta["config"]["env"])
        return LearnedOrchestrator(actor, name, balance_features=env.balance_features)
    raise ValueError(f"unknown orchestration method {name!r}")


def compare(
    cfg: OrchestrationConfig,
    orchestrators: list[Orchestrator],
    seed: int,
    episodes: int,
    record_trace: bool = False,
) -> dict[str, Any]:
    """Evaluate every method on the same episodes; summaries, ratios vs greedy, equal acceptance."""
    results = {o.name: run_method(cfg, o, seed, episodes, record_trace) for o in orchestrators}
    if "greedy" not in results:
        results["greedy"] = run_method(cfg, GreedyOrchestrator(), seed, episodes, record_trace)
    greedy = results["greedy"]
    table: dict[str, dict[str, Any]] = {}
    for name, res in results.items():
        row: dict[str, Any] = res.summary()
        row["util_var_ratio_vs_greedy"] = res.mean("util_var") / max(greedy.mean("util_var"), 1e-12)
        row["acceptance_minus_greedy"] = res.mean("acceptance") - greedy.mean("acceptance")
        row["equal_acceptance"] = bool(row["acceptance_minus_greedy"] >= -ACCEPTANCE_TOLERANCE)
        table[name] = row
    return {"methods": table, "results": results, "seed": seed, "episodes": episodes}
