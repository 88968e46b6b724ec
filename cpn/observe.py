"""Time series a scenario records while it runs: bytes per link direction, sampled.

Every ``sample_s`` of virtual time :class:`Observer` reads the accounted byte counters of every
switch-to-switch link (:attr:`topo.emunet.links.Link.bytes`: BULK units count for the packets
they stand for) in both directions. Utilisation over a window is the bytes sent in it x 8 /
window / link rate. Service-node utilisation needs no sampling: each
:class:`traces.service.ServiceNode` keeps its busy-server history.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Observer:
    """Samples link byte counters (see the module doc)."""

    def __init__(self, scenario: Any) -> None:
        self.sc = scenario
        links = scenario.net.links
        self.links = links
        self.names: list[str] = []
        self.rates: list[float] = []
        self.pairs: list[tuple[str, str]] = []  # (from switch, to switch) per direction
        for lk in links:
            a, b = (e.name.rsplit(":", 1)[0] for e in lk.ends)
            self.names += [f"{a}>{b}", f"{b}>{a}"]
            self.pairs += [(a, b), (b, a)]
            self.rates += [lk.rate_bps, lk.rate_bps]
        self.times: list[float] = []
        self.bytes: list[list[int]] = []
        self.sample()

    def sample(self) -> None:
        self.times.append(self.sc.net.now())
        row: list[int] = []
        for lk in self.links:
            row += [lk.bytes[0], lk.bytes[1]]
        self.bytes.append(row)

    def utilisation_series(self) -> tuple[np.ndarray, np.ndarray]:
        """(window end times, utilisation[window, direction]) between consecutive samples."""
        t = np.asarray(self.times, dtype=float)
        if len(t) < 2:
            return np.zeros(0), np.zeros((0, len(self.names)))
        b = np.asarray(self.bytes, dtype=float)
        cap = np.diff(t)[:, None] * np.asarray(self.rates, dtype=float)[None, :]
        bits = np.diff(b, axis=0) * 8.0
        return t[1:], np.divide(bits, cap, out=np.zeros_like(bits), where=cap > 0)

    def mean_utilisation(self, t0: float, t1: float) -> np.ndarray:
        """Mean utilisation of every direction over ``[t0, t1]`` (nearest samples)."""
        t = np.asarray(self.times, dtype=float)
        if len(t) < 2 or t1 <= t0:
            return np.zeros(len(self.names))
        i0 = int(np.searchsorted(t, t0, side="left"))
        i1 = int(np.searchsorted(t, t1, side="right")) - 1
        i0 = min(max(i0, 0), len(t) - 1)
        i1 = min(max(i1, 0), len(t) - 1)
        if i1 <= i0:
            return np.zeros(len(self.names))
        b = np.asarray(self.bytes, dtype=float)
        bits = (b[i1] - b[i0]) * 8.0
        cap = (t[i1] - t[i0]) * np.asarray(self.rates, dtype=float)
        return np.divide(bits, cap, out=np.zeros_like(bits), where=cap > 0)


def node_utilisation_series(
    node: Any, t_end_s: float, window_s: float, t0_s: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(window end times, busy fraction per window) of one service node."""
    edges = np.arange(t0_s, t_end_s + 1e-9, window_s)
    if len(edges) < 2:
        return np.zeros(0), np.zeros(0)
    vals = [node.utilisation(a * 1e6, b * 1e6) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return edges[1:], np.asarray(vals)


__all__ = ["Observer", "node_utilisation_series"]
