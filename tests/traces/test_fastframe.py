"""The hosts' templated frames are Scapy's frames, byte for byte (checksums included)."""

from __future__ import annotations

import random
import struct

import pytest

from traces.aisid import AISID
from traces.appproto import AppType, CpnApp, accounted_size, app_bytes
from traces.client import AisidClient
from traces.fastframe import FlowTemplate, ones_sum
from traces.host import TCP, UDP, Flow, Host, tcp_flags
from traces.memnet import MemoryNet
from traces.packets import aisid_tcp_request, aisid_udp_request
from traces.service import ServiceNode

A = AISID.from_fields("2001:db8:abcd:12::/64", 1, 2, 1, 5000)
CLIENT, NODE = "fd00:1::10", "fd01:4::2"
CMAC, NMAC, GW = "02:00:00:00:00:01", "02:00:00:00:04:02", "02:00:00:00:01:00"
# (src, dst, src MAC, sport, dport): client -> AISID and node -> client
DIRECTIONS = [(CLIENT, A.address, CMAC, 40001, 8080), (NODE, CLIENT, NMAC, 8080, 40001)]
SIZES = [0, 1, 2, 43, 44, 45, 1199, 1244, 1245, 9000]


def scapy_udp(d, payload: bytes) -> bytes:
    src, dst, mac, sport, dport = d
    return bytes(
        aisid_udp_request(dst, src=src, sport=sport, dport=dport, payload=payload, src_mac=mac)
    )


def scapy_tcp(d, flags: str, seq: int, ack: int, payload: bytes) -> bytes:
    src, dst, mac, sport, dport = d
    return bytes(
        aisid_tcp_request(
            dst, src=src, sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
            payload=payload, src_mac=mac,
        )
    )  # fmt: skip


def payloads(rng: random.Random):
    for n in SIZES:
        yield bytes(n)
        yield rng.randbytes(n)
        yield b"\xff" * n


@pytest.mark.parametrize("d", DIRECTIONS, ids=["client-to-aisid", "node-to-client"])
def test_udp_template_frames_are_scapys(d):
    rng = random.Random(1)
    tpl = FlowTemplate.from_frame(scapy_udp(d, b"first"))
    for p in payloads(rng):
        assert tpl.udp(p) == scapy_udp(d, p), len(p)


@pytest.mark.parametrize("d", DIRECTIONS, ids=["client-to-aisid", "node-to-client"])
def test_tcp_template_frames_are_scapys(d):
    rng = random.Random(2)
    tpl = FlowTemplate.from_frame(scapy_tcp(d, "S", 1000, 0, b""))
    flags = ["S", "SA", "A", "PA", "FPA", "FA", "R", "RA"]
    for i, p in enumerate(payloads(rng)):
        f, seq, ack = flags[i % len(flags)], rng.randrange(2**32), rng.randrange(2**32)
        assert tpl.tcp(tcp_flags(f), seq, ack, p) == scapy_tcp(d, f, seq, ack, p), (f, len(p))


def _zero_sum_payload(d, proto: int) -> bytes:
    """A payload whose last word makes the one's-complement sum 0xFFFF (checksum 0)."""
    base = b"cpn" + bytes(3)
    frame = scapy_udp(d, base) if proto == UDP else scapy_tcp(d, "PA", 7, 9, base)
    ck = struct.unpack_from("!H", frame, 54 + (6 if proto == UDP else 16))[0]
    if proto == UDP and ck == 0xFFFF:
        return base
    return base[:-2] + struct.pack("!H", ck)  # adds ck to the sum: 0xFFFF - ck + ck


@pytest.mark.parametrize("d", DIRECTIONS, ids=["client-to-aisid", "node-to-client"])
def test_checksum_edge_cases_match_scapy(d):
    p = _zero_sum_payload(d, UDP)
    udp = scapy_udp(d, p)
    assert udp[60:62] == b"\xff\xff"  # RFC 2460: a computed 0 goes out as 0xFFFF
    assert FlowTemplate.from_frame(scapy_udp(d, b"")).udp(p) == udp
    p = _zero_sum_payload(d, TCP)
    tcp = scapy_tcp(d, "PA", 7, 9, p)
    assert tcp[70:72] == b"\x00\x00"  # TCP keeps 0
    assert FlowTemplate.from_frame(scapy_tcp(d, "S", 1, 0, b"")).tcp(0x18, 7, 9, p) == tcp


def test_ones_sum_is_the_folded_word_sum():
    rng = random.Random(3)
    for n in (0, 1, 2, 3, 101, 1500):
        data = rng.randbytes(n)
        padded = data + b"\0" * (n & 1)
        words = sum(struct.unpack(f"!{len(padded) // 2}H", padded))
        assert ones_sum(data) == words % 0xFFFF


def test_app_bytes_are_the_scapy_layer():
    kw = dict(flags=1, node_id=3, units=218, request_id=77, offset=2**33 + 5, length=261_600,
              total=10**7, reply_bytes=5000, compute_mflop=2_000_000, service=12, deadline_us=9)  # fmt: skip
    for t in AppType:
        assert app_bytes(t, **kw) == bytes(CpnApp(type=int(t), **kw))
    assert app_bytes(AppType.DATA) == bytes(CpnApp(type=int(AppType.DATA)))  # cell = 0xFFFF


def test_template_rejects_what_it_cannot_patch():
    d = DIRECTIONS[0]
    opts = bytes(aisid_tcp_request(A, src=CLIENT))
    with pytest.raises(ValueError, match="not an Ether/IPv6"):
        FlowTemplate.from_frame(b"\x00" * 70)
    with_opts = bytearray(opts)
    with_opts[54 + 12] = 0x60  # a 24-byte header: options
    with pytest.raises(ValueError, match="no options"):
        FlowTemplate.from_frame(bytes(with_opts) + bytes(4))
    bad = bytearray(scapy_udp(d, b"x"))
    bad[20] = 58
    with pytest.raises(ValueError, match="UDP"):
        FlowTemplate.from_frame(bytes(bad))


class _Wire:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    def now_us(self) -> float:
        return 0.0

    def call_at(self, t_us, fn) -> None:  # pragma: no cover - not used
        raise AssertionError

    def on_receive(self, fn) -> None:
        pass


def test_flow_sends_scapys_first_frame_then_templated_ones():
    wire = _Wire()
    host = Host(wire, NMAC, NODE, GW)
    flow = host.flow(TCP, CLIENT, 8080, 40001)
    d = DIRECTIONS[1]
    flow.send_tcp("SA", 5000, 1001)
    assert flow.template is not None
    flow.send_tcp("PA", 5001, 1045, b"\x01" * 100)
    flow.send_tcp("FPA", 5101, 1045, bytes(33))
    assert wire.frames == [
        scapy_tcp(d, "SA", 5000, 1001, b""),
        scapy_tcp(d, "PA", 5001, 1045, b"\x01" * 100),
        scapy_tcp(d, "FPA", 5101, 1045, bytes(33)),
    ]
    with pytest.raises(ValueError, match="send_udp on a TCP flow"):
        flow.send_udp(b"")
    with pytest.raises(ValueError, match="UDP"):
        host.flow(58, CLIENT, 1, 2)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_client_and_node_frames_match_scapy_in_a_run(proto, monkeypatch):
    """A paced request with DATA and BULK units both ways: every templated frame is checked
    against Scapy's (``Flow.check``)."""
    monkeypatch.setattr(Flow, "check", True)
    net = MemoryNet(delay_us=500.0, rate_bps=1e9)
    node = ServiceNode(
        net.endpoint(NODE, "node"), NMAC, NODE, "2080ti_1", 100.0, GW, bulk_bytes=5000
    )
    net.alias(A.address, NODE)
    client = AisidClient(net.endpoint(CLIENT, "client"), CMAC, CLIENT, GW, bulk_bytes=5000)
    recs = [
        client.request(A, n, proto, rate_bps=1e8, reply_bytes=r)
        for n, r in ((30_001, 12_345), (1, 1), (0, 7000))
    ]
    net.run()
    assert [r.outcome for r in recs] == ["ok"] * 3 and node.served == 3
    # UDP: REQ + 10 / 1 / 0 data units, ACCEPT + 6 / 1 / 5 reply units; TCP: SYN, SYN-ACK, FIN
    # and its ACK instead of the ACCEPT (one more per request); 6 flows' first frames by Scapy
    assert len(net.log) == {"udp": 29, "tcp": 38}[proto]


def test_flow_check_catches_a_differing_frame(monkeypatch):
    monkeypatch.setattr(Flow, "check", True)
    monkeypatch.setattr(FlowTemplate, "udp", lambda self, p: b"wrong")
    flow = Host(_Wire(), CMAC, CLIENT, GW).flow(UDP, A.address, 40001, 8080)
    flow.send_udp(b"first")
    with pytest.raises(AssertionError, match="differs from Scapy"):
        flow.send_udp(b"second")


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_accounted_size_of_templated_bulk_and_data_frames(proto):
    bulk = app_bytes(AppType.BULK, units=5, length=6000, total=10**6)
    data = app_bytes(AppType.DATA, length=1200) + bytes(1200)
    d = DIRECTIONS[0]
    if proto == "udp":
        frames = [scapy_udp(d, bulk), scapy_udp(d, data)]
    else:
        frames = [scapy_tcp(d, "PA", 1, 2, bulk), scapy_tcp(d, "PA", 1, 2, data)]
    assert accounted_size(frames[0]) == 5 * len(frames[0]) + 6000
    assert accounted_size(frames[1]) == len(frames[1])
    assert accounted_size(frames[0][:105]) == 105
