"""``python -m agents.rlmscpn train|eval|report``.

train   train RLMS-CPN (SyncGNN), the MLP ablation, Algorithm 1 and/or GNN+DQN on a topology;
        resumable (Ctrl-C, then the same command continues)
eval    every method's mean response latency on the same seeded test tasks
        (``--json``: one JSON object {method: ms}); trains first where a policy is missing
report  regenerate agents/rlmscpn/report/REPORT.md and its plots
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from agents.rlmscpn.experiment import (
    VARIANTS,
    evaluate_methods,
    find_policy,
    improvement,
    load_actor,
    policy_stem,
    search_dirs,
    task_seeds,
    train_variant,
    tuned_baselines,
)
from agents.rlmscpn.scenario import cache_dir, make_scenario, scenario_from_sidecar


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topology", default="abilene", help="paper topology name or topology file")
    p.add_argument("--seed", type=int, default=0, help="training / test-task seed")
    p.add_argument(
        "--data-dir", type=Path, default=None, help="directory laid out like shared/data"
    )
    p.add_argument("--placement-seed", type=int, default=0, help="seed of AP/device placement")
    p.add_argument(
        "--predictions",
        choices=("tsft", "oracle"),
        default="tsft",
        help="compute latency the scheduler sees: TSFT predictions or the ground truth",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m agents.rlmscpn",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train policies for a topology")
    _add_common(tr)
    tr.add_argument(
        "--methods",
        default="syncgnn,mlp,dqn",
        help=f"comma-separated subset of {','.join(VARIANTS)}",
    )
    tr.add_argument("--minutes", type=float, default=15.0, help="budget per actor-critic method")
    tr.add_argument("--dqn-minutes", type=float, default=3.0, help="budget for GNN+DQN")
    tr.add_argument("--steps", type=int, default=None, help="cap on training tasks per method")
    tr.add_argument(
        "--out", type=Path, default=None, help=f"policy directory (default {cache_dir()})"
    )
    tr.add_argument("--force", action="store_true", help="discard existing policy and state")

    ev = sub.add_parser("eval", help="mean response latency of every method")
    _add_common(ev)
    ev.add_argument("--tasks", type=int, default=100, help="number of test tasks")
    ev.add_argument("--task-kind", choices=("mixed", "io", "compute"), default="mixed")
    ev.add_argument("--io-mb", type=float, default=1.0, help="data per transfer of IO-bound tasks")
    ev.add_argument("--policy-dir", type=Path, default=None, help="extra policy directory")
    ev.add_argument(
        "--train-minutes",
        type=float,
        default=15.0,
        help="budget when a policy must be trained first",
    )
    ev.add_argument(
        "--tune-episodes",
        type=int,
        default=3,
        help="validation episodes for tuning the LP baselines' demand window",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object {method: ms}")

    rp = sub.add_parser("report", help="regenerate the RLMS-CPN report")
    rp.add_argument("--out", type=Path, default=Path(__file__).with_name("report"))
    rp.add_argument("--data-dir", type=Path, default=None)
    rp.add_argument("--seed", type=int, default=0)
    rp.add_argument("--tasks", type=int, default=500, help="test tasks per topology")
    rp.add_argument(
        "--minutes",
        type=float,
        default=4.0,
        help="training budget per method on topologies other than Abilene",
    )
    rp.add_argument(
        "--abilene-minutes",
        type=float,
        default=15.0,
        help="budget when an Abilene policy (e.g. Algorithm 1) must be trained",
    )
    rp.add_argument(
        "--large-minutes",
        type=float,
        default=10.0,
        help="training budget on the large topologies (UsCarrier, Kdl, ASN)",
    )
    rp.add_argument("--only", default=None, help="comma-separated report sections to rerun")
    rp.add_argument("--threads", type=int, default=1)
    rp.add_argument("--quiet", action="store_true")
    return ap


def cmd_train(args: argparse.Namespace) -> int:
    scenario = make_scenario(args.topology, args.data_dir, args.placement_seed)
    out = args.out or cache_dir()
    sim = scenario.build(predictions=args.predictions)
    for variant in [m.strip() for m in args.methods.split(",") if m.strip()]:
        if variant not in VARIANTS:
            print(f"unknown method {variant!r}; known: {', '.join(VARIANTS)}", file=sys.stderr)
            return 2
        stem = policy_stem(scenario, variant, out)
        state = stem.with_suffix(".train.pt")
        if args.force:
            for f in (stem.with_suffix(".json"), stem.with_suffix(".safetensors"), state):
                f.unlink(missing_ok=True)
        elif stem.with_suffix(".safetensors").exists() and not state.exists():
            print(f"{stem} exists (use --force to retrain)", file=sys.stderr)
            continue
        minutes = args.dqn_minutes if variant == "dqn" else args.minutes
        init = None
        if variant in {"io", "compute"}:  # specialised from the mixed-task policy, if any
            init = find_policy(scenario, "syncgnn", search_dirs(Path(out)))
        stem = train_variant(
            scenario,
            variant,
            out,
            args.seed,
            minutes,
            args.steps,
            not args.quiet,
            sim=sim,
            init_from=init,
        )
        state.unlink(missing_ok=True)
        _, meta = load_checkpoint_meta(stem)
        info = meta["config"]["training"]
        print(f"{VARIANTS[variant][1]}: {stem} ({json.dumps(_brief(info))})", file=sys.stderr)
    return 0


def load_checkpoint_meta(stem: Path):
    from agents.common.checkpoint import load_checkpoint

    return load_checkpoint(stem)


def _brief(info: dict) -> dict:
    return {k: v for k, v in info.items() if k != "history"}


def cmd_eval(args: argparse.Namespace) -> int:
    dirs = search_dirs(args.policy_dir)
    probe = make_scenario(args.topology, args.data_dir, args.placement_seed)
    stems = {v: find_policy(probe, v, dirs) for v in ("syncgnn", "mlp", "dqn")}
    if stems["syncgnn"] is not None:
        _, meta = load_checkpoint_meta(stems["syncgnn"])
        scenario = scenario_from_sidecar(meta["config"], args.data_dir)
    else:
        scenario = probe
    sim = scenario.build(predictions=args.predictions)
    out_dir = args.policy_dir or cache_dir()
    for variant, stem in stems.items():
        if stem is None:
            print(
                f"no {VARIANTS[variant][1]} policy for {scenario.topology.describe()}: "
                f"training one into {out_dir}",
                file=sys.stderr,
            )
            minutes = min(args.train_minutes, 3.0) if variant == "dqn" else args.train_minutes
            stems[variant] = train_variant(
                scenario, variant, out_dir, args.seed, minutes, None, not args.quiet, sim=sim
            )
            policy_stem(scenario, variant, out_dir).with_suffix(".train.pt").unlink(missing_ok=True)
    learned = {VARIANTS[v][1]: load_actor(stem)[0] for v, stem in stems.items()}
    seeds, per = task_seeds(args.tasks, args.seed, sim.cfg.episode_tasks)
    kw = {"io_data_mb": args.io_mb} if args.task_kind == "io" else {}
    stats = evaluate_methods(
        sim,
        learned,
        seeds,
        per,
        args.task_kind,
        tuned_baselines(sim, args.seed, args.tune_episodes),
        **kw,
    )
    means = {name: round(s.mean_ms, 4) for name, s in stats.items()}
    if args.json:
        print(json.dumps(means))
        return 0
    ours = means["RLMS-CPN"]
    print(f"{scenario.topology.describe()}: {len(seeds) * per} tasks, seed {args.seed}")
    for name, ms in means.items():
        extra = "" if name == "RLMS-CPN" else f"  (RLMS-CPN {improvement(ours, ms):+.2f}%)"
        print(f"  {name:12s} {ms:9.3f} ms{extra}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from agents.rlmscpn.report import generate_report

    path = generate_report(
        args.out,
        data_dir=args.data_dir,
        seed=args.seed,
        n_tasks=args.tasks,
        minutes=args.minutes,
        only=set(args.only.split(",")) if args.only else None,
        progress=not args.quiet,
        abilene_minutes=args.abilene_minutes,
        large_minutes=args.large_minutes,
    )
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, args.threads))
    try:
        return {"train": cmd_train, "eval": cmd_eval, "report": cmd_report}[args.command](args)
    except KeyboardInterrupt:
        print(
            "interrupted: training state saved; rerun the same command to resume", file=sys.stderr
        )
        return 130
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
