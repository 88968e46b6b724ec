"""Actor and critic networks for MAPPO (shared parameters) and independent PPO (per agent).

Actors output a bid score and one categorical distribution per grant component (compute,
storage, bandwidth); see :class:`BidActor`. With
``n_agents > 1`` every layer holds separate weights per agent (independent learners); with
``n_agents == 1`` the weights are shared and the agent id is part of the observation.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class AgentwiseLinear(nn.Module):
    """``y[:, m] = x[:, m] @ W[m] + b[m]``: one linear layer per agent, evaluated in one call."""

    def __init__(self, n_agents: int, d_in: int, d_out: int, gain: float = math.sqrt(2)) -> None:
        super().__init__()
        w = torch.empty(n_agents, d_in, d_out)
        for m in range(n_agents):
            nn.init.orthogonal_(w[m], gain=gain)
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(n_agents, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, M, d_in]
        return torch.einsum("bmi,mio->bmo", x, self.weight) + self.bias


def _linear(n_agents: int, d_in: int, d_out: int, gain: float = math.sqrt(2)) -> nn.Module:
    if n_agents > 1:
        return AgentwiseLinear(n_agents, d_in, d_out, gain)
    layer = nn.Linear(d_in, d_out)
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)
    return layer


def mlp(n_agents: int, d_in: int, hidden: int, d_out: int, out_gain: float) -> nn.Sequential:
    return nn.Sequential(
        _linear(n_agents, d_in, hidden),
        nn.Tanh(),
        _linear(n_agents, hidden, hidden),
        nn.Tanh(),
        _linear(n_agents, hidden, d_out, out_gain),
    )


class BidActor(nn.Module):
    """Observation [B, M, D] -> (bid score [B, M], grant logits [B, M, 3, L]).

    A domain agent's bid is ``x = score + Gumbel noise`` while exploring (``x = score`` when
    deterministic) and is sent as ``sigmoid(x)`` in (0, 1); the highest fitting bid wins, so the
    probability that domain ``m`` wins is the softmax of the scores over the fitting domains.
    Each grant component (compute, storage, bandwidth) is a categorical over ``grant_levels``.
    """

    def __init__(self, obs_dim: int, n_grant: int, hidden: int = 128, n_agents: int = 1):
        super().__init__()
        self.n_grant = int(n_grant)
        self.net = mlp(n_agents, obs_dim, hidden, 1 + 3 * self.n_grant, out_gain=0.01)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(obs)
        score = out[..., 0]
        grant_logits = out[..., 1:].unflatten(-1, (3, self.n_grant))
        return score, grant_logits

    @torch.no_grad()
    def act(
        self, obs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(perturbed scores x [B, M], grant indices [B, M, 3])."""
        score, grant_logits = self(obs)
        if deterministic:
            return score, grant_logits.argmax(dim=-1)
        gumbel = -torch.log(-torch.log(torch.rand_like(score).clamp(1e-12, 1.0 - 1e-7)))
        grants = torch.distributions.Categorical(logits=grant_logits).sample()
        return score + gumbel, grants


def bids_from_scores(x: np.ndarray) -> np.ndarray:
    """Map (perturbed) scores to bids in (0, 1), order-preserving, never exactly 0."""
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(x, dtype=np.float64), -30.0, 30.0)))


class Critic(nn.Module):
    """Value head: [B, D] -> [B] (centralised) or [B, M, D] -> [B, M] (per agent)."""

    def __init__(self, in_dim: int, hidden: int = 128, n_agents: int = 1) -> None:
        super().__init__()
        self.net = mlp(n_agents, in_dim, hidden, 1, out_gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class ValueNorm(nn.Module):
    """Running mean/variance of value targets (MAPPO's value normalisation), debiased EMA."""

    def __init__(self, beta: float = 0.999, eps: float = 1e-5) -> None:
        super().__init__()
        self.beta = beta
        self.eps = eps
        self.register_buffer("running_mean", torch.zeros(()))
        self.register_buffer("running_mean_sq", torch.zeros(()))
        self.register_buffer("debias", torch.zeros(()))

    def update(self, x: torch.Tensor) -> None:
        x = x.detach().double().reshape(-1)
        b = self.beta
        self.running_mean.mul_(b).add_((1 - b) * x.mean().to(self.running_mean.dtype))
        self.running_mean_sq.mul_(b).add_((1 - b) * (x**2).mean().to(self.running_mean.dtype))
        self.debias.mul_(b).add_(1 - b)

    def stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.debias.clamp(min=self.eps)
        mean = self.running_mean / d
        var = (self.running_mean_sq / d - mean**2).clamp(min=1e-4)
        return mean, var.sqrt()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.stats()
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.stats()
        return x * std + mean
