"""Figures of the RLMS-CPN report (matplotlib, Agg). Each names the command that made it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {
    "RLMS-CPN": "#1f77b4",
    "MLP": "#9467bd",
    "RLMS-CPN (Alg. 1)": "#17becf",
    "GNN+DQN": "#8c564b",
    "Base1": "#ff7f0e",
    "Base2": "#2ca02c",
    "Base3": "#d62728",
    "Base4": "#e377c2",
}


def _finish(fig, out: Path, command: str) -> Path:
    fig.text(0.005, 0.005, f"made by: {command}", fontsize=6, color="0.35")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def grouped_bars(
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    out: Path,
    command: str,
    ylabel: str,
    title: str,
    log: bool = False,
    hatch_prefix: str = "paper",
) -> Path:
    """Bars per group (x) and series (colour); series named ``paper ...`` are hatched."""
    fig, ax = plt.subplots(figsize=(max(6.5, 1.6 * len(groups) + 2.5), 4.2))
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(series))
    for i, (name, vals) in enumerate(series.items()):
        base = name.removeprefix(f"{hatch_prefix} ").strip()
        paper = name.startswith(hatch_prefix)
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            [np.nan if v is None else v for v in vals],
            width,
            label=name,
            color=COLORS.get(base, COLORS.get(name.split()[-1])),
            hatch="//" if paper else None,
            alpha=0.55 if paper else 1.0,
            edgecolor="k" if paper else None,
            linewidth=0.3,
        )
    ax.set_xticks(x, groups, rotation=10)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7, ncol=2)
    return _finish(fig, out, command)


def lines(
    xs: Sequence[float],
    series: dict[str, Sequence[float]],
    out: Path,
    command: str,
    xlabel: str,
    ylabel: str,
    title: str,
    hlines: dict[str, float] | None = None,
    xs_by_series: dict[str, Sequence[float]] | None = None,
) -> Path:
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for name, ys in series.items():
        x = (xs_by_series or {}).get(name, xs)
        dashed = name.startswith("paper")
        ax.plot(x, ys, ls="--" if dashed else "-", marker="o", ms=3, label=name)
    for name, y in (hlines or {}).items():
        if name.startswith("target"):
            ax.axhline(y, ls="--", lw=1.2, color="k", label=name)
        else:
            ax.axhline(y, ls=":", lw=1, color=COLORS.get(name.split()[0], "0.4"), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _finish(fig, out, command)


def per_task(series: dict[str, Sequence[float]], out: Path, command: str, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(8.0, 4.0))
    for name, ys in series.items():
        ax.plot(
            np.arange(len(ys)),
            ys,
            lw=1.0 if name == "RLMS-CPN" else 0.7,
            color=COLORS.get(name),
            label=name,
            alpha=1.0 if name == "RLMS-CPN" else 0.75,
        )
    ax.set_xlabel("task index")
    ax.set_ylabel("response latency (ms)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=4)
    return _finish(fig, out, command)
