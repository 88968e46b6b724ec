"""Scapy layers for the probe and CPU headers, and the SRv6 helpers, byte by byte."""

import ipaddress

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether

from traces.aisid import AISID
from traces.constants import PROBE_UDP_PORT, PacketOutMode, PuntReason
from traces.layers import CpuPacketIn, CpuPacketOut, Probe, ProbeHop
from traces.packets import (
    aisid_tcp_request,
    aisid_udp_request,
    packet_in,
    packet_out,
    probe_request,
    tcp_connection,
)
from traces.srv6 import SRv6Error, end, end_dt6, forwarded, h_encaps, segment_list, srh

AISID_1 = AISID.from_address("2001:db8:abcd:12:1:2:1:1388")
PATH = ["fc00:0:2::100", "fc00:0:3::100", "fc00:0:4::d6"]


def test_probe_bytes_and_binding():
    hop = ProbeHop(
        switch_id=2,
        ingress_port=1,
        egress_port=3,
        queue_depth=4,
        ingress_ts=0x010203040506,
        egress_ts=7,
    )
    raw = bytes(Probe(seq=9, flags=1, path_id=2, hops=[hop]))
    assert raw[:8] == bytes([0, 0, 0, 9, 1, 2, 1, 0])  # seq, flags, path_id, hop_count, reserved
    assert raw[8:] == bytes.fromhex(
        "0002 0001 0003 0004 010203040506 000000000007".replace(" ", "")
    )
    pkt = Ether(bytes(probe_request(AISID_1, seq=3, path_id=1, hops=[hop, hop])))
    assert pkt[UDP].dport == PROBE_UDP_PORT
    assert pkt[Probe].hop_count == 2 and pkt[Probe].hops[1].ingress_ts == 0x010203040506
    # A checksum Scapy accepts on re-parse (recomputed equal).
    u = pkt[UDP]
    csum = u.chksum
    del u.chksum
    assert Ether(bytes(pkt))[UDP].chksum == csum


def test_cpu_headers():
    inner = aisid_udp_request(AISID_1)
    pin = packet_in(inner, ingress_port=3, reason=PuntReason.UNKNOWN_AISID)
    assert bytes(pin)[:3] == b"\x00\x03\x01" and bytes(pin)[3:] == bytes(inner)
    parsed = CpuPacketIn(bytes(pin))
    assert parsed.reason == PuntReason.UNKNOWN_AISID and parsed[IPv6].dst == AISID_1.address
    pout = packet_out(inner, egress_port=0x102, mode=PacketOutMode.INJECT)
    assert bytes(pout)[:3] == b"\x01\x02\x01"
    assert CpuPacketOut(bytes(pout))[Ether].dst == inner[Ether].dst


def test_requests():
    udp = aisid_udp_request(AISID_1, payload=b"x")
    assert udp[IPv6].dst == "2001:db8:abcd:12:1:2:1:1388" and udp[IPv6].nh == 17
    tcp = aisid_tcp_request(AISID_1, flags="S")
    assert tcp["TCP"].flags == "S"
    conn = tcp_connection(AISID_1, data_segments=2, close="R")
    assert [str(p["TCP"].flags) for p in conn] == ["S", "PA", "PA", "R"]


def test_srh_layout_rfc8754():
    rh = srh(PATH, tag=7)
    raw = bytes(rh)
    # nh=41, Hdr Ext Len = 2*3, type 4, SL = LE = 2, flags 0, tag 7, then Segment List[0..2].
    assert raw[:8] == bytes([41, 6, 4, 2, 2, 0, 0, 7])
    segs = [ipaddress.IPv6Address(raw[8 + 16 * i : 24 + 16 * i]) for i in range(3)]
    assert [str(s) for s in segs] == list(reversed(PATH)) == segment_list(PATH)
    assert len(raw) == 8 + 8 * 6


def test_h_encaps_end_end_dt6_chain():
    inner = aisid_udp_request(AISID_1, payload=b"hello", src_mac=None, dst_mac=None)
    enc = h_encaps(
        inner,
        src="fc00:0:1::1",
        path=PATH,
        tag=3,
        flow_label=0xABCDE,
        src_mac="02:00:00:00:00:0a",
        dst_mac="02:00:00:00:00:0b",
    )
    ip = enc[IPv6]
    assert ip.dst == PATH[0] and ip.nh == 43 and ip.hlim == 64 and ip.fl == 0xABCDE
    assert ip.plen == 8 + 48 + 40 + 8 + 5
    assert enc[IPv6ExtHdrSegmentRouting].segleft == 2 and enc[IPv6ExtHdrSegmentRouting].tag == 3
    hop = end(enc)
    assert (
        hop[IPv6].dst == PATH[1]
        and hop[IPv6ExtHdrSegmentRouting].segleft == 1
        and hop[IPv6].hlim == 63
    )
    last = end(hop)
    assert last[IPv6].dst == PATH[2] and last[IPv6ExtHdrSegmentRouting].segleft == 0
    with pytest.raises(SRv6Error, match="segments_left 0"):
        end(last)
    with pytest.raises(SRv6Error, match="segments_left > 0"):
        end_dt6(hop)
    dec = end_dt6(last)
    assert bytes(dec) == bytes(inner)
    out = forwarded(dec, src_mac="02:00:00:00:00:01", dst_mac="02:00:00:00:00:02")
    assert out[IPv6].hlim == 63 and out[Ether].src == "02:00:00:00:00:01"
