"""Bad writes and reads with hand-made protos: each returns the spec's code, a failed batch
is UNKNOWN with one p4.v1.Error per update, and a failed update changes nothing."""

from __future__ import annotations

import grpc
import pytest
from rt_harness import (
    Client,
    action,
    b,
    entity,
    fm_exact,
    fm_lpm,
    fm_optional,
    fm_range,
    fm_ternary,
    frame,
    table_entry,
    update,
)

from p4target.protos import p4data_pb2, p4runtime_pb2

C = grpc.StatusCode
WR = p4runtime_pb2.WriteRequest


def l2(prog, dst: int, port: int = 2, **kw):
    return table_entry(
        prog.table_id("FIngress.l2"),
        [fm_exact(1, b(dst))],
        action(prog.action_id("FIngress.fwd"), b(port)),
        **kw,
    )


def acl(prog, priority: int = 10, match=None, port: int = 3):
    match = (
        match
        if match is not None
        else [
            fm_ternary(1, b(0x0A000000, 4), b(0xFF000000, 4)),
            fm_lpm(2, b(0x0A000000, 4), 8),
            fm_range(3, b(80), b(90)),
            fm_optional(4, b(17)),
        ]
    )
    return table_entry(
        prog.table_id("FIngress.acl"),
        match,
        action(prog.action_id("FIngress.acl_fwd"), b(port)),
        priority,
    )


def snapshot(client: Client, switch) -> tuple:
    """Everything a bad write must leave unchanged: every P4Runtime-visible table entry and
    the switch's own table contents."""
    entries = [
        e.SerializeToString() for e in client.read(entity(table_entry=p4runtime_pb2.TableEntry()))
    ]
    raw = {t: sorted(str(e) for e in switch.table_entries(t)) for t in switch.table_names()}
    return sorted(entries), raw


def bad_updates(p):
    T, A = p.table_id, p.action_id
    l2t = T("FIngress.l2")
    fwd = A("FIngress.fwd")
    yield (
        "unknown table id",
        update(
            "INSERT", table_entry=table_entry(0x02FFFFFF, [fm_exact(1, b(5))], action(fwd, b(1)))
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "key wider than its field",
        update(
            "INSERT", table_entry=table_entry(l2t, [fm_exact(1, b(1 << 48))], action(fwd, b(1)))
        ),
        C.OUT_OF_RANGE,
    )
    yield (
        "param wider than 9 bits",
        update("INSERT", table_entry=table_entry(l2t, [fm_exact(1, b(5))], action(fwd, b(512)))),
        C.OUT_OF_RANGE,
    )
    yield (
        "empty byte string",
        update("INSERT", table_entry=table_entry(l2t, [fm_exact(1, b"")], action(fwd, b(1)))),
        C.OUT_OF_RANGE,
    )
    yield (
        "ternary table without priority",
        update("INSERT", table_entry=acl(p, priority=0)),
        C.INVALID_ARGUMENT,
    )
    yield (
        "priority on an exact table",
        update("INSERT", table_entry=l2(p, 7, priority=3)),
        C.INVALID_ARGUMENT,
    )
    yield "duplicate insert", update("INSERT", table_entry=l2(p, 0xAA)), C.ALREADY_EXISTS
    yield "delete of a missing entry", update("DELETE", table_entry=l2(p, 0xAB)), C.NOT_FOUND
    yield "modify of a missing entry", update("MODIFY", table_entry=l2(p, 0xAB)), C.NOT_FOUND
    yield (
        "action not in the table",
        update(
            "INSERT",
            table_entry=table_entry(l2t, [fm_exact(1, b(6))], action(A("FIngress.acl_fwd"), b(1))),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "unknown parameter id",
        update(
            "INSERT",
            table_entry=table_entry(
                l2t,
                [fm_exact(1, b(6))],
                p4runtime_pb2.Action(
                    action_id=fwd, params=[p4runtime_pb2.Action.Param(param_id=9, value=b"\x01")]
                ),
            ),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "missing parameter",
        update("INSERT", table_entry=table_entry(l2t, [fm_exact(1, b(6))], action(fwd))),
        C.INVALID_ARGUMENT,
    )
    yield (
        "lpm bits beyond the prefix",
        update("INSERT", table_entry=acl(p, match=[fm_lpm(2, b(0x0A000001, 4), 8)])),
        C.INVALID_ARGUMENT,
    )
    yield (
        "lpm prefix 0 not omitted",
        update("INSERT", table_entry=acl(p, match=[fm_lpm(2, b(0), 0)])),
        C.INVALID_ARGUMENT,
    )
    yield (
        "ternary value outside mask",
        update(
            "INSERT", table_entry=acl(p, match=[fm_ternary(1, b(0x0A000001, 4), b(0xFF000000, 4))])
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "ternary mask 0",
        update("INSERT", table_entry=acl(p, match=[fm_ternary(1, b(0), b(0))])),
        C.INVALID_ARGUMENT,
    )
    yield (
        "range low > high",
        update("INSERT", table_entry=acl(p, match=[fm_range(3, b(9), b(8))])),
        C.INVALID_ARGUMENT,
    )
    yield (
        "full range not omitted",
        update("INSERT", table_entry=acl(p, match=[fm_range(3, b(0), b(0xFFFF))])),
        C.INVALID_ARGUMENT,
    )
    yield (
        "exact field omitted",
        update("INSERT", table_entry=table_entry(l2t, [], action(fwd, b(1)))),
        C.INVALID_ARGUMENT,
    )
    yield (
        "unknown field id",
        update(
            "INSERT",
            table_entry=table_entry(l2t, [fm_exact(1, b(8)), fm_exact(2, b(1))], action(fwd, b(1))),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "field given twice",
        update(
            "INSERT",
            table_entry=table_entry(l2t, [fm_exact(1, b(8)), fm_exact(1, b(9))], action(fwd, b(1))),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "wrong match kind",
        update("INSERT", table_entry=table_entry(l2t, [fm_lpm(1, b(8), 48)], action(fwd, b(1)))),
        C.INVALID_ARGUMENT,
    )
    yield (
        "const table insert",
        update(
            "INSERT",
            table_entry=table_entry(T("FIngress.dscp"), [fm_exact(1, b(3))], action(fwd, b(1))),
        ),
        C.PERMISSION_DENIED,
    )
    yield (
        "const entry delete",
        update("DELETE", table_entry=table_entry(T("FIngress.dscp"), [fm_exact(1, b(0x2E))])),
        C.PERMISSION_DENIED,
    )
    yield (
        "const entry action change",
        update(
            "MODIFY",
            table_entry=table_entry(T("FIngress.dscp"), [fm_exact(1, b(0x2E))], action(fwd, b(1))),
        ),
        C.PERMISSION_DENIED,
    )
    yield (
        "const default action",
        update(
            "MODIFY",
            table_entry=table_entry(
                T("FIngress.dscp"), act=action(fwd, b(1)), is_default_action=True
            ),
        ),
        C.PERMISSION_DENIED,
    )
    yield (
        "is_const set in a write",
        update("INSERT", table_entry=l2(p, 9, is_const=True)),
        C.INVALID_ARGUMENT,
    )
    yield (
        "default entry insert",
        update(
            "INSERT", table_entry=table_entry(l2t, act=action(fwd, b(1)), is_default_action=True)
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "idle timeout on a table without it",
        update("INSERT", table_entry=acl(p, match=None)),
        None,
    )  # placeholder replaced below
    yield (
        "member on a direct table",
        update("INSERT", table_entry=table_entry(l2t, [fm_exact(1, b(10))], 3)),
        C.INVALID_ARGUMENT,
    )
    yield (
        "action on an indirect table",
        update(
            "INSERT",
            table_entry=table_entry(
                T("FIngress.nh"), [fm_exact(1, b(0x800))], action(A("FIngress.drop"))
            ),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "missing member",
        update("INSERT", table_entry=table_entry(T("FIngress.nh"), [fm_exact(1, b(0x800))], 77)),
        C.NOT_FOUND,
    )
    yield (
        "@defaultonly action in a member",
        update(
            "INSERT",
            action_profile_member=p4runtime_pb2.ActionProfileMember(
                action_profile_id=p.id("action_profiles", "FIngress.nh_profile"),
                member_id=1,
                action=action(A("NoAction")),
            ),
        ),
        C.PERMISSION_DENIED,
    )
    yield (
        "counter INSERT",
        update(
            "INSERT",
            counter_entry=p4runtime_pb2.CounterEntry(
                counter_id=p.id("counters", "FIngress.port_in")
            ),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "counter index out of range",
        update(
            "MODIFY",
            counter_entry=p4runtime_pb2.CounterEntry(
                counter_id=p.id("counters", "FIngress.port_in"),
                index=p4runtime_pb2.Index(index=64),
                data=p4runtime_pb2.CounterData(packet_count=1),
            ),
        ),
        C.OUT_OF_RANGE,
    )
    yield (
        "negative register index",
        update(
            "MODIFY",
            register_entry=p4runtime_pb2.RegisterEntry(
                register_id=p.id("registers", "FIngress.last_len"),
                index=p4runtime_pb2.Index(index=-1),
                data=p4data_pb2.P4Data(bitstring=b"\x01"),
            ),
        ),
        C.INVALID_ARGUMENT,
    )
    yield (
        "multicast group 0",
        update(
            "INSERT",
            packet_replication_engine_entry=(
                p4runtime_pb2.PacketReplicationEngineEntry(
                    multicast_group_entry=p4runtime_pb2.MulticastGroupEntry(multicast_group_id=0)
                )
            ),
        ),
        C.INVALID_ARGUMENT,
    )


def test_bad_writes_return_spec_codes_and_change_nothing(client, switch, rt_prog):
    client.write(update("INSERT", table_entry=l2(rt_prog, 0xAA)))
    switch.port(1).send(frame(dst="00:00:00:00:00:aa"))  # counters move: they must stay
    before = snapshot(client, switch)
    for name, upd, code in bad_updates(rt_prog):
        if code is None:  # idle timeout on acl (no support_timeout)
            upd.entity.table_entry.idle_timeout_ns = 10**9
            code = C.INVALID_ARGUMENT
        got, errs = client.write_error(upd)
        assert got == C.UNKNOWN, name
        assert len(errs) == 1 and errs[0].canonical_code == code.value[0], (
            name,
            errs[0].canonical_code,
            errs[0].message,
        )
        assert errs[0].message, name
        assert snapshot(client, switch) == before, name


def test_table_full_is_resource_exhausted(client, rt_prog):
    ups = [update("INSERT", table_entry=l2(rt_prog, 0x1000 + i)) for i in range(512)]
    client.write(*ups)
    code, errs = client.write_error(update("INSERT", table_entry=l2(rt_prog, 0x9999)))
    assert errs[0].canonical_code == C.RESOURCE_EXHAUSTED.value[0]
    assert (
        len(
            client.read(
                entity(
                    table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2"))
                )
            )
        )
        == 512
    )


def test_continue_on_error_reports_each_update(client, rt_prog):
    ups = [
        update("INSERT", table_entry=l2(rt_prog, 1)),
        update("INSERT", table_entry=l2(rt_prog, 1)),  # duplicate of the first
        update("DELETE", table_entry=l2(rt_prog, 2)),  # missing
        update("INSERT", table_entry=l2(rt_prog, 3)),
    ]
    code, errs = client.write_error(*ups)
    assert code == C.UNKNOWN
    assert [e.canonical_code for e in errs] == [
        0,
        C.ALREADY_EXISTS.value[0],
        C.NOT_FOUND.value[0],
        0,
    ]
    got = client.read(
        entity(table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2")))
    )
    assert sorted(e.table_entry.match[0].exact.value for e in got) == [b"\x01", b"\x03"]


@pytest.mark.parametrize("atomicity", [WR.ROLLBACK_ON_ERROR, WR.DATAPLANE_ATOMIC])
def test_atomic_batches_apply_nothing_on_error(client, switch, rt_prog, atomicity):
    client.write(update("INSERT", table_entry=l2(rt_prog, 0x50, port=1)))
    mgrp = p4runtime_pb2.PacketReplicationEngineEntry()
    mgrp.multicast_group_entry.multicast_group_id = 3
    mgrp.multicast_group_entry.replicas.add(port=b"\x01", instance=0)
    ups = [
        update("INSERT", table_entry=l2(rt_prog, 0x51)),
        update("MODIFY", table_entry=l2(rt_prog, 0x50, port=4)),
        update("INSERT", packet_replication_engine_entry=mgrp),
        update("DELETE", table_entry=l2(rt_prog, 0x50)),
        update("INSERT", table_entry=l2(rt_prog, 0x50)),
        update("INSERT", table_entry=l2(rt_prog, 0x52, port=999)),  # fails: 9-bit port
    ]
    before = snapshot(client, switch)
    code, errs = client.write_error(*ups, atomicity=atomicity)
    assert code == C.UNKNOWN
    assert [e.canonical_code for e in errs] == [C.ABORTED.value[0]] * 5 + [C.OUT_OF_RANGE.value[0]]
    assert snapshot(client, switch) == before
    assert switch.mc_groups() == {}
    switch.port(2).send(frame(dst="00:00:00:00:00:50"))
    assert len(switch.port(1).received) == 1  # the entry still forwards to port 1
    client.write(*ups[:-1], atomicity=atomicity)  # the good part applies whole
    assert 3 in switch.mc_groups()


def test_rpc_level_errors(server, client, rt_prog):
    other = Client(server.address, 99, arbitrate=False)
    try:
        with pytest.raises(grpc.RpcError) as exc:
            other.write(update("INSERT", table_entry=l2(rt_prog, 1)))
        assert exc.value.code() == C.NOT_FOUND
        with pytest.raises(grpc.RpcError) as exc:
            other.read(entity(table_entry=p4runtime_pb2.TableEntry()))
        assert exc.value.code() == C.NOT_FOUND
    finally:
        other.close()
    with pytest.raises(grpc.RpcError) as exc:
        client.write(update("INSERT", table_entry=l2(rt_prog, 1)), atomicity=7)
    assert exc.value.code() == C.INVALID_ARGUMENT
    req = p4runtime_pb2.WriteRequest(device_id=1)  # no election id: not the primary
    req.updates.append(update("INSERT", table_entry=l2(rt_prog, 1)))
    with pytest.raises(grpc.RpcError) as exc:
        client.stub.Write(req)
    assert exc.value.code() == C.PERMISSION_DENIED


def test_no_pipeline_is_failed_precondition(server, rt_prog):
    c = Client(server.address, 1, election=1)
    try:
        with pytest.raises(grpc.RpcError) as exc:
            c.write(update("INSERT", table_entry=l2(rt_prog, 1)))
        assert exc.value.code() == C.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as exc:
            c.read(entity(table_entry=p4runtime_pb2.TableEntry()))
        assert exc.value.code() == C.FAILED_PRECONDITION
    finally:
        c.close()


def test_read_batch_with_errors(client, rt_prog):
    client.write(update("INSERT", table_entry=l2(rt_prog, 0x77)))
    code, errs, got = client.read_error(
        entity(table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2"))),
        entity(table_entry=p4runtime_pb2.TableEntry(table_id=0x02ABCDEF)),
        p4runtime_pb2.Entity(),
    )
    assert code == C.UNKNOWN
    assert [e.canonical_code for e in errs] == [
        0,
        C.INVALID_ARGUMENT.value[0],
        C.INVALID_ARGUMENT.value[0],
    ]
    assert len(got) == 1 and got[0].table_entry.match[0].exact.value == b"\x77"


def test_non_canonical_bytes_accepted_read_canonical(client, rt_prog):
    te = table_entry(
        rt_prog.table_id("FIngress.l2"),
        [fm_exact(1, b(0x42, 8))],
        action(rt_prog.action_id("FIngress.fwd"), b(2, 4)),
    )
    client.write(update("INSERT", table_entry=te))
    (got,) = client.read(
        entity(table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2")))
    )
    assert got.table_entry.match[0].exact.value == b"\x42"
    assert got.table_entry.action.action.params[0].value == b"\x02"
    # the padded form names the same entry
    client.write(update("DELETE", table_entry=te))
    assert (
        client.read(
            entity(table_entry=p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2")))
        )
        == []
    )
