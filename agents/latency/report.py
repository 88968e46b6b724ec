"""Table 5 of the RLMS-CPN paper on our data: TSFT vs baselines on held-out (new) devices.

``table5_rows`` trains (or loads from the cache) a base model on every device of the CSV except
the held-out ones, adapts to each held-out device from ``labelled`` seeded cells, and scores TSFT,
its stage-1 model, the base model and the baselines with the paper's metric (MSE on latency
min-max normalised per device over all cells). ``plot_table5`` draws the rows beside the paper's
TSFT average (0.00304); ``format_markdown`` renders them for a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from agents.latency.basecache import load_or_train, training_devices
from agents.latency.dataset import load_latency_csv
from agents.latency.devices import device_kind
from agents.latency.evaluate import METHODS, score_device
from agents.latency.train import TrainConfig

#: Held out by default: a whole GPU family, a server CPU and a phone of the visible NB201 table.
DEFAULT_HOLDOUT = ("titanxp_1", "titanxp_32", "titanxp_256", "gold_6240", "pixel3")
#: The paper's Table 5 (MSE, new devices of NAS-Bench-201; its devices are not in our table).
PAPER_TABLE5: dict[str, dict[str, float]] = {
    "FLOPS": {
        "titan_rtx_256": 0.083,
        "gold_6226": 0.069,
        "fpga": 0.106,
        "raspi4": 0.051,
        "eyeriss": 0.14,
        "average": 0.0898,
    },
    "Layer-wise": {
        "titan_rtx_256": 0.058,
        "gold_6226": 0.072,
        "fpga": 0.064,
        "raspi4": 0.251,
        "eyeriss": 0.094,
        "average": 0.1078,
    },
    "BRP-NAS": {
        "titan_rtx_256": 0.0061,
        "gold_6226": 0.0023,
        "fpga": 0.0012,
        "raspi4": 0.0146,
        "eyeriss": 0.0014,
        "average": 0.00512,
    },
    "base model": {
        "titan_rtx_256": 0.011,
        "gold_6226": 0.006,
        "fpga": 0.006,
        "raspi4": 0.020,
        "eyeriss": 0.066,
        "average": 0.0218,
    },
    "TSFT": {
        "titan_rtx_256": 0.0005,
        "gold_6226": 0.0015,
        "fpga": 0.0016,
        "raspi4": 0.0093,
        "eyeriss": 0.0023,
        "average": 0.00304,
    },
}
PAPER_TSFT_MSE = PAPER_TABLE5["TSFT"]["average"]
PAPER_TSFT_FINETUNE_S = 8.656  # Table 6
METHOD_LABELS = {
    "tsft": "TSFT (ours)",
    "tsft_stage1": "TSFT stage 1 only",
    "base": "base model",
    "flops": "FLOPs-linear",
    "layerwise": "layer-wise sum",
    "brpnas": "BRP-NAS GCN",
}


def table5_rows(
    csv_path: str | Path,
    seed: int = 0,
    holdout: list[str] | tuple[str, ...] | None = None,
    labelled: int = 50,
    repeats: int = 3,
    cache: str | Path | None = None,
    epochs: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """One row per held-out device (mean over ``repeats`` labelled draws) and an ``average`` row.

    Each row: ``device``, ``kind``, the MSE of every method in :data:`METHODS`, ``finetune_s``
    (TSFT, mean), ``labelled``, ``repeats``, ``seed``, ``command``."""
    table = load_latency_csv(csv_path)
    wanted = list(holdout) if holdout else [d for d in DEFAULT_HOLDOUT if d in table.devices]
    if not wanted:
        raise ValueError(
            f"none of the held-out devices {DEFAULT_HOLDOUT} is in {csv_path}; pass holdout="
        )
    for d in wanted:
        table.column(d)  # KeyError naming the table's devices
    cfg = TrainConfig(seed=seed) if epochs is None else TrainConfig(seed=seed, epochs=epochs)
    devices = training_devices(table, wanted)
    predictor, _, _ = load_or_train(table, devices, cfg, Path(cache) if cache else None, progress)
    predictor.warmup()
    command = (
        f"python -m agents.latency table5 --csv {Path(csv_path).name} --seed {seed} --labelled {labelled} "
        f"--repeats {repeats} --holdout {' '.join(wanted)}"
        + (f" --epochs {epochs}" if epochs else "")
    )
    rows = []
    jobs = [(d, r) for d in wanted for r in range(repeats)]
    scores: dict[str, list] = {d: [] for d in wanted}
    for device, r in tqdm(jobs, desc="Table 5", unit="run", disable=not progress):
        scores[device].append(
            score_device(predictor, table.ops, table.column(device), device, labelled, seed + r)
        )
    for device in wanted:
        runs = scores[device]
        try:
            kind = device_kind(device)
        except ValueError:
            kind = "unknown"
        row: dict[str, Any] = {"device": device, "kind": kind}
        row.update({m: float(np.mean([s.mse[m] for s in runs])) for m in METHODS})
        row["finetune_s"] = float(np.mean([s.finetune_s for s in runs]))
        row.update({"labelled": labelled, "repeats": repeats, "seed": seed, "command": command})
        rows.append(row)
    avg: dict[str, Any] = {"device": "average", "kind": "-"}
    avg.update({m: float(np.mean([r[m] for r in rows])) for m in (*METHODS, "finetune_s")})
    avg.update({"labelled": labelled, "repeats": repeats, "seed": seed, "command": command})
    avg["training_devices"] = list(devices)
    rows.append(avg)
    return rows


def format_markdown(rows: list[dict[str, Any]]) -> str:
    """Rows as a markdown table (methods as rows, devices as columns, like the paper)."""
    devices = [r["device"] for r in rows]
    lines = ["| method | " + " | ".join(devices) + " |", "|---" * (len(devices) + 1) + "|"]
    for m in METHODS:
        best = [min(r[k] for k in METHODS if k != "tsft_stage1") for r in rows]
        cells = [
            f"**{r[m]:.5f}**" if r[m] == b else f"{r[m]:.5f}"
            for r, b in zip(rows, best, strict=True)
        ]
        lines.append(f"| {METHOD_LABELS[m]} | " + " | ".join(cells) + " |")
    lines.append(
        "| TSFT fine-tune s | " + " | ".join(f"{r['finetune_s']:.3f}" for r in rows) + " |"
    )
    lines.append("")
    lines.append(
        f"Paper (its devices titan_rtx_256, gold_6226, fpga, raspi4, eyeriss): TSFT average "
        f"{PAPER_TSFT_MSE}, BRP-NAS {PAPER_TABLE5['BRP-NAS']['average']}, base model "
        f"{PAPER_TABLE5['base model']['average']}, FLOPS {PAPER_TABLE5['FLOPS']['average']}, "
        f"Layer-wise {PAPER_TABLE5['Layer-wise']['average']}; fine-tuning {PAPER_TSFT_FINETUNE_S} s/device."
    )
    if rows and rows[-1].get("command"):
        lines.append(f"Made by: `{rows[-1]['command']}`")
    return "\n".join(lines)


def plot_table5(rows: list[dict[str, Any]], out_png: str | Path) -> Path:
    """Grouped bars (log MSE) per device and method; the paper's TSFT average as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = [m for m in METHODS if m != "tsft_stage1"]
    devices = [r["device"] for r in rows]
    x = np.arange(len(devices))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.3 * len(devices) + 4), 4.2))
    for i, m in enumerate(methods):
        ax.bar(
            x + (i - (len(methods) - 1) / 2) * width,
            [r[m] for r in rows],
            width,
            label=METHOD_LABELS[m],
        )
    ax.axhline(
        PAPER_TSFT_MSE, color="k", ls="--", lw=1, label=f"paper TSFT average ({PAPER_TSFT_MSE})"
    )
    ax.set_yscale("log")
    ax.set_xticks(x, devices, rotation=20)
    ax.set_ylabel("MSE (latency min-max normalised per device)")
    n_lab = rows[0].get("labelled", 50) if rows else 50
    ax.set_title(f"Latency prediction on new devices, {n_lab} labelled cells")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if rows and rows[-1].get("command"):
        fig.text(0.01, 0.005, rows[-1]["command"], fontsize=6, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
