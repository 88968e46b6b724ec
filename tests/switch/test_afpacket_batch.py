"""Batched AF_PACKET I/O (recvmmsg/sendmmsg in C, one I/O thread per switch) on veth pairs:
exact frames through router.p4, a 2000-frame burst in order, our own transmissions not read
back, malformed frames handled as the per-frame path handles them, prompt shutdown, the
per-frame fallback and the command line's default.  Needs root (veth pairs, raw sockets)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import raw

from p4target.switch import LPM, ConfigError, Switch, WallClock
from p4target.switch.afloop import AfIoLoop, io_path
from p4target.switch.native.afio import Receiver, afio, send_frames
from p4target.switch.ports import AfPacketPort

ROOT = Path(__file__).resolve().parents[2]
ROUTER = ROOT / "tests" / "fixtures" / "bmv2" / "router.json"
DMAC = "00:00:00:00:00:aa"


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root (veth pairs, AF_PACKET sockets)"
    if shutil.which("ip") is None:
        return "iproute2 (ip) not installed"
    name = f"afq{os.getpid() % 100000}"
    r = subprocess.run(
        ["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
        capture_output=True,
    )
    if r.returncode:
        return f"cannot create veth pairs (CAP_NET_ADMIN?): {r.stderr.decode().strip()}"
    subprocess.run(["ip", "link", "del", name], capture_output=True)
    if afio() is None:
        return "batched I/O library unavailable (no C compiler or cffi)"
    return None


WHY = _why_not()
pytestmark = pytest.mark.skipif(WHY is not None, reason=str(WHY))


def _wait(cond, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def veths() -> Iterator[dict[str, str]]:
    """Two veth pairs: switch side sw1/sw2, host side h1/h2 (unique names, removed after)."""
    tag = f"{os.getpid() % 100000}"
    names = {"sw1": f"ab{tag}s1", "h1": f"ab{tag}h1", "sw2": f"ab{tag}s2", "h2": f"ab{tag}h2"}
    try:
        for a, b in (("sw1", "h1"), ("sw2", "h2")):
            subprocess.run(
                ["ip", "link", "add", names[a], "type", "veth", "peer", "name", names[b]],
                check=True,
            )
        for n in names.values():
            subprocess.run(
                ["sysctl", "-qw", f"net.ipv6.conf.{n}.disable_ipv6=1"], capture_output=True
            )
            subprocess.run(["ip", "link", "set", n, "up"], check=True)
        for n in names.values():
            _wait(
                lambda n=n: Path(f"/sys/class/net/{n}/operstate").read_text().strip() == "up",
                what=f"{n} up",
            )
        yield names
    finally:
        for k in ("sw1", "sw2"):
            subprocess.run(["ip", "link", "del", names[k]], capture_output=True)


def _host(ifname: str) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((ifname, 3))  # ETH_P_ALL from here on: no frame of another interface
    s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: hold a whole burst
    s.settimeout(0.1)
    return s


def _collect(sock: socket.socket, n: int, timeout: float = 10.0) -> list[bytes]:
    """Frames to DMAC arriving on ``sock`` until ``n`` of them or the timeout."""
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        try:
            data, addr = sock.recvfrom(65535)
        except TimeoutError:
            continue
        if addr[2] != socket.PACKET_OUTGOING and data[:6] == bytes.fromhex("0000000000aa"):
            got.append(data)
    return got


def frame(dst: str = "10.1.2.3", payload: bytes = b"hello") -> bytes:
    return raw(
        Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02")
        / IP(src="192.168.1.1", dst=dst, ttl=64)
        / UDP(sport=1234, dport=80)
        / payload
    )


def expected(pkt: bytes) -> bytes:
    e = Ether(pkt)
    e.dst, e.src = DMAC, "00:00:00:00:00:01"
    e[IP].ttl -= 1
    del e[IP].chksum
    return raw(Ether(raw(e)))


def _router(veths: dict[str, str], batched: bool | None = None, **kw) -> Switch:
    # engine "auto" whatever $CPN_P4_ENGINE says: the batched path is what these tests check
    # (the python engine keeps the per-frame path: test_python_engine_keeps_the_per_frame_path)
    kw.setdefault("engine", "auto")
    sw = Switch(str(ROUTER), clock=WallClock(), **kw)
    sw.add_port(1, AfPacketPort(veths["sw1"], batched=batched))
    sw.add_port(2, AfPacketPort(veths["sw2"], batched=batched))
    sw.table_add("ipv4_lpm", [LPM(0x0A000000, 8)], "ipv4_forward", [0xAA, 2])
    return sw


def _close(sw: Switch) -> None:
    sw.close()
    sw.clock.close()


def test_exact_frames_through_the_router(veths: dict[str, str]) -> None:
    sw = _router(veths)
    h1, h2 = _host(veths["h1"]), _host(veths["h2"])
    try:
        assert io_path(sw) == "batched"
        pkts = [frame(f"10.{i}.0.{i}", bytes([i]) * (10 + 50 * i)) for i in range(1, 6)]
        for p in pkts:
            h1.send(p)
        assert _collect(h2, len(pkts)) == [expected(p) for p in pkts]
        assert sw.stats()["rx"][1] == {
            "packets": len(pkts),
            "bytes": sum(map(len, pkts)),
        }
    finally:
        _close(sw)
        h1.close()
        h2.close()


def test_burst_forwarded_complete_and_in_order(veths: dict[str, str]) -> None:
    sw = _router(veths)
    h1, h2 = _host(veths["h1"]), _host(veths["h2"])
    try:
        # same headers (UDP checksum 0), a sequence number in the payload: scapy once
        base = Ether(dst="00:00:00:00:00:01", src="00:00:00:00:00:02") / IP(dst="10.9.9.9")
        tmpl = raw(base / UDP(sport=1, dport=2, chksum=0) / (b"\0" * 32))
        hdr, out_hdr = tmpl[:-32], expected(tmpl)[:-32]
        seqs = [i.to_bytes(4, "big") * 8 for i in range(2000)]
        pkts = [hdr + q for q in seqs]
        assert send_frames(h1.fileno(), pkts) == (2000, 0)  # one burst (sendmmsg)
        assert _collect(h2, 2000, timeout=30) == [out_hdr + q for q in seqs]
        loop: AfIoLoop = sw.__dict__["_afio_loop"]
        assert loop.frames == 2000 and loop.batches < 2000  # frames came in batches
        assert sw.stats()["tx"][2]["packets"] == 2000
    finally:
        _close(sw)
        h1.close()
        h2.close()


def test_own_transmissions_are_not_received_back(veths: dict[str, str]) -> None:
    sw = _router(veths)
    h1, h2 = _host(veths["h1"]), _host(veths["h2"])
    try:
        for i in range(20):
            h1.send(frame(payload=bytes([i]) * 30))
        assert len(_collect(h2, 20)) == 20
        rx = sw.stats()["rx"]
        assert rx[1]["packets"] == 20 and 2 not in rx  # the 20 frames sent on port 2
    finally:
        _close(sw)
        h1.close()
        h2.close()


def test_c_receiver_drops_outgoing_frames(veths: dict[str, str]) -> None:
    """Without PACKET_IGNORE_OUTGOING a socket also sees the frames others send on its
    interface (the kernel's, another switch's); C drops them."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    other = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    h = _host(veths["h1"])
    r, w = os.pipe()
    try:
        s.bind((veths["sw1"], 3))
        other.bind((veths["sw1"], 3))
        s.setblocking(False)
        rx = Receiver(cap=8)
        rx.set_fds([s.fileno()])
        mine, theirs = frame(payload=b"mine"), frame(payload=b"theirs")
        other.send(mine)  # outgoing on sw1
        h.send(theirs)  # incoming on sw1
        got: list = []
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            res = rx.recv(r, timeout_ms=200)
            assert isinstance(res, list)
            got += res
        assert got == [(0, theirs)]
        assert rx.stats[0] == 1  # one outgoing frame skipped
        os.write(w, b"x")
        assert rx.recv(r, timeout_ms=-1) == -2  # the stop pipe ends the wait
    finally:
        s.close()
        other.close()
        h.close()
        os.close(r)
        os.close(w)


def _malformed_run(veths: dict[str, str], batched: bool) -> tuple[dict, list[bytes]]:
    sw = _router(veths, batched=batched)
    h1, h2 = _host(veths["h1"]), _host(veths["h2"])
    good = [frame(payload=b"a" * 20), frame(payload=b"b" * 30)]
    bad = [
        frame()[:20],  # Ethernet + 6 bytes of IPv4: PacketTooShort
        raw(Ether(dst="00:00:00:00:00:01", type=0x0800)),  # IPv4 type, no IPv4 header
        raw(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP()),  # not IPv4: to port 0 (no port)
    ]
    sent = [good[0], *bad, good[1]]
    try:
        assert io_path(sw) == ("batched" if batched else "per-frame")
        for p in sent:
            h1.send(p)
        out = _collect(h2, 2)
        _wait(lambda: sw.stats()["rx"].get(1, {}).get("packets") == len(sent), what="rx")
        st = sw.stats()
        return {k: st[k] for k in ("rx", "tx", "drops", "parser_errors")}, out
    finally:
        _close(sw)
        h1.close()
        h2.close()


def test_malformed_frames_as_the_per_frame_path(veths: dict[str, str]) -> None:
    batched, out_b = _malformed_run(veths, True)
    per_frame, out_p = _malformed_run(veths, False)
    assert batched == per_frame
    assert (
        out_b == out_p == [expected(frame(payload=b"a" * 20)), expected(frame(payload=b"b" * 30))]
    )
    assert batched["parser_errors"] == {"PacketTooShort": 2}
    assert batched["drops"] == {"tx_no_port": 3}  # the two short frames and the ARP: port 0


def test_transmits_outside_a_batch(veths: dict[str, str]) -> None:
    """Packet-out from another thread and traffic-manager timed transmits go out at once."""
    sw = _router(veths)
    h2 = _host(veths["h2"])
    h1 = _host(veths["h1"])
    try:
        sw.receive(1, frame(payload=b"direct"))  # not the I/O thread: written immediately
        assert _collect(h2, 1) == [expected(frame(payload=b"direct"))]
        sw.set_link_rate(2, 1e8)  # shaped: the clock thread transmits
        pkts = [frame(payload=bytes([i]) * 40) for i in range(50)]
        for p in pkts:
            h1.send(p)
        assert _collect(h2, 50) == [expected(p) for p in pkts]
    finally:
        _close(sw)
        h1.close()
        h2.close()


def test_close_stops_the_io_thread_promptly(veths: dict[str, str]) -> None:
    sw = _router(veths)
    loop: AfIoLoop = sw.__dict__["_afio_loop"]
    ports = list(sw.ports.values())
    t0 = time.monotonic()
    sw.close()
    assert not loop.thread.is_alive() and time.monotonic() - t0 < 1.0
    assert all(p.sock.fileno() == -1 for p in ports)  # sockets closed
    assert "_afio_loop" not in sw.__dict__
    sw.add_port(1, veths["sw1"])  # a new port starts a new loop
    try:
        assert sw.__dict__["_afio_loop"] is not loop and io_path(sw) == "batched"
    finally:
        _close(sw)


def test_per_frame_fallback(veths: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPN_P4_AFIO", "per-frame")
    sw = _router(veths)
    h1, h2 = _host(veths["h1"]), _host(veths["h2"])
    try:
        assert io_path(sw) == "per-frame" and "_afio_loop" not in sw.__dict__
        h1.send(frame())
        assert _collect(h2, 1) == [expected(frame())]
    finally:
        _close(sw)
        h1.close()
        h2.close()
    monkeypatch.delenv("CPN_P4_AFIO")
    sw = Switch(str(ROUTER), clock=WallClock(), engine="python")
    try:
        sw.add_port(1, veths["sw1"])
        assert io_path(sw) == "per-frame"  # the reference engine keeps the reference path
    finally:
        _close(sw)


def test_afio_unavailable_falls_back_per_frame(
    veths: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import p4target.switch.native.afio as afio_mod

    monkeypatch.setattr(afio_mod, "afio", lambda: None)
    monkeypatch.setattr(afio_mod, "unavailable_reason", lambda: "no C compiler")
    caplog.set_level("INFO", logger="p4target.switch")
    sw = _router(veths)
    try:
        assert io_path(sw) == "per-frame"
        assert "AF_PACKET I/O per frame (batched I/O unavailable (no C compiler))" in caplog.text
        with pytest.raises(OSError, match="no C compiler"):
            AfPacketPort(veths["sw1"], batched=True)  # forced: a clear error, nothing opened
        monkeypatch.setenv("CPN_P4_AFIO", "fast")
        with pytest.raises(ConfigError, match="CPN_P4_AFIO"):
            AfPacketPort(veths["sw1"])
        assert sorted(sw.ports) == [1, 2]
    finally:
        _close(sw)


def test_ports_come_and_go_while_running(veths: dict[str, str]) -> None:
    """Replacing a port keeps the loop; an interface deleted under the switch is survived."""
    sw = _router(veths)
    h1, h2 = _host(veths["h1"]), _host(veths["h2"])
    extra = f"ax{os.getpid() % 100000}"
    subprocess.run(["ip", "link", "add", extra, "type", "veth", "peer", "name", extra + "p"])
    try:
        loop: AfIoLoop = sw.__dict__["_afio_loop"]
        sw.add_port(2, veths["sw2"])  # replaced under the switch lock
        sw.add_port(3, extra)
        subprocess.run(["ip", "link", "del", extra], check=True)
        h1.send(frame())
        assert _collect(h2, 1) == [expected(frame())]
        assert sw.__dict__["_afio_loop"] is loop and loop.thread.is_alive()
        assert [p.number for p in loop.ports] == [1, 2, 3]
    finally:
        t0 = time.monotonic()
        _close(sw)
        assert not loop.thread.is_alive() and time.monotonic() - t0 < 1.0
        h1.close()
        h2.close()
        subprocess.run(["ip", "link", "del", extra], capture_output=True)


@pytest.mark.parametrize("env,path", [(None, "batched"), ("per-frame", "per-frame")])
def test_command_line_uses_the_batched_path(
    veths: dict[str, str], env: str | None, path: str
) -> None:
    e = dict(os.environ)
    e.pop("CPN_P4_AFIO", None)
    e.pop("CPN_P4_ENGINE", None)  # the default engine (auto), whatever this run's is
    if env:
        e["CPN_P4_AFIO"] = env
    proc = subprocess.Popen(
        [sys.executable, "-m", "p4target.switch", "-i", f"1@{veths['sw1']}", str(ROUTER)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=e,
    )
    try:
        line = "-"
        while line and "running" not in line:  # warnings may come first
            line = proc.stderr.readline()
        assert f"I/O: {path}" in line, line
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
