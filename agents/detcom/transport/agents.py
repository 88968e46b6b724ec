"""Schedulers that drive the simulator: learned Q-policies and the random policy.

An agent sees the batch of observations and the simulator (planners such as simulated
annealing read the announced flows from it at the start of an episode) and returns one action
per episode. Q-agents act greedily: deterministic for the same state.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from agents.detcom.transport.networks import QNetwork
from agents.detcom.transport.sim import TransportSim


class Agent(Protocol):
    name: str

    def begin(self, sim: TransportSim) -> None:
        """Called after ``sim.reset``: a planner may read the episode's announced flows."""
        ...

    def act(self, obs: np.ndarray, sim: TransportSim) -> np.ndarray: ...


class RandomAgent:
    """Uniformly random cycle offset and spectrum level."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def begin(self, sim: TransportSim) -> None:
        pass

    def act(self, obs: np.ndarray, sim: TransportSim) -> np.ndarray:
        return self.rng.integers(0, sim.model.n_actions, size=len(obs))


class QAgent:
    """Greedy action of a trained Q-network (DQN, DDQN or D3QN)."""

    def __init__(self, net: QNetwork, name: str) -> None:
        self.net = net.eval()
        self.name = name

    def begin(self, sim: TransportSim) -> None:
        pass

    def act(self, obs: np.ndarray, sim: TransportSim) -> np.ndarray:
        with torch.no_grad():
            return self.net.greedy(torch.as_tensor(obs, dtype=torch.float32)).numpy()
