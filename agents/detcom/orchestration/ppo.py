"""MAPPO (shared actor, centralised critic) and independent PPO on the orchestration environment.

Every domain agent bids ``x_m = score_m + Gumbel`` and proposes grants; the highest fitting bid
wins (see :class:`~agents.detcom.orchestration.networks.BidActor`).

MAPPO: one actor whose parameters all domain agents share (the agent id is in the observation),
one centralised critic on the global state, the team reward, GAE, PPO clipping and value
normalisation. Because the agents' Gumbel-perturbed bids are independent, the probability of the
joint award is known in closed form — the softmax of the scores over the fitting domains — and
the PPO ratio is taken on it and on the winner's grants (the losers' grants had no effect on the
task). IPPO: each agent has its own actor and its own critic on its local observation and treats
the others as part of the environment: its ratio is on its own action (the Gumbel density of its
bid and its grants), with the same team reward, budget and hyper-parameters.

Training is resumable: ``checkpoint_dir/NAME.state.pt`` holds networks, optimiser, counters,
RNG states and the learning curve (``weights_only`` loadable); ``NAME.safetensors``/``.json`` is
the actor as a policy checkpoint.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.common.checkpoint import (
    default_provenance,
    load_training_state,
    save_checkpoint,
    save_training_state,
)
from agents.detcom.orchestration.config import OrchestrationConfig
from agents.detcom.orchestration.networks import BidActor, Critic, ValueNorm, bids_from_scores
from agents.detcom.orchestration.vecenv import VecOrchestrationEnv

ALGOS = ("mappo", "ippo")


@dataclass(frozen=True)
class PPOConfig:
    algo: str = "mappo"
    n_envs: int = 32
    rollout: int = 128
    total_steps: int = 3_000_000  # environment steps (tasks decided), all envs together
    lr: float = 5e-4
    critic_lr: float = 5e-4
    gamma: float = 0.95
    gae_lambda: float = 0.9
    clip: float = 0.2
    epochs: int = 4
    minibatches: int = 4
    entropy: float = 0.01
    value_coef: float = 1.0
    max_grad_norm: float = 1.0
    critic_max_grad_norm: float = 10.0
    hidden: int = 128
    value_norm: bool = True
    anneal_lr: bool = True

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PPOConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def build_actor(env_cfg: OrchestrationConfig, algo: str, hidden: int) -> BidActor:
    env_dims = VecOrchestrationEnv.dims(env_cfg)
    n_agents = 1 if algo == "mappo" else env_cfg.n_domains
    return BidActor(env_dims["obs"], env_cfg.n_grant, hidden, n_agents=n_agents)


def joint_log_prob(
    actor: BidActor,
    obs: torch.Tensor,
    grants: torch.Tensor,
    fits: torch.Tensor,
    winner: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MAPPO: log-probability of the award and the winner's grants [B]; entropy [B]."""
    score, grant_logits = actor(obs)
    has = fits.any(dim=1)
    masked = score.masked_fill(~fits, -1e9)
    logp_choice = torch.log_softmax(masked, dim=1)
    w = winner.clamp(min=0)
    rows = torch.arange(obs.shape[0])
    glogp = torch.log_softmax(grant_logits, dim=-1)  # [B, M, 3, L]
    g_w = glogp[rows, w]  # [B, 3, L]
    grant_lp = g_w.gather(-1, grants[rows, w].unsqueeze(-1)).squeeze(-1).sum(-1)
    logp = torch.where(has, logp_choice[rows, w] + grant_lp, torch.zeros_like(grant_lp))
    p_choice = logp_choice.exp() * fits
    choice_entropy = -(p_choice * logp_choice.masked_fill(~fits, 0.0)).sum(dim=1)
    grant_entropy = -(glogp.exp() * glogp).sum(-1).sum(-1).mean(dim=1)
    return logp, choice_entropy + grant_entropy


def agent_log_prob(
    actor: BidActor, obs: torch.Tensor, x: torch.Tensor, grants: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """IPPO: each agent's log-probability of its own bid (Gumbel density) and grants [B, M]."""
    score, grant_logits = actor(obs)
    z = x - score
    bid_lp = -z - torch.exp(-z)
    glogp = torch.log_softmax(grant_logits, dim=-1)
    grant_lp = glogp.gather(-1, grants.unsqueeze(-1)).squeeze(-1).sum(-1)
    grant_entropy = -(glogp.exp() * glogp).sum(-1).sum(-1)
    return bid_lp + grant_lp, grant_entropy


def build_critic(env_cfg: OrchestrationConfig, algo: str, hidden: int) -> Critic:
    env_dims = VecOrchestrationEnv.dims(env_cfg)
    if algo == "mappo":
        return Critic(env_dims["state"], hidden)
    return Critic(env_dims["obs"], hidden, n_agents=env_cfg.n_domains)


class PPOTrainer:
    """Train MAPPO or IPPO; ``train()`` returns the learning curve (one row per iteration)."""

    def __init__(
        self,
        env_cfg: OrchestrationConfig,
        ppo_cfg: PPOConfig,
        seed: int = 0,
        checkpoint_dir: Path | None = None,
        name: str | None = None,
    ) -> None:
        self.env_cfg = env_cfg
        self.cfg = ppo_cfg
        self.seed = int(seed)
        self.name = name or ppo_cfg.algo
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        torch.manual_seed(self.seed)
        self.actor = build_actor(env_cfg, ppo_cfg.algo, ppo_cfg.hidden)
        self.critic = build_critic(env_cfg, ppo_cfg.algo, ppo_cfg.hidden)
        self.value_norm = ValueNorm()
        # Separate optimisers and gradient clipping: the critic's (large) gradients must not
        # shrink the actor's step through a joint clip.
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=ppo_cfg.lr, eps=1e-5)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=ppo_cfg.critic_lr, eps=1e-5)
        self.env_steps = 0
        self.iteration = 0
        self.episodes_started = 0
        self.history: list[dict[str, float]] = []
        self.elapsed = 0.0
        self.cpu_seconds = 0.0

    # ---- persistence --------------------------------------------------------------------
    @property
    def state_path(self) -> Path | None:
        return self.checkpoint_dir / f"{self.name}.state.pt" if self.checkpoint_dir else None

    def save(self) -> None:
        if self.checkpoint_dir is None:
            return
        state = {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "value_norm": self.value_norm.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "env_steps": self.env_steps,
            "iteration": self.iteration,
            "episodes_started": self.episodes_started,
            "elapsed": self.elapsed,
            "cpu_seconds": self.cpu_seconds,
            "seed": self.seed,
            "ppo": self.cfg.to_dict(),
            "env": _jsonable(self.env_cfg.to_dict()),
            "history": {k: [row.get(k, math.nan) for row in self.history] for k in _keys(self)},
            "torch_rng": torch.get_rng_state(),
        }
        save_training_state(self.state_path, state)
        self.save_policy(self.checkpoint_dir / self.name)

    def try_resume(self) -> bool:
        path = self.state_path
        if path is None or not path.exists():
            return False
        state = load_training_state(path)
        if state["ppo"]["algo"] != self.cfg.algo or state["env"] != _jsonable(
            self.env_cfg.to_dict()
        ):
            raise ValueError(f"{path}: saved for another configuration; use a fresh directory")
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.value_norm.load_state_dict(state["value_norm"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.env_steps = int(state["env_steps"])
        self.iteration = int(state["iteration"])
        self.episodes_started = int(state["episodes_started"])
        self.elapsed = float(state["elapsed"])
        self.cpu_seconds = float(state.get("cpu_seconds", 0.0))
        hist = state["history"]
        n = len(next(iter(hist.values()), []))
        self.history = [{k: float(v[i]) for k, v in hist.items()} for i in range(n)]
        torch.set_rng_state(state["torch_rng"])
        return True

    def save_policy(self, stem: Path, extra: dict[str, Any] | None = None) -> Path:
        config = {
            "kind": "detcom-orchestration-actor",
            "algo": self.cfg.algo,
            "hidden": self.cfg.hidden,
            "env": _jsonable(self.env_cfg.to_dict()),
            "ppo": self.cfg.to_dict(),
            "env_steps": self.env_steps,
            "train_seconds": round(self.elapsed, 1),
            "train_cpu_seconds": round(self.cpu_seconds, 1),
        }
        prov = default_provenance(seed=self.seed, **(extra or {}))
        return save_checkpoint(stem, self.actor.state_dict(), config, prov)

    # ---- training -----------------------------------------------------------------------
    def train(
        self,
        total_steps: int | None = None,
        progress: bool = True,
        checkpoint_every: int = 20,
        time_limit_s: float | None = None,
    ) -> list[dict[str, float]]:
        cfg = self.cfg
        total = int(total_steps or cfg.total_steps)
        per_iter = cfg.n_envs * cfg.rollout
        env = VecOrchestrationEnv(
            self.env_cfg, cfg.n_envs, seed=self.seed, episode_offset=self.episodes_started
        )
        obs, state = env.observe(), env.state()
        bar = tqdm(
            total=total,
            initial=min(self.env_steps, total),
            disable=not progress,
            desc=f"train {self.name}",
            unit="step",
            unit_scale=True,
        )
        start = time.monotonic() - self.elapsed
        cpu_start = time.process_time() - self.cpu_seconds
        pending: list[dict[str, np.ndarray]] = []
        last_var = math.nan
        while self.env_steps < total:
            if time_limit_s is not None and time.monotonic() - start >= time_limit_s:
                break
            if cfg.anneal_lr:  # linear decay over the step budget or the time limit
                progress = self.env_steps / total
                if time_limit_s:
                    progress = max(progress, (time.monotonic() - start) / time_limit_s)
                frac = 1.0 - progress
                for opt, lr in ((self.actor_opt, cfg.lr), (self.critic_opt, cfg.critic_lr)):
                    for g in opt.param_groups:
                        g["lr"] = lr * max(frac, 0.05)
            batch, obs, state, finished = self._rollout(env, obs, state)
            self.episodes_started = env.episode_index
            pending.extend(finished)
            stats = self._update(batch)
            self.env_steps += per_iter
            self.iteration += 1
            self.elapsed = time.monotonic() - start
            self.cpu_seconds = time.process_time() - cpu_start
            row = {
                "iteration": self.iteration,
                "env_steps": self.env_steps,
                "cpu_seconds": self.cpu_seconds,
                "seconds": self.elapsed,
            }
            row.update(stats)
            row["reward_per_step"] = float(batch["rewards"].mean())
            if pending:
                for key in ("util_var", "acceptance", "deadline_success", "return", "mean_grant"):
                    row[key] = float(np.mean([p[key].mean() for p in pending]))
                pending = []
            self.history.append(row)
            bar.update(per_iter)
            if "util_var" in row:
                last_var = row["util_var"]
            bar.set_postfix(r=f"{row['reward_per_step']:.3f}", var=f"{last_var:.4f}")
            if self.iteration % checkpoint_every == 0:
                self.save()
        bar.close()
        self.save()
        return self.history

    def _values(self, obs: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        out = self.critic(state) if self.cfg.algo == "mappo" else self.critic(obs)
        return self.value_norm.denormalize(out) if self.cfg.value_norm else out

    @torch.no_grad()
    def _rollout(self, env, obs, state):
        cfg, t_len, n, m = self.cfg, self.cfg.rollout, env.n, env.m
        mappo = cfg.algo == "mappo"
        b_obs = np.empty((t_len, n, m, env.obs_dim), dtype=np.float32)
        b_state = np.empty((t_len, n, env.state_dim), dtype=np.float32)
        b_x = np.empty((t_len, n, m), dtype=np.float32)
        b_grants = np.empty((t_len, n, m, 3), dtype=np.int64)
        b_fits = np.empty((t_len, n, m), dtype=bool)
        b_winner = np.empty((t_len, n), dtype=np.int64)
        v_shape = (t_len + 1, n) if mappo else (t_len + 1, n, m)
        b_val = np.empty(v_shape, dtype=np.float32)
        b_rew = np.empty((t_len, n), dtype=np.float32)
        b_done = np.zeros((t_len, n), dtype=np.float32)
        finished = []
        for t in range(t_len):
            o, s = torch.from_numpy(obs), torch.from_numpy(state)
            x, grants = self.actor.act(o)
            b_val[t] = self._values(o, s).numpy()
            b_obs[t], b_state[t] = obs, state
            b_x[t], b_grants[t] = x.numpy(), grants.numpy()
            obs, state, rew, done, info = env.step(bids_from_scores(b_x[t]), b_grants[t])
            b_fits[t], b_winner[t] = info["fits"], info["winner"]
            b_rew[t] = rew
            if done:
                b_done[t] = 1.0
                finished.append(info["episode"])
        b_val[t_len] = self._values(torch.from_numpy(obs), torch.from_numpy(state)).numpy()
        # GAE over the rollout (team reward; per-agent values for IPPO).
        rew = b_rew if mappo else b_rew[..., None].repeat(m, axis=-1)
        done = b_done if mappo else b_done[..., None].repeat(m, axis=-1)
        adv = np.zeros_like(b_val[:-1])
        last = np.zeros_like(b_val[0])
        for t in reversed(range(t_len)):
            nonterminal = 1.0 - done[t]
            delta = rew[t] + cfg.gamma * b_val[t + 1] * nonterminal - b_val[t]
            last = delta + cfg.gamma * cfg.gae_lambda * nonterminal * last
            adv[t] = last
        returns = adv + b_val[:-1]
        flat = t_len * n
        batch = {
            "obs": torch.from_numpy(b_obs.reshape(flat, m, -1)),
            "state": torch.from_numpy(b_state.reshape(flat, -1)),
            "x": torch.from_numpy(b_x.reshape(flat, m)),
            "grants": torch.from_numpy(b_grants.reshape(flat, m, 3)),
            "fits": torch.from_numpy(b_fits.reshape(flat, m)),
            "winner": torch.from_numpy(b_winner.reshape(flat)),
            "adv": torch.from_numpy(adv.reshape(flat, *adv.shape[2:])),
            "returns": torch.from_numpy(returns.reshape(flat, *returns.shape[2:])),
            "rewards": b_rew,
        }
        batch["logp"], _ = self._log_prob(batch, slice(None))
        return batch, obs, state, finished

    def _log_prob(self, batch, idx) -> tuple[torch.Tensor, torch.Tensor]:
        if self.cfg.algo == "mappo":
            return joint_log_prob(
                self.actor,
                batch["obs"][idx],
                batch["grants"][idx],
                batch["fits"][idx],
                batch["winner"][idx],
            )
        return agent_log_prob(self.actor, batch["obs"][idx], batch["x"][idx], batch["grants"][idx])

    def _update(self, batch) -> dict[str, float]:
        cfg = self.cfg
        state, obs = batch["state"], batch["obs"]
        old_logp = batch["logp"]
        adv = batch["adv"]
        returns = batch["returns"]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        if cfg.value_norm:
            self.value_norm.update(returns)
            targets = self.value_norm.normalize(returns).float()
        else:
            targets = returns
        size = obs.shape[0]
        mb = max(1, size // cfg.minibatches)
        stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "clip_frac": 0.0}
        count = 0
        for _ in range(cfg.epochs):
            perm = torch.randperm(size)
            for lo in range(0, size, mb):
                idx = perm[lo : lo + mb]
                logp, entropy = self._log_prob(batch, idx)
                ratio = torch.exp(logp - old_logp[idx])
                a = adv[idx]
                surr = torch.min(ratio * a, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * a)
                policy_loss = -surr.mean()
                actor_loss = policy_loss - cfg.entropy * entropy.mean()
                self.actor_opt.zero_grad(set_to_none=True)
                actor_loss.backward()
                torch.nn.utils.clip_grad_norm_(self.actor.parameters(), cfg.max_grad_norm)
                self.actor_opt.step()
                value = self.critic(state[idx]) if cfg.algo == "mappo" else self.critic(obs[idx])
                value_loss = torch.nn.functional.mse_loss(value, targets[idx])
                self.critic_opt.zero_grad(set_to_none=True)
                (cfg.value_coef * value_loss).backward()
                torch.nn.utils.clip_grad_norm_(self.critic.parameters(), cfg.critic_max_grad_norm)
                self.critic_opt.step()
                stats["policy_loss"] += policy_loss.item()
                stats["value_loss"] += value_loss.item()
                stats["entropy"] += entropy.mean().item()
                stats["clip_frac"] += ((ratio - 1).abs() > cfg.clip).float().mean().item()
                count += 1
        return {k: v / count for k, v in stats.items()}


def _jsonable(value: Any) -> Any:
    """Tuples to lists, recursively (what a JSON round trip gives back)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _keys(trainer: PPOTrainer) -> list[str]:
    keys: list[str] = []
    for row in trainer.history:
        for k in row:
            if k not in keys:
                keys.append(k)
    return keys
