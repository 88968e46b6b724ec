"""What the scheduler sees of one decision, and how it becomes network inputs.

Candidate filtering (the paper's §3.2): predict the task's latency on every device kind present,
keep the nodes of the kind predicted fastest, and take the ``n`` nearest by hop count (ties by
propagation distance, then node id); when that kind has fewer than ``n`` nodes the next-fastest
kinds fill in. A :class:`Snapshot` then holds, per candidate, the predicted compute latency and
backlog, and per candidate path the probed one-way delay and available bandwidth. The simulator
and the deployable policy both build snapshots and turn them into features here, so training
and serving see exactly the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Per-candidate (compute-node) feature names, in column order.
NODE_FEATURES = ("pred_ms", "backlog_ms", "expected_compute_ms", "hops", "volume_mb")
#: Per-path feature names, in column order.
PATH_FEATURES = ("probe_delay_ms", "available_gbps", "solo_transfer_ms", "hops", "volume_mb")
N_NODE_FEATURES = len(NODE_FEATURES)
N_PATH_FEATURES = len(PATH_FEATURES)


def filter_candidates(
    nodes: np.ndarray,
    kinds: np.ndarray,
    pred_ms: np.ndarray,
    hops: np.ndarray,
    distance_ms: np.ndarray,
    n: int,
) -> np.ndarray:
    """Indices into ``nodes`` of the ``n`` candidates (fewer only if there are fewer nodes).

    ``kinds`` are device-kind labels, ``pred_ms`` the task's predicted latency on each node,
    ``hops``/``distance_ms`` the shortest-path hop count and propagation delay from the task's
    access point.
    """
    order_kinds: list[str] = []
    best = {}
    for k, p in zip(kinds.tolist(), pred_ms.tolist(), strict=True):
        best[k] = min(best.get(k, np.inf), p)
    order_kinds = sorted(best, key=lambda k: (best[k], k))
    rank = np.array([order_kinds.index(k) for k in kinds.tolist()])
    # sort by kind rank, then hop count, then distance, then node id
    order = np.lexsort((nodes, distance_ms, hops, rank))
    return order[:n]


@dataclass
class Snapshot:
    """Inputs of one decision: a task at an access point and its candidates' state."""

    access_point: int
    candidates: np.ndarray  # [N] node ids
    pred_ms: np.ndarray  # [N] predicted compute latency on each candidate's device
    backlog_ms: np.ndarray  # [N] work queued ahead of the task on each candidate
    node_hops: np.ndarray  # [N]
    path_delay_ms: np.ndarray  # [N, k] probed one-way delay
    path_available_mbps: np.ndarray  # [N, k] bottleneck available bandwidth
    path_hops: np.ndarray  # [N, k]
    data_mb: float
    rounds: int = 1

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)

    @property
    def k_paths(self) -> int:
        return self.path_delay_ms.shape[1]


def _t(ms: np.ndarray) -> np.ndarray:
    """Compress a time in ms (positive, heavy-tailed) onto a scale of ~0..3."""
    return np.log1p(np.maximum(ms, 0.0) / 10.0)


def snapshot_features(s: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """(node features [N, 5], path features [N, k, 5]) as float32."""
    volume = s.data_mb * s.rounds
    vol = np.log1p(volume)
    node = np.stack(
        [
            _t(s.pred_ms),
            _t(s.backlog_ms),
            _t(s.pred_ms + s.backlog_ms),
            s.node_hops / 5.0,
            np.full(s.n_candidates, vol),
        ],
        axis=1,
    )
    avail = np.maximum(s.path_available_mbps, 1e-3)
    solo = s.rounds * (s.path_delay_ms + volume / s.rounds * 8.0 / avail * 1000.0)
    path = np.stack(
        [
            _t(s.rounds * s.path_delay_ms),
            avail / 10_000.0,
            _t(solo),
            s.path_hops / 5.0,
            np.full(s.path_delay_ms.shape, vol),
        ],
        axis=2,
    )
    return node.astype(np.float32), path.astype(np.float32)
