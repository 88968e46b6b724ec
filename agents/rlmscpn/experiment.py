"""Training and evaluating every method on a scenario: what ``train``, ``eval`` and ``report`` run.

Policy files (safetensors + JSON sidecar) are named ``<slug><suffix>`` where the slug names the
topology (``abilene``, or ``<name>-<fingerprint>``) and the suffix the method: ``""`` RLMS-CPN
(SyncGNN, improved training), ``-mlp`` the MLP ablation, ``-paper`` SyncGNN trained by the
paper's Algorithm 1, ``-dqn`` the GNN+DQN baseline. The shipped directory is searched first,
then the user's cache (``~/.cache/cpn-p4/rlmscpn``) where new topologies' policies are written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common.checkpoint import default_provenance, load_checkpoint, save_checkpoint
from agents.rlmscpn.baselines import HeuristicScheduler, paper_baselines
from agents.rlmscpn.dqn import DqnAgent, DqnConfig, GnnQNetwork, train_dqn
from agents.rlmscpn.model import ActorCritic, ModelConfig
from agents.rlmscpn.portable import data_ref
from agents.rlmscpn.runner import (
    EpisodeStats,
    eval_seeds,
    run_heuristic,
    run_model,
    validation_seeds,
)
from agents.rlmscpn.scenario import SHIPPED_POLICY_DIR, Scenario, cache_dir, topology_slug
from agents.rlmscpn.sim import ComputeNetworkSim
from agents.rlmscpn.train import TrainConfig, Trainer
from topo.catalog import default_data_dir

log = logging.getLogger(__name__)

#: method key -> (file suffix, human name)
VARIANTS: dict[str, tuple[str, str]] = {
    "syncgnn": ("", "RLMS-CPN"),
    "mlp": ("-mlp", "MLP"),
    "paper": ("-paper", "RLMS-CPN (Alg. 1)"),
    "dqn": ("-dqn", "GNN+DQN"),
    "io": ("-io", "RLMS-CPN (IO-tuned)"),
    "compute": ("-compute", "RLMS-CPN (compute-tuned)"),
}
BASELINE_NAMES = ("Base1", "Base2", "Base3", "Base4")
LP_WINDOWS_MS = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1000.0)


def policy_stem(scenario: Scenario, variant: str, directory: Path) -> Path:
    return directory / f"{topology_slug(scenario.spec, scenario.topology)}{VARIANTS[variant][0]}"


def find_policy(scenario: Scenario, variant: str, dirs: Sequence[Path]) -> Path | None:
    """The first stored policy of this variant whose sidecar matches the scenario's topology."""
    fp = scenario.to_json()["topology"]["fingerprint"]
    for d in dirs:
        stem = policy_stem(scenario, variant, d)
        if stem.with_suffix(".json").is_file() and stem.with_suffix(".safetensors").is_file():
            _, meta = load_checkpoint(stem)
            if meta["config"]["topology"].get("fingerprint") == fp:
                return stem
    return None


def search_dirs(policy_dir: Path | None) -> list[Path]:
    dirs = [policy_dir] if policy_dir is not None else []
    return [*dirs, SHIPPED_POLICY_DIR, cache_dir()]


# ---------------------------------------------------------------------------- training
def train_variant(
    scenario: Scenario,
    variant: str,
    out_dir: Path,
    seed: int = 0,
    minutes: float = 15.0,
    total_steps: int | None = None,
    progress: bool = True,
    predictions: str = "tsft",
    sim: ComputeNetworkSim | None = None,
    init_from: Path | None = None,
    **overrides: Any,
) -> Path:
    """Train one method (resuming from ``<stem>.train.pt`` if present); return the policy stem.

    ``overrides`` set fields of the method's training config (``TrainConfig``/``DqnConfig``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = policy_stem(scenario, variant, out_dir)
    sim = sim or scenario.build(predictions=predictions)
    budget = minutes * 60.0
    extra: dict[str, Any] = {}
    if variant == "dqn":
        dc = DqnConfig(seed=seed, time_budget_s=budget)
        if total_steps:
            dc.total_steps = total_steps
        for key, value in overrides.items():
            setattr(dc, key, value)
        net, info = train_dqn(sim, dc, progress=progress, state_path=stem.with_suffix(".train.pt"))
        state, kind, model_cfg, train_cfg = net.state_dict(), "dqn", net.cfg, dc.to_json()
        extra = info
    else:
        if variant == "paper":
            tc = TrainConfig.paper(seed=seed, time_budget_s=budget)
        elif variant in {"io", "compute"}:
            tc = TrainConfig(seed=seed, time_budget_s=budget, task_kind=variant)
        else:
            tc = TrainConfig(encoder=variant, seed=seed, time_budget_s=budget)
        if total_steps:
            tc.total_steps = total_steps
        for key, value in overrides.items():
            setattr(tc, key, value)
        init = None
        if init_from is not None:
            init, _ = load_checkpoint(init_from)
        trainer = Trainer(
            sim, tc, stem.with_suffix(".train.pt"), progress=progress, init_state=init
        )
        res = trainer.run()
        state, kind, model_cfg, train_cfg = (
            res.model.state_dict(),
            "actor-critic",
            res.model.cfg,
            tc.to_json(),
        )
        extra = {
            "steps": res.steps,
            "elapsed_s": round(res.elapsed_s, 1),
            "best_val_ms": res.best_val_ms,
            "history": res.history,
            "init_from": data_ref(init_from, default_data_dir()) if init_from else None,
        }
    config = {
        "kind": kind,
        "variant": variant,
        "model": model_cfg.to_json(),
        "train": train_cfg,
        "training": extra,
        "simulator": sim.describe(),
        **scenario.to_json(),
    }
    prov = default_provenance(seed=seed, topology=config["topology"]["describe"])
    save_checkpoint(stem, state, config, prov)
    return stem


# ---------------------------------------------------------------------------- loading
def load_actor(stem: Path) -> tuple[Any, dict[str, Any]]:
    """(runnable, sidecar): an ActorCritic or a DqnAgent."""
    state, meta = load_checkpoint(stem)
    cfg = meta["config"]
    mc = ModelConfig(**cfg["model"])
    if cfg["kind"] == "dqn":
        net = GnnQNetwork(mc)
        net.load_state_dict(state)
        return DqnAgent(net), meta
    model = ActorCritic(mc)
    model.load_state_dict(state)
    model.eval()
    return model, meta


def run_method(
    runnable: Any,
    sim: ComputeNetworkSim,
    seeds: Sequence[int],
    n_tasks: int | None = None,
    task_kind: str = "mixed",
    **kw: Any,
) -> EpisodeStats:
    if isinstance(runnable, torch.nn.Module):
        return run_model(runnable, sim, seeds, n_tasks, task_kind, **kw)
    return run_heuristic(runnable, sim, seeds, n_tasks, task_kind, **kw)


# ---------------------------------------------------------------------------- baselines
def tune_lp_window(
    sim: ComputeNetworkSim, node_rule: str, seed: int = 0, episodes: int = 3
) -> tuple[float, dict[float, float]]:
    """The LP demand window with the lowest mean latency on validation episodes."""
    seeds = validation_seeds(episodes, seed)
    scores = {}
    for w in LP_WINDOWS_MS:
        sched = HeuristicScheduler(node_rule, "lp", lp_window_ms=w)
        scores[w] = run_heuristic(sched, sim, seeds).mean_ms
    best = min(scores, key=lambda w: (scores[w], w))
    return best, scores


def tuned_baselines(
    sim: ComputeNetworkSim, seed: int = 0, episodes: int = 3
) -> dict[str, HeuristicScheduler]:
    """Base1-4 with the LP baselines' demand window tuned on ``episodes`` validation episodes."""
    base = paper_baselines()
    for name, rule in (("Base3", "fastest"), ("Base4", "nearest")):
        window, _ = tune_lp_window(sim, rule, seed, episodes)
        base[name] = HeuristicScheduler(rule, "lp", lp_window_ms=window, name=name)
    return base


# ---------------------------------------------------------------------------- evaluation
def evaluate_methods(
    sim: ComputeNetworkSim,
    learned: dict[str, Any],
    seeds: Sequence[int],
    n_tasks: int | None = None,
    task_kind: str = "mixed",
    baselines: dict[str, HeuristicScheduler] | None = None,
    **kw: Any,
) -> dict[str, EpisodeStats]:
    """Every method on the same episodes. ``learned`` maps display name -> runnable."""
    out: dict[str, EpisodeStats] = {}
    for name, runnable in learned.items():
        out[name] = run_method(runnable, sim, seeds, n_tasks, task_kind, **kw)
    for name, sched in (baselines or tuned_baselines(sim)).items():
        out[name] = run_heuristic(sched, sim, seeds, n_tasks, task_kind, **kw)
    return out


def improvement(ours: float, other: float) -> float:
    """Relative latency reduction of ours against another method, in percent."""
    return 100.0 * (other - ours) / other


def task_seeds(n_tasks: int, seed: int, episode_tasks: int) -> tuple[list[int], int]:
    """Episode seeds and tasks per episode for ``n_tasks`` test tasks."""
    per = min(n_tasks, episode_tasks)
    n_ep = int(np.ceil(n_tasks / per))
    return eval_seeds(n_ep, seed), per


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0
