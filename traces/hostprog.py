"""``python -m traces.hostprog client|service|dns ...``: the host programs as real processes on a
Linux interface (root), e.g. on Mininet hosts (:mod:`topo.mininet`).

Each program puts :class:`~traces.client.AisidClient`, :class:`~traces.service.ServiceNode` or a
:mod:`traces.dns` server on a :class:`~traces.transport.RawSocketTransport` (``AF_PACKET`` on
``--ifname``; wall-clock µs, ``time.monotonic``) and writes JSON lines to stdout or ``--out``:

* ``{"event": "ready", "program", "name", "ifname", "address", "pid"}`` once it listens;
* client: ``{"event": "record", ...}`` per finished request (``RequestRecord.to_dict()``, times in
  µs of the host's monotonic clock, latencies in µs);
* ``{"event": "stats", ...}`` when it ends (frames, and served/refused/queries...);
* ``{"event": "error", "error"}`` for a request it could not start.

Requests (client): ``--target T --count N [--interval-ms M]`` sends them and exits when all are
done; ``--stdin`` reads one JSON object per line: ``{"target", "bytes", "proto", "id",
"compute_tflop", "reply_bytes", "rate_bps", "service", "deadline_us", "timeout_s"}`` (only
``target`` is required), or ``{"op": "quit"}``; at ``quit`` or end of input it waits for the
requests in flight (each ends by its timeout at the latest) and exits. Servers run until
SIGTERM/SIGINT (or ``--duration``). Example::

    python -m traces.hostprog service --ifname node1-eth0 --mac 02:00:00:00:44:01 \\
        --address fd00:4::21 --gateway-mac 02:00:00:04:00:03 --device 2080ti_1 \\
        --capacity-tflops 150 --node-id 1
    python -m traces.hostprog client --ifname client-eth0 --mac 02:00:00:00:00:01 \\
        --address fd00:1::10 --gateway-mac 02:00:00:01:00:01 \\
        --target 2001:db8:abcd:12:1:2:1:1388 --count 3 --bytes 20000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from traces.transport import RawSocketTransport


class Output:
    """Thread-safe JSON-lines writer."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def write(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, default=str)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def on_loop(transport: RawSocketTransport, fn: Callable[[], Any]) -> None:
    """Run ``fn`` on the transport's loop thread (where every program callback runs)."""
    transport.call_at(transport.now_us(), fn)


def _common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--ifname", required=True, help="interface to send and receive on")
    ap.add_argument("--mac", required=True)
    ap.add_argument("--address", required=True, help="IPv6 address")
    ap.add_argument("--gateway-mac", required=True, help="MAC of the switch port")
    ap.add_argument("--name", default="")
    ap.add_argument("--out", default="-", help="JSON-lines output file ('-': stdout)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m traces.hostprog", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="program", required=True)
    c = sub.add_parser("client", help="AISID client")
    _common(c)
    c.add_argument("--dns-server", default=None, help="resolver for names (the DNS baseline)")
    c.add_argument("--timeout-s", type=float, default=10.0, help="per-request timeout")
    c.add_argument("--stdin", action="store_true", help="read requests as JSON lines")
    c.add_argument("--target", default=None, help="AISID, node address or DNS name")
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--interval-ms", type=float, default=100.0)
    c.add_argument("--bytes", type=int, default=10_000, help="request data volume")
    c.add_argument("--proto", choices=["udp", "tcp"], default="udp")
    c.add_argument("--compute-tflop", type=float, default=1.0)
    c.add_argument("--reply-bytes", type=int, default=0)
    s = sub.add_parser("service", help="service node")
    _common(s)
    s.add_argument("--device", required=True, help="agents.latency device, e.g. 2080ti_1")
    s.add_argument("--capacity-tflops", type=float, required=True)
    s.add_argument("--node-id", type=int, default=1)
    s.add_argument("--servers", type=int, default=1)
    s.add_argument("--queue-limit", type=int, default=None)
    s.add_argument("--reply-bytes", type=int, default=1000)
    s.add_argument("--services", default=None, help="comma-separated service numbers served")
    s.add_argument("--noise-seed", type=int, default=None)
    s.add_argument("--duration", type=float, default=None, help="seconds, then exit")
    d = sub.add_parser("dns", help="authoritative DNS server or recursive resolver")
    _common(d)
    d.add_argument("--role", choices=["authoritative", "recursive"], default="authoritative")
    d.add_argument("--zone", default="cpn.example")
    d.add_argument(
        "--record", action="append", default=[], metavar="NAME=ADDR[,ADDR...]", help="AAAA records"
    )
    d.add_argument("--policy", choices=["round-robin", "nearest"], default="round-robin")
    d.add_argument("--network", default=None, help="network file (for --policy nearest)")
    d.add_argument("--ttl", type=int, default=30)
    d.add_argument("--authority", action="append", default=[], metavar="ZONE=ADDR")
    d.add_argument("--port", type=int, default=53)
    d.add_argument("--duration", type=float, default=None)
    return ap


# -- programs --------------------------------------------------------------------------------------
def _run_client(args: argparse.Namespace, t: RawSocketTransport, out: Output) -> dict[str, Any]:
    from traces.client import AisidClient

    client = AisidClient(
        t, args.mac, args.address, args.gateway_mac, name=args.name,
        dns_server=args.dns_server, timeout_us=args.timeout_s * 1e6,
    )  # fmt: skip
    cond = threading.Condition()
    state = {"started": 0, "done": 0}

    def done(rec: Any) -> None:
        out.write({"event": "record", "client": client.name, **rec.to_dict()})
        with cond:
            state["done"] += 1
            cond.notify_all()

    def submit(spec: dict[str, Any]) -> None:
        def go() -> None:
            try:
                client.request(
                    spec["target"],
                    int(spec.get("bytes", args.bytes)),
                    spec.get("proto", args.proto),
                    spec.get("id"),
                    rate_bps=spec.get("rate_bps"),
                    compute_tflop=float(spec.get("compute_tflop", args.compute_tflop)),
                    reply_bytes=int(spec.get("reply_bytes", args.reply_bytes)),
                    service=int(spec.get("service", 0)),
                    deadline_us=spec.get("deadline_us"),
                    timeout_us=spec["timeout_s"] * 1e6 if spec.get("timeout_s") else None,
                    on_done=done,
                )
            except (ValueError, KeyError, TypeError) as exc:
                out.write({"event": "error", "error": str(exc), "request": spec})
                with cond:
                    state["done"] += 1
                    cond.notify_all()

        with cond:
            state["started"] += 1
        on_loop(t, go)

    t.start()
    out.write(_ready(args, "client"))
    if args.stdin:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                spec = json.loads(line)
            except json.JSONDecodeError as exc:
                out.write({"event": "error", "error": f"not JSON: {exc}", "line": line})
                continue
            if spec.get("op") == "quit":
                break
            if "target" not in spec:
                out.write({"event": "error", "error": "no 'target'", "request": spec})
                continue
            submit(spec)
    elif args.target:
        for i in range(args.count):
            if i:
                time.sleep(args.interval_ms / 1e3)
            submit({"target": args.target})
    with cond:
        cond.wait_for(lambda: state["done"] >= state["started"], timeout=args.timeout_s + 5)
    return {
        "requests": state["started"],
        "done": state["done"],
        "ok": sum(r.outcome == "ok" for r in client.records.values()),
    }


def _run_service(args: argparse.Namespace, t: RawSocketTransport, out: Output) -> Callable[[], Any]:
    from traces.service import ServiceNode

    services = {int(x) for x in args.services.split(",")} if args.services else None
    node = ServiceNode(
        t, args.mac, args.address, args.device, args.capacity_tflops, args.gateway_mac,
        node_id=args.node_id, servers=args.servers, queue_limit=args.queue_limit,
        reply_bytes=args.reply_bytes, services=services, noise_seed=args.noise_seed,
        name=args.name,
    )  # fmt: skip

    def stats() -> dict[str, Any]:
        return {
            "served": node.served,
            "refused": node.refused,
            "malformed": node.malformed,
            "lost": node.lost,
            "busy": node.busy,
            "queue": node.queue_length,
            "utilisation": node.utilisation(),
        }

    return stats


def _parse_pairs(items: list[str], what: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise SystemExit(f"error: {what} must be KEY=VALUE, got {item!r}")
        out[key] = [v for v in value.split(",") if v]
    return out


def _run_dns(args: argparse.Namespace, t: RawSocketTransport, out: Output) -> Callable[[], Any]:
    from traces import dns

    if args.role == "authoritative":
        policy: Any = dns.RoundRobin()
        if args.policy == "nearest":
            if not args.network:
                raise SystemExit("error: --policy nearest needs --network FILE")
            from controlplane.netdesc import load

            policy = dns.Nearest(dns.NetDistance(load(args.network)))
        server: Any = dns.AuthoritativeServer(
            t, args.mac, args.address, args.gateway_mac, zone=args.zone,
            records=_parse_pairs(args.record, "--record"), policy=policy, ttl_s=args.ttl,
            port=args.port, name=args.name,
        )  # fmt: skip
    else:
        auths = {z: a[0] for z, a in _parse_pairs(args.authority, "--authority").items()}
        if not auths:
            raise SystemExit("error: a recursive resolver needs --authority ZONE=ADDR")
        server = dns.RecursiveResolver(
            t, args.mac, args.address, args.gateway_mac, authorities=auths, port=args.port,
            name=args.name,
        )  # fmt: skip

    def stats() -> dict[str, Any]:
        d = {"role": args.role, "queries": server.queries}
        if args.role == "authoritative":
            d["answers"] = len(server.answers)
        else:
            d.update(cache_hits=server.cache_hits, upstream_queries=server.upstream_queries)
        return d

    return stats


def _ready(args: argparse.Namespace, program: str) -> dict[str, Any]:
    return {
        "event": "ready",
        "program": program,
        "name": args.name,
        "ifname": args.ifname,
        "address": args.address,
        "pid": os.getpid(),
    }


def _serve(args: argparse.Namespace, t: RawSocketTransport, out: Output, make: Callable) -> dict:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stats = make(args, t, out)
    t.start()
    out.write(_ready(args, args.program))
    stop.wait(args.duration)
    box: dict[str, Any] = {}
    done = threading.Event()

    def collect() -> None:
        box.update(stats())
        done.set()

    on_loop(t, collect)  # read the program's state on its own thread
    done.wait(5)
    return box


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stream = sys.stdout if args.out == "-" else open(args.out, "a")  # noqa: SIM115
    out = Output(stream)
    try:
        t = RawSocketTransport(args.ifname)
        t.open()
    except (OSError, ValueError) as exc:
        print(f"error: cannot open {args.ifname}: {exc} (raw sockets need root)", file=sys.stderr)
        return 2
    try:
        if args.program == "client":
            extra = _run_client(args, t, out)
        else:
            extra = _serve(args, t, out, _run_service if args.program == "service" else _run_dns)
    finally:
        t.stop()
    host_stats = {"transport_errors": [repr(e) for e in t.errors[:5]]}
    out.write({"event": "stats", "program": args.program, "name": args.name, **extra, **host_stats})
    if stream is not sys.stdout:
        stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
