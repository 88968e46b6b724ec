"""``python -m agents.detcom``: train, evaluate and report the Det(Com)² schedulers.

train   MAPPO (and IPPO) cross-domain orchestration; D3QN/DQN/DDQN transport through
        ``agents.detcom.transport.api.train``. Resumable (``--out`` keeps the state), seeded,
        progress bars; ``--ship`` writes the trained actor to ``agents/detcom/policies/``.
eval    one JSON object (``--json``): per SCS each transport method's total cost and deadline
        success; per orchestration method its utilisation variance and acceptance rate.
report  ``agents/detcom/report/REPORT.md`` with PNG figures beside the paper's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

ORCH_METHODS = ("mappo", "ippo", "greedy", "round_robin", "random", "greedy_balance")
TRANSPORT_TRAINED = ("d3qn", "dqn", "ddqn")
TRANSPORT_METHODS = ("d3qn", "dqn", "ddqn", "sa", "random")
SCS = (15, 30, 60)


def _csv(kind: type, allowed: tuple | None = None):
    def parse(text: str) -> list:
        items = [kind(x) for x in text.split(",") if x.strip()]
        if allowed is not None:
            bad = [x for x in items if x not in allowed]
            if bad:
                raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {list(allowed)}")
        return items

    return parse


def shipped_actor(algo: str) -> Path:
    from agents.detcom.orchestration.policy import shipped_policy

    return shipped_policy(algo)


# ---- train ------------------------------------------------------------------------------
def _train_orchestration(args: argparse.Namespace) -> list[str]:
    from agents.detcom.orchestration.config import OrchestrationConfig
    from agents.detcom.orchestration.ppo import PPOConfig, PPOTrainer

    lines = []
    env_cfg = OrchestrationConfig(
        n_tasks=args.n_tasks, reward=args.reward, balance_features=args.balance_features
    )
    for algo in args.algo:
        kw = {"total_steps": args.steps} if args.steps else {}
        ppo = PPOConfig(algo=algo, n_envs=args.n_envs, **kw)
        trainer = PPOTrainer(
            env_cfg, ppo, seed=args.seed, checkpoint_dir=args.out / "orchestration"
        )
        resumed = (not args.fresh) and trainer.try_resume()
        limit = args.minutes * 60 if args.minutes else None
        history = trainer.train(progress=not args.quiet, time_limit_s=limit)
        last = next((r for r in reversed(history) if "util_var" in r), {})
        msg = (
            f"{algo}: {trainer.env_steps} env steps in {trainer.elapsed:.0f} s"
            f" ({trainer.cpu_seconds:.0f} s CPU)"
            f"{' (resumed)' if resumed else ''}; last episodes util_var "
            f"{last.get('util_var', math.nan):.5f} acceptance {last.get('acceptance', math.nan):.4f}"
        )
        if args.ship:
            command = " ".join(["python -m agents.detcom", *sys.argv[1:]])
            stem = trainer.save_policy(
                shipped_actor(algo), extra={"command": command, **_curve(history)}
            )
            msg += f"; shipped {stem.relative_to(Path.cwd()) if stem.is_relative_to(Path.cwd()) else stem}"
        lines.append(msg)
    return lines


def _curve(history: list[dict[str, float]], points: int = 120) -> dict[str, Any]:
    """A compact learning curve (episode rows) for the shipped sidecar and the report."""
    rows = [r for r in history if "util_var" in r]
    if len(rows) > points:
        idx = sorted({round(i * (len(rows) - 1) / (points - 1)) for i in range(points)})
        rows = [rows[i] for i in idx]
    keys = (
        "env_steps",
        "seconds",
        "cpu_seconds",
        "util_var",
        "acceptance",
        "deadline_success",
        "return",
    )
    return {
        "learning_curve": {k: [round(float(r.get(k, math.nan)), 6) for r in rows] for k in keys}
    }


def _train_transport(args: argparse.Namespace) -> list[str]:
    from agents.detcom.coupling import transport_api

    api = transport_api()
    lines = []
    for method in args.transport_methods:
        for scs in args.scs:
            t0 = time.monotonic()
            stem = api.train(
                method,
                scs,
                args.seed,
                args.out / "transport",
                episodes=args.episodes,
                resume=not args.fresh,
                progress=not args.quiet,
            )
            lines.append(f"{method} @ {scs} kHz: {stem} ({time.monotonic() - t0:.0f} s)")
    return lines


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    lines = []
    if args.part in ("orchestration", "all"):
        lines += _train_orchestration(args)
    if args.part in ("transport", "all"):
        lines += _train_transport(args)
    for line in lines:
        print(line)
    return 0


# ---- eval -------------------------------------------------------------------------------
def evaluate_transport(
    methods: list[str], scs_list: list[int], seed: int, n_tasks: int
) -> dict[str, Any]:
    """Per SCS, each transport method's metrics (via ``transport.api.evaluate``)."""
    from agents.detcom.coupling import TransportUnavailable, transport_api

    try:
        api = transport_api()
    except TransportUnavailable as exc:
        return {"available": False, "reason": str(exc)}
    out: dict[str, Any] = {}
    for scs in scs_list:
        row: dict[str, Any] = {}
        for method in methods:
            try:
                res = api.evaluate(method, scs, seed, n_tasks=n_tasks)
            except FileNotFoundError as exc:  # no trained checkpoint for this method
                row[method] = {"error": str(exc)}
                continue
            row[method] = {
                "total_cost": float(res["total_cost"]),
                "deadline_success": float(res["deadline_success"]),
                **{
                    k: _num(v)
                    for k, v in res.items()
                    if k not in ("total_cost", "deadline_success") and _is_num(v)
                },
            }
        out[str(scs)] = row
    return out


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _num(v: Any) -> float:
    return float(v)


def evaluate_orchestration(
    methods: list[str], seed: int, episodes: int, n_tasks: int, policy_dir: Path | None = None
) -> dict[str, Any]:
    from agents.detcom.orchestration.config import OrchestrationConfig
    from agents.detcom.orchestration.evaluate import (
        ACCEPTANCE_TOLERANCE,
        compare,
        make_orchestrator,
    )

    cfg = OrchestrationConfig(n_tasks=n_tasks)
    orchestrators, missing = [], {}
    for name in methods:
        ckpt = None
        if name in ("mappo", "ippo"):
            ckpt = (policy_dir / name) if policy_dir else shipped_actor(name)
            if not ckpt.with_suffix(".safetensors").exists():
                missing[name] = f"no checkpoint {ckpt}.safetensors (run train --ship)"
                continue
        orchestrators.append(make_orchestrator(name, seed, ckpt))
    out = compare(cfg, orchestrators, seed, episodes)
    table = {
        name: {k: (round(v, 8) if isinstance(v, float) else v) for k, v in row.items()}
        for name, row in out["methods"].items()
    }
    for name, reason in missing.items():
        table[name] = {"error": reason}
    return {
        "methods": table,
        "episodes": episodes,
        "n_tasks": n_tasks,
        "equal_acceptance": (
            f"acceptance >= greedy's - {ACCEPTANCE_TOLERANCE} on the same episodes"
        ),
    }


def cmd_eval(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(args.threads)
    result: dict[str, Any] = {"seed": args.seed}
    if not args.no_orchestration:
        result["orchestration"] = evaluate_orchestration(
            args.methods, args.seed, args.episodes, args.n_tasks, args.policy_dir
        )
    if not args.no_transport:
        result["scs_khz"] = evaluate_transport(
            args.transport_methods, args.scs, args.seed, args.transport_tasks
        )
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        _print_eval(result)
    return 0


def _print_eval(result: dict[str, Any]) -> None:
    orch = result.get("orchestration")
    if orch:
        print(
            f"orchestration (seed {result['seed']}, {orch['episodes']} episodes of {orch['n_tasks']} tasks)"
        )
        print(
            f"  {'method':<15}{'util var':>12}{'x greedy':>10}{'accept':>9}{'deadline':>10}  equal acc."
        )
        for name, row in orch["methods"].items():
            if "error" in row:
                print(f"  {name:<15}{row['error']}")
                continue
            print(
                f"  {name:<15}{row['util_var']:>12.6f}{row['util_var_ratio_vs_greedy']:>10.3f}"
                f"{row['acceptance']:>9.4f}{row['deadline_success']:>10.4f}  {row['equal_acceptance']}"
            )
    tr = result.get("scs_khz")
    if tr:
        if tr.get("available") is False:
            print(f"transport: unavailable ({tr['reason']})")
            return
        for scs, rows in tr.items():
            print(f"transport @ {scs} kHz")
            for name, row in rows.items():
                if "error" in row:
                    print(f"  {name:<8}{row['error']}")
                else:
                    print(
                        f"  {name:<8} total cost {row['total_cost']:>12.2f}  deadline {row['deadline_success']:.4f}"
                    )


# ---- report -----------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    import torch

    from agents.detcom.report.build import build_report

    torch.set_num_threads(args.threads)
    path = build_report(
        out_dir=args.out,
        seed=args.seed,
        episodes=args.episodes,
        n_tasks=args.n_tasks,
        scs_list=args.scs,
        transport_tasks=args.transport_tasks,
        progress=not args.quiet,
        sections=set(args.only.split(",")) if args.only else None,
    )
    print(f"wrote {path}")
    return 0


# ---- parser -----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m agents.detcom", description=__doc__.split("\n\n")[0]
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--threads", type=int, default=1, help="torch CPU threads")
        sp.add_argument("--n-tasks", type=int, default=3000, help="orchestration tasks/episode")
        sp.add_argument("--scs", type=_csv(int, SCS), default=list(SCS), help="SCS list (kHz)")
        sp.add_argument("--quiet", action="store_true", help="no progress bars")

    t = sub.add_parser("train", help="train MAPPO/IPPO and (via transport.api) D3QN/DQN/DDQN")
    common(t)
    t.add_argument("--part", choices=("orchestration", "transport", "all"), default="all")
    t.add_argument("--algo", type=_csv(str, ("mappo", "ippo")), default=["mappo"])
    t.add_argument(
        "--transport-methods", type=_csv(str, TRANSPORT_TRAINED), default=list(TRANSPORT_TRAINED)
    )
    t.add_argument(
        "--steps", type=int, default=None, help="orchestration env steps (default: PPOConfig)"
    )
    t.add_argument(
        "--minutes", type=float, default=None, help="wall-clock cap per orchestration run"
    )
    t.add_argument("--n-envs", type=int, default=32)
    t.add_argument(
        "--reward",
        choices=("deviation", "literal", "variance"),
        default="deviation",
        help="orchestration reward (variance: what the results table measures)",
    )
    t.add_argument(
        "--balance-features",
        action="store_true",
        help="orchestration observation with the post-placement variance features",
    )
    t.add_argument("--episodes", type=int, default=None, help="transport training episodes")
    t.add_argument("--out", type=Path, default=Path("runs/detcom"), help="checkpoints (resumable)")
    t.add_argument("--fresh", action="store_true", help="ignore saved state, start over")
    t.add_argument(
        "--ship", action="store_true", help="write the trained actor to agents/detcom/policies/"
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="evaluate every method on seeded episodes")
    common(e)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--episodes", type=int, default=8, help="orchestration episodes")
    e.add_argument("--methods", type=_csv(str, ORCH_METHODS), default=list(ORCH_METHODS))
    e.add_argument(
        "--transport-methods", type=_csv(str, TRANSPORT_METHODS), default=list(TRANSPORT_METHODS)
    )
    e.add_argument("--transport-tasks", type=int, default=3000)
    e.add_argument(
        "--policy-dir",
        type=Path,
        default=None,
        help="use DIR/mappo, DIR/ippo (e.g. runs/detcom/orchestration) instead of the shipped actors",
    )
    e.add_argument("--no-transport", action="store_true")
    e.add_argument("--no-orchestration", action="store_true")
    e.set_defaults(func=cmd_eval)

    r = sub.add_parser("report", help="write agents/detcom/report/REPORT.md and its figures")
    common(r)
    r.add_argument("--episodes", type=int, default=8)
    r.add_argument("--transport-tasks", type=int, default=3000)
    r.add_argument(
        "--only",
        default=None,
        help="comma-separated sections to recompute (orchestration, transport, coupling); "
        "the others are kept from the existing REPORT.md",
    )
    r.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "report")
    r.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
