"""Simulated-annealing baseline: an offline schedule for the window's announced flows.

Deterministic flows are registered before they start (TSN/DetNet reservation), so a planner
knows every task's release cycle, path and latency bound, and the network's guaranteed
capacities (the per-cycle share admission control leaves to these flows). It does not know
future channel realisations; it knows the channel's *statistics*: per spectrum level, the
probability of each HARQ outcome averaged over the stationary channel (estimated once by
Monte Carlo of the channel model, correlations across cycles included).

The plan minimises the expected total cost: each task's expected ``ε_s·P_s + ε_h·P_h + ε_d·P_d``
under those statistics, plus a penalty of ``ε_d`` per task-equivalent of overbooking on any
5G cycle or CQF queue (an overbooked cycle defers tasks past their bound). Annealing: start
from every task's individually best choice, then single-task moves (spectrum level ±1, flip the
cycle offset, or a random choice), Metropolis acceptance, geometric cooling from a temperature
at which half the uphill moves pass down to 1/1000 of it, and the best plan seen is kept.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from agents.detcom.transport.channel import bler, sample_channel
from agents.detcom.transport.scenario import TransportConfig, TransportModel
from agents.detcom.transport.sim import TransportSim


@lru_cache(maxsize=16)
def harq_statistics(cfg: TransportConfig, n_samples: int = 40_000) -> dict[str, np.ndarray]:
    """Per spectrum level: P(first success at transmission n) and P(all fail), [L, max_tx]."""
    model = TransportModel(cfg)
    rng = np.random.default_rng(20240708)
    n_cycles = 64
    n_envs = max(1, n_samples // (n_cycles - 8))
    _, _, sinr = sample_channel(rng, n_envs, n_cycles, model.T_us, cfg.scs_khz, cfg.channel)
    starts = sinr[:, : n_cycles - 8]
    L, M = model.n_levels, cfg.max_harq_tx
    first = np.zeros((L, M))
    fail_all = np.zeros(L)
    se = model.spectral_efficiency(np.arange(L))
    for lv in range(L):
        att = int(model.attempts_per_cycle[lv])
        reach = np.ones_like(starts)
        for n in range(M):
            s = sinr[:, n // att : n // att + starts.shape[1]] + 10 * np.log10(n + 1)
            pf = bler(s, se[lv], cfg.channel)
            first[lv, n] = float((reach * (1 - pf)).mean())
            reach = reach * pf
        fail_all[lv] = float(reach.mean())
    return {"first_success": first, "fail_all": fail_all}


class SimulatedAnnealing:
    """Offline SA planner; ``act`` replays the plan made in ``begin``."""

    name = "sa"

    def __init__(self, seed: int = 0, sweeps: int = 30, t_end_ratio: float = 1e-3) -> None:
        self.seed, self.sweeps, self.t_end_ratio = seed, sweeps, t_end_ratio
        self.plan: np.ndarray | None = None
        self.expected_cost: list[float] = []  # of the plan, per episode
        self.start_cost: list[float] = []  # of the starting point (each task's own best)

    # ------------------------------------------------------------------ expected cost model
    def _task_costs(self, sim: TransportSim, e: int) -> tuple[np.ndarray, dict]:
        m, cfg, t = sim.model, sim.cfg, sim.tasks
        assert t is not None
        w = cfg.weights
        st = harq_statistics(cfg)
        L, M = m.n_levels, cfg.max_harq_tx
        att = m.attempts_per_cycle
        # P(5G adds more than k cycles) for k = 0..M, per level.
        extra = np.arange(M)[None, :] // att[:, None]  # [L, M] cycles added by success at n
        p_gt = np.zeros((L, M + 2))
        for k in range(M + 2):
            p_gt[:, k] = st["fail_all"] + (st["first_success"] * (extra > k)).sum(axis=1)
        reach = st["fail_all"][:, None] + np.cumsum(st["first_success"][:, ::-1], axis=1)[:, ::-1]
        e_tx = reach.sum(axis=1)  # expected transmissions per level
        rid = m.route_id(t.src[e], t.dst[e])
        has5 = m.route["fivegs_hop"][rid] >= 0
        nb = m.route["n_bridges"][rid]
        slack = t.deadline_cycles[e] - m.base_latency_cycles(rid)
        wired = np.where(nb > 0, m.talker_share[t.src[e]], 0.0)
        for h in range(m.route["ports"].shape[1]):
            p = m.route["ports"][rid, h]
            wired = wired + np.where(p >= 0, m.port_share[np.maximum(p, 0)], 0.0)
        share = m.spectrum_levels * m.ru_share  # [L]
        fbw = 1.0 + cfg.feedback_weight * t.util[e]  # utilisation feedback on the deadline term
        n = len(rid)
        cost = np.zeros((n, 2, L))
        for q in (0, 1):
            budget = slack - q  # extra cycles the 5G hop may add
            pv5 = np.where(
                budget[:, None] < 0,
                1.0,
                p_gt[np.arange(L)[None, :], np.clip(budget, 0, M + 1)[:, None]],
            )
            pv = np.where(has5[:, None], pv5, (budget < 0)[:, None].astype(float))
            link = wired[:, None] + has5[:, None] * share[None, :]
            retx = has5[:, None] * (e_tx - 1)[None, :] * share[None, :]
            cost[:, q, :] = w.eps_s * link + w.eps_h * retx + w.eps_d * fbw[:, None] * pv
        ctx = {"rid": rid, "has5": has5, "nb": nb, "e_tx": e_tx}
        return cost, ctx

    # ------------------------------------------------------------------ annealing
    def _anneal(
        self, sim: TransportSim, e: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, float]:
        m, cfg, t = sim.model, sim.cfg, sim.tasks
        assert t is not None
        w = cfg.weights
        cost, ctx = self._task_costs(sim, e)
        n, _, L = cost.shape
        arrival = t.arrival[e].tolist()
        rid = ctx["rid"]
        hop5 = m.route["fivegs_hop"][rid].tolist()
        nb = ctx["nb"].tolist()
        ports = [list(m.route["ports"][r, :nb_i]) for r, nb_i in zip(rid, nb, strict=True)]
        pshare = m.port_share.tolist()
        ru_use = (m.spectrum_levels * ctx["e_tx"]).tolist()  # expected RUs per level
        ru_cap = m.ru_per_cycle * (1.0 - cfg.ru_background_max)
        tsn_cap = 1.0 - cfg.tsn_background_max
        lam_ru = w.eps_d / float(np.median(m.spectrum_levels))
        C = sim.n_cycles + 4
        ru_load = [0.0] * C
        tsn_load = [[0.0] * C for _ in range(m.net.n_ports)]
        lam_tsn = [w.eps_d / s for s in pshare]
        cl = cost.tolist()

        def over_ru(x: float) -> float:
            return lam_ru * (x - ru_cap) if x > ru_cap else 0.0

        def over_tsn(p: int, x: float) -> float:
            return lam_tsn[p] * (x - tsn_cap) if x > tsn_cap + 1e-9 else 0.0

        # Start: each task's own best choice.
        flat = cost.reshape(n, -1).argmin(axis=1)
        xq, xl = (flat // L).tolist(), (flat % L).tolist()

        def book(i: int, q: int, lv: int, sign: float) -> float:
            """Add (sign=+1) or remove (-1) task i's bookings; return the penalty change."""
            d = 0.0
            c0 = arrival[i] + q + 1
            for h, p in enumerate(ports[i]):
                c = c0 + h
                old = tsn_load[p][c]
                new = old + sign * pshare[p]
                d += over_tsn(p, new) - over_tsn(p, old)
                tsn_load[p][c] = new
            if hop5[i] >= 0:
                c = c0 + hop5[i]
                old = ru_load[c]
                new = old + sign * ru_use[lv]
                d += over_ru(new) - over_ru(old)
                ru_load[c] = new
            return d

        total = 0.0
        for i in range(n):
            total += cl[i][xq[i]][xl[i]] + book(i, xq[i], xl[i], 1.0)
        self.start_cost.append(total)

        def propose(i: int) -> tuple[int, int]:
            r = rng.random()
            q, lv = xq[i], xl[i]
            if r < 0.45:
                lv = min(L - 1, max(0, lv + (1 if rng.random() < 0.5 else -1)))
            elif r < 0.75:
                q = 1 - q
            else:
                q, lv = int(rng.integers(2)), int(rng.integers(L))
            return q, lv

        def delta(i: int, q: int, lv: int) -> float:
            d = cl[i][q][lv] - cl[i][xq[i]][xl[i]]
            d += book(i, xq[i], xl[i], -1.0)
            d += book(i, q, lv, 1.0)
            return d

        def undo(i: int, q: int, lv: int) -> None:
            book(i, q, lv, -1.0)
            book(i, xq[i], xl[i], 1.0)

        # Initial temperature: half of the uphill moves accepted.
        ups = []
        for _ in range(min(400, 20 * n)):
            i = int(rng.integers(n))
            q, lv = propose(i)
            d = delta(i, q, lv)
            undo(i, q, lv)
            if d > 0:
                ups.append(d)
        t0 = (float(np.mean(ups)) / math.log(2)) if ups else 1.0
        moves = self.sweeps * n
        alpha = self.t_end_ratio ** (1.0 / max(1, moves))
        temp = t0
        best, best_q, best_l = total, list(xq), list(xl)
        idx = rng.integers(0, n, size=moves).tolist()
        us = rng.random(moves).tolist()
        for k in range(moves):
            i = idx[k]
            q, lv = propose(i)
            if q == xq[i] and lv == xl[i]:
                temp *= alpha
                continue
            d = delta(i, q, lv)
            if d <= 0 or us[k] < math.exp(-d / temp):
                xq[i], xl[i] = q, lv
                total += d
                if total < best - 1e-12:
                    best, best_q, best_l = total, list(xq), list(xl)
            else:
                undo(i, q, lv)
            temp *= alpha
        return m.encode(np.array(best_q), np.array(best_l)), best

    def begin(self, sim: TransportSim) -> None:
        rng = np.random.default_rng(self.seed)
        plans, self.expected_cost, self.start_cost = [], [], []
        for e in range(sim.n_envs):
            plan, exp_cost = self._anneal(sim, e, rng)
            plans.append(plan)
            self.expected_cost.append(exp_cost)
        self.plan = np.stack(plans)

    def act(self, obs: np.ndarray, sim: TransportSim) -> np.ndarray:
        if self.plan is None or self.plan.shape != (sim.n_envs, sim.n_tasks):
            raise RuntimeError("SimulatedAnnealing.begin(sim) must run after sim.reset()")
        return self.plan[:, sim.j]
