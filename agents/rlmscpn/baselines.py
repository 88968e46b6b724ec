"""The paper's baselines (§4.1.3): node rule x path-split rule.

- Base1: the node with the smallest compute latency + ECMP over the 3 shortest paths;
- Base2: the nearest node + ECMP;
- Base3: the smallest-compute-latency node + an LP minimising the maximum link utilisation;
- Base4: the nearest node + that LP.

"Smallest compute latency" is the task's predicted latency on the node plus the work already
queued there (what the task would actually wait for: the fair, stronger reading); "nearest" is the
smallest propagation delay from the access point (hop count breaks ties). Both choose among all
compute nodes, as the cited schemes do, and use the same k shortest paths as every method.
ECMP splits equally over the distinct paths. The LP (``scipy.optimize.linprog``, HiGHS) splits a
demand of ``data / window`` over the paths so that the most utilised link on them, counting the
traffic already there, is as little utilised as possible; the window is tuned on validation seeds.

Predict-and-pick (ours, not the paper's) sees what RLMS-CPN sees and picks by a formula: for each
filtered candidate, predicted transfer time over the probed paths with the LP split + backlog +
TSFT-predicted compute latency; the minimum wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from agents.rlmscpn.features import Snapshot
from agents.rlmscpn.sim import ComputeNetworkSim


def distinct_mask(paths: Sequence[Sequence[int]]) -> np.ndarray:
    """True for the first occurrence of each path (padding repeats the last path)."""
    seen: set[tuple[int, ...]] = set()
    out = np.zeros(len(paths), dtype=bool)
    for j, p in enumerate(paths):
        key = tuple(int(v) for v in p)
        if key not in seen:
            seen.add(key)
            out[j] = True
    return out


def ecmp_split(paths: Sequence[Sequence[int]]) -> np.ndarray:
    m = distinct_mask(paths).astype(float)
    return m / m.sum()


def min_max_utilisation_split(
    path_links: Sequence[np.ndarray],
    capacity_mbps: np.ndarray,
    load_mbps: np.ndarray,
    demand_mbps: float,
    tie_break: float = 1e-6,
) -> tuple[np.ndarray, float]:
    """Split ``demand_mbps`` over paths to minimise the max utilisation of the links they use.

    LP over (x_1..x_m, U): minimise U + tie_break·Σ_j x_j·Σ_{l∈P_j} d/C_l subject to
    (load_l + d·Σ_{j∋l} x_j) / C_l ≤ U for every link l on some path, Σ x_j = 1, x ≥ 0.
    Returns (split, U). Duplicate paths get no share.
    """
    keep = distinct_mask([tuple(p.tolist()) for p in path_links])
    m = len(path_links)
    links = sorted({int(e) for j in range(m) if keep[j] for e in path_links[j].tolist()})
    if not links:  # task at its compute node: nothing to route
        x = keep.astype(float)
        return x / x.sum(), 0.0
    row = {e: i for i, e in enumerate(links)}
    a_ub = np.zeros((len(links), m + 1))
    for j in range(m):
        if keep[j]:
            for e in path_links[j].tolist():
                a_ub[row[int(e)], j] = demand_mbps / capacity_mbps[e]
    a_ub[:, m] = -1.0
    b_ub = np.array([-load_mbps[e] / capacity_mbps[e] for e in links])
    c = np.zeros(m + 1)
    c[m] = 1.0
    c[:m] = tie_break * a_ub[:, :m].sum(axis=0)
    a_eq = np.zeros((1, m + 1))
    a_eq[0, :m] = 1.0
    bounds = [(0.0, None if keep[j] else 0.0) for j in range(m)] + [(None, None)]
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if not res.success:  # pragma: no cover - the LP is always feasible
        raise RuntimeError(f"max-utilisation LP failed: {res.message}")
    x = np.clip(res.x[:m], 0.0, None)
    return x / x.sum(), float(res.x[m])


@dataclass
class HeuristicScheduler:
    """A node rule (``fastest`` or ``nearest``) and a split rule (``ecmp`` or ``lp``)."""

    node_rule: str
    split_rule: str
    lp_window_ms: float = 20.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.node_rule not in {"fastest", "nearest"}:
            raise ValueError(f"node_rule must be fastest or nearest, got {self.node_rule!r}")
        if self.split_rule not in {"ecmp", "lp"}:
            raise ValueError(f"split_rule must be ecmp or lp, got {self.split_rule!r}")

    def choose_node(self, sim: ComputeNetworkSim) -> int:
        task = sim.task
        if self.node_rule == "fastest":
            score = sim.predicted_ms(task) + sim.backlog_ms()
            return int(np.lexsort((sim.compute_nodes, score))[0])
        hops, dist = sim._ap_info[task.access_point]
        return int(np.lexsort((sim.compute_nodes, hops, dist))[0])

    def choose_split(self, sim: ComputeNetworkSim, node_idx: int) -> np.ndarray:
        task = sim.task
        node_paths, links = sim.paths(task.access_point, int(sim.compute_nodes[node_idx]))
        if self.split_rule == "ecmp":
            return ecmp_split(node_paths)
        net = sim.network
        demand = task.data_mb * 8.0 / (self.lp_window_ms / 1000.0)
        x, _ = min_max_utilisation_split(
            links, net.capacity, net.background + net.task_load, demand
        )
        return x

    def act(self, sim: ComputeNetworkSim) -> tuple[int, np.ndarray]:
        node_idx = self.choose_node(sim)
        return node_idx, self.choose_split(sim, node_idx)


def paper_baselines(lp_window_ms: float = 20.0) -> dict[str, HeuristicScheduler]:
    return {
        "Base1": HeuristicScheduler("fastest", "ecmp", name="Base1"),
        "Base2": HeuristicScheduler("nearest", "ecmp", name="Base2"),
        "Base3": HeuristicScheduler("fastest", "lp", lp_window_ms, name="Base3"),
        "Base4": HeuristicScheduler("nearest", "lp", lp_window_ms, name="Base4"),
    }


# ---------------------------------------------------------------------------- predict-and-pick
def predicted_response_ms(snap: Snapshot, splits: np.ndarray) -> np.ndarray:
    """[N] predicted response time of each candidate of ``snap`` with its split ``splits[r]``.

    Transfer: the largest over the used paths of ``rounds * (probed delay + share * data /
    probed available bandwidth)``; the task then waits for the node's backlog if that is longer
    (the simulator's queue), and runs for its TSFT-predicted compute latency.
    """
    splits = np.asarray(splits, dtype=float)
    avail = np.maximum(snap.path_available_mbps, 1e-3)
    per_path = snap.rounds * (
        snap.path_delay_ms + splits * snap.data_mb * 8.0 / avail * 1000.0
    )  # [N, k]
    transfer = np.where(splits > 0, per_path, 0.0).max(axis=1)
    return np.maximum(transfer, snap.backlog_ms) + snap.pred_ms


def pick(snap: Snapshot, splits: np.ndarray) -> int:
    """Index of the candidate with the lowest predicted response (ties: the lower node id)."""
    return int(np.lexsort((snap.candidates, predicted_response_ms(snap, splits)))[0])


@dataclass
class PredictAndPick:
    """Information-matched heuristic: RLMS-CPN's inputs (filtered candidates, TSFT-predicted
    compute latency, backlog, probed paths), the LP split of Base3/Base4 per candidate, and the
    candidate with the lowest predicted response time."""

    lp_window_ms: float = 20.0
    name: str = "predict-and-pick"

    def act(self, sim: ComputeNetworkSim) -> tuple[int, np.ndarray]:
        cand = sim.candidates()
        snap = sim.snapshot(cand)  # the same probes (and probe noise) RLMS-CPN sees
        net, ap = sim.network, sim.task.access_point
        demand = sim.task.data_mb * 8.0 / (self.lp_window_ms / 1000.0)
        load = net.background + net.task_load
        splits = np.stack(
            [
                sim.normalise_split(
                    min_max_utilisation_split(sim.paths(ap, int(v))[1], net.capacity, load, demand)[
                        0
                    ]
                )
                for v in snap.candidates.tolist()
            ]
        )
        r = pick(snap, splits)
        return int(cand[r]), splits[r]
