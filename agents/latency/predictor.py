"""``LatencyPredictor``: the TSFT base model, its known devices, and adaptation to new ones.

>>> p = LatencyPredictor.default()                        # shipped base model (19 NB201 devices)
>>> p.predict_ms(ops, "pixel3")                            # ms, for op rows [N, 6]
>>> p.adapt("raspi4", ops50, lat50_ms)                     # TSFT from ~50 measured cells
>>> p.predict_ms(ops, "raspi4")

Every NB201 cell's penultimate encoder features are computed once (15,625 x 64 floats) and looked
up afterwards, so predictions cost one small matrix product per device.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.common.checkpoint import default_provenance, load_checkpoint, save_checkpoint
from agents.latency.adapt import (
    N_RESIDUAL,
    AdaptConfig,
    DeviceHead,
    embedding_prior,
    residual_features,
    two_stage_finetune,
)
from agents.latency.dataset import LatencyTable, device_of_column
from agents.latency.model import NetConfig, TSFTNet, encode
from agents.latency.nb201 import N_CELLS, N_EDGES, N_OPS, all_ops, as_ops
from agents.latency.train import BaseModel, TrainConfig, train_base

DEFAULT_STEM = Path(__file__).with_name("data") / "tsft_base"
FORMAT = "tsft-latency-predictor/1"
_POW = N_OPS ** np.arange(N_EDGES - 1, -1, -1)


def cell_codes(ops: np.ndarray) -> np.ndarray:
    """Op rows [N, 6] -> :attr:`Cell.code` (row number in :func:`all_ops`)."""
    return as_ops(ops) @ _POW


class LatencyPredictor:
    """Predicts NB201 cell latency (ms) on the base model's devices and on adapted ones."""

    def __init__(
        self,
        net: TSFTNet,
        heads: dict[str, DeviceHead],
        base_devices: tuple[str, ...],
        train_config: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
    ):
        self.net = net.eval()
        self.heads = dict(heads)
        self.base_devices = tuple(base_devices)
        self.train_config = dict(train_config or {})
        self.provenance = dict(provenance or {})
        self._pen: np.ndarray | None = None
        self._resid: np.ndarray | None = None

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_base(
        cls,
        base: BaseModel,
        train_config: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> LatencyPredictor:
        head = base.net.encoder.head
        hw = head.weight.detach().double().numpy()
        hb = head.bias.detach().double().numpy()
        w = base.net.dev_w.detach().double().numpy()
        b = base.net.dev_b.detach().double().numpy()
        heads = {
            d: DeviceHead(
                w=w[i].copy(),
                b=float(b[i]),
                v=np.zeros(N_RESIDUAL),
                head_weight=hw,
                head_bias=hb,
                mean_ms=float(base.mean_ms[i]),
                std_ms=float(base.std_ms[i]),
            )
            for i, d in enumerate(base.devices)
        }
        return cls(base.net, heads, base.devices, train_config, provenance)

    @classmethod
    def train(
        cls,
        table: LatencyTable,
        devices: list[str] | tuple[str, ...] | None = None,
        cfg: TrainConfig | None = None,
        state_path: str | Path | None = None,
        progress: bool = True,
    ) -> LatencyPredictor:
        """Train a base model on ``devices`` (default: every column of ``table``)."""
        cfg = cfg or TrainConfig()
        names = tuple(device_of_column(d) for d in (devices or table.devices))
        base = train_base(table, names, cfg, state_path=state_path, progress=progress)
        prov = default_provenance(
            seed=cfg.seed,
            source=Path(table.source).name if table.source else None,
            source_sha256=table.sha256 or None,
            final_val_mse=base.history[-1]["val_mse"] if base.history else None,
        )
        return cls.from_base(base, cfg.to_dict(), prov)

    @classmethod
    def default(cls) -> LatencyPredictor:
        """The shipped base model (trained on the 19 devices of the NB201 latency table)."""
        if not DEFAULT_STEM.with_suffix(".safetensors").exists():
            raise FileNotFoundError(
                f"shipped TSFT base model {DEFAULT_STEM} is missing; make it with "
                "`python -m agents.latency train-base --csv PATH`"
            )
        return cls.load(DEFAULT_STEM)

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | Path) -> Path:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        heads_meta = {}
        for name, h in self.heads.items():
            heads_meta[name] = {
                "b": h.b,
                "mean_ms": h.mean_ms,
                "std_ms": h.std_ms,
                "kind": h.kind,
                "info": h.info,
            }
            tensors[f"head.{name}.w"] = torch.as_tensor(h.w, dtype=torch.float32)
            tensors[f"head.{name}.v"] = torch.as_tensor(h.v, dtype=torch.float32)
            if name not in self.base_devices:  # base devices share the network's head layer
                tensors[f"head.{name}.head_weight"] = torch.as_tensor(
                    h.head_weight, dtype=torch.float32
                )
                tensors[f"head.{name}.head_bias"] = torch.as_tensor(
                    h.head_bias, dtype=torch.float32
                )
        config = {
            "format": FORMAT,
            "net": self.net.cfg.to_dict(),
            "base_devices": list(self.base_devices),
            "heads": heads_meta,
            "train": self.train_config,
        }
        return save_checkpoint(path, tensors, config, self.provenance or default_provenance())

    @classmethod
    def load(cls, path: str | Path) -> LatencyPredictor:
        tensors, meta = load_checkpoint(path)
        config = meta["config"]
        if config.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} checkpoint")
        base_devices = tuple(config["base_devices"])
        net = TSFTNet(NetConfig(**config["net"]), len(base_devices))
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        hw = net.encoder.head.weight.detach().double().numpy()
        hb = net.encoder.head.bias.detach().double().numpy()
        heads = {}
        for name, m in config["heads"].items():
            own = f"head.{name}.head_weight" in tensors
            heads[name] = DeviceHead(
                w=tensors[f"head.{name}.w"].double().numpy(),
                b=float(m["b"]),
                v=tensors[f"head.{name}.v"].double().numpy(),
                head_weight=tensors[f"head.{name}.head_weight"].double().numpy() if own else hw,
                head_bias=tensors[f"head.{name}.head_bias"].double().numpy() if own else hb,
                mean_ms=float(m["mean_ms"]),
                std_ms=float(m["std_ms"]),
                kind=m.get("kind"),
                info=dict(m.get("info") or {}),
            )
        return cls(net, heads, base_devices, config.get("train"), meta.get("provenance"))

    # ---------------------------------------------------------------- prediction
    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(self.heads)

    def _features(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pen is None:
            with torch.no_grad():
                pen = self.net.encoder.penultimate(encode(all_ops()))
            self._pen = pen.double().numpy()
            self._resid = residual_features(all_ops())
        assert self._resid is not None
        return self._pen, self._resid

    def features(self, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(penultimate encoder features, residual structure features) of op rows."""
        pen, resid = self._features()
        codes = cell_codes(ops)
        return pen[codes], resid[codes]

    def warmup(self) -> None:
        """Compute every cell's encoder features and run one tiny optimiser step, so one-time
        costs (feature pass, lazy torch imports) are not counted as fine-tuning time."""
        self._features()
        p = torch.nn.Parameter(torch.zeros(2))
        opt = torch.optim.Adam([p], lr=1e-3)
        (p**2).sum().backward()
        opt.step()
        torch.linalg.eigh(torch.eye(2, dtype=torch.float64))

    def head(self, device: str) -> DeviceHead:
        name = device_of_column(device)
        try:
            return self.heads[name]
        except KeyError:
            raise KeyError(
                f"no latency model for device {device!r}; known: {', '.join(self.devices)}. "
                "Measure ~50 cells on it and call adapt(device, ops, latencies_ms)"
            ) from None

    def predict_ms(self, ops: np.ndarray, device: str) -> np.ndarray:
        """Predicted latency [N] (ms) of op rows [N, 6] on ``device``."""
        head = self.head(device)
        pen, resid = self.features(ops)
        return head.predict_ms(pen, resid)

    def base_guess_ms(self, ops: np.ndarray, mean_ms: float, std_ms: float) -> np.ndarray:
        """The base model alone on an unseen device: the mean training embedding, rescaled to the
        device's latency mean/std (the "base model" row of Table 5)."""
        mu, _ = embedding_prior([self.heads[d] for d in self.base_devices], 0.0)
        pen, resid = self.features(ops)
        ref = self.heads[self.base_devices[0]]
        feats = pen @ ref.head_weight.T + ref.head_bias
        z = feats @ mu[:-1] + mu[-1]
        return np.maximum(z * std_ms + mean_ms, 1e-3 * abs(mean_ms))

    # ---------------------------------------------------------------- adaptation
    def adapt(
        self,
        device: str,
        ops: np.ndarray,
        latencies_ms: np.ndarray,
        *,
        unlabelled: np.ndarray | None = None,
        cfg: AdaptConfig | None = None,
        seed: int = 0,
        kind: str | None = None,
        keep_stage1: bool = False,
    ) -> dict[str, float]:
        """TSFT to a new device from measured cells; registers it and returns timing/fit info.

        ``unlabelled`` are the cells used for stage-2 pseudo-labels (default: every NB201 cell
        not labelled). With ``keep_stage1`` the stage-1 head is also kept as ``<device>@stage1``.
        """
        t0 = time.perf_counter()
        cfg = cfg or AdaptConfig()
        name = device_of_column(device)
        ops = as_ops(ops)
        y = np.asarray(latencies_ms, dtype=np.float64)
        if y.shape != (ops.shape[0],):
            raise ValueError(f"{ops.shape[0]} cells but {y.shape} latencies")
        if not np.all(np.isfinite(y)) or np.any(y < 0):
            raise ValueError("latencies must be finite and non-negative")
        pen_all, resid_all = self._features()
        codes = cell_codes(ops)
        if unlabelled is None:
            mask = np.ones(N_CELLS, dtype=bool)
            mask[codes] = False
            ucodes = np.nonzero(mask)[0]
        else:
            ucodes = cell_codes(unlabelled)
        base_heads = [self.heads[d] for d in self.base_devices]
        mu, cov = embedding_prior(base_heads, cfg.prior_jitter)
        stage1, final = two_stage_finetune(
            base_heads[0],
            mu,
            cov,
            pen_all[codes],
            resid_all[codes],
            y,
            pen_all[ucodes],
            resid_all[ucodes],
            cfg,
            seed,
        )
        final.kind = stage1.kind = kind
        self.heads[name] = final
        if keep_stage1:
            self.heads[f"{name}@stage1"] = stage1
        info = dict(final.info)
        info["adapt_s"] = time.perf_counter() - t0
        return info
