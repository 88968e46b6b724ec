"""``python -m cpn experiment aisid-vs-dns``: the AISID paper's comparison with DNS scheduling.

    python -m cpn experiment aisid-vs-dns [--topology auto|chinanet|abilene|PATH]
        [--requests 500] [--seed S | --seeds 0 1 2] [--policy base3] [--ttl 30]
        [--methods aisid dns-rr dns-nearest dns-load] [--interval S]
        [--out results/aisid-vs-dns] [--no-report]

The same seeded workload (the AISID paper's Table 3: :meth:`traces.workload.Workload.generate`)
runs on the same in-process network once per method (:class:`cpn.scenario.Scenario`):

- ``aisid``: clients send to the service's AISID; the controller (policy ``--policy``, Base3 by
  default: the site with the least predicted response time, the SRv6 path split that keeps the
  most loaded link lowest) picks the site at the ingress gateway, the egress gateway picks the
  node by weighted least connections;
- ``dns-rr`` / ``dns-nearest`` / ``dns-load``: clients resolve ``svc<i>.cpn.example`` first
  (:mod:`traces.dns`: the client's stub resolver -> a recursive resolver -> the zone's
  authoritative server, real DNS messages over UDP port 53 crossing the same switches, TTL
  caching in the stub and the recursive resolver, EDNS Client Subnet), then send to the
  node address they got over plain shortest-path IPv6 routing: no AISID is registered, so the
  controller installs only routes and the egress gateways forward by the node prefix, without
  balancing. The authoritative server answers with one node of a providing site:
  round robin (``dns-rr``, the paper's baseline: classic DNS scheduling), the nearest site's
  nodes in turn (``dns-nearest``, geo-DNS), or the least loaded node (``dns-load``, a global
  server load balancer: each node's running + queued jobs as measured every control interval,
  plus the answers given since, per TFLOPS; then nearest, then in turn).

The two DNS servers are hosts of kind ``dns`` added to the network description
(:func:`cpn.dnsbaseline.with_dns_hosts`): the recursive resolver at the switch closest on
average to the client hosts (an ISP's resolver), the authoritative server at the switch closest
on average to the sites' egress gateways (the provider's DNS). In DNS runs the controller
installs the routes at start and does not step (it has nothing to decide: no AISID, no faults);
the load-aware DNS measures the nodes every control interval. The network is built once
(``controlplane.netgen`` seed = the first seed); each seed draws its own workload, and every
method runs that workload with that seed.

**Measured** (:func:`measure`, over every request and one window, the same for every method:
from the first arrival to the last arrival plus the mean transfer time):
request initiation latency (first packet, the DNS query included, to the service's first
answer; mean over the requests that got one), link bandwidth utilisation variance (population
variance over the switch-to-switch link directions of their mean utilisation: accounted bytes x
8 / window / rate), compute utilisation variance (over the service nodes of their busy
fraction). **Compared**: AISID's change against each DNS variant in percent, ``(aisid - dns) /
dns``, per seed, then mean ± sd over the seeds, beside the paper's -61.3 % / -32.8 % / -12.3 %.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import shlex
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from controlplane.netdesc import NetworkDescription
from traces.workload import Workload, WorkloadParams

from .dnsbaseline import DNS_METHODS, DnsPlacement, DnsServers, start_dns, with_dns_hosts
from .dump import code_fingerprint, request_rows, write_dump
from .scenario import Scenario

log = logging.getLogger("cpn.experiment")

METHODS = ("aisid", *DNS_METHODS)
DNS_CONTROL_INTERVAL_S = 1e6  # DNS runs: the controller never steps after installing the routes
BASELINE = "dns-rr"  # the paper's "traditional DNS scheduling"
METRICS = ("latency", "bandwidth_variance", "compute_variance")
PAPER = {"latency": -61.3, "bandwidth_variance": -32.8, "compute_variance": -12.3}
METRIC_LABEL = {
    "latency": "request initiation latency",
    "bandwidth_variance": "link bandwidth utilisation variance",
    "compute_variance": "compute utilisation variance",
}
METHOD_LABEL = {
    "aisid": "AISID",
    "dns-rr": "DNS round robin",
    "dns-nearest": "DNS nearest",
    "dns-load": "DNS load-aware (GSLB)",
}


# -- one run --------------------------------------------------------------------------------------
def window(sc: Scenario) -> tuple[float, float]:
    """The measurement window: first arrival to last arrival + mean transfer time."""
    reqs = sc.workload.requests if sc.workload else []
    if not reqs:
        return sc.t_start, sc.t_start
    last = max(r.t_us for r in reqs) / 1e6
    hold = float(np.mean([r.data_bytes * 8 / r.rate_bps for r in reqs]))
    return sc.t_start, sc.t_start + last + hold


def measure(sc: Scenario, servers: DnsServers | None) -> dict[str, Any]:
    """The numbers of one run (see the module doc)."""
    w0, w1 = window(sc)
    assert sc.observer is not None
    link_u = sc.observer.mean_utilisation(w0, w1)
    node_names = list(sc.nodes)
    node_u = np.array([sc.nodes[n].utilisation(w0 * 1e6, w1 * 1e6) for n in node_names])
    recs = [r for c in sc.clients.values() for r in c.records.values()]
    ini = np.array(
        [r.initiation_latency_us / 1e3 for r in recs if r.initiation_latency_us is not None]
    )
    comp = np.array(
        [r.completion_latency_us / 1e3 for r in recs
         if r.outcome == "ok" and r.completion_latency_us is not None]
    )  # fmt: skip
    out: dict[str, Any] = {
        "requests": len(recs),
        "outcomes": dict(Counter(r.outcome for r in recs)),
        "latency_ms": float(ini.mean()) if len(ini) else None,
        "latency_p50_ms": float(np.percentile(ini, 50)) if len(ini) else None,
        "latency_p95_ms": float(np.percentile(ini, 95)) if len(ini) else None,
        "completion_ms": float(comp.mean()) if len(comp) else None,
        "link_util_mean": float(link_u.mean()) if len(link_u) else None,
        "bandwidth_variance": float(link_u.var()) if len(link_u) else None,
        "node_util_mean": float(node_u.mean()) if len(node_u) else None,
        "compute_variance": float(node_u.var()) if len(node_u) else None,
        "window_s": [w0 - sc.t_start, w1 - sc.t_start],
        "initiation_ms": ini.round(4).tolist(),
        "link_names": list(sc.observer.names),
        "link_util": link_u.tolist(),
        "node_names": node_names,
        "node_util": node_u.tolist(),
        "node_served": [sc.nodes[n].served for n in node_names],
        "lost": sum(sc.net.losses().values()),
    }
    out["latency"] = out["latency_ms"]
    if servers is not None:
        stubs = [c.stub for c in sc.clients.values() if c.stub is not None]
        resolved = [r for r in recs if not r.from_cache]
        out["dns"] = {
            "stub_queries": sum(s.queries_sent for s in stubs),
            "stub_cache_hits": sum(s.cache_hits for s in stubs),
            "resolver_queries": servers.resolver.queries,
            "resolver_cache_hits": servers.resolver.cache_hits,
            "authoritative_queries": servers.authority.queries,
            "answers": len(servers.authority.answers),
            "resolve_ms_sum": float(sum(r.resolve_us for r in resolved) / 1e3),
            "requests_resolved_on_the_wire": len(resolved),
            "load_measurements": servers.gslb.measurements if servers.gslb else 0,
        }
    return out


def run_method(
    method: str,
    desc: NetworkDescription,
    workload: Workload,
    placement: DnsPlacement,
    *,
    seed: int,
    policy: str = "base3",
    ttl_s: int = 30,
    interval_s: float | None = None,
    command: str = "",
    hooks: list[Callable[[Scenario], Any]] | None = None,
    dump: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run ``workload`` on ``desc`` (with its DNS hosts) by ``method``; its :func:`measure`.
    ``dump``: a list the run's per-request rows are added to (:func:`cpn.dump.request_rows`)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    dns = method != "aisid"
    d = copy.deepcopy(desc)
    if dns:
        d.services = []  # no AISID registered: the controller installs routes only
    interval = float(interval_s or d.controller.interval_s)
    # DNS: the controller installs the routes at start and has nothing to do later (no AISID,
    # no faults), so it does not step; the load-aware DNS measures the nodes every interval
    sc = Scenario(
        d, policy=policy, seed=seed, workload=workload, mode="dns" if dns else "aisid",
        interval_s=DNS_CONTROL_INTERVAL_S if dns else interval, command=command,
        client_options={"dns_server": placement.resolver_address} if dns else None,
    )  # fmt: skip
    box: dict[str, DnsServers] = {}
    if dns:
        sc.on_built.append(
            lambda s: box.setdefault("s", start_dns(s, method, placement, ttl_s, interval))
        )
    sc.on_built.extend(hooks or [])
    t = time.perf_counter()
    with sc:
        sc.start()
        sc.run()
        m = measure(sc, box.get("s"))
    if dump is not None:
        dump.extend(request_rows(sc.clients, seed=seed, method=method))
    m.update(method=method, seed=seed, wall_s=time.perf_counter() - t,
             t_end_s=sc.net.now() - sc.t_start, policy=policy if not dns else None)  # fmt: skip
    return m


# -- comparison -----------------------------------------------------------------------------------
def pct_change(aisid: float | None, dns: float | None) -> float | None:
    """AISID's change against DNS in percent (negative: AISID lower)."""
    if aisid is None or dns is None or dns == 0:
        return None
    return (aisid - dns) / dns * 100.0


def mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    v = [x for x in values if x is not None]
    if not v:
        return None, None
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0


def compare(runs: dict[int, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{dns method: {metric: {"per_seed", "mean", "sd", "paper"}}}`` from per-seed runs."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    methods = {m for per in runs.values() for m in per}
    for dm in [m for m in DNS_METHODS if m in methods]:
        out[dm] = {}
        for metric in METRICS:
            per = [
                pct_change(per["aisid"][metric], per[dm][metric])
                for per in runs.values()
                if "aisid" in per and dm in per
            ]
            mean, sd = mean_sd(per)  # type: ignore[arg-type]
            out[dm][metric] = {"per_seed": per, "mean": mean, "sd": sd, "paper": PAPER[metric]}
    return out


def verdict(metric: str, method: str, mean: float | None, sd: float | None, n: int) -> str:
    """One line saying what the numbers say (computed from them only)."""
    paper = PAPER[metric]
    head = f"{METRIC_LABEL[metric]}, AISID vs {METHOD_LABEL[method]}: "
    if mean is None:
        return head + "no number (a method had no value)"
    spread = f"{mean:+.1f} % ± {sd or 0:.1f} over {n} seed{'s' if n != 1 else ''}"
    if mean < 0 and (n < 2 or mean + (sd or 0) < 0):
        what = "lower with AISID"
    elif mean < 0:
        what = "lower with AISID on average, but within the spread"
    else:
        what = "NOT lower with AISID"
    if mean < 0:
        rel = "a larger" if mean < paper else "a smaller"
        what += f"; {rel} reduction than the paper's {paper:+.1f} %"
    else:
        what += f" (the paper: {paper:+.1f} %)"
    return f"{head}{spread}: {what}"


def verdicts(cmp: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    return [
        verdict(metric, dm, c["mean"], c["sd"], len([x for x in c["per_seed"] if x is not None]))
        for dm, per in cmp.items()
        for metric, c in per.items()
    ]


def method_table(runs: dict[int, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per method: mean ± sd over seeds of its numbers."""
    keys = ("latency_ms", "latency_p95_ms", "completion_ms", "link_util_mean",
            "bandwidth_variance", "node_util_mean", "compute_variance")  # fmt: skip
    out = {}
    methods = [m for m in METHODS if any(m in per for per in runs.values())]
    for m in methods:
        rs = [per[m] for per in runs.values() if m in per]
        row: dict[str, Any] = {k: mean_sd([r[k] for r in rs]) for k in keys}
        row["requests"] = sum(r["requests"] for r in rs)
        row["ok"] = sum(r["outcomes"].get("ok", 0) for r in rs)
        row["outcomes"] = dict(sum((Counter(r["outcomes"]) for r in rs), Counter()))
        row["lost"] = sum(r["lost"] for r in rs)
        if all("dns" in r for r in rs):
            row["dns"] = {k: sum(r["dns"][k] for r in rs) for k in rs[0]["dns"]}
        out[m] = row
    return out


# -- the experiment -------------------------------------------------------------------------------
@dataclass
class Experiment:
    """What ran and what it gave (``runs[seed][method]`` = :func:`measure` + run facts)."""

    network: str
    header: list[str]
    placement: DnsPlacement
    seeds: list[int]
    methods: list[str]
    requests: int
    policy: str
    ttl_s: int
    command: str
    runs: dict[int, dict[str, dict[str, Any]]]
    code: str = ""  # cpn.dump.code_fingerprint() of the run

    def comparison(self) -> dict[str, dict[str, dict[str, Any]]]:
        return compare(self.runs)

    def json_line(self) -> dict[str, Any]:
        """The one-line summary (no per-request data)."""
        cmp = self.comparison()
        table = method_table(self.runs)
        return {
            "experiment": "aisid-vs-dns",
            "network": self.network,
            "requests": self.requests,
            "seeds": self.seeds,
            "policy": self.policy,
            "ttl_s": self.ttl_s,
            "baseline": BASELINE if BASELINE in cmp else next(iter(cmp), None),
            "paper": PAPER,
            "reduction_pct": {
                dm: {k: {"mean": _r(c["mean"]), "sd": _r(c["sd"])} for k, c in per.items()}
                for dm, per in cmp.items()
            },
            "methods": {
                m: {
                    "latency_ms": _r(row["latency_ms"][0]),
                    "bandwidth_variance": _r(row["bandwidth_variance"][0], 9),
                    "compute_variance": _r(row["compute_variance"][0], 9),
                    "ok": row["ok"],
                    "requests": row["requests"],
                }
                for m, row in table.items()
            },
            "command": self.command,
            "code": self.code,
        }


def _r(v: float | None, nd: int = 3) -> float | None:
    return None if v is None else float(f"{v:.{nd}g}") if abs(v) < 1e-3 else round(v, nd)


def run_experiment(
    topology: str,
    *,
    requests: int,
    seeds: list[int],
    methods: list[str] | None = None,
    policy: str = "base3",
    ttl_s: int = 30,
    interval_s: float | None = None,
    command: str = "",
    say: Callable[[str], Any] = print,
    hooks: list[Callable[[Scenario], Any]] | None = None,
    dump: list[dict[str, Any]] | None = None,
) -> Experiment:
    """Build the network (once, netgen seed = the first seed) with its DNS hosts; per seed, a
    workload run by every method (see the module doc)."""
    from controlplane.schedulers import load_policy

    from .demo import build_network

    methods = list(methods or METHODS)
    bad = [m for m in methods if m not in METHODS]
    if bad or "aisid" not in methods or len(methods) < 2:
        raise ValueError(f"methods must include aisid and a DNS method, from {', '.join(METHODS)}"
                         + (f"; unknown: {', '.join(bad)}" if bad else ""))  # fmt: skip
    if requests < 1 or not seeds or ttl_s < 0:
        raise ValueError("requests must be >= 1, at least one seed, ttl >= 0")
    dn = build_network(topology, seeds[0])
    load_policy(policy, dn.desc)  # a clear error now rather than mid-run
    desc, placement = with_dns_hosts(dn.desc)
    params: WorkloadParams = dn.params
    header = [
        f"aisid-vs-dns: {dn.label}: {len(desc.switches)} switches, {len(desc.links)} links, "
        f"{len(desc.ingress_gateways)} ingress / {len(desc.egress_gateways)} egress gateways, "
        f"{sum(len(s.nodes) for s in desc.sites)} service nodes; {requests} requests; "
        f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}",
        f"  why: {dn.why}; "
        + "; ".join(n.split(f"; {dn.requests} requests by default")[0] for n in dn.notes),
        f"  DNS: {placement.why}; TTL {ttl_s} s; the paper's baseline is {METHOD_LABEL[BASELINE]}",
        f"  AISID: policy {policy} at the controller, weighted least connections at the egress "
        "gateways",
    ]
    for h in header:
        say(h)
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    for seed in seeds:
        wl = Workload.generate(desc, requests, seed, copy.deepcopy(params), command=command)
        runs[seed] = {}
        for m in methods:
            r = run_method(m, desc, wl, placement, seed=seed, policy=policy, ttl_s=ttl_s,
                           interval_s=interval_s, command=command, hooks=hooks,
                           dump=dump)  # fmt: skip
            runs[seed][m] = r
            say(run_line(r))
    return Experiment(dn.label, header, placement, list(seeds), methods, requests, policy, ttl_s,
                      command, runs, code_fingerprint())  # fmt: skip


def run_line(r: dict[str, Any]) -> str:
    dns = r.get("dns")
    extra = (f"  DNS: {dns['stub_queries']} stub queries, {dns['stub_cache_hits']} stub cache hits, "
             f"{dns['authoritative_queries']} at the authoritative server") if dns else ""  # fmt: skip
    lat = "-" if r["latency_ms"] is None else f"{r['latency_ms']:.1f} ms"
    return (f"  seed {r['seed']} {r['method']:<11} {r['outcomes'].get('ok', 0)}/{r['requests']} ok"
            f"  initiation {lat}  link var {r['bandwidth_variance'] or 0:.3g}"
            f"  node var {r['compute_variance'] or 0:.3g}  [{r['wall_s']:.0f} s]{extra}")  # fmt: skip


# -- CLI ------------------------------------------------------------------------------------------
def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--topology", default="auto",
                    help="auto (Chinanet if found, else Abilene), chinanet, abilene, a topology "
                         "file or a network description JSON")  # fmt: skip
    ap.add_argument("--requests", type=int, default=500, help="requests per run (default 500)")
    ap.add_argument("--seed", type=int, default=0, help="the seed (one run per method)")
    ap.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="several seeds (overrides --seed): mean ± sd over them")  # fmt: skip
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--policy", default="base3", help="the AISID controller's policy")
    ap.add_argument("--ttl", type=int, default=30, help="DNS answers' TTL in seconds")
    ap.add_argument("--interval", type=float, default=None,
                    help="control interval in virtual seconds (default: the network file's)")  # fmt: skip
    ap.add_argument("--out", default="results/aisid-vs-dns", help="report folder")
    ap.add_argument("--no-report", action="store_true", help="print only")
    ap.add_argument("--dump", default=None, metavar="PATH",
                    help="write every request's record (per seed and method) as JSON lines "
                         "(compare two with python -m cpn diff-dumps)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "aisid-vs-dns":
        argv = argv[1:]
    elif argv and argv[0] not in ("-h", "--help"):
        print(f"python -m cpn experiment: unknown experiment {argv[0]!r}; known: aisid-vs-dns",
              file=sys.stderr)  # fmt: skip
        return 2
    ap = argparse.ArgumentParser(prog="python -m cpn experiment aisid-vs-dns",
                                 description=__doc__.split("\n\n")[1])  # fmt: skip
    add_arguments(ap)
    args = ap.parse_args(argv)
    if args.requests < 1:
        ap.error("--requests must be at least 1")
    if args.ttl < 0:
        ap.error("--ttl must be >= 0")
    if args.interval is not None and not args.interval > 0:
        ap.error("--interval must be positive")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = shlex.join(["python", "-m", "cpn", "experiment", "aisid-vs-dns", *argv])
    seeds = list(dict.fromkeys(args.seeds if args.seeds else [args.seed]))
    t = time.perf_counter()
    rows: list[dict[str, Any]] | None = [] if args.dump else None
    try:
        ex = run_experiment(args.topology, requests=args.requests, seeds=seeds,
                            methods=args.methods, policy=args.policy, ttl_s=args.ttl,
                            interval_s=args.interval, command=command, dump=rows)  # fmt: skip
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"aisid-vs-dns: {e}", file=sys.stderr)
        return 2
    from .experiment_dns_report import format_summary, write_report

    print(format_summary(ex))
    line = ex.json_line()
    line["wall_s"] = round(time.perf_counter() - t, 1)
    print(json.dumps(line, separators=(",", ":")))
    if rows is not None:
        print(f"dump: {write_dump(args.dump, rows)} ({len(rows)} requests)")
    if not args.no_report:
        page = write_report(ex, Path(args.out), line)
        print(f"report: {page} (plots and results.json beside it)")
    return 0


__all__ = [
    "BASELINE",
    "METHODS",
    "PAPER",
    "DnsPlacement",
    "Experiment",
    "compare",
    "main",
    "measure",
    "pct_change",
    "run_experiment",
    "run_method",
    "verdict",
    "with_dns_hosts",
]
