"""Matplotlib (Agg) figures of the Det(Com)² report; each function writes one PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {
    "mappo": "#1f77b4",
    "ippo": "#17becf",
    "greedy": "#d62728",
    "greedy_balance": "#ff9896",
    "round_robin": "#2ca02c",
    "random": "#7f7f7f",
    "d3qn": "#1f77b4",
    "dqn": "#ff7f0e",
    "ddqn": "#2ca02c",
    "sa": "#d62728",
}


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def orchestration_bars(rows: dict[str, dict[str, Any]], path: Path) -> Path:
    names = [n for n, r in rows.items() if "util_var" in r]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, key, label in zip(
        axes,
        ("util_var", "acceptance", "deadline_success"),
        ("utilisation variance across domains", "acceptance rate", "deadline success (accepted)"),
        strict=True,
    ):
        vals = [rows[n][key] for n in names]
        ax.bar(names, vals, color=[COLORS.get(n, "#333") for n in names])
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", rotation=35, labelsize=8)
        if key != "util_var":
            lo = min(vals)
            ax.set_ylim(max(0.0, lo - 0.05), 1.0)
    return _save(fig, path)


def utilisation_traces(traces: dict[str, np.ndarray], path: Path, resource: int = 0) -> Path:
    """traces[name]: [K, M, 3] utilisation per slot (one episode)."""
    fig, axes = plt.subplots(1, len(traces), figsize=(4.2 * len(traces), 3.4), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, (name, tr) in zip(axes, traces.items(), strict=True):
        for m in range(tr.shape[1]):
            ax.plot(tr[:, m, resource], lw=0.9, label=f"domain {m + 1}")
        ax.set_title(f"{name}: compute utilisation", fontsize=10)
        ax.set_xlabel("slot")
    axes[0].set_ylabel("utilisation")
    axes[0].legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def learning_curves(
    curves: dict[str, dict[str, list[float]]], references: dict[str, float], path: Path
) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for name, c in curves.items():
        steps = np.asarray(c["env_steps"]) / 1e6
        axes[0].plot(steps, c["util_var"], label=name, color=COLORS.get(name))
        axes[1].plot(steps, c["return"], label=name, color=COLORS.get(name))
    for name, val in references.items():
        axes[0].axhline(
            val, ls="--", lw=0.9, color=COLORS.get(name, "#333"), label=f"{name} (eval)"
        )
    axes[0].set_title("training episodes: utilisation variance", fontsize=10)
    axes[1].set_title("training episodes: return (team reward)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("environment steps (millions)")
        ax.legend(fontsize=7)
    return _save(fig, path)


def convergence(
    curves: dict[str, list[float]],
    path: Path,
    ylabel: str,
    title: str,
    x: dict[str, list[float]] | None = None,
) -> Path:
    """One line per method; ``x[name]`` gives the episodes (default 1..n, smoothed)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        if x and name in x:
            ax.plot(x[name], ys, label=name.upper(), color=COLORS.get(name), marker=".", ms=3)
            continue
        w = max(1, len(ys) // 50)
        smooth = np.convolve(ys, np.ones(w) / w, mode="valid") if len(ys) > w else ys
        ax.plot(np.arange(len(smooth)) + w, smooth, label=name.upper(), color=COLORS.get(name))
    ax.set_xlabel("episode")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)


def cost_per_scs(costs: dict[int, dict[str, float]], path: Path) -> Path:
    scs = sorted(costs)
    methods = [
        m for m in ("d3qn", "ddqn", "dqn", "sa", "random") if any(m in costs[s] for s in scs)
    ]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / max(1, len(methods))
    for k, m in enumerate(methods):
        vals = [costs[s].get(m, np.nan) for s in scs]
        ax.bar(np.arange(len(scs)) + k * width, vals, width, label=m.upper(), color=COLORS.get(m))
    ax.set_xticks(np.arange(len(scs)) + width * (len(methods) - 1) / 2)
    ax.set_xticklabels([f"{s} kHz" for s in scs])
    ax.set_ylabel("total system cost P")
    ax.set_title("total cost of 3000 tasks per SCS (cf. paper Fig. 5b)", fontsize=10)
    ax.legend(fontsize=8)
    return _save(fig, path)


def cost_per_scs_seeds(
    means: dict[int, dict[str, float]],
    stds: dict[int, dict[str, float]],
    refs: dict[int, dict[str, float]],
    path: Path,
) -> Path:
    """Fig. 5b over training seeds: mean bars with ± sd whiskers, and per SCS the cost floor and
    the clairvoyant reference as horizontal ticks (the y axis starts near the floor)."""
    scs = sorted(means)
    methods = [m for m in ("d3qn", "ddqn", "dqn", "sa") if all(m in means[s] for s in scs)]
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(scs))
    for k, m in enumerate(methods):
        vals = [means[s][m] for s in scs]
        err = [stds[s][m] for s in scs] if all(m in stds[s] for s in scs) else None
        ax.bar(
            x + k * width, vals, width, yerr=err, capsize=3, label=m.upper(), color=COLORS.get(m)
        )
    span = width * len(methods)
    for name, style in (("floor", "k-"), ("clairvoyant", "k--")):
        for i, s in enumerate(scs):
            if name in refs.get(s, {}):
                ax.plot(
                    [x[i] - width / 2, x[i] - width / 2 + span],
                    [refs[s][name]] * 2,
                    style,
                    label=name if i == 0 else None,
                )
    lo = (
        min(r.get("floor", np.inf) for r in refs.values())
        if refs
        else min(min(v.values()) for v in means.values())
    )
    hi = max(means[s][m] + stds[s].get(m, 0.0) for s in scs for m in methods)
    ax.set_ylim(lo - 20, hi + 15)
    ax.set_xticks(x + width * (len(methods) - 1) / 2)
    ax.set_xticklabels([f"{s} kHz" for s in scs])
    ax.set_ylabel("total system cost P (axis not from 0)")
    ax.set_title(
        "total cost of 3000 tasks, mean ± sd over training seeds (cf. Fig. 5b)", fontsize=10
    )
    ax.legend(fontsize=8, ncol=3)
    return _save(fig, path)


def coupling_bars(rows: dict[int, dict[str, dict[str, Any]]], path: Path) -> Path:
    scs = sorted(rows)
    systems = [n for n in next(iter(rows.values())) if all("error" not in rows[s][n] for s in scs)]
    keys = (("total_cost", "transport total cost"), ("joint_success", "end-to-end success"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    width = 0.8 / max(1, len(systems))
    for ax, (key, label) in zip(axes, keys, strict=True):
        for k, sysname in enumerate(systems):
            vals = [rows[s][sysname].get(key, np.nan) for s in scs]
            ax.bar(np.arange(len(scs)) + k * width, vals, width, label=sysname)
        ax.set_xticks(np.arange(len(scs)) + width * (len(systems) - 1) / 2)
        ax.set_xticklabels([f"{s} kHz" for s in scs])
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    return _save(fig, path)
