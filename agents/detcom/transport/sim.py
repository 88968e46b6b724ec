"""Vectorised TSN–5G CQF transport simulator: ``n_envs`` episodes stepped at once with numpy.

One step schedules one task (a frame of a deterministic flow) with the action (cycle offset
``q``, spectrum level ``b``) and resolves its whole journey at once, booking the resources it
takes in the cycles it takes them:

* the talker sends in cycle ``a + q`` (``a`` = release cycle); bridge ``k`` of the path sends in
  the next cycle (CQF: a frame received in cycle c leaves in c+1), so with no impairment the
  task is delivered after ``h + 1 + q`` cycles, the CQF bound for ``h`` bridges plus the offset;
* every TSN egress port has a per-cycle budget (cycle time minus other streams' reservations);
  a frame that finds its queue full is dropped (the draft's queue-capacity constraint) and the
  talker re-sends it the next cycle (a retransmission), up to ``max_source_retries`` times;
* the 5GS bridge sends the frame in the mini-slots of its cycle on ``b`` resource units (RU =
  PRB × mini-slot) if that many are free (else it holds the frame a cycle); the transport block
  fails with the channel's BLER; HARQ retransmits after a gap, as many times per cycle as fit,
  chase-combining, at most ``max_harq_tx`` transmissions; attempts that do not fit in the
  cycle push the frame (and every later hop) one cycle back.

Random outcomes come from a counter-based hash of (episode seed, task, try, attempt), so two
policies run on the same seed face the same channel, background and per-attempt luck
(common random numbers); only their decisions differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.detcom.transport.channel import ar1, bler, sample_channel
from agents.detcom.transport.cost import reward as reward_fn
from agents.detcom.transport.cost import task_cost
from agents.detcom.transport.scenario import (
    TaskBatch,
    TransportConfig,
    TransportModel,
    generate_tasks,
)

OBS_DIM_FIXED = 9  # queue q0, q1, 5G q0, q1, SINR, deadline, slack, pending, util (+ 2 one-hots)
QUEUE_FRAMES_SCALE = 10.0

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def hashed_uniform(seed: np.ndarray, counter: int) -> np.ndarray:
    """Uniforms in [0, 1) from splitmix64(seed + counter·φ): one per element of ``seed``."""
    with np.errstate(over="ignore"):
        z = seed + np.uint64(counter) * _M1
        z = (z ^ (z >> np.uint64(30))) * _M2
        z = (z ^ (z >> np.uint64(27))) * _M3
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _ar1_clipped(
    rng: np.random.Generator, shape: tuple[int, ...], mean: float, std: float, rho: float, hi: float
) -> np.ndarray:
    """AR(1) along the last axis with the given stationary mean/std, clipped to [0, hi]."""
    return np.clip(mean + std * ar1(rng, shape, rho), 0.0, hi)


def obs_dim(n_domains: int) -> int:
    return OBS_DIM_FIXED + 2 * n_domains


def build_observation(
    queue_frames: np.ndarray,
    ru_free_share: np.ndarray,
    sinr_db: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    deadline_cycles: np.ndarray,
    base_cycles: np.ndarray,
    pending: np.ndarray,
    n_domains: int,
    utilisation: np.ndarray | None = None,
) -> np.ndarray:
    """The agent's state s_k = {C_TSN (two CQF queues), C_5G, F^s, F^d, T_i} as a float32 vector.

    ``queue_frames`` [N, 2]: frames that still fit in the path's bottleneck CQF queue for cycle
    offset 0 and 1; ``ru_free_share`` [N, 2]: free share of the 5G resource units in the cycle the
    5GS would send the frame with offset 0 and 1 (0 when the path has no 5G hop); ``sinr_db``: the
    latest channel report; ``deadline_cycles``: the latency bound in cycles; ``base_cycles``: the
    path's CQF bound (h+1); ``pending``: tasks still to schedule in this release cycle;
    ``utilisation``: orchestration's utilisation at the task's target domain (the feedback that
    weighs its on-time delivery; 0 when there is none).
    """
    n = len(src)
    out = np.zeros((n, obs_dim(n_domains)), dtype=np.float32)
    out[:, 0:2] = np.clip(queue_frames / QUEUE_FRAMES_SCALE, 0, 1)
    out[:, 2:4] = np.clip(ru_free_share, 0, 1)
    out[:, 4] = np.clip((sinr_db + 5.0) / 30.0, 0, 1)
    out[:, 5] = np.clip(deadline_cycles / 10.0, 0, 1)
    out[:, 6] = np.clip((deadline_cycles - base_cycles) / 4.0, 0, 1)
    out[:, 7] = np.clip(pending / 10.0, 0, 1)
    if utilisation is not None:
        out[:, 8] = np.clip(utilisation, 0, 1)
    ar = np.arange(n)
    out[ar, OBS_DIM_FIXED + src] = 1.0
    out[ar, OBS_DIM_FIXED + n_domains + dst] = 1.0
    return out


@dataclass
class StepInfo:
    """Per-task outcome of one step, arrays [n_envs]."""

    p_s: np.ndarray
    p_d: np.ndarray
    p_h: np.ndarray
    cost: np.ndarray
    cost_feedback: np.ndarray  # cost with the utilisation-weighted latency penalty
    deadline_weight: np.ndarray  # 1 + κ·u: the feedback's weight on on-time delivery
    delivered: np.ndarray
    lost: np.ndarray
    violated: np.ndarray
    latency_us: np.ndarray
    air_tx: np.ndarray
    has_5g: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return dict(self.__dict__)


class TransportSim:
    """``n_envs`` independent episodes of ``n_tasks`` tasks, all at the same task index."""

    def __init__(
        self,
        cfg: TransportConfig | None = None,
        n_envs: int = 1,
        n_tasks: int | None = None,
        model: TransportModel | None = None,
    ) -> None:
        self.cfg = cfg or TransportConfig()
        self.model = model or TransportModel(self.cfg)
        self.n_envs = int(n_envs)
        self.n_tasks = int(n_tasks or self.cfg.n_tasks)
        m = self.model
        self._levels = m.spectrum_levels.astype(np.float64)
        self._se = m.spectral_efficiency(np.arange(m.n_levels))
        self._attempts = m.attempts_per_cycle.astype(np.int64)
        self._ports = m.route["ports"]
        self._nb = m.route["n_bridges"]
        self._hop5 = m.route["fivegs_hop"]
        self._port_share = m.port_share
        self._H = self._ports.shape[1]
        self._idx = np.arange(self.n_envs)
        self.j = 0
        self.targets: np.ndarray | None = None
        self.utilisation: np.ndarray | None = None
        self.tasks: TaskBatch | None = None

    # ------------------------------------------------------------------ episodes
    def reset(
        self,
        seed: int | None = None,
        targets: np.ndarray | None = None,
        utilisation: np.ndarray | None = None,
    ) -> np.ndarray:
        """Draw new episodes (tasks, background traffic, channel); return the first observations.

        ``targets`` / ``utilisation``: orchestration's domain per task and the utilisation it
        reached there (see :func:`generate_tasks`); both stay in force for later resets.
        """
        rng = np.random.default_rng(seed)
        m, cfg = self.model, self.cfg
        if targets is not None:
            self.targets = np.asarray(targets, dtype=np.int64)
            self.utilisation = None if utilisation is None else np.asarray(utilisation, float)
        elif utilisation is not None:
            raise ValueError("utilisation feedback needs the targets it belongs to")
        self.tasks = generate_tasks(
            m, rng, self.n_envs, self.n_tasks, self.targets, self.utilisation
        )
        cfgc = cfg
        margin = 2 + self._H + cfgc.max_source_retries + cfgc.max_5g_deferrals + cfgc.max_harq_tx
        self.n_cycles = self.tasks.n_cycles + margin + 2
        C, N, P = self.n_cycles, self.n_envs, m.net.n_ports
        rho = cfg.background_corr_per_ms ** (m.T_us / 1000)
        bg = _ar1_clipped(
            rng,
            (N, P, C),
            cfg.tsn_background_mean,
            cfg.tsn_background_std,
            rho,
            cfg.tsn_background_max,
        )
        self.port_rem = (1.0 - bg).astype(np.float64)
        bg_ru = _ar1_clipped(
            rng, (N, C), cfg.ru_background_mean, cfg.ru_background_std, rho, cfg.ru_background_max
        )
        self.ru_rem = np.floor(m.ru_per_cycle * (1.0 - bg_ru))
        _, _, sinr = sample_channel(rng, N, C, m.T_us, cfg.scs_khz, cfg.channel)
        self.sinr = sinr
        self.hash_seed = rng.integers(0, 2**63, size=N, dtype=np.int64).astype(np.uint64)
        self.j = 0
        self.episode_cost = np.zeros(N)
        self.episode_cost_feedback = np.zeros(N)
        self.episode_reward = np.zeros(N)
        return self.observe()

    def snapshot(self) -> tuple:
        """Everything :meth:`step` changes (bookings, task index, episode totals), for
        :meth:`restore`: a planner can try an action and take it back."""
        return (
            self.port_rem.copy(),
            self.ru_rem.copy(),
            self.j,
            self.episode_cost.copy(),
            self.episode_cost_feedback.copy(),
            self.episode_reward.copy(),
        )

    def restore(self, snap: tuple) -> None:
        port_rem, ru_rem, self.j, cost, cost_fb, reward = snap
        self.port_rem[...], self.ru_rem[...] = port_rem, ru_rem
        self.episode_cost[:], self.episode_cost_feedback[:], self.episode_reward[:] = (
            cost,
            cost_fb,
            reward,
        )

    @property
    def done(self) -> bool:
        return self.j >= self.n_tasks

    def current(self) -> dict[str, np.ndarray]:
        """The current task of every episode: arrival cycle, src, dst, deadline, route id."""
        t, j = self.tasks, self.j
        assert t is not None
        src, dst = t.src[:, j], t.dst[:, j]
        return {
            "arrival": t.arrival[:, j],
            "src": src,
            "dst": dst,
            "deadline": t.deadline_cycles[:, j],
            "pending": t.pending[:, j],
            "util": t.util[:, j],
            "route": self.model.route_id(src, dst),
        }

    def queue_view(self) -> tuple[np.ndarray, np.ndarray]:
        """(frames that fit in the bottleneck CQF queue, free 5G share) for offsets 0 and 1."""
        cur = self.current()
        a, rid = cur["arrival"], cur["route"]
        nb, H, idx = self._nb[rid], self._H, self._idx
        ports = self._ports[rid]  # [N, H]
        valid = np.arange(H)[None, :] < nb[:, None]
        pc = np.where(valid, ports, 0)
        frames = np.zeros((self.n_envs, 2))
        ru = np.zeros((self.n_envs, 2))
        hop5 = self._hop5[rid]
        for q in (0, 1):
            cyc = a[:, None] + q + 1 + np.arange(H)[None, :]
            rem = self.port_rem[idx[:, None], pc, cyc] / self._port_share[pc]
            rem = np.where(valid, np.floor(rem + 1e-9), np.inf)
            fr = rem.min(axis=1)
            frames[:, q] = np.where(nb > 0, fr, QUEUE_FRAMES_SCALE)
            c5 = a + q + 1 + np.maximum(hop5, 0)
            ru[:, q] = np.where(hop5 >= 0, self.ru_rem[idx, c5] / self.model.ru_per_cycle, 0.0)
        return frames, ru

    def observe(self) -> np.ndarray:
        if self.done:
            raise RuntimeError("episode finished: call reset()")
        cur = self.current()
        frames, ru = self.queue_view()
        base = self.model.base_latency_cycles(cur["route"])
        return build_observation(
            frames,
            ru,
            self.sinr[self._idx, cur["arrival"]],
            cur["src"],
            cur["dst"],
            cur["deadline"],
            base,
            cur["pending"],
            self.cfg.n_domains,
            cur["util"],
        )

    # ------------------------------------------------------------------ dynamics
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, StepInfo]:
        """Schedule every episode's current task; return (reward, outcome) and advance."""
        if self.done:
            raise RuntimeError("episode finished: call reset()")
        m, cfg, idx = self.model, self.cfg, self._idx
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        if actions.shape != (self.n_envs,) or actions.min() < 0 or actions.max() >= m.n_actions:
            raise ValueError(f"need {self.n_envs} actions in 0..{m.n_actions - 1}")
        q, lev = m.decode(actions)
        cur = self.current()
        a, src, rid, j = cur["arrival"], cur["src"], cur["route"], self.j
        nb, hop5 = self._nb[rid], self._hop5[rid]
        ports = self._ports[rid]
        b = self._levels[lev]
        se = self._se[lev]
        att = self._attempts[lev]
        b_share = b * m.ru_share
        talker = m.talker_share[src]
        N = self.n_envs

        p_s = np.where(nb > 0, talker, 0.0)
        p_h = np.zeros(N)
        delivered = nb == 0
        lost = np.zeros(N, dtype=bool)
        final = a.copy()
        air_tx = np.zeros(N, dtype=np.int64)
        start = a + q
        active = nb > 0
        for t in range(1 + cfg.max_source_retries):
            if not active.any():
                break
            if t > 0:
                p_h += np.where(active, talker, 0.0)
            cyc = start.copy()
            ok = active.copy()
            dropped = np.zeros(N, dtype=bool)
            for h in range(self._H):
                on = ok & (h < nb)
                if not on.any():
                    break
                cyc = cyc + on
                port = np.where(on, ports[:, h], 0)
                is5 = on & (hop5 == h)
                if is5.any():
                    for _ in range(cfg.max_5g_deferrals):
                        short = is5 & (self.ru_rem[idx, cyc] < b)
                        if not short.any():
                            break
                        cyc = cyc + short
                    short = is5 & (self.ru_rem[idx, cyc] < b)
                    lost |= short
                    ok &= ~short
                    is5 &= ~short
                    success = np.zeros(N, dtype=bool)
                    k_succ = np.zeros(N, dtype=np.int64)
                    for n in range(cfg.max_harq_tx):
                        tx = is5 & ~success
                        if not tx.any():
                            break
                        cn = cyc + n // att
                        self.ru_rem[idx[tx], cn[tx]] -= b[tx]
                        if t == 0 and n == 0:
                            p_s += np.where(tx, b_share, 0.0)
                        else:
                            p_h += np.where(tx, b_share, 0.0)
                        air_tx += tx
                        s = self.sinr[idx, cn] + 10 * np.log10(n + 1)
                        pf = bler(s, se, cfg.channel)
                        u = hashed_uniform(self.hash_seed, (j * 8 + t) * 8 + n)
                        now = tx & (u >= pf)
                        success |= now
                        k_succ = np.where(now, n, k_succ)
                    failed = is5 & ~success
                    lost |= failed
                    ok &= ~failed
                    cyc = np.where(is5 & success, cyc + k_succ // att, cyc)
                live = on & ok
                share = self._port_share[port]
                room = self.port_rem[idx, port, cyc] >= share - 1e-9
                put = live & room
                self.port_rem[idx[put], port[put], cyc[put]] -= share[put]
                if t == 0:
                    p_s += np.where(put, share, 0.0)
                else:
                    p_h += np.where(put, share, 0.0)
                drop = live & ~room
                ok &= ~drop
                dropped |= drop
            arrived = ok & active
            delivered |= arrived
            final = np.where(arrived, cyc, final)
            active = active & dropped
            start = start + 1
        lost |= active
        latency = np.where(nb > 0, final - a + 1, 0)
        violated = ~delivered | (latency > cur["deadline"])
        p_d = violated.astype(np.float64)
        w = cfg.weights
        cost = task_cost(p_s, p_d, p_h, w)
        fb = 1.0 + cfg.feedback_weight * cur["util"]
        cost_fb = task_cost(p_s, p_d, p_h, w, fb)
        rew = reward_fn(p_s, p_d, p_h, m.data_bits, w, cfg.reward_mode, fb)  # type: ignore[arg-type]
        self.episode_cost += cost
        self.episode_cost_feedback += cost_fb
        self.episode_reward += rew
        self.j += 1
        info = StepInfo(
            p_s=p_s,
            p_d=p_d,
            p_h=p_h,
            cost=cost,
            cost_feedback=cost_fb,
            deadline_weight=fb,
            delivered=delivered,
            lost=lost,
            violated=violated,
            latency_us=np.where(delivered, latency * m.T_us, np.nan),
            air_tx=air_tx,
            has_5g=hop5 >= 0,
        )
        return rew, info
