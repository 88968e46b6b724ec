"""``python -m controlplane``: run the controller, or talk to a running one through its API.

    python -m controlplane run --network NET.json --policy base1 [--api 127.0.0.1:8080]
    python -m controlplane status [--json]
    python -m controlplane swap --policy rlmscpn
    python -m controlplane aisid register --name NAME --aisid ADDR --site SITE [--nodes 1 2]
    python -m controlplane aisid query|decommission SERVICE
    python -m controlplane aisid migrate SERVICE --site SITE [--nodes 3]
    python -m controlplane aisid list
    python -m controlplane paths | telemetry | events [--json]
    python -m controlplane netgen ... | validate NET.json      (network files)

Every client command takes ``--api HOST:PORT`` (default 127.0.0.1:8080, or ``$CPN_API``).
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
        msg = detail.get("error") if isinstance(detail, dict) else detail
        raise ApiError(f"{e.code}: {msg or e.reason}") from e
    except urllib.error.URLError as e:
        raise ApiError(f"no controller API at {api}: {e.reason}") from e


# ------------------------------------------------------------------------------ printing
def _print_status(s: dict[str, Any]) -> None:
    print(
        f"network {s['network']}: policy {s['policy']} (version {s['version']}), {s['swaps']} swaps"
    )
    for name, sw in s["switches"].items():
        n = sum(sw["entries"].values())
        print(f"  {name:<12} {sw['role']:<16} {sw['state']:<10} {n:>6} entries  {sw['address']}")
    if s.get("down_links"):
        print("  links down: " + ", ".join("-".join(x) for x in s["down_links"]))


def _print_record(r: dict[str, Any]) -> None:
    keys = ("name", "aisid", "service_id", "site", "nodes", "state", "traffic_class")
    print("  ".join(f"{k}={r.get(k)}" for k in keys if k in r))


def _print_paths(p: dict[str, Any]) -> None:
    for key, v in p.items():
        split = v.get("split") or []
        print(key)
        for i, path in enumerate(v["paths"]):
            share = f"{split[i]:.2f}" if i < len(split) else "-"
            print(
                f"  path {i} share {share} delay {path['delay_us'] / 1000:.2f} ms: "
                f"{' > '.join(path['nodes'])}  segments {', '.join(path['segments'])}"
            )


# ------------------------------------------------------------------------------ run
def run(args: argparse.Namespace) -> int:
    from controlplane.api import ApiServer
    from controlplane.controller import Controller
    from controlplane.netdesc import load
    from controlplane.program import load_program

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    net = load(args.network)
    program = load_program(args.json, args.p4info) if args.json else None
    ctl = Controller(net, policy=args.policy, program=program, state_dir=args.state_dir)
    ctl.start()
    api = ApiServer(ctl, args.api or net.controller.api_address)
    addr = api.start()
    logging.getLogger("controlplane").info(
        "API on http://%s (policy %s, version %d)", addr, ctl.policy_name, ctl.version
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        interval = net.controller.interval_s
        while not stop.wait(interval):
            rep = ctl.step()
            if rep.written:
                logging.getLogger("controlplane").info(
                    "interval: %d entries written %s",
                    rep.written,
                    {k: v for k, v in rep.per_switch.items() if v},
                )
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
        ctl.stop()
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
    r.add_argument("--json", dest="json", default=None, help="BMv2 JSON to push (with --p4info)")
    r.add_argument("--p4info", default=None)
    r.add_argument("-v", "--verbose", action="store_true")

    client("status", "switches, connection state, policy version, entries per table")
    s = client("swap", "swap the scheduler policy hitlessly")
    s.add_argument("--policy", required=True)
    client("paths", "SRv6 paths and splits per (ingress gateway, site)")
    client("telemetry", "the latest telemetry snapshot")
    client("events", "what the controller did")
    a = client("aisid", "AISID lifecycle")
    a.add_argument("action", choices=["register", "query", "migrate", "decommission", "list"])
    a.add_argument("service", nargs="?", help="AISID or name (query, migrate, decommission)")
    a.add_argument("--name")
    a.add_argument("--aisid")
    a.add_argument("--site")
    a.add_argument("--nodes", type=int, nargs="*", default=[])
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
    except ApiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, indent=1))
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
    elif args.cmd in ("paths", "telemetry", "events"):
        out = call(api, "GET", f"/{args.cmd}")
        if not args.json:
            if args.cmd == "paths":
                _print_paths(out)
            elif args.cmd == "events":
                for e in out:
                    print(f"{e['time']:.3f} {e['event']}")
            else:
                print(json.dumps(out, indent=1))
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
            {"service": args.service, "site": args.site, "nodes": args.nodes},
        )
    return call(api, "POST", "/aisid/decommission", {"service": args.service})
