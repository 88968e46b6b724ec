"""How low can any scheduler's total cost go? Two references for reading the paper's margins.

* :func:`cost_floor` (a proof, not a policy): every task pays at least the link-resource cost of
  one clean transmission, i.e. the talker's and every wired hop's serialisation share plus the
  smallest spectrum level on the 5G hop; a task that is lost or late pays ``ε_d`` (8.43), far
  more than that. So ``Σ_r ε_s · (wired_r + b_min share)`` bounds the cost of *every* scheduler,
  clairvoyant or not, on those tasks.
* :class:`Clairvoyant` (hindsight): for each task it tries every action on a copy of the
  simulator's booking state, with the future channel and the per-attempt outcomes known, and
  keeps the cheapest. No causal scheduler can know that much; it ignores only the effect of its
  choice on later tasks, which in the case study is small.
"""

from __future__ import annotations

import numpy as np

from agents.detcom.transport.scenario import TransportConfig, TransportModel
from agents.detcom.transport.sim import TransportSim


def _floor_parts(
    model: TransportModel, src: np.ndarray, dst: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per task, the cycle shares of one clean transmission: (wired hops + talker, smallest
    spectrum level on the 5G hop)."""
    rid = model.route_id(np.asarray(src), np.asarray(dst))
    ports = model.route["ports"][rid]
    nb = model.route["n_bridges"][rid]
    valid = np.arange(ports.shape[1])[None, :] < nb[:, None]
    wired = np.where(valid, model.port_share[np.where(valid, ports, 0)], 0.0).sum(axis=1)
    wired = wired + np.where(nb > 0, model.talker_share[np.asarray(src)], 0.0)
    air = np.where(model.route["fivegs_hop"][rid] >= 0, model.spectrum_levels.min(), 0.0)
    return wired, air * model.ru_share


def task_floor(model: TransportModel, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least possible cost of each task: ``ε_s`` × (wired shares + smallest spectrum share)."""
    wired, air = _floor_parts(model, src, dst)
    return model.cfg.weights.eps_s * (wired + air)


def cost_floor(cfg: TransportConfig, seed: int, n_windows: int = 1) -> dict[str, float]:
    """The floor of the total cost per window of ``cfg.n_tasks`` tasks drawn from ``seed`` (the
    same windows :func:`~agents.detcom.transport.evaluation.run_episode` schedules), and its
    wired part, which no decision changes."""
    sim = TransportSim(cfg, n_envs=n_windows)
    sim.reset(seed=seed)
    t = sim.tasks
    assert t is not None
    wired, air = _floor_parts(sim.model, t.src.ravel(), t.dst.ravel())
    eps_s = cfg.weights.eps_s
    return {
        "floor": float(eps_s * (wired + air).sum() / n_windows),
        "wired": float(eps_s * wired.sum() / n_windows),
    }


class Clairvoyant:
    """Per task, the action with the least realised cost, found by trying each (see module)."""

    name = "clairvoyant"

    def __init__(self, feedback: bool = True) -> None:
        #: Minimise the utilisation-weighted cost (what the learners' reward prices).
        self.feedback = feedback

    def begin(self, sim: TransportSim) -> None:
        pass

    def act(self, obs: np.ndarray, sim: TransportSim) -> np.ndarray:
        snap = sim.snapshot()
        best = np.zeros(sim.n_envs, dtype=np.int64)
        best_cost = np.full(sim.n_envs, np.inf)
        for a in range(sim.model.n_actions):
            _, info = sim.step(np.full(sim.n_envs, a))
            c = info.cost_feedback if self.feedback else info.cost
            better = c < best_cost - 1e-12
            best = np.where(better, a, best)
            best_cost = np.where(better, c, best_cost)
            sim.restore(snap)
        return best
