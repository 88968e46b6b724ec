"""A whole CPN path on one virtual clock: client - ingress gateway - 2 transits - egress gateway -
service nodes. End-to-end bytes (4, 5), probes and telemetry (8), policy version switch (7)."""

from cpn_harness import AISID_ADDR, CLIENT, MAC, NODES, SERVICE, CpnSwitch, Network
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.constants import CPU_PORT, PacketOutMode, PuntReason
from traces.layers import CpuPacketIn, Probe
from traces.packets import aisid_udp_request, packet_out, probe_request
from traces.srv6 import forwarded

LINK_US = 10.0


def test_request_and_reply_cross_the_network_exactly():
    net = Network(link_delay_us=LINK_US, nodes=[(1, 1)])
    req = aisid_udp_request(AISID_ADDR, src=CLIENT, sport=40000, dport=8080, payload=b"prompt")
    net.client_send(req)
    [at_node] = net.at_nodes()
    # What the node gets: the request, destination = its address, hop limit 64 - 2
    # (ingress gateway + egress gateway; the transits only touch the outer header).
    exp = Ether(bytes(req))[IPv6]
    exp.dst = NODES[1]
    del exp[UDP].chksum
    assert at_node == bytes(
        forwarded(IPv6(bytes(exp)), src_mac=MAC["egw"], dst_mac=MAC["node"], hop_limit_decrement=2)
    )
    # The node's reply goes back (plain IPv6 routing) with the AISID as its source.
    reply = (
        Ether(src=MAC["node"], dst=MAC["egw"])
        / IPv6(src=NODES[1], dst=CLIENT)
        / UDP(sport=8080, dport=40000)
        / b"answer"
    )
    net.node_send(reply)
    [at_client] = net.at_client()
    got = Ether(at_client)
    assert (
        got[IPv6].src == AISID_ADDR
        and got[IPv6].dst == CLIENT
        and bytes(got[UDP].payload) == b"answer"
    )
    chk = got[UDP].chksum
    del got[UDP].chksum
    assert Ether(bytes(got))[UDP].chksum == chk
    assert got[IPv6].hlim == 64 - 4
    for s in net.switches:
        assert s.drops() == {}, s.sw.name


def test_probe_is_stamped_by_every_switch_and_returned_to_the_controller():
    net = Network(link_delay_us=LINK_US)
    probe = probe_request(AISID_ADDR, src=CLIENT, seq=42, path_id=0)
    t0 = int(net.clock.now())
    net.igw.inject(packet_out(probe, mode=PacketOutMode.INJECT))
    net.run()
    [pin] = net.packet_ins()
    header = CpuPacketIn(pin)
    assert header.reason == PuntReason.PROBE and header.ingress_port == 1
    got = header[Ether]
    p = got[Probe]
    assert p.seq == 42 and p.hop_count == 4 and p.flags == 1
    hops = [(h.switch_id, h.ingress_port, h.egress_port) for h in p.hops]
    assert hops == [(4, 1, CPU_PORT), (3, 1, 2), (2, 1, 2), (1, CPU_PORT, 2)]
    times = [(h.ingress_ts, h.egress_ts) for h in reversed(p.hops)]
    assert times[0][0] == t0
    for (_, out_prev), (in_next, _) in zip(times, times[1:], strict=False):
        assert in_next - out_prev == LINK_US
    for t_in, t_out in times:
        assert t_out >= t_in
    # Lengths and the UDP checksum were kept right at every hop.
    assert got[IPv6].plen == len(bytes(got[IPv6].payload)) == 8 + 8 + 4 * 20
    assert got[UDP].len == 8 + 8 + 4 * 20
    chk = got[UDP].chksum
    del got[UDP].chksum
    assert Ether(bytes(got))[UDP].chksum == chk
    # The probe created no egress-gateway flow.
    assert net.egw.sw.register_read("CpnIngress.egw.connections", 1) == 0


def test_telemetry_counters_and_queue_registers():
    net = Network(link_delay_us=LINK_US)
    for i in range(5):
        net.client_send(aisid_udp_request(AISID_ADDR, src=CLIENT, sport=41000 + i, payload=b"x"))
    assert len(net.at_nodes()) == 5
    for s in (net.igw, net.egw):
        assert s.sw.counter_read("CpnIngress.telemetry.service_packets", SERVICE)[0] == 5
    for s in net.switches:
        assert s.sw.counter_read("CpnIngress.telemetry.port_rx", 1)[0] == 5
    assert net.t2.sw.counter_read("CpnEgress.telemetry.port_tx", 2)[0] == 5
    assert net.egw.sw.counter_read("CpnEgress.telemetry.port_tx", 3)[0] == 5
    assert net.igw.sw.register_read("CpnEgress.telemetry.queue_depth", 2) == 0


def test_queue_depth_and_delay_registers_follow_the_egress_queue():
    s = CpnSwitch(switch_id=5, ports=(1, 2))
    s.ipv6_route("fd00:9::/64", 2, MAC["t3"], src_mac=MAC["t2"])
    s.sw.set_link_rate(2, 8e6)  # 1 byte per µs
    frames = [
        bytes(Ether() / IPv6(src=CLIENT, dst="fd00:9::1") / UDP(sport=i) / (b"x" * 52))
        for i in range(10)
    ]
    for f in frames:  # a burst: all ten arrive at once
        s.ports[1].send(f)
    s.sw.run_until_idle()
    assert len(s.ports[2].take()) == 10
    # The last packet found 8 queued ahead of it (the first was already on the wire) and waited
    # for the 9 frames before it to be serialised (114 bytes = 114 µs each).
    assert s.sw.register_read("CpnEgress.telemetry.queue_depth", 2) == 8
    assert s.sw.register_read("CpnEgress.telemetry.queue_delay_us", 2) == 9 * 114


def test_policy_version_switch_with_a_packet_in_flight():
    """v0 serves SERVICE on node 1, v1 on node 2. A packet stamped v0 before the switch is
    still served by v0 downstream; the next one by v1; the egress gateway's own register is
    never written."""
    net = Network(link_delay_us=LINK_US, nodes=[(1, 1)])
    igw, egw = net.igw, net.egw
    igw.classify("2001:db8:abcd:12::/64", service_id=SERVICE, version=1)
    igw.service_site(SERVICE, 4, version=1)
    igw.srv6_path(
        4, 0, "fc00:0:1::1", ["fc00:0:2::100", "fc00:0:3::100", "fc00:0:4::d6"], version=1
    )
    egw.classify("2001:db8:abcd:12::/64", service_id=SERVICE, version=1)
    egw.service_nodes(SERVICE, [(2, 1)], version=1)

    first = aisid_udp_request(AISID_ADDR, src=CLIENT, sport=42000)
    igw.ports[1].send(bytes(first))  # stamped with version 0, now on the wire to T2
    igw.set_policy_version(1)  # the one write that switches the network
    second = aisid_udp_request(AISID_ADDR, src=CLIENT, sport=42001)
    igw.ports[1].send(bytes(second))
    net.run()
    got = [Ether(p) for p in net.at_nodes()]
    assert [(g[UDP].sport, g[IPv6].dst) for g in got] == [(42000, NODES[1]), (42001, NODES[2])]
    assert egw.sw.register_read("CpnIngress.active_policy_version", 0) == 0
