"""Behaviour 4: H.Encaps at the ingress gateway, End at transits, End.DT6 at the egress gateway,
IPv6 routing with MAC rewrite and hop limit (RFC 8754 / RFC 8986), exact bytes in and out."""

from cpn_harness import (
    AISID_ADDR,
    CLIENT,
    EGW_SID,
    IGW_SID,
    MAC,
    NODES,
    PATH,
    T2_SID,
    T3_SID,
    CpnSwitch,
    egress_gateway,
    ingress_gateway,
    transit,
)
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether

from traces.constants import DropReason
from traces.flowhash import flow_hash
from traces.packets import aisid_tcp_request, aisid_udp_request
from traces.srv6 import end, end_dt6, forwarded, h_encaps, srh


def _request(**kw):
    return aisid_udp_request(
        AISID_ADDR, src=CLIENT, sport=40000, dport=8080, payload=b"hello", **kw
    )


def _encapsulated(inner=None, path=PATH, tag=0, hlim=64):
    inner = inner if inner is not None else _request(hop_limit=63)
    return h_encaps(
        inner,
        src=IGW_SID,
        path=path,
        tag=tag,
        hop_limit=hlim,
        flow_label=flow_hash(CLIENT, AISID_ADDR, 17, 40000, 8080),
        src_mac=MAC["igw"],
        dst_mac=MAC["t2"],
    )


def test_ingress_gateway_h_encaps_exact_bytes():
    igw = ingress_gateway()
    out = igw.send(1, _request())
    assert list(out) == [2]
    [got] = out[2]
    expected = _encapsulated()
    assert got == bytes(expected)
    # RFC 8754 layout, spelled out: SRH right after the outer header, segment list reversed.
    srh_bytes = got[14 + 40 : 14 + 40 + 8]
    assert srh_bytes == bytes([41, 6, 4, 2, 2, 0, 0, 0])
    pkt = Ether(got)
    assert pkt[IPv6].dst == T2_SID and pkt[IPv6].src == IGW_SID and pkt[IPv6].nh == 43
    assert pkt[IPv6ExtHdrSegmentRouting].addresses == [EGW_SID, T3_SID, T2_SID]
    assert pkt[IPv6ExtHdrSegmentRouting].payload[IPv6].hlim == 63  # inner forwarded once
    assert igw.drops() == {}


def test_ingress_gateway_tcp_request_encapsulated():
    igw = ingress_gateway()
    req = aisid_tcp_request(AISID_ADDR, src=CLIENT, sport=41000, dport=443, flags="S")
    [got] = igw.send(1, req)[2]
    inner = aisid_tcp_request(
        AISID_ADDR, src=CLIENT, sport=41000, dport=443, flags="S", hop_limit=63
    )
    expected = h_encaps(
        inner,
        src=IGW_SID,
        path=PATH,
        flow_label=flow_hash(CLIENT, AISID_ADDR, 6, 41000, 443),
        src_mac=MAC["igw"],
        dst_mac=MAC["t2"],
    )
    assert got == bytes(expected)


def test_transit_end_exact_bytes():
    t2 = transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"])
    pkt = _encapsulated()
    [got] = t2.send(1, pkt)[2]
    expected = forwarded(
        end(pkt), src_mac="02:00:00:00:02:01", dst_mac=MAC["t3"], hop_limit_decrement=0
    )
    assert got == bytes(expected)
    p = Ether(got)
    assert p[IPv6].dst == T3_SID and p[IPv6ExtHdrSegmentRouting].segleft == 1 and p[IPv6].hlim == 63


def test_end_walks_a_six_and_an_eight_segment_list():
    for n in (6, 8):
        sids = [f"fc00:0:{10 + i}::100" for i in range(n - 1)] + [EGW_SID]
        s = CpnSwitch(switch_id=9)
        for i, sid in enumerate(sids[:-1]):
            s.my_sid(sid, "end")
            s.ipv6_route(f"fc00:0:{10 + i}::/48", 2, MAC["t3"], src_mac=MAC["t2"])
        s.ipv6_route("fc00:0:4::/48", 3, MAC["egw"], src_mac=MAC["t2"])
        inner = _request(hop_limit=63)
        pkt = h_encaps(inner, src=IGW_SID, path=sids, src_mac=MAC["igw"], dst_mac=MAC["t2"])
        for hop in range(1, n):
            out = s.send(1, pkt)
            port = 3 if hop == n - 1 else 2
            [got] = out[port]
            expected = forwarded(
                end(pkt),
                src_mac=MAC["t2"],
                dst_mac=MAC["egw"] if port == 3 else MAC["t3"],
                hop_limit_decrement=0,
            )
            assert got == bytes(expected), (n, hop)
            pkt = Ether(got)
            assert pkt[IPv6].dst == sids[hop]
            assert pkt[IPv6ExtHdrSegmentRouting].segleft == n - 1 - hop
        assert s.drops() == {}


def test_reduced_srh_segments_left_equal_last_entry_plus_one():
    """H.Encaps.Red leaves the first SID out of the SRH: SL = LE + 1 is valid (RFC 8754 S12)."""
    t2 = transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"])
    rh = srh([T3_SID, EGW_SID], segments_left=2)  # LE = 1, SL = 2
    pkt = (
        Ether(src=MAC["igw"], dst=MAC["t2"])
        / IPv6(src=IGW_SID, dst=T2_SID, nh=43)
        / rh
        / _request(hop_limit=63)[IPv6]
    )
    [got] = t2.send(1, pkt)[2]
    p = Ether(got)
    assert p[IPv6ExtHdrSegmentRouting].segleft == 1 and p[IPv6].dst == T3_SID


def test_node_that_is_not_the_destination_forwards_srv6_unchanged():
    s = CpnSwitch(switch_id=5)
    s.ipv6_route("fc00:0:2::/48", 2, MAC["t2"], src_mac=MAC["igw"])
    pkt = _encapsulated()
    [got] = s.send(1, pkt)[2]
    assert got == bytes(forwarded(pkt, src_mac=MAC["igw"], dst_mac=MAC["t2"]))


def test_egress_gateway_end_dt6_then_node_rewrite():
    egw = egress_gateway(nodes=[(1, 1)])
    pkt = _encapsulated()
    for _ in range(2):  # End at T2 and T3 (computed, not switched)
        pkt = end(pkt)
    assert pkt[IPv6ExtHdrSegmentRouting].segleft == 0
    [got] = egw.send(1, pkt)[3]
    inner = end_dt6(pkt)
    inner.dst = NODES[1]
    del inner[UDP].chksum  # Scapy recomputes it over the new destination
    expected = forwarded(IPv6(bytes(inner)), src_mac=MAC["egw"], dst_mac=MAC["node"])
    assert got == bytes(expected)
    assert Ether(got)[IPv6].hlim == 62 and egw.drops() == {}


def test_end_dt6_without_srh_decapsulates():
    egw = egress_gateway(nodes=[(1, 1)])
    inner = _request(hop_limit=63)[IPv6]
    pkt = Ether(src=MAC["t3"], dst=MAC["egw"]) / IPv6(src=IGW_SID, dst=EGW_SID, nh=41) / inner
    [got] = egw.send(1, pkt)[3]
    assert Ether(got)[IPv6].dst == NODES[1] and Ether(got)[IPv6].src == CLIENT


def test_misapplied_sids_are_dropped_and_counted():
    t2 = transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"])
    egw = egress_gateway()
    # End with segments_left == 0
    last = _encapsulated(path=[T2_SID])
    assert last[IPv6ExtHdrSegmentRouting].segleft == 0
    assert t2.send(1, last) == {}
    # End without an SRH
    plain = Ether() / IPv6(src=IGW_SID, dst=T2_SID) / UDP(sport=1, dport=2)
    assert t2.send(1, plain) == {}
    assert t2.drops() == {DropReason.SRV6_SID_INVALID: 2}
    # End.DT6 with segments left
    early = _encapsulated(path=[EGW_SID, T3_SID])
    early[IPv6].dst = EGW_SID
    assert egw.send(1, early) == {}
    # End.DT6 without an inner IPv6 packet
    no_inner = Ether() / IPv6(src=IGW_SID, dst=EGW_SID) / UDP(sport=1, dport=2)
    assert egw.send(1, no_inner) == {}
    assert egw.drops() == {DropReason.SRV6_SID_INVALID: 2}


def test_hop_limit_exhausted_is_dropped_everywhere():
    igw = ingress_gateway()
    t2 = transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"])
    router = CpnSwitch(switch_id=6)
    router.ipv6_route("fd00:9::/64", 2, MAC["t2"], src_mac=MAC["igw"])
    # ingress gateway: the request's own hop limit is spent by H.Encaps
    assert igw.send(1, _request(hop_limit=1)) == {}
    assert igw.drops() == {DropReason.HOP_LIMIT_EXCEEDED: 1}
    assert 2 in igw.send(1, _request(hop_limit=2))
    # transit End: the outer hop limit
    assert t2.send(1, _encapsulated(hlim=1)) == {}
    [got] = t2.send(1, _encapsulated(hlim=2))[2]
    assert Ether(got)[IPv6].hlim == 1
    assert t2.drops() == {DropReason.HOP_LIMIT_EXCEEDED: 1}
    # plain IPv6 routing; hop limit 0 as well
    for hl in (0, 1):
        p = Ether() / IPv6(src=CLIENT, dst="fd00:9::1", hlim=hl) / UDP(sport=1, dport=2)
        assert router.send(1, p) == {}
    p = Ether() / IPv6(src=CLIENT, dst="fd00:9::1", hlim=2) / UDP(sport=1, dport=2)
    [got] = router.send(1, p)[2]
    assert got == bytes(forwarded(p, src_mac=MAC["igw"], dst_mac=MAC["t2"]))
    assert router.drops() == {DropReason.HOP_LIMIT_EXCEEDED: 2}


def test_no_route_and_no_path_are_dropped_and_counted():
    igw = ingress_gateway()
    igw.service_site(8, 9)
    igw.classify("2001:db8:abcd:12::/64", service_id=8, object=(9, 0xFFFF), priority=10)
    assert igw.send(1, aisid_udp_request("2001:db8:abcd:12:9:1:1:1")) == {}
    assert igw.drops() == {DropReason.NO_SRV6_PATH: 1}
    p = Ether() / IPv6(src=CLIENT, dst="fd00:77::1") / UDP(sport=1, dport=2)
    assert igw.send(1, p) == {}
    assert igw.drops() == {DropReason.NO_SRV6_PATH: 1, DropReason.NO_ROUTE: 1}
