"""p4runtime-shell, unchanged, as the client of the embedded switch's P4Runtime server."""

from __future__ import annotations

import time

import grpc
import pytest
from rt_harness import Client, canon_entry, frame, update

from p4target.switch import Switch


def wait_for(pred, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.005)
    return pred()


def test_router_entries_insert_read_modify_delete(shell, switch: Switch, router_prog):
    sh = shell(router_prog)
    lpm = sh.TableEntry("RouterIngress.ipv4_lpm")(action="RouterIngress.set_nexthop")
    lpm.match["hdr.ipv4.dst_addr"] = "10.0.0.0/8"
    lpm.action["nexthop_id"] = "5"
    lpm.insert()
    v6 = sh.TableEntry("RouterIngress.ipv6_lpm")(action="RouterIngress.set_nexthop")
    v6.match["hdr.ipv6.dst_addr"] = "2001:db8::/32"
    v6.action["nexthop_id"] = "5"
    v6.insert()
    nh = sh.TableEntry("RouterIngress.nexthop")(action="RouterIngress.forward")
    nh.match["meta.nexthop_id"] = "5"
    nh.action["dst_mac"] = "00:00:00:00:00:02"
    nh.action["src_mac"] = "00:00:00:00:00:01"
    nh.action["port"] = "2"
    nh.insert()

    # read back equal (the shell sends canonical byte strings; reads return canonical)
    for t, te in (("ipv4_lpm", lpm), ("ipv6_lpm", v6), ("nexthop", nh)):
        got = [e.msg() for e in sh.TableEntry("RouterIngress." + t).read()]
        assert got == [canon_entry(te.msg())]

    pkt = frame(dst="00:00:00:00:00:aa", ip_dst=0x0A010203)
    switch.port(1).send(pkt)
    out = switch.port(2).received.popleft()
    assert out[:12] == bytes.fromhex("000000000002000000000001")
    assert out[22] == 63  # TTL decremented

    nh.action["port"] = "3"
    nh.modify()
    (got,) = sh.TableEntry("RouterIngress.nexthop").read()
    assert got.msg().action.action.params[2].value == b"\x03"
    switch.port(1).send(pkt)
    assert len(switch.port(3).received) == 1 and not switch.port(2).received

    counter = sh.CounterEntry("RouterIngress.port_counter")
    counter.index = 1
    (c,) = counter.read()
    assert c.msg().data.packet_count == 2
    assert c.msg().data.byte_count == 2 * len(pkt)

    nh.delete()
    assert list(sh.TableEntry("RouterIngress.nexthop").read()) == []
    switch.port(3).received.clear()
    switch.port(1).send(pkt)
    assert not switch.port(3).received  # nexthop miss: default drop


def test_default_entry_modify_and_reset(shell, switch: Switch, router_prog):
    sh = shell(router_prog)
    (d,) = sh.TableEntry("RouterIngress.ipv4_lpm")(is_default=True).read()
    assert d.msg().action.action.action_id == router_prog.action_id("RouterIngress.drop")
    new = sh.TableEntry("RouterIngress.ipv4_lpm")(
        is_default=True, action="RouterIngress.set_nexthop"
    )
    new.action["nexthop_id"] = "9"
    new.modify()
    (d,) = sh.TableEntry("RouterIngress.ipv4_lpm")(is_default=True).read()
    assert d.msg().action.action.params[0].value == b"\x09"
    nh = sh.TableEntry("RouterIngress.nexthop")(action="RouterIngress.forward")
    nh.match["meta.nexthop_id"] = "9"
    nh.action["dst_mac"] = "00:00:00:00:00:02"
    nh.action["src_mac"] = "00:00:00:00:00:01"
    nh.action["port"] = "4"
    nh.insert()
    switch.port(1).send(frame(ip_dst=0xC0A80001))  # no LPM entry: default action
    assert len(switch.port(4).received) == 1
    sh.TableEntry("RouterIngress.ipv4_lpm")(is_default=True).modify()  # no action: reset
    (d,) = sh.TableEntry("RouterIngress.ipv4_lpm")(is_default=True).read()
    assert d.msg().action.action.action_id == router_prog.action_id("RouterIngress.drop")


def _shares(switch: Switch, n: int) -> tuple[float, float]:
    for p in (1, 2):
        switch.port(p).received.clear()
    for i in range(n):
        switch.port(3).send(
            frame(
                ip_src=0x0B000000 + i * 7919,
                ip_dst=0x0A000001,
                sport=1024 + (i * 31) % 60000,
                dport=80 + i % 17,
            )
        )
    a, c = len(switch.port(1).received), len(switch.port(2).received)
    assert a + c == n
    return a / n, c / n


def test_weighted_groups_split_traffic(shell, switch: Switch, rt_prog):
    sh = shell(rt_prog)
    for mid, port in ((1, 1), (2, 2)):
        m = sh.ActionProfileMember("FIngress.ecmp_selector")(
            member_id=mid, action="FIngress.set_dmac"
        )
        m.action["dmac"] = f"00:00:00:00:00:0{port}"
        m.action["port"] = str(port)
        m.insert()
    g = sh.ActionProfileGroup("FIngress.ecmp_selector")(group_id=7)
    g.add(1, weight=1).add(2, weight=3)
    g.insert()
    te = sh.TableEntry("FIngress.ecmp")
    te.match["hdr.ipv4.dst_addr"] = "10.0.0.0/8"
    te.group_id = 7
    te.insert()
    (got,) = sh.ActionProfileGroup("FIngress.ecmp_selector")(group_id=7).read()
    assert {(m.member_id, m.weight) for m in got.msg().members} == {(1, 1), (2, 3)}
    (e,) = sh.TableEntry("FIngress.ecmp").read()
    assert e.msg().action.action_profile_group_id == 7

    one, three = _shares(switch, 2000)
    assert 0.20 <= one <= 0.30 and 0.70 <= three <= 0.80, (one, three)
    g = sh.ActionProfileGroup("FIngress.ecmp_selector")(group_id=7)
    g.add(1, weight=3).add(2, weight=1)
    g.modify()
    three, one = _shares(switch, 2000)
    assert 0.70 <= three <= 0.80 and 0.20 <= one <= 0.30, (three, one)
    # member actions reach the packets: MAC rewritten per member
    assert switch.port(1).received[0][:6] == bytes.fromhex("000000000001")


def test_oneshot_action_set(shell, switch: Switch, rt_prog):
    sh = shell(rt_prog)
    te = sh.TableEntry("FIngress.ecmp")
    te.match["hdr.ipv4.dst_addr"] = "10.0.0.0/8"
    os_ = sh.Oneshot("FIngress.ecmp")
    for port, w in ((1, 1), (2, 1)):
        a = sh.Action("FIngress.set_dmac")
        a["dmac"] = "00:00:00:00:00:0" + str(port)
        a["port"] = str(port)
        os_.add(a, weight=w)
    te.oneshot = os_
    te.insert()
    (got,) = sh.TableEntry("FIngress.ecmp").read()
    assert got.msg() == canon_entry(te.msg())  # read back as the one-shot message, not desugared
    assert list(sh.ActionProfileMember("FIngress.ecmp_selector").read()) == []
    one, two = _shares(switch, 600)
    assert 0.4 <= one <= 0.6


def test_packet_out_and_packet_in(shell, switch: Switch, rt_prog):
    sh = shell(rt_prog)
    payload = frame(dst="00:00:00:00:00:42")
    sh.PacketOut(payload, egress_port="2", _pad="0").send()
    assert wait_for(lambda: len(switch.port(2).received) == 1)
    assert switch.port(2).received[0] == payload

    te = sh.TableEntry("FIngress.l2")(action="FIngress.to_cpu")
    te.match["hdr.ethernet.dst_addr"] = "00:00:00:00:00:cc"
    te.action["reason"] = "3"
    te.insert()
    sniffer = sh.PacketIn()
    pkt = frame(dst="00:00:00:00:00:cc", src="00:00:00:00:00:07")
    switch.port(4).send(pkt)
    msgs = list(sniffer.sniff(timeout=1.0))
    assert len(msgs) == 1
    p = msgs[0].packet
    assert p.payload == pkt
    md = {m.metadata_id: m.value for m in p.metadata}
    assert md == {1: b"\x04", 2: b"\x03"}  # ingress_port 4, reason 3


def test_direct_counter_and_meter_through_shell(shell, switch: Switch, rt_prog):
    sh = shell(rt_prog)
    te = sh.TableEntry("FIngress.l2")(action="FIngress.fwd")
    te.match["hdr.ethernet.dst_addr"] = "00:00:00:00:00:dd"
    te.action["port"] = "2"
    te.insert()
    pkt = frame(dst="00:00:00:00:00:dd")
    for _ in range(3):
        switch.port(1).send(pkt)
    q = sh.TableEntry("FIngress.l2")
    q.match["hdr.ethernet.dst_addr"] = "00:00:00:00:00:dd"
    q.counter_data.packet_count = 0
    (e,) = q.read()
    assert e.counter_data.packet_count == 3
    assert e.counter_data.byte_count == 3 * len(pkt)
    dc = sh.DirectCounterEntry("FIngress.l2_counter")
    dc.table_entry.match["hdr.ethernet.dst_addr"] = "00:00:00:00:00:dd"
    (d,) = dc.read()
    assert d.msg().data.packet_count == 3

    acl = sh.TableEntry("FIngress.acl")(action="FIngress.acl_fwd")
    acl.match["hdr.ipv4.src_addr"] = "10.0.0.0&&&255.0.0.0"
    acl.match["hdr.ipv4.dst_addr"] = "10.0.0.0/8"
    acl.match["hdr.l4.dst_port"] = "80..90"
    acl.priority = 10
    acl.action["port"] = "3"
    acl.meter_config.cir = 1000
    acl.meter_config.cburst = 100
    acl.meter_config.pir = 2000
    acl.meter_config.pburst = 200
    acl.insert()
    q = sh.TableEntry("FIngress.acl")
    q.priority = 10
    q.meter_config.cir = 0
    (e,) = q.read()
    assert (
        e.meter_config.cir,
        e.meter_config.cburst,
        e.meter_config.pir,
        e.meter_config.pburst,
    ) == (1000, 100, 2000, 200)
    assert e.msg().match == canon_entry(acl.msg()).match


def test_multicast_and_clone_sessions(shell, switch: Switch, rt_prog):
    sh = shell(rt_prog)
    mc = sh.MulticastGroupEntry(5)
    mc.add(1, 1).add(2, 1).add(3, 2)
    mc.insert()
    (got,) = sh.MulticastGroupEntry(5).read()
    assert got.msg() == mc.msg()
    te = sh.TableEntry("FIngress.l2")(action="FIngress.flood")
    te.match["hdr.ethernet.dst_addr"] = "ff:ff:ff:ff:ff:ff"
    te.action["group"] = "5"
    te.insert()
    switch.port(4).send(frame(dst="ff:ff:ff:ff:ff:ff"))
    assert [len(switch.port(p).received) for p in (1, 2, 3, 4)] == [1, 1, 1, 0]

    cs = sh.CloneSessionEntry(9)
    cs.add(4, 0)
    cs.insert()
    (got,) = sh.CloneSessionEntry(9).read()
    assert got.msg().clone_session_entry.replicas[0].egress_port == 4
    m = sh.TableEntry("FIngress.l2")(action="FIngress.mirror")
    m.match["hdr.ethernet.dst_addr"] = "00:00:00:00:00:ee"
    m.action["session"] = "9"
    m.action["port"] = "1"
    m.insert()
    pkt = frame(dst="00:00:00:00:00:ee")
    switch.port(3).send(pkt)
    assert switch.port(1).received[-1] == pkt
    assert list(switch.port(4).received) == [pkt]


def test_digests_and_idle_timeout_through_shell(shell, switch: Switch, rt_prog):
    sh = shell(rt_prog)
    de = sh.DigestEntry("learn_t")
    de.insert()
    digests = sh.DigestList()
    switch.port(2).send(frame(dst="00:00:00:00:00:01", src="00:00:00:00:12:34"))
    msgs = list(digests.sniff(timeout=1.0))
    assert len(msgs) == 1
    data = msgs[0].digest.data[0].struct.members
    assert [m.bitstring for m in data] == [bytes.fromhex("1234"), b"\x02"]

    te = sh.TableEntry("FIngress.l2")(action="FIngress.fwd")
    te.match["hdr.ethernet.dst_addr"] = "00:00:00:00:00:bb"
    te.action["port"] = "1"
    te.idle_timeout_ns = 2_000_000_000
    te.insert()
    notes = sh.IdleTimeoutNotification()
    switch.advance(1_000_000)
    switch.port(2).send(frame(dst="00:00:00:00:00:bb"))  # hit: timer restarts
    switch.advance(1_500_000)
    assert list(notes.sniff(timeout=0.3)) == []
    switch.advance(1_000_000)
    (n,) = list(notes.sniff(timeout=1.0))
    (e,) = n.idle_timeout_notification.table_entry
    assert e.match == canon_entry(te.msg()).match and e.idle_timeout_ns == 2_000_000_000


def test_backup_client_cannot_write(shell, server, switch: Switch, router_prog):
    sh = shell(router_prog, election=(0, 5))
    backup = Client(server.address, 1, election=3)
    try:
        te = sh.TableEntry("RouterIngress.nexthop")(action="RouterIngress.drop")
        te.match["meta.nexthop_id"] = "1"
        te.insert()
        with pytest.raises(grpc.RpcError) as exc:
            backup.write(update("DELETE", table_entry=te.msg()))
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert len(list(sh.TableEntry("RouterIngress.nexthop").read())) == 1
    finally:
        backup.close()
