"""Where trained base models live: a cache keyed by the training table's content and settings."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
from pathlib import Path

from agents.latency.dataset import LatencyTable, device_of_column
from agents.latency.predictor import LatencyPredictor
from agents.latency.train import TrainConfig

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$CPN_P4_CACHE`` or ``$XDG_CACHE_HOME/cpn-p4`` (``~/.cache/cpn-p4``), ``/latency``."""
    root = os.environ.get("CPN_P4_CACHE") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) if root else Path.home() / ".cache"
    if not os.environ.get("CPN_P4_CACHE"):
        base = base / "cpn-p4"
    return base / "latency"


def training_devices(table: LatencyTable, exclude: list[str] | None = None) -> tuple[str, ...]:
    """Columns of ``table`` minus those matching any ``exclude`` name or glob (``titanxp_*``)."""
    patterns = [device_of_column(p) for p in (exclude or [])]
    keep = tuple(d for d in table.devices if not any(fnmatch.fnmatchcase(d, p) for p in patterns))
    if not keep:
        raise ValueError(f"no training devices left in {table.source} after excluding {patterns}")
    return keep


def cache_key(table: LatencyTable, devices: tuple[str, ...], cfg: TrainConfig) -> str:
    h = hashlib.sha256()
    h.update(table.sha256.encode())
    h.update(repr(sorted(devices)).encode())
    h.update(repr(cfg.to_dict()).encode())
    return h.hexdigest()[:16]


def load_or_train(
    table: LatencyTable,
    devices: tuple[str, ...],
    cfg: TrainConfig,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> tuple[LatencyPredictor, bool, Path]:
    """The base model for (table, devices, cfg): from the cache, or trained (resumably) and cached.

    Returns (predictor, whether it came from the cache, checkpoint stem)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    stem = cache_dir / f"tsft-base-{cache_key(table, devices, cfg)}"
    if stem.with_suffix(".safetensors").exists() and stem.with_suffix(".json").exists():
        try:
            return LatencyPredictor.load(stem), True, stem
        except (ValueError, KeyError, RuntimeError) as exc:
            log.warning("cached base model %s unreadable (%s); retraining", stem, exc)
    cache_dir.mkdir(parents=True, exist_ok=True)
    state = stem.with_suffix(".state.pt")
    predictor = LatencyPredictor.train(table, devices, cfg, state_path=state, progress=progress)
    predictor.save(stem)
    state.unlink(missing_ok=True)
    return predictor, False, stem
