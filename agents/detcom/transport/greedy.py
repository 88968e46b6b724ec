"""Model-based greedy reference (not in the paper): knows the channel *model*, decides per task.

For each task it sees what D3QN sees (the latest SINR report, free 5G units for both offsets,
the latency bound) and picks the action with the least expected cost of that task alone, using
HARQ outcome probabilities conditioned on the reported SINR and the number of cycles until the
5GS carries the frame (estimated once by Monte Carlo of the channel model). It is an upper
reference for what model-free learning can reach here, not a baseline the paper compares with:
it needs the radio model a real controller does not have, and it ignores its effect on later
tasks (queue and spectrum capacity it takes from them).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agents.detcom.transport.channel import bler, sample_channel
from agents.detcom.transport.scenario import TransportConfig, TransportModel
from agents.detcom.transport.sim import TransportSim

SINR_BINS = np.arange(-5.0, 31.0, 1.0)


@lru_cache(maxsize=16)
def conditional_harq(cfg: TransportConfig, max_lag: int = 6) -> np.ndarray:
    """P(the 5G hop adds more than k cycles or fails | SINR bin now, level, lag): [lag, bin, L, k]."""
    model = TransportModel(cfg)
    rng = np.random.default_rng(20240709)
    L, M = model.n_levels, cfg.max_harq_tx
    horizon = max_lag + M + 2
    n_start = 40
    _, _, s = sample_channel(rng, 1500, n_start + horizon, model.T_us, cfg.scs_khz, cfg.channel)
    now = s[:, :n_start]
    nb = len(SINR_BINS) - 1
    b = np.clip(np.digitize(now, SINR_BINS) - 1, 0, nb - 1).ravel()
    cnt = np.maximum(np.bincount(b, minlength=nb), 1)
    se = model.spectral_efficiency(np.arange(L))
    att = model.attempts_per_cycle
    out = np.ones((max_lag + 1, nb, L, M + 2))
    for lag in range(1, max_lag + 1):
        for lv in range(L):
            reach = np.ones_like(now)
            first = []
            for n in range(M):
                off = lag + n // int(att[lv])
                pf = bler(s[:, off : off + n_start] + 10 * np.log10(n + 1), se[lv], cfg.channel)
                first.append(reach * (1 - pf))
                reach = reach * pf
            extra = np.arange(M) // int(att[lv])
            for k in range(M + 2):
                v = reach + sum(first[n] * (extra[n] > k) for n in range(M))
                out[lag, :, lv, k] = np.bincount(b, v.ravel(), minlength=nb) / cnt
    return out


class ModelGreedy:
    """Per-task expected-cost minimiser with the channel model (see module docstring)."""

    name = "model-greedy"

    def begin(self, sim: TransportSim) -> None:
        self.tab = conditional_harq(sim.cfg, max_lag=sim.model.route["ports"].shape[1] + 2)

    def act(self, obs: np.ndarray, sim: TransportSim) -> np.ndarray:
        m, cfg, w = sim.model, sim.cfg, sim.cfg.weights
        cur = sim.current()
        rid = cur["route"]
        hop5 = m.route["fivegs_hop"][rid]
        slack = cur["deadline"] - m.base_latency_cycles(rid)
        nb = len(SINR_BINS) - 1
        sb = np.clip(np.digitize(sim.sinr[sim._idx, cur["arrival"]], SINR_BINS) - 1, 0, nb - 1)
        _, ru_free = sim.queue_view()
        M = cfg.max_harq_tx
        eps_d = w.eps_d * (1.0 + cfg.feedback_weight * cur["util"])  # utilisation feedback
        best = np.zeros(len(rid), dtype=np.int64)
        best_cost = np.full(len(rid), np.inf)
        for q in (0, 1):
            lag = np.clip(1 + hop5 + q, 1, self.tab.shape[0] - 1)
            for lv in range(m.n_levels):
                b = m.spectrum_levels[lv]
                short = ru_free[:, q] * m.ru_per_cycle < b  # the 5GS would hold it a cycle
                budget = slack - q - short
                pv = np.where(budget < 0, 1.0, self.tab[lag, sb, lv, np.clip(budget, 0, M + 1)])
                c5 = w.eps_s * b * m.ru_share + eps_d * pv
                c = np.where(hop5 >= 0, c5, eps_d * (slack - q < 0) + 1e-6 * (q + lv))
                better = c < best_cost
                best_cost = np.where(better, c, best_cost)
                best = np.where(better, m.encode(q, lv), best)
        return best
