"""Every P4Runtime entity with hand-made protos: table entry semantics (priorities, filters,
default entries, metadata, idle timeout), action profiles, counters, meters, registers, value
sets, digests, multicast groups and clone sessions, each checked against packets."""

from __future__ import annotations

import grpc
import pytest
from rt_harness import (
    action,
    b,
    entity,
    eth,
    fm_exact,
    fm_lpm,
    fm_optional,
    fm_range,
    fm_ternary,
    frame,
    mac,
    table_entry,
    update,
)

from p4target.protos import p4data_pb2, p4runtime_pb2

C = grpc.StatusCode
P = p4runtime_pb2


def code(errs) -> int:
    return errs[0].canonical_code


def l2(prog, dst: int, port: int = 2, **kw):
    return table_entry(
        prog.table_id("FIngress.l2"),
        [fm_exact(1, b(dst))],
        action(prog.action_id("FIngress.fwd"), b(port)),
        **kw,
    )


def read_table(client, prog, name: str, **kw):
    return [
        e.table_entry
        for e in client.read(entity(table_entry=P.TableEntry(table_id=prog.table_id(name), **kw)))
    ]


# -- table entries -------------------------------------------------------------------------------


def test_priorities_decide_between_overlapping_entries(client, switch, rt_prog):
    t, fwd = rt_prog.table_id("FIngress.acl"), rt_prog.action_id("FIngress.acl_fwd")
    wide = table_entry(t, [fm_lpm(2, b(0x0A000000, 4), 8)], action(fwd, b(1)), priority=10)
    narrow = table_entry(
        t,
        [
            fm_ternary(1, b(0x0A000001, 4), b(0xFFFFFFFF, 4)),
            fm_range(3, b(80), b(80)),
            fm_optional(4, b(17)),
        ],
        action(fwd, b(2)),
        priority=20,
    )
    client.write(update("INSERT", table_entry=wide), update("INSERT", table_entry=narrow))
    switch.port(3).send(frame(ip_src=0x0A000001, ttl=10))
    assert len(switch.port(2).received) == 1  # priority 20 wins
    switch.port(3).send(frame(ip_src=0x0A000009, ttl=10))
    assert len(switch.port(1).received) == 1
    # same key at another priority is another entry; MODIFY/DELETE name (match, priority)
    client.write(
        update(
            "INSERT", table_entry=table_entry(t, list(narrow.match), action(fwd, b(4)), priority=30)
        )
    )
    switch.port(3).send(frame(ip_src=0x0A000001, ttl=10))
    assert len(switch.port(4).received) == 1
    assert [e.priority for e in read_table(client, rt_prog, "FIngress.acl", priority=30)] == [30]
    client.write(update("DELETE", table_entry=table_entry(t, list(narrow.match), priority=30)))
    switch.port(3).send(frame(ip_src=0x0A000001, ttl=10))
    assert len(switch.port(2).received) == 2
    # don't-care fields are omitted in reads (wide only matched on dst)
    (w,) = read_table(client, rt_prog, "FIngress.acl", priority=10)
    assert [m.field_id for m in w.match] == [2]


def test_read_filters_default_entry_and_metadata(client, rt_prog):
    ups = [
        update("INSERT", table_entry=l2(rt_prog, i, controller_metadata=i, metadata=b"m%d" % i))
        for i in range(1, 5)
    ]
    ups.append(
        update(
            "INSERT",
            table_entry=table_entry(
                rt_prog.table_id("FIngress.l2"),
                [fm_exact(1, b(9))],
                action(rt_prog.action_id("FIngress.to_cpu"), b(1)),
            ),
        )
    )
    client.write(*ups)
    assert len(read_table(client, rt_prog, "FIngress.l2")) == 5
    assert [
        e.controller_metadata
        for e in read_table(client, rt_prog, "FIngress.l2", controller_metadata=3)
    ] == [3]
    assert [e.metadata for e in read_table(client, rt_prog, "FIngress.l2", metadata=b"m2")] == [
        b"m2"
    ]
    only_cpu = P.TableEntry(table_id=rt_prog.table_id("FIngress.l2"))
    only_cpu.action.action.action_id = rt_prog.action_id("FIngress.to_cpu")
    assert len(client.read(entity(table_entry=only_cpu))) == 1
    (one,) = read_table(client, rt_prog, "FIngress.l2", match=[fm_exact(1, b(2))])
    assert one.metadata == b"m2"
    assert read_table(client, rt_prog, "FIngress.l2", match=[fm_exact(1, b(77))]) == []
    with pytest.raises(grpc.RpcError):  # a malformed key filter is an error
        read_table(client, rt_prog, "FIngress.l2", match=[fm_exact(1, b(1 << 50))])
    (d,) = read_table(client, rt_prog, "FIngress.l2", is_default_action=True)
    assert d.is_default_action and d.action.action.action_id == rt_prog.action_id("FIngress.drop")
    # MODIFY is a full snapshot: metadata replaced, action changed
    client.write(update("MODIFY", table_entry=l2(rt_prog, 1, port=3, metadata=b"new")))
    (one,) = read_table(client, rt_prog, "FIngress.l2", match=[fm_exact(1, b(1))])
    assert one.metadata == b"new" and one.controller_metadata == 0
    assert one.action.action.params[0].value == b"\x03"
    # all tables at once: every non-default entry, const ones included
    every = client.read(entity(table_entry=P.TableEntry()))
    assert len(every) == 5 + 2


def test_idle_timeout_notifications_repeat_until_hit(client, switch, rt_prog):
    client.write(
        update(
            "INSERT", table_entry=l2(rt_prog, 0xB0, idle_timeout_ns=10**9, controller_metadata=5)
        )
    )
    switch.advance(1_100_000)
    n = client.get("idle_timeout_notification")
    (e,) = n.idle_timeout_notification.table_entry
    assert e.match[0].exact.value == b"\xb0" and e.controller_metadata == 5
    switch.advance(1_000_000)  # not hit: notified again after another TTL
    assert client.get("idle_timeout_notification") is not None
    q = P.TableEntry(table_id=rt_prog.table_id("FIngress.l2"), match=[fm_exact(1, b(0xB0))])
    q.time_since_last_hit.elapsed_ns = 0
    (got,) = [x.table_entry for x in client.read(entity(table_entry=q))]
    assert got.idle_timeout_ns == 10**9 and got.time_since_last_hit.elapsed_ns >= 0
    switch.port(1).send(frame(dst="00:00:00:00:00:b0"))
    (got,) = [x.table_entry for x in client.read(entity(table_entry=q))]
    assert got.time_since_last_hit.elapsed_ns == 0  # just hit (virtual clock)
    client.write(update("MODIFY", table_entry=l2(rt_prog, 0xB0, idle_timeout_ns=0)))
    switch.advance(5_000_000)
    assert client.get("idle_timeout_notification", timeout=0.2) is None
    with pytest.raises(grpc.RpcError) as exc:  # time_since_last_hit on a table without it
        q2 = P.TableEntry(table_id=rt_prog.table_id("FIngress.acl"))
        q2.time_since_last_hit.elapsed_ns = 0
        client.read(entity(table_entry=q2))
    assert exc.value.code() == C.UNKNOWN


# -- action profiles -----------------------------------------------------------------------------


def member(prog, pid_name: str, mid: int, port: int):
    return P.ActionProfileMember(
        action_profile_id=prog.id("action_profiles", pid_name),
        member_id=mid,
        action=action(prog.action_id("FIngress.set_dmac"), b(port), b(port)),
    )


def test_action_profile_members(client, switch, rt_prog):
    client.write(
        update("INSERT", action_profile_member=member(rt_prog, "FIngress.nh_profile", 1, 2))
    )
    nh = table_entry(rt_prog.table_id("FIngress.nh"), [fm_exact(1, b(0x800))], 1)
    client.write(update("INSERT", table_entry=nh))
    switch.port(1).send(frame(ttl=32))
    assert switch.port(2).received[-1][:6] == bytes.fromhex("000000000002")
    client.write(
        update("MODIFY", action_profile_member=member(rt_prog, "FIngress.nh_profile", 1, 3))
    )
    switch.port(1).send(frame(ttl=32))
    assert len(switch.port(3).received) == 1
    (m,) = client.read(entity(action_profile_member=P.ActionProfileMember()))
    assert m.action_profile_member == member(rt_prog, "FIngress.nh_profile", 1, 3)
    _, errs = client.write_error(
        update("DELETE", action_profile_member=member(rt_prog, "FIngress.nh_profile", 1, 3))
    )
    assert code(errs) == C.FAILED_PRECONDITION.value[0]  # used by a table entry
    g = P.ActionProfileGroup(
        action_profile_id=rt_prog.id("action_profiles", "FIngress.nh_profile"), group_id=1
    )
    _, errs = client.write_error(update("INSERT", action_profile_group=g))
    assert code(errs) == C.INVALID_ARGUMENT.value[0]  # no selector, no groups
    _, errs = client.write_error(
        update("INSERT", action_profile_member=member(rt_prog, "FIngress.nh_profile", 1, 3))
    )
    assert code(errs) == C.ALREADY_EXISTS.value[0]
    client.write(update("DELETE", table_entry=nh))
    client.write(
        update("DELETE", action_profile_member=member(rt_prog, "FIngress.nh_profile", 1, 3))
    )
    assert client.read(entity(action_profile_member=P.ActionProfileMember())) == []


def test_selector_groups_rules(client, rt_prog):
    sel = rt_prog.id("action_profiles", "FIngress.ecmp_selector")
    client.write(
        *[
            update("INSERT", action_profile_member=member(rt_prog, "FIngress.ecmp_selector", i, i))
            for i in (1, 2, 3)
        ]
    )

    def group(gid, members, max_size=0):
        g = P.ActionProfileGroup(action_profile_id=sel, group_id=gid, max_size=max_size)
        for mid, w in members:
            g.members.add(member_id=mid, weight=w)
        return g

    bad = [
        (group(1, [(1, 0)]), C.INVALID_ARGUMENT),  # weight 0
        (group(1, [(1, 1), (1, 2)]), C.INVALID_ARGUMENT),  # duplicate member
        (group(1, [(9, 1)]), C.NOT_FOUND),  # unknown member
        (group(1, [(1, 3), (2, 3)], max_size=4), C.RESOURCE_EXHAUSTED),  # weights > max_size
        (group(0, [(1, 1)]), C.INVALID_ARGUMENT),
    ]
    for g, c in bad:
        _, errs = client.write_error(update("INSERT", action_profile_group=g))
        assert code(errs) == c.value[0], g
    w = group(1, [(1, 1)])
    w.members[0].watch_port = b"\x01"
    _, errs = client.write_error(update("INSERT", action_profile_group=w))
    assert code(errs) == C.UNIMPLEMENTED.value[0]
    client.write(update("INSERT", action_profile_group=group(1, [(1, 1), (2, 2)], max_size=8)))
    _, errs = client.write_error(update("MODIFY", action_profile_group=group(1, [(3, 1)])))
    assert code(errs) == C.INVALID_ARGUMENT.value[0]  # max_size cannot change
    client.write(update("MODIFY", action_profile_group=group(1, [(3, 1)], max_size=8)))
    (g,) = client.read(entity(action_profile_group=P.ActionProfileGroup()))
    assert g.action_profile_group == group(1, [(3, 1)], max_size=8)
    # one-shot action sets cannot be mixed with explicit members and groups
    te = table_entry(rt_prog.table_id("FIngress.ecmp"), [fm_lpm(1, b(0x0A000000, 4), 8)])
    a = te.action.action_profile_action_set.action_profile_actions.add(weight=1)
    a.action.CopyFrom(action(rt_prog.action_id("FIngress.set_dmac"), b(1), b(1)))
    _, errs = client.write_error(update("INSERT", table_entry=te))
    assert code(errs) == C.INVALID_ARGUMENT.value[0]
    client.write(update("DELETE", action_profile_group=group(1, [])))
    client.write(
        *[
            update("DELETE", action_profile_member=member(rt_prog, "FIngress.ecmp_selector", i, i))
            for i in (1, 2, 3)
        ]
    )
    client.write(update("INSERT", table_entry=te))  # now one-shot is fine
    _, errs = client.write_error(
        update("INSERT", action_profile_member=member(rt_prog, "FIngress.ecmp_selector", 1, 1))
    )
    assert code(errs) == C.INVALID_ARGUMENT.value[0]
    client.write(update("DELETE", table_entry=te))
    client.write(
        update("INSERT", action_profile_member=member(rt_prog, "FIngress.ecmp_selector", 1, 1))
    )


# -- counters, meters, registers -----------------------------------------------------------------


def test_counters_and_direct_counters(client, switch, rt_prog):
    cid = rt_prog.id("counters", "FIngress.port_in")
    for _ in range(3):
        switch.port(2).send(frame())
    (c,) = client.read(entity(counter_entry=P.CounterEntry(counter_id=cid, index=P.Index(index=2))))
    assert c.counter_entry.data.packet_count == 3
    assert c.counter_entry.data.byte_count == 3 * len(frame())
    assert len(client.read(entity(counter_entry=P.CounterEntry(counter_id=cid)))) == 64
    assert len(client.read(entity(counter_entry=P.CounterEntry()))) == 64
    client.write(
        update(
            "MODIFY",
            counter_entry=P.CounterEntry(
                counter_id=cid, data=P.CounterData(packet_count=7, byte_count=70)
            ),
        )
    )  # every index
    got = client.read(entity(counter_entry=P.CounterEntry(counter_id=cid)))
    assert {(x.counter_entry.data.packet_count, x.counter_entry.data.byte_count) for x in got} == {
        (7, 70)
    }

    client.write(
        update(
            "INSERT",
            table_entry=l2(
                rt_prog, 0xC0, counter_data=P.CounterData(packet_count=100, byte_count=1000)
            ),
        )
    )
    switch.port(1).send(frame(dst="00:00:00:00:00:c0"))
    dce = P.DirectCounterEntry(
        table_entry=P.TableEntry(
            table_id=rt_prog.table_id("FIngress.l2"), match=[fm_exact(1, b(0xC0))]
        )
    )
    (d,) = client.read(entity(direct_counter_entry=dce))
    assert d.direct_counter_entry.data.packet_count == 101
    dce.data.packet_count, dce.data.byte_count = 5, 50
    client.write(update("MODIFY", direct_counter_entry=dce))
    (d,) = client.read(entity(direct_counter_entry=P.DirectCounterEntry()))  # all tables
    assert (d.direct_counter_entry.data.packet_count, d.direct_counter_entry.data.byte_count) == (
        5,
        50,
    )
    _, errs = client.write_error(update("INSERT", direct_counter_entry=dce))
    assert code(errs) == C.INVALID_ARGUMENT.value[0]


def test_meters_color_and_reset(client, switch, rt_prog):
    mid = rt_prog.id("meters", "FIngress.port_meter")
    client.write(update("INSERT", table_entry=l2(rt_prog, 0xD0, port=2)))
    cfg = P.MeterConfig(cir=1, cburst=1, pir=1, pburst=1)  # 1 packet, then red
    client.write(
        update("MODIFY", meter_entry=P.MeterEntry(meter_id=mid, index=P.Index(index=1), config=cfg))
    )
    for _ in range(3):
        switch.port(1).send(frame(dst="00:00:00:00:00:d0"))
    assert len(switch.port(2).received) == 1
    (m,) = client.read(entity(meter_entry=P.MeterEntry(meter_id=mid, index=P.Index(index=1))))
    assert m.meter_entry.config == cfg
    client.write(update("MODIFY", meter_entry=P.MeterEntry(meter_id=mid, index=P.Index(index=1))))
    (m,) = client.read(entity(meter_entry=P.MeterEntry(meter_id=mid, index=P.Index(index=1))))
    assert not m.meter_entry.HasField("config")
    for _ in range(3):
        switch.port(1).send(frame(dst="00:00:00:00:00:d0"))
    assert len(switch.port(2).received) == 4
    _, errs = client.write_error(
        update(
            "MODIFY",
            meter_entry=P.MeterEntry(
                meter_id=mid, config=P.MeterConfig(cir=5, cburst=1, pir=5, pburst=1, eburst=3)
            ),
        )
    )
    assert code(errs) == C.INVALID_ARGUMENT.value[0]
    _, errs = client.write_error(
        update(
            "MODIFY",
            meter_entry=P.MeterEntry(
                meter_id=mid, config=P.MeterConfig(cir=5, cburst=1, pir=2, pburst=1)
            ),
        )
    )
    assert code(errs) == C.INVALID_ARGUMENT.value[0]  # CIR > PIR


def test_direct_meter(client, rt_prog):
    t = rt_prog.table_id("FIngress.acl")
    te = table_entry(
        t,
        [fm_lpm(2, b(0x0A000000, 4), 8)],
        action(rt_prog.action_id("FIngress.acl_fwd"), b(1)),
        priority=1,
    )
    client.write(update("INSERT", table_entry=te))
    dme = P.DirectMeterEntry(
        table_entry=P.TableEntry(table_id=t, match=te.match, priority=1),
        config=P.MeterConfig(cir=100, cburst=10, pir=200, pburst=20),
    )
    client.write(update("MODIFY", direct_meter_entry=dme))
    (got,) = client.read(
        entity(direct_meter_entry=P.DirectMeterEntry(table_entry=P.TableEntry(table_id=t)))
    )
    assert got.direct_meter_entry.config == dme.config
    q = P.TableEntry(table_id=t, meter_config=P.MeterConfig())
    (e,) = [x.table_entry for x in client.read(entity(table_entry=q))]
    assert e.meter_config == dme.config
    client.write(update("MODIFY", table_entry=te))  # meter_config unset: back to default
    (e,) = [x.table_entry for x in client.read(entity(table_entry=q))]
    assert not e.HasField("meter_config")


def test_registers(client, switch, rt_prog):
    rid = rt_prog.id("registers", "FIngress.last_len")
    switch.port(3).send(frame())
    (r,) = client.read(
        entity(register_entry=P.RegisterEntry(register_id=rid, index=P.Index(index=3)))
    )
    assert int.from_bytes(r.register_entry.data.bitstring, "big") == len(frame())
    client.write(
        update(
            "MODIFY",
            register_entry=P.RegisterEntry(
                register_id=rid,
                index=P.Index(index=5),
                data=p4data_pb2.P4Data(bitstring=b"\x00\x99"),
            ),
        )
    )
    got = client.read(entity(register_entry=P.RegisterEntry(register_id=rid)))
    assert len(got) == 8 and got[5].register_entry.data.bitstring == b"\x99"
    client.write(
        update(
            "MODIFY",
            register_entry=P.RegisterEntry(
                register_id=rid, data=p4data_pb2.P4Data(bitstring=b"\x07")
            ),
        )
    )  # every cell
    assert {
        x.register_entry.data.bitstring
        for x in client.read(entity(register_entry=P.RegisterEntry()))
    } == {b"\x07"}
    _, errs = client.write_error(
        update(
            "MODIFY",
            register_entry=P.RegisterEntry(
                register_id=rid, index=P.Index(index=8), data=p4data_pb2.P4Data(bitstring=b"\x01")
            ),
        )
    )
    assert code(errs) == C.OUT_OF_RANGE.value[0]
    _, errs = client.write_error(
        update(
            "MODIFY",
            register_entry=P.RegisterEntry(
                register_id=rid,
                index=P.Index(index=1),
                data=p4data_pb2.P4Data(bitstring=b"\x01" * 5),
            ),
        )
    )
    assert code(errs) == C.OUT_OF_RANGE.value[0]


# -- value sets, digests -------------------------------------------------------------------------


def test_value_set_changes_parsing(client, switch, rt_prog):
    vid = rt_prog.id("value_sets", "FParser.special_types")

    def vs(*types):
        v = P.ValueSetEntry(value_set_id=vid)
        for t in types:
            v.members.add().match.append(fm_exact(1, b(t)))
        return v

    special = eth(mac("00:00:00:00:00:01"), mac("00:00:00:00:00:02"), 0x88B5) + b"x" * 20
    switch.port(1).send(special)
    assert client.get("packet", timeout=0.2) is None  # not in the set: dropped
    client.write(update("MODIFY", value_set_entry=vs(0x88B5, 0x1234)))
    switch.port(1).send(special)
    pin = client.get("packet")
    assert pin.packet.payload == special
    assert {m.metadata_id: m.value for m in pin.packet.metadata} == {1: b"\x01", 2: b"\x02"}
    (got,) = client.read(entity(value_set_entry=P.ValueSetEntry(value_set_id=vid)))
    assert sorted(m.match[0].exact.value for m in got.value_set_entry.members) == [
        b"\x12\x34",
        b"\x88\xb5",
    ]
    _, errs = client.write_error(update("MODIFY", value_set_entry=vs(1, 1)))
    assert code(errs) == C.ALREADY_EXISTS.value[0]
    _, errs = client.write_error(update("MODIFY", value_set_entry=vs(1, 2, 3, 4, 5)))
    assert code(errs) == C.RESOURCE_EXHAUSTED.value[0]
    _, errs = client.write_error(update("INSERT", value_set_entry=vs(1)))
    assert code(errs) == C.INVALID_ARGUMENT.value[0]
    client.write(update("MODIFY", value_set_entry=vs()))
    switch.port(1).send(special)
    assert client.get("packet", timeout=0.2) is None


def test_digests_config_lists_and_acks(client, switch, rt_prog):
    did = rt_prog.id("digests", "learn_t")
    pkt = frame(dst="00:00:00:00:00:01", src="00:00:00:00:ab:cd")
    switch.port(3).send(pkt)
    assert client.get("digest", timeout=0.2) is None  # not enabled
    de = P.DigestEntry(digest_id=did)
    de.config.max_list_size = 1
    de.config.ack_timeout_ns = 10**12  # samples stay filtered until acked
    client.write(update("INSERT", digest_entry=de))
    (got,) = client.read(entity(digest_entry=P.DigestEntry()))
    assert got.digest_entry == de
    switch.port(3).send(pkt)
    d = client.get("digest").digest
    assert d.digest_id == did
    assert [m.bitstring for m in d.data[0].struct.members] == [b"\xab\xcd", b"\x03"]
    switch.port(3).send(pkt)
    assert client.get("digest", timeout=0.2) is None  # duplicate, not acked yet
    ack = P.StreamMessageRequest()
    ack.digest_ack.digest_id, ack.digest_ack.list_id = did, d.list_id
    client.send(ack)
    assert client.get("error", timeout=0.2) is None
    switch.port(3).send(pkt)
    assert client.get("digest") is not None
    de.config.max_list_size = 4
    de.config.max_timeout_ns = 10**9
    de.config.ack_timeout_ns = 0
    client.write(update("MODIFY", digest_entry=de))
    for src in (1, 1, 2):
        switch.port(3).send(frame(dst="00:00:00:00:00:01", src=f"00:00:00:00:00:{src:02x}"))
    assert client.get("digest", timeout=0.2) is None  # buffered: 3 < 4 samples
    switch.advance(1_000_000)  # max_timeout flushes the list
    got = client.get("digest").digest.data
    assert [d.struct.members[0].bitstring for d in got] == [b"\x01", b"\x02"]  # distinct
    client.write(update("DELETE", digest_entry=de))
    _, errs = client.write_error(update("DELETE", digest_entry=de))
    assert code(errs) == C.NOT_FOUND.value[0]
    switch.port(3).send(pkt)
    assert client.get("digest", timeout=0.2) is None
