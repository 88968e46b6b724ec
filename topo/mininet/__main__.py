"""``python -m topo.mininet run|plan|clean``: a network description on Mininet (root).

* ``run --network NET.json [--policy base1] [--swap-to base2] [--requests N] [--seed S]
  [--mode aisid|dns|mixed] [--add-dns] [--log-dir DIR] [--json OUT.json]``: build the network, start
  switches, controller and host programs, send the workload, swap half-way, print a summary,
  tear everything down (also on Ctrl-C or an error). Exit status 0 when every request was
  answered and nothing was left behind, 1 otherwise.
* ``plan --network NET.json``: what would be built (interfaces, hosts, link delays); no root.
* ``clean --network NET.json``: remove the interfaces and processes a killed run of that file
  left behind (only those: nothing else is touched, unlike ``mn -c``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path


def _plan(path: str):
    from controlplane.netdesc import load
    from topo.mininet.plan import plan_network

    return load(path), plan_network(load(path))


def cmd_plan(args: argparse.Namespace) -> int:
    _, plan = _plan(args.network)
    for s in plan.switches:
        ports = ", ".join(f"{p}={i}" for p, i in sorted(s.intfs.items()))
        print(f"switch {s.name} (device {s.device_id}): {ports}")
    for seg in plan.segments:
        print(f"segment {seg.name}: {seg.switch} port {seg.port} <-> {', '.join(seg.members)}")
    for h in plan.hosts:
        print(
            f"{h.kind} {h.name}: {h.intf} {h.mac} {h.address}/{h.prefix_len} via {h.switch}:{h.port}"
        )
    print("link delays:")
    for d in plan.delay_table():
        print(f"  {d}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from topo.mininet.mn import why_unavailable

    reason = why_unavailable()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    from topo.mininet.network import clean_leftovers, our_processes

    _, plan = _plan(args.network)
    pids = our_processes(plan)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    gone = clean_leftovers(plan)
    print(f"killed {len(pids)} processes, deleted {len(gone)} interfaces: {', '.join(gone) or '-'}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from topo.mininet.mn import why_unavailable

    reason = why_unavailable()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    from controlplane.netdesc import load
    from topo.mininet.run import MininetRun

    net = load(args.network)
    if args.add_dns:
        from topo.mininet.plan import with_dns_host

        net = with_dns_host(net)
    if args.mode != "aisid" and not any(h.kind == "dns" for h in net.hosts):
        print(
            f"error: --mode {args.mode} needs a dns host (add one with --add-dns)", file=sys.stderr
        )
        return 2
    log_dir = Path(args.log_dir) if args.log_dir else None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    run = MininetRun(
        net,
        policy=args.policy,
        log_dir=log_dir,
        binary=None if args.embedded else "auto",
        request_timeout_s=args.request_timeout_s,
    )
    handler = logging.FileHandler(run.log_dir / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    console = logging.StreamHandler()
    console.setLevel(logging.INFO if args.verbose else logging.WARNING)
    root.addHandler(console)
    # SIGTERM tears down as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"logs in {run.log_dir}", flush=True)
    summary = None
    try:
        with run:
            print(
                f"network up: {len(run.plan.switches)} switches, {len(run.plan.hosts)} hosts, "
                f"policy {args.policy} version {run.ctl.version}",
                flush=True,
            )
            summary = run.run_workload(
                args.requests,
                seed=args.seed,
                interval_s=args.interval_ms / 1e3,
                swap_to=args.swap_to or None,
                mode=args.mode,
            )
    except KeyboardInterrupt:
        print("interrupted: network torn down", file=sys.stderr)
        return 130
    summary.leftovers = run.left
    print(summary.text())
    if args.json:
        Path(args.json).write_text(json.dumps(summary.to_dict(), indent=1) + "\n")
        print(f"summary written to {args.json}")
    ok = summary.outcomes.get("ok", 0) == summary.requests == args.requests
    return 0 if ok and not run.left and not summary.swap_error else 1


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m topo.mininet", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a network description with a small workload")
    r.add_argument("--network", required=True)
    r.add_argument("--policy", default="base1")
    r.add_argument("--swap-to", default="base2", help="policy swapped to half-way ('' for none)")
    r.add_argument("--requests", type=int, default=20)
    r.add_argument("--interval-ms", type=float, default=50.0)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--mode", choices=["aisid", "dns", "mixed"], default="aisid")
    r.add_argument("--add-dns", action="store_true", help="add a DNS host on an ingress gateway")
    r.add_argument("--request-timeout-s", type=float, default=5.0)
    r.add_argument(
        "--embedded", action="store_true", help="the embedded switch even if BMv2 is here"
    )
    r.add_argument("--log-dir", default=None)
    r.add_argument("--json", default=None, help="write the summary as JSON here")
    r.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("plan", help="print what would be built")
    p.add_argument("--network", required=True)
    c = sub.add_parser("clean", help="remove what a killed run of this file left")
    c.add_argument("--network", required=True)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"run": cmd_run, "plan": cmd_plan, "clean": cmd_clean}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
