"""``python -m controlplane``: run the controller, or talk to a running one through its API.

    python -m controlplane run --network NET.json --policy base1 [--api 127.0.0.1:8080]
                               [--state-dir DIR] [--bmv2-json J --p4info P] [-v]
    python -m controlplane status [--json]
    python -m controlplane swap --policy rlmscpn
    python -m controlplane aisid register --name NAME --aisid ADDR --site SITE [--nodes 1 2]
    python -m controlplane aisid query|decommission SERVICE
    python -m controlplane aisid migrate SERVICE --site SITE [--nodes 3] [--replicas SITE ...]
    python -m controlplane aisid list
    python -m controlplane paths | telemetry [--last N] | events | swaps
    python -m controlplane netgen ... | validate NET.json      (network files)

Every client command takes ``--api HOST:PORT`` (default 127.0.0.1:8080, or ``$CPN_API``) and
``--json`` (print the API's answer as JSON). A refused request exits 1 with the controller's
message on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

from controlplane.api import DEFAULT_API


class ApiError(RuntimeError):
    pass


def call(api: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the controller's API; raises ApiError with the server's message."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"http://{api}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read()).get("detail")
        except (ValueError, AttributeError):
            detail = None
        if isinstance(detail, dict):
            msg = detail.get("error")
        elif isinstance(detail, list):  # FastAPI's validation errors
            msg = "; ".join(
                f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail
            )
        else:
            msg = detail
        raise ApiError(f"{e.code}: {msg or e.reason}") from e
    except urllib.error.URLError as e:
        raise ApiError(
            f"no controller API at {api}: {e.reason} "
            "(is `python -m controlplane run` running? --api or $CPN_API set the address)"
        ) from e
    except OSError as e:  # a timeout or a connection reset mid-answer
        raise ApiError(f"controller API at {api}: {e}") from e


# ------------------------------------------------------------------------------ printing
def _short(table: str) -> str:
    return table.split(".", 1)[1] if table.startswith(("CpnIngress.", "CpnEgress.")) else table


def _print_status(s: dict[str, Any]) -> None:
    print(
        f"network {s['network']}: policy {s['policy']} (version {s['version']}), {s['swaps']} swaps"
    )
    for name, sw in s["switches"].items():
        n = sum(sw["entries"].values())
        print(f"  {name:<12} {sw['role']:<16} {sw['state']:<10} {n:>6} entries  {sw['address']}")
        per = ", ".join(f"{_short(t)} {k}" for t, k in sorted(sw["entries"].items()))
        if per:
            print(f"      {per}")
    if s.get("down_links"):
        print("  links down: " + ", ".join("-".join(x) for x in s["down_links"]))


def _print_record(r: dict[str, Any]) -> None:
    keys = ("name", "aisid", "service_id", "site", "nodes", "replicas", "state", "traffic_class")
    line = "  ".join(f"{k}={r.get(k)}" for k in keys if k in r)
    if "entries_written" in r:
        line += f"  entries_written={r['entries_written']}"
    print(line)


def _print_paths(p: dict[str, Any]) -> None:
    for key, v in p.items():
        split = v.get("split") or []
        print(key)
        for i, path in enumerate(v["paths"]):
            share = f"{split[i]:.2f}" if i < len(split) else "-"
            print(
                f"  path {i} share {share} delay {path['delay_us'] / 1000:.3f} ms: "
                f"{' > '.join(path['nodes'])}  segments {', '.join(path['segments'])}"
            )


def _print_telemetry(t: dict[str, Any]) -> None:
    snaps = t.get("snapshots") or []
    if not snaps:
        print(f"network {t.get('network')}: no telemetry yet")
        return
    s = snaps[-1]
    print(
        f"network {t['network']}: t={s['t']:.3f} s (interval {s['interval_s']:.3f} s), "
        f"lost probes {t.get('lost_probes', 0)}"
    )
    for port, ps in sorted(s.get("ports", {}).items()):
        print(
            f"  port {port:<10} rx {ps['rx_packets']:>8} pkts  tx {ps['tx_packets']:>8} pkts  "
            f"queue {ps['queue_depth']} ({ps['queue_delay_us']} us)"
        )
    for title, key, fmt in (
        ("link utilisation", "link_utilisation", "{:.3f}"),
        ("path delay (us)", "path_delay_us", "{:.1f}"),
        ("demand (pps)", "demand_pps", "{:.1f}"),
        ("connections per node", "connections", "{}"),
    ):
        vals = s.get(key) or {}
        if vals:
            print(
                f"  {title}: " + ", ".join(f"{k} {fmt.format(v)}" for k, v in sorted(vals.items()))
            )
    drops = {sw: d for sw, d in (s.get("drops") or {}).items() if d}
    if drops:
        print("  drops: " + "; ".join(f"{sw} {d}" for sw, d in sorted(drops.items())))
    for what, err in sorted((s.get("errors") or {}).items()):
        print(f"  error {what}: {err}")


def _print_swaps(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(
            f"swap {r['id']}: {r['old_policy']} v{r['old_version']} -> {r['new_policy']} "
            f"v{r['new_version']}  {r['stage']}  {r.get('detail') or ''}".rstrip()
        )


# ------------------------------------------------------------------------------ run
def run(args: argparse.Namespace) -> int:
    """The controller in the foreground: connect, install, step every interval, serve the API;
    SIGTERM or SIGINT stops it (the switches keep their state for the next run)."""
    from controlplane.api import ApiServer
    from controlplane.controller import Controller
    from controlplane.netdesc import load
    from controlplane.program import load_program

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    log = logging.getLogger("controlplane")
    try:
        net = load(args.network)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if bool(args.bmv2_json) != bool(args.p4info):
        print("error: give --bmv2-json and --p4info together", file=sys.stderr)
        return 2
    try:
        program = load_program(args.bmv2_json, args.p4info) if args.bmv2_json else None
        ctl = Controller(
            net,
            policy=args.policy,
            program=program,
            state_dir=args.state_dir,
            election_id=args.election_id,
            connect_timeout_s=args.connect_timeout,
        )
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log.info(
        "network %s: %d switches, state in %s, policy %s (version %d)%s",
        net.name, len(net.switches), ctl.state_dir, ctl.policy_name, ctl.version,
        "" if ctl.policy_name == args.policy
        else f" from the state dir (--policy {args.policy} applies to a fresh state dir)",
    )  # fmt: skip
    api = None
    stop = threading.Event()
    try:
        ctl.start()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        api = ApiServer(ctl, args.api or net.controller.api_address)
        addr = api.start()
        log.info("API on http://%s (policy %s, version %d)", addr, ctl.policy_name, ctl.version)
        interval = net.controller.interval_s
        while not stop.wait(interval):
            try:
                rep = ctl.step()
            except Exception as e:  # noqa: BLE001 - keep serving; the next interval retries
                log.error("interval failed: %s: %s", type(e).__name__, e)
                continue
            if rep.skipped:
                log.info("interval skipped: %s", rep.skipped)
            elif rep.written:
                log.info(
                    "interval: %d entries written %s (decide %.3f s, total %.3f s)",
                    rep.written,
                    {k: v for k, v in rep.per_switch.items() if v},
                    rep.decide_s,
                    rep.total_s,
                )
    except (TimeoutError, RuntimeError, OSError) as e:
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if api is not None:
            api.stop()
        ctl.stop()
        log.info("stopped" + (" (the switches keep their state)" if api is not None else ""))
    return 0


# ------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m controlplane", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def client(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--api", default=os.environ.get("CPN_API", DEFAULT_API))
        sp.add_argument("--json", action="store_true", help="print the API's JSON")
        return sp

    r = sub.add_parser("run", help="run the controller")
    r.add_argument("--network", required=True)
    r.add_argument("--policy", default="base1")
    r.add_argument("--api", default=None, help="HOST:PORT of the HTTP API (default: the file's)")
    r.add_argument("--state-dir", default=None)
    r.add_argument(
        "--bmv2-json", default=None, help="BMv2 JSON to push (with --p4info; default cpn.p4)"
    )
    r.add_argument("--p4info", default=None, help="P4Info (text or binary) of --bmv2-json")
    r.add_argument(
        "--election-id",
        type=int,
        default=1,
        help="P4Runtime election id (default 1; a reader such as p4runtime-shell attaches below "
        "it as a backup, anything above it takes the switches over)",
    )
    r.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="give up (exit 1) when a switch is not ready after S seconds (default 30)",
    )
    r.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG")

    client("status", "switches, connection state, policy version, entries per table")
    s = client("swap", "swap the scheduler policy hitlessly")
    s.add_argument("--policy", required=True)
    client("swaps", "the swap journal (newest first)")
    client("paths", "SRv6 paths and splits per (ingress gateway, site)")
    t = client("telemetry", "the latest telemetry snapshot")
    t.add_argument("--last", type=int, default=1, help="snapshots to fetch (--json)")
    client("events", "what the controller did")
    a = client("aisid", "AISID lifecycle")
    a.add_argument("action", choices=["register", "query", "migrate", "decommission", "list"])
    a.add_argument("service", nargs="?", help="AISID or name (query, migrate, decommission)")
    a.add_argument("--name")
    a.add_argument("--aisid")
    a.add_argument("--site")
    a.add_argument("--nodes", type=int, nargs="*", default=[])
    a.add_argument(
        "--replicas", nargs="*", default=None, help="other sites that also provide the service"
    )
    a.add_argument("--traffic-class", type=int, default=None)
    a.add_argument("--deadline-us", type=int, default=None)
    sub.add_parser("netgen", help="make a network file from a topology", add_help=False)
    sub.add_parser("validate", help="check a network file", add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "netgen":
        from controlplane.netgen import main as netgen_main

        return netgen_main(argv[1:])
    if argv and argv[0] == "validate":
        from controlplane.netvalidate import main as validate_main

        return validate_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.cmd == "run":
        return run(args)
    try:
        out = _client(args)
        if args.json:
            print(json.dumps(out, indent=1))
    except ApiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def _client(args: argparse.Namespace) -> Any:
    api = args.api
    if args.cmd == "status":
        out = call(api, "GET", "/status")
        if not args.json:
            _print_status(out)
    elif args.cmd == "swap":
        out = call(api, "POST", "/swap", {"policy": args.policy})
        if not args.json:
            print(
                f"version {out['old_version']} -> {out['new_version']}: "
                f"{out['entries_written']} entries in {out['seconds']:.3f} s "
                f"(drain {out['drain_s']:.3f} s, cleanup {out['cleanup_s']:.3f} s)"
            )
    elif args.cmd == "telemetry":
        if args.last < 1:
            raise ApiError(f"--last must be >= 1, got {args.last}")
        out = call(api, "GET", f"/telemetry?last={args.last}")
        if not args.json:
            _print_telemetry(out)
    elif args.cmd in ("paths", "events", "swaps"):
        out = call(api, "GET", f"/{args.cmd}")
        if not args.json:
            if args.cmd == "paths":
                _print_paths(out)
            elif args.cmd == "swaps":
                _print_swaps(out)
                if not out:
                    print("no swaps yet")
            else:
                for e in out:
                    print(f"{e['time']:.3f} {e['event']}")
    else:
        out = _aisid(args, api)
        if not args.json:
            for r in out if isinstance(out, list) else [out]:
                _print_record(r)
    return out


def _aisid(args: argparse.Namespace, api: str) -> Any:
    act = args.action
    if act == "list":
        return call(api, "GET", "/aisid")
    if act == "register":
        missing = [f for f in ("name", "aisid", "site") if not getattr(args, f)]
        if missing:
            raise ApiError("register needs --" + ", --".join(missing))
        return call(
            api,
            "POST",
            "/aisid/register",
            {
                "name": args.name,
                "aisid": args.aisid,
                "site": args.site,
                "nodes": args.nodes,
                "traffic_class": args.traffic_class,
                "deadline_us": args.deadline_us,
                "replicas": args.replicas or [],
            },
        )
    if not args.service:
        raise ApiError(f"{act} needs the service (AISID or name)")
    if act == "query":
        return call(api, "GET", "/aisid/" + urllib.request.quote(args.service, safe=""))
    if act == "migrate":
        if not args.site:
            raise ApiError("migrate needs --site")
        return call(
            api,
            "POST",
            "/aisid/migrate",
            {
                "service": args.service,
                "site": args.site,
                "nodes": args.nodes,
                "replicas": args.replicas,
            },
        )
    return call(api, "POST", "/aisid/decommission", {"service": args.service})
