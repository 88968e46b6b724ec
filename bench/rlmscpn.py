"""RLMS-CPN figures: latency against every baseline, decision time, simulator speed.

Prints one ``name: value unit`` line per figure. Default (a few minutes on 2 cores): Abilene
with the shipped policies (300 test tasks: mean latency of each method, RLMS-CPN's improvement
over each and on average, the paper's 22.61 % beside it), decision time per task through the
policy interface on Abilene and on the 1739-node ASN graph (real file when present, else the
stand-in), and simulator throughput. ``--topologies ebone,sprintlink,...`` adds topologies
(training policies first where missing: minutes each).

    python bench/rlmscpn.py [--tasks 300] [--seed 0] [--topologies abilene,ebone]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from agents.rlmscpn.baselines import PredictAndPick  # noqa: E402
from agents.rlmscpn.experiment import (  # noqa: E402
    VARIANTS,
    evaluate_methods,
    find_policy,
    improvement,
    load_actor,
    search_dirs,
    task_seeds,
    tuned_baselines,
)
from agents.rlmscpn.policy import RlmsCpnPolicy  # noqa: E402
from agents.rlmscpn.report import FIVE, PAPER_HEADLINE, _decision_times  # noqa: E402
from agents.rlmscpn.report_extra import tune_predict_and_pick  # noqa: E402
from agents.rlmscpn.runner import run_heuristic  # noqa: E402
from agents.rlmscpn.scenario import make_scenario, scenario_from_sidecar  # noqa: E402


def latency_figures(spec: str, n_tasks: int, seed: int) -> None:
    probe = make_scenario(spec)
    stems = {v: find_policy(probe, v, search_dirs(None)) for v in ("syncgnn", "mlp", "dqn")}
    missing = [v for v, s in stems.items() if s is None]
    if missing:
        print(
            f"# {spec}: no {missing} policy; run python -m agents.rlmscpn train --topology {spec}"
        )
        return
    from agents.common.checkpoint import load_checkpoint

    scen = scenario_from_sidecar(load_checkpoint(stems["syncgnn"])[1]["config"])
    sim = scen.build()
    learned = {VARIANTS[v][1]: load_actor(s)[0] for v, s in stems.items()}
    seeds, per = task_seeds(n_tasks, seed, sim.cfg.episode_tasks)
    stats = evaluate_methods(sim, learned, seeds, per, baselines=tuned_baselines(sim, seed))
    window, _ = tune_predict_and_pick(sim, seed)
    stats["predict-and-pick"] = run_heuristic(PredictAndPick(window), sim, seeds, per)
    means = {k: s.mean_ms for k, s in stats.items()}
    key = spec.lower()
    for name, ms in means.items():
        slug = name.lower().replace("+", "_").replace(" ", "_").replace("-", "_")
        print(f"rlmscpn.{key}.mean_latency.{slug}: {ms:.3f} ms")
    imps = [improvement(means["RLMS-CPN"], means[n]) for n in FIVE]
    for n, imp in zip(FIVE, imps, strict=True):
        slug = n.lower().replace("+", "_")
        print(f"rlmscpn.{key}.improvement_vs_{slug}: {imp:.2f} %")
    print(f"rlmscpn.{key}.mean_improvement_5_baselines: {np.mean(imps):.2f} %")
    print(f"rlmscpn.{key}.paper_mean_improvement: {PAPER_HEADLINE:.2f} %")
    print(
        f"rlmscpn.{key}.ratio_best_baseline_over_ours: "
        f"{min(means[n] for n in FIVE) / means['RLMS-CPN']:.3f} x"
    )
    # the information-matched heuristic (target > 0 on each topology)
    pp = improvement(means["RLMS-CPN"], means["predict-and-pick"])
    print(f"rlmscpn.{key}.improvement_vs_predict_and_pick: {pp:.2f} %")
    print(f"rlmscpn.{key}.test_tasks: {len(seeds) * per} tasks")


def decision_figures(seed: int) -> None:
    torch.set_num_threads(1)
    abilene = make_scenario("abilene")
    stem = find_policy(abilene, "syncgnn", search_dirs(None))
    if stem is None:
        print("# no Abilene policy: run python -m agents.rlmscpn train --topology abilene")
        return
    for spec in ("abilene", "asn"):
        scen = make_scenario(spec)
        sim = scen.build()
        base = RlmsCpnPolicy.load(stem)  # decision time does not depend on training: the
        policy = RlmsCpnPolicy(base.model, scen.topology)  # Abilene weights serve any graph
        t0 = time.perf_counter()
        for ap in sim.access_points:
            policy.sched.distances(ap)
            for v in sim.compute_nodes.tolist():
                policy.sched.paths(ap, int(v))
        warm = time.perf_counter() - t0
        times = np.array(_decision_times(policy, sim, seed)) * 1e3
        print(f"rlmscpn.{spec}.decision_time_mean: {times.mean():.3f} ms")
        print(f"rlmscpn.{spec}.decision_time_p99: {np.percentile(times, 99):.3f} ms")
        print(f"rlmscpn.{spec}.path_precompute: {warm:.2f} s")
        target = 0.5 if spec == "abilene" else 10.0
        print(f"rlmscpn.{spec}.decision_time_target_ratio: {times.mean() / target:.3f} x")


def sim_figures(seed: int) -> None:
    scen = make_scenario("abilene")
    sim = scen.build()
    sim.reset(seed, 2000)
    t0 = time.perf_counter()
    while not sim.done:
        sim.snapshot()
        sim.execute(sim.candidates()[0], np.ones(3))
    dt = time.perf_counter() - t0
    print(f"rlmscpn.sim.abilene_tasks_per_s: {2000 / dt:.0f} tasks/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--topologies", default="abilene")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for spec in args.topologies.split(","):
        latency_figures(spec.strip(), args.tasks, args.seed)
    decision_figures(args.seed)
    sim_figures(args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
