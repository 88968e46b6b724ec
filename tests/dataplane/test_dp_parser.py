"""Behaviour 1: parsing of every header, and malformed input dropped and counted by reason."""

import pytest
from cpn_harness import AISID_ADDR, CLIENT, IGW_SID, MAC, PATH, T2_SID, T3_SID, CpnSwitch
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting, IPv6ExtHdrSegmentRoutingTLVPadN
from scapy.layers.l2 import ARP, Ether

from traces.constants import DropReason
from traces.layers import Probe, ProbeHop
from traces.packets import aisid_udp_request, probe_request
from traces.srv6 import end, forwarded, h_encaps, srh

ETH = Ether(src=MAC["igw"], dst=MAC["t2"])


@pytest.fixture
def transit() -> CpnSwitch:
    s = CpnSwitch(switch_id=2)
    s.my_sid(T2_SID, "end")
    s.ipv6_route("fc00:0:3::/48", 2, MAC["t3"], src_mac=MAC["t2"])
    s.ipv6_route("fd00:9::/64", 2, MAC["t3"], src_mac=MAC["t2"])
    s.ipv4_route("10.9.0.0/16", 2, MAC["t3"], src_mac=MAC["t2"])
    return s


def _inner() -> IPv6:
    return aisid_udp_request(AISID_ADDR, src=CLIENT, hop_limit=63, payload=b"hello")[IPv6]


def _srv6(rh) -> Ether:
    return ETH / IPv6(src=IGW_SID, dst=T2_SID, nh=43) / rh / _inner()


def _valid_srv6() -> bytes:
    return bytes(_srv6(srh(PATH)))


def _cut(data: bytes, n: int) -> bytes:
    return data[:n]


MALFORMED = {
    "ethernet_truncated": (lambda: bytes(ETH)[:10], DropReason.PARSER_TRUNCATED),
    "ipv6_truncated": (
        lambda: bytes(ETH / IPv6(src=CLIENT, dst="fd00:9::1"))[: 14 + 20],
        DropReason.PARSER_TRUNCATED,
    ),
    "srh_truncated": (lambda: _valid_srv6()[: 14 + 40 + 5], DropReason.PARSER_TRUNCATED),
    "srh_segment_list_truncated": (
        lambda: _valid_srv6()[: 14 + 40 + 8 + 16 + 7],
        DropReason.PARSER_TRUNCATED,
    ),
    "udp_truncated": (
        lambda: bytes(ETH / IPv6(src=CLIENT, dst="fd00:9::1") / UDP())[: 14 + 40 + 4],
        DropReason.PARSER_TRUNCATED,
    ),
    "tcp_truncated": (
        lambda: bytes(ETH / IPv6(src=CLIENT, dst="fd00:9::1") / TCP())[: 14 + 40 + 12],
        DropReason.PARSER_TRUNCATED,
    ),
    "probe_truncated": (
        lambda: bytes(ETH / IPv6(src=CLIENT, dst="fd00:9::1") / UDP(dport=50000) / Probe())[:-3],
        DropReason.PARSER_TRUNCATED,
    ),
    "probe_hop_truncated": (
        lambda: bytes(
            ETH / IPv6(src=CLIENT, dst="fd00:9::1") / UDP(dport=50000) / Probe(hops=[ProbeHop()])
        )[:-1],
        DropReason.PARSER_TRUNCATED,
    ),
    "srh_segments_left_gt_last_entry_plus_1": (
        lambda: bytes(_srv6(srh(PATH, segments_left=4))),
        DropReason.SRH_SEGMENTS_LEFT_INVALID,
    ),
    "srh_hdr_ext_len_too_small": (
        lambda: bytes(
            _srv6(
                IPv6ExtHdrSegmentRouting(
                    nh=41, len=4, segleft=2, lastentry=2, addresses=list(reversed(PATH))
                )
            )
        ),
        DropReason.SRH_LENGTH_INVALID,
    ),
    "srh_too_many_segments": (
        lambda: bytes(_srv6(srh([f"fc00::{i}" for i in range(9)]))),
        DropReason.SRH_TOO_MANY_SEGMENTS,
    ),
    "srh_tlv_area_too_long": (
        lambda: bytes(
            _srv6(
                IPv6ExtHdrSegmentRouting(
                    nh=41,
                    len=6 + 5,
                    segleft=2,
                    lastentry=2,
                    addresses=list(reversed(PATH)),
                    tlv_objects=[IPv6ExtHdrSegmentRoutingTLVPadN(len=38, padding=b"\x00" * 38)],
                )
            )
        ),
        DropReason.SRH_TLV_TOO_LONG,
    ),
    "routing_header_type_0": (
        lambda: bytes(
            _srv6(
                IPv6ExtHdrSegmentRouting(
                    type=0, nh=41, len=2, segleft=1, lastentry=0, addresses=[T3_SID]
                )
            )
        ),
        DropReason.ROUTING_TYPE_UNSUPPORTED,
    ),
    "ipv6_bad_version": (
        lambda: bytes(ETH / IPv6(version=4, src=CLIENT, dst="fd00:9::1") / UDP()),
        DropReason.IP_BAD_VERSION,
    ),
    "inner_ipv6_bad_version": (
        lambda: bytes(
            ETH
            / IPv6(src=IGW_SID, dst=T2_SID, nh=41)
            / IPv6(version=5, src=CLIENT, dst="fd00:9::1")
        ),
        DropReason.IP_BAD_VERSION,
    ),
    "ipv4_ihl_below_5": (
        lambda: bytes(ETH / IP(ihl=4, src="10.0.0.1", dst="10.9.0.1") / UDP()),
        DropReason.IP_BAD_VERSION,
    ),
    "ipv4_options": (
        lambda: bytes(
            ETH / IP(ihl=6, options=b"\x01\x01\x01\x00", src="10.0.0.1", dst="10.9.0.1") / UDP()
        ),
        DropReason.IPV4_OPTIONS_UNSUPPORTED,
    ),
    "ipv4_bad_checksum": (
        lambda: bytes(ETH / IP(chksum=0x1234, src="10.0.0.1", dst="10.9.0.1") / UDP()),
        DropReason.IPV4_BAD_CHECKSUM,
    ),
    "probe_too_many_hops": (
        lambda: bytes(
            ETH
            / IPv6(src=CLIENT, dst="fd00:9::1")
            / UDP(dport=50000)
            / Probe(hop_count=9, hops=[ProbeHop()] * 9)
        ),
        DropReason.PROBE_MALFORMED,
    ),
    "not_ip": (lambda: bytes(ETH / ARP()), DropReason.NOT_IP),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_input_is_dropped_and_counted_by_reason(transit, case):
    build, reason = MALFORMED[case]
    data = build()
    assert transit.send(1, data) == {}
    assert transit.drops() == {reason: 1}
    # ... and the switch carries on: a valid packet right after is forwarded.
    assert 2 in transit.send(1, _valid_srv6())


def test_srh_with_tlvs_is_parsed_and_kept():
    """An SRH with a TLV area (hdr_ext_len = 2n + TLV words) goes through End unchanged."""
    s = CpnSwitch(switch_id=2)
    s.my_sid(T2_SID, "end")
    s.ipv6_route("fc00:0:3::/48", 2, MAC["t3"], src_mac=MAC["t2"])
    rh = IPv6ExtHdrSegmentRouting(
        nh=41,
        len=6 + 2,
        segleft=2,
        lastentry=2,
        addresses=list(reversed(PATH)),
        tlv_objects=[IPv6ExtHdrSegmentRoutingTLVPadN(len=14, padding=b"\x00" * 14)],
    )
    pkt = Ether(bytes(_srv6(rh)))
    [got] = s.send(1, pkt)[2]
    assert got == bytes(
        forwarded(end(pkt), src_mac=MAC["t2"], dst_mac=MAC["t3"], hop_limit_decrement=0)
    )
    assert len(got) == len(bytes(pkt))


def test_ipv4_legacy_routing_ttl_and_checksum(transit):
    pkt = ETH / IP(src="10.0.0.1", dst="10.9.0.1", ttl=9) / UDP(sport=1, dport=2) / b"legacy"
    [got] = transit.send(1, pkt)[2]
    exp = Ether(bytes(pkt))
    exp[Ether].src, exp[Ether].dst = MAC["t2"], MAC["t3"]
    exp[IP].ttl = 8
    del exp[IP].chksum
    assert got == bytes(Ether(bytes(exp)))
    ttl1 = ETH / IP(src="10.0.0.1", dst="10.9.0.1", ttl=1) / UDP()
    assert transit.send(1, ttl1) == {}
    assert transit.drops() == {DropReason.HOP_LIMIT_EXCEEDED: 1}


def test_every_header_kind_parses_through_a_transit(transit):
    """UDP, TCP, probe, SRH (1..8 segments) and inner IPv6 packets all leave intact."""
    cases = [
        ETH / IPv6(src=CLIENT, dst="fd00:9::1") / UDP(sport=1, dport=2) / b"u",
        ETH / IPv6(src=CLIENT, dst="fd00:9::1") / TCP(sport=1, dport=2, flags="S"),
        ETH / probe_request("fd00:9::1", src=CLIENT, src_mac=None, dst_mac=None),
        ETH / IPv6(src=IGW_SID, dst="fd00:9::1", nh=41) / _inner(),
    ]
    for n in range(1, 9):
        cases.append(
            Ether(
                bytes(
                    h_encaps(
                        _inner(),
                        src=IGW_SID,
                        path=[f"fd00:9::{i + 1}" for i in range(n)],
                        src_mac=MAC["igw"],
                        dst_mac=MAC["t2"],
                    )
                )
            )
        )
    for pkt in cases:
        out = transit.send(1, pkt)
        assert list(out) == [2], pkt.summary()
        got = Ether(out[2][0])
        assert got[IPv6].hlim == Ether(bytes(pkt))[IPv6].hlim - 1
    assert transit.drops() == {}
