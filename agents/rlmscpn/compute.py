"""Compute latency of NB201 cells on the simulated nodes: ground truth and predictions.

Ground truth is the latency helper's per-device model (``DeviceLatencyModel``, fitted to measured
NB201 latencies), plus that device's measurement spread when ``noise`` is on; or, when the user
gives a measured table (``index, arch, <device>_ms...``), the measured value itself. Predictions,
which the scheduler sees, come from the TSFT ``LatencyPredictor`` (adapted from 50 measured cells
for a device it has not seen). Both are tabulated once per device for all 15,625 cells.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from agents.latency.devices import DeviceLatencyModel, device_kind
from agents.latency.nb201 import N_CELLS, all_ops

log = logging.getLogger(__name__)

#: Labelled cells a new device is adapted from (the paper's 50).
ADAPT_SAMPLES = 50


_MODEL_TABLES: dict[str, np.ndarray] = {}


def _model_tables(devices: Sequence[str]) -> list[np.ndarray]:
    """Fitted-model latency of every cell on each device (one feature pass for all missing)."""
    missing = [d for d in dict.fromkeys(devices) if d not in _MODEL_TABLES]
    if missing:
        table = DeviceLatencyModel.default().latency_table(all_ops(), missing)
        for j, d in enumerate(missing):
            _MODEL_TABLES[d] = table[:, j].astype(np.float32)
    return [_MODEL_TABLES[d] for d in devices]


def _model_table(device: str) -> np.ndarray:
    return _model_tables([device])[0]


@cache
def _csv_tables(path: str) -> dict[str, np.ndarray]:
    from agents.latency.devices import load_latency_csv

    table = load_latency_csv(path)
    ops = np.asarray(table.ops)
    codes = np.zeros(len(ops), dtype=np.int64)
    for col in range(ops.shape[1]):
        codes = codes * 5 + ops[:, col]
    out = {}
    for name in table.devices:
        full = np.full(N_CELLS, np.nan, dtype=np.float32)
        full[codes] = table.column(name)
        out[name] = full
    return out


@cache
def _default_predictor():
    """The shipped TSFT predictor, or None (logged once) when it is not available."""
    try:
        from agents.latency.predictor import LatencyPredictor

        return LatencyPredictor.default()
    except (ImportError, FileNotFoundError, AttributeError) as exc:
        log.warning("TSFT predictor unavailable (%s): predictions = fitted device model", exc)
        return None


@cache
def _predicted_table(device: str) -> tuple[np.ndarray, str]:
    """Predicted latency of every cell on ``device`` and where it came from."""
    predictor = _default_predictor()
    if predictor is None:
        return _model_table(device), "device-model"
    ops = all_ops()
    try:
        pred = predictor.predict_ms(ops, device)
        source = "tsft"
    except (KeyError, ValueError):
        rng = np.random.default_rng(zlib.crc32(device.encode()))
        sample = rng.choice(N_CELLS, size=ADAPT_SAMPLES, replace=False)
        truth = DeviceLatencyModel.default().latency_ms(ops[sample], device, rng=rng)
        predictor.adapt(device, ops[sample], truth)
        pred = predictor.predict_ms(ops, device)
        source = f"tsft-adapted({ADAPT_SAMPLES})"
    return np.asarray(pred, dtype=np.float32), source


class ComputeLatency:
    """Tabulated true and predicted latencies for a fixed list of devices.

    ``truth(cell, device_idx, rng)`` is what a task really takes; ``predicted[cell]`` is the row
    of predictions (one per device) the scheduler sees.
    """

    def __init__(
        self,
        devices: Sequence[str],
        *,
        measured_csv: str | Path | None = None,
        noise: bool = True,
        predictions: str = "tsft",
    ) -> None:
        self.devices = tuple(devices)
        self.kinds = tuple(device_kind(d) for d in self.devices)
        model = DeviceLatencyModel.default()
        if measured_csv is not None:
            tables = _csv_tables(str(measured_csv))
            missing = [d for d in self.devices if d not in tables]
            if missing:
                raise KeyError(f"{measured_csv} has no column for devices {missing}")
            self.true_table = np.stack([tables[d] for d in self.devices], axis=1)
            self.noise_std = np.zeros(len(self.devices))
            self.truth_source = f"measured:{Path(measured_csv).name}"
        else:
            self.true_table = np.stack(_model_tables(self.devices), axis=1)
            self.noise_std = np.array(
                [model.fits[d].residual_std_ms if noise else 0.0 for d in self.devices]
            )
            self.truth_source = "device-model" + ("+noise" if noise else "")
        self.floor = 0.5 * np.nanmin(self.true_table, axis=0)
        if predictions == "tsft":
            tabs = [_predicted_table(d) for d in self.devices]
            self.predicted = np.stack([t for t, _ in tabs], axis=1).astype(np.float32)
            self.prediction_source = ",".join(sorted({s for _, s in tabs}))
        elif predictions == "oracle":
            self.predicted = self.true_table.astype(np.float32)
            self.prediction_source = "oracle"
        else:
            raise ValueError(f"predictions must be 'tsft' or 'oracle', got {predictions!r}")

    def truth(self, cell: int, device_idx: int, rng: np.random.Generator) -> float:
        mean = float(self.true_table[cell, device_idx])
        std = float(self.noise_std[device_idx])
        value = mean + rng.normal(0.0, std) if std > 0 else mean
        return max(value, float(self.floor[device_idx]))
