"""Baselines of Table 5, each fitted only on the new device's labelled cells.

- :class:`FlopsLinear` latency = a * FLOPs + c (the FLOPS proxy, least squares).
- :class:`LayerwiseSum` latency = c + sum over edges of a per-operation latency table, the table
  fitted by non-negative least squares (a "measure each op and add them up" predictor).
- :class:`BRPNASGCN` a BRP-NAS-style GCN (stacked graph convolutions over the cell's layer graph,
  output-layer readout) trained end to end from scratch on the labelled cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import nnls
from torch import nn

from agents.latency.model import encode
from agents.latency.nb201 import N_LAYERS, N_OPS, OP_MATRIX_COLUMNS, adjacency, as_ops, flops


class FlopsLinear:
    """Latency proportional to the analytic FLOPs of the NB201 network, plus a constant."""

    name = "flops"

    def fit(self, ops: np.ndarray, y_ms: np.ndarray) -> FlopsLinear:
        x = np.c_[flops(ops), np.ones(len(y_ms))]
        self.coef, *_ = np.linalg.lstsq(x, np.asarray(y_ms, dtype=np.float64), rcond=None)
        return self

    def predict(self, ops: np.ndarray) -> np.ndarray:
        return np.c_[flops(ops), np.ones(len(as_ops(ops)))] @ self.coef


class LayerwiseSum:
    """A constant plus one non-negative latency per operation type, summed over the 6 edges."""

    name = "layerwise"

    @staticmethod
    def _design(ops: np.ndarray) -> np.ndarray:
        ops = as_ops(ops)
        counts = [(ops == o).sum(axis=1) for o in range(1, N_OPS)]  # 'none' costs nothing
        return np.c_[np.ones(len(ops)), np.stack(counts, axis=1)].astype(np.float64)

    def fit(self, ops: np.ndarray, y_ms: np.ndarray) -> LayerwiseSum:
        self.coef, _ = nnls(self._design(ops), np.asarray(y_ms, dtype=np.float64))
        return self

    @property
    def op_table_ms(self) -> dict[str, float]:
        """The fitted per-operation latencies (ms) and the constant."""
        from agents.latency.nb201 import OPS

        return {
            "constant": float(self.coef[0]),
            "none": 0.0,
            **{OPS[o]: float(self.coef[o]) for o in range(1, N_OPS)},
        }

    def predict(self, ops: np.ndarray) -> np.ndarray:
        return self._design(ops) @ self.coef


class _GCN(nn.Module):
    def __init__(self, hidden: int, layers: int, dropout: float):
        super().__init__()
        adj = torch.as_tensor(adjacency()) + torch.eye(N_LAYERS)
        self.register_buffer("agg", adj.T / adj.T.sum(1, keepdim=True), persistent=False)
        dims = [len(OP_MATRIX_COLUMNS)] + [hidden] * layers
        self.convs = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.convs:
            h = self.drop(torch.relu(conv(self.agg @ h)))
        # readout: the output layer and a global (mean) node, as BRP-NAS reads a global node
        return self.out(torch.cat([h[:, N_LAYERS - 1], h.mean(dim=1)], dim=-1)).squeeze(-1)


@dataclass
class BRPNASGCN:
    """GCN predictor trained end to end on the new device only (BRP-NAS recipe, smaller width)."""

    hidden: int = 128
    layers: int = 4
    dropout: float = 0.2
    epochs: int = 300
    lr: float = 3e-3
    weight_decay: float = 5e-4
    seed: int = 0
    name: str = "brpnas"

    def fit(self, ops: np.ndarray, y_ms: np.ndarray) -> BRPNASGCN:
        torch.manual_seed(self.seed)
        y = np.asarray(y_ms, dtype=np.float64)
        self.mean, self.std = float(y.mean()), float(max(y.std(), 1e-9))
        x = encode(ops)
        z = torch.as_tensor((y - self.mean) / self.std, dtype=torch.float32)
        self.net = _GCN(self.hidden, self.layers, self.dropout)
        opt = torch.optim.AdamW(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.net.train()
        for _ in range(self.epochs):
            loss = ((self.net(x) - z) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        self.net.eval()
        return self

    def predict(self, ops: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = self.net(encode(ops)).double().numpy()
        return z * self.std + self.mean


def all_baselines(seed: int = 0) -> list[FlopsLinear | LayerwiseSum | BRPNASGCN]:
    return [FlopsLinear(), LayerwiseSum(), BRPNASGCN(seed=seed)]
