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
    for m, c in curves.items():
        ax.plot(
            np.arange(1, len(c) + 1),
            moving_average(c, window),
            label=LABELS.get(m, m),
            color=COLORS.get(m),
        )
    for m, v in (references or {}).items():
        ax.axhline(
            v, ls="--", lw=1, color=COLORS.get(m, "k"), label=f"{LABELS.get(m, m)} (no training)"
        )
    ax.set_xlabel("episode")
    ax.set_ylabel(f"{ylabel} (moving average of {window})")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title or "Fig. 5a: convergence")
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
    """Grouped bars: ``costs[scs_khz][method] = total cost``."""
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
        ax.bar(
            x + (k - (len(methods) - 1) / 2) * width,
            vals,
            width,
            label=LABELS.get(m, m),
            color=COLORS.get(m),
        )
    ax.set_xticks(x, [f"{s} kHz" for s in scs])
    ax.set_xlabel("subcarrier spacing")
    ax.set_ylabel("total system cost (3000 tasks)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncol=len(methods), loc="upper center", fontsize=8)
    ax.set_title(title or "Fig. 5b: total system cost")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
