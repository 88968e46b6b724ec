"""Gymnasium face of the simulator: one step per task, reward −response latency (ms).

Observation (``Dict``): ``nodes`` [N, 5] features of the N filtered candidates and ``paths``
[N, k, 5] features of their k paths (see :mod:`agents.rlmscpn.features`). Action (``Dict``):
``node`` (index among the candidates) and ``split`` (k non-negative ratios; normalised by the
simulator, shares under ``min_split`` dropped). An episode is ``episode_tasks`` tasks.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.rlmscpn.config import SimConfig
from agents.rlmscpn.features import N_NODE_FEATURES, N_PATH_FEATURES, snapshot_features
from agents.rlmscpn.sim import ComputeNetworkSim
from topo.graph import Topology

#: Features are log-compressed times and scaled rates: far below this bound in practice.
OBS_MAX = 1e4


class CpnSchedulingEnv(gym.Env):
    """Joint node selection and path splitting, one task per step."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        topology: Topology | None = None,
        cfg: SimConfig | None = None,
        placement_seed: int = 0,
        sim: ComputeNetworkSim | None = None,
        **sim_kwargs: Any,
    ) -> None:
        if sim is None:
            if topology is None:
                raise ValueError("give a topology or a simulator")
            sim = ComputeNetworkSim(topology, cfg, seed=placement_seed, **sim_kwargs)
        self.sim = sim
        n, k = sim.cfg.n_candidates, sim.cfg.k_paths
        self.observation_space = spaces.Dict(
            {
                "nodes": spaces.Box(0.0, OBS_MAX, (n, N_NODE_FEATURES), np.float32),
                "paths": spaces.Box(0.0, OBS_MAX, (n, k, N_PATH_FEATURES), np.float32),
            }
        )
        self.action_space = spaces.Dict(
            {"node": spaces.Discrete(n), "split": spaces.Box(0.0, 1.0, (k,), np.float32)}
        )
        self._cand: np.ndarray | None = None
        self.task_kind = "mixed"

    def _observe(self) -> dict[str, np.ndarray]:
        self._cand = self.sim.candidates()
        node, path = snapshot_features(self.sim.snapshot(self._cand))
        return {"nodes": np.clip(node, 0.0, OBS_MAX), "paths": np.clip(path, 0.0, OBS_MAX)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        episode_seed = int(self.np_random.integers(2**31))
        self.sim.reset(episode_seed, **options)
        return self._observe(), {"episode_seed": episode_seed}

    def step(self, action: dict[str, Any]):
        if self._cand is None:
            raise RuntimeError("call reset() first")
        node = int(action["node"])
        if not 0 <= node < len(self._cand):
            raise ValueError(f"node index {node} outside 0..{len(self._cand) - 1}")
        out = self.sim.execute(int(self._cand[node]), np.asarray(action["split"], dtype=float))
        info = {
            "response_ms": out.response_ms,
            "transfer_ms": out.transfer_ms,
            "wait_ms": out.wait_ms,
            "compute_ms": out.compute_ms,
            "node": out.node,
        }
        terminated = self.sim.done
        if terminated:
            self._cand = None
            obs = {
                "nodes": np.zeros(self.observation_space["nodes"].shape, np.float32),
                "paths": np.zeros(self.observation_space["paths"].shape, np.float32),
            }
        else:
            obs = self._observe()
        return obs, -out.response_ms, terminated, False, info
