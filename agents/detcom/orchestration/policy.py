"""Policy interface of the orchestrator: a task's (domain, resources), deterministically.

The control plane (or any caller) describes a task (:class:`TaskRequest`) and the domains'
resources (:class:`ClusterState`); :meth:`MAPPOPolicy.decide` answers an
:class:`OrchestrationDecision`: the domain that takes the task (``None`` = rejected) and the
compute, storage and bandwidth it grants. The MAPPO actor runs once per domain agent (its bid
score without exploration noise, the mode of each grant head); the highest fitting bid wins and
ties go to the lowest domain index, so the same inputs always give the same answer. :class:`GreedyPolicy` answers the same
questions with the draft's greedy rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np
import torch

from agents.common.checkpoint import load_checkpoint
from agents.detcom.orchestration.config import STAGES, OrchestrationConfig
from agents.detcom.orchestration.networks import BidActor
from agents.detcom.orchestration.vecenv import HOLD_HORIZONS, build_observations

CHECKPOINT_KIND = "detcom-orchestration-actor"
POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"
DEFAULT_POLICY = POLICY_DIR / "mappo_orchestration"


def shipped_policy(algo: str = "mappo") -> Path:
    """Stem of a shipped orchestration actor (``mappo`` or ``ippo``)."""
    return POLICY_DIR / f"{algo}_orchestration"


Triple = tuple[float, float, float]


@dataclass(frozen=True)
class TaskRequest:
    """One task: what it needs (cores, TB, Gb/s), for how long and by when (slots)."""

    cores: float
    storage_tb: float
    bandwidth_gbps: float
    duration_slots: float
    tolerance_slots: float
    stage: str = "training"
    window_position: int = 0

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        if min(self.cores, self.storage_tb, self.bandwidth_gbps) < 0:
            raise ValueError("resource requests must be >= 0")
        if self.duration_slots <= 0 or self.tolerance_slots <= 0:
            raise ValueError("duration and tolerance must be > 0")

    def vector(self) -> np.ndarray:
        return np.array([self.cores, self.storage_tb, self.bandwidth_gbps], dtype=np.float64)


@dataclass(frozen=True)
class DomainState:
    """A computing domain as its DSC reports it (absolute amounts, same units as the task)."""

    capacity: Triple
    reserved: Triple = (0.0, 0.0, 0.0)
    flow_used: Triple = (0.0, 0.0, 0.0)
    unexpected_used: Triple = (0.0, 0.0, 0.0)
    # Flow usage still held 2 and 8 slots from now (defaults to all of flow_used).
    held_after: tuple[Triple, ...] | None = None


@dataclass(frozen=True)
class ClusterState:
    domains: tuple[DomainState, ...]
    # Offered flow load (sum of full requests of tasks in progress, accepted or not) for the
    # target utilisation; defaults to the flows in use.
    offered: Triple | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        cap = np.array([d.capacity for d in self.domains], dtype=np.float64)
        if (cap <= 0).any():
            raise ValueError("capacities must be > 0")
        res = np.array([d.reserved for d in self.domains], dtype=np.float64)
        used = np.array([d.flow_used for d in self.domains], dtype=np.float64)
        unexp = np.array([d.unexpected_used for d in self.domains], dtype=np.float64)
        held = np.stack(
            [
                np.array(d.held_after if d.held_after is not None else [d.flow_used] * 2)
                for d in self.domains
            ],
            axis=1,
        ).astype(np.float64)  # [H, M, 3]
        if held.shape[0] != len(HOLD_HORIZONS):
            raise ValueError(f"held_after needs {len(HOLD_HORIZONS)} entries per domain")
        offered = np.asarray(self.offered if self.offered is not None else used.sum(axis=0))
        free = cap - res - used - np.maximum(unexp - res, 0.0)
        return {
            "cap": cap,
            "util": (used + unexp) / cap,
            "free": free,
            "held": held,
            "target": (offered + unexp.sum(axis=0)) / cap.sum(axis=0),
        }


@dataclass(frozen=True)
class OrchestrationDecision:
    domain: int | None
    cores: float = 0.0
    storage_tb: float = 0.0
    bandwidth_gbps: float = 0.0
    grant_fraction: Triple = field(default=(0.0, 0.0, 0.0))

    @property
    def accepted(self) -> bool:
        return self.domain is not None


def load_actor(path: str | Path) -> tuple[BidActor, dict]:
    """Load a MAPPO/IPPO actor checkpoint (safetensors + sidecar); returns (actor, sidecar)."""
    from agents.detcom.orchestration.ppo import build_actor

    weights, meta = load_checkpoint(path)
    config = meta["config"]
    if config.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"{path}: not an orchestration actor checkpoint")
    env_cfg = OrchestrationConfig.from_dict(config["env"])
    actor = build_actor(env_cfg, config["algo"], int(config["hidden"]))
    actor.load_state_dict(weights)
    actor.eval()
    return actor, meta


class MAPPOPolicy:
    """The trained MAPPO orchestrator behind the common ``Policy`` protocol."""

    name = "mappo"

    def __init__(self, actor: BidActor, config: OrchestrationConfig, meta: dict | None = None):
        self.actor = actor.eval()
        self.config = config
        self.meta = meta or {}

    @classmethod
    def load(cls, path: str | Path = DEFAULT_POLICY) -> Self:
        actor, meta = load_actor(path)
        return cls(actor, OrchestrationConfig.from_dict(meta["config"]["env"]), meta)

    @torch.no_grad()
    def decide(self, request: TaskRequest, state: ClusterState) -> OrchestrationDecision:
        cfg = self.config
        if len(state.domains) != cfg.n_domains:
            raise ValueError(
                f"policy trained for {cfg.n_domains} domains, got {len(state.domains)}"
            )
        a = state.arrays()
        req = request.vector()
        obs = build_observations(
            cfg,
            a["cap"],
            util=a["util"][None],
            free=a["free"][None],
            held=a["held"][None],
            target=a["target"][None],
            request=req[None],
            duration=np.array([request.duration_slots]),
            tolerance=np.array([request.tolerance_slots]),
            stage=np.array([STAGES.index(request.stage)]),
            position=request.window_position,
        )
        score, grant_idx = self.actor.act(torch.from_numpy(obs), deterministic=True)
        score, grant_idx = score[0].double().numpy(), grant_idx[0].numpy()  # [M], [M, 3]
        grant = np.asarray(cfg.grant_levels)[grant_idx]  # [M, 3]
        amount = grant * req
        fits = (amount <= a["free"] + 1e-9).all(axis=1)
        if not fits.any():
            return OrchestrationDecision(None)
        m = int(np.argmax(np.where(fits, score, -np.inf)))  # ties: the lowest index
        return OrchestrationDecision(
            m, *(float(x) for x in amount[m]), grant_fraction=tuple(float(g) for g in grant[m])
        )


class GreedyPolicy:
    """The draft's greedy rule behind the same interface: the feasible domain with the lowest
    mean utilisation takes the task with its full request."""

    name = "greedy"

    @classmethod
    def load(cls, path: str | Path | None = None) -> Self:
        return cls()

    def decide(self, request: TaskRequest, state: ClusterState) -> OrchestrationDecision:
        a = state.arrays()
        req = request.vector()
        ok = (req <= a["free"] + 1e-9).all(axis=1)
        if not ok.any():
            return OrchestrationDecision(None)
        util = np.where(ok, a["util"].mean(axis=1), np.inf)
        m = int(np.argmin(util))
        return OrchestrationDecision(m, *(float(x) for x in req), grant_fraction=(1.0, 1.0, 1.0))
