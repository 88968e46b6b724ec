"""The scenario report: a markdown page and PNG plots in one folder.

:func:`write_report` writes, into ``out``:

- ``report.md``: what ran (network, why, command, seed), the per-phase table (requests,
  outcomes, initiation and completion latency p50/p95/p99, deadline hits, link and compute
  utilisation mean and variance), losses (total, per fault, unexplained), drops by reason,
  policy versions, swaps, faults, the controller's events around them;
- ``latency_cdf.png`` (initiation and completion latency CDFs per phase),
  ``link_utilisation.png`` (mean utilisation of every link direction per phase, and over time),
  ``node_utilisation.png`` (busy fraction of every service node per phase),
  ``latency_timeseries.png`` (completion latency of each request by start time, the swap and
  the faults marked);
- ``results.json`` (:meth:`cpn.results.ScenarioResults.to_json`).

Every plot carries the command that made it. Paths in the page are relative to its folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .results import ScenarioResults

PLOTS = ("latency_cdf.png", "link_utilisation.png", "node_utilisation.png",
         "latency_timeseries.png")  # fmt: skip


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _pct3(d: dict[str, Any]) -> str:
    return " / ".join(_fmt(d.get(k)) for k in ("p50", "p95", "p99"))


def _sci(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def phase_label(p: dict[str, Any]) -> str:
    return f"{p['policy']} (v{p['version']})"


# -- plots ----------------------------------------------------------------------------------------
def _figure(command: str, *shape: int, size: tuple[float, float] = (9, 4.5)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*shape, figsize=size, squeeze=False)
    fig.text(0.01, 0.005, f"made by: {command}", fontsize=7, color="0.35")
    return fig, axes


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def plot_latency_cdf(res: ScenarioResults, path: Path, command: str) -> None:
    fig, ax = _figure(command, 1, 2)
    for col, (key, title) in enumerate(
        (("initiation_ms", "request initiation latency"), ("completion_ms", "completion latency"))
    ):
        a = ax[0][col]
        for i, p in enumerate(res.phases):
            reqs = res.phase_requests(i)
            v = np.sort([r[key] for r in reqs if r[key] is not None and r["outcome"] == "ok"])
            if len(v):
                a.step(v, np.arange(1, len(v) + 1) / len(v), where="post", label=phase_label(p))
        a.set_xlabel("ms")
        a.set_ylabel("fraction of ok requests")
        a.set_title(title)
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    _save(fig, path)


def _phase_bars(a: Any, res: ScenarioResults, n: int, phase_mean: Any) -> tuple[Any, float]:
    """``n`` groups of bars, one bar a phase (``phase_mean[phase][i]`` x 100); (x, bar width)."""
    x = np.arange(n)
    width = 0.8 / max(1, len(res.phases))
    for i, p in enumerate(res.phases):
        a.bar(x + i * width, np.asarray(phase_mean[i]) * 100, width, label=phase_label(p))
    return x, width


def plot_links(res: ScenarioResults, path: Path, command: str) -> None:
    fig, ax = _figure(command, 2, 1, size=(10, 7))
    names = res.links["names"]
    x, width = _phase_bars(ax[0][0], res, len(names), res.links["phase_mean"])
    ax[0][0].set_ylabel("mean utilisation %")
    ax[0][0].set_title("per link direction, mean utilisation by phase")
    if len(names) <= 40:
        ax[0][0].set_xticks(x + 0.4 - width / 2, names, rotation=90, fontsize=6)
    else:
        ax[0][0].set_xlabel(f"{len(names)} link directions")
    ax[0][0].legend(fontsize=8)
    u = np.asarray(res.links["utilisation"], dtype=float)
    t = np.asarray(res.links["t"], dtype=float)
    if u.size:
        busy = np.nonzero(u.max(axis=1) > 0)[0]
        last = min(len(t), (int(busy[-1]) + 3) if len(busy) else len(t))  # the idle tail left out
        u, t = u[:last], t[:last]
        im = ax[1][0].imshow(
            u.T * 100, aspect="auto", origin="lower", interpolation="nearest",
            extent=(t[0] - res.meta["t_start_s"], t[-1] - res.meta["t_start_s"], 0, len(names)),
            cmap="viridis",
        )  # fmt: skip
        fig.colorbar(im, ax=ax[1][0], label="utilisation %")
        _mark(ax[1][0], res)
    ax[1][0].set_xlabel("virtual time since the start (s)")
    ax[1][0].set_ylabel("link direction")
    ax[1][0].set_title("utilisation over time")
    _save(fig, path)


def plot_nodes(res: ScenarioResults, path: Path, command: str) -> None:
    fig, ax = _figure(command, 1, 1, size=(10, 4.5))
    names = res.nodes["names"]
    x, width = _phase_bars(ax[0][0], res, len(names), res.nodes["phase_mean"])
    labels = [f"{n}\n{c:.0f} TF" for n, c in zip(names, res.nodes["capacity_tflops"], strict=True)]
    ax[0][0].set_xticks(x + 0.4 - width / 2, labels, rotation=90, fontsize=6)
    ax[0][0].set_ylabel("busy %")
    ax[0][0].set_title("service-node utilisation by phase")
    ax[0][0].legend(fontsize=8)
    _save(fig, path)


def plot_timeseries(res: ScenarioResults, path: Path, command: str) -> None:
    fig, ax = _figure(command, 1, 1, size=(10, 4.5))
    a = ax[0][0]
    reqs = res.workload_requests()
    for outcome, color in (("ok", "tab:blue"), ("timeout", "tab:red"), ("refused", "tab:orange"),
                           ("unknown", "tab:purple")):  # fmt: skip
        pts = [(r["t_start_ms"] / 1e3, r["completion_ms"] if r["completion_ms"] is not None
                else r["deadline_ms"]) for r in reqs if r["outcome"] == outcome]  # fmt: skip
        if pts:
            xs, ys = zip(*pts, strict=True)
            a.scatter(xs, ys, s=6, color=color, label=f"{outcome} ({len(pts)})")
    _mark(a, res)
    a.set_xlabel("request start, virtual time since the start (s)")
    a.set_ylabel("completion latency (ms; failed: at its deadline)")
    a.set_title("completion latency over time")
    a.grid(alpha=0.3)
    a.legend(fontsize=8, loc="upper right")
    _save(fig, path)


def _mark(a: Any, res: ScenarioResults) -> None:
    t0 = res.meta["t_start_s"]
    for s in res.versions["swaps"]:
        if s.get("ok"):
            a.axvline(s["t_s"] - t0, color="k", ls="--", lw=1)
            a.annotate(f"swap -> {s['policy']}", (s["t_s"] - t0, 1), xycoords=("data", "axes fraction"),
                       fontsize=7, rotation=90, va="top", ha="right")  # fmt: skip
    for f in res.faults:
        a.axvline(f["t_s"] - t0, color="tab:red", ls=":", lw=1)
        a.annotate(f"{f['kind']} {f['target']}", (f["t_s"] - t0, 1), xycoords=("data", "axes fraction"),
                   fontsize=7, rotation=90, va="top", ha="right", color="tab:red")  # fmt: skip


# -- markdown -------------------------------------------------------------------------------------
def phase_table(res: ScenarioResults) -> list[str]:
    s = res.summary()
    cols = [phase_label(p) for p in res.phases]
    rows: list[tuple[str, list[str]]] = [
        ("from (virtual s)", [_fmt(p["t0_s"] - res.meta["t_start_s"], 3) for p in s["phases"]]),
        ("requests started", [str(p["n"]) for p in s["phases"]]),
        (
            "outcomes",
            [
                ", ".join(f"{k} {v}" for k, v in sorted(p["outcomes"].items())) or "-"
                for p in s["phases"]
            ],
        ),  # fmt: skip
        ("initiation ms p50 / p95 / p99", [_pct3(p["initiation_ms"]) for p in s["phases"]]),
        ("completion ms p50 / p95 / p99", [_pct3(p["completion_ms"]) for p in s["phases"]]),
        (
            "deadline hits",
            [
                f"{p['deadline_met']}/{p['deadline_total']}"
                + (f" ({p['deadline_hit_rate']:.1%})" if p["deadline_hit_rate"] is not None else "")
                for p in s["phases"]
            ],
        ),  # fmt: skip
        (
            "failed after a site move",
            [f"{p['failed_site_moved']} (moved: {p['site_moved']})" for p in s["phases"]],
        ),  # fmt: skip
        (
            "failed while their service had no site",
            [str(p["failed_no_site"]) for p in s["phases"]],
        ),
        (
            "link utilisation mean / variance",
            [
                f"{_fmt((p['link_util_mean'] or 0) * 100, 2)} % / {_sci(p['link_util_var'])}"
                for p in s["phases"]
            ],
        ),  # fmt: skip
        (
            "compute utilisation mean / variance",
            [
                f"{_fmt((p['node_util_mean'] or 0) * 100, 1)} % / {_sci(p['node_util_var'])}"
                for p in s["phases"]
            ],
        ),  # fmt: skip
    ]
    out = ["| | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    out += [f"| {name} | " + " | ".join(vals) + " |" for name, vals in rows]
    return out


def write_report(
    res: ScenarioResults, out: str | Path, *, command: str, title: str = "cpn demo",
    notes: list[str] | None = None,
) -> Path:  # fmt: skip
    """Write report.md, the plots and results.json into ``out``; returns the page's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_latency_cdf(res, out / PLOTS[0], command)
    plot_links(res, out / PLOTS[1], command)
    plot_nodes(res, out / PLOTS[2], command)
    plot_timeseries(res, out / PLOTS[3], command)
    res.to_json(out / "results.json")
    m, s = res.meta, res.summary()
    lines = [f"# {title}", "", f"Made by `{command}` (seed {m['seed']}).", ""]
    lines += [f"- {n}" for n in (notes or [])]
    lines += [
        f"- Network: {m['network']} ({m['switches']} switches, {m['links']} links, "
        f"{m['ingress_gateways']} ingress / {m['egress_gateways']} egress gateways, "
        f"{m['service_nodes']} service nodes); program {m['program']}.",
        f"- Workload: {m['requests']} requests ({m['mode']}); control interval "
        f"{m['interval_s']} s; virtual time {m['t_end_s'] - m['t_start_s']:.2f} s "
        f"(steady state {m['steady_window_s'][0] - m['t_start_s']:.2f}-"
        f"{m['steady_window_s'][1] - m['t_start_s']:.2f} s); wall time "
        f"{m['wall_s'].get('total') or sum(m['wall_s'].values()):.1f} s (build "
        f"{m['wall_s']['build']:.1f}, controller start "
        f"{m['wall_s']['controller_start']:.1f}, run {m['wall_s']['run']:.1f}).",
        "",
        "## Requests, latency and utilisation by phase",
        "",
        *phase_table(res),
        "",
        "Latencies over requests that completed (`ok`); deadline hits count every request with a "
        "deadline (a failed one misses it). Utilisation: over the phase's part of the steady "
        "state (warm-up and drain left out); variances are population variances over the link "
        "directions and over the service nodes (busy fraction).",
        "",
        "## Losses and drops",
        "",
        f"- Packets lost (`net.losses()`): **{s['lost']}**; explained by injected faults: "
        f"{sum(s['lost_by_faults'])}; unexplained: **{s['lost_unexplained']}**.",
    ]
    for key, n in sorted(res.losses.items()):
        lines.append(f"  - `{key}`: {n}")
    lines.append(f"- Drops by reason (network): {_kv(res.drops['network'])}")
    lines.append(f"- Drops by reason (data plane `drop_reasons`): {_kv(res.drops['data_plane'])}")
    lines.append(f"- Punted to the controller by the ingress gateways: {_kv(res.punts)}")
    jobs = node_job_line(res)
    if jobs:
        per = [f"{name} {_kv({k: v for k, v in st.items() if v and k != 'held'})}"
               for name, st in zip(res.nodes["names"], res.nodes["job_stats"], strict=True)
               if any(v for k, v in st.items() if k != "held")]  # fmt: skip
        lines.append(f"- {jobs[0].upper()}{jobs[1:]} (`ServiceNode.job_stats`: {'; '.join(per)})")
    for name, st in sorted(res.flow_tables.items()):
        lines.append(
            f"- Egress gateway {name} flow table (`egw.stats`): {_kv(st)}; `shared` counts slots "
            "two live flows came to share (hash collisions: the later flow follows the first "
            "one's node and is not counted in `connections`)"
        )
    lines += ["", "## Policy versions", ""]
    lines.append(f"- Versions seen (controller and ingress gateways' `active_policy_version`): "
                 f"{', '.join(map(str, s['versions_seen']))}")  # fmt: skip
    for sw in res.versions["swaps"]:
        if sw.get("ok"):
            lines.append(
                f"- Swap at {sw['t_s'] - m['t_start_s']:.3f} s: {sw['from_policy']} v"
                f"{sw['from_version']} -> {sw['policy']} v{sw['to_version']} "
                f"({sw['entries_written']} entries written, {sw['entries_deleted']} deleted, stages "
                f"{' > '.join(sw['stages'])})"
            )
        else:
            lines.append(f"- Swap to {sw['policy']} failed: {sw['error']}")
    moves = res.versions["site_moves"]
    if moves:
        lines.append(f"- Site decisions changed {len(moves)} times, moving "
                     f"{sum(n for _, n in moves)} (gateway, service) pairs in all.")  # fmt: skip
    if res.faults:
        lines += ["", "## Faults", "", "| fault | at (s) | target | losses it explains | details |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for f, lost in zip(res.faults, res.fault_losses, strict=True):
            det = ", ".join(f"{k} {v}" for k, v in f["detail"].items() if k != "record")
            lines.append(f"| {f['kind']} | {f['t_s'] - m['t_start_s']:.3f} | {f['target']} | "
                         f"{sum(lost.values())} ({_kv(lost)}) | {det} |")  # fmt: skip
    if res.outages:
        lines += ["", "## Services without a site", ""]
        lines += [f"- {line}" for line in outage_lines(res)]
    lines += ["", "## Plots", ""]
    lines += [f"![{p}]({p})" for p in PLOTS]
    lines += ["", "Files: " + ", ".join(f"`{p}`" for p in (*PLOTS, "results.json")) + "."]
    page = out / "report.md"
    page.write_text("\n".join(lines) + "\n")
    return page


def outage_lines(res: ScenarioResults) -> list[str]:
    """One line per stretch a service had no site (times from the run's start)."""
    t0 = res.meta["t_start_s"]
    out = []
    for o in res.outages:
        end = f"t={o['t1'] - t0:.3f} s" if o["t1"] is not None else "the end"
        out.append(
            f"service {o['service']} ({o['service_id']}) had {o['reason']} at "
            f"{', '.join(o['gateways'])} from t={o['t0'] - t0:.3f} s to {end}: "
            f"{o['failed']} of its {o['requests']} requests then failed, {o['punted']} packets "
            "punted (no_service_site)"
        )
    return out


def node_job_line(res: ScenarioResults) -> str | None:
    """``service nodes: 3 stray units (1 job) with no request, ...``, or None when all are 0."""
    t = res.node_jobs()
    if not any(t.values()):
        return None

    def n(k: int, one: str, many: str) -> str:
        return f"{k} {one if k == 1 else many}"

    parts = []
    if t["stray_units"] or t["stray_jobs"]:
        parts.append(f"{n(t['stray_units'], 'stray unit', 'stray units')} "
                     f"({n(t['stray_jobs'], 'job', 'jobs')}) with no request")  # fmt: skip
    if t["incomplete"]:
        parts.append(f"{n(t['incomplete'], 'incomplete job', 'incomplete jobs')} (request, not "
                     "all its data)")  # fmt: skip
    if t["expired"]:
        parts.append(f"{n(t['expired'], 'job', 'jobs')} expired")
    return "service nodes: " + ", ".join(parts)


def _kv(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"


__all__ = ["PLOTS", "node_job_line", "outage_lines", "phase_table", "write_report"]
