"""PacketReplicationEngineEntry with hand-made protos: multicast groups and clone sessions,
checked against the packets they replicate."""

from __future__ import annotations

import grpc
from rt_harness import action, b, entity, fm_exact, frame, table_entry, update

from p4target.protos import p4runtime_pb2

C = grpc.StatusCode
P = p4runtime_pb2


def code(errs) -> int:
    return errs[0].canonical_code


# -- packet replication engine -------------------------------------------------------------------


def pre_mc(gid, *replicas, legacy=False):
    e = P.PacketReplicationEngineEntry()
    e.multicast_group_entry.multicast_group_id = gid
    for port, inst in replicas:
        if legacy:
            e.multicast_group_entry.replicas.add(egress_port=port, instance=inst)
        else:
            e.multicast_group_entry.replicas.add(port=b(port), instance=inst)
    return e


def pre_clone(sid, *replicas, length=0):
    e = P.PacketReplicationEngineEntry()
    e.clone_session_entry.session_id = sid
    e.clone_session_entry.packet_length_bytes = length
    for port, inst in replicas:
        e.clone_session_entry.replicas.add(port=b(port), instance=inst)
    return e


def test_multicast_groups(client, switch, rt_prog):
    flood = table_entry(
        rt_prog.table_id("FIngress.l2"),
        [fm_exact(1, b(0xFFFFFFFFFFFF))],
        action(rt_prog.action_id("FIngress.flood"), b(4)),
    )
    client.write(
        update("INSERT", table_entry=flood),
        update("INSERT", packet_replication_engine_entry=pre_mc(4, (1, 1), (2, 1))),
    )
    switch.port(3).send(frame(dst="ff:ff:ff:ff:ff:ff"))
    assert [len(switch.port(p).received) for p in (1, 2, 3, 4)] == [1, 1, 0, 0]
    client.write(
        update("MODIFY", packet_replication_engine_entry=pre_mc(4, (3, 0), (4, 0), legacy=True))
    )
    (got,) = client.read(entity(packet_replication_engine_entry=pre_mc(0)))
    assert got.packet_replication_engine_entry == pre_mc(4, (3, 0), (4, 0), legacy=True)
    switch.port(1).send(frame(dst="ff:ff:ff:ff:ff:ff"))
    assert [len(switch.port(p).received) for p in (3, 4)] == [1, 1]
    bad = [
        (update("INSERT", packet_replication_engine_entry=pre_mc(4, (1, 0))), C.ALREADY_EXISTS),
        (update("MODIFY", packet_replication_engine_entry=pre_mc(5, (1, 0))), C.NOT_FOUND),
        (
            update("INSERT", packet_replication_engine_entry=pre_mc(6, (1, 0), (1, 0))),
            C.INVALID_ARGUMENT,
        ),
        (
            update("INSERT", packet_replication_engine_entry=pre_mc(0x8001, (1, 0))),
            C.INVALID_ARGUMENT,
        ),
    ]
    for u, c in bad:
        _, errs = client.write_error(u)
        assert code(errs) == c.value[0]
    client.write(update("DELETE", packet_replication_engine_entry=pre_mc(4)))
    assert client.read(entity(packet_replication_engine_entry=pre_mc(0))) == []


def test_clone_sessions(client, switch, rt_prog):
    mirror = table_entry(
        rt_prog.table_id("FIngress.l2"),
        [fm_exact(1, b(0xE0))],
        action(rt_prog.action_id("FIngress.mirror"), b(11), b(1)),
    )
    session = pre_clone(11, (3, 0), (4, 7), length=20)
    client.write(
        update("INSERT", table_entry=mirror),
        update("INSERT", packet_replication_engine_entry=session),
    )
    pkt = frame(dst="00:00:00:00:00:e0")
    switch.port(2).send(pkt)
    assert list(switch.port(1).received) == [pkt]
    assert list(switch.port(3).received) == [pkt[:20]] and list(switch.port(4).received) == [
        pkt[:20]
    ]
    (got,) = client.read(entity(packet_replication_engine_entry=pre_clone(0)))
    assert got.packet_replication_engine_entry == session
    client.write(update("MODIFY", packet_replication_engine_entry=pre_clone(11, (2, 0))))
    switch.port(3).send(pkt)
    assert list(switch.port(2).received) == [pkt]
    assert 0x8000 + 11 not in switch.mc_groups()  # single replica: no internal group
    _, errs = client.write_error(
        update("INSERT", packet_replication_engine_entry=pre_clone(11, (2, 0)))
    )
    assert code(errs) == C.ALREADY_EXISTS.value[0]
    client.write(update("DELETE", packet_replication_engine_entry=pre_clone(11)))
    _, errs = client.write_error(update("DELETE", packet_replication_engine_entry=pre_clone(11)))
    assert code(errs) == C.NOT_FOUND.value[0]
    assert client.read(entity(packet_replication_engine_entry=pre_clone(0))) == []


def test_clone_session_class_of_service(client, switch, rt_prog):
    mirror = table_entry(
        rt_prog.table_id("FIngress.l2"),
        [fm_exact(1, b(0xE0))],
        action(rt_prog.action_id("FIngress.mirror"), b(11), b(1)),
    )
    session = pre_clone(11, (3, 0))
    session.clone_session_entry.class_of_service = 2
    client.write(
        update("INSERT", table_entry=mirror),
        update("INSERT", packet_replication_engine_entry=session),
    )
    (got,) = client.read(entity(packet_replication_engine_entry=pre_clone(0)))
    assert got.packet_replication_engine_entry == session
    assert switch.mirroring_get(11).cos == 2
    pkt = frame(dst="00:00:00:00:00:e0")
    switch.port(2).send(pkt)
    # the test switch has one queue per port, so a clone of class 2 is dropped by the traffic
    # manager (as simple_switch drops a priority beyond its queues); the original goes out
    assert list(switch.port(1).received) == [pkt] and list(switch.port(3).received) == []
    assert switch.stats()["drops"]["priority_out_of_range"] == 1
    bad = pre_clone(11, (3, 0))
    bad.clone_session_entry.class_of_service = 8
    _, errs = client.write_error(update("MODIFY", packet_replication_engine_entry=bad))
    assert code(errs) == C.INVALID_ARGUMENT.value[0]
    assert switch.mirroring_get(11).cos == 2
