"""``make demo``: the main job on the in-process network, with a policy swap mid-run.

    python -m cpn demo [--topology auto|abilene|chinanet|PATH] [--requests N] [--seed S]
                       [--policy base1] [--swap-to auto|NAME|none] [--interval S]
                       [--out results/demo] [--pcap] [--faults] [--no-progress] [--no-report]

Builds the network description (``controlplane.netgen``; a network description JSON is taken as
it is), starts the in-process network and the controller with the shipped policies (the
program from ``controlplane.program.load_program()``: ``build/`` when fresh), registers the
workload's AISIDs where the catalogue provides them, runs the AISID paper's Table-3 workload
with a progress bar over virtual time, swaps the policy in the middle of the steady state
(:meth:`cpn.scenario.Scenario.steady_window`), prints a summary and writes a report
(:mod:`cpn.report`) and the workload's trace file (``workload.jsonl``).

**Which network.** ``auto`` (the default) runs Chinanet (42 switches, 66 links, 10 ingress and
4 egress gateways, as in the AISID paper's Table 3) when its GraphML file is found (under
``$CPN_P4_DATA_DIR`` or ``../shared/data``), else the built-in Abilene. Table 3's load is kept:
100 Gbit/s links of 5 ms, 50 requests in flight per ingress gateway (500 on Chinanet), 10,000
TFLOPS per 10 ingress gateways, 20 service types with 2 providing sites each (10 per site on
Chinanet; on Abilene's 2 sites, every type at both). The workload is 3 x the requests in flight
(about three mean transfer times of arrivals: warm-up, then steady state, swapped half way),
1500 requests on Chinanet (about a minute of wall time on two cores), 450 on Abilene.

**Which policies.** The run starts on ``--policy`` (Base1) and swaps to ``--swap-to``: ``auto``
is RLMS-CPN where a trained checkpoint loads (shipped for Abilene only), else MAPPO (learned
orchestration), else Base3; the summary says which and why. The control interval is the
network file's (1 s) unless ``--interval`` says otherwise.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.netdesc import NetworkDescription
from traces.workload import WorkloadParams

from .dump import request_rows, write_dump
from .report import node_job_line, outage_lines, phase_label, write_report
from .results import ScenarioResults
from .scenario import Scenario

TABLE3 = {"nodes": 42, "ingress": 10, "egress": 4, "rate_bps": 100e9, "delay_us": 5000.0,
          "tflops": 10000.0, "concurrent": 500, "types": 20, "types_per_site": 10}  # fmt: skip
SWAP_ORDER = ("rlmscpn", "mappo", "base3")


@dataclass
class DemoNetwork:
    desc: NetworkDescription
    label: str
    why: str
    notes: list[str] = field(default_factory=list)
    params: WorkloadParams = field(default_factory=WorkloadParams)
    requests: int = 3 * TABLE3["concurrent"]


def build_network(spec: str, seed: int) -> DemoNetwork:
    """The network description and workload load for ``spec`` (see the module doc)."""
    from controlplane.netgen import generate, resolve_topology

    if spec.endswith(".json") and Path(spec).is_file():
        from controlplane.netdesc import load

        d = load(spec)
        tflops = sum(n.capacity_tflops for site in d.sites for n in site.nodes)
        # Table 3's load per TFLOPS on the file's compute: 500 in flight for 10,000 TFLOPS
        concurrent = max(1, round(TABLE3["concurrent"] * tflops / TABLE3["tflops"]))
        scale = (f"{concurrent} requests in flight for its {tflops:.0f} TFLOPS of service nodes "
                 f"(Table 3's {TABLE3['concurrent']} per {TABLE3['tflops']:.0f} TFLOPS); "
                 f"{3 * concurrent} requests by default: ~{concurrent} in flight for ~3 mean "
                 "transfer times")  # fmt: skip
        return DemoNetwork(
            d, d.name, f"network description {spec}, as it is", [scale],
            WorkloadParams(concurrent=concurrent), 3 * concurrent,
        )  # fmt: skip
    key = spec.lower()
    if key == "auto":
        try:
            topo = resolve_topology("chinanet", seed=seed)
            why = (f"Chinanet found ({topo.source}): the AISID paper's topology at Table 3's "
                   "load fits the demo's few minutes")  # fmt: skip
        except FileNotFoundError:
            topo = resolve_topology("abilene")
            why = ("Chinanet's GraphML file was not found (set CPN_P4_DATA_DIR to a folder with "
                   "topologies/graphml/Chinanet.graphml): running the built-in Abilene")  # fmt: skip
    else:
        topo = resolve_topology(spec, seed=seed)
        why = f"--topology {spec}"
    n = topo.n_nodes
    ingress = max(1, round(n * TABLE3["ingress"] / TABLE3["nodes"]))
    egress = max(2, round(n * TABLE3["egress"] / TABLE3["nodes"]))
    if ingress + egress > n:
        raise ValueError(f"topology {topo.describe()} is too small for a demo network")
    f = ingress / TABLE3["ingress"]  # Table 3's load per ingress gateway and per TFLOPS kept
    concurrent = max(1, round(TABLE3["concurrent"] * f))
    tflops = TABLE3["tflops"] * f
    # Table 3: 20 service types, 10 per provider, 4 providers: 2 providers per type
    providers = TABLE3["types_per_site"] * TABLE3["egress"] / TABLE3["types"]
    per_site = min(TABLE3["types"], max(1, round(TABLE3["types"] * providers / egress)))
    d = generate(
        topo, ingress=ingress, egress=egress, seed=seed, link_rate_bps=TABLE3["rate_bps"],
        link_delay_us=TABLE3["delay_us"], tflops_total=tflops, services=0,
    )  # fmt: skip
    if f == 1:
        scale = f"Table 3 as is: {ingress} ingress / {egress} egress gateways"
    else:
        scale = (f"Table 3 scaled to {n} nodes: {ingress} ingress / {egress} egress gateways "
                 f"(at least 2 sites), {concurrent} requests in flight and {tflops:.0f} TFLOPS "
                 f"(Table 3's {TABLE3['concurrent'] // TABLE3['ingress']} per ingress gateway "
                 f"and its load per TFLOPS), {per_site} service types per site (Table 3's "
                 f"{providers:.0f} providers per type)")  # fmt: skip
    scale += (f"; 100 Gbit/s links of 5 ms; {3 * concurrent} requests by default: "
              f"~{concurrent} in flight for ~3 mean transfer times")  # fmt: skip
    params = WorkloadParams(concurrent=concurrent, types_per_site=per_site)
    return DemoNetwork(d, topo.name, why, [scale], params, 3 * concurrent)


def choose_swap(net: NetworkDescription, first: str, wanted: str) -> tuple[str | None, str]:
    """The policy to swap to and why (``auto``: the first of :data:`SWAP_ORDER` that loads)."""
    from controlplane.schedulers import load_policy

    if wanted == "none":
        return None, "no swap (--swap-to none)"
    if wanted != "auto":
        load_policy(wanted, net)  # a clear error now rather than mid-run
        return wanted, f"--swap-to {wanted}"
    refused = []
    for name in SWAP_ORDER:
        if name == first:
            continue
        try:
            load_policy(name, net)
        except (ValueError, KeyError, FileNotFoundError) as e:
            refused.append(f"{name}: {str(e).split(';')[0].split('. ')[0]}")
            continue
        why = f"{name} loads on {net.name}"
        if refused:
            why += " (" + "; ".join(refused) + ")"
        return name, why
    return None, "no other policy loads: " + "; ".join(refused)


def format_summary(res: ScenarioResults, out_page: Path | None, extra: list[str]) -> str:
    """The text printed at the end of the demo."""
    s = res.summary()
    m = res.meta
    w = 34
    cols = [phase_label(p) for p in res.phases]
    head = f"{'':{w}}" + "".join(f"{c:>26}" for c in cols)
    lines = [*extra, head]

    def row(name: str, vals: list[str]) -> None:
        lines.append(f"{name:{w}}" + "".join(f"{v:>26}" for v in vals))

    P = s["phases"]

    def pct(d: dict[str, Any]) -> str:
        return " / ".join("-" if d[k] is None else f"{d[k]:.1f}" for k in ("p50", "p95", "p99"))

    row("requests (ok)", [f"{p['n']} ({p['ok']})" for p in P])
    row("initiation ms p50/p95/p99", [pct(p["initiation_ms"]) for p in P])
    row("completion ms p50/p95/p99", [pct(p["completion_ms"]) for p in P])
    row("deadline hits", [f"{p['deadline_met']}/{p['deadline_total']}"
                          + (f" {p['deadline_hit_rate']:.1%}" if p["deadline_hit_rate"] is not None else "")
                          for p in P])  # fmt: skip
    row("failed after a site move", [str(p["failed_site_moved"]) for p in P])
    if res.outages:
        row("failed: service had no site", [str(p["failed_no_site"]) for p in P])
    row(
        "link utilisation mean / var",
        [f"{(p['link_util_mean'] or 0):.2%} / {p['link_util_var'] or 0:.2e}" for p in P],
    )
    row(
        "compute utilisation mean / var",
        [f"{(p['node_util_mean'] or 0):.1%} / {p['node_util_var'] or 0:.2e}" for p in P],
    )
    lost, unexplained = s["lost"], s["lost_unexplained"]
    if res.faults:
        by = ", ".join(f"{f['kind']} {f['target']}: {n}" for f, n in
                       zip(res.faults, s["lost_by_faults"], strict=True))  # fmt: skip
        lines.append(f"packets lost: {lost} ({by}); unexplained by the faults: {unexplained}")
    else:
        lines.append(f"packets lost: {lost}" + (" (net.losses() is empty)" if not lost else
                                                f": {res.losses}"))  # fmt: skip
    lines += outage_lines(res)
    jobs = node_job_line(res)
    if jobs:
        lines.append(jobs)
    if res.flow_tables:
        tot = {k: sum(t.get(k, 0) for t in res.flow_tables.values())
               for k in ("new", "shared", "collision", "aged", "reply_unknown",
                         "reply_overwritten")}  # fmt: skip
        lines.append(f"egress flow tables: {tot['new']} flows, {tot['shared']} slots shared by "
                     f"colliding flows ({tot['collision']} follower packets), {tot['aged']} aged, "
                     f"{tot['reply_unknown']} replies not rewritten, {tot['reply_overwritten']} reply "
                     "cells overwritten")  # fmt: skip
    swaps = [x for x in res.versions["swaps"] if x.get("ok")]
    sw = "; ".join(f"{x['from_version']} -> {x['to_version']} at {x['t_s'] - m['t_start_s']:.3f} s"
                   f" ({x['entries_written']} entries written, {x['entries_deleted']} deleted)"
                   for x in swaps)  # fmt: skip
    lines.append(f"policy versions seen: {', '.join(map(str, s['versions_seen']))}"
                 + (f"; swap {sw}" if sw else ""))  # fmt: skip
    wall = m["wall_s"].get("total") or sum(m["wall_s"].values())
    lines.append(f"wall time: {wall:.1f} s for {m['t_end_s'] - m['t_start_s']:.2f} s "
                 "of virtual time")  # fmt: skip
    if out_page is not None:
        lines.append(f"report: {out_page} (plots and results.json beside it)")
    return "\n".join(lines)


def run_demo(args: argparse.Namespace, command: str) -> tuple[ScenarioResults, Path | None]:
    t0 = time.perf_counter()
    dn = build_network(args.topology, args.seed)
    requests = args.requests or dn.requests
    target, why_swap = choose_swap(dn.desc, args.policy, args.swap_to)
    out = Path(args.out)
    header = [
        f"cpn demo: {dn.label}: {len(dn.desc.switches)} switches, {len(dn.desc.links)} links, "
        f"{len(dn.desc.ingress_gateways)} ingress / {len(dn.desc.egress_gateways)} egress gateways, "
        f"{sum(len(s.nodes) for s in dn.desc.sites)} service nodes; {requests} requests; "
        f"seed {args.seed}",
        f"  why: {dn.why}; " + "; ".join(dn.notes),
        f"  policies: {args.policy}"
        + (
            f" -> {target} in the middle of the steady state ({why_swap})"
            if target
            else f" ({why_swap})"
        ),  # fmt: skip
    ]
    print("\n".join(header), flush=True)
    sc = Scenario(
        dn.desc, policy=args.policy, seed=args.seed, requests=requests, params=dn.params,
        interval_s=args.interval, progress=not args.no_progress, command=command,
    )  # fmt: skip
    with sc:
        sc.start()
        print(f"  started: network {sc.wall_s['build']:.1f} s, controller "
              f"{sc.wall_s['controller_start']:.1f} s ({sc.net.program.source})", flush=True)  # fmt: skip
        web = _start_web(sc, args.web)
        reqs = sc.workload.requests
        span = max((r.t_us for r in reqs), default=0) / 1e6
        w0, w1 = sc.steady_window()
        if args.pcap:
            _captures(sc, out / "pcap")
        if target:
            sc.schedule_swap((w0 + w1) / 2 if w1 > w0 else sc.t_start + span / 2, target)
        if args.faults:
            _faults(sc, span)
        try:
            sc.run()
            res = sc.results()
            res.meta["wall_s"]["total"] = time.perf_counter() - t0
            sc.workload.save(out / "workload.jsonl")
            if getattr(args, "dump", None):
                write_dump(args.dump, request_rows(sc.clients, seed=args.seed))
            if web is not None:
                _feed_web(sc)
                if args.keep_web:
                    _wait_for_ctrl_c(web.address)
        finally:
            if web is not None:
                web.stop()
    page = None
    if not args.no_report:
        page = write_report(res, out, command=command, title=f"cpn demo on {dn.label}",
                            notes=[h.strip() for h in header[1:]])  # fmt: skip
    print(format_summary(res, page, []))
    return res, page


def _start_web(sc: Scenario, address: str):
    """The live web view on ``address`` (the controller's API and page); a taken port falls
    back to a free one. Returns the server, or None with ``--web none``."""
    if address == "none":
        return None
    from controlplane.web import serve_web

    try:
        srv = serve_web(sc.ctl, address)
    except RuntimeError:
        host = address.rpartition(":")[0] or "127.0.0.1"
        srv = serve_web(sc.ctl, f"{host}:0")
        print(f"  web view: {address} is taken, using a free port", flush=True)
    sc.ctl.extra_status = lambda: {"losses": sc.net.losses()}
    sc.net.every(sc.interval_s, _feed_web, sc)
    print(f"  web view: http://{srv.address}/ (live while the job runs)", flush=True)
    return srv


def _feed_web(sc: Scenario) -> None:
    """Finished requests into the page's latency and deadline charts (each once)."""
    from controlplane.reqmetrics import record_requests

    fed: set[tuple[str, int]] = sc.__dict__.setdefault("_web_fed", set())
    new = [
        r
        for name, c in sc.clients.items()
        for rid, r in c.records.items()
        if r.outcome != "pending" and (name, rid) not in fed
    ]
    fed.update((name, rid) for name, c in sc.clients.items() for rid, r in c.records.items()
               if r.outcome != "pending")  # fmt: skip
    if new:
        try:
            record_requests(sc.ctl, new)
        except ValueError as e:  # a record the charts cannot place: the run goes on
            logging.getLogger("cpn.demo").warning("web view: %s", e)


def _wait_for_ctrl_c(address: str) -> None:
    print(f"  web view stays up on http://{address}/ until Ctrl-C", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _captures(sc: Scenario, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(sc.clients)[:1] + [s.nodes[0].name for s in sc.net.description.sites if s.nodes]
    for n in names:
        sc.net.capture(n, folder / f"{n}.pcap")
    print(f"  pcaps: {', '.join(str(folder / f'{n}.pcap') for n in names)}", flush=True)


def _faults(sc: Scenario, span: float) -> None:
    t0 = sc.t_start
    sc.schedule_fault("bad_input", t0 + 0.15 * span)
    sc.schedule_fault("kill_node", t0 + 0.3 * span)
    sc.schedule_fault("link_down", t0 + 0.65 * span, detect_s=0.005)
    sc.schedule_fault("restart_switch", t0 + 0.8 * span, downtime_s=0.02)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--topology", default="auto",
                    help="auto (Chinanet if found, else Abilene), abilene, chinanet, a topology "
                         "file or a network description JSON")  # fmt: skip
    ap.add_argument(
        "--requests",
        type=int,
        default=None,
        help="requests in the workload (default: 3 x the requests in flight)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--policy", default="base1", help="the policy the run starts with")
    ap.add_argument("--swap-to", default="auto",
                    help="policy swapped in mid-run: auto (rlmscpn, else mappo, else base3), "
                         "a policy name, or none")  # fmt: skip
    ap.add_argument(
        "--interval",
        type=float,
        default=None,
        help="control interval in virtual seconds (default: the network file's, 1 s)",
    )
    ap.add_argument("--out", default="results/demo", help="report folder")
    ap.add_argument("--pcap", action="store_true", help="pcaps of a client and a node per site")
    ap.add_argument(
        "--faults",
        action="store_true",
        help="inject bad input, a node kill, a link down and a switch restart",
    )
    ap.add_argument(
        "--web", default="127.0.0.1:8080",
        help="address of the live web view while the job runs (port 0: a free one; none: off)",
    )  # fmt: skip
    ap.add_argument(
        "--keep-web", action="store_true", help="keep the web view up after the job, until Ctrl-C"
    )
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--no-report", action="store_true", help="print the summary only")
    ap.add_argument("--dump", default=None, metavar="PATH",
                    help="write every request's record as JSON lines (compare two runs with "
                         "python -m cpn diff-dumps)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m cpn demo", description=__doc__.split("\n\n")[0])
    add_arguments(ap)
    args = ap.parse_args(argv)
    if args.requests is not None and args.requests < 1:
        ap.error("--requests must be at least 1")
    if args.interval is not None and not args.interval > 0:
        ap.error("--interval must be positive")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = shlex.join(["python", "-m", "cpn", "demo", *argv])
    try:
        run_demo(args, command)
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"cpn demo: {e}", file=sys.stderr)
        return 2
    return 0


__all__ = ["build_network", "choose_swap", "format_summary", "main", "run_demo"]
