"""Transport-only CLI: ``python -m agents.detcom.transport train|eval|figures``.

(``python -m agents.detcom`` drives transport and orchestration together through ``api``.)

  train    train DQN/DDQN/D3QN per SCS (resumable; default output: the shipped policies)
  eval     total cost, deadline success and loss per method and SCS (``--json`` for one object)
  figures  Fig. 5a (convergence, from the checkpoints' histories) and Fig. 5b (total cost)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from agents.detcom.transport import api
from agents.detcom.transport.networks import DUELING_LAYOUTS


def _methods(values: list[str], allowed: tuple[str, ...]) -> list[str]:
    return list(allowed) if values == ["all"] else values


def _scs(values: list[str]) -> list[int]:
    return list(api.SCS_KHZ) if values == ["all"] else [int(v) for v in values]


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    for scs in _scs(args.scs):
        for method in _methods(args.method, api.LEARNED):
            t0 = time.monotonic()
            stem = api.train(
                method,
                scs,
                args.seed,
                Path(args.out_dir),
                episodes=args.episodes,
                resume=not args.no_resume,
                progress=not args.quiet,
                scenario=args.scenario,
                **({"dueling_layout": args.dueling_layout} if method == "d3qn" else {}),
            )
            print(f"{method} {scs} kHz: {stem} ({time.monotonic() - t0:.0f} s)", flush=True)
    return 0


def evaluate_all(
    methods: list[str],
    scs_list: list[int],
    seed: int,
    n_tasks: int,
    windows: int,
    ckpt_dir: Path | list[Path] | None,
    scenario: str = "case-study",
) -> dict[str, dict[str, dict]]:
    """Per SCS, each method's metrics. With several checkpoint directories (e.g. one per training
    seed) a learned method's entry is :func:`api.evaluate_over`'s mean over them, with its spread
    and the runs; other methods are evaluated once."""
    dirs = [ckpt_dir] if isinstance(ckpt_dir, Path) else list(ckpt_dir or [])
    kw = {"n_tasks": n_tasks, "n_windows": windows, "scenario": scenario}
    out: dict[str, dict[str, dict]] = {}
    for scs in scs_list:
        out[str(scs)] = {}
        for method in methods:
            if method in api.LEARNED and len(dirs) > 1:
                r = api.evaluate_over(method, scs, seed, dirs, **kw)
            else:
                d = dirs[0] if method in api.LEARNED and dirs else None
                ckpt = d / api.checkpoint_name(method, scs) if d is not None else None
                r = api.evaluate(method, scs, seed, checkpoint=ckpt, **kw)
            out[str(scs)][method] = r
    return out


def _checkpoint_dirs(values: list[str] | None) -> list[Path] | None:
    if not values:
        return None
    if values == ["seeds"]:
        return api.training_seed_dirs()
    return [Path(v) for v in values]


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    res = evaluate_all(
        _methods(args.methods, api.METHODS),
        _scs(args.scs),
        args.seed,
        args.n_tasks,
        args.windows,
        _checkpoint_dirs(args.checkpoints),
        args.scenario,
    )
    if args.json:
        print(json.dumps(res, indent=None if args.compact else 2))
        return 0
    for scs, row in res.items():
        for method, r in row.items():
            spread = ""
            if "runs" in r:
                each = " / ".join(f"{x['total_cost']:.1f}" for x in r["runs"])
                spread = f"  (± {r['total_cost_std']:.1f} over {len(r['runs'])}: {each})"
            print(
                f"{scs:>3} kHz {method:>6}: total cost {r['total_cost']:9.1f}  deadline success "
                f"{r['deadline_success']:.4%}  loss {r['loss_rate']:.4%}  RU/task "
                f"{r['mean_ru_per_5g_task']:.1f}{spread}"
            )
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    import torch

    from agents.detcom.transport.plots import plot_convergence, plot_total_cost

    torch.set_num_threads(args.threads)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = Path(args.checkpoints) if args.checkpoints else api.POLICY_DIR
    for scs in _scs(args.scs):
        hist = {m: api.history(ckpt_dir / f"transport_{m}_scs{scs}") for m in api.LEARNED}
        p = plot_convergence(
            {m: h["episode_cost"] for m, h in hist.items()},
            out / f"fig5a_training_cost_scs{scs}.png",
            title=f"Training episodes (300 tasks, exploration included), {scs} kHz",
        )
        print(p)
        evals = {
            m: (h["eval_episode"], h["eval_cost_per_3000"])
            for m, h in hist.items()
            if "eval_episode" in h
        }
        if evals:
            refs = {m: api.validation_reference(m, scs) for m in ("sa", "model-greedy")}
            p = plot_convergence(
                evals,
                out / f"fig5a_convergence_scs{scs}.png",
                references=refs,
                title=f"Fig. 5a: greedy policy on fixed validation windows, {scs} kHz",
                ylabel="total cost per 3000 tasks",
                log=False,
            )
            print(p)
    res = evaluate_all(
        list(api.METHODS), _scs(args.scs), args.seed, args.n_tasks, args.windows, ckpt_dir
    )
    costs = {int(s): {m: r["total_cost"] for m, r in row.items()} for s, row in res.items()}
    print(plot_total_cost(costs, out / "fig5b_total_cost.png"))
    (out / "fig5b_total_cost.json").write_text(json.dumps(res, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m agents.detcom.transport", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train learned schedulers (resumable)")
    t.add_argument("--method", nargs="+", default=["d3qn"], help="d3qn dqn ddqn | all")
    t.add_argument("--scs", nargs="+", default=["all"], help="15 30 60 | all")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--episodes", type=int, default=None)
    t.add_argument("--out-dir", default=str(api.POLICY_DIR))
    t.add_argument("--no-resume", action="store_true")
    t.add_argument("--quiet", action="store_true")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--scenario", choices=tuple(api.SCENARIOS), default="case-study")
    t.add_argument(
        "--dueling-layout",
        choices=DUELING_LAYOUTS,
        default="heads",
        help="D3QN: two linear heads on the 64-128 trunk (the shipped policies) or Wang et "
        "al.'s value and advantage streams of 128 units each after a shared 64-unit layer",
    )
    t.set_defaults(fn=cmd_train)
    e = sub.add_parser("eval", help="evaluate methods on the case study")
    e.add_argument("--methods", nargs="+", default=["all"])
    e.add_argument("--scs", nargs="+", default=["all"])
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--n-tasks", type=int, default=3000)
    e.add_argument(
        "--windows", type=int, default=1, help="independent 3000-task windows to average"
    )
    e.add_argument(
        "--checkpoints",
        nargs="+",
        default=None,
        help="directory of checkpoints (default: shipped); several (e.g. one per training "
        "seed): learned methods report the mean, its spread and each run; 'seeds': every "
        "shipped training seed",
    )
    e.add_argument("--json", action="store_true")
    e.add_argument("--compact", action="store_true")
    e.add_argument("--threads", type=int, default=1)
    e.add_argument(
        "--scenario",
        choices=tuple(api.SCENARIOS),
        default="case-study",
        help="learned methods need --checkpoints trained on the same scenario",
    )
    e.set_defaults(fn=cmd_eval)
    f = sub.add_parser("figures", help="Fig. 5a and 5b as PNG + JSON")
    f.add_argument("--out-dir", default="build/detcom_transport")
    f.add_argument("--scs", nargs="+", default=["all"])
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--n-tasks", type=int, default=3000)
    f.add_argument("--windows", type=int, default=1)
    f.add_argument("--checkpoints", default=None)
    f.add_argument("--threads", type=int, default=1)
    f.set_defaults(fn=cmd_figures)
    args = ap.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
