"""The AISID-vs-DNS experiment's printed summary, markdown report and plots.

:func:`write_report` writes into ``out``: ``report.md`` (what ran, per-method table, AISID's
change against each DNS variant beside the paper, verdict lines, what explains the numbers, per
seed), ``latency_cdf.png`` (initiation latency CDF per method), ``link_utilisation.png``
(per-link-direction utilisation per method, ranked, and the variance per seed),
``node_utilisation.png`` (per service node, per method), each naming the command that made it,
and ``results.json`` (every run's numbers and the comparison). Paths are relative to ``out``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .experiment_dns import (
    BASELINE,
    METHOD_LABEL,
    METRIC_LABEL,
    METRICS,
    PAPER,
    Experiment,
    method_table,
    verdicts,
)
from .report import _figure, _save

PLOTS = ("latency_cdf.png", "link_utilisation.png", "node_utilisation.png")
COLOURS = {"aisid": "C0", "dns-rr": "C3", "dns-nearest": "C1", "dns-load": "C2"}


def _pm(v: tuple[float | None, float | None], fmt: str) -> str:
    m, s = v
    return "-" if m is None else f"{m:{fmt}} ± {s or 0:{fmt.lstrip('+')}}"


def _x100(v: tuple[float | None, float | None]) -> tuple[float | None, float | None]:
    return tuple(None if x is None else 100 * x for x in v)  # type: ignore[return-value]


def _rows(ex: Experiment) -> list[tuple[str, list[str]]]:
    t = method_table(ex.runs).values()
    return [
        ("requests ok", [f"{r['ok']}/{r['requests']}" for r in t]),
        ("initiation latency ms", [_pm(r["latency_ms"], ".1f") for r in t]),
        ("initiation latency p95 ms", [_pm(r["latency_p95_ms"], ".1f") for r in t]),
        ("completion latency ms", [_pm(r["completion_ms"], ".0f") for r in t]),
        ("link utilisation mean %", [_pm(_x100(r["link_util_mean"]), ".2f") for r in t]),
        ("link utilisation variance", [_pm(r["bandwidth_variance"], ".2e") for r in t]),
        ("compute utilisation mean %", [_pm(_x100(r["node_util_mean"]), ".1f") for r in t]),
        ("compute utilisation variance", [_pm(r["compute_variance"], ".2e") for r in t]),
        (
            "DNS queries stub / authoritative",
            [
                f"{r['dns']['stub_queries']} / {r['dns']['authoritative_queries']}"
                if "dns" in r
                else "-"
                for r in t
            ],
        ),  # fmt: skip
    ]


def _seeds(ex: Experiment) -> str:
    n = len(ex.seeds)
    return f"{n} seed{'s' if n != 1 else ''}"


def format_summary(ex: Experiment) -> str:
    """The tables and verdict lines printed at the end."""
    table = method_table(ex.runs)
    cmp = ex.comparison()
    w, cw = 36, 24
    lines = [f"{'per method (mean ± sd over seeds)':{w}}"
             + "".join(f"{METHOD_LABEL[m]:>{cw}}" for m in table)]  # fmt: skip
    for name, vals in _rows(ex):
        lines.append(f"{name:{w}}" + "".join(f"{v:>{cw}}" for v in vals))
    lines.append("")
    lines.append(f"{'AISID vs DNS, % (' + _seeds(ex) + ')':{w}}{'paper':>8}"
                 + "".join(f"{'vs ' + METHOD_LABEL[m]:>{cw + 4}}" for m in cmp))  # fmt: skip
    for metric in METRICS:
        lines.append(f"{METRIC_LABEL[metric]:{w}}{PAPER[metric]:>+8.1f}" + "".join(
            f"{_pm((cmp[m][metric]['mean'], cmp[m][metric]['sd']), '+.1f'):>{cw + 4}}" for m in cmp
        ))  # fmt: skip
    lines.append("")
    lines += [f"verdict: {v}" for v in verdicts(cmp)]
    return "\n".join(lines)


def explanations(ex: Experiment) -> list[str]:
    """What the runs' own numbers say about why AISID and DNS differ (and differ from the
    paper): DNS resolution on the wire, cache hits, where answers went."""
    table = method_table(ex.runs)
    out = []
    a = table.get("aisid")
    for m, t in table.items():
        if "dns" not in t:
            continue
        d = t["dns"]
        n = max(1, t["requests"])
        wire = d["requests_resolved_on_the_wire"]
        resolve = d["resolve_ms_sum"] / wire if wire else 0.0
        out.append(
            f"{METHOD_LABEL[m]}: {wire} of {t['requests']} requests ({wire / n:.0%}) waited for "
            f"a DNS answer, {resolve:.1f} ms on average; the others found it in their stub's "
            f"cache (TTL {ex.ttl_s} s: {d['stub_cache_hits']} hits) or joined a query under way. "
            f"The authoritative server was asked {d['authoritative_queries']} times "
            f"({d['resolver_cache_hits']} answers from the resolver's cache)."
        )
    if a is not None and a["latency_ms"][0] is not None:
        for m, t in table.items():
            if "dns" not in t or t["latency_ms"][0] is None:
                continue
            diff = t["latency_ms"][0] - a["latency_ms"][0]
            resolve = t["dns"]["resolve_ms_sum"] / max(1, t["requests"])
            out.append(
                f"Initiation latency {METHOD_LABEL[m]} {t['latency_ms'][0]:.1f} ms vs AISID "
                f"{a['latency_ms'][0]:.1f} ms ({diff:+.1f} ms): waiting for DNS adds "
                f"{resolve:.1f} ms per request on average, the round trip to the node DNS named "
                f"{diff - resolve:+.1f} ms against the round trip to the site and node the "
                f"AISID network chose."
            )
    return out


# -- plots ----------------------------------------------------------------------------------------
def _runs_of(ex: Experiment, m: str) -> list[dict[str, Any]]:
    return [per[m] for per in ex.runs.values() if m in per]


def plot_latency_cdf(ex: Experiment, path: Path) -> None:
    fig, ax = _figure(ex.command, 1, 1, size=(8, 4.5))
    a = ax[0][0]
    for m in ex.methods:
        v = np.sort(np.concatenate([np.asarray(r["initiation_ms"]) for r in _runs_of(ex, m)]))
        if len(v):
            a.plot(v, np.arange(1, len(v) + 1) / len(v), drawstyle="steps-post",
                   color=COLOURS.get(m), label=f"{METHOD_LABEL[m]} (mean {v.mean():.1f} ms)")  # fmt: skip
    a.set_xlabel("request initiation latency (ms): first packet, DNS query included, to the "
                 "service's first answer")  # fmt: skip
    a.set_ylabel("fraction of requests")
    a.set_title(f"{ex.network}: initiation latency CDF, {ex.requests} requests x {_seeds(ex)}")
    a.grid(alpha=0.3)
    a.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def plot_links(ex: Experiment, path: Path) -> None:
    fig, ax = _figure(ex.command, 1, 2, size=(11, 4.5))
    a, b = ax[0][0], ax[0][1]
    for i, m in enumerate(ex.methods):
        rs = _runs_of(ex, m)
        u = np.mean([r["link_util"] for r in rs], axis=0) * 100
        a.plot(np.sort(u)[::-1], color=COLOURS.get(m), label=METHOD_LABEL[m])
        var = [r["bandwidth_variance"] for r in rs]
        b.bar(i, np.mean(var), color=COLOURS.get(m), alpha=0.6)
        b.scatter([i] * len(var), var, color="k", s=10, zorder=3)
    a.set_xlabel("link direction, ranked by its mean utilisation")
    a.set_ylabel("mean utilisation over the window (%)")
    a.set_title("per-link-direction utilisation (mean over seeds)")
    a.grid(alpha=0.3)
    a.legend(fontsize=8)
    b.set_xticks(range(len(ex.methods)), [METHOD_LABEL[m] for m in ex.methods], fontsize=7,
                 rotation=15)  # fmt: skip
    b.set_ylabel("variance over link directions")
    b.set_title("link bandwidth utilisation variance (dots: seeds)")
    b.grid(alpha=0.3, axis="y")
    _save(fig, path)


def plot_nodes(ex: Experiment, path: Path) -> None:
    fig, ax = _figure(ex.command, 1, 1, size=(11, 4.5))
    a = ax[0][0]
    names = _runs_of(ex, ex.methods[0])[0]["node_names"]
    k = len(ex.methods)
    x = np.arange(len(names))
    for i, m in enumerate(ex.methods):
        rs = _runs_of(ex, m)
        u = np.mean([r["node_util"] for r in rs], axis=0) * 100
        var = np.mean([r["compute_variance"] for r in rs])
        a.bar(x + (i - (k - 1) / 2) * 0.8 / k, u, 0.8 / k, color=COLOURS.get(m),
              label=f"{METHOD_LABEL[m]} (variance {var:.2e})")  # fmt: skip
    a.set_xticks(x, names, fontsize=7, rotation=45)
    a.set_ylabel("busy fraction over the window (%)")
    a.set_title(f"{ex.network}: compute utilisation per service node (mean over {_seeds(ex)})")
    a.grid(alpha=0.3, axis="y")
    a.legend(fontsize=8)
    _save(fig, path)


# -- the page -------------------------------------------------------------------------------------
def write_report(ex: Experiment, out: Path, line: dict[str, Any]) -> Path:
    """Write the report folder (see the module doc); returns the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    plot_latency_cdf(ex, out / PLOTS[0])
    plot_links(ex, out / PLOTS[1])
    plot_nodes(ex, out / PLOTS[2])
    data = {"summary": line, "comparison": ex.comparison(), "placement": vars(ex.placement),
            "header": ex.header, "runs": {str(s): per for s, per in ex.runs.items()}}  # fmt: skip
    (out / "results.json").write_text(json.dumps(data, indent=1) + "\n")
    table = method_table(ex.runs)
    cmp = ex.comparison()
    md = [
        f"# AISID vs DNS on {ex.network}",
        "",
        f"Made by `{ex.command}`.",
        "",
        *[f"- {h.strip()}" for h in ex.header],
        "",
        "The same seeded workload (the AISID paper's Table 3) runs once per method on the same "
        "in-process network: AISID (the controller picks the site at the ingress gateway, the "
        "egress gateway the node by weighted least connections) and DNS (stub -> recursive -> "
        "authoritative resolution as real DNS packets through the switches, TTL caching, then "
        "plain shortest-path IPv6 routing to the node address, no egress-gateway balancing) "
        "with round-robin, nearest-site and load-aware (GSLB) answers. "
        f"The paper's baseline here: {METHOD_LABEL[BASELINE]}. Metrics over one window per "
        "seed, the same for every method: from the first arrival to the last arrival plus the "
        "mean transfer time; variances are population variances over link directions "
        "(switch-to-switch) and over service nodes.",
        "",
        "## Per method (mean ± sd over seeds)",
        "",
        "| | " + " | ".join(METHOD_LABEL[m] for m in table) + " |",
        "|---|" + "---:|" * len(table),
        *[f"| {name} | " + " | ".join(vals) + " |" for name, vals in _rows(ex)],
        "",
        f"## AISID against each DNS variant, percent ({_seeds(ex)}; negative: lower with AISID)",
        "",
        "| metric | paper | " + " | ".join(f"vs {METHOD_LABEL[m]}" for m in cmp) + " |",
        "|---|---:|" + "---:|" * len(cmp),
        *[
            f"| {METRIC_LABEL[k]} | {PAPER[k]:+.1f} | "
            + " | ".join(_pm((cmp[m][k]["mean"], cmp[m][k]["sd"]), "+.1f") for m in cmp)
            + " |"
            for k in METRICS
        ],  # fmt: skip
        "",
        *[f"- verdict: {v}" for v in verdicts(cmp)],
        "",
        "## What the numbers come from",
        "",
        *[f"- {e}" for e in explanations(ex)],
        "",
        "## Figures",
        "",
        f"![initiation latency CDF]({PLOTS[0]})",
        "",
        f"![per-link utilisation]({PLOTS[1]})",
        "",
        f"![per-node utilisation]({PLOTS[2]})",
        "",
        "## Per seed",
        "",
        "| seed | method | ok | initiation ms | link var | node var | wall s |",
        "|---:|---|---:|---:|---:|---:|---:|",
        *[
            f"| {s} | {METHOD_LABEL[m]} | {r['outcomes'].get('ok', 0)}/{r['requests']} | "
            f"{r['latency_ms'] or 0:.1f} | {r['bandwidth_variance'] or 0:.3g} | "
            f"{r['compute_variance'] or 0:.3g} | {r['wall_s']:.0f} |"
            for s, per in ex.runs.items()
            for m, r in per.items()
        ],  # fmt: skip
        "",
        "`results.json` holds every run's numbers (per-request initiation latencies, per-link and "
        "per-node utilisation) and the comparison.",
        "",
    ]
    page = out / "report.md"
    page.write_text("\n".join(md))
    return page


__all__ = ["PLOTS", "explanations", "format_summary", "write_report"]
