"""Per-device compute-latency model of NB201 cells, fitted to measured latencies.

Each device's latency (ms) is a linear model over op-per-edge features: an intercept, one
indicator per (edge, non-``none`` op) and the pairwise products of those indicators between
different edges (265 features). Coefficients are fitted by ridge least squares to a measured
table (:func:`fit_device_model`, ``python -m agents.latency fit-devices``) and shipped as
``agents/latency/data/device_latency.json`` — coefficients and fit statistics only, never the
table — so :meth:`DeviceLatencyModel.default` works without any data file.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from agents.latency.dataset import LatencyTable, device_of_column, load_latency_csv
from agents.latency.nb201 import N_EDGES, N_OPS, as_ops

__all__ = [
    "DeviceLatencyModel",
    "DeviceKind",
    "device_kind",
    "device_names",
    "fit_device_model",
    "load_latency_csv",
    "op_edge_features",
]

FORMAT = "cpn-p4-device-latency/1"
DEFAULT_PATH = Path(__file__).with_name("data") / "device_latency.json"
DeviceKind = Literal["gpu", "cpu", "edge"]

_KIND_PATTERNS: tuple[tuple[DeviceKind, re.Pattern[str]], ...] = (
    ("gpu", re.compile(r"(titan|1080|2080|3090|4090|rtx|gtx|v100|a100|h100|h200|t4|p100|gpu)")),
    ("cpu", re.compile(r"(gold|silver|platinum|bronze|xeon|epyc|ryzen|i[3579]_|core_i|cpu)")),
    (
        "edge",
        re.compile(
            r"(ph_|phone|pixel|samsung|galaxy|raspi|jetson|nano|fpga|eyeriss|asic|edge|tpu|npu|dsp|mobile)"
        ),
    ),
)


def device_kind(name: str) -> DeviceKind:
    """``"gpu"``, ``"cpu"`` or ``"edge"`` (phones, boards, FPGAs, accelerators) from a device name."""
    key = device_of_column(name).lower()
    meta = _shipped_meta().get(key)
    if meta is not None:
        return meta["kind"]
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(key):
            return kind
    raise ValueError(
        f"cannot tell the kind (gpu/cpu/edge) of device {name!r}; pass kind= explicitly"
    )


@cache
def _interaction_pairs() -> tuple[tuple[int, int], ...]:
    """Pairs of indicator columns (edge e1 op o1, edge e2 op o2), e1 < e2, ops non-none."""
    singles = [(e, o) for e in range(N_EDGES) for o in range(1, N_OPS)]
    pairs = []
    for (i, (e1, _)), (j, (e2, _)) in itertools.combinations(enumerate(singles), 2):
        if e1 != e2:
            pairs.append((i, j))
    return tuple(pairs)


N_FEATURES = 1 + N_EDGES * (N_OPS - 1) + len(_interaction_pairs())


def op_edge_features(ops: np.ndarray, interactions: bool = True) -> np.ndarray:
    """Design matrix [N, 265] (or [N, 25] without interactions) for op rows [N, 6]."""
    ops = as_ops(ops)
    n = ops.shape[0]
    single = np.zeros((n, N_EDGES, N_OPS - 1), dtype=np.float64)
    for e in range(N_EDGES):
        nz = ops[:, e] > 0
        single[np.nonzero(nz)[0], e, ops[nz, e] - 1] = 1.0
    single = single.reshape(n, -1)
    cols = [np.ones((n, 1)), single]
    if interactions:
        pairs = np.asarray(_interaction_pairs())
        cols.append(single[:, pairs[:, 0]] * single[:, pairs[:, 1]])
    return np.concatenate(cols, axis=1)


@dataclass
class DeviceFit:
    """One device's coefficients and how well they fit the measurements."""

    kind: DeviceKind
    coef: np.ndarray
    min_ms: float
    max_ms: float
    residual_std_ms: float
    stats: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "min_ms": round(self.min_ms, 6),
            "max_ms": round(self.max_ms, 6),
            "residual_std_ms": round(self.residual_std_ms, 6),
            "fit": {k: float(f"{v:.6g}") for k, v in self.stats.items()},
            "coef": [float(f"{c:.6g}") for c in self.coef.tolist()],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DeviceFit:
        coef = np.asarray(d["coef"], dtype=np.float64)
        if coef.shape != (N_FEATURES,):
            raise ValueError(f"expected {N_FEATURES} coefficients, got {coef.shape}")
        return cls(
            kind=d["kind"],
            coef=coef,
            min_ms=float(d["min_ms"]),
            max_ms=float(d["max_ms"]),
            residual_std_ms=float(d["residual_std_ms"]),
            stats=dict(d.get("fit", {})),
        )


class DeviceLatencyModel:
    """Latency (ms) of NB201 cells on named devices, from fitted coefficients."""

    def __init__(self, fits: dict[str, DeviceFit], provenance: dict[str, Any] | None = None):
        if not fits:
            raise ValueError("a device latency model needs at least one device")
        self.fits = dict(fits)
        self.provenance = dict(provenance or {})

    @classmethod
    def default(cls) -> DeviceLatencyModel:
        """The coefficients shipped in the repo (fitted to measured NB201 latencies)."""
        return _default_model()

    @classmethod
    def load(cls, path: str | Path) -> DeviceLatencyModel:
        data = json.loads(Path(path).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} file (format={data.get('format')!r})")
        fits = {name: DeviceFit.from_json(d) for name, d in data["devices"].items()}
        return cls(fits, data.get("provenance"))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {
            "format": FORMAT,
            "features": "intercept + (edge, op!=none) indicators + cross-edge pairwise products",
            "provenance": self.provenance,
        }
        lines = [json.dumps(head, indent=1)[:-2] + ',\n "devices": {']
        items = sorted(self.fits.items())
        for i, (name, fit) in enumerate(items):
            sep = "," if i < len(items) - 1 else ""
            lines.append(f"  {json.dumps(name)}: {json.dumps(fit.to_json())}{sep}")
        lines.append(" }\n}\n")
        path.write_text("\n".join(lines))
        return path

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(sorted(self.fits))

    def kind(self, device: str) -> DeviceKind:
        return self._fit(device).kind

    def _fit(self, device: str) -> DeviceFit:
        name = device_of_column(device)
        try:
            return self.fits[name]
        except KeyError:
            raise KeyError(f"unknown device {device!r}; known: {', '.join(self.devices)}") from None

    def latency_ms(
        self,
        ops: np.ndarray,
        device: str,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Predicted latency [N] (ms) of op rows [N, 6]; with ``rng``, plus measurement noise
        drawn from the device's residual spread (Gaussian, floored at half the fastest cell)."""
        fit = self._fit(device)
        pred = op_edge_features(ops) @ fit.coef
        if rng is not None:
            pred = pred + rng.normal(0.0, fit.residual_std_ms, size=pred.shape)
        return np.maximum(pred, 0.5 * fit.min_ms)

    def latency_table(self, ops: np.ndarray, devices: list[str] | None = None) -> np.ndarray:
        """Predicted latencies [N, D] for several devices at once."""
        names = list(self.devices) if devices is None else devices
        feats = op_edge_features(ops)
        coef = np.stack([self._fit(d).coef for d in names], axis=1)
        floors = np.asarray([0.5 * self._fit(d).min_ms for d in names])
        return np.maximum(feats @ coef, floors)

    def derive(self, name: str, base: str, scale: float, kind: DeviceKind | None = None) -> None:
        """Add a device ``scale`` times slower than ``base`` (e.g. a weaker node of that kind)."""
        if scale <= 0:
            raise ValueError("scale must be positive")
        src = self._fit(base)
        self.fits[name] = DeviceFit(
            kind=kind or src.kind,
            coef=src.coef * scale,
            min_ms=src.min_ms * scale,
            max_ms=src.max_ms * scale,
            residual_std_ms=src.residual_std_ms * scale,
            stats={"derived_scale": scale},
        )

    def fit_report(self) -> list[dict[str, Any]]:
        """One row per device: kind and fit statistics (R², MSE in ms and on [0,1]-normalised ms)."""
        return [
            {"device": d, "kind": self.fits[d].kind, **self.fits[d].stats} for d in self.devices
        ]


def _ridge(x: np.ndarray, y: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    gram = x.T @ x + np.diag(penalty)
    return np.linalg.solve(gram, x.T @ y)


def fit_device_model(
    table: LatencyTable,
    devices: list[str] | None = None,
    ridge: float = 1.0,
    holdout: float = 0.2,
    seed: int = 0,
    kinds: dict[str, DeviceKind] | None = None,
) -> DeviceLatencyModel:
    """Fit coefficients per device; statistics on a seeded ``holdout`` split, then refit on all."""
    names = list(table.devices) if devices is None else [device_of_column(d) for d in devices]
    feats = op_edge_features(table.ops)
    n_single = 1 + N_EDGES * (N_OPS - 1)
    penalty = np.full(feats.shape[1], ridge)
    penalty[:n_single] = 1e-6  # intercept and per-edge terms essentially unpenalised
    rng = np.random.default_rng(seed)
    test = rng.random(len(table)) < holdout
    fits: dict[str, DeviceFit] = {}
    for name in names:
        y = table.column(name)
        span = max(float(y.max() - y.min()), 1e-12)
        stats: dict[str, float] = {}
        if test.any() and (~test).sum() > feats.shape[1]:
            w = _ridge(feats[~test], y[~test], penalty)
            err = feats[test] @ w - y[test]
            stats["holdout_mse_ms"] = float(np.mean(err**2))
            stats["holdout_r2"] = float(1 - np.mean(err**2) / np.var(y[test]))
            stats["holdout_mse_norm"] = float(np.mean((err / span) ** 2))
        w = _ridge(feats, y, penalty)
        err = feats @ w - y
        stats["train_mse_ms"] = float(np.mean(err**2))
        stats["train_r2"] = float(1 - np.mean(err**2) / np.var(y))
        stats["train_mse_norm"] = float(np.mean((err / span) ** 2))
        stats["n_cells"] = float(len(y))
        kind = (kinds or {}).get(name) or _kind_or_guess(name)
        fits[name] = DeviceFit(
            kind=kind,
            coef=w,
            min_ms=float(y.min()),
            max_ms=float(y.max()),
            residual_std_ms=float(np.std(err)),
            stats=stats,
        )
    provenance = {
        "source": Path(table.source).name if table.source else None,
        "source_sha256": table.sha256 or None,
        "ridge": ridge,
        "holdout": holdout,
        "seed": seed,
        "command": "python -m agents.latency fit-devices --csv "
        + (Path(table.source).name if table.source else "TABLE.csv")
        + f" --ridge {ridge} --seed {seed}",
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return DeviceLatencyModel(fits, provenance)


def _kind_or_guess(name: str) -> DeviceKind:
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(name.lower()):
            return kind
    raise ValueError(f"cannot tell the kind of device {name!r}; pass kinds={{name: kind}}")


@cache
def _default_model() -> DeviceLatencyModel:
    if not DEFAULT_PATH.exists():
        raise FileNotFoundError(
            f"shipped device coefficients {DEFAULT_PATH} are missing; "
            "refit them with `python -m agents.latency fit-devices --csv PATH`"
        )
    return DeviceLatencyModel.load(DEFAULT_PATH)


@cache
def _shipped_meta() -> dict[str, dict[str, Any]]:
    if not DEFAULT_PATH.exists():
        return {}
    data = json.loads(DEFAULT_PATH.read_text())
    return {name: {"kind": d["kind"]} for name, d in data.get("devices", {}).items()}


def device_names() -> tuple[str, ...]:
    """Devices of the shipped model (NB201 latency table names, without ``_ms``)."""
    return DeviceLatencyModel.default().devices
