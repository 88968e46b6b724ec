"""Traffic matrices for background load: the real Abilene series, and a gravity model.

``load_abilene_tm(path)`` reads the public Abilene series (one 12x12 matrix per line, row-major,
in units of 100 bytes per 5 minutes) and returns Mbit/s. ``gravity_tm`` makes a seeded series
for any topology (node weights from attached capacity, a diurnal swing, log-normal noise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from topo.graph import Topology

#: One Abilene unit (100 bytes per 300 s) in Mbit/s.
ABILENE_UNIT_MBPS = 100 * 8 / 300 / 1e6
ABILENE_INTERVAL_S = 300.0


class TrafficFormatError(ValueError):
    """A traffic-matrix file that does not follow its format."""


def load_abilene_tm(path: str | Path, n_nodes: int = 12) -> np.ndarray:
    """Abilene traffic matrices as an array ``[T, n, n]`` of Mbit/s (diagonal zeroed)."""
    path = Path(path)
    rows = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                values = np.array(line.split(), dtype=float)
            except ValueError as exc:
                raise TrafficFormatError(f"{path}:{lineno}: {exc}") from None
            if values.size != n_nodes * n_nodes:
                raise TrafficFormatError(
                    f"{path}:{lineno}: expected {n_nodes * n_nodes} values, got {values.size}"
                )
            if (values < 0).any() or not np.isfinite(values).all():
                raise TrafficFormatError(f"{path}:{lineno}: negative or non-finite demand")
            rows.append(values.reshape(n_nodes, n_nodes))
    if not rows:
        raise TrafficFormatError(f"{path}: no traffic matrices")
    tm = np.stack(rows) * ABILENE_UNIT_MBPS
    idx = np.arange(n_nodes)
    tm[:, idx, idx] = 0.0
    return tm


def gravity_tm(
    topology: Topology,
    n_intervals: int,
    seed: int = 0,
    total_mbps: float = 1.0,
    period: int = 288,
    noise_sigma: float = 0.3,
) -> np.ndarray:
    """A gravity-model series ``[T, n, n]`` (Mbit/s) summing to ``total_mbps`` on average.

    Node weight = capacity attached to the node; demand(s, d) ∝ w_s·w_d, modulated by a daily
    sinusoid (``period`` intervals per day, random phase per source) and log-normal noise.
    """
    rng = np.random.default_rng(seed)
    n = topology.n_nodes
    w = np.zeros(n)
    for (u, _), cap in zip(topology.links, topology.capacity_mbps, strict=True):
        w[u] += cap
    base = np.outer(w, w)
    np.fill_diagonal(base, 0.0)
    base /= base.sum()
    t = np.arange(n_intervals)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, size=(1, n, 1))
    diurnal = 1.0 + 0.4 * np.sin(2 * np.pi * t / period + phase)
    noise = rng.lognormal(-0.5 * noise_sigma**2, noise_sigma, size=(n_intervals, n, n))
    tm = total_mbps * base[None] * diurnal * noise
    idx = np.arange(n)
    tm[:, idx, idx] = 0.0
    return tm
