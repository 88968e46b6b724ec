"""``python -m p4target.switch [options] [JSON]``: the embedded switch as a process, with the
flags of ``simple_switch_grpc`` so that emulation code can start either binary with the same
argument list.

The switch runs on the wall clock with one ``AF_PACKET`` socket per ``-i PORT@IFACE``
(needs CAP_NET_RAW), read and written in batches by one I/O thread (``recvmmsg``/``sendmmsg``
in C, :mod:`.afloop`) when a C compiler and cffi are there, else one frame at a time; the
running line says which (``I/O: batched``; ``CPN_P4_AFIO=per-frame`` forces the latter).  With ``--grpc-server-addr`` the P4Runtime layer is composed in: the CLI
imports ``p4target.runtime`` lazily and calls ``p4target.runtime.serve(switch, address,
device_id=...)``, which must return an object with ``stop()``; the switch engine
itself never imports gRPC.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from . import ConfigError, Switch, WallClock
from .afloop import io_path

log = logging.getLogger("p4target.switch")


def _port_value(text: str, what: str) -> tuple[int, str]:
    port, sep, value = text.partition("@")
    if not sep or not port.isdigit() or not value:
        raise argparse.ArgumentTypeError(f"{what} must be PORT@VALUE, got {text!r}")
    return int(port), value


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m p4target.switch",
        description="Embedded v1model switch (simple_switch_grpc compatible flags).",
    )
    ap.add_argument("json", nargs="?", help="BMv2 JSON program (omit with --no-p4)")
    ap.add_argument("--device-id", type=int, default=0)
    ap.add_argument(
        "-i",
        "--interface",
        action="append",
        default=[],
        metavar="PORT@IFACE",
        type=lambda t: _port_value(t, "-i"),
        help="attach a Linux interface (repeatable)",
    )
    ap.add_argument(
        "--grpc-server-addr",
        metavar="HOST:PORT",
        help="serve P4Runtime here (needs p4target.runtime)",
    )
    ap.add_argument("--cpu-port", type=int, default=None, help="port number of the CPU port")
    ap.add_argument("--drop-port", type=int, default=511)
    ap.add_argument(
        "--priority-queues",
        type=int,
        default=1,
        metavar="N",
        help="strict-priority queues per egress port (1..8)",
    )
    ap.add_argument("--log-console", action="store_true", help="log to the console (log_msg too)")
    ap.add_argument(
        "--thrift-port", type=int, default=None, help="accepted for compatibility; ignored"
    )
    ap.add_argument("--no-p4", action="store_true", help="start without a program")
    ap.add_argument(
        "--engine",
        choices=("python", "native", "auto"),
        default=None,
        help="data path: python (reference), native (generated C, refuses unsupported "
        "programs), auto (native when a C compiler is there and the program is supported, "
        "else python); default $CPN_P4_ENGINE or auto",
    )
    ap.add_argument(
        "--queue-depth", type=int, default=None, metavar="PKTS", help="depth of every egress queue"
    )
    ap.add_argument(
        "--link-rate",
        action="append",
        default=[],
        metavar="PORT@BPS",
        type=lambda t: _port_value(t, "--link-rate"),
        help="serialise a port at BPS bit/s",
    )
    ap.add_argument(
        "--cqf",
        action="append",
        default=[],
        metavar="PORT@CYCLE_US[:Q0,Q1]",
        type=lambda t: _port_value(t, "--cqf"),
        help="CQF gate mode on a port, gating the queue pair Q0,Q1 (default 0,1)",
    )
    ap.add_argument(
        "--port-delay",
        action="append",
        default=[],
        metavar="PORT@US",
        type=lambda t: _port_value(t, "--port-delay"),
        help="propagation delay of a port (link delay without netem)",
    )
    ap.add_argument(
        "--recirculate-delay",
        type=float,
        default=0.0,
        metavar="US",
        help="latency of one recirculation / resubmission pass (default 0, as BMv2)",
    )
    return ap


def build_switch(args: argparse.Namespace) -> Switch:
    if args.json is None and not args.no_p4:
        raise SystemExit("error: give a BMv2 JSON file or --no-p4")
    sw = Switch(
        None if args.no_p4 else args.json,
        device_id=args.device_id,
        clock=WallClock(),
        cpu_port=args.cpu_port,
        drop_port=args.drop_port,
        priority_queues=args.priority_queues,
        log_console=args.log_console,
        engine=args.engine,
    )
    log.info("engine: %s", sw.engine_name)
    if args.queue_depth is not None:
        sw.set_queue_depth(None, args.queue_depth)
    for port, bps in args.link_rate:
        sw.set_link_rate(port, float(bps))
    for port, us in args.port_delay:
        sw.set_port_delay(port, float(us))
    for port, spec in args.cqf:
        cycle, _, pair = spec.partition(":")
        queues = tuple(int(q) for q in pair.split(",")) if pair else (0, 1)
        if len(queues) != 2:
            raise SystemExit(f"error: --cqf {port}@{spec}: give two queues, e.g. 6,7")
        sw.set_cqf(port, float(cycle), queues=queues)  # type: ignore[arg-type]
    sw.set_recirculate_delay(args.recirculate_delay)
    for port, iface in args.interface:
        sw.add_port(port, iface)
    return sw


def start_runtime(sw: Switch, args: argparse.Namespace) -> Any:
    try:
        import p4target.runtime as runtime  # noqa: PLC0415 - composed in only when asked for
    except ImportError as exc:
        raise RuntimeError(
            f"--grpc-server-addr needs the P4Runtime server (p4target.runtime), which is not "
            f"available here ({exc})"
        ) from exc
    return runtime.serve(sw, args.grpc_server_addr, device_id=args.device_id)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.log_console else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if args.thrift_port is not None:
        print(
            f"note: --thrift-port {args.thrift_port} ignored (no Thrift server in the embedded switch)",
            file=sys.stderr,
        )
    try:
        sw = build_switch(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, PermissionError) as exc:
        print(
            f"error: cannot open interface: {exc} (raw sockets need root or CAP_NET_RAW)",
            file=sys.stderr,
        )
        return 2
    server = None
    if args.grpc_server_addr:
        try:
            server = start_runtime(sw, args)
        except Exception as exc:  # noqa: BLE001
            print(f"error: {exc}", file=sys.stderr)
            sw.close()
            return 3
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ports = ", ".join(f"{p}@{port.name}" for p, port in sorted(sw.ports.items())) or "none"
    print(
        f"switch {sw.name} running (ports: {ports}; I/O: {io_path(sw)}; "
        f"P4Runtime: {args.grpc_server_addr or 'off'})",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    if server is not None:
        server.stop()
    sw.close()
    sw.clock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
