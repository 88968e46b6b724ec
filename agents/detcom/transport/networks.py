"""Q-networks: the paper's three-layer MLP (hidden 64 then 128), plain or dueling.

Plain (DQN, DDQN): ``obs → 64 → 128 → Q(s, ·)``. Dueling (D3QN), combined as
``Q = V + A − mean(A)``, in one of two layouts: ``"heads"`` (default, the shipped policies): a
value head and an advantage head on the shared 64 → 128 trunk; ``"streams"`` (Wang et al.
2016): a shared 64-unit layer, then a value stream ``64 → 128 → V(s)`` and an advantage stream
``64 → 128 → A(s, ·)``. With linear heads the dueling network represents the same functions as
the plain one (it reparameterises the last layer and changes only how it learns); the streams
give each estimate its own hidden layer (twice the second layer's weights).
"""

from __future__ import annotations

import torch
from torch import nn

DUELING_LAYOUTS = ("streams", "heads")


class QNetwork(nn.Module):
    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: tuple[int, int] = (64, 128),
        dueling: bool = False,
        dueling_grad_scale: float = 1.0,
        dueling_layout: str = "heads",
    ) -> None:
        super().__init__()
        if dueling_layout not in DUELING_LAYOUTS:
            raise ValueError(f"dueling_layout must be one of {DUELING_LAYOUTS}")
        h1, h2 = hidden
        self.obs_dim, self.n_actions, self.dueling = obs_dim, n_actions, dueling
        self.dueling_layout = dueling_layout if dueling else None
        #: Wang et al.'s dueling networks scale the gradient the two streams send into the
        #: shared trunk by 1/√2 (both streams backpropagate into it); forward values unchanged.
        self.dueling_grad_scale = dueling_grad_scale
        if dueling and dueling_layout == "streams":
            self.trunk = nn.Sequential(nn.Linear(obs_dim, h1), nn.ReLU())
            self.value = nn.Sequential(nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, 1))
            self.advantage = nn.Sequential(nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, n_actions))
            return
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
