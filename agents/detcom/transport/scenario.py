"""Case-study configuration, the quantities derived from it, and the task generator.

Task data size: the paper sets "7 bits", which cannot be literal (a 7-bit payload is below the
64-byte minimum Ethernet frame, so no link, queue or spectrum decision would matter). We read it
as **7 kbit** (875 bytes) per task: one Ethernet frame (≤ 1500 B payload) per task, which keeps
the draft's rule "cycle longer than any hop's transmission time" satisfiable with
sub-millisecond cycles (73 µs on the 100 Mb/s TSN2 hop), whereas 7 Mbit would take 70 ms on
that hop and could not be carried by CQF at all. ``data_size_kbit`` changes it; tasks larger
than one frame are carried as several frames in the same cycle.

Tasks are frames of periodic deterministic flows (periods 1, 2, 4 ms, hence a 1 ms CQF cycle by
the GCD rule); each flow has a latency bound equal to its path's CQF bound ``(h+1)·T`` plus a
slack of 0–3 cycles (tight inference flows to loose parameter-sync flows).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from agents.detcom.transport.channel import ChannelConfig
from agents.detcom.transport.cost import CostWeights
from agents.detcom.transport.cqf import (
    CycleChoice,
    choose_cycle,
    harq_attempts_per_cycle,
)
from agents.detcom.transport.network import TSN_RATES_MBPS, TransportNetwork

#: Transmission bandwidth configuration N_RB (3GPP TS 38.101-1 Table 5.3.2-1), FR1.
N_PRB: dict[int, dict[int, int]] = {
    10: {15: 52, 30: 24, 60: 11},
    20: {15: 106, 30: 51, 60: 24},
    40: {15: 216, 30: 106, 60: 51},
    50: {15: 270, 30: 133, 60: 65},
    100: {30: 273, 60: 135},
}
#: Spectral efficiency (bits per resource element, Q_m·R) of each MCS of the NR PDSCH MCS table
#: for 256QAM (3GPP TS 38.214 Table 5.1.3.1-2), MCS 0..27.
NR_MCS_SPECTRAL_EFFICIENCY: tuple[float, ...] = (
    0.2344, 0.3770, 0.6016, 0.8770, 1.1758, 1.4766, 1.6953, 1.9141, 2.1602, 2.4063,
    2.5703, 2.7305, 3.0293, 3.3223, 3.6094, 3.9023, 4.2129, 4.5234, 4.8164, 5.1152,
    5.3320, 5.5547, 5.8906, 6.2266, 6.5703, 6.9141, 7.1602, 7.4063,
)  # fmt: skip
#: Ethernet overhead on the wire per frame: 802.1Q header 18 B + FCS 4 B + preamble 8 B + IFG 12 B.
ETH_OVERHEAD_BITS = 42 * 8
ETH_MAX_PAYLOAD_BYTES = 1500


@dataclass(frozen=True)
class TransportConfig:
    """Everything that defines a transport scenario (defaults: the paper's case study)."""

    scs_khz: int = 60
    n_tasks: int = 3000
    data_size_kbit: float = 7.0
    flow_periods_us: tuple[int, ...] = (1000, 2000, 4000)
    n_flows: int = 6
    #: P(slack = 0, 1, 2, 3 cycles) of a flow's latency bound over its path's CQF bound.
    slack_probs: tuple[float, ...] = (0.3, 0.3, 0.25, 0.15)
    #: Flow endpoints (domain indices, 0 = m1); flows alternate over them.
    endpoints: tuple[tuple[int, int], ...] = ((0, 1), (1, 0))
    #: Probability a flow goes to a random other domain instead (training for the coupling).
    other_dst_prob: float = 0.0
    n_domains: int = 5
    carrier_mhz: int = 50
    tsn_rates_mbps: tuple[tuple[str, float], ...] = tuple(TSN_RATES_MBPS.items())
    #: Share of each port's cycle taken by other deterministic streams: AR(1) clipped to
    #: [0, max]; admission control keeps ``1 - max`` of every cycle for the AI task flows.
    tsn_background_mean: float = 0.4
    tsn_background_std: float = 0.15
    tsn_background_max: float = 0.6
    #: Share of the 5G resource units taken by other UEs each cycle (same model).
    ru_background_mean: float = 0.15
    ru_background_std: float = 0.08
    ru_background_max: float = 0.3
    background_corr_per_ms: float = 0.8
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    #: The spectrum action b ∈ [b_min, b_max] (resource units) on a discrete grid:
    #: ``"geometric"`` (default): ``n_spectrum_levels`` spectral efficiencies spaced
    #: geometrically from max_spectral_efficiency (b_min) to min_spectral_efficiency (b_max);
    #: ``"nr-mcs"``: one level per MCS of the NR 256QAM table whose spectral efficiency lies in
    #: that range (distinct resource-unit amounts only: 0.2–7.5 bit/RE gives 26 for 7 kbit).
    spectrum_grid: str = "geometric"
    n_spectrum_levels: int = 8
    max_spectral_efficiency: float = 6.0
    min_spectral_efficiency: float = 0.75
    #: Utilisation feedback κ: a task whose target domain orchestration filled to utilisation
    #: u has its on-time value (and latency-violation weight) scaled by 1 + κ·u (see ``cost``).
    feedback_weight: float = 1.0
    #: With no orchestration input (training): share of flows given a utilisation feedback
    #: u ~ U(0, 1), the rest u = 0, so a policy learns to use u when orchestration sends it.
    random_utilisation_prob: float = 0.0
    harq_gap_minislots: int = 1
    max_harq_tx: int = 4
    max_source_retries: int = 2
    max_5g_deferrals: int = 2
    processing_us: float = 2.0
    cycle_prefer: str = "gcd"
    weights: CostWeights = field(default_factory=CostWeights)
    reward_mode: str = "cost"

    def __post_init__(self) -> None:
        if self.carrier_mhz not in N_PRB or self.scs_khz not in N_PRB[self.carrier_mhz]:
            raise ValueError(
                f"no NR bandwidth config for {self.carrier_mhz} MHz at {self.scs_khz} kHz"
            )
        if self.n_tasks < 1 or self.n_flows < 1 or self.data_size_kbit <= 0:
            raise ValueError("n_tasks, n_flows and data_size_kbit must be positive")
        if abs(sum(self.slack_probs) - 1) > 1e-9:
            raise ValueError("slack_probs must sum to 1")
        for s, d in self.endpoints:
            if not (0 <= s < self.n_domains and 0 <= d < self.n_domains):
                raise ValueError(f"endpoint {s}->{d} outside domains 0..{self.n_domains - 1}")
        if self.spectrum_grid not in ("nr-mcs", "geometric"):
            raise ValueError("spectrum_grid must be 'nr-mcs' or 'geometric'")
        if not 0 < self.min_spectral_efficiency < self.max_spectral_efficiency:
            raise ValueError("need 0 < min_spectral_efficiency < max_spectral_efficiency")
        if self.feedback_weight < 0:
            raise ValueError("feedback_weight must be >= 0")
        if not 0 <= self.random_utilisation_prob <= 1:
            raise ValueError("random_utilisation_prob must be a probability")
        if self.reward_mode not in ("cost", "literal"):
            raise ValueError("reward_mode must be 'cost' or 'literal'")
        if not 0 <= self.other_dst_prob <= 1:
            raise ValueError("other_dst_prob must be a probability")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TransportConfig:
        d = dict(d)
        # Sidecars written before the NR MCS grid and the feedback existed.
        d.setdefault("spectrum_grid", "geometric")
        d.setdefault("feedback_weight", 0.0)
        d["channel"] = ChannelConfig(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in d["channel"].items()}
        )
        d["weights"] = CostWeights(**d["weights"])
        for k, v in list(d.items()):
            if isinstance(v, list):
                d[k] = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        return cls(**d)

    def with_(self, **kw: Any) -> TransportConfig:
        return replace(self, **kw)


def spectral_efficiency_grid(cfg: TransportConfig) -> np.ndarray:
    """Spectral efficiencies (bits/RE) the spectrum grid offers, highest first."""
    lo, hi = cfg.min_spectral_efficiency, cfg.max_spectral_efficiency
    if cfg.spectrum_grid == "geometric":
        return np.geomspace(hi, lo, cfg.n_spectrum_levels)
    se = np.array([x for x in NR_MCS_SPECTRAL_EFFICIENCY if lo <= x <= hi])
    if len(se) == 0:
        raise ValueError(f"no NR MCS has a spectral efficiency in [{lo}, {hi}]")
    return se[::-1]


class TransportModel:
    """Quantities derived from a :class:`TransportConfig`: network, cycle, capacities, actions."""

    def __init__(self, cfg: TransportConfig) -> None:
        self.cfg = cfg
        self.net = TransportNetwork(dict(cfg.tsn_rates_mbps), n_domains=cfg.n_domains)
        data_bytes = cfg.data_size_kbit * 1000 / 8
        self.data_bits = cfg.data_size_kbit * 1000.0
        self.frames_per_task = max(1, math.ceil(data_bytes / ETH_MAX_PAYLOAD_BYTES))
        self.wire_bits = self.data_bits + self.frames_per_task * ETH_OVERHEAD_BITS
        self.frame_bits = self.wire_bits / self.frames_per_task
        self.n_prb = N_PRB[cfg.carrier_mhz][cfg.scs_khz]
        self.route = self.net.route_arrays()
        # Spectrum levels (resource units) before the cycle: the 5GS residence needs them.
        ms7 = 7  # every SCS here schedules in 7-symbol mini-slots (see choose_cycle's output)
        self.re_per_ru = 12 * (ms7 - 1)  # one DMRS symbol per mini-slot
        se = spectral_efficiency_grid(cfg)
        self.spectrum_levels = np.unique(
            np.ceil(self.data_bits / (self.re_per_ru * se)).astype(np.int64)
        )
        self.cycle: CycleChoice = choose_cycle(
            self.net.hop_times_us(self.frame_bits, cfg.processing_us),
            cfg.flow_periods_us,
            cfg.scs_khz,
            prefer=cfg.cycle_prefer,  # type: ignore[arg-type]
        )
        if self.cycle.minislot_symbols != ms7:
            # Re-derive the RE count for the mini-slot the rules picked.
            self.re_per_ru = 12 * (self.cycle.minislot_symbols - 1)  # type: ignore[operator]
            self.spectrum_levels = np.unique(
                np.ceil(self.data_bits / (self.re_per_ru * se)).astype(np.int64)
            )
        self.T_us = self.cycle.cycle_us
        self.minislots = int(self.cycle.minislots_per_cycle or 1)
        self.ru_per_cycle = self.n_prb * self.minislots
        # Resource-unit footprint in MHz·ms and the carrier's resource in one cycle.
        ru_mhz_ms = 12 * cfg.scs_khz / 1000 * float(self.cycle.minislot_us or 0) / 1000
        self.ru_share = ru_mhz_ms / (cfg.carrier_mhz * self.T_us / 1000)
        span = np.ceil(self.spectrum_levels / self.n_prb).astype(np.int64)
        self.attempts_per_cycle = np.array(
            [harq_attempts_per_cycle(self.minislots, int(s), cfg.harq_gap_minislots) for s in span]
        )
        self.fivegs_residence_us = float(span.max()) * float(self.cycle.minislot_us or 0)
        if self.fivegs_residence_us > self.T_us:
            raise ValueError(
                "the largest spectrum level does not fit in one CQF cycle (5GS delay > T)"
            )
        # Wired footprint: share of a cycle each port / talker link spends on one task.
        self.port_share = self.wire_bits / (self.net.port_rate_mbps * self.T_us)
        g = self.net.topology.graph
        self.talker_share = np.array(
            [
                self.wire_bits
                / (g.edges[(d, next(iter(g.successors(d))))]["capacity_mbps"] * self.T_us)
                for d in range(cfg.n_domains)
            ]
        )

    @property
    def n_levels(self) -> int:
        return len(self.spectrum_levels)

    @property
    def n_actions(self) -> int:
        return 2 * self.n_levels

    def decode(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Action index → (cycle offset q ∈ {0,1}, spectrum level index)."""
        a = np.asarray(action, dtype=np.int64)
        return a // self.n_levels, a % self.n_levels

    def encode(self, q: np.ndarray, level: np.ndarray) -> np.ndarray:
        return np.asarray(q, dtype=np.int64) * self.n_levels + np.asarray(level, dtype=np.int64)

    def spectral_efficiency(self, level: np.ndarray) -> np.ndarray:
        return self.data_bits / (self.re_per_ru * self.spectrum_levels[level])

    @cached_property
    def route_has_5g(self) -> np.ndarray:
        return self.route["fivegs_hop"] >= 0

    def route_id(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        return np.asarray(src) * self.cfg.n_domains + np.asarray(dst)

    def base_latency_cycles(self, route_id: np.ndarray) -> np.ndarray:
        """CQF worst-case delay (h+1 cycles) with cycle offset 0; 0 for local tasks."""
        h = self.route["n_bridges"][route_id]
        return np.where(h > 0, h + 1, 0)

    def describe(self) -> dict[str, Any]:
        return {
            "scs_khz": self.cfg.scs_khz,
            "cycle_us": self.T_us,
            "minislot_us": self.cycle.minislot_us,
            "minislots_per_cycle": self.minislots,
            "n_prb": self.n_prb,
            "ru_per_cycle": self.ru_per_cycle,
            "spectrum_levels_ru": self.spectrum_levels.tolist(),
            "harq_attempts_per_cycle": self.attempts_per_cycle.tolist(),
            "wire_bits": self.wire_bits,
        }


@dataclass
class TaskBatch:
    """Tasks of ``n_envs`` episodes, sorted by arrival cycle: arrays [n_envs, n_tasks]."""

    arrival: np.ndarray  # cycle index
    src: np.ndarray
    dst: np.ndarray
    deadline_cycles: np.ndarray  # latency bound in cycles
    flow: np.ndarray
    pending: np.ndarray  # tasks after this one released in the same cycle
    #: Utilisation orchestration reached at the task's target domain (0: no such information).
    util: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.util is None:
            self.util = np.zeros(self.arrival.shape, dtype=np.float64)

    @property
    def n_cycles(self) -> int:
        return int(self.arrival.max()) + 1


def generate_tasks(
    model: TransportModel,
    rng: np.random.Generator,
    n_envs: int,
    n_tasks: int | None = None,
    targets: np.ndarray | None = None,
    utilisation: np.ndarray | None = None,
) -> TaskBatch:
    """Releases of periodic flows with random phases, directions and slacks; first ``n_tasks``.

    ``targets`` (shape ``(n_tasks,)`` for every episode, or ``(n_envs, n_tasks)``) fixes each
    task's destination domain (the orchestration layer's decision): the transport then must
    deliver task ``i`` to ``targets[i]``. ``utilisation`` (same shapes, values in [0, 1], needs
    ``targets``) is the utilisation orchestration reached at each task's target domain, the
    feedback that enters the transmission reward.
    """
    cfg = model.cfg
    n = cfg.n_tasks if n_tasks is None else n_tasks
    F = cfg.n_flows
    T = model.T_us
    periods = np.array(
        [round(cfg.flow_periods_us[f % len(cfg.flow_periods_us)] / T) for f in range(F)]
    )
    if (periods < 1).any():
        raise ValueError("flow periods must be at least one cycle")
    load = float(np.sum(1.0 / periods))
    n_cycles = math.ceil(n / load) + int(periods.max()) + 1
    kmax = n_cycles  # releases per flow at most (period 1)
    phase = rng.integers(0, periods[None, :], size=(n_envs, F))
    rel = phase[:, :, None] + periods[None, :, None] * np.arange(kmax)[None, None, :]
    key = np.where(rel < n_cycles, rel + rng.random(rel.shape) * 0.5, np.inf).reshape(n_envs, -1)
    order = np.argsort(key, axis=1, kind="stable")[:, :n]
    flow_of = np.broadcast_to(np.repeat(np.arange(F), kmax)[None, :], key.shape)
    flow = np.take_along_axis(flow_of, order, axis=1)
    arrival = np.take_along_axis(rel.reshape(n_envs, -1), order, axis=1)
    # Flow endpoints and slack.
    ep = np.array(cfg.endpoints)
    f_src = np.broadcast_to(ep[np.arange(F) % len(ep), 0], (n_envs, F)).copy()
    f_dst = np.broadcast_to(ep[np.arange(F) % len(ep), 1], (n_envs, F)).copy()
    if cfg.other_dst_prob > 0:
        swap = rng.random((n_envs, F)) < cfg.other_dst_prob
        other = (f_src + rng.integers(1, cfg.n_domains, size=(n_envs, F))) % cfg.n_domains
        f_dst = np.where(swap, other, f_dst)
    slack = rng.choice(len(cfg.slack_probs), p=np.asarray(cfg.slack_probs), size=(n_envs, F))
    src = np.take_along_axis(f_src, flow, axis=1)
    dst = np.take_along_axis(f_dst, flow, axis=1)
    util = np.zeros((n_envs, n))
    if targets is None and cfg.random_utilisation_prob > 0:
        f_util = np.where(
            rng.random((n_envs, F)) < cfg.random_utilisation_prob, rng.random((n_envs, F)), 0.0
        )
        util = np.take_along_axis(f_util, flow, axis=1)
    if targets is not None:
        t = np.asarray(targets, dtype=np.int64)
        if t.shape not in ((n,), (n_envs, n)):
            raise ValueError(f"targets must have one domain per task, shape ({n},), got {t.shape}")
        if t.min() < 0 or t.max() >= cfg.n_domains:
            raise ValueError(f"targets must be domain indices 0..{cfg.n_domains - 1}")
        dst = np.broadcast_to(t, (n_envs, n)).copy()
        if utilisation is not None:
            u = np.asarray(utilisation, dtype=np.float64)
            if u.shape != t.shape:
                raise ValueError(
                    f"utilisation must have the targets' shape {t.shape}, got {u.shape}"
                )
            if not np.all((u >= 0) & (u <= 1)):
                raise ValueError("utilisation values must lie in [0, 1]")
            util = np.broadcast_to(u, (n_envs, n)).copy()
    elif utilisation is not None:
        raise ValueError("utilisation feedback needs the targets it belongs to")
    rid = model.route_id(src, dst)
    deadline = model.base_latency_cycles(rid) + np.take_along_axis(slack, flow, axis=1)
    # Tasks released later in the same cycle (arrivals are sorted: distance to the run's end).
    pos = np.arange(n)[None, :]
    is_end = np.ones_like(arrival, dtype=bool)
    is_end[:, :-1] = arrival[:, 1:] != arrival[:, :-1]
    run_end = np.minimum.accumulate(np.where(is_end, pos, n)[:, ::-1], axis=1)[:, ::-1]
    pending = run_end - pos
    return TaskBatch(arrival, src, dst, deadline, flow, pending, util)
