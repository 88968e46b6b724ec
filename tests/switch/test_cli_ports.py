"""The ``python -m p4target.switch`` command line, the wall clock, and Linux interfaces
(AF_PACKET on a veth pair, when running as root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import raw

from p4target.switch import LPM, Switch, WallClock
from p4target.switch.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[2]
ROUTER = ROOT / "tests" / "fixtures" / "bmv2" / "router.json"


def frame(dst: str = "10.1.2.3") -> bytes:
    return raw(
        Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / IP(dst=dst) / UDP() / (b"x" * 20)
    )


def test_flags_follow_simple_switch_grpc() -> None:
    args = build_parser().parse_args(
        [
            "--device-id",
            "3",
            "-i",
            "1@veth1",
            "-i",
            "2@veth2",
            "--grpc-server-addr",
            "127.0.0.1:9559",
            "--cpu-port",
            "255",
            "--log-console",
            "--priority-queues",
            "8",
            "--thrift-port",
            "9090",
            "x.json",
        ]
    )
    assert args.interface == [(1, "veth1"), (2, "veth2")]
    assert (args.device_id, args.cpu_port, args.priority_queues, args.json) == (3, 255, 8, "x.json")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["-i", "veth1", "x.json"])


def _run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "p4target.switch", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )


def test_cli_errors_exit_non_zero() -> None:
    r = _run(str(ROOT / "nope.json"))
    assert r.returncode == 2 and "cannot read" in r.stderr
    r = _run()
    assert r.returncode != 0 and "--no-p4" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_runs_until_terminated_and_composes_runtime() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "p4target.switch",
            "--thrift-port",
            "9090",
            "--grpc-server-addr",
            f"127.0.0.1:{port}",
            str(ROUTER),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "ignored" in line  # the --thrift-port note
        line = proc.stderr.readline()
        if "not available" in line:  # pragma: no cover - without p4target.runtime
            assert proc.wait(10) == 3
            return
        assert "running" in line and f"127.0.0.1:{port}" in line
        deadline = time.time() + 10
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            pytest.fail("P4Runtime port never opened")
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_wall_clock_switch_forwards_in_real_time() -> None:
    clock = WallClock()
    sw = Switch(str(ROUTER), clock=clock)
    try:
        out = sw.add_port(2)
        sw.table_add("ipv4_lpm", [LPM(0x0A000000, 8)], "ipv4_forward", [0xAA, 2])
        sw.set_link_rate(2, 1e6)  # 66 bytes: ~0.5 ms on the wire
        sw.receive(1, frame())
        deadline = time.time() + 5
        while not out.received and time.time() < deadline:
            time.sleep(0.01)
        assert len(out.received) == 1
        assert out.received_at[0] >= 500
    finally:
        clock.close()


def _can_veth() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create veth interfaces"
    if shutil.which("ip") is None:
        return "iproute2 (ip) not installed"
    r = subprocess.run(
        ["ip", "link", "add", "p4tv0", "type", "veth", "peer", "name", "p4tv1"], capture_output=True
    )
    if r.returncode:
        return f"cannot create veth pairs: {r.stderr.decode().strip()}"
    subprocess.run(["ip", "link", "del", "p4tv0"], capture_output=True)
    return None


@pytest.mark.skipif(_can_veth() is not None, reason=str(_can_veth()))
def test_af_packet_ports_on_veth_pairs() -> None:
    pairs = [("p4sw1", "p4h1"), ("p4sw2", "p4h2")]
    for a, b in pairs:
        subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
        for i in (a, b):
            subprocess.run(
                ["sysctl", "-qw", f"net.ipv6.conf.{i}.disable_ipv6=1"], capture_output=True
            )
            subprocess.run(["ip", "link", "set", i, "up"], check=True)
    clock = WallClock()
    sw = Switch(str(ROUTER), clock=clock)
    h1 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    h2 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    try:
        h1.bind(("p4h1", 0))
        h2.bind(("p4h2", 0))
        h2.settimeout(0.2)
        sw.add_port(1, "p4sw1")
        sw.add_port(2, "p4sw2")
        sw.table_add("ipv4_lpm", [LPM(0x0A000000, 8)], "ipv4_forward", [0xAA, 2])
        time.sleep(0.1)
        h1.send(frame())
        got = None
        deadline = time.time() + 5
        while time.time() < deadline and got is None:
            try:
                data = h2.recv(2048)
            except TimeoutError:
                continue
            if data[:6] == bytes.fromhex("0000000000aa"):
                got = data
        assert got is not None, "nothing arrived on the far veth"
        assert Ether(got)[IP].ttl == Ether(frame())[IP].ttl - 1
        assert sw.stats()["rx"][1]["packets"] >= 1
    finally:
        sw.close()
        clock.close()
        h1.close()
        h2.close()
        for a, _b in pairs:
            subprocess.run(["ip", "link", "del", a], capture_output=True)


def test_cli_configures_the_traffic_manager() -> None:
    from p4target.switch.__main__ import build_switch

    args = build_parser().parse_args(
        [
            "--cqf",
            "2@256:6,7",
            "--cqf",
            "3@100",
            "--link-rate",
            "2@100000000",
            "--queue-depth",
            "128",
            "--recirculate-delay",
            "2.5",
            "--priority-queues",
            "8",
            str(ROUTER),
        ]
    )
    sw = build_switch(args)
    try:
        q = sw.stats()["queues"]
        assert q[2]["cqf"] == {"cycle_us": 256.0, "t0_us": 0.0, "queues": (6, 7)}
        assert q[3]["cqf"]["queues"] == (0, 1)
        assert sw.tm.port(2).link_bps == 1e8 and sw.tm.port(5).depth[0] == 128
        assert sw.recirculate_delay_us == 2.5
    finally:
        sw.clock.close()
