"""Egress gateway, two-choice hashing (issue 12): a flow has two candidate slots in the flow
table and two in the reply table (bits 0.. and 16.. of a crc32, ``traces.flowhash``); exact
packets on the embedded switch (``CPN_P4_ENGINE=python`` runs them on the reference engine).
The time-free part also runs as ``stf/cpn_egress_two_choice.stf``."""

from cpn_harness import NODES, egress_gateway
from egw_slots import mates, port_at, reply, request, signature, slots

STATS = "CpnIngress.egw.stats"
NEW, CLOSED, COLLISION, AGED, REPLY_OK, REPLY_UNKNOWN, SHARED, REPLY_OVERWRITTEN = range(8)
SHARED_FLAG = 4


def _send_req(egw, sport: int, node: int, flags: str = "S") -> None:
    pkt, want = request(sport, node, flags)
    assert egw.send(1, pkt) == {3: [want]}, (sport, node)


def _send_reply(egw, sport: int, node: int, rewritten: bool = True) -> None:
    pkt, want = reply(sport, node, rewritten)
    assert egw.send(3, pkt) == {1: [want]}, (sport, node)


def _stats(egw) -> list[int]:
    return [egw.sw.counter_read(STATS, i)[0] for i in range(8)]


def _reg(egw, name: str, i: int) -> int:
    return egw.sw.register_read(f"CpnIngress.egw.{name}", i)


def _conns(egw) -> dict[int, int]:
    return {n: _reg(egw, "connections", n) for n in NODES}


def test_flows_colliding_in_the_first_slot_keep_their_own_node_and_replies():
    a, b = mates(2)
    (s, _), (_, sb) = slots(a), slots(b)
    egw = egress_gateway(nodes=[(1, 1), (2, 1)])
    _send_req(egw, a, 1)
    _send_req(egw, b, 2)  # one slot would make b follow a onto node 1, uncounted
    for _ in range(2):
        _send_req(egw, a, 1, "PA")
        _send_req(egw, b, 2, "PA")
    assert [_reg(egw, "flow_node", x) for x in (s, sb)] == [1, 2]
    assert [_reg(egw, "flow_state", x) for x in (s, sb)] == [1, 1]
    assert _reg(egw, "flow_sig", sb) == signature(b)
    assert _conns(egw) == {1: 1, 2: 1, 3: 0}
    _send_reply(egw, a, 1)
    _send_reply(egw, b, 2)
    assert _stats(egw) == [2, 0, 0, 0, 2, 0, 0, 0]


def test_a_flow_held_in_both_slots_follows_the_first_and_never_moves():
    a, b, c = mates(3)
    s, u = slots(c)
    d = port_at(u, {slots(a)[1], slots(b)[1]})
    egw = egress_gateway(nodes=[(1, 1), (2, 1)])
    _send_req(egw, a, 1)  # slot s
    _send_req(egw, b, 2)  # its second slot
    _send_req(egw, d, 1)  # slot u (tie 1/1 -> node 1)
    _send_req(egw, c, 1)  # s (a) and u (d) live: follows a's node, uncounted
    assert _reg(egw, "flow_state", s) == 1 | SHARED_FLAG
    assert _conns(egw) == {1: 2, 2: 1, 3: 0}
    assert _stats(egw)[:3] == [3, 0, 1] and _stats(egw)[SHARED] == 1
    _send_reply(egw, c, 1)  # the reply table is separate: c's reply is rewritten
    # d closes: c's second slot is free, but c keeps following s although WLC would now
    # pick node 2 for a new flow.
    _send_req(egw, d, 1, "FA")
    egw.sw.register_write("CpnIngress.egw.connections", 1, 5)
    for _ in range(3):
        _send_req(egw, c, 1, "PA")
    assert _reg(egw, "flow_state", u) == 2
    st = _stats(egw)
    assert (st[NEW], st[CLOSED], st[COLLISION], st[SHARED], st[REPLY_OK]) == (3, 1, 4, 1, 1)
    # A new flow whose first slot is shared follows it too (its second slot may be free).
    e = port_at(s, {u, slots(a)[1], slots(b)[1]})
    _send_req(egw, e, 1)
    assert _stats(egw)[COLLISION] == 5 and _stats(egw)[SHARED] == 1


def test_an_idle_slot_is_reused_before_the_second_one():
    a, b, c = mates(3)
    s, _ = slots(a)
    egw = egress_gateway(nodes=[(1, 1), (2, 1)])
    egw.sw.register_write("CpnIngress.egw.flow_idle_timeout_us", 0, 1000)
    _send_req(egw, a, 1)
    egw.sw.advance(500)
    _send_req(egw, b, 2)  # a is live: b takes its second slot
    egw.sw.advance(600)  # a idle 1100 µs, b 600 µs
    _send_req(egw, c, 1)  # replaces a in s: a's connection released, c scheduled afresh
    assert _reg(egw, "flow_sig", s) == signature(c)
    assert _conns(egw) == {1: 1, 2: 1, 3: 0}
    st = _stats(egw)
    assert (st[NEW], st[AGED], st[COLLISION], st[SHARED]) == (3, 1, 0, 0)
    _send_req(egw, b, 2, "PA")  # b is still found in its second slot


def test_reply_slots_two_choices_and_overwrite_of_the_older():
    f1, f2, f3 = mates(3, node=2)
    r, r3 = slots(f3, node=2)
    f4 = port_at(r3, {slots(f1, node=2)[1], slots(f2, node=2)[1]}, node=2)
    r2 = slots(f2, node=2)[1]
    egw = egress_gateway(nodes=[(2, 1)])
    for f in (f1, f2):
        egw.sw.advance(10)
        _send_req(egw, f, 2)
    assert [_reg(egw, "reply_sig", x) for x in (r, r2)] == [signature(f, 2) for f in (f1, f2)]
    egw.sw.advance(10)
    _send_reply(egw, f1, 2)  # one slot would have lost f1's AISID to f2
    _send_reply(egw, f2, 2)
    egw.sw.advance(10)
    _send_req(egw, f4, 2)  # its first slot r3
    egw.sw.advance(10)
    _send_req(egw, f3, 2)  # r (f1, refreshed earlier) and r3 (f4) held: r is overwritten
    assert _reg(egw, "reply_sig", r) == signature(f3, 2)
    assert _stats(egw)[REPLY_OVERWRITTEN] == 1
    _send_reply(egw, f1, 2, rewritten=False)
    for f in (f2, f3, f4):
        _send_reply(egw, f, 2)
    st = _stats(egw)
    assert (st[REPLY_OK], st[REPLY_UNKNOWN], st[REPLY_OVERWRITTEN]) == (5, 1, 1)


def test_an_idle_reply_slot_is_reused_without_an_overwrite():
    f1, f3 = mates(2, node=2)
    r3 = slots(f3, node=2)[1]
    f4 = port_at(r3, {slots(f1, node=2)[1]}, node=2)
    egw = egress_gateway(nodes=[(2, 1)])
    egw.sw.register_write("CpnIngress.egw.flow_idle_timeout_us", 0, 1000)
    _send_req(egw, f4, 2)  # r3, stays live
    _send_req(egw, f1, 2)  # r
    egw.sw.advance(800)
    _send_req(egw, f4, 2, "PA")
    egw.sw.advance(300)  # f1's slot idle 1100 µs, f4's 300 µs
    _send_req(egw, f3, 2)  # takes r: stale, not counted as an overwrite
    assert _reg(egw, "reply_sig", r3) == signature(f4, 2)
    _send_reply(egw, f3, 2)
    _send_reply(egw, f4, 2)
    _send_reply(egw, f1, 2, rewritten=False)
    assert _stats(egw)[REPLY_OVERWRITTEN] == 0
