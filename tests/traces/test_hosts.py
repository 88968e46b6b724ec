"""Client and service-node programs over the in-memory wire: exact latencies, queueing, faults,
bulk accounting, pcaps and the transports."""

from __future__ import annotations

import os
import socket

import pytest
from scapy.layers.inet import UDP as ScapyUDP
from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from traces.aisid import AISID
from traces.appproto import (
    APP_HEADER_LEN,
    AppType,
    CpnApp,
    accounted_size,
    app_of,
    parse_app,
    split_units,
)
from traces.client import AisidClient
from traces.host import parse_frame
from traces.memnet import MemoryNet
from traces.packets import aisid_udp_request
from traces.pcap import PcapRecorder
from traces.service import ComputeModel, ServiceNode
from traces.srv6 import h_encaps
from traces.transport import RawSocketTransport

A = AISID.from_fields("2001:db8:abcd:12::/64", 1, 2, 1, 5000)  # 500 ms budget
NODE, NODE2, CLIENT = "fd01:4::2", "fd01:4::3", "fd00:1::10"
GW = "02:00:00:00:01:00"
D = 1000.0  # one-way delay, µs


def setup(delay=D, rate=None, servers=1, capacity=100.0, n_nodes=1, **node_kw):
    net = MemoryNet(delay_us=delay, rate_bps=rate)
    nodes = []
    for i, addr in enumerate((NODE, NODE2)[:n_nodes]):
        nodes.append(
            ServiceNode(
                net.endpoint(addr, f"node{i + 1}"),
                f"02:00:00:00:04:0{i + 2}",
                addr,
                "2080ti_1",
                capacity,
                GW,
                node_id=i + 1,
                servers=servers,
                **node_kw,
            )
        )
    net.alias(A.address, NODE)
    client = AisidClient(net.endpoint(CLIENT, "client"), "02:00:00:00:00:01", CLIENT, GW)
    return net, client, nodes


def frames_from(net, sender):
    return [(t, f) for t, s, f in net.log if s == sender]


# -- latencies -----------------------------------------------------------------------------------
def test_udp_request_latencies_are_the_expected_arithmetic():
    net, client, (node,) = setup()
    data, rate, tflop = 1_000_000, 50e6, 2.0
    rec = client.request(A, data, "udp", rate_bps=rate, compute_tflop=tflop, reply_bytes=5000)
    net.run()
    compute = tflop / 100.0 * 1e6
    assert rec.outcome == "ok" and rec.error == ""
    assert rec.initiation_latency_us == 2 * D  # REQ out, ACCEPT back
    assert rec.completion_latency_us == pytest.approx(2 * D + data * 8 / rate * 1e6 + compute)
    assert rec.node_id == 1 and rec.reply_received == rec.reply_bytes == 5000
    assert rec.deadline_us == 500_000 and rec.deadline_met is True
    assert rec.retransmits == 0 and client.pending() == 0
    assert node.served == 1 and node.samples[-1][1:] == (0, 0)


def test_tcp_request_latencies_include_the_handshake():
    net, client, (node,) = setup()
    data, rate, tflop = 300_000, 20e6, 5.0
    rec = client.request(A, data, "tcp", rate_bps=rate, compute_tflop=tflop)
    net.run()
    assert rec.outcome == "ok"
    assert rec.initiation_latency_us == 2 * D  # SYN out, SYN-ACK back
    # handshake (2d), then data paced from the SYN-ACK, one-way (d), compute, reply (d)
    expected = 4 * D + data * 8 / rate * 1e6 + tflop / 100.0 * 1e6
    assert rec.completion_latency_us == pytest.approx(expected)
    assert rec.reply_bytes == node.reply_bytes
    client_frames = [parse_frame(f) for _, f in frames_from(net, "client")]
    assert client_frames[0].flags == 0x02  # SYN
    assert client_frames[-1].flags & 0x01  # the client closes with FIN
    node_frames = [parse_frame(f) for _, f in frames_from(net, "node1")]
    assert node_frames[-2].flags & 0x01 and node_frames[-2].payload  # last reply segment: FIN
    assert node_frames[-1].flags == 0x10  # the node acknowledges the client's FIN


def test_link_serialisation_adds_accounted_bytes_over_rate():
    rate = 1e9
    net, client, _ = setup(rate=rate)
    rec = client.request(A, 2_000_000, "udp", compute_tflop=1.0, reply_bytes=100_000)
    net.run()
    sent = sum(accounted_size(f) for _, f in frames_from(net, "client"))
    back = sum(accounted_size(f) for _, f in frames_from(net, "node1"))
    accept = accounted_size(frames_from(net, "node1")[0][1])
    req = accounted_size(frames_from(net, "client")[0][1])
    assert rec.initiation_latency_us == pytest.approx((req + accept) * 8 / rate * 1e6 + 2 * D)
    # the uplink serialises everything back to back: the last byte leaves after all of it
    expected = sent * 8 / rate * 1e6 + D + 1e4 + (back - accept) * 8 / rate * 1e6 + D
    assert rec.completion_latency_us == pytest.approx(expected)


# -- bulk accounting -----------------------------------------------------------------------------
@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_bulk_units_give_the_latencies_of_sending_every_packet(proto):
    results = {}
    for mode, bulk in (("packets", 0), ("bulk", 64 * 1024)):
        for paced in (None, 80e6):
            net = MemoryNet(delay_us=D, rate_bps=1e9)
            ServiceNode(net.endpoint(NODE, "node1"), "02:00:00:00:04:02", NODE, "2080ti_1",
                        100.0, GW, bulk_bytes=bulk)  # fmt: skip
            client = AisidClient(net.endpoint(CLIENT, "client"), "02:00:00:00:00:01", CLIENT, GW,
                                 bulk_bytes=bulk)  # fmt: skip
            rec = client.request(NODE, 1_500_000, proto, rate_bps=paced, reply_bytes=300_000)
            net.run()
            frames = frames_from(net, "client")
            results[(mode, paced)] = (
                rec.initiation_latency_us,
                rec.completion_latency_us,
                sum(accounted_size(f) for _, f in frames),
                len(frames),
            )
    for paced in (None, 80e6):
        pk, bu = results[("packets", paced)], results[("bulk", paced)]
        assert bu[3] < pk[3] / 20  # far fewer frames ...
        assert bu[2] == pk[2]  # ... for exactly the same bytes on the wire
        assert bu[0] == pk[0]
        if paced is None:  # a FIFO link carries the same bytes back to back: same instants
            assert bu[1] == pytest.approx(pk[1])
        else:  # store and forward of one unit: at most unit/rate later on each of 2 links
            assert 0 <= bu[1] - pk[1] <= 2 * (64 * 1024 + 55 * 54) * 8 / 1e9 * 1e6


def test_accounted_size_of_bulk_frames_plain_and_encapsulated():
    app = CpnApp(type=int(AppType.BULK), units=10, length=12_000, request_id=7)
    frame = bytes(aisid_udp_request(A, sport=40001) / app)
    assert len(frame) == 14 + 40 + 8 + APP_HEADER_LEN
    assert accounted_size(frame) == 10 * len(frame) + 12_000
    enc = bytes(h_encaps(Ether(frame), src="fc00:0:1::1", path=["fc00:0:2::100", "fc00:0:4::d6"],
                         src_mac="02:00:00:00:00:aa", dst_mac="02:00:00:00:00:bb"))  # fmt: skip
    assert accounted_size(enc) == 10 * len(enc) + 12_000
    data = bytes(aisid_udp_request(A) / CpnApp(type=int(AppType.DATA), length=3) / b"abc")
    assert accounted_size(data) == len(data)
    assert parse_app(bytes(app)).units == 10 and parse_app(b"short") is None
    assert split_units(5000, 1000, 2, 2500) == [(0, 1000), (1000, 1000), (2000, 2000), (4000, 1000)]
    assert split_units(2500, 1000, 1, 0) == [(0, 1000), (1000, 1000), (2000, 500)]


# -- load ----------------------------------------------------------------------------------------
def test_queueing_shows_under_load():
    net, client, (node,) = setup()
    recs = [client.request(A, 0, "udp", compute_tflop=2.0, reply_bytes=100) for _ in range(3)]
    net.run()
    c = 2.0 / 100.0 * 1e6
    assert [r.completion_latency_us for r in recs] == pytest.approx(
        [2 * D + k * c for k in (1, 2, 3)]
    )
    assert max(q for _, _, q in node.samples) == 2
    t_in = recs[0].t_start_us + D
    assert node.samples[1:4] == [(t_in, 1, 0), (t_in, 1, 1), (t_in, 1, 2)]
    assert node.utilisation(t_in, t_in + 3 * c) == pytest.approx(1.0)
    assert node.utilisation(t_in, t_in + 6 * c) == pytest.approx(0.5)
    assert node.load == 0


def test_k_servers_share_the_capacity():
    net, client, (node,) = setup(servers=3)
    recs = [client.request(A, 0, "udp", compute_tflop=2.0, reply_bytes=100) for _ in range(3)]
    seen = []
    node.add_listener(lambda n: seen.append((n.busy, n.queue_length, n.load)))
    net.run()
    c = 2.0 / (100.0 / 3) * 1e6  # each server has a third of the node
    assert [r.completion_latency_us for r in recs] == pytest.approx([2 * D + c] * 3)
    assert max(q for _, _, q in node.samples) == 0
    assert (3, 0, 1.0) in seen


def test_queue_limit_refuses():
    net, client, (node,) = setup(queue_limit=1)
    recs = [client.request(A, 0, p, compute_tflop=5.0) for p in ("udp", "udp", "udp", "tcp")]
    net.run()
    assert [r.outcome for r in recs] == ["ok", "ok", "refused", "refused"]
    assert recs[2].initiation_latency_us == 2 * D and node.refused == 2


def test_unprovided_service_is_refused_over_udp_and_tcp():
    net, client, (node,) = setup(services={3})
    ok = client.request(A, 10_000, "udp", service=3)
    bad_udp = client.request(A, 10_000, "udp", service=4)
    bad_tcp = client.request(A, 10_000, "tcp", service=4)
    net.run()
    assert (ok.outcome, bad_udp.outcome, bad_tcp.outcome) == ("ok", "refused", "refused")
    assert "connection reset" in bad_tcp.error and "node 1" in bad_udp.error


# -- faults --------------------------------------------------------------------------------------
def test_dead_node_times_out_after_retransmitting():
    net, client, (node,) = setup()
    node.kill()
    client.timeout_us = 5e6
    rec = client.request(A, 1000, "udp")
    net.run()
    assert rec.outcome == "timeout" and rec.t_end_us - rec.t_start_us == 5e6
    assert rec.initiation_latency_us is None and rec.completion_latency_us is None
    reqs = [t for t, f in frames_from(net, "client") if parse_app(parse_frame(f).payload).type == 1]
    assert reqs == [0.0, 1e6, 3e6]  # RTO 1 s, doubled, two retransmissions
    assert rec.retransmits == 2 and rec.deadline_met is False


def test_node_killed_mid_request_loses_it():
    net, client, (node,) = setup()
    rec = client.request(A, 0, "tcp", compute_tflop=50.0, timeout_us=2e6)
    net.run(until_us=10 * D)
    assert node.busy == 1
    node.kill()
    net.run()
    assert rec.outcome == "timeout" and rec.initiation_latency_us == 2 * D and node.lost == 1


def test_lost_request_is_retransmitted():
    net, client, _ = setup()
    dropped = []

    def drop_first_req(frame):
        seg = parse_frame(frame)
        app = parse_app(seg.payload) if seg else None
        if app and app.type == AppType.REQ and not dropped:
            dropped.append(frame)
            return True
        return False

    net.drop(drop_first_req)
    rec = client.request(A, 0, "udp")
    net.run()
    assert rec.outcome == "ok" and rec.retransmits == 1
    assert rec.initiation_latency_us == 1e6 + 2 * D


def test_icmp_unreachable_and_unresolvable_names_are_unknown():
    net, client, _ = setup()
    rec = client.request(A.replace(object=9), 1000, "udp")
    sent = frames_from(net, "client")[0][1]
    err = Ether() / IPv6(src="fd00:ff::1", dst=CLIENT) / ICMPv6DestUnreach(code=0) / sent[14:]
    client.host.receive(bytes(err))
    assert rec.outcome == "unknown" and "unreachable" in rec.error
    named = client.request("svc1.cpn.example", 1000)
    assert named.outcome == "unknown" and "no DNS server" in named.error


def test_bad_input_is_rejected_with_a_clear_error():
    net, client, _ = setup()
    with pytest.raises(ValueError, match="proto"):
        client.request(A, 10, "sctp")
    with pytest.raises(ValueError, match="rate_bps"):
        client.request(A, 10, rate_bps=0)
    client.request(A, 10, request_id=5)
    with pytest.raises(ValueError, match="already used"):
        client.request(A, 10, request_id=5)
    with pytest.raises(ValueError, match="unknown device 'quantum9'"):
        ServiceNode(net.endpoint("fd01:9::1"), "02:00:00:00:09:01", "fd01:9::1", "quantum9", 1.0)
    with pytest.raises(ValueError, match="capacity_tflops"):
        ComputeModel("2080ti_1", 0)
    with pytest.raises(ValueError, match="bad IPv6 address"):
        AisidClient(net.endpoint("fd00:9::1"), "02:00:00:00:00:09", "nope", GW)


def test_malformed_traffic_is_counted_not_fatal():
    net, client, (node,) = setup()
    junk = aisid_udp_request(NODE, src=CLIENT, sport=40001, dport=8080, payload=b"garbage")
    client.host.send(junk)
    node.host.receive(b"\x00" * 20)
    net.run()
    assert node.malformed == 1 and node.host.unhandled == 1
    rec = client.request(A, 0)
    net.run()
    assert rec.outcome == "ok"


# -- compute model -------------------------------------------------------------------------------
def test_compute_model_uses_the_device_model():
    m = ComputeModel("2080ti_1", 50.0)
    assert m.compute_us(5.0) == pytest.approx(1e5)
    heavy, light = m.cell_factor(15624), m.cell_factor(0)
    assert heavy > 0 and light > 0 and heavy != light
    assert m.compute_us(5.0, cell=15624) == pytest.approx(1e5 * heavy)
    noisy = [ComputeModel("2080ti_1", 50.0, noise_seed=3).compute_us(5.0) for _ in range(2)]
    assert noisy[0] == noisy[1] != 1e5  # seeded noise
    assert ComputeModel("a100_1", 50.0).model_device == "2080ti_1"  # borrowed fit, own capacity
    with pytest.raises(ValueError, match="out of range"):
        m.cell_factor(20000)


# -- pcap ----------------------------------------------------------------------------------------
def test_pcap_recorder_writes_sent_and_received_frames(tmp_path):
    net = MemoryNet(delay_us=D)
    ServiceNode(net.endpoint(NODE), "02:00:00:00:04:02", NODE, "2080ti_1", 100.0, GW)
    path = tmp_path / "client.pcap"
    with PcapRecorder(net.endpoint(CLIENT, "client"), path) as rec_t:
        client = AisidClient(rec_t, "02:00:00:00:00:01", CLIENT, GW)
        rec = client.request(NODE, 5000, "udp", compute_tflop=1.0)
        net.run()
    pkts = rdpcap(str(path))
    assert rec.outcome == "ok" and len(pkts) == rec_t.frames == len(frames_from(net, "client")) + 2
    # sent: REQ + 5 DATA; received: ACCEPT + the 1000-byte reply
    received = [p for p in pkts if p[IPv6].src == NODE]
    assert len(received) == 2 and app_of(received[0]).type == AppType.ACCEPT
    assert float(pkts[0].time) == 0.0 and float(received[0].time) == pytest.approx(2 * D / 1e6)
    assert pkts[0][ScapyUDP].dport == 8080 and app_of(pkts[0]).type == AppType.REQ
    assert app_of(Ether(bytes(aisid_udp_request(NODE, payload=b"hello")))) is None


# -- raw sockets ---------------------------------------------------------------------------------
def test_raw_socket_transport_constructs_without_opening():
    t = RawSocketTransport("veth0")
    assert t.now_us() > 0 and t._sock is None
    with pytest.raises(RuntimeError, match="not started"):
        t.send(b"x")
    with pytest.raises(ValueError, match="interface name"):
        RawSocketTransport("a/b")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_raw_socket_transport_on_loopback():
    import threading

    if "lo" not in [n for _, n in socket.if_nameindex()]:
        pytest.skip("no loopback interface")
    a, b = RawSocketTransport("lo"), RawSocketTransport("lo")
    got, fired = [], threading.Event()
    marker = os.urandom(8)
    b.on_receive(lambda f: got.append(f) if marker in f else None)
    b.call_at(b.now_us() + 20_000, fired.set)
    a.start()
    b.start()
    try:
        frame = bytes(aisid_udp_request(NODE, src=CLIENT, payload=marker))
        deadline = threading.Event()
        for _ in range(50):
            a.send(frame)
            if deadline.wait(0.02) or got:
                break
        assert fired.wait(2.0)
        assert got and got[0] == frame
    finally:
        a.stop()
        b.stop()
