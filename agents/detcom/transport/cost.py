"""Total system cost and the per-slot reward of the Det(Com)² case study.

Cost (paper): ``P = Σ_r P_r`` with ``P_r = ε_s·P_s + ε_d·P_d + ε_h·P_h`` and weights 0.68, 8.43,
0.45. Units chosen here (the paper gives none):

* ``P_s`` link-resource cost of the task's first transmission: the share of one CQF cycle's
  resource it occupies, summed over the resources it uses: for each wired hop the frame's
  serialisation time over the cycle length, for the 5G hop its resource units (PRB × mini-slot)
  over the carrier's time–frequency resource in a cycle (the same 0.09 MHz·ms per unit at every
  subcarrier spacing, so the unit does not favour one SCS).
* ``P_h`` retransmission cost: the same measure for every extra transmission (HARQ
  retransmissions over the air, source retransmissions after a CQF queue overflow).
* ``P_d`` latency-violation penalty: 1 when the task is delivered after its latency bound or
  not at all, else 0.

Reward (paper): ``r_k = μ_s·D − μ_b·B`` with ``D`` the packet size and ``B`` the occupied bandwidth
resources. Our reading (``mode="cost"``, the default): ``D`` is the data the slot's task delivers
*within its latency bound* (0 when late or lost), ``B`` the resources its transmission and
retransmissions occupy, priced as in the cost, ``B = ε_s·P_s + ε_h·P_h``; with ``μ_s = ε_d / D_task``
and ``μ_b = 1`` this is ``r = ε_d − P_r``: maximising Σr is exactly minimising P, as the paper's
"reward obtained according to the system cost" asks. ``mode="literal"`` keeps only
retransmission resources in ``B`` (``r = ε_d·1[on time] − ε_h·P_h``); it ignores the first
transmission's spectrum, so an agent trained on it buys all the spectrum it can (kept for the
ablation).

Utilisation feedback (draft, "feedback design of reward function": the utilisation achieved by
orchestration is included in the transmission reward). Orchestration fixes each task's target
domain and knows the utilisation ``u ∈ [0, 1]`` that domain reached when it took the task. The
utilisation is *achieved* only if the task's data arrive in time for the computation, so it
scales the value of on-time delivery: ``r = μ_s·(1 + κ·u)·D − μ_b·B``, i.e. the latency-violation
weight of that task becomes ``ε_d·(1 + κ·u)``. ``u = 0`` (no orchestration information, the
paper's case study) gives the plain reward; ``κ`` is ``TransportConfig.feedback_weight``. The
matching cost, ``P^fb = Σ_r ε_s·P_s + ε_d·(1 + κ·u_r)·P_d + ε_h·P_h``, is reported beside the
paper's ``P`` for coupled runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

RewardMode = Literal["cost", "literal"]


@dataclass(frozen=True)
class CostWeights:
    eps_s: float = 0.68  # link-resource cost
    eps_d: float = 8.43  # latency-violation penalty
    eps_h: float = 0.45  # retransmission cost


def task_cost(
    p_s: np.ndarray,
    p_d: np.ndarray,
    p_h: np.ndarray,
    w: CostWeights = CostWeights(),
    deadline_weight: np.ndarray | float = 1.0,
):
    """Per-task cost ``P_r = ε_s·P_s + ε_d·P_d + ε_h·P_h`` (element-wise); ``deadline_weight``
    multiplies ``ε_d`` (the utilisation feedback ``1 + κ·u``; 1 = the paper's cost)."""
    return (
        w.eps_s * np.asarray(p_s)
        + w.eps_d * np.asarray(deadline_weight) * np.asarray(p_d)
        + w.eps_h * np.asarray(p_h)
    )


def total_cost(p_s, p_d, p_h, w: CostWeights = CostWeights()) -> float:
    """``P = Σ_r P_r``."""
    return float(np.sum(task_cost(p_s, p_d, p_h, w)))


def slot_reward(delivered_bits, occupied, mu_s: float, mu_b: float):
    """The paper's ``r_k = μ_s·D − μ_b·B``."""
    return mu_s * np.asarray(delivered_bits) - mu_b * np.asarray(occupied)


def reward(
    p_s,
    p_d,
    p_h,
    data_bits: float,
    w: CostWeights = CostWeights(),
    mode: RewardMode = "cost",
    deadline_weight: np.ndarray | float = 1.0,
):
    """Reward of one task's scheduling decision from its cost components (see module doc);
    ``deadline_weight`` is the utilisation feedback ``1 + κ·u`` on the on-time value."""
    on_time_bits = data_bits * (1.0 - np.asarray(p_d, dtype=float))
    mu_s = w.eps_d * np.asarray(deadline_weight, dtype=float) / data_bits
    if mode == "cost":
        occupied = w.eps_s * np.asarray(p_s) + w.eps_h * np.asarray(p_h)
        return slot_reward(on_time_bits, occupied, mu_s, 1.0)
    if mode == "literal":
        return slot_reward(on_time_bits, np.asarray(p_h), mu_s, w.eps_h)
    raise ValueError(f"reward mode must be 'cost' or 'literal', got {mode!r}")
