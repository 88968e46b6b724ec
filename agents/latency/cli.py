"""``python -m agents.latency``: fit device coefficients, score TSFT on a new device, Table 5."""

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
        print(
            json.dumps(
                {
                    "device": row["device"],
                    "kind": row["kind"],
                    "holdout_r2": round(row.get("holdout_r2", float("nan")), 4),
                    "holdout_mse_norm": round(row.get("holdout_mse_norm", float("nan")), 6),
                    "holdout_mse_ms": round(row.get("holdout_mse_ms", float("nan")), 4),
                }
            )
        )
    print(f"wrote {out} ({len(model.devices)} devices)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agents.latency", description=__doc__)
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
