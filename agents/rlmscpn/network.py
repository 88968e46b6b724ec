"""Link state of the simulated network: background and task traffic, delay, transfers.

Each directed link has a capacity C, a background rate B(t) (a routed traffic-matrix series,
one matrix per interval) and the rates of task transfers in flight. From those:

- utilisation u = (B + tasks) / C and a queueing delay q = q0·u/(1−u), capped (M/M/1-like);
- the bandwidth a new transfer can get on a link: what is left, but at least its fair share of
  what background leaves among the task flows already there (TCP-like), and at least
  ``min_bandwidth_share`` of C;
- one-way path delay = Σ (propagation + queueing); probes see each link's queueing as an
  exponential draw around q, plus measurement noise, and are averaged.

A transfer of D megabits split x_j over paths P_j puts S_l = Σ_{j∋l} x_j·D on link l; path j takes
delay_j + max_{l∈P_j} S_l / avail_l, the task's transfer time is the largest over the paths it
uses, and each part then occupies its links at the rate its bottleneck allows until it is done.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from agents.rlmscpn.config import SimConfig


@dataclass
class PathBundle:
    """Paths as a padded link-index matrix: ``links[j, :length[j]]`` are path j's links."""

    links: np.ndarray  # [M, max_len] int (padding repeats index 0, masked out)
    mask: np.ndarray  # [M, max_len] bool
    hops: np.ndarray  # [M] int

    @classmethod
    def from_lists(cls, paths: list[np.ndarray]) -> PathBundle:
        m = len(paths)
        width = max(1, max((len(p) for p in paths), default=1))
        links = np.zeros((m, width), dtype=np.int64)
        mask = np.zeros((m, width), dtype=bool)
        for j, p in enumerate(paths):
            links[j, : len(p)] = p
            mask[j, : len(p)] = True
        return cls(links, mask, mask.sum(axis=1))


class LinkNetwork:
    """Per-link state over simulated time (ms)."""

    def __init__(
        self,
        capacity_mbps: np.ndarray,
        prop_ms: np.ndarray,
        background_mbps: np.ndarray,
        cfg: SimConfig,
    ) -> None:
        if background_mbps.ndim != 2 or background_mbps.shape[1] != capacity_mbps.shape[0]:
            raise ValueError("background must be [intervals, links]")
        self.capacity = capacity_mbps.astype(float)
        self.prop = prop_ms.astype(float)
        self.background_series = background_mbps
        self.cfg = cfg
        self.reset(0.0)

    def __deepcopy__(self, memo: dict) -> LinkNetwork:
        twin = object.__new__(LinkNetwork)
        twin.__dict__.update(self.__dict__)  # capacity, delays, background series: shared
        twin.task_load = self.task_load.copy()
        twin.n_flows = self.n_flows.copy()
        twin._flows = list(self._flows)
        twin.background = self.background.copy()
        return twin

    # ------------------------------------------------------------------ time
    def reset(self, tm_offset_ms: float) -> None:
        n = len(self.capacity)
        self.now = 0.0
        self.tm_offset = tm_offset_ms
        self.task_load = np.zeros(n)
        self.n_flows = np.zeros(n, dtype=np.int64)
        self._flows: list[tuple[float, int, np.ndarray, float]] = []
        self._seq = 0
        self._interval = -1
        self.advance(0.0)

    def advance(self, t_ms: float) -> None:
        """Move to time ``t_ms``: finished transfers leave, background takes its interval."""
        if t_ms < self.now:
            raise ValueError("time only moves forward")
        self.now = t_ms
        while self._flows and self._flows[0][0] <= t_ms:
            _, _, links, rate = heapq.heappop(self._flows)
            self.task_load[links] -= rate
            self.n_flows[links] -= 1
        if self._flows:
            np.maximum(self.task_load, 0.0, out=self.task_load)
        else:
            self.task_load[:] = 0.0
        interval = int((self.tm_offset + t_ms) // self.cfg.tm_interval_ms)
        interval %= len(self.background_series)
        if interval != self._interval:
            self._interval = interval
            self.background = self.background_series[interval].astype(float)

    # ------------------------------------------------------------------ per-link state
    def utilisation(self) -> np.ndarray:
        return (self.background + self.task_load) / self.capacity

    def queue_ms(self) -> np.ndarray:
        u = self.utilisation()
        cap = self.cfg.queue_cap_ms
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(u < 1.0, self.cfg.queue_q0_ms * u / np.maximum(1.0 - u, 1e-9), cap)
        return np.minimum(q, cap)

    def available_mbps(self) -> np.ndarray:
        """Bandwidth a new transfer can get on each link."""
        left_by_bg = np.maximum(self.capacity - self.background, 0.0)
        free = left_by_bg - self.task_load
        fair = left_by_bg / (self.n_flows + 1)
        floor = self.cfg.min_bandwidth_share * self.capacity
        return np.maximum(np.maximum(free, fair), floor)

    # ------------------------------------------------------------------ paths
    def path_delay_ms(self, bundle: PathBundle, queue: np.ndarray | None = None) -> np.ndarray:
        """True one-way delay [M] of each path (propagation + queueing)."""
        q = self.queue_ms() if queue is None else queue
        per_link = (self.prop + q)[bundle.links]
        return np.where(bundle.mask, per_link, 0.0).sum(axis=1)

    def probe_ms(self, bundle: PathBundle, rng: np.random.Generator) -> np.ndarray:
        """Mean of ``n_probes`` back-to-back probes' one-way delay [M]."""
        q = self.queue_ms()[bundle.links]
        prop = self.prop[bundle.links]
        n = self.cfg.n_probes
        draws = rng.exponential(1.0, size=(n, *q.shape)) * q[None]
        per_link = np.where(bundle.mask[None], prop[None] + draws, 0.0).sum(axis=2)
        per_link += rng.normal(0.0, self.cfg.probe_noise_ms, size=per_link.shape)
        return np.maximum(per_link.mean(axis=0), 0.0)

    def path_available_mbps(
        self, bundle: PathBundle, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Bottleneck available bandwidth [M] of each path (telemetry, optionally noisy)."""
        avail = self.available_mbps()[bundle.links]
        out = np.where(bundle.mask, avail, np.inf).min(axis=1)
        out = np.where(np.isfinite(out), out, self.capacity.max() if len(self.capacity) else 1.0)
        if rng is not None and self.cfg.bandwidth_noise > 0:
            out = out * np.exp(rng.normal(0.0, self.cfg.bandwidth_noise, size=out.shape))
        return out

    # ------------------------------------------------------------------ transfers
    def transfer_ms(
        self,
        paths: list[np.ndarray],
        split: np.ndarray,
        data_mb: float,
        rounds: int = 1,
        commit: bool = True,
    ) -> tuple[float, np.ndarray]:
        """Transfer time of ``data_mb`` split over ``paths`` (repeated ``rounds`` times).

        Returns (task transfer time, per-path times; 0 for unused paths). With ``commit`` the
        transfer's traffic is added to the links until it is done.
        """
        megabits = data_mb * 8.0
        used = [j for j, x in enumerate(split) if x > 0]
        avail = self.available_mbps()
        queue = self.queue_ms()
        load = {}
        for j in used:
            for link in paths[j].tolist():
                load[link] = load.get(link, 0.0) + split[j] * megabits
        per_path = np.zeros(len(paths))
        pace = np.zeros(len(paths))
        for j in used:
            links = paths[j]
            if len(links) == 0:
                continue
            delay = float((self.prop[links] + queue[links]).sum())
            pace[j] = max(load[link] / avail[link] for link in links.tolist()) * 1000.0
            per_path[j] = rounds * (delay + pace[j])
        if commit:
            for j in used:
                if len(paths[j]) == 0 or pace[j] <= 0:
                    continue
                rate = split[j] * megabits / (pace[j] / 1000.0)
                duration = rounds * pace[j]
                self.task_load[paths[j]] += rate
                self.n_flows[paths[j]] += 1
                self._seq += 1
                heapq.heappush(self._flows, (self.now + duration, self._seq, paths[j], rate))
        return float(per_path.max(initial=0.0)), per_path
