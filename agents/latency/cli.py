"""``python -m agents.latency``: device coefficients, base model, TSFT on a new device, Table 5.

fit-devices  refit the shipped per-device latency coefficients from a measured CSV
train-base   train a TSFT base model (resumable) and save it (the shipped one: default path)
tsft         score TSFT and the baselines on one device of a target CSV (one JSON line)
table5       Table 5 rows: TSFT vs baselines on held-out devices of one CSV
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agents.latency.dataset import load_latency_csv
from agents.latency.devices import DEFAULT_PATH, fit_device_model


def _cmd_fit_devices(args: argparse.Namespace) -> int:
    table = load_latency_csv(args.csv)
    model = fit_device_model(table, devices=args.devices, ridge=args.ridge, seed=args.seed)
    out = model.save(args.out)
    for row in model.fit_report():
        keys = ("holdout_r2", "holdout_mse_norm", "holdout_mse_ms")
        print(
            json.dumps(
                {
                    "device": row["device"],
                    "kind": row["kind"],
                    **{k: round(row.get(k, float("nan")), 6) for k in keys},
                }
            )
        )
    print(f"wrote {out} ({len(model.devices)} devices)", file=sys.stderr)
    return 0


def _train_config(args: argparse.Namespace):
    from agents.latency.train import TrainConfig

    return TrainConfig(epochs=args.epochs, seed=args.base_seed, max_cells=args.max_cells)


def _cmd_train_base(args: argparse.Namespace) -> int:
    import torch

    from agents.latency.basecache import training_devices
    from agents.latency.predictor import DEFAULT_STEM, LatencyPredictor

    torch.set_num_threads(args.threads)
    table = load_latency_csv(args.csv)
    devices = training_devices(table, args.exclude)
    out = Path(args.out) if args.out else DEFAULT_STEM
    state = out.with_name(out.name + ".state.pt")
    predictor = LatencyPredictor.train(
        table, devices, _train_config(args), state_path=state, progress=not args.quiet
    )
    # the command as a user types it (sys.argv[0] is __main__.py's path under -m)
    argv = [Path(a).name if a == str(args.csv) else a for a in sys.argv[1:]]
    predictor.provenance["command"] = " ".join(["python -m agents.latency", *argv])
    stem = predictor.save(out)
    state.unlink(missing_ok=True)
    print(
        json.dumps(
            {
                "checkpoint": str(stem),
                "devices": list(devices),
                "val_mse_z": predictor.provenance.get("final_val_mse"),
            }
        )
    )
    return 0


def _cmd_tsft(args: argparse.Namespace) -> int:
    import torch

    from agents.latency.basecache import load_or_train, training_devices
    from agents.latency.dataset import device_of_column
    from agents.latency.evaluate import score_device

    torch.set_num_threads(args.threads)
    train = load_latency_csv(args.train)
    target = (
        train
        if Path(args.target).resolve() == Path(args.train).resolve()
        else load_latency_csv(args.target)
    )
    device = device_of_column(args.device)
    y = target.column(device)
    devices = training_devices(train, [device, *(args.exclude or [])])
    predictor, cached, stem = load_or_train(
        train, devices, _train_config(args), args.cache, progress=not args.quiet
    )
    predictor.warmup()  # one-time costs (feature pass, lazy imports) are not fine-tuning
    score = score_device(
        predictor, target.ops, y, device, args.labelled, args.seed, baselines=not args.no_baselines
    )
    out = score.to_json()
    out["seed"] = args.seed
    out["ablations"] = {k: out["baselines"].pop(k) for k in ("tsft_stage1", "base")}
    out["base_model"] = {"checkpoint": str(stem), "cached": cached, "devices": list(devices)}
    print(json.dumps(out))
    return 0


def _cmd_table5(args: argparse.Namespace) -> int:
    import torch

    from agents.latency.report import format_markdown, plot_table5, table5_rows

    torch.set_num_threads(args.threads)
    rows = table5_rows(
        args.csv,
        args.seed,
        holdout=args.holdout,
        labelled=args.labelled,
        repeats=args.repeats,
        cache=args.cache,
        epochs=args.epochs,
        progress=not args.quiet,
    )
    for row in rows:
        print(json.dumps(row))
    if args.markdown:
        Path(args.markdown).write_text(format_markdown(rows) + "\n")
    if args.plot:
        plot_table5(rows, args.plot)
    return 0


def _add_base_options(p: argparse.ArgumentParser, seed_flag: str = "--base-seed") -> None:
    from agents.latency.train import TrainConfig

    d = TrainConfig()
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"base-model epochs ({d.epochs})")
    p.add_argument(
        seed_flag, dest="base_seed", type=int, default=d.seed, help="seed of base-model training"
    )
    p.add_argument("--max-cells", type=int, default=None, help="train on a seeded subset of cells")
    p.add_argument(
        "--exclude", nargs="*", default=None, help="devices (or globs) kept out of training"
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agents.latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit-devices", help="refit the per-device latency coefficients from a CSV")
    fit.add_argument("--csv", required=True, type=Path, help="table: index,arch,<device>_ms,...")
    fit.add_argument(
        "--out", type=Path, default=DEFAULT_PATH, help=f"JSON to write ({DEFAULT_PATH})"
    )
    fit.add_argument("--devices", nargs="*", default=None, help="columns to fit (default: all)")
    fit.add_argument("--ridge", type=float, default=1.0, help="ridge penalty on interaction terms")
    fit.add_argument("--seed", type=int, default=0, help="seed of the hold-out split for fit stats")
    fit.set_defaults(func=_cmd_fit_devices)

    tb = sub.add_parser("train-base", help="train a TSFT base model on every (non-excluded) column")
    tb.add_argument("--csv", required=True, type=Path)
    tb.add_argument(
        "--out", type=Path, default=None, help="checkpoint stem (default: the shipped one)"
    )
    _add_base_options(tb, seed_flag="--seed")
    tb.set_defaults(func=_cmd_train_base)

    ts = sub.add_parser("tsft", help="adapt to one device of TARGET.csv and score it (JSON line)")
    ts.add_argument("--train", required=True, type=Path, help="CSV of the training devices")
    ts.add_argument(
        "--target", required=True, type=Path, help="CSV holding the new device's column"
    )
    ts.add_argument("--device", required=True, help="the new device's column (with or without _ms)")
    ts.add_argument(
        "--labelled", type=int, default=50, help="labelled cells of the new device (50)"
    )
    ts.add_argument("--seed", type=int, default=0, help="seed of the labelled draw and fine-tuning")
    ts.add_argument("--cache", type=Path, default=None, help="base-model cache directory")
    ts.add_argument("--no-baselines", action="store_true", help="score TSFT only")
    _add_base_options(ts)
    ts.set_defaults(func=_cmd_tsft)

    t5 = sub.add_parser("table5", help="Table 5 rows on held-out devices of one CSV (JSON lines)")
    t5.add_argument("--csv", required=True, type=Path)
    t5.add_argument("--seed", type=int, default=0)
    t5.add_argument(
        "--holdout",
        nargs="*",
        default=None,
        help="held-out devices (default: titanxp_* gold_6240 pixel3)",
    )
    t5.add_argument("--labelled", type=int, default=50)
    t5.add_argument(
        "--repeats", type=int, default=3, help="labelled draws per device (seeds S..S+R-1)"
    )
    t5.add_argument("--cache", type=Path, default=None)
    t5.add_argument("--epochs", type=int, default=None, help="base-model epochs (default config)")
    t5.add_argument("--markdown", type=Path, default=None, help="also write the table as markdown")
    t5.add_argument("--plot", type=Path, default=None, help="also plot it (PNG)")
    t5.add_argument("--threads", type=int, default=1)
    t5.add_argument("--quiet", action="store_true")
    t5.set_defaults(func=_cmd_table5)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
