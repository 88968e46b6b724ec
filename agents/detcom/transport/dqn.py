"""DQN, DDQN and D3QN on the vectorised transport environment, resumable.

All three share everything but the two ingredients that name them: DDQN takes the target's
value of the *online* network's greedy action (double Q-learning); D3QN adds the dueling
streams (value and advantage).
DQN keeps its target network (Mnih et al. 2015). Same network trunk (64, 128), learning rate
(1e-4, the paper's), replay, exploration and budget, so the comparison is fair.

Training runs in *windows*: ``n_envs`` episodes of ``tasks_per_episode`` tasks stepped together
by :class:`~agents.detcom.transport.env.TransportVecEnv`, every transition going to one replay
buffer. Window ``w`` draws its episodes and exploration from ``(seed, w)``, so a run resumed
from the state saved after any window continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.common.checkpoint import (
    default_provenance,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
    save_training_state,
)
from agents.detcom.transport.env import TransportVecEnv
from agents.detcom.transport.networks import QNetwork
from agents.detcom.transport.scenario import TransportConfig
from agents.detcom.transport.sim import TransportSim, obs_dim

METHODS = ("dqn", "ddqn", "d3qn")
CHECKPOINT_FORMAT = "detcom-transport-q/2"  # /2: utilisation in the state
VALIDATION_SEED = 777_777


@dataclass(frozen=True)
class DQNConfig:
    method: str = "d3qn"
    hidden: tuple[int, int] = (64, 128)
    lr: float = 1e-4
    gamma: float = 0.9
    batch_size: int = 128
    buffer_size: int = 100_000
    learning_starts: int = 4096
    gradient_steps: int = 4  # per vector step (n_envs transitions)
    target_sync: int = 1000  # gradient steps between target-network copies
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_episodes: int = 300  # linear decay over this many episodes
    n_envs: int = 16
    episodes: int = 1000
    tasks_per_episode: int = 300
    grad_clip: float = 10.0
    reward_scale: float = 0.1
    #: Learn on ``scale · (r − μ_s·D)``: the reward minus the most a task can earn, i.e. minus the
    #: task's cost. A constant shift leaves the optimal policy unchanged and keeps Q-values near
    #: zero, so the small differences between spectrum levels are not lost against a large
    #: offset (same for every method).
    reward_shift: bool = True
    #: Share of training flows sent to a random other domain, so the policy also serves the
    #: destinations orchestration may pick (coupling); evaluation uses the case study's m1↔m2.
    other_dst_prob: float = 0.2
    #: Share of training flows given a random orchestration utilisation u ~ U(0, 1) (the
    #: coupling's reward feedback); evaluation of the case study alone has u = 0.
    utilisation_prob: float = 0.5
    checkpoint_every: int = 2  # windows between resumable saves
    #: Greedy validation (Fig. 5a): every ``eval_every`` windows, the greedy policy schedules
    #: ``eval_windows`` fixed case-study windows (m1↔m2, seed VALIDATION_SEED).
    eval_every: int = 2
    eval_windows: int = 8
    #: Ship the weights of the best validation check instead of the last ones (Q-learning's
    #: greedy policy oscillates between checks; same rule for every method).
    keep_best: bool = True
    #: D3QN only: scale of the dueling streams' gradient into the shared trunk (Wang et al.
    #: 2016 use 1/√2; 1 = no scaling). At 60 kHz, seeds 0/1: 476.4 / 484.4 with it, 480.6 /
    #: 497.9 without (cost per 3000 tasks, 10 windows of seed 1).
    dueling_grad_scale: float = 1 / math.sqrt(2)
    #: D3QN only: ``"heads"`` (the issue's "dueling heads": value and advantage heads on the
    #: shared 64 → 128 trunk; the shipped policies) or ``"streams"`` (Wang et al.: a shared
    #: 64-unit layer, then value and advantage streams of 128 units each).
    dueling_layout: str = "heads"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")

    @property
    def dueling(self) -> bool:
        return self.method == "d3qn"

    @property
    def double(self) -> bool:
        return self.method in ("ddqn", "d3qn")

    @property
    def n_windows(self) -> int:
        return math.ceil(self.episodes / self.n_envs)


class ReplayBuffer:
    """Uniform experience replay in preallocated numpy arrays."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.action = np.zeros(capacity, np.int64)
        self.reward = np.zeros(capacity, np.float32)
        self.done = np.zeros(capacity, np.float32)
        self.pos = 0
        self.size = 0

    def add(self, obs, action, reward, next_obs, done) -> None:
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx], self.next_obs[idx] = obs, next_obs
        self.action[idx], self.reward[idx], self.done[idx] = action, reward, done
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))

    def sample(self, batch: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        i = rng.integers(0, self.size, size=batch)
        return (
            torch.from_numpy(self.obs[i]),
            torch.from_numpy(self.action[i]),
            torch.from_numpy(self.reward[i]),
            torch.from_numpy(self.next_obs[i]),
            torch.from_numpy(self.done[i]),
        )

    def state(self) -> dict[str, Any]:
        n = self.size
        return {
            "obs": torch.from_numpy(self.obs[:n].copy()),
            "next_obs": torch.from_numpy(self.next_obs[:n].copy()),
            "action": torch.from_numpy(self.action[:n].copy()),
            "reward": torch.from_numpy(self.reward[:n].copy()),
            "done": torch.from_numpy(self.done[:n].copy()),
            "pos": self.pos,
            "size": self.size,
        }

    def load(self, st: dict[str, Any]) -> None:
        n = int(st["size"])
        for k in ("obs", "next_obs", "action", "reward", "done"):
            getattr(self, k)[:n] = st[k].numpy()
        self.pos, self.size = int(st["pos"]), n


def checkpoint_name(method: str, scs_khz: int) -> str:
    return f"transport_{method}_scs{scs_khz}"


def make_network(transport: TransportConfig, dqn: DQNConfig) -> QNetwork:
    from agents.detcom.transport.scenario import TransportModel

    n_actions = TransportModel(transport).n_actions
    return QNetwork(
        obs_dim(transport.n_domains),
        n_actions,
        dqn.hidden,
        dqn.dueling,
        dqn.dueling_grad_scale,
        dqn.dueling_layout,
    )


def _saved_dqn(d: dict[str, Any]) -> dict[str, Any]:
    """A DQN config as saved, with the fields added since filled as older runs had them."""
    return {"dueling_layout": "heads"} | dict(d)  # saved before the layout was a choice


def _dqn_from_dict(d: dict[str, Any]) -> DQNConfig:
    d = _saved_dqn(d)
    d["hidden"] = tuple(d["hidden"])
    return DQNConfig(**d)


def load_q_network(path: str | Path) -> tuple[QNetwork, TransportConfig, DQNConfig, dict]:
    """Load a trained Q-network checkpoint: (net, transport config, DQN config, sidecar)."""
    state, meta = load_checkpoint(path)
    cfg = meta.get("config", {})
    fmt = cfg.get("format")
    if fmt != CHECKPOINT_FORMAT:
        if isinstance(fmt, str) and fmt.startswith("detcom-transport-q/"):
            raise ValueError(
                f"{path}: checkpoint format {fmt}, this version reads {CHECKPOINT_FORMAT} "
                "(the state changed); retrain it with `python -m agents.detcom.transport train`"
            )
        raise ValueError(f"{path}: not a transport Q-network checkpoint")
    transport = TransportConfig.from_dict(cfg["transport"])
    dqn = _dqn_from_dict(cfg["dqn"])
    net = make_network(transport, dqn)
    net.load_state_dict(state)
    return net.eval(), transport, dqn, meta


def validation_cost(
    net: QNetwork, transport: TransportConfig, n_tasks: int, n_windows: int
) -> float:
    """Greedy cost on fixed case-study windows, per 3000 tasks (the Fig. 5b scale)."""
    sim = TransportSim(replace(transport, n_tasks=n_tasks), n_envs=n_windows)
    obs = sim.reset(seed=VALIDATION_SEED)
    with torch.no_grad():
        while True:
            sim.step(net.greedy(torch.from_numpy(obs)).numpy())
            if sim.done:
                break
            obs = sim.observe()
    return float(sim.episode_cost.sum() / (n_windows * n_tasks) * 3000)


def command_line() -> str:
    """The command that is running, as a user would type it (``python -m pkg`` for a package)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "__main__.py":
        root = Path(__file__).resolve().parents[3]
        try:
            module = ".".join(argv0.resolve().parent.relative_to(root).parts)
            return " ".join(["python", "-m", module, *sys.argv[1:]])
        except ValueError:
            pass
    return " ".join(["python", *sys.argv])


def _window_seed(seed: int, window: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, window, stream]).generate_state(1)[0])


def train_q(
    transport: TransportConfig,
    dqn: DQNConfig,
    seed: int,
    out_dir: Path,
    resume: bool = True,
    progress: bool = True,
    keep_state: bool = False,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Train one Q-learner; return the checkpoint stem (``out_dir/transport_<method>_scs<S>``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / checkpoint_name(dqn.method, transport.scs_khz)
    state_path = stem.with_suffix(".train.pt")
    history_path = stem.with_suffix(".history.json")
    train_cfg = replace(
        transport,
        n_tasks=dqn.tasks_per_episode,
        other_dst_prob=dqn.other_dst_prob,
        random_utilisation_prob=dqn.utilisation_prob,
    )
    torch.manual_seed(seed)
    online = make_network(train_cfg, dqn)
    target = make_network(train_cfg, dqn)
    target.load_state_dict(online.state_dict())
    opt = torch.optim.Adam(online.parameters(), lr=dqn.lr)
    buf = ReplayBuffer(dqn.buffer_size, online.obs_dim)
    window, updates = 0, 0
    curve_cost: list[float] = []
    curve_reward: list[float] = []
    eval_episode: list[int] = []
    eval_cost: list[float] = []
    best: dict[str, Any] = {"cost": math.inf, "episode": -1, "state": None}
    elapsed = 0.0
    if resume and state_path.exists():
        st = load_training_state(state_path)
        if (
            _saved_dqn(st["dqn"]) != asdict(dqn) | {"hidden": list(dqn.hidden)}
            or st["seed"] != seed
        ):
            raise ValueError(
                f"{state_path} was made with another config/seed; remove it or resume=False"
            )
        online.load_state_dict(st["online"])
        target.load_state_dict(st["target"])
        opt.load_state_dict(st["optimizer"])
        buf.load(st["buffer"])
        window, updates = int(st["window"]), int(st["updates"])
        curve_cost, curve_reward = list(st["curve_cost"]), list(st["curve_reward"])
        eval_episode, eval_cost = list(st["eval_episode"]), list(st["eval_cost"])
        best = {"cost": float(st["best_cost"]), "episode": int(st["best_episode"])}
        best["state"] = st["best_state"] if best["episode"] >= 0 else None
        elapsed = float(st["elapsed_s"])
    elif resume and stem.with_suffix(".safetensors").exists() and history_path.exists():
        hist = json.loads(history_path.read_text())
        saved = _saved_dqn(hist.get("dqn") or {})
        if hist.get("seed") == seed and saved == json.loads(json.dumps(asdict(dqn))):
            return stem  # already trained with this exact setup
    env = TransportVecEnv(train_cfg, num_envs=dqn.n_envs)
    gamma = torch.tensor(dqn.gamma)
    shift = transport.weights.eps_d if dqn.reward_shift else 0.0

    def save_state() -> None:
        save_training_state(
            state_path,
            {
                "dqn": asdict(dqn) | {"hidden": list(dqn.hidden)},
                "seed": seed,
                "online": online.state_dict(),
                "target": target.state_dict(),
                "optimizer": opt.state_dict(),
                "buffer": buf.state(),
                "window": window,
                "updates": updates,
                "curve_cost": curve_cost,
                "curve_reward": curve_reward,
                "eval_episode": eval_episode,
                "eval_cost": eval_cost,
                "best_cost": best["cost"],
                "best_episode": best["episode"],
                "best_state": best["state"] if best["state"] is not None else {},
                "elapsed_s": elapsed,
            },
        )

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=dqn.n_windows * dqn.n_envs,
            initial=window * dqn.n_envs,
            desc=f"{dqn.method} {transport.scs_khz} kHz",
            unit="ep",
        )
    t_start = time.monotonic() - elapsed

    def validate() -> None:
        eval_episode.append(window * dqn.n_envs)
        eval_cost.append(
            validation_cost(online, transport, dqn.tasks_per_episode, dqn.eval_windows)
        )
        if eval_cost[-1] < best["cost"]:
            best["cost"], best["episode"] = eval_cost[-1], eval_episode[-1]
            best["state"] = {k: v.detach().clone() for k, v in online.state_dict().items()}

    try:
        if window == 0 and not eval_cost and dqn.eval_every > 0:
            validate()
        while window < dqn.n_windows:
            rng = np.random.default_rng(_window_seed(seed, window, 1))
            obs, _ = env.reset(seed=_window_seed(seed, window, 0))
            for t in range(dqn.tasks_per_episode):
                done_eps = window * dqn.n_envs + t / dqn.tasks_per_episode * dqn.n_envs
                frac = min(1.0, done_eps / max(1, dqn.eps_episodes))
                eps = dqn.eps_start + frac * (dqn.eps_end - dqn.eps_start)
                with torch.no_grad():
                    greedy = online(torch.from_numpy(obs)).argmax(dim=1).numpy()
                explore = rng.random(dqn.n_envs) < eps
                act = np.where(explore, rng.integers(0, env.model.n_actions, dqn.n_envs), greedy)
                nobs, rew, term, trunc, info = env.step(act)
                # At a window's end the flows go on: bootstrap from a fresh episode's first state.
                # The shift is the most the task can earn, μ_s·D = ε_d·(1 + κ·u).
                r_learn = (rew - shift * info["deadline_weight"]) * dqn.reward_scale
                buf.add(obs, act, r_learn, nobs, term.astype(np.float32))
                obs = nobs
                if buf.size >= dqn.learning_starts:
                    for _ in range(dqn.gradient_steps):
                        s, a, r, s2, d = buf.sample(dqn.batch_size, rng)
                        q = online(s).gather(1, a[:, None]).squeeze(1)
                        with torch.no_grad():
                            if dqn.double:
                                a2 = online(s2).argmax(dim=1, keepdim=True)
                                q2 = target(s2).gather(1, a2).squeeze(1)
                            else:
                                q2 = target(s2).max(dim=1).values
                            y = r + gamma * (1 - d) * q2
                        loss = nn.functional.smooth_l1_loss(q, y)
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        nn.utils.clip_grad_norm_(online.parameters(), dqn.grad_clip)
                        opt.step()
                        updates += 1
                        if updates % dqn.target_sync == 0:
                            target.load_state_dict(online.state_dict())
            curve_cost.extend(float(x) for x in info["episode_cost"])
            curve_reward.extend(float(x) for x in info["episode_reward"])
            window += 1
            if dqn.eval_every > 0 and (window % dqn.eval_every == 0 or window == dqn.n_windows):
                validate()
            elapsed = time.monotonic() - t_start
            if bar is not None:
                bar.update(dqn.n_envs)
                bar.set_postfix(cost=f"{np.mean(info['episode_cost']):.1f}", eps=f"{eps:.2f}")
            if window % dqn.checkpoint_every == 0 and window < dqn.n_windows:
                save_state()
    finally:  # an interrupted run resumes from the last completed-window save
        if bar is not None:
            bar.close()
    curve_cost, curve_reward = curve_cost[: dqn.episodes], curve_reward[: dqn.episodes]
    prov = provenance or default_provenance(seed, command=command_line())
    prov = prov | {"seed": seed, "train_seconds": round(elapsed, 1), "gradient_updates": updates}
    config = {
        "format": CHECKPOINT_FORMAT,
        "method": dqn.method,
        "scs_khz": transport.scs_khz,
        "obs_dim": online.obs_dim,
        "n_actions": online.n_actions,
        "transport": transport.to_dict(),
        "dqn": asdict(dqn),
    }
    weights = online.state_dict()
    if dqn.keep_best and best["state"] is not None:
        weights = best["state"]
        config["selected"] = {"episode": best["episode"], "validation_cost": best["cost"]}
    else:
        config["selected"] = {"episode": dqn.episodes, "validation_cost": None}
    save_checkpoint(stem, weights, config, prov)
    history_path.write_text(
        json.dumps(
            {
                "method": dqn.method,
                "scs_khz": transport.scs_khz,
                "seed": seed,
                "dqn": json.loads(json.dumps(asdict(dqn))),
                "tasks_per_episode": dqn.tasks_per_episode,
                "episode_cost": [round(x, 4) for x in curve_cost],
                "episode_reward": [round(x, 4) for x in curve_reward],
                "eval_episode": eval_episode,
                "eval_cost_per_3000": [round(x, 3) for x in eval_cost],
                "selected_episode": config["selected"]["episode"],
                "train_seconds": round(elapsed, 1),
            }
        )
        + "\n"
    )
    if state_path.exists() and not keep_state:
        state_path.unlink()
    return stem
