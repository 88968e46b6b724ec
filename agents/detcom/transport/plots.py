"""Fig. 5a (convergence) and Fig. 5b (total cost per SCS) as PNGs (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

COLORS = {
    "d3qn": "tab:red",
    "ddqn": "tab:blue",
    "dqn": "tab:green",
    "sa": "tab:orange",
    "random": "tab:gray",
    "model-greedy": "black",
}
LABELS = {
    "d3qn": "D3QN",
    "ddqn": "DDQN",
    "dqn": "DQN",
    "sa": "SA",
    "random": "Random",
    "model-greedy": "model-based greedy (reference)",
}


def moving_average(x: Sequence[float], window: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if window <= 1 or len(x) < window:
        return x
    c = np.cumsum(np.insert(x, 0, 0.0))
    head = c[1:window] / np.arange(1, window)
    return np.concatenate([head, (c[window:] - c[:-window]) / window])


def convergence_episode(curve: Sequence[float], window: int = 100, tol: float = 0.1) -> int | None:
    """First episode after which the moving average (``window`` episodes) stays within ``tol``
    (relative) of its final value."""
    ma = moving_average(curve, window)
    if len(ma) == 0:
        return None
    final = ma[-1]
    off = np.abs(ma - final) > tol * max(abs(final), 1e-12)
    bad = np.nonzero(off)[0]
    return int(bad[-1] + 1) if len(bad) else 0


def plot_convergence(
    curves: Mapping[str, Sequence[float] | tuple[Sequence[float], Sequence[float]]],
    out: Path,
    window: int = 20,
    references: Mapping[str, float] | None = None,
    title: str = "",
    ylabel: str = "episode cost",
    log: bool = True,
) -> Path:
    """Curves per method: a list (one value per episode, smoothed over ``window``) or an
    ``(episodes, values)`` pair (plotted as is); ``references`` are horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    smoothed = False
    for m, c in curves.items():
        if isinstance(c, tuple):
            ax.plot(c[0], c[1], marker=".", ms=3, label=LABELS.get(m, m), color=COLORS.get(m))
        else:
            smoothed = True
            y = moving_average(c, window)
            ax.plot(np.arange(1, len(c) + 1), y, label=LABELS.get(m, m), color=COLORS.get(m))
    for m, v in (references or {}).items():
        ax.axhline(v, ls="--", lw=1, color=COLORS.get(m, "k"), label=LABELS.get(m, m))
    ax.set_xlabel("episode")
    ax.set_ylabel(f"{ylabel} (moving average of {window})" if smoothed else ylabel)
    if log:
        ax.set_yscale("log")
    else:
        # Zoom on the learned regime: the untrained first point would flatten everything else.
        ys = [np.asarray(c[1] if isinstance(c, tuple) else c, dtype=float) for c in curves.values()]
        lo = min([float(y.min()) for y in ys] + list((references or {}).values()))
        hi = max(float(y[1:].max()) if len(y) > 1 else float(y.max()) for y in ys)
        if max(float(y.max()) for y in ys) > hi:
            ax.annotate(
                "untrained start off scale",
                (0.01, 0.97),
                xycoords="axes fraction",
                fontsize=7,
                va="top",
            )
        ax.set_ylim(0.97 * lo, 1.05 * hi)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Fig. 5a: convergence", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_total_cost(
    costs: Mapping[int, Mapping[str, float]],
    out: Path,
    title: str = "",
    methods: Sequence[str] | None = None,
) -> Path:
    """Grouped bars: ``costs[scs_khz][method] = total cost``, values printed on the bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scs = sorted(costs)
    methods = list(methods or [m for m in ("dqn", "sa", "ddqn", "d3qn") if m in costs[scs[0]]])
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    width = 0.8 / len(methods)
    x = np.arange(len(scs))
    for k, m in enumerate(methods):
        vals = [costs[s].get(m, np.nan) for s in scs]
        pos = x + (k - (len(methods) - 1) / 2) * width
        bars = ax.bar(pos, vals, width, label=LABELS.get(m, m), color=COLORS.get(m))
        ax.bar_label(bars, fmt="%.0f", fontsize=7, rotation=90, padding=2)
    ax.set_xticks(x, [f"{s} kHz" for s in scs])
    top = np.nanmax([costs[s].get(m, np.nan) for s in scs for m in methods])
    ax.set_ylim(0, top * 1.3)
    ax.set_xlabel("subcarrier spacing")
    ax.set_ylabel("total system cost (3000 tasks)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncol=len(methods), loc="upper center", fontsize=8)
    ax.set_title(title or "Fig. 5b: total system cost", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
