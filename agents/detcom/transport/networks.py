"""Q-networks: the paper's three-layer MLP (hidden 64 then 128), plain or dueling.

Plain (DQN, DDQN): ``obs → 64 → 128 → Q(s, ·)``. Dueling (D3QN): the same trunk, then a value
head ``V(s)`` and an advantage head ``A(s, ·)`` combined as ``Q = V + A − mean(A)``. Both have the
same trunk and comparable size, so the baselines are not handicapped by capacity.
"""

from __future__ import annotations

import torch
from torch import nn


class QNetwork(nn.Module):
    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: tuple[int, int] = (64, 128),
        dueling: bool = False,
        dueling_grad_scale: float = 1.0,
    ) -> None:
        super().__init__()
        h1, h2 = hidden
        self.obs_dim, self.n_actions, self.dueling = obs_dim, n_actions, dueling
        #: Wang et al.'s dueling networks scale the gradient the two streams send into the
        #: shared trunk by 1/√2 (both streams backpropagate into it); forward values unchanged.
        self.dueling_grad_scale = dueling_grad_scale
        self.trunk = nn.Sequential(nn.Linear(obs_dim, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU())
        if dueling:
            self.value = nn.Linear(h2, 1)
            self.advantage = nn.Linear(h2, n_actions)
        else:
            self.head = nn.Linear(h2, n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        z = self.trunk(obs)
        if self.dueling:
            g = self.dueling_grad_scale
            if g != 1.0 and torch.is_grad_enabled():
                z = z * g + z.detach() * (1.0 - g)
            adv = self.advantage(z)
            return self.value(z) + adv - adv.mean(dim=-1, keepdim=True)
        return self.head(z)

    @torch.no_grad()
    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        return self.forward(obs).argmax(dim=-1)
