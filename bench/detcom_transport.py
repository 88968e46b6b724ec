"""Det(Com)² deterministic transport: simulator speed and the Fig. 5b targets.

    python bench/detcom_transport.py [--seed 1] [--windows 2] [--scs 15 30 60] [--envs 1024]
                                     [--checkpoints DIR] [--train-seconds]

Prints one line per figure:

    detcom.transport.env_steps: N steps/s              vectorised (--envs episodes per numpy step)
    detcom.transport.env_steps_single: N steps/s       one episode per step (the baseline)
    detcom.transport.env_steps.vs_single: R ratio
    detcom.transport.scsS.METHOD.total_cost: C cost    per 3000-task window, mean of --windows
    detcom.transport.scsS.METHOD.deadline_success: P %
    detcom.transport.scsS.METHOD.loss_rate: P %
    detcom.transport.scsS.d3qn_vs_M: R %               (cost_d3qn / cost_M − 1); paper at 60 kHz:
                                                       −18.9 % vs DQN, −9.1 % vs SA, −5.1 % vs DDQN
    detcom.transport.scsS.model-greedy.*               reference (not in the paper): per-task
                                                       expected-cost minimiser knowing the channel model
    detcom.transport.scsS.clairvoyant.*                reference: per-task hindsight optimum (knows
                                                       the realised channel and HARQ outcomes)
    detcom.transport.scsS.cost_floor: C cost           no scheduler can cost less (clean first
                                                       transmissions on the smallest spectrum level)
    detcom.transport.scsS.wired_cost: C cost           the part of every scheduler's cost that no
                                                       decision changes
    detcom.transport.scsS.paper_margin_vs_M: C cost    the cost D3QN would need for the paper's
                                                       60 kHz margin over M (DQN, SA, DDQN)
    detcom.transport.scsS.METHOD.seeds.total_cost: C cost   learned methods, mean over every shipped
                                                       training seed (policies/ and policies/seeds/)
    detcom.transport.scsS.METHOD.seeds.total_cost_std: C cost        sample standard deviation
    detcom.transport.scsS.METHOD.seeds.deadline_success: P %
    detcom.transport.scsS.seeds.d3qn_vs_M: R %         the same comparison on the seed means
    detcom.transport.scsS.METHOD.train_seconds: T s    recorded when the shipped policy was trained
    detcom.transport.scsS.METHOD.converged_episode: E episodes

Learned methods use the shipped checkpoints (``agents/detcom/policies``) unless --checkpoints.
Evaluation windows are drawn from --seed; every method sees the same windows (common random
numbers). ``--train-seconds`` also times a fresh D3QN training at 60 kHz on this machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from agents.detcom.transport import api  # noqa: E402
from agents.detcom.transport.plots import convergence_episode  # noqa: E402
from agents.detcom.transport.scenario import TransportConfig  # noqa: E402
from agents.detcom.transport.sim import TransportSim  # noqa: E402

#: D3QN's cost reductions the paper reports at 60 kHz (Fig. 5b).
PAPER_MARGINS_60KHZ = {"dqn": 0.189, "sa": 0.091, "ddqn": 0.051}


def env_steps_per_s(n_envs: int, n_tasks: int = 3000, seconds: float = 3.0) -> float:
    """Random actions through ``n_envs`` episodes at once, with resets amortised: one reset is
    timed, then steps for ``seconds``; the reset's time counts in proportion to the share of an
    episode that was stepped (a 1024-episode reset takes ~2 s, longer than a short timing window)."""
    sim = TransportSim(TransportConfig(scs_khz=60), n_envs=n_envs, n_tasks=n_tasks)
    rng = np.random.default_rng(0)
    steps, step_time, reset_time, resets = 0, 0.0, 0.0, 0
    while step_time < seconds:
        t0 = time.perf_counter()
        sim.reset(seed=resets)
        reset_time += time.perf_counter() - t0
        resets += 1
        t0 = time.perf_counter()
        while not sim.done and time.perf_counter() - t0 + step_time < seconds:
            sim.observe()
            sim.step(rng.integers(0, sim.model.n_actions, n_envs))
            steps += n_envs
        step_time += time.perf_counter() - t0
    episodes_stepped = steps / (n_envs * n_tasks)
    return steps / (step_time + reset_time / resets * episodes_stepped)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--scs", type=int, nargs="+", default=list(api.SCS_KHZ))
    ap.add_argument("--envs", type=int, default=1024)
    ap.add_argument("--checkpoints", default=None)
    ap.add_argument("--train-seconds", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)

    vec = env_steps_per_s(args.envs)
    single = env_steps_per_s(1, seconds=2.0)
    print(f"detcom.transport.env_steps: {vec:.0f} steps/s")
    print(f"detcom.transport.env_steps_single: {single:.0f} steps/s")
    print(f"detcom.transport.env_steps.vs_single: {vec / single:.1f} ratio")

    ckpt_dir = Path(args.checkpoints) if args.checkpoints else api.POLICY_DIR
    for scs in args.scs:
        res = {}
        for m in (*api.METHODS, *api.REFERENCES):
            ckpt = ckpt_dir / f"transport_{m}_scs{scs}" if m in api.LEARNED else None
            if ckpt is not None and not ckpt.with_suffix(".safetensors").exists():
                print(f"# no {m} checkpoint for {scs} kHz in {ckpt_dir}; skipped", flush=True)
                continue
            res[m] = api.evaluate(m, scs, args.seed, checkpoint=ckpt, n_windows=args.windows)
            r = res[m]
            print(f"detcom.transport.scs{scs}.{m}.total_cost: {r['total_cost']:.1f} cost")
            print(
                f"detcom.transport.scs{scs}.{m}.deadline_success: {100 * r['deadline_success']:.3f} %"
            )
            print(
                f"detcom.transport.scs{scs}.{m}.loss_rate: {100 * r['loss_rate']:.3f} %", flush=True
            )
        fl = api.cost_floor(scs, args.seed, n_windows=args.windows)
        print(f"detcom.transport.scs{scs}.cost_floor: {fl['floor']:.1f} cost")
        print(f"detcom.transport.scs{scs}.wired_cost: {fl['wired']:.1f} cost")
        for m, margin in PAPER_MARGINS_60KHZ.items():
            if m in res:
                need = res[m]["total_cost"] * (1 - margin)
                print(f"detcom.transport.scs{scs}.paper_margin_vs_{m}: {need:.1f} cost")
        if "d3qn" in res:
            for m in ("dqn", "sa", "ddqn", "random", "model-greedy", "clairvoyant"):
                if m in res:
                    rel = 100 * (res["d3qn"]["total_cost"] / res[m]["total_cost"] - 1)
                    print(f"detcom.transport.scs{scs}.d3qn_vs_{m}: {rel:+.1f} %")
        seed_dirs = api.training_seed_dirs()
        if args.checkpoints is None and len(seed_dirs) > 1:
            means = {}
            for m in api.LEARNED:
                r = api.evaluate_over(m, scs, args.seed, seed_dirs, n_windows=args.windows)
                means[m] = r["total_cost"]
                pre = f"detcom.transport.scs{scs}.{m}.seeds"
                print(f"{pre}.total_cost: {r['total_cost']:.1f} cost")
                print(f"{pre}.total_cost_std: {r['total_cost_std']:.1f} cost")
                print(f"{pre}.deadline_success: {100 * r['deadline_success']:.3f} %", flush=True)
            means["sa"] = res["sa"]["total_cost"]
            for m in ("dqn", "sa", "ddqn"):
                rel = 100 * (means["d3qn"] / means[m] - 1)
                print(f"detcom.transport.scs{scs}.seeds.d3qn_vs_{m}: {rel:+.1f} %")
        for m in api.LEARNED:
            try:
                h = api.history(ckpt_dir / f"transport_{m}_scs{scs}")
            except FileNotFoundError:
                continue
            print(f"detcom.transport.scs{scs}.{m}.train_seconds: {h['train_seconds']:.0f} s")
            ce = convergence_episode(h["episode_cost"])
            print(f"detcom.transport.scs{scs}.{m}.converged_episode: {ce} episodes", flush=True)

    if args.train_seconds:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            api.train("d3qn", 60, 0, Path(tmp), progress=False)
            print(f"detcom.transport.train_d3qn_here: {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
