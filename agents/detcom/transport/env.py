"""Gymnasium faces of the transport simulator: one episode (``TransportEnv``) or many at once
(``TransportVecEnv``, a native :class:`gymnasium.vector.VectorEnv` stepping all episodes in one
numpy call).

Observation: the state of :func:`agents.detcom.transport.sim.build_observation` (two CQF queue
capacities, 5G capacity for both offsets and the channel report, source and destination one-hot,
latency bound). Action: ``Discrete(2 · L)``: ``a = q · L + level`` with cycle offset
``q ∈ {0, 1}`` and one of ``L`` spectrum levels (resource units of the configured SCS). An
episode is a window of ``n_tasks`` tasks; it ends by truncation (the flows go on), so learners
should bootstrap from the final observation.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from agents.detcom.transport.scenario import TransportConfig, TransportModel
from agents.detcom.transport.sim import TransportSim, obs_dim


def _spaces(model: TransportModel) -> tuple[spaces.Box, spaces.Discrete]:
    d = obs_dim(model.cfg.n_domains)
    return (
        spaces.Box(0.0, 1.0, shape=(d,), dtype=np.float32),
        spaces.Discrete(model.n_actions),
    )


class TransportEnv(gym.Env):
    """One TSN–5G transport episode with the Gymnasium single-agent API."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        cfg: TransportConfig | None = None,
        n_tasks: int | None = None,
        targets: np.ndarray | None = None,
    ) -> None:
        self.sim = TransportSim(cfg, n_envs=1, n_tasks=n_tasks)
        self.model = self.sim.model
        self.observation_space, self.action_space = _spaces(self.model)
        self._targets = targets

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        targets = (options or {}).get("targets", self._targets)
        # Episodes are drawn from the env's seeded generator, so reset(seed=s) is reproducible.
        episode_seed = int(self.np_random.integers(0, 2**63))
        obs = self.sim.reset(seed=episode_seed, targets=targets)
        return obs[0], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        rew, info = self.sim.step(np.array([action]))
        d = {k: v[0].item() for k, v in info.as_dict().items()}
        if not d["delivered"]:
            d["latency_us"] = math.inf  # never arrived (inf, not NaN: comparable across runs)
        truncated = self.sim.done
        obs = (
            np.zeros(self.observation_space.shape, dtype=np.float32)
            if truncated
            else self.sim.observe()[0]
        )
        if truncated:
            d["episode_cost"] = float(self.sim.episode_cost[0])
        return obs, float(rew[0]), False, truncated, d


class TransportVecEnv(VectorEnv):
    """``num_envs`` transport episodes stepped together; same-step autoreset.

    When the (synchronised) episodes end, ``step`` returns the first observations of new ones and
    puts the last observations in ``infos["final_obs"]`` and the episode totals in
    ``infos["episode_cost"]`` / ``infos["episode_reward"]``.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        cfg: TransportConfig | None = None,
        num_envs: int = 16,
        n_tasks: int | None = None,
        targets: np.ndarray | None = None,
    ) -> None:
        self.sim = TransportSim(cfg, n_envs=num_envs, n_tasks=n_tasks)
        self.model = self.sim.model
        self.num_envs = num_envs
        self.single_observation_space, self.single_action_space = _spaces(self.model)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._targets = targets
        self._rng = np.random.default_rng()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        targets = (options or {}).get("targets", self._targets)
        obs = self.sim.reset(seed=int(self._rng.integers(0, 2**63)), targets=targets)
        return obs, {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        rew, info = self.sim.step(np.asarray(actions))
        infos: dict[str, Any] = info.as_dict()
        n = self.num_envs
        terminated = np.zeros(n, dtype=bool)
        if self.sim.done:
            truncated = np.ones(n, dtype=bool)
            infos["final_obs"] = np.zeros((n, *self.single_observation_space.shape), np.float32)
            infos["episode_cost"] = self.sim.episode_cost.copy()
            infos["episode_reward"] = self.sim.episode_reward.copy()
            obs = self.sim.reset(seed=int(self._rng.integers(0, 2**63)), targets=self._targets)
        else:
            truncated = np.zeros(n, dtype=bool)
            obs = self.sim.observe()
        return obs, rew.astype(np.float64), terminated, truncated, infos
