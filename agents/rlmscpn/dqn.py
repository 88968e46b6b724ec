"""GNN+DQN baseline (the paper's ref. [8]): a GNN Q-network with a bandwidth-based reward.

The Q-network reads the same bipartite candidate/path graph (the SyncGNN encoder) and scores
discrete actions: for each candidate, send everything over one of its k paths, or split equally
over its distinct paths. Its reward is the resource-allocation one of [8]: the bandwidth the
chosen route still has (network side) minus the compute latency the task will wait for (compute
side), each normalised by the best option of that decision — it never sees the response
latency, which is why bandwidth "cannot directly optimise transmission latency" (paper §4.2.1).
Trained by DQN: ε-greedy exploration, replay memory, a target network, Huber loss.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from agents.common.checkpoint import load_training_state, save_training_state
from agents.rlmscpn.baselines import distinct_mask
from agents.rlmscpn.features import snapshot_features
from agents.rlmscpn.model import ModelConfig, SyncGNNEncoder, mlp
from agents.rlmscpn.runner import clone_sims, validation_seeds
from agents.rlmscpn.sim import ComputeNetworkSim


class GnnQNetwork(nn.Module):
    """Q-values [B, N, k+1]: column j < k = "all on path j", column k = equal split."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.encoder = SyncGNNEncoder(cfg)
        self.q_path = mlp([2 * h, h, 1])
        self.q_equal = mlp([h, h, 1])

    def forward(self, nodes: torch.Tensor, paths: torch.Tensor) -> torch.Tensor:
        h_c, h_p = self.encoder(nodes, paths)
        pair = torch.cat([h_p, h_c.unsqueeze(2).expand_as(h_p)], dim=-1)
        q_single = self.q_path(pair).squeeze(-1)  # [B, N, k]
        q_eq = self.q_equal(h_c)  # [B, N, 1]
        return torch.cat([q_single, q_eq], dim=-1)


def action_split(sim: ComputeNetworkSim, node_idx: int, mode: int) -> np.ndarray:
    node_paths, _ = sim.paths(sim.task.access_point, int(sim.compute_nodes[node_idx]))
    k = len(node_paths)
    if mode < k:
        x = np.zeros(k)
        x[mode] = 1.0
        return x
    m = distinct_mask(node_paths).astype(float)
    return m / m.sum()


def bandwidth_reward(snapshot, node: int, mode: int) -> float:
    """Normalised route bandwidth minus normalised expected compute latency of a choice."""
    avail = snapshot.path_available_mbps
    k = avail.shape[1]

    def route_bw(i: int, m: int) -> float:
        if m < k:
            return float(avail[i, m])
        return float(k * avail[i].min())  # an equal split moves at k times the slowest path

    best_bw = max(route_bw(i, m) for i in range(avail.shape[0]) for m in range(k + 1))
    compute = snapshot.pred_ms + snapshot.backlog_ms
    return route_bw(node, mode) / max(best_bw, 1e-9) - float(compute[node] / compute.max())


@dataclass
class DqnConfig:
    hidden: int = 64
    seed: int = 0
    total_steps: int = 60_000
    time_budget_s: float | None = None
    n_envs: int = 8
    lr: float = 1e-3
    gamma: float = 0.5
    batch: int = 128
    buffer: int = 50_000
    warmup: int = 2_000
    target_every: int = 500
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_steps: int = 30_000
    updates_per_step: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class DqnAgent:
    """Greedy (at evaluation) policy of a trained Q-network."""

    name = "GNN+DQN"

    def __init__(self, net: GnnQNetwork) -> None:
        self.net = net.eval()

    def act(self, sim: ComputeNetworkSim) -> tuple[int, np.ndarray]:
        cand = sim.candidates()
        nodes, paths = snapshot_features(sim.snapshot(cand))
        with torch.no_grad():
            q = self.net(torch.from_numpy(nodes)[None], torch.from_numpy(paths)[None])[0]
        flat = int(q.reshape(-1).argmax())
        i, mode = divmod(flat, q.shape[1])
        return int(cand[i]), action_split(sim, int(cand[i]), mode)


class _Replay:
    """Fixed-size replay memory of (s, a, r, s', done)."""

    def __init__(self, cap: int, mc: ModelConfig) -> None:
        n, k = mc.n_candidates, mc.k_paths
        self.n = np.zeros((cap, n, mc.node_features), np.float32)
        self.p = np.zeros((cap, n, k, mc.path_features), np.float32)
        self.n2, self.p2 = np.zeros_like(self.n), np.zeros_like(self.p)
        self.a = np.zeros(cap, np.int64)
        self.r = np.zeros(cap, np.float32)
        self.d = np.zeros(cap, np.float32)
        self.cap, self.size, self.ptr = cap, 0, 0

    def add(self, s, a: int, r: float, s2, done: bool) -> None:
        i = self.ptr
        self.n[i], self.p[i] = s
        self.n2[i], self.p2[i] = s2
        self.a[i], self.r[i], self.d[i] = a, r, float(done)
        self.ptr = (i + 1) % self.cap
        self.size = min(self.size + 1, self.cap)

    def sample(self, rng: np.random.Generator, batch: int) -> list[torch.Tensor]:
        idx = rng.integers(self.size, size=batch)
        arrays = (self.n, self.p, self.a, self.r, self.n2, self.p2, self.d)
        return [torch.from_numpy(x[idx]) for x in arrays]


def train_dqn(
    template: ComputeNetworkSim,
    dc: DqnConfig,
    progress: bool = True,
    state_path: Path | None = None,
) -> tuple[GnnQNetwork, dict[str, Any]]:
    """Train the GNN+DQN baseline; returns (Q-network, training summary).

    With ``state_path`` the networks, optimiser, counters and RNG are saved every minute and on
    Ctrl-C, and a later call resumes from them (the replay memory is refilled, not saved).
    """
    from agents.rlmscpn.runner import run_heuristic

    torch.manual_seed(dc.seed)
    rng = np.random.default_rng(dc.seed)
    mc = ModelConfig(
        encoder="syncgnn",
        hidden=dc.hidden,
        n_candidates=template.cfg.n_candidates,
        k_paths=template.cfg.k_paths,
    )
    net, target = GnnQNetwork(mc), GnnQNetwork(mc)
    target.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=dc.lr)
    steps, elapsed0 = 0, 0.0
    if state_path is not None and state_path.exists():
        st = load_training_state(state_path)
        net.load_state_dict(st["net"])
        target.load_state_dict(st["target"])
        opt.load_state_dict(st["optimizer"])
        steps, elapsed0 = int(st["steps"]), float(st["elapsed"])
        rng.bit_generator.state = st["rng"]
    t0 = last_save = time.monotonic()

    def save() -> None:
        if state_path is not None:
            save_training_state(
                state_path,
                {
                    "net": net.state_dict(),
                    "target": target.state_dict(),
                    "optimizer": opt.state_dict(),
                    "steps": steps,
                    "elapsed": elapsed0 + time.monotonic() - t0,
                    "rng": rng.bit_generator.state,
                },
            )

    n, k = mc.n_candidates, mc.k_paths
    memory = _Replay(dc.buffer, mc)
    sims = clone_sims(template, dc.n_envs)
    for sim in sims:
        sim.reset(int(rng.integers(2**31)))
    cands = [sim.candidates() for sim in sims]
    snaps = [sim.snapshot(c) for sim, c in zip(sims, cands, strict=True)]
    feats = [snapshot_features(s) for s in snaps]
    bar = tqdm(
        total=dc.total_steps,
        initial=steps,
        disable=not progress,
        desc="train GNN+DQN",
        unit="task",
        mininterval=1.0,
    )
    since_target = 0
    try:
        while steps < dc.total_steps and (
            dc.time_budget_s is None or elapsed0 + time.monotonic() - t0 < dc.time_budget_s
        ):
            eps = max(dc.eps_end, dc.eps_start - (dc.eps_start - dc.eps_end) * steps / dc.eps_steps)
            nodes = torch.from_numpy(np.stack([f[0] for f in feats]))
            paths = torch.from_numpy(np.stack([f[1] for f in feats]))
            with torch.no_grad():
                greedy = net(nodes, paths).reshape(len(sims), -1).argmax(dim=1).numpy()
            for b, sim in enumerate(sims):
                a = int(greedy[b]) if rng.random() > eps else int(rng.integers(n * (k + 1)))
                i, mode = divmod(a, k + 1)
                r = bandwidth_reward(snaps[b], i, mode)
                node_idx = int(cands[b][i])
                sim.execute(node_idx, action_split(sim, node_idx, mode))
                done = sim.done
                if done:
                    sim.reset(int(rng.integers(2**31)))
                cands[b] = sim.candidates()
                snaps[b] = sim.snapshot(cands[b])
                nxt = snapshot_features(snaps[b])
                memory.add(feats[b], a, r, nxt, done)
                feats[b] = nxt
                steps += 1
            bar.update(len(sims))
            since_target += len(sims)
            if memory.size >= dc.warmup:
                for _ in range(dc.updates_per_step):
                    s_n, s_p, act, rew, n2, p2, dn = memory.sample(rng, dc.batch)
                    qa = net(s_n, s_p).reshape(dc.batch, -1).gather(1, act[:, None]).squeeze(1)
                    with torch.no_grad():
                        best = target(n2, p2).reshape(dc.batch, -1).max(dim=1).values
                        y = rew + dc.gamma * (1 - dn) * best
                    loss = nn.functional.smooth_l1_loss(qa, y)
                    opt.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                    opt.step()
            if since_target >= dc.target_every:
                since_target = 0
                target.load_state_dict(net.state_dict())
            if time.monotonic() - last_save > 60.0:
                save()
                last_save = time.monotonic()
    except KeyboardInterrupt:
        save()
        bar.close()
        raise
    bar.close()
    save()
    net.eval()
    val = run_heuristic(DqnAgent(net), template, validation_seeds(4, dc.seed)).mean_ms
    elapsed = elapsed0 + time.monotonic() - t0
    return net, {"steps": steps, "elapsed_s": round(elapsed, 1), "val_ms": val}
