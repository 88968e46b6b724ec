"""PettingZoo parallel environment: one agent per domain service controller (DSC).

Each step presents one task (in the draft's priority order within its window) to every DSC.
Observation of ``dsc_m`` (see :class:`~agents.detcom.orchestration.vecenv.ObsLayout`): its
domain's compute, storage and bandwidth (utilisation, what is left to task flows, what is still
held 2 and 8 slots ahead), the aggregated DSC information (mean and lowest utilisation of all
domains, target utilisation), the task (cores, storage, bandwidth it needs relative to the
domain, duration, tolerance, stage) and the agent's one-hot id. Action ``{"bid": Box(0, 1),
"grant": MultiDiscrete([L, L, L])}``: whether the domain takes the task (bid 0 declines, the
highest fitting bid wins) and which of the ``grant_levels`` fractions of the requested compute,
storage and bandwidth it grants. Every agent receives the
team reward ``r = sum_m r_m``; ``infos[agent]["r_m"]`` holds its own term. ``state()`` is the
global state a centralised critic sees.
"""

from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from agents.detcom.orchestration.config import OrchestrationConfig
from agents.detcom.orchestration.tasks import EVAL_STREAM, TRAIN_STREAM
from agents.detcom.orchestration.vecenv import VecOrchestrationEnv


class OrchestrationParallelEnv(ParallelEnv):
    """Cross-domain compute orchestration (Det(Com)² case study defaults)."""

    metadata = {
        "name": "detcom_orchestration_v0",
        "render_modes": ["ansi"],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        config: OrchestrationConfig | None = None,
        render_mode: str | None = None,
        evaluation: bool = False,
    ) -> None:
        self.cfg = config or OrchestrationConfig()
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        self.render_mode = render_mode
        self.possible_agents = [f"dsc_{m}" for m in range(self.cfg.n_domains)]
        self.agents: list[str] = []
        dims = VecOrchestrationEnv.dims(self.cfg)
        self._obs_space = spaces.Box(-1.0, np.inf, shape=(dims["obs"],), dtype=np.float32)
        self._act_space = spaces.Dict(
            {
                "bid": spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32),
                "grant": spaces.MultiDiscrete(np.asarray(dims["nvec"], dtype=np.int64)),
            }
        )
        self.state_space = spaces.Box(-1.0, np.inf, shape=(dims["state"],), dtype=np.float32)
        self._stream = EVAL_STREAM if evaluation else TRAIN_STREAM
        self._core: VecOrchestrationEnv | None = None
        self._seed_rng = np.random.default_rng()
        self._last_reward = np.zeros(self.cfg.n_domains)

    @functools.cache  # noqa: B019 - PettingZoo wants the same object each call
    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Dict:
        return self._act_space

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._seed_rng = np.random.default_rng(seed)
        episode_seed = int(self._seed_rng.integers(0, 2**31 - 1))
        self._core = VecOrchestrationEnv(
            self.cfg, 1, seed=episode_seed, stream=self._stream, auto_reset=False
        )
        self.agents = self.possible_agents[:]
        obs = self._core.observe()[0]
        return {a: obs[m] for m, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        if self._core is None or not self.agents:
            raise RuntimeError("call reset() before step()")
        m_all = self.cfg.n_domains
        bids = np.zeros((1, m_all))
        grants = np.full((1, m_all, 3), self.cfg.n_grant - 1, dtype=np.int64)
        for m, agent in enumerate(self.possible_agents):
            act = actions.get(agent)
            if act is None:
                continue  # no action: the domain declines
            try:
                bid = float(np.asarray(act["bid"]).reshape(1)[0])
                grant = np.asarray(act["grant"]).reshape(3)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise ValueError(f"invalid action for {agent}: {act!r}") from exc
            if not (
                0.0 <= bid <= 1.0
                and np.issubdtype(grant.dtype, np.integer)
                and ((grant >= 0) & (grant < self.cfg.n_grant)).all()
            ):
                raise ValueError(f"invalid action for {agent}: {act!r}")
            bids[0, m] = bid
            grants[0, m] = grant
        core = self._core
        obs, _, reward, done, info = core.step(bids, grants, with_state=False)
        r_m = core.reward_terms()
        self._last_reward = r_m[0]
        agents = self.agents
        winner = int(info["winner"][0])
        observations = {a: obs[0, m] for m, a in enumerate(agents)}
        rewards = {a: float(reward[0]) for a in agents}
        terminations = {a: bool(done) for a in agents}
        truncations = {a: False for a in agents}
        infos = {
            a: {"r_m": float(r_m[0, m]), "won_task": winner == m, "task_accepted": winner >= 0}
            for m, a in enumerate(agents)
        }
        if done:
            for a in agents:
                infos[a]["episode"] = {k: float(v[0]) for k, v in core.episode_metrics.items()}
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        if self._core is None:
            raise RuntimeError("call reset() before state()")
        return self._core.state()[0]

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._core is None:
            return None
        u = self._core.utilisation()[0]
        lines = [f"slot {self._core.slot} task {self._core.t}/{self.cfg.n_tasks}"]
        for m, a in enumerate(self.possible_agents):
            lines.append(
                f"  {a}: compute {u[m, 0]:.2f} storage {u[m, 1]:.2f} bandwidth {u[m, 2]:.2f}"
            )
        return "\n".join(lines)

    def close(self) -> None:
        self._core = None


def parallel_env(**kwargs) -> OrchestrationParallelEnv:
    """PettingZoo-style constructor."""
    return OrchestrationParallelEnv(**kwargs)
