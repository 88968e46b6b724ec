"""SyncGNN actor-critic (and the MLP-encoder ablation) in torch.

The SyncGNN encoder builds the paper's bipartite graph: one compute node per candidate
(initialised from predicted compute latency and load) and one path node per candidate path
(probed one-way delay, available bandwidth), a path linked only to the compute node it reaches.
One aggregate-and-update round carries path information to the compute nodes:
``m_i = Σ_j M(h_i, h_ij)``, ``h_i' = h_i + U(h_i, m_i)`` (eqs. 4-5). Shared weights over candidates
and a sum over paths make the decision invariant to the order candidates are listed in.

Heads, shared by both encoders: the node-selection actor scores each candidate (categorical),
the path-planning actor gives Dirichlet concentrations over the chosen candidate's k paths, the
critic reads the pooled compute-node embeddings. The MLP ablation replaces only the encoder: one
MLP over all features flattened, reshaped to the same per-node / per-path embeddings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Dirichlet

from agents.rlmscpn.features import N_NODE_FEATURES, N_PATH_FEATURES

MAX_CONCENTRATION = 200.0
MIN_CONCENTRATION = 0.2


def mlp(sizes: list[int], out_act: bool = False) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or out_act:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


@dataclass
class ModelConfig:
    encoder: str = "syncgnn"  # or "mlp"
    hidden: int = 64
    n_candidates: int = 5
    k_paths: int = 3
    node_features: int = N_NODE_FEATURES
    path_features: int = N_PATH_FEATURES

    def to_json(self) -> dict:
        return asdict(self)


class SyncGNNEncoder(nn.Module):
    """Bipartite compute-node / path-node graph, one message-passing round (paths -> nodes)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        h = cfg.hidden
        self.node_in = mlp([cfg.node_features, h, h], out_act=True)
        self.path_in = mlp([cfg.path_features, h, h], out_act=True)
        self.message = mlp([2 * h, h, h], out_act=True)  # M(h_i, h_ij)
        self.update = mlp([2 * h, h, h], out_act=True)  # U(h_i, m_i)

    def forward(
        self, nodes: torch.Tensor, paths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h_c = self.node_in(nodes)  # [B, N, H]
        h_p = self.path_in(paths)  # [B, N, k, H]
        pair = torch.cat([h_c.unsqueeze(2).expand_as(h_p), h_p], dim=-1)
        m = self.message(pair).sum(dim=2)  # aggregate over each node's paths
        h_c = h_c + self.update(torch.cat([h_c, m], dim=-1))
        return h_c, h_p


class MLPEncoder(nn.Module):
    """Ablation: all features flattened into one MLP; no graph structure, no weight sharing."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n, k, h = cfg.n_candidates, cfg.k_paths, cfg.hidden
        d_in = n * cfg.node_features + n * k * cfg.path_features
        self.n, self.k, self.h = n, k, h
        self.body = mlp([d_in, 4 * h, 4 * h], out_act=True)
        self.to_nodes = nn.Linear(4 * h, n * h)
        self.to_paths = nn.Linear(4 * h, n * k * h)

    def forward(
        self, nodes: torch.Tensor, paths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b = nodes.shape[0]
        z = self.body(torch.cat([nodes.reshape(b, -1), paths.reshape(b, -1)], dim=-1))
        h_c = torch.tanh(self.to_nodes(z)).reshape(b, self.n, self.h)
        h_p = torch.tanh(self.to_paths(z)).reshape(b, self.n, self.k, self.h)
        return h_c, h_p


class ActorCritic(nn.Module):
    """Encoder + node actor (categorical) + path actor (Dirichlet) + critic."""

    def __init__(self, cfg: ModelConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ModelConfig()
        h = self.cfg.hidden
        if self.cfg.encoder == "syncgnn":
            self.encoder: nn.Module = SyncGNNEncoder(self.cfg)
        elif self.cfg.encoder == "mlp":
            self.encoder = MLPEncoder(self.cfg)
        else:
            raise ValueError(f"encoder must be syncgnn or mlp, got {self.cfg.encoder!r}")
        self.node_actor = mlp([h, h, 1])
        self.path_actor = mlp([2 * h, h, 1])
        self.critic = mlp([2 * h, h, 1])

    def forward(
        self, nodes: torch.Tensor, paths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(node logits [B, N], path concentrations [B, N, k], value [B])."""
        h_c, h_p = self.encoder(nodes, paths)
        logits = self.node_actor(h_c).squeeze(-1)
        pair = torch.cat([h_p, h_c.unsqueeze(2).expand_as(h_p)], dim=-1)
        raw = self.path_actor(pair).squeeze(-1)
        conc = (MIN_CONCENTRATION + nn.functional.softplus(raw)).clamp(max=MAX_CONCENTRATION)
        pooled = torch.cat([h_c.mean(dim=1), h_c.max(dim=1).values], dim=-1)
        value = self.critic(pooled).squeeze(-1)
        return logits, conc, value

    @staticmethod
    def _chosen(conc: torch.Tensor, node: torch.Tensor) -> torch.Tensor:
        idx = node.view(-1, 1, 1).expand(-1, 1, conc.shape[-1])
        return conc.gather(1, idx).squeeze(1)

    @torch.no_grad()
    def act(
        self, nodes: torch.Tensor, paths: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(node [B], split [B, k], log-prob [B], value [B])."""
        logits, conc, value = self(nodes, paths)
        dist_n = Categorical(logits=logits)
        node = logits.argmax(dim=-1) if deterministic else dist_n.sample()
        alpha = self._chosen(conc, node)
        if deterministic:
            split = alpha / alpha.sum(dim=-1, keepdim=True)
        else:
            split = Dirichlet(alpha).sample()
        split = _safe_simplex(split)
        logp = dist_n.log_prob(node) + Dirichlet(alpha).log_prob(split)
        return node, split, logp, value

    def evaluate(
        self, nodes: torch.Tensor, paths: torch.Tensor, node: torch.Tensor, split: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log-prob [B], node entropy [B], split entropy [B], value [B]) of given actions."""
        logits, conc, value = self(nodes, paths)
        dist_n = Categorical(logits=logits)
        dist_p = Dirichlet(self._chosen(conc, node))
        logp = dist_n.log_prob(node) + dist_p.log_prob(_safe_simplex(split))
        return logp, dist_n.entropy(), dist_p.entropy(), value


def _safe_simplex(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    x = x.clamp(min=eps)
    return x / x.sum(dim=-1, keepdim=True)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class NumpyMLP:
    """An ``mlp()`` Sequential evaluated with numpy (for single decisions: no torch overhead)."""

    def __init__(self, seq: nn.Sequential) -> None:
        self.layers: list[tuple[np.ndarray, np.ndarray, bool]] = []
        for module in seq:
            if isinstance(module, nn.Linear):
                w = module.weight.detach().double().numpy().T.copy()
                b = module.bias.detach().double().numpy().copy()
                self.layers.append((w, b, False))
            elif isinstance(module, nn.Tanh):
                w, b, _ = self.layers[-1]
                self.layers[-1] = (w, b, True)
            else:  # pragma: no cover - mlp() builds only Linear and Tanh
                raise TypeError(f"unsupported layer {module!r}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for w, b, act in self.layers:
            x = x @ w + b
            if act:
                x = np.tanh(x)
        return x


class NumpySyncGNNActor:
    """The deterministic SyncGNN actors in numpy: (node logits [N], concentrations of node i)."""

    def __init__(self, model: ActorCritic) -> None:
        if model.cfg.encoder != "syncgnn":
            raise ValueError("numpy inference is for the SyncGNN encoder")
        enc = model.encoder
        self.node_in, self.path_in = NumpyMLP(enc.node_in), NumpyMLP(enc.path_in)
        self.message, self.update = NumpyMLP(enc.message), NumpyMLP(enc.update)
        self.node_actor, self.path_actor = NumpyMLP(model.node_actor), NumpyMLP(model.path_actor)

    def decide(self, nodes: np.ndarray, paths: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
        """(chosen candidate, its split ratios [k], all node logits [N]) for one decision."""
        h_c = self.node_in(nodes)  # [N, H]
        h_p = self.path_in(paths)  # [N, k, H]
        n, k, h = h_p.shape
        pair = np.concatenate([np.broadcast_to(h_c[:, None, :], (n, k, h)), h_p], axis=-1)
        m = self.message(pair.reshape(n * k, 2 * h)).reshape(n, k, h).sum(axis=1)
        h_c = h_c + self.update(np.concatenate([h_c, m], axis=-1))
        logits = self.node_actor(h_c)[:, 0]
        i = int(np.argmax(logits))
        raw = self.path_actor(np.concatenate([h_p[i], np.broadcast_to(h_c[i], (k, h))], axis=-1))
        conc = np.minimum(MIN_CONCENTRATION + np.logaddexp(0.0, raw[:, 0]), MAX_CONCENTRATION)
        return i, conc / conc.sum(), logits
