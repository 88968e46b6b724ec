"""The in-process network: P4Runtime servers per switch, AISID traffic on the virtual clock,
timing, faults and loss counters."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from emunet_helpers import (
    AISID,
    IG,
    P4RTClient,
    fill_direct,
    line4,
    line4_entries,
)
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from controlplane.entries import Lpm, RegisterValue, entry, ip6_prefix
from controlplane.program import Program, load_program
from topo.emunet import InProcessNetwork, UdpResponder
from traces.constants import CPU_PORT, PuntReason
from traces.packets import aisid_udp_request

COMPUTE_S = 0.0005


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program()


def request(net: InProcessNetwork, sport: int = 40000, payload: bytes = b"q" * 100, dst=AISID):
    h1 = net.endpoints["h1"]
    return aisid_udp_request(
        dst, src=h1.address, sport=sport, src_mac=h1.mac, dst_mac=h1.gateway_mac, payload=payload
    )


def direct_net(program: Program, seed: int = 0, **kw) -> InProcessNetwork:
    """line4 with cpn.p4 preloaded and filled through the Python API (no servers)."""
    d = line4(**kw)
    net = InProcessNetwork(d, program, seed=seed, start_servers=False, preload_pipeline=True)
    ents = line4_entries(net.description)
    for name, sw in net.switches.items():
        fill_direct(sw, ents[name], program)
    for n in ("n1", "n2"):
        UdpResponder(net.endpoints[n], COMPUTE_S)
    return net


def wait_for(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("condition not reached")
        time.sleep(0.005)


def one_way_us(sizes_rates_delays) -> float:
    return sum(size * 8e6 / rate + delay for size, rate, delay in sizes_rates_delays)


# -- building ----------------------------------------------------------------------------------------
def test_build_serves_each_switch_without_pipeline(program):
    d = line4()
    with InProcessNetwork(d, program) as net:
        addrs = {n: s.address for n, s in net.servers.items()}
        assert sorted(addrs) == ["s1", "s2", "s3", "s4"]
        assert len(set(addrs.values())) == 4 and all(not a.endswith(":0") for a in addrs.values())
        assert {s.name: s.address for s in net.description.switches} == addrs
        assert all(s.address == "127.0.0.1:0" for s in d.switches)  # caller's copy untouched
        assert all(sw.program is None for sw in net.switches.values())  # --no-p4
        assert [sw.device_id for sw in net.switches.values()] == [1, 2, 3, 4]
        assert net.switches["s1"].cpu_port == CPU_PORT
        assert net.switches["s2"].tm.nb_queues == 8
        c = P4RTClient(addrs["s2"], 2, program)
        assert not c.get_pipeline().config.p4_device_config
        c.close()
        taken = net.description.switch("s1").address
    d.switches[0].address = taken  # free again after stop: reused
    d.switches[1].address = taken  # the same port twice: the second gets a free one
    with InProcessNetwork(d, program) as net:
        assert net.servers["s1"].address == taken
        assert net.servers["s2"].address != taken


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: setattr(d.links[0], "b", "s9"), "links[0]: unknown switch 's9'"),
        (lambda d: setattr(d.switches[1], "device_id", 1), "device_id 1 is used twice"),
        (lambda d: setattr(d.links[1], "a_port", 1), "port s2:1 is already used"),
        (lambda d: setattr(d.switches[0], "address", "nowhere"), "bad P4Runtime address"),
        (lambda d: setattr(d.hosts[0], "switch", "x"), "host h1: unknown switch 'x'"),
    ],
)
def test_bad_description_is_refused(program, mutate, message):
    d = line4()
    mutate(d)
    with pytest.raises(ValueError, match=re.escape(message)):
        InProcessNetwork(d, program, start_servers=False)


# -- traffic through real P4Runtime --------------------------------------------------------------------
def test_request_and_reply_through_p4runtime(program, tmp_path):
    rate, delay = 1e9, 1000.0
    net = InProcessNetwork(line4(rate_bps=rate, delay_us=delay), program)
    clients: dict[str, P4RTClient] = {}
    try:
        d = net.description
        ents = line4_entries(d)

        def install() -> None:  # a controller step on the clock thread, over gRPC
            for s in d.switches:
                c = clients[s.name] = P4RTClient(s.address, s.device_id, program)
                c.set_pipeline()
                c.write(ents[s.name])

        net.at(0.0, install)
        for n in ("n1", "n2"):
            UdpResponder(net.endpoints[n], COMPUTE_S)
        cap = net.capture("s2:2", tmp_path / "s2p2.pcap")
        net.run_for(0.001)
        assert all(net.switches[n].program is not None for n in net.switches)
        assert net.switches["s3"].register_read("CpnEgress.telemetry.switch_id", 0) == 3
        h1, n1 = net.endpoints["h1"], net.endpoints["n1"]
        req = request(net)
        t0 = net.now()
        h1.send(req)
        net.run_for(0.05)
        l1 = len(req)
        l2 = l1 + 40 + 8 + 16 * 3  # outer IPv6 + SRH with 3 segments
        access = (10e9, 100.0)
        at_node = (
            t0
            + one_way_us(
                [
                    (l1, *access),
                    (l2, rate, delay),
                    (l2, rate, 2 * delay),
                    (l2, rate, 3 * delay),
                    (l1, *access),
                ]
            )
            / 1e6
        )
        ((t_n, frame),) = n1.take()
        assert t_n == pytest.approx(at_node, abs=1e-9)
        got = Ether(frame)
        assert got[IPv6].dst == "fd01:4::21" and got[IPv6].src == h1.address
        assert got[IPv6].hlim == 62 and IPv6ExtHdrSegmentRouting not in got
        assert bytes(got[UDP].payload) == b"q" * 100
        assert got.dst == n1.mac and got.src == d.switch("s4").port(3).mac
        assert net.endpoints["n2"].received == []
        ((t_r, reply),) = h1.take()
        back = Ether(reply)
        assert back[IPv6].src == AISID and back[IPv6].dst == h1.address
        assert back[UDP].sport == 8080 and back[UDP].dport == 40000
        assert t_r == pytest.approx(
            t_n
            + COMPUTE_S
            + one_way_us(
                [
                    (l1, *access),
                    (l1, rate, 3 * delay),
                    (l1, rate, 2 * delay),
                    (l1, rate, delay),
                    (l1, *access),
                ]
            )
            / 1e6,
            abs=1e-9,
        )
        assert net.losses() == {}
        path = cap.close()
        pk = rdpcap(str(path))
        assert len(pk) == 2  # request out towards s3, reply in from s3
        out = pk[0]
        assert out[IPv6].dst == d.end_sid("s3") and out[IPv6ExtHdrSegmentRouting].segleft == 1
        assert float(out.time) == pytest.approx(
            t0 + one_way_us([(l1, *access), (l2, rate, delay), (l2, rate, 0)]) / 1e6, abs=1e-6
        )
        st = {s["link"]: s for s in net.link_stats()}["s2:2-s3:1"]
        assert st["frames"] == {"s2:2": 1, "s3:1": 1} and st["queue_drops"] == {
            "s2:2": 0,
            "s3:1": 0,
        }
    finally:
        for c in clients.values():
            c.close()
        net.stop()


def test_packet_in_and_packet_out_through_the_stream(program):
    with InProcessNetwork(line4(), program) as net:
        s1 = net.description.switch("s1")
        c = P4RTClient(s1.address, 1, program)
        c.set_pipeline()
        other = "2001:db8:ffff:1::/64"  # an AISID prefix with no service classified
        c.write(
            [
                entry(
                    IG + "aisid.prefixes",
                    {"prefix": Lpm(ip6_prefix(other)[0] >> 64, 64)},
                    IG + "aisid.aisid_prefix",
                ),
            ]
        )
        h1 = net.endpoints["h1"]
        h1.send(request(net, dst="2001:db8:ffff:1:5:6:7:8"))
        net.run_for(0.001)
        msg = c.inbox.get(timeout=5)
        meta = {m.metadata_id: int.from_bytes(m.value, "big") for m in msg.packet.metadata}
        assert meta == {1: 1, 2: int(PuntReason.UNKNOWN_AISID)}
        assert IPv6 in Ether(msg.packet.payload)
        # packet-out: enters through the clock, leaves port 1 towards h1
        pending = net.clock.pending()
        frame = bytes(Ether(dst=h1.mac, src=s1.port(1).mac) / IPv6(dst=h1.address) / UDP())
        c.packet_out(frame, egress_port=1)
        wait_for(lambda: net.clock.pending() > pending)
        t = net.now()
        net.run_for(0.001)
        ((t_h, got),) = h1.take()
        assert got == frame
        assert t_h == pytest.approx(t + (len(frame) * 8 / 10e9 + 100e-6), abs=1e-9)
        c.close()


def test_writes_and_packet_outs_while_running_and_grpc_from_callbacks(program):
    net = InProcessNetwork(line4(), program, preload_pipeline=True)
    try:
        ents = line4_entries(net.description)
        for name, sw in net.switches.items():
            fill_direct(sw, ents[name], program)
        for n in ("n1", "n2"):
            UdpResponder(net.endpoints[n], COMPUTE_S)
        s1, h1 = net.description.switch("s1"), net.endpoints["h1"]
        c = P4RTClient(s1.address, 1, program)
        # a writer thread writes and sends packet-outs to s1 while the main thread runs
        stop = threading.Event()
        sent = [0, 0]
        probe = bytes(Ether(dst=h1.mac, src=s1.port(1).mac) / IPv6(dst=h1.address) / UDP(dport=9))

        def writer() -> None:
            while not stop.is_set():
                c.write([RegisterValue(IG + "flowlet.timeout_us", 0, 1000 + sent[0] % 7)])
                c.packet_out(probe, egress_port=1)
                sent[0] += 1

        th = threading.Thread(target=writer)
        th.start()
        reads = []  # a callback on the clock thread calls a server over gRPC every 2 ms
        net.every(0.002, lambda: reads.append(c.get_pipeline()))
        for i in range(100):
            net.at(i * 1e-4, h1.send, request(net, sport=41000 + i))
        net.run_for(0.05)
        stop.set()
        th.join(10)
        assert not th.is_alive() and sent[0] > 0
        assert len(reads) == 25

        def arrived() -> bool:  # packet-outs reach the switch asynchronously
            net.run_for(0.001)
            return sum(1 for _t, f in h1.received if f == probe) == sent[0]

        wait_for(arrived)
        replies = [f for _t, f in h1.take() if f != probe]
        assert len(replies) == 100
        assert net.losses() == {}
        c.close()
    finally:
        net.stop()


# -- time ------------------------------------------------------------------------------------------------
def test_run_for_is_deterministic_for_a_seed(program):
    def trace(seed: int):
        net = direct_net(program, seed=seed)
        h1 = net.endpoints["h1"]
        ticks: list[float] = []
        net.every(0.004, lambda: ticks.append(net.now()))
        for i in range(20):
            net.at(
                0.0003 * i, h1.send, request(net, sport=42000 + i, payload=bytes([i]) * (50 + i))
            )
        net.run_for(0.01)
        assert net.now() == 0.01
        net.run_until(0.03)
        assert net.now() == 0.03
        out = (ticks, h1.take(), net.endpoints["n1"].take(), net.endpoints["n2"].take())
        net.stop()
        return out

    a, b = trace(7), trace(7)
    assert a == b
    ticks, replies, at_n1, at_n2 = a
    assert ticks == pytest.approx([0.004 * k for k in range(1, 8)])
    assert len(replies) == 20 and len(at_n1) + len(at_n2) == 20 and at_n1 and at_n2


def test_run_is_not_reentrant(program):
    net = direct_net(program)
    errors = []

    def nested() -> None:
        try:
            net.run_for(1)
        except RuntimeError as exc:
            errors.append(str(exc))

    net.at(0.001, nested)
    net.run_for(0.002)
    assert errors and "already running" in errors[0]
    with pytest.raises(ValueError, match="positive"):
        net.every(0, lambda: None)


# -- faults and losses --------------------------------------------------------------------------------
def test_link_down_drops_and_counts(program):
    net = direct_net(program)
    h1 = net.endpoints["h1"]
    net.link_down("s2", "s3")
    h1.send(request(net))
    net.run_for(0.05)
    assert h1.take() == [] and net.endpoints["n1"].received == []
    assert net.losses() == {"s2:2-s3:1/link_down": 1}
    assert net.link("s3", "s2").down_drops == 1
    net.link_up("s2:2", "s3:1")
    h1.send(request(net, sport=40001))
    net.run_for(0.05)
    assert len(h1.take()) == 1
    # in flight when the link goes down: lost too
    h1.send(request(net, sport=40002))
    net.at(net.now() + 0.0015, net.link_down, "s2", "s3")  # the frame is on s2 -> s3
    net.run_for(0.05)
    assert net.losses() == {"s2:2-s3:1/link_down": 2}
    with pytest.raises(KeyError, match="no link between s1 and s4"):
        net.link_down("s1", "s4")


def test_queue_overflow_is_counted_per_link(program):
    net = direct_net(program, rate_bps=1e6, queue_packets=2)
    h1 = net.endpoints["h1"]
    for i in range(6):
        h1.send(request(net, sport=43000 + i))
    net.run_for(0.01)
    st = {s["link"]: s for s in net.link_stats()}["s1:2-s2:1"]
    assert st["queue_drops"]["s1:2"] == 3  # one on the wire, two queued
    assert net.losses() == {"s1/queue_full": 3}


def test_restart_switch_leaves_it_empty_on_the_same_address(program):
    net = InProcessNetwork(line4(), program)
    try:
        d = net.description
        ents = line4_entries(d)
        clients = {}
        for s in d.switches:
            clients[s.name] = P4RTClient(s.address, s.device_id, program)
            clients[s.name].set_pipeline()
            clients[s.name].write(ents[s.name])
        for n in ("n1", "n2"):
            UdpResponder(net.endpoints[n], COMPUTE_S)
        h1 = net.endpoints["h1"]
        addr = net.servers["s3"].address
        old = net.switches["s3"]
        new = net.restart_switch("s3")
        assert new is not old and new.program is None and new.device_id == 3
        assert net.servers["s3"].address == addr == d.switch("s3").address
        assert clients["s3"].ended.wait(5)  # the old stream ended
        h1.send(request(net))
        net.run_for(0.05)
        assert h1.take() == []
        assert net.losses() == {"s3/no_pipeline": 1}
        c = P4RTClient(addr, 3, program)  # the controller reconnects and reinstalls
        assert not c.get_pipeline().config.p4_device_config
        c.set_pipeline()
        c.write(ents["s3"])
        h1.send(request(net, sport=40001))
        net.run_for(0.05)
        assert len(h1.take()) == 1
        c.close()
        for cl in clients.values():
            cl.close()
    finally:
        net.stop()


def test_kill_node_stops_answering(program, tmp_path):
    net = direct_net(program)
    h1 = net.endpoints["h1"]
    cap = net.capture("n1", tmp_path / "n1.pcap")
    net.kill_node("n1")
    h1.send(request(net))  # first flow: least connections picks node 1
    net.run_for(0.05)
    assert h1.take() == []
    assert net.losses() == {"n1/node_dead": 1}
    net.revive_node("n1")
    h1.send(request(net, sport=40001))  # node 1 still has one connection: node 2 answers
    net.run_for(0.05)
    assert len(h1.take()) == 1 and len(net.endpoints["n2"].received) == 1
    net.stop()  # writes the open captures
    got = rdpcap(str(cap.path))  # n1's segment (s4 port 3, shared with n2)
    assert [p[IPv6].dst for p in got] == ["fd01:4::21", "fd01:4::22", h1.address]
    assert 0 < float(got[0].time) < float(got[1].time) < float(got[2].time)
    with pytest.raises(KeyError, match="no host or service node named 'zz'"):
        net.kill_node("zz")


@pytest.mark.parametrize("name", ["line4", "abilene"])
def test_example_descriptions_build(program, name):
    from controlplane.netdesc import load

    path = Path(__file__).resolve().parents[2] / "controlplane" / "examples" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} not written yet")
    d = load(path)
    with InProcessNetwork(d, program) as net:
        assert len(net.switches) == len(d.switches) and len(net.links) == len(d.links)
        nodes = [n.name for s in d.sites for n in s.nodes]
        assert sorted(net.endpoints) == sorted([h.name for h in d.hosts] + nodes)
        assert len({s.address for s in net.description.switches}) == len(d.switches)
        for h in d.hosts:
            ep = net.endpoints[h.name]
            assert ep.gateway_mac == d.switch(h.switch).port(h.port).mac
