"""Training the TSFT base model on the measured latencies of the training devices.

Targets are standardised per device (mean/std over the training cells); the loss is the MSE over
every (cell, training device) pair, computed for a batch of cells on all devices at once. Training
is seeded, shows a tqdm bar, and with ``state_path`` saves its full state (weights, optimiser,
scheduler, RNG, epoch) after every epoch and resumes from it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from agents.common.checkpoint import load_training_state, save_training_state
from agents.latency.dataset import LatencyTable
from agents.latency.model import NetConfig, TSFTNet, encode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.05
    max_cells: int | None = None  # train on a seeded subset of cells (the paper used 900)
    seed: int = 0
    net: NetConfig = field(default_factory=NetConfig)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["net"] = self.net.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        d["net"] = NetConfig(**d.get("net", {}))
        return cls(**d)


@dataclass
class BaseModel:
    """A trained base network with the standardisation of each training device."""

    net: TSFTNet
    devices: tuple[str, ...]
    mean_ms: np.ndarray
    std_ms: np.ndarray
    history: list[dict[str, float]]


def _split(n: int, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(cfg.seed)
    perm = rng.permutation(n)
    if cfg.max_cells is not None:
        perm = perm[: cfg.max_cells]
    n_val = int(round(len(perm) * cfg.val_fraction))
    return perm[n_val:], perm[:n_val]


def train_base(
    table: LatencyTable,
    devices: list[str] | tuple[str, ...],
    cfg: TrainConfig = TrainConfig(),
    state_path: str | Path | None = None,
    progress: bool = True,
    threads: int | None = None,
    stop_after: int | None = None,
) -> BaseModel:
    """Train ``f(cell, device)`` on ``devices`` of ``table``; resumable through ``state_path``.

    ``stop_after`` ends this call after that many epochs (training continues from
    ``state_path`` next time), e.g. to spread training over several short sessions."""
    devices = tuple(devices)
    if not devices:
        raise ValueError("the base model needs at least one training device")
    if threads is not None:
        torch.set_num_threads(threads)
    lat = np.stack([table.column(d) for d in devices], axis=1)
    train_idx, val_idx = _split(len(table), cfg)
    if len(train_idx) < cfg.batch_size:
        raise ValueError(
            f"{len(train_idx)} training cells, fewer than one batch ({cfg.batch_size})"
        )
    mean = lat[train_idx].mean(axis=0)
    std = np.maximum(lat[train_idx].std(axis=0), 1e-9)
    z = torch.as_tensor((lat - mean) / std, dtype=torch.float32)
    x = encode(table.ops)

    torch.manual_seed(cfg.seed)
    net = TSFTNet(cfg.net, len(devices))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(train_idx) // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=max(1, cfg.epochs * steps_per_epoch)
    )
    rng = np.random.default_rng(cfg.seed + 1)
    start, history = 0, []
    state_path = Path(state_path) if state_path is not None else None
    if state_path is not None and state_path.exists():
        state = load_training_state(state_path)
        if state.get("config") == repr(cfg.to_dict()) and state.get("devices") == list(devices):
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            rng.bit_generator.state = _rng_state_from(state["rng"])
            torch.set_rng_state(state["torch_rng"])
            start = int(state["epoch"])
            history = [
                dict(zip(("epoch", "train_mse", "val_mse"), h, strict=True))
                for h in state["history"].tolist()
            ]
            log.info("resuming base-model training at epoch %d/%d", start, cfg.epochs)
        else:
            log.warning("ignoring %s: it was made with another config or device list", state_path)

    bar = tqdm(
        range(start, cfg.epochs),
        desc="TSFT base model",
        unit="epoch",
        disable=not progress,
        initial=start,
        total=cfg.epochs,
    )
    for epoch in bar:
        if stop_after is not None and epoch - start >= stop_after:
            break
        net.train()
        perm = rng.permutation(train_idx)
        total = 0.0
        for i in range(steps_per_epoch):
            b = perm[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            loss = ((net(x[b]) - z[b]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        val = _mse(net, x, z, val_idx)
        history.append({"epoch": epoch + 1, "train_mse": total / steps_per_epoch, "val_mse": val})
        bar.set_postfix(train=f"{total / steps_per_epoch:.4f}", val=f"{val:.4f}")
        if state_path is not None:
            save_training_state(
                state_path,
                {
                    "config": repr(cfg.to_dict()),
                    "devices": list(devices),
                    "model": net.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "rng": _rng_state_to(rng.bit_generator.state),
                    "torch_rng": torch.get_rng_state(),
                    "epoch": epoch + 1,
                    "history": torch.tensor(
                        [[h["epoch"], h["train_mse"], h["val_mse"]] for h in history]
                    ),
                },
            )
    net.eval()
    return BaseModel(net=net, devices=devices, mean_ms=mean, std_ms=std, history=history)


def _mse(net: TSFTNet, x: torch.Tensor, z: torch.Tensor, idx: np.ndarray) -> float:
    if len(idx) == 0:
        return float("nan")
    net.eval()
    with torch.no_grad():
        out = float(((net(x[idx]) - z[idx]) ** 2).mean())
    net.train()
    return out


def _rng_state_to(state: dict[str, Any]) -> dict[str, Any]:
    """numpy PCG64 state as tensors/ints (``weights_only`` loads no numpy objects)."""
    inner = state["state"]
    return {
        "state_hi": int(inner["state"]) >> 64,
        "state_lo": int(inner["state"]) & ((1 << 64) - 1),
        "inc_hi": int(inner["inc"]) >> 64,
        "inc_lo": int(inner["inc"]) & ((1 << 64) - 1),
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def _rng_state_from(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "bit_generator": "PCG64",
        "state": {
            "state": (int(d["state_hi"]) << 64) | int(d["state_lo"]),
            "inc": (int(d["inc_hi"]) << 64) | int(d["inc_lo"]),
        },
        "has_uint32": int(d["has_uint32"]),
        "uinteger": int(d["uinteger"]),
    }
