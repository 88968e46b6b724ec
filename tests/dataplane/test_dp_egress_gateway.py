"""Behaviour 5: weighted least connections at the egress gateway, flow stickiness, TCP FIN/RST,
aging, request/reply address rewriting with valid L4 checksums."""

from cpn_harness import AISID_ADDR, CLIENT, EGW_SID, IGW_SID, MAC, NODES, SERVICE, egress_gateway
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.constants import DropReason
from traces.flowhash import egw_flow_slot
from traces.packets import aisid_tcp_request, aisid_udp_request
from traces.srv6 import forwarded

STATS = "CpnIngress.egw.stats"
NEW, CLOSED, COLLISION, AGED, REPLY_OK, REPLY_UNKNOWN = range(6)


class Wlc:
    """Reference weighted-least-connections scheduler."""

    def __init__(self, nodes):
        self.nodes = list(nodes)
        self.conns = {n: 0 for n, _ in nodes}

    def pick(self) -> int:
        best = None
        for n, w in self.nodes:
            if w == 0:
                continue
            if best is None or self.conns[n] * best[1] < self.conns[best[0]] * w:
                best = (n, w)
        self.conns[best[0]] += 1
        return best[0]


def _node_of(out) -> int:
    [pkt] = out[3]
    dst = Ether(pkt)[IPv6].dst
    return next(n for n, a in NODES.items() if a == dst)


def _syn(sport):
    return aisid_tcp_request(AISID_ADDR, src=CLIENT, sport=sport, dport=443, flags="S")


def _conns(egw):
    return {n: egw.sw.register_read("CpnIngress.egw.connections", n) for n in NODES}


def _stat(egw, i):
    return egw.sw.counter_read(STATS, i)[0]


def test_new_flows_follow_weighted_least_connections():
    nodes = [(1, 1), (2, 2), (3, 1)]
    egw = egress_gateway(nodes=nodes)
    model = Wlc(nodes)
    got = [_node_of(egw.send(1, _syn(30000 + i))) for i in range(12)]
    want = [model.pick() for _ in range(12)]
    assert got == want
    assert got[:4] == [1, 2, 3, 2]  # ties go to the lowest index; node 2 counts half
    assert _conns(egw) == model.conns == {1: 3, 2: 6, 3: 3}
    assert _stat(egw, NEW) == 12


def test_flows_stick_and_fin_rst_release_connections():
    nodes = [(1, 1), (2, 1)]
    egw = egress_gateway(nodes=nodes)
    a = _node_of(egw.send(1, _syn(30001)))
    b = _node_of(egw.send(1, _syn(30002)))
    assert (a, b) == (1, 2)
    data = aisid_tcp_request(
        AISID_ADDR, src=CLIENT, sport=30001, dport=443, flags="PA", payload=b"x" * 10
    )
    for _ in range(3):
        assert _node_of(egw.send(1, data)) == 1
    assert _conns(egw) == {1: 1, 2: 1, 3: 0}
    # FIN from flow a: node 1 is down to 0; the rest of a's handshake stays on node 1, uncounted.
    fin = aisid_tcp_request(AISID_ADDR, src=CLIENT, sport=30001, dport=443, flags="FA")
    assert _node_of(egw.send(1, fin)) == 1
    ack = aisid_tcp_request(AISID_ADDR, src=CLIENT, sport=30001, dport=443, flags="A")
    assert _node_of(egw.send(1, ack)) == 1
    assert _conns(egw) == {1: 0, 2: 1, 3: 0}
    assert (
        egw.sw.register_read(
            "CpnIngress.egw.flow_state", egw_flow_slot(CLIENT, AISID_ADDR, 6, 30001, 443)
        )
        == 2
    )
    # RST from flow b.
    rst = aisid_tcp_request(AISID_ADDR, src=CLIENT, sport=30002, dport=443, flags="R")
    assert _node_of(egw.send(1, rst)) == 2
    assert _conns(egw) == {1: 0, 2: 0, 3: 0}
    assert _stat(egw, CLOSED) == 2
    # A new SYN on a closed tuple is a new connection, scheduled afresh (tie -> node 1).
    assert _node_of(egw.send(1, _syn(30002))) == 1
    assert _conns(egw) == {1: 1, 2: 0, 3: 0}


def test_controller_ages_an_idle_udp_flow_by_register_writes():
    egw = egress_gateway(nodes=[(1, 1), (2, 1)])
    req = aisid_udp_request(AISID_ADDR, src=CLIENT, sport=5000, dport=8080)
    assert _node_of(egw.send(1, req)) == 1
    assert _node_of(egw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT, sport=5001))) == 2
    assert _node_of(egw.send(1, req)) == 1
    slot = egw_flow_slot(CLIENT, AISID_ADDR, 17, 5000, 8080)
    assert egw.sw.register_read("CpnIngress.egw.flow_node", slot) == 1
    # The controller ages the flow: empty slot, one connection less on node 1.
    with egw.sw.batch():
        egw.sw.register_write("CpnIngress.egw.flow_state", slot, 0)
        egw.sw.register_write("CpnIngress.egw.connections", 1, 0)
    egw.sw.register_write("CpnIngress.egw.connections", 2, 5)  # node 2 busy meanwhile
    assert _node_of(egw.send(1, req)) == 1
    assert _conns(egw)[1] == 1


def test_idle_timeout_lets_the_data_plane_reschedule():
    egw = egress_gateway(nodes=[(1, 1), (2, 1)])
    egw.sw.register_write("CpnIngress.egw.flow_idle_timeout_us", 0, 1000)
    req = aisid_udp_request(AISID_ADDR, src=CLIENT, sport=5000, dport=8080)
    assert _node_of(egw.send(1, req)) == 1
    egw.sw.register_write("CpnIngress.egw.connections", 1, 3)  # pretend node 1 got busy
    egw.sw.advance(999)
    assert _node_of(egw.send(1, req)) == 1  # not idle long enough
    egw.sw.advance(1001)
    assert _node_of(egw.send(1, req)) == 2  # idle: its connection is released, rescheduled
    assert _conns(egw) == {1: 2, 2: 1, 3: 0}
    assert _stat(egw, AGED) == 1


def test_request_and_reply_rewrite_with_valid_checksums():
    egw = egress_gateway(nodes=[(2, 1)])
    for proto in ("udp", "tcp"):
        if proto == "udp":
            req = aisid_udp_request(
                AISID_ADDR,
                src=CLIENT,
                sport=40000,
                dport=8080,
                payload=b"prompt",
                src_mac=MAC["t3"],
                dst_mac=MAC["egw"],
            )
        else:
            req = aisid_tcp_request(
                AISID_ADDR,
                src=CLIENT,
                sport=40000,
                dport=8080,
                flags="PA",
                payload=b"prompt",
                src_mac=MAC["t3"],
                dst_mac=MAC["egw"],
            )
        [got] = egw.send(1, req)[3]
        exp = req.copy()
        exp[IPv6].dst = NODES[2]
        l4 = exp[UDP] if proto == "udp" else exp[TCP]
        del l4.chksum
        expected = forwarded(Ether(bytes(exp)), src_mac=MAC["egw"], dst_mac=MAC["node"])
        assert got == bytes(expected), proto
        # The node answers: its source becomes the AISID again, checksum recomputed.
        if proto == "udp":
            reply = (
                Ether(src=MAC["node"], dst=MAC["egw"])
                / IPv6(src=NODES[2], dst=CLIENT)
                / UDP(sport=8080, dport=40000)
                / b"answer"
            )
        else:
            reply = (
                Ether(src=MAC["node"], dst=MAC["egw"])
                / IPv6(src=NODES[2], dst=CLIENT)
                / TCP(sport=8080, dport=40000, flags="PA")
                / b"answer"
            )
        [back] = egw.send(3, reply)[1]
        exp = Ether(bytes(reply))
        exp[IPv6].src = AISID_ADDR
        l4 = exp[UDP] if proto == "udp" else exp[TCP]
        del l4.chksum
        expected = forwarded(Ether(bytes(exp)), src_mac=MAC["egw"], dst_mac=MAC["t3"])
        assert back == bytes(expected), proto
    assert _stat(egw, REPLY_OK) == 2
    # A reply nobody asked for is forwarded unchanged (and counted).
    stray = Ether() / IPv6(src=NODES[2], dst=CLIENT) / UDP(sport=8080, dport=1) / b"?"
    [back] = egw.send(3, stray)[1]
    assert Ether(back)[IPv6].src == NODES[2]
    assert _stat(egw, REPLY_UNKNOWN) == 1


def test_request_through_end_dt6_uses_the_node_too():
    egw = egress_gateway(nodes=[(3, 1)])
    inner = aisid_udp_request(AISID_ADDR, src=CLIENT, hop_limit=63)[IPv6]
    pkt = Ether(src=MAC["t3"], dst=MAC["egw"]) / IPv6(src=IGW_SID, dst=EGW_SID, nh=41) / inner
    assert _node_of(egw.send(1, pkt)) == 3


def test_no_usable_node_is_dropped_and_counted():
    egw = egress_gateway(nodes=[(1, 0), (2, 0)])
    assert egw.send(1, _syn(1)) == {}
    egw.sw.table_clear("CpnIngress.egw.service_nodes")
    egw.service_nodes(SERVICE, [(9, 1)])  # node 9 has no address
    assert egw.send(1, _syn(2)) == {}
    assert egw.drops() == {DropReason.EGW_NO_NODE: 2}
    assert _conns(egw) == {1: 0, 2: 0, 3: 0}


SHARED = 6  # EGW_STAT_SHARED
SHARED_FLAG = 4  # EGW_FLOW_SHARED


def _slot_mates(n=3, proto=6, dport=443):
    """``n`` source ports whose flows share one egress-gateway slot (with distinct signatures)."""
    from traces.flowhash import flow_signature

    first: dict[int, list[int]] = {}
    for p in range(30000, 65000):
        first.setdefault(egw_flow_slot(CLIENT, AISID_ADDR, proto, p, dport), []).append(p)
        ports = first[egw_flow_slot(CLIENT, AISID_ADDR, proto, p, dport)]
        if len(ports) == n:
            sigs = {flow_signature(CLIENT, AISID_ADDR, proto, q, dport) for q in ports}
            assert len(sigs) == n
            return ports
    raise AssertionError("no slot mates found")


def _tcp(sport, flags, payload=b""):
    return aisid_tcp_request(
        AISID_ADDR, src=CLIENT, sport=sport, dport=443, flags=flags, payload=payload
    )


def _first_slot_of(slot: int, avoid: set[int], proto=6, dport=443) -> int:
    """A source port whose flow's first slot is ``slot`` and second slot is not in ``avoid``."""
    from traces.flowhash import egw_flow_slots

    for p in range(1, 65536):
        a, b = egw_flow_slots(CLIENT, AISID_ADDR, proto, p, dport)
        if a == slot and b not in avoid | {slot}:
            return p
    raise AssertionError(f"no flow with first slot {slot}")


def test_a_closed_slot_is_reused_and_a_follower_keeps_its_node():
    """Flows sharing a slot: the next flow on a CLOSED slot is scheduled afresh; a flow that
    finds live occupants in both its slots follows the first one's node for its whole life,
    also after the occupant closed and longer than the idle timeout after the occupant's last
    packet (the demo's failure), and although its second slot has become free meanwhile."""
    from traces.flowhash import egw_flow_slots

    a, b, c = _slot_mates()
    slot = egw_flow_slot(CLIENT, AISID_ADDR, 6, a, 443)
    second = {egw_flow_slots(CLIENT, AISID_ADDR, 6, q, 443)[1] for q in (a, b)}
    c2 = egw_flow_slots(CLIENT, AISID_ADDR, 6, c, 443)[1]
    d = _first_slot_of(c2, second)  # holds c's second slot while c arrives
    egw = egress_gateway(nodes=[(1, 1), (2, 1)])
    egw.sw.register_write("CpnIngress.egw.flow_idle_timeout_us", 0, 1000)
    # a opens and closes on node 1; b's SYN reuses the closed slot: WLC picks node 1 again
    # (connections 0/0, tie to the lowest index) and counts it - it is the slot's flow now.
    assert _node_of(egw.send(1, _syn(a))) == 1
    assert _node_of(egw.send(1, _tcp(a, "FA"))) == 1
    egw.sw.register_write("CpnIngress.egw.connections", 2, 0)
    egw.sw.register_write("CpnIngress.egw.connections", 1, 5)  # node 1 busy: b must go to 2
    egw.sw.advance(10)
    assert _node_of(egw.send(1, _syn(b))) == 2
    assert _conns(egw) == {1: 5, 2: 1, 3: 0}
    assert egw.sw.register_read("CpnIngress.egw.flow_state", slot) == 1
    assert (_stat(egw, NEW), _stat(egw, COLLISION), _stat(egw, SHARED)) == (2, 0, 0)
    assert _node_of(egw.send(1, _syn(d))) == 2  # c's second slot, counted on node 2
    # c arrives while b and d are live: it follows b's node, uncounted; b's slot is shared.
    egw.sw.advance(10)
    assert _node_of(egw.send(1, _syn(c))) == 2
    assert egw.sw.register_read("CpnIngress.egw.flow_state", slot) == 1 | SHARED_FLAG
    assert _conns(egw) == {1: 5, 2: 2, 3: 0}
    # b sends its last packet and closes; node 2 is made the busier one, so a rescheduled flow
    # would go to node 1. c keeps sending, every 600 µs, for 3 ms: more than the idle timeout
    # after b's and d's last packets (c's second slot is free again), and c stays on node 2.
    assert _node_of(egw.send(1, _tcp(b, "FA"))) == 2
    assert _conns(egw) == {1: 5, 2: 1, 3: 0}
    egw.sw.register_write("CpnIngress.egw.connections", 1, 0)
    egw.sw.register_write("CpnIngress.egw.connections", 2, 5)
    for _ in range(5):
        egw.sw.advance(600)
        assert _node_of(egw.send(1, _tcp(c, "PA", b"x" * 10))) == 2
    assert egw.sw.register_read("CpnIngress.egw.flow_state", slot) == 2 | SHARED_FLAG
    # A new flow on the shared (owner closed) slot follows it too, and b's reopening SYN keeps
    # node 2 (counted again) although node 1 is idle.
    assert _node_of(egw.send(1, _syn(a))) == 2
    assert _node_of(egw.send(1, _syn(b))) == 2
    assert _conns(egw) == {1: 0, 2: 6, 3: 0}
    assert (_stat(egw, NEW), _stat(egw, SHARED)) == (4, 1)
    assert _stat(egw, COLLISION) == 1 + 5 + 1  # c's SYN, c's five packets, a's SYN
    # Once nothing has used the slot for the idle timeout, the next flow replaces it afresh.
    egw.sw.advance(1001)
    assert _node_of(egw.send(1, _syn(c))) == 1
    assert egw.sw.register_read("CpnIngress.egw.flow_state", slot) == 1
    assert _stat(egw, AGED) == 1  # b's reopened connection on node 2 was aged out
    assert _conns(egw) == {1: 1, 2: 5, 3: 0}
