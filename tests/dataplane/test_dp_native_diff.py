"""Differential fuzzing of cpn.p4: the native engine against the Python engine, byte for byte.

Both engines run the same roles (ingress gateway, transit, egress gateway) with the same table
state; hypothesis sends the same random and mutated packets (valid requests, SRv6 packets,
replies, probes, IPv4, packet-outs, then truncated / bit-flipped / extended) to both, with the
same clock advances, and every output frame (per port, packet-ins included), every counter and
every register must be equal.  ``CPN_P4_FUZZ_EXAMPLES`` sets the number of examples (default
60; ``bench/native_pps.py --fuzz N`` runs a longer campaign).
"""

from __future__ import annotations

import os

import pytest
from cpn_harness import (
    AISID_ADDR,
    CLIENT,
    EGW_SID,
    IGW_SID,
    MAC,
    NODES,
    PATH,
    T2_SID,
    egress_gateway,
    ingress_gateway,
    transit,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from p4target.switch.native import native_available
from traces.aisid import AISID
from traces.constants import CPU_PORT
from traces.packets import aisid_tcp_request, aisid_udp_request, packet_out, probe_request
from traces.srv6 import h_encaps

pytestmark = pytest.mark.skipif(not native_available(), reason="no C compiler / cffi")

EXAMPLES = int(os.environ.get("CPN_P4_FUZZ_EXAMPLES", "60"))


def seeds() -> list[tuple[str, int, bytes]]:
    """(role, port, frame): one valid packet of each kind the program handles."""
    aisid = AISID.from_address(AISID_ADDR)
    req = aisid_udp_request(aisid, src=CLIENT, sport=4000, payload=b"q" * 24)
    syn = aisid_tcp_request(aisid, src=CLIENT, sport=4001, flags="S")
    enc = h_encaps(
        Ether(bytes(req)),
        src=IGW_SID,
        path=PATH,
        tag=0,
        flow_label=5,
        src_mac=MAC["igw"],
        dst_mac=MAC["t2"],
    )
    at_egw = h_encaps(
        Ether(bytes(syn)),
        src=IGW_SID,
        path=[EGW_SID],
        tag=0,
        flow_label=9,
        src_mac=MAC["t3"],
        dst_mac=MAC["egw"],
    )
    reply = (
        Ether(src=MAC["node"], dst=MAC["egw"])
        / IPv6(src=NODES[1], dst=CLIENT)
        / UDP(sport=9000, dport=4000)
        / (b"r" * 16)
    )
    v4 = Ether() / IP(src="10.0.0.1", dst="10.1.2.3", ttl=9) / TCP(sport=1, dport=2)
    probe = probe_request(aisid, seq=3)
    pout = packet_out(Ether(bytes(req)), egress_port=2)
    pin = packet_out(Ether(bytes(req)), egress_port=0, mode=1)
    return [
        ("igw", 1, bytes(req)),
        ("igw", 1, bytes(syn)),
        ("igw", 1, bytes(probe)),
        ("igw", 1, bytes(v4)),
        ("igw", CPU_PORT, bytes(pout)),
        ("igw", CPU_PORT, bytes(pin)),
        ("t2", 1, bytes(enc)),
        ("egw", 1, bytes(at_egw)),
        ("egw", 3, bytes(reply)),
    ]


SEEDS = seeds()


def build(engine: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("CPN_P4_ENGINE", engine)
    roles = {
        "igw": ingress_gateway(),
        "t2": transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"]),
        "egw": egress_gateway(),
    }
    for r in roles.values():
        assert r.sw.engine_name == engine
    return roles


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 400), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 400), st.just(0)),
    st.tuples(st.just("grow"), st.integers(0, 64), st.integers(0, 255)),
)
packet = st.tuples(
    st.integers(0, len(SEEDS) - 1),
    st.lists(mutation, max_size=4),
    st.integers(0, 3000),  # clock advance before the packet, µs
    st.booleans(),  # any role: send to every role's switch
)


def mutate(data: bytes, muts: list[tuple[str, int, int]]) -> bytes:
    b = bytearray(data)
    for kind, pos, val in muts:
        if kind == "flip" and b:
            b[pos % len(b)] ^= val
        elif kind == "cut":
            del b[pos % (len(b) + 1) :]
        elif kind == "grow":
            b += bytes([val]) * pos
    return bytes(b)


def state_of(role) -> tuple:
    sw = role.sw
    regs = {n: sw.register_read(n) for n in sorted(sw.registers)}
    cnts = {
        n: [sw.counter_read(n, i) for i in range(c.size)]
        for n, c in sorted(sw.counters.items())
        if c.size <= 4096
    }
    return regs, cnts, sw.stats()["drops"], sw.stats()["parser_errors"]


@pytest.fixture(scope="module")
def engines():
    mp = pytest.MonkeyPatch()
    try:
        yield build("python", mp), build("native", mp)
    finally:
        mp.undo()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(packet, min_size=1, max_size=6))
def test_engines_agree_on_random_and_mutated_packets(engines, seq) -> None:
    py, nat = engines
    for si, muts, dt, everywhere in seq:
        role, port, data = SEEDS[si]
        frame = mutate(data, muts)
        targets = list(py) if everywhere else [role]
        for r in targets:
            for roles in (py, nat):
                roles[r].sw.advance(dt)
            p = port if port in py[r].ports or port == CPU_PORT else 1
            if p == CPU_PORT:
                got = [roles[r].inject(frame) for roles in (py, nat)]
            else:
                got = [roles[r].send(p, frame) for roles in (py, nat)]
            assert got[0] == got[1], f"{r} port {p}: {frame.hex()}"


def test_engines_agree_on_state_after_fuzzing(engines) -> None:
    """Registers, counters and drop statistics equal (runs after the fuzz test above)."""
    py, nat = engines
    for r in py:
        assert state_of(py[r]) == state_of(nat[r]), r
