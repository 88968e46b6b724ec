"""Fuzzing: random and mutated packets never raise, are all accounted for, and (for the
router) come out exactly as an independent reading of the program says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import raw

from p4target.switch import LPM, Switch
from p4target.switch.hashes import csum16

ROUTER = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "bmv2" / "router.json").read_text()
)
ROUTES = [(0x0A000000, 8, 0xAA, 2), (0x0A020000, 16, 0xBB, 3), (0xC0A80100, 24, 0xCC, 4)]


def make_router() -> Switch:
    sw = Switch(ROUTER)
    for net, plen, mac, port in ROUTES:
        sw.table_add("ipv4_lpm", [LPM(net, plen)], "ipv4_forward", [mac, port])
    return sw


def reference(data: bytes) -> tuple[int, bytes] | None:
    """(port, bytes) the router program sends out, or None when it drops the packet."""
    if len(data) < 14 or data[12:14] != b"\x08\x00" or len(data) < 34:
        return 0, data  # nothing (or only Ethernet) parsed: ingress does nothing, port 0
    dst = int.from_bytes(data[30:34], "big")
    best = None
    for net, plen, mac, port in ROUTES:
        mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
        if dst & mask == net and (best is None or plen > best[0]):
            best = (plen, mac, port)
    if best is None:
        return None
    _plen, mac, port = best
    ip = bytearray(data[14:34])
    ip[8] = (ip[8] - 1) & 0xFF
    ip[10:12] = b"\x00\x00"
    ip[10:12] = csum16(bytes(ip)).to_bytes(2, "big")
    return port, mac.to_bytes(6, "big") + data[0:6] + data[12:14] + bytes(ip) + data[34:]


def run(sw: Switch, data: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    sw.tx_callbacks[:] = [lambda p, d: out.append((p, d))]
    sw.receive(1, data)
    return out


def valid_frames() -> st.SearchStrategy[bytes]:
    dsts = st.sampled_from(["10.1.2.3", "10.2.9.9", "192.168.1.77", "172.16.0.1", "10.255.0.0"])
    l4 = st.sampled_from([UDP(sport=1, dport=2), TCP(sport=3, dport=4)])
    return st.builds(
        lambda d, proto, ttl, payload, opts: raw(
            Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02")
            / IP(dst=d, ttl=ttl, options=opts)
            / proto
            / payload
        ),
        dsts,
        l4,
        st.integers(0, 255),
        st.binary(max_size=40),
        st.sampled_from([[], [b"\x01\x01\x01\x00"]]),
    )


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        if b:
            b[pos % len(b)] = val
    return bytes(b[:cut] if cut is not None else b)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.binary(max_size=120))
def test_random_bytes_match_the_reference(data: bytes) -> None:
    sw = make_router()
    want = reference(data)
    assert run(sw, data) == ([] if want is None else [want])
    assert "internal_error" not in sw.stats()["drops"]


@SETTINGS
@given(
    frame=valid_frames(),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 80)),
)
def test_mutated_frames_match_the_reference(
    frame: bytes, edits: list[tuple[int, int]], cut: int | None
) -> None:
    sw = make_router()
    data = mutate(frame, edits, cut)
    want = reference(data)
    assert run(sw, data) == ([] if want is None else [want])
    st_ = sw.stats()
    sent = sum(v["packets"] for v in st_["tx"].values())
    dropped = st_["drops"].get("ingress_drop", 0) + st_["drops"].get("tx_no_port", 0)
    assert sent + dropped == 1 and "internal_error" not in st_["drops"]


@settings(max_examples=60, deadline=None)
@given(data=st.lists(st.binary(max_size=60), min_size=1, max_size=20))
def test_parser_programs_never_raise(data: list[bytes]) -> None:
    from test_parser import stack_prog, vl_prog

    for prog in (stack_prog(), vl_prog()):
        sw = Switch(prog)
        for d in data:
            sw.receive(0, d)
        st_ = sw.stats()
        assert st_["rx"][0]["packets"] == len(data)
        assert "internal_error" not in st_["drops"]


@pytest.fixture(scope="module")
def p4src_programs() -> list[dict]:
    try:
        from p4target.compiler import compile_file
    except ImportError as exc:  # pragma: no cover
        pytest.skip(f"embedded compiler not available: {exc}")
    root = Path(__file__).resolve().parents[2] / "p4src"
    progs = []
    for p in sorted(root.glob("*.p4")):
        try:
            progs.append(compile_file(str(p), include_dirs=[str(root / "include")]).json)
        except Exception:  # noqa: BLE001 - only programs that compile are fuzzed
            continue
    if not progs:
        pytest.skip("no p4src program compiles")
    return progs


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    frames=st.lists(st.one_of(st.binary(max_size=200), valid_frames()), min_size=1, max_size=8),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
)
def test_p4src_programs_never_raise(p4src_programs: list[dict], frames: list[bytes], edits) -> None:  # noqa: ANN001
    for prog in p4src_programs:
        sw = Switch(prog, priority_queues=8, cpu_port=255)
        for f in frames:
            sw.receive(1, mutate(f, edits, None))
            sw.receive(255, f)  # packet-out path too
        sw.run_until_idle(limit_us=1e6)
        st_ = sw.stats()
        assert "internal_error" not in st_["drops"], st_
        assert st_["rx"][1]["packets"] == len(frames)
