"""Training the actor-critic: the paper's Algorithm 1, and the improved batched version.

- ``algo="paper"``: Algorithm 1 as written — after every task, the TD error
  δ = r + γ·V(s') − V(s) updates the critic (δ²) and both actors (δ·∇ln π), one transition at a
  time, γ = 0.99 (the paper's Table 10), no entropy bonus, no normalisation. (The paper writes
  δ = Q − y and then ascends δ·∇ln π; we use the sign that improves the policy.)
- ``algo="ppo"``: the improvements — parallel simulators and batched updates over rollouts,
  GAE advantages, advantage normalisation, an entropy bonus, clipped policy ratios (PPO), a
  shorter horizon (γ = 0.9: a task's decision mostly affects the next few tasks).

Both keep the best policy on held-out validation episodes. Training state (weights, optimiser,
counters, RNG) is saved every few updates and on Ctrl-C; the same call resumes it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from agents.common.checkpoint import load_training_state, save_training_state
from agents.rlmscpn.model import ActorCritic, ModelConfig
from agents.rlmscpn.runner import batch_features, clone_sims, run_model, validation_seeds
from agents.rlmscpn.sim import ComputeNetworkSim


@dataclass
class TrainConfig:
    algo: str = "ppo"  # "ppo" (improved) or "paper" (Algorithm 1)
    encoder: str = "syncgnn"  # or "mlp" (ablation)
    hidden: int = 64
    seed: int = 0
    total_steps: int = 400_000
    time_budget_s: float | None = None
    n_envs: int = 16
    rollout: int = 32
    lr: float = 3e-4
    gamma: float = 0.9
    gae_lambda: float = 0.9
    clip: float = 0.2
    epochs: int = 4
    minibatch: int = 128
    ent_coef: float = 0.003
    vf_coef: float = 0.5
    adv_norm: bool = True
    max_grad_norm: float = 0.5
    reward_scale: float = 0.01  # reward = -response_ms * scale
    eval_every_steps: int = 20_000
    val_episodes: int = 6
    save_every_s: float = 60.0
    # task mix: "mixed" (default), or "io"/"compute" to specialise a policy (Tables 15-16)
    task_kind: str = "mixed"
    io_sizes_mb: tuple[float, ...] = (0.1, 1.0, 10.0)

    def __post_init__(self) -> None:
        if self.algo not in {"ppo", "paper"}:
            raise ValueError(f"algo must be ppo or paper, got {self.algo!r}")

    @classmethod
    def paper(cls, **kw: Any) -> TrainConfig:
        """Algorithm 1's settings: one transition per update, γ = 0.99, plain TD actor-critic."""
        base = dict(algo="paper", n_envs=1, gamma=0.99, lr=1e-3, ent_coef=0.0, adv_norm=False)
        base.update(kw)
        return cls(**base)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["io_sizes_mb"] = list(self.io_sizes_mb)
        return d


@dataclass
class TrainResult:
    model: ActorCritic
    steps: int
    elapsed_s: float
    best_val_ms: float
    history: list[dict[str, float]] = field(default_factory=list)


def _model_config(template: ComputeNetworkSim, tc: TrainConfig) -> ModelConfig:
    return ModelConfig(
        encoder=tc.encoder,
        hidden=tc.hidden,
        n_candidates=template.cfg.n_candidates,
        k_paths=template.cfg.k_paths,
    )


class Trainer:
    """Holds everything one training run needs; ``run()`` trains (resuming if it can)."""

    def __init__(
        self,
        template: ComputeNetworkSim,
        tc: TrainConfig,
        state_path: Path | None = None,
        progress: bool = True,
        init_state: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.template, self.tc, self.state_path, self.progress = template, tc, state_path, progress
        torch.manual_seed(tc.seed)
        self.rng = np.random.default_rng(tc.seed)
        self.model = ActorCritic(_model_config(template, tc))
        if init_state is not None:
            self.model.load_state_dict(init_state)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=tc.lr)
        self.steps = 0
        self.elapsed = 0.0
        self.best_val = float("inf")
        self.best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.history: list[dict[str, float]] = []
        self.next_eval = tc.eval_every_steps
        self.val_seeds = validation_seeds(tc.val_episodes, tc.seed)
        if state_path is not None and state_path.exists():
            self._load(state_path)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "best_state": self.best_state,
            "steps": self.steps,
            "elapsed": self.elapsed,
            "best_val": self.best_val,
            "next_eval": self.next_eval,
            "history": [[h["steps"], h["val_ms"], h["elapsed_s"]] for h in self.history],
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "train_config": self.tc.to_json(),
        }

    def save(self) -> None:
        if self.state_path is not None:
            save_training_state(self.state_path, self._state())

    def _load(self, path: Path) -> None:
        st = load_training_state(path)
        saved = {k: v for k, v in st["train_config"].items() if k != "time_budget_s"}
        mine = {k: v for k, v in self.tc.to_json().items() if k != "time_budget_s"}
        if {k: saved[k] for k in ("algo", "encoder", "hidden", "seed")} != {
            k: mine[k] for k in ("algo", "encoder", "hidden", "seed")
        }:
            raise ValueError(f"{path} belongs to a different run ({saved}); remove it to restart")
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["optimizer"])
        self.best_state = st["best_state"]
        self.steps, self.elapsed = int(st["steps"]), float(st["elapsed"])
        self.best_val, self.next_eval = float(st["best_val"]), int(st["next_eval"])
        self.history = [{"steps": s, "val_ms": v, "elapsed_s": e} for s, v, e in st["history"]]
        self.rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])

    # ------------------------------------------------------------------ validation
    def _reset(self, sim: ComputeNetworkSim) -> None:
        seed = int(self.rng.integers(2**31))
        if self.tc.task_kind == "io":
            size = float(self.rng.choice(self.tc.io_sizes_mb))
            sim.reset(seed, None, "io", io_data_mb=size)
        else:
            sim.reset(seed, None, self.tc.task_kind)

    def validate(self) -> float:
        if self.tc.task_kind == "io":
            seeds = self.val_seeds[: max(1, len(self.val_seeds) // 2)]
            val = float(
                np.mean(
                    [
                        run_model(
                            self.model, self.template, seeds, None, "io", io_data_mb=mb
                        ).mean_ms
                        for mb in self.tc.io_sizes_mb
                    ]
                )
            )
        else:
            val = run_model(
                self.model, self.template, self.val_seeds, None, self.tc.task_kind
            ).mean_ms
        self.model.train()
        self.history.append({"steps": self.steps, "val_ms": val, "elapsed_s": self.elapsed})
        if val < self.best_val:
            self.best_val = val
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return val

    def _budget_left(self, t0: float, start_elapsed: float) -> bool:
        if self.steps >= self.tc.total_steps:
            return False
        budget = self.tc.time_budget_s
        return budget is None or start_elapsed + (time.monotonic() - t0) < budget

    # ------------------------------------------------------------------ main loop
    def run(self) -> TrainResult:
        tc = self.tc
        sims = clone_sims(self.template, tc.n_envs)
        for sim in sims:
            self._reset(sim)
        t0, start_elapsed, last_save = time.monotonic(), self.elapsed, time.monotonic()
        bar = tqdm(
            total=tc.total_steps,
            initial=self.steps,
            disable=not self.progress,
            desc=f"train {tc.encoder}/{tc.algo}",
            unit="task",
            mininterval=1.0,
        )
        self.model.train()
        try:
            while self._budget_left(t0, start_elapsed):
                n = self._ppo_update(sims) if tc.algo == "ppo" else self._paper_steps(sims)
                self.steps += n
                self.elapsed = start_elapsed + time.monotonic() - t0
                bar.update(n)
                if self.steps >= self.next_eval:
                    self.next_eval += tc.eval_every_steps
                    val = self.validate()
                    bar.set_postfix(val_ms=f"{val:.2f}", best=f"{self.best_val:.2f}")
                if time.monotonic() - last_save > tc.save_every_s:
                    self.save()
                    last_save = time.monotonic()
        except KeyboardInterrupt:
            self.elapsed = start_elapsed + time.monotonic() - t0
            self.save()
            bar.close()
            raise
        bar.close()
        if not self.history or self.history[-1]["steps"] != self.steps:
            self.validate()
        self.save()
        self.model.load_state_dict(self.best_state)
        return TrainResult(self.model, self.steps, self.elapsed, self.best_val, self.history)

    # ------------------------------------------------------------------ Algorithm 1
    def _paper_steps(self, sims: list[ComputeNetworkSim], n_steps: int = 64) -> int:
        tc = self.tc
        for _ in range(n_steps):
            nodes, paths, cands = batch_features(sims)
            node, split, _, _ = self.model.act(nodes, paths)
            rewards, dones = [], []
            for sim, cand, a, x in zip(sims, cands, node.tolist(), split.numpy(), strict=True):
                out = sim.execute(int(cand[a]), x)
                rewards.append(-out.response_ms * tc.reward_scale)
                dones.append(sim.done)
                if sim.done:
                    self._reset(sim)
            next_nodes, next_paths, _ = batch_features(sims)
            with torch.no_grad():
                _, _, v_next = self.model(next_nodes, next_paths)
            logp, _, _, value = self.model.evaluate(nodes, paths, node, split)
            r = torch.tensor(rewards, dtype=torch.float32)
            not_done = 1.0 - torch.tensor(dones, dtype=torch.float32)
            target = r + tc.gamma * v_next * not_done
            delta = target - value
            loss = (0.5 * delta.pow(2) - delta.detach() * logp).mean()
            self.opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), tc.max_grad_norm)
            self.opt.step()
        return n_steps * len(sims)

    # ------------------------------------------------------------------ improved (PPO)
    def _ppo_update(self, sims: list[ComputeNetworkSim]) -> int:
        tc, b = self.tc, len(sims)
        obs_n, obs_p, acts_n, acts_s, logps, values, rewards, dones = ([] for _ in range(8))
        for _ in range(tc.rollout):
            nodes, paths, cands = batch_features(sims)
            node, split, logp, value = self.model.act(nodes, paths)
            r, d = [], []
            for sim, cand, a, x in zip(sims, cands, node.tolist(), split.numpy(), strict=True):
                out = sim.execute(int(cand[a]), x)
                r.append(-out.response_ms * tc.reward_scale)
                d.append(sim.done)
                if sim.done:
                    self._reset(sim)
            obs_n.append(nodes)
            obs_p.append(paths)
            acts_n.append(node)
            acts_s.append(split)
            logps.append(logp)
            values.append(value)
            rewards.append(torch.tensor(r, dtype=torch.float32))
            dones.append(torch.tensor(d, dtype=torch.float32))
        with torch.no_grad():
            nodes, paths, _ = batch_features(sims)
            _, _, last_value = self.model(nodes, paths)
        values_t = torch.stack(values)
        rewards_t, dones_t = torch.stack(rewards), torch.stack(dones)
        # Episodes end at a task count (a time limit, not a terminal state): bootstrap from
        # the value of the episode's last state.
        adv = torch.zeros_like(rewards_t)
        gae = torch.zeros(b)
        for t in reversed(range(tc.rollout)):
            nxt = last_value if t == tc.rollout - 1 else values_t[t + 1]
            nxt = torch.where(dones_t[t] > 0, values_t[t], nxt)
            delta = rewards_t[t] + tc.gamma * nxt - values_t[t]
            gae = delta + tc.gamma * tc.gae_lambda * (1.0 - dones_t[t]) * gae
            adv[t] = gae
        returns = adv + values_t
        flat = {
            "nodes": torch.cat(obs_n),
            "paths": torch.cat(obs_p),
            "node": torch.cat(acts_n),
            "split": torch.cat(acts_s),
            "logp": torch.cat(logps),
            "adv": adv.reshape(-1),
            "ret": returns.reshape(-1),
        }
        total = flat["adv"].shape[0]
        for _ in range(tc.epochs):
            perm = torch.randperm(total)
            for start in range(0, total, tc.minibatch):
                idx = perm[start : start + tc.minibatch]
                a = flat["adv"][idx]
                if tc.adv_norm and len(idx) > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                logp, ent_n, ent_p, value = self.model.evaluate(
                    flat["nodes"][idx], flat["paths"][idx], flat["node"][idx], flat["split"][idx]
                )
                ratio = torch.exp(logp - flat["logp"][idx])
                pg = -torch.min(ratio * a, ratio.clamp(1 - tc.clip, 1 + tc.clip) * a).mean()
                vf = (value - flat["ret"][idx]).pow(2).mean()
                ent = (ent_n + ent_p).mean()
                loss = pg + tc.vf_coef * vf - tc.ent_coef * ent
                self.opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), tc.max_grad_norm)
                self.opt.step()
        return tc.rollout * b
