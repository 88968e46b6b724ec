"""``python -m p4target.runtime``: one embedded switch with a P4Runtime server, with
simple_switch_grpc's options (``--no-p4`` waits for SetForwardingPipelineConfig)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from p4target.switch import Switch, WallClock

from .server import DEFAULT_ADDRESS, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m p4target.runtime", description=__doc__)
    ap.add_argument("json", nargs="?", help="BMv2 JSON to load (omit with --no-p4)")
    ap.add_argument("--no-p4", action="store_true", help="start without a program")
    ap.add_argument(
        "--p4info",
        help="P4Info of JSON (text, JSON or binary); without it the "
        "device waits for SetForwardingPipelineConfig even when JSON is given",
    )
    ap.add_argument(
        "--grpc-server-addr",
        default=DEFAULT_ADDRESS,
        help=f"address to serve P4Runtime on (default {DEFAULT_ADDRESS})",
    )
    ap.add_argument("--device-id", type=int, default=0)
    ap.add_argument(
        "--cpu-port",
        type=int,
        default=None,
        help="port whose traffic is packet-in / where packet-out enters",
    )
    ap.add_argument(
        "-i",
        "--interface",
        action="append",
        default=[],
        metavar="N@IFACE",
        help="attach Linux interface IFACE as port N (AF_PACKET; needs root)",
    )
    ap.add_argument("--priority-queues", type=int, default=1)
    ap.add_argument("--log-console", action="store_true")
    args = ap.parse_args(argv)
    if bool(args.json) == args.no_p4:
        ap.error("give a BMv2 JSON or --no-p4 (not both)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.log_console else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    sw = Switch(
        None if args.no_p4 else args.json,
        device_id=args.device_id,
        clock=WallClock(),
        cpu_port=args.cpu_port,
        priority_queues=args.priority_queues,
        log_console=args.log_console,
    )
    for spec in args.interface:
        num, _, iface = spec.partition("@")
        sw.add_port(int(num), iface)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    srv = serve(sw, args.grpc_server_addr, args.device_id, args.p4info)
    print(f"P4Runtime server on {srv.address}, device id {args.device_id}", flush=True)
    while not done.wait(0.5):
        pass
    srv.stop()
    sw.close()
    sw.clock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
