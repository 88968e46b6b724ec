"""Vectorised numpy core of the cross-domain orchestration environment.

``N`` independent episodes step together (episodes have a fixed length of ``n_tasks`` decisions,
so they stay in lock-step). One step is one task: every domain service controller (agent) sees
the task and its own domain, and answers (bid, compute grant, storage grant, bandwidth grant):

* ``bid`` in [0, 1]: 0 declines (the paper's ``a_{m,i} = 0``), a positive bid claims the task
  with that keenness. Among the domains whose claim fits (the granted amounts fit the capacity
  left to task flows, i.e. capacity minus the statistical reserve for unexpected tasks minus
  what is in use), the highest bid wins (the CSC's award); exact ties go to a uniformly random
  one. No fitting claim: the task is rejected.
* grants are fractions (``grant_levels``) of the requested compute, storage and bandwidth. The
  task progresses at the pace of its scarcest grant (Leontief): it holds its grants for
  ``actual / min(fractions)`` slots and meets its deadline iff that is within its tolerance.

Unexpected tasks arrive per domain and slot (Poisson); they use the domain's reserve first, then
free flow capacity, else they are dropped (counted). Utilisation of a domain is (flows +
unexpected) / capacity per resource. Reward (team, per step): ``sum_m r_m`` with
``r_m = -| ||u_target|| - ||u_m|| |`` (``reward="deviation"``), where ``u_target`` is the
utilisation every domain would have if all offered tasks were accepted at their full request and
spread perfectly; ``reward="literal"`` uses the paper's ``||u_target|| - ||u_m||`` as printed.
Each task that does not finish within its tolerance (rejected, or accepted and late) costs
``deadline_penalty`` (lateness as its probability given the declared duration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from agents.detcom.orchestration.config import OrchestrationConfig
from agents.detcom.orchestration.tasks import TRAIN_STREAM, TaskStream, episode_seeds, generate

HOLD_HORIZONS = (2, 8)


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (
        1.0 + erf(x / np.sqrt(2.0))
    )  # slots ahead for the "still held after h slots" features


@dataclass(frozen=True)
class ObsLayout:
    """Column slices of an agent observation (all features scaled to about [0, 1])."""

    n_domains: int
    balance: bool = False  # OrchestrationConfig.balance_features: 3 more columns at the end

    util = slice(0, 3)  # own utilisation per resource (flows + unexpected)
    free = slice(3, 6)  # own capacity left to flows / capacity
    held = slice(6, 12)  # own flow usage still held after 2 and 8 slots / capacity
    mean_util = slice(12, 15)  # aggregated DSC information: mean utilisation of all domains
    min_util = slice(15, 18)  # ... and the lowest
    target = slice(18, 21)  # target utilisation u_target
    request = slice(21, 24)  # the task's request / own capacity
    duration = 24  # declared duration / max_duration
    slack = 25  # tolerance / duration / 3
    stage = slice(26, 29)  # one-hot stage
    fits_full = 29  # full request fits own domain
    fits_half = 30  # half request fits own domain
    position = 31  # position in the window / window

    @property
    def agent_id(self) -> slice:
        return slice(32, 32 + self.n_domains)

    @property
    def balance_cols(self) -> slice:
        """Variance across domains now (x100), if this domain takes the full request (x100),
        and the change (x1000); empty unless ``balance``."""
        start = 32 + self.n_domains
        return slice(start, start + (3 if self.balance else 0))

    @property
    def dim(self) -> int:
        return self.balance_cols.stop


def variance_after(util: np.ndarray, request: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """[N, M] utilisation variance across domains (mean over resources) if domain m took the
    full ``request`` [N, 3]; ``util`` [N, M, 3], ``cap`` [M, 3]."""
    n, m = util.shape[:2]
    delta = request[:, None, :] / cap[None]  # [N, M, 3]
    mean = util.mean(axis=1, keepdims=True)
    var = util.var(axis=1, keepdims=True)
    # adding d to element m of M values: var' = var + 2 d (u_m - mean) / M + d^2 (M - 1) / M^2
    after = var + 2.0 * delta * (util - mean) / m + delta**2 * (m - 1) / m**2
    return after.mean(axis=-1)


def state_dim(n_domains: int) -> int:
    """Global state for centralised critics: per-domain block of 16, then 9 task/global values."""
    return 16 * n_domains + 9


def build_observations(
    cfg: OrchestrationConfig,
    cap: np.ndarray,
    util: np.ndarray,
    free: np.ndarray,
    held: np.ndarray,
    target: np.ndarray,
    request: np.ndarray,
    duration: np.ndarray,
    tolerance: np.ndarray,
    stage: np.ndarray,
    position: int | np.ndarray,
) -> np.ndarray:
    """Agent observations [N, M, obs_dim] from resource arrays (shared with the policy API).

    ``util``/``free`` [N, M, 3], ``held`` [N, len(HOLD_HORIZONS), M, 3] (absolute amounts),
    ``target`` [N, 3], ``request`` [N, 3], ``duration``/``tolerance``/``stage`` [N].
    """
    n, m = util.shape[:2]
    lay = ObsLayout(m, cfg.balance_features)
    obs = np.empty((n, m, lay.dim), dtype=np.float32)
    obs[..., lay.util] = util
    obs[..., lay.free] = free / cap
    obs[..., lay.held] = (held / cap).transpose(0, 2, 1, 3).reshape(n, m, -1)
    obs[..., lay.mean_util] = util.mean(axis=1, keepdims=True)
    obs[..., lay.min_util] = util.min(axis=1, keepdims=True)
    obs[..., lay.target] = target[:, None, :]
    obs[..., lay.request] = request[:, None, :] / cap
    obs[..., lay.duration] = (duration / cfg.max_duration)[:, None]
    obs[..., lay.slack] = (tolerance / duration / 3.0)[:, None]
    obs[..., lay.stage] = np.eye(3, dtype=np.float32)[np.asarray(stage, dtype=np.int64)][:, None, :]
    obs[..., lay.fits_full] = (request[:, None, :] <= free + 1e-9).all(axis=-1)
    obs[..., lay.fits_half] = (0.5 * request[:, None, :] <= free + 1e-9).all(axis=-1)
    pos = np.broadcast_to(np.asarray(position, dtype=np.float64) / cfg.window, (n,))
    obs[..., lay.position] = pos[:, None]
    obs[..., lay.agent_id] = np.eye(m, dtype=np.float32)
    if lay.balance:
        now = util.var(axis=1).mean(axis=-1)[:, None]  # [N, 1]
        after = variance_after(util, request, cap)
        cols = lay.balance_cols.start
        obs[..., cols] = 100.0 * now
        obs[..., cols + 1] = 100.0 * after
        obs[..., cols + 2] = 1000.0 * (after - now)
    return obs


class VecOrchestrationEnv:
    """``N`` lock-step orchestration episodes; auto-resets with fresh task streams."""

    def __init__(
        self,
        cfg: OrchestrationConfig,
        n_envs: int,
        seed: int = 0,
        episode_offset: int = 0,
        streams: TaskStream | None = None,
        record_trace: bool = False,
        stream: int = TRAIN_STREAM,
        auto_reset: bool = True,
    ) -> None:
        self.cfg = cfg
        self.n = int(n_envs)
        self.m = cfg.n_domains
        self.seed = int(seed)
        self.layout = ObsLayout(self.m, cfg.balance_features)
        self.obs_dim = self.layout.dim
        self.state_dim = state_dim(self.m)
        self.grant_nvec = np.full(3, cfg.n_grant, dtype=np.int64)
        self.cap = cfg.capacity()  # [M, 3]
        self.reserve = cfg.reserve()  # [M, 3]
        self.flow_cap = self.cap - self.reserve
        self.total_cap = self.cap.sum(axis=0)  # [3]
        self.grant = np.asarray(cfg.grant_levels, dtype=np.float64)
        self.h = cfg.ring_length()
        self.record_trace = record_trace
        self._ar = np.arange(self.n)
        self._episode = episode_offset
        self._stream = stream
        self.auto_reset = auto_reset
        self._terms = np.zeros((self.n, self.m))
        self._fixed_streams = streams
        self._noise_rng = np.random.default_rng([self.seed, 0x5EED])
        self.episode_metrics: dict[str, np.ndarray] | None = None
        self.episode_assignments: dict[str, np.ndarray] | None = None
        self.episode_trace: np.ndarray | None = None
        self.reset()

    @staticmethod
    def dims(cfg: OrchestrationConfig) -> dict[str, object]:
        """Observation/state sizes and the grant ``nvec`` (per agent) for a configuration."""
        return {
            "obs": ObsLayout(cfg.n_domains, cfg.balance_features).dim,
            "state": state_dim(cfg.n_domains),
            "nvec": [cfg.n_grant] * 3,
        }

    @property
    def episode_index(self) -> int:
        """How many episode batches this environment has started (for resuming streams)."""
        return self._episode

    # ---- episode management -------------------------------------------------------------
    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        cfg, n, m, h = self.cfg, self.n, self.m, self.h
        if self._fixed_streams is not None:
            if self._fixed_streams.n != n:
                raise ValueError("fixed streams must have one episode per environment")
            self.tasks = self._fixed_streams
        else:
            seeds = episode_seeds(self.seed, n, start=self._episode * n, stream=self._stream)
            self.tasks = generate(cfg, seeds)
        self._episode += 1
        self.t = 0
        self.slot = 0
        self.flow_used = np.zeros((n, m, 3))
        self.unexp_used = np.zeros((n, m, 3))
        self.offered = np.zeros((n, 3))
        self.flow_ring = np.zeros((n, h, m, 3))
        self.unexp_ring = np.zeros((n, h, m, 3))
        self.off_ring = np.zeros((n, h, 3))
        self.held = np.zeros((n, len(HOLD_HORIZONS), m, 3))
        self._unexp_arrived = np.zeros(n)
        self._unexp_dropped = np.zeros(n)
        self._admit_unexpected()
        self._acc = {
            k: np.zeros(n)
            for k in (
                "var_sum",
                "var_compute_sum",
                "util_sum",
                "slots",
                "accepted",
                "met",
                "grant_sum",
                "reward",
            )
        }
        t_ = cfg.n_tasks
        self._winner = np.full((n, t_), -1, dtype=np.int16)
        self._grants = np.zeros((n, t_, 3), dtype=np.float32)
        self._met = np.zeros((n, t_), dtype=bool)
        self._placed_util = np.zeros((n, t_), dtype=np.float32)
        self._trace = [] if self.record_trace else None
        return self.observe(), self.state()

    # ---- resources ----------------------------------------------------------------------
    def free(self) -> np.ndarray:
        """[N, M, 3] capacity left to task flows."""
        overflow = np.maximum(self.unexp_used - self.reserve, 0.0)
        return self.flow_cap - self.flow_used - overflow

    def utilisation(self) -> np.ndarray:
        """[N, M, 3] (flows + unexpected) / capacity."""
        return (self.flow_used + self.unexp_used) / self.cap

    def target(self) -> np.ndarray:
        """[N, 3] utilisation if every offered task were accepted in full and spread evenly."""
        return (self.offered + self.unexp_used.sum(axis=1)) / self.total_cap

    def _admit_unexpected(self) -> None:
        """Unexpected arrivals of the current slot: reserve first, then free flow capacity."""
        cfg = self.cfg
        if self.slot >= cfg.n_slots:
            return
        arrivals = self.tasks.unexpected[:, self.slot].astype(np.float64)  # [N, M]
        size = np.array([cfg.unexpected_cores, cfg.unexpected_storage])
        room = self.cap[None, :, :2] - self.flow_used[..., :2] - self.unexp_used[..., :2]
        fit = np.floor(np.maximum(room, 0.0) / size + 1e-9).min(axis=-1)
        admitted = np.minimum(arrivals, fit)
        self._unexp_arrived += arrivals.sum(axis=1)
        self._unexp_dropped += (arrivals - admitted).sum(axis=1)
        add = admitted[..., None] * size  # [N, M, 2]
        self.unexp_used[..., :2] += add
        pos = (self.slot + cfg.unexpected_duration) % self.h
        self.unexp_ring[:, pos, :, :2] += add

    def _advance_slot(self) -> None:
        self.slot += 1
        pos = self.slot % self.h
        self.flow_used -= self.flow_ring[:, pos]
        self.unexp_used -= self.unexp_ring[:, pos]
        self.offered -= self.off_ring[:, pos]
        self.flow_ring[:, pos] = 0.0
        self.unexp_ring[:, pos] = 0.0
        self.off_ring[:, pos] = 0.0
        np.maximum(self.flow_used, 0.0, out=self.flow_used)
        np.maximum(self.unexp_used, 0.0, out=self.unexp_used)
        np.maximum(self.offered, 0.0, out=self.offered)
        idx = (self.slot + 1 + np.arange(max(HOLD_HORIZONS))) % self.h
        releases = np.cumsum(self.flow_ring[:, idx], axis=1)  # [N, Hmax, M, 3]
        for j, hz in enumerate(HOLD_HORIZONS):
            self.held[:, j] = self.flow_used - releases[:, hz - 1]
        self._admit_unexpected()

    # ---- observation --------------------------------------------------------------------
    def observe(self, cfg: OrchestrationConfig | None = None) -> np.ndarray:
        """[N, M, obs_dim] float32 observation of each agent for the current task (with the
        feature set of ``cfg``, default this environment's: an actor trained with other
        observation extras acts on the same state)."""
        i = min(self.t, self.cfg.n_tasks - 1)
        return build_observations(
            cfg or self.cfg,
            self.cap,
            util=self.utilisation(),
            free=self.free(),
            held=self.held,
            target=self.target(),
            request=self.tasks.request[:, i].astype(np.float64),
            duration=self.tasks.duration[:, i],
            tolerance=self.tasks.tolerance[:, i],
            stage=self.tasks.stage[:, i],
            position=i % self.cfg.window,
        )

    def state(self) -> np.ndarray:
        """[N, state_dim] float32 global state for centralised critics."""
        cfg, n = self.cfg, self.n
        i = min(self.t, cfg.n_tasks - 1)
        u = self.utilisation()
        free = self.free()
        req = self.tasks.request[:, i].astype(np.float64)
        held = (self.held / self.cap).transpose(0, 2, 1, 3).reshape(n, self.m, -1)
        fits = (req[:, None, :] <= free + 1e-9).all(axis=-1, keepdims=True)
        per_domain = np.concatenate([u, free / self.cap, held, req[:, None] / self.cap, fits], -1)
        dur = self.tasks.duration[:, i]
        glob = np.concatenate(
            [
                self.target(),
                (dur / cfg.max_duration)[:, None],
                (self.tasks.tolerance[:, i] / dur / 3.0)[:, None],
                np.eye(3)[self.tasks.stage[:, i]],
                np.full((n, 1), (i % cfg.window) / cfg.window),
            ],
            axis=-1,
        )
        return np.concatenate([per_domain.reshape(n, -1), glob], axis=-1).astype(np.float32)

    # ---- step ---------------------------------------------------------------------------
    def step(
        self, bids: np.ndarray, grants: np.ndarray, with_state: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, bool, dict[str, np.ndarray]]:
        """Apply ``bids`` [N, M] in [0, 1] and ``grants`` [N, M, 3] (indices into
        ``grant_levels``); return (obs, state, reward [N], done, info).

        ``info``: ``winner`` [N] (-1 rejected), ``fits`` [N, M] (each claim's grants fit). The
        state is ``None`` when ``with_state`` is false (callers without a critic). When
        ``done`` the returned obs/state already belong to the next episode (auto-reset); the
        finished episode's metrics are in ``info["episode"]`` and ``self.episode_metrics``.
        """
        cfg, ar = self.cfg, self._ar
        bids = np.asarray(bids, dtype=np.float64)
        grants = np.asarray(grants)
        if bids.shape != (self.n, self.m) or grants.shape != (self.n, self.m, 3):
            raise ValueError(
                f"bids must be {(self.n, self.m)} and grants {(self.n, self.m, 3)}, "
                f"got {bids.shape} and {grants.shape}"
            )
        if not np.isfinite(bids).all() or (bids < 0).any() or (bids > 1).any():
            raise ValueError("bids must be finite and in [0, 1]")
        if (
            not np.issubdtype(grants.dtype, np.integer)
            or (grants < 0).any()
            or (grants >= cfg.n_grant).any()
        ):
            raise ValueError(f"grants must be integer indices in [0, {cfg.n_grant})")
        i = self.t
        req = self.tasks.request[:, i].astype(np.float64)
        actual = self.tasks.actual[:, i].astype(np.float64)
        tol = self.tasks.tolerance[:, i].astype(np.float64)
        dur_decl = self.tasks.duration[:, i].astype(np.float64)
        phi = self.grant[grants]  # [N, M, 3]
        amt = phi * req[:, None, :]
        fits = (amt <= self.free() + 1e-9).all(axis=-1)
        valid = (bids > 0) & fits
        tie_break = self._noise_rng.random((self.n, self.m))
        top = np.where(valid, bids, -1.0).max(axis=1, keepdims=True)
        winner = np.where(valid & (bids == top), tie_break, -1.0).argmax(axis=1)
        accepted = valid[ar, winner]
        phi_w = phi[ar, winner]
        eff = phi_w.min(axis=-1)
        execution = actual / eff
        slots = np.clip(np.ceil(execution), 1, self.h - 2).astype(np.int64)
        met = execution <= tol
        amt_w = amt[ar, winner] * accepted[:, None]
        self.flow_used[ar, winner] += amt_w
        self.flow_ring[ar, (self.slot + slots) % self.h, winner] += amt_w
        for j, hz in enumerate(HOLD_HORIZONS):
            self.held[ar, j, winner] += amt_w * (slots > hz)[:, None]
        off_slots = np.clip(np.ceil(actual), 1, self.h - 2).astype(np.int64)
        self.offered += req
        self.off_ring[ar, (self.slot + off_slots) % self.h] += req
        self._winner[:, i] = np.where(accepted, winner, -1)
        self._grants[:, i] = phi_w * accepted[:, None]
        self._met[:, i] = met & accepted

        u = self.utilisation()
        self._placed_util[:, i] = np.where(accepted, u[ar, winner].mean(axis=-1), 0.0)
        norm_u = np.linalg.norm(u, axis=-1)  # [N, M]
        norm_t = np.linalg.norm(self.target(), axis=-1)[:, None]
        if cfg.reward == "deviation":
            self._terms = -np.abs(norm_t - norm_u)
        elif cfg.reward == "variance":
            dev = u - u.mean(axis=1, keepdims=True)
            self._terms = -cfg.variance_scale * (dev**2).mean(axis=-1)
        else:
            self._terms = norm_t - norm_u
        # Service penalty: a task that does not finish within its tolerance (rejected, or
        # accepted and late) costs ``deadline_penalty``. Lateness enters as its probability
        # given what the agents know (declared duration, log-normal execution noise): the same
        # expectation as the realised miss with less variance; metrics count realised misses.
        p_miss = 1.0 - _norm_cdf(np.log(tol * eff / dur_decl) / max(cfg.duration_noise, 1e-6))
        late = np.where(accepted, p_miss, 1.0)
        reward = self._terms.sum(axis=1) - cfg.deadline_penalty * late
        acc = self._acc
        acc["accepted"] += accepted
        acc["met"] += accepted & met
        acc["grant_sum"] += np.where(accepted, eff, 0.0)
        acc["reward"] += reward

        if i % cfg.window == cfg.window - 1:
            if self.slot >= int(cfg.warmup_fraction * cfg.n_slots):
                var = u.var(axis=1)  # [N, 3]
                acc["var_sum"] += var.mean(axis=-1)
                acc["var_compute_sum"] += var[:, 0]
                acc["util_sum"] += u.mean(axis=(1, 2))
                acc["slots"] += 1
            if self._trace is not None:
                self._trace.append(u.astype(np.float32))
            self._advance_slot()
        self.t += 1
        done = self.t >= cfg.n_tasks
        info: dict[str, np.ndarray] = {"winner": np.where(accepted, winner, -1), "fits": fits}
        if done:
            self._finish_episode()
            info["episode"] = self.episode_metrics  # type: ignore[assignment]
            obs, state = self.reset() if self.auto_reset else (self.observe(), self.state())
        else:
            obs, state = self.observe(), (self.state() if with_state else None)
        return obs, state, reward.astype(np.float32), done, info

    def reward_terms(self) -> np.ndarray:
        """[N, M] each domain's utilisation term r_m of the last step's reward."""
        return self._terms

    def _finish_episode(self) -> None:
        acc, n_t = self._acc, self.cfg.n_tasks
        slots = np.maximum(acc["slots"], 1)
        accepted = np.maximum(acc["accepted"], 1)
        self.episode_metrics = {
            "util_var": acc["var_sum"] / slots,
            "util_var_compute": acc["var_compute_sum"] / slots,
            "mean_util": acc["util_sum"] / slots,
            "acceptance": acc["accepted"] / n_t,
            "deadline_success": acc["met"] / accepted,
            "mean_grant": acc["grant_sum"] / accepted,
            "unexpected_drop": self._unexp_dropped / np.maximum(self._unexp_arrived, 1),
            "return": acc["reward"].copy(),
        }
        self.episode_assignments = {
            "winner": self._winner,
            "grant": self._grants,
            "met": self._met,
            "placed_util": self._placed_util,
            "request": self.tasks.request,
            "tolerance": self.tasks.tolerance,
            "stage": self.tasks.stage,
        }
        if self._trace is not None:
            self.episode_trace = np.stack(self._trace, axis=1)  # [N, K, M, 3]
