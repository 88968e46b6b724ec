"""The TSFT base network: a GNN over a cell's layer graph and a learned embedding per device.

A cell is the paper's 8-layer graph (input, 6 edge operations, output) with one-hot operation
features. :class:`CellEncoder` runs message passing along the adjacency in both directions
(predecessors and successors, separate weights) and reads out the output layer together with the
mean over layers, then an MLP head maps that to ``feature_dim`` latency features ``g(cell)``.
A device is an embedding ``(w, b)``; the predicted (per-device standardised) latency is
``f(cell, device) = w . g(cell) + b``. Because ``g`` is shared, one forward pass scores a batch
of cells on every device at once, and adapting to a new device starts from a closed-form fit of
its embedding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from agents.latency.nb201 import N_LAYERS, OP_MATRIX_COLUMNS, adjacency, op_matrices


@dataclass(frozen=True)
class NetConfig:
    hidden: int = 64
    layers: int = 3
    feature_dim: int = 32
    head_hidden: int = 64

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class CellEncoder(nn.Module):
    """Cell -> ``feature_dim`` latency features ``g(cell)``."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        n_in = len(OP_MATRIX_COLUMNS)
        adj = torch.as_tensor(adjacency())
        fwd = adj.T / adj.T.sum(1, keepdim=True).clamp(min=1)  # mean over predecessors
        bwd = adj / adj.sum(1, keepdim=True).clamp(min=1)  # mean over successors
        self.register_buffer("fwd", fwd, persistent=False)
        self.register_buffer("bwd", bwd, persistent=False)
        self.inp = nn.Linear(n_in, cfg.hidden)
        self.self_w = nn.ModuleList(nn.Linear(cfg.hidden, cfg.hidden) for _ in range(cfg.layers))
        self.pred_w = nn.ModuleList(
            nn.Linear(cfg.hidden, cfg.hidden, bias=False) for _ in range(cfg.layers)
        )
        self.succ_w = nn.ModuleList(
            nn.Linear(cfg.hidden, cfg.hidden, bias=False) for _ in range(cfg.layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(cfg.hidden) for _ in range(cfg.layers))
        self.trunk = nn.Sequential(nn.Linear(2 * cfg.hidden, cfg.head_hidden), nn.GELU())
        self.head = nn.Linear(cfg.head_hidden, cfg.feature_dim)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 8, 7] op matrices -> the input of :attr:`head` [B, head_hidden]."""
        h = torch.relu(self.inp(x))
        for self_w, pred_w, succ_w, norm in zip(
            self.self_w, self.pred_w, self.succ_w, self.norms, strict=True
        ):
            msg = self_w(h) + pred_w(self.fwd @ h) + succ_w(self.bwd @ h)
            h = norm(h + torch.relu(msg))
        readout = torch.cat([h[:, N_LAYERS - 1], h.mean(dim=1)], dim=-1)
        return self.trunk(readout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.penultimate(x))


class TSFTNet(nn.Module):
    """Base predictor ``f(cell, device) = w_device . g(cell) + b_device`` (standardised latency)."""

    def __init__(self, cfg: NetConfig, n_devices: int):
        super().__init__()
        self.cfg = cfg
        self.encoder = CellEncoder(cfg)
        self.dev_w = nn.Parameter(torch.randn(n_devices, cfg.feature_dim) / cfg.feature_dim**0.5)
        self.dev_b = nn.Parameter(torch.zeros(n_devices))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 8, 7] -> [B, n_devices] standardised latency on every known device."""
        return self.encoder(x) @ self.dev_w.T + self.dev_b


def encode(ops: np.ndarray) -> torch.Tensor:
    """Op rows [N, 6] -> network input [N, 8, 7]."""
    return torch.from_numpy(op_matrices(ops))
