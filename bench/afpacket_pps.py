"""Forwarding rate of the embedded switch on Linux interfaces: per-frame vs batched I/O.

    sudo python bench/afpacket_pps.py [--frames 40000] [--repeat 3] [--size 64] [--engine auto]

router.p4 (tests/fixtures/bmv2/router.json) runs in this process between two veth pairs
(h1 <-> s1 = port 1, s2 <-> h2 = port 2; every frame is routed 1 -> 2).  While the switch is
held (its lock taken), --frames UDP frames of --size bytes are queued at its s1 socket (64 MiB
receive buffer) by a C sender (the batched I/O library's ``sendmmsg``, 256 frames a call);
then the switch is released and the time until all of them have come out of h2 (its
interface counter, polled every 1 ms by a watcher process that does not touch our GIL) gives
the rate.  So the sender never competes with the switch for a core.  Best of --repeat runs,
both paths alternating in the same run:

    switch.afpacket.per_frame.pps     one select + recvfrom + Switch.receive + send per frame
    switch.afpacket.batched.pps       recvmmsg of up to 256 frames in C, one
                                      Switch.receive_batch per batch, one sendmmsg per port
    switch.afpacket.batched.speedup   batched / per_frame (x)
    switch.afpacket.<path>.cpu_pps    frames per CPU second of this process (all threads);
                                      batched.cpu_speedup compares those (steadier when the
                                      machine is shared)
    switch.afpacket.<path>.lost       frames that did not come out (0 expected)

Needs root (veth pairs, raw sockets): prints a line and exits 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

ROUTER = ROOT / "tests" / "fixtures" / "bmv2" / "router.json"
SO_RCVBUFFORCE = 33
RCVBUF = 64 << 20  # room for a whole run's frames at the switch's socket


def _frame(size: int) -> bytes:
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import raw

    base = (
        Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
        / IP(src="192.168.1.1", dst="10.1.2.3")
        / UDP(sport=1234, dport=80)
    )
    return raw(base / (b"x" * max(0, size - len(raw(base)))))


def _rx(ifname: str) -> int:
    return int(Path(f"/sys/class/net/{ifname}/statistics/rx_packets").read_text())


def watch(ifname: str, rx0: int, n: int) -> None:
    """Print "ready", then poll ``ifname``'s counter every 1 ms until ``n`` more frames (or
    1 s without progress) and print that moment (``time.monotonic``)."""
    print("ready", flush=True)
    last, idle_since = rx0, time.monotonic()
    while True:
        time.sleep(0.001)
        now, cur = time.monotonic(), _rx(ifname)
        if cur - rx0 >= n:
            break
        if cur != last:
            last, idle_since = cur, now
        elif now - idle_since > 1.0:
            now = idle_since
            break
    print(now, flush=True)


def _veths(tag: str) -> dict[str, str]:
    names = {"s1": f"bp{tag}s1", "h1": f"bp{tag}h1", "s2": f"bp{tag}s2", "h2": f"bp{tag}h2"}
    for a, b in (("s1", "h1"), ("s2", "h2")):
        subprocess.run(
            ["ip", "link", "add", names[a], "type", "veth", "peer", "name", names[b]], check=True
        )
    for n in names.values():
        subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{n}.disable_ipv6=1"], capture_output=True)
        subprocess.run(["ip", "link", "set", n, "up"], check=True)
    deadline = time.monotonic() + 5
    while any(
        Path(f"/sys/class/net/{n}/operstate").read_text().strip() != "up" for n in names.values()
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("veth interfaces did not come up")
        time.sleep(0.01)
    return names


def run_once(names: dict[str, str], batched: bool, args: argparse.Namespace) -> dict[str, float]:
    """Queue ``args.frames`` frames at the switch while it is held, release it, time the drain."""
    from p4target.switch import LPM, Switch, WallClock
    from p4target.switch.afloop import io_path
    from p4target.switch.native.afio import send_frames
    from p4target.switch.ports import AfPacketPort

    sw = Switch(str(ROUTER), clock=WallClock(), engine=args.engine)
    h1 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # send only
    try:
        for n, ifname in ((1, names["s1"]), (2, names["s2"])):
            port = sw.add_port(n, AfPacketPort(ifname, batched=batched))
            port.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)  # type: ignore[attr-defined]
        assert io_path(sw) == ("batched" if batched else "per-frame")
        sw.table_add("ipv4_lpm", [LPM(0x0A000000, 8)], "ipv4_forward", [0xAA, 2])
        h1.bind((names["h1"], 0))
        burst = [_frame(args.size)] * 256
        with sw.lock:  # the switch takes nothing while the frames are queued at its socket
            sent = 0
            while sent < args.frames:
                sent += send_frames(h1.fileno(), burst[: min(256, args.frames - sent)])[0]
            rx0 = _rx(names["h2"])
            watch = subprocess.Popen(  # polls the counter without touching our GIL
                [sys.executable, __file__, "--watch", names["h2"], str(rx0), str(args.frames)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert watch.stdout is not None and watch.stdout.readline().strip() == "ready"
            cpu0, t0 = time.process_time(), time.monotonic()
        t1 = float(watch.communicate(timeout=120)[0])
        cpu1 = time.process_time()
        done = _rx(names["h2"]) - rx0
        return {
            "pps": done / (t1 - t0),  # CLOCK_MONOTONIC: the same clock in both processes
            "cpu_pps": done / max(cpu1 - cpu0, 1e-9),
            "lost": args.frames - done,
        }
    finally:
        h1.close()
        sw.close()
        sw.clock.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=40000, help="frames per run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=64, help="frame size in bytes")
    ap.add_argument("--engine", default="auto", choices=("auto", "native", "python"))
    ap.add_argument("--watch", nargs=3, metavar=("IFACE", "RX0", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.watch:
        watch(args.watch[0], int(args.watch[1]), int(args.watch[2]))
        return 0
    if os.geteuid() != 0:
        print("switch.afpacket: skipped (needs root for veth pairs and raw sockets)")
        return 0
    from p4target.switch.native.afio import afio, unavailable_reason

    if afio() is None:
        print(f"switch.afpacket: skipped (batched I/O unavailable: {unavailable_reason()})")
        return 0
    names = _veths(f"{os.getpid() % 100000}")
    try:
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):  # alternate, so both paths see the same machine load
            for path, batched in (("per_frame", False), ("batched", True)):
                r = run_once(names, batched, args)
                if path not in best or r["pps"] > best[path]["pps"]:
                    best[path] = r
        for path in ("per_frame", "batched"):
            r = best[path]
            print(f"switch.afpacket.{path}.pps: {r['pps']:.0f} packets/s")
            print(f"switch.afpacket.{path}.cpu_pps: {r['cpu_pps']:.0f} packets/s")
            print(f"switch.afpacket.{path}.lost: {r['lost']:.0f} packets")
        speedup = best["batched"]["pps"] / max(best["per_frame"]["pps"], 1.0)
        print(f"switch.afpacket.batched.speedup: {speedup:.1f} x")
        cpu_speedup = best["batched"]["cpu_pps"] / max(best["per_frame"]["cpu_pps"], 1.0)
        print(f"switch.afpacket.batched.cpu_speedup: {cpu_speedup:.1f} x")
        print(f"switch.afpacket.frame_bytes: {args.size} bytes")
        print(f"switch.afpacket.cores: {os.cpu_count()} cores")
    finally:
        for k in ("s1", "s2"):
            subprocess.run(["ip", "link", "del", names[k]], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
