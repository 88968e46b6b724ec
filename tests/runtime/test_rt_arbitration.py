"""StreamChannel arbitration (election ids, primary/backup advisories per device and role),
packet-out permissions and stream errors."""

from __future__ import annotations

import grpc
import pytest
from rt_harness import Client, b, frame, update

from p4target.protos import p4runtime_pb2

C = grpc.StatusCode
OK, ALREADY_EXISTS, NOT_FOUND = 0, 6, 5


def status(msg) -> int:
    return msg.arbitration.status.code


def eid(msg) -> int:
    e = msg.arbitration.election_id
    return (e.high << 64) | e.low


@pytest.fixture
def clients(server):
    made = []

    def make(*a, **kw):
        c = Client(server.address, *a, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_primary_backup_and_advisories(clients):
    a = clients(1, arbitrate=False)
    r = a.arbitrate(1)
    assert status(r) == OK and eid(r) == 1
    b_ = clients(1, arbitrate=False)
    r = b_.arbitrate(2)  # higher: new primary
    assert status(r) == OK and eid(r) == 2
    r = a.get("arbitration")  # the old primary is told
    assert status(r) == ALREADY_EXISTS and eid(r) == 2
    c = clients(1, arbitrate=False)
    r = c.arbitrate(1 << 70)  # 128-bit election ids
    assert status(r) == OK and eid(r) == 1 << 70
    assert status(a.get("arbitration")) == ALREADY_EXISTS
    assert status(b_.get("arbitration")) == ALREADY_EXISTS
    low = clients(1, arbitrate=False)
    r = low.arbitrate(5)  # backup: only it hears about it
    assert status(r) == ALREADY_EXISTS and eid(r) == 1 << 70
    assert a.get("arbitration", timeout=0.2) is None

    c.close()  # the primary leaves: everyone learns there is no primary
    for x in (a, b_, low):
        r = x.get("arbitration")
        assert status(r) == NOT_FOUND and eid(r) == 1 << 70
    r = low.arbitrate(1 << 70)  # the same id (as a restarted primary would) wins again
    assert status(r) == OK
    assert status(a.get("arbitration")) == ALREADY_EXISTS
    assert status(b_.get("arbitration")) == ALREADY_EXISTS
    r = low.arbitrate(1 << 70)  # the primary re-sends its id (a stream barrier): only it hears
    assert status(r) == OK and eid(r) == 1 << 70
    assert a.get("arbitration", timeout=0.2) is None and b_.get("arbitration", timeout=0) is None

    r = low.arbitrate(3)  # the primary downgrades itself: all advised, no primary
    assert status(r) == NOT_FOUND
    assert status(a.get("arbitration")) == NOT_FOUND
    assert status(b_.get("arbitration")) == NOT_FOUND


def test_unset_election_id_never_primary(clients):
    a = clients(1, arbitrate=False)
    r = a.arbitrate(None)
    assert status(r) == NOT_FOUND and not r.arbitration.HasField("election_id")
    b_ = clients(1, election=1)
    assert status(a.get("arbitration")) == ALREADY_EXISTS
    assert b_ is not None


def test_invalid_arbitrations_end_the_stream(clients):
    clients(1, election=4)
    dup = clients(1, arbitrate=False)
    assert dup.arbitrate(4) is None
    assert dup.stream_error.code() == C.INVALID_ARGUMENT
    nodev = clients(42, arbitrate=False)
    assert nodev.arbitrate(1) is None
    assert nodev.stream_error.code() == C.NOT_FOUND
    moved = clients(1, election=9)
    assert moved.arbitrate(9, device_id=2) is None
    assert moved.stream_error.code() == C.FAILED_PRECONDITION
    cfg = clients(1, arbitrate=False)
    m = p4runtime_pb2.StreamMessageRequest()
    m.arbitration.device_id = 1
    m.arbitration.role.name = "r"
    m.arbitration.role.config.Pack(p4runtime_pb2.Uint128(low=1))
    cfg.send(m)
    assert cfg.get("arbitration") is None
    assert cfg.stream_error.code() == C.INVALID_ARGUMENT


def test_roles_have_their_own_primary(clients, rt_prog):
    default = clients(1, election=1)
    default.set_pipeline(rt_prog)
    r1 = clients(1, arbitrate=False, role="r1")
    r = r1.arbitrate(1)  # same election id, other role: allowed, primary of r1
    assert status(r) == OK and r.arbitration.role.name == "r1"
    assert default.get("arbitration", timeout=0.2) is None
    te = p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2"))
    te.match.add(field_id=1).exact.value = b"\x05"
    te.action.action.action_id = rt_prog.action_id("FIngress.drop")
    r1.write(update("INSERT", table_entry=te))
    ghost = clients(1, arbitrate=False, role="nobody")
    ghost.election = 1
    with pytest.raises(grpc.RpcError) as exc:
        ghost.write(update("DELETE", table_entry=te))
    assert exc.value.code() == C.NOT_FOUND


def test_backup_cannot_set_pipeline_or_write(clients, rt_prog, switch):
    primary = clients(1, election=10)
    primary.set_pipeline(rt_prog)
    backup = clients(1, election=3)
    with pytest.raises(grpc.RpcError) as exc:
        backup.set_pipeline(rt_prog)
    assert exc.value.code() == C.PERMISSION_DENIED
    te = p4runtime_pb2.TableEntry(table_id=rt_prog.table_id("FIngress.l2"))
    te.match.add(field_id=1).exact.value = b"\x05"
    te.action.action.action_id = rt_prog.action_id("FIngress.drop")
    with pytest.raises(grpc.RpcError) as exc:
        backup.write(update("INSERT", table_entry=te))
    assert exc.value.code() == C.PERMISSION_DENIED
    assert switch.table_entries("FIngress.l2") == []
    # backups may read
    got = backup.read(p4runtime_pb2.Entity(table_entry=p4runtime_pb2.TableEntry()))
    assert [e.table_entry.is_const for e in got] == [True, True]  # dscp's const entries


def test_packet_out_permissions_and_stream_errors(clients, rt_prog, switch):
    primary = clients(1, election=10)
    primary.set_pipeline(rt_prog)
    backup = clients(1, election=3)
    pkt = frame()
    backup.packet_out(pkt, {1: b(2), 2: b(0)})
    err = backup.get("error")
    assert err.error.canonical_code == C.PERMISSION_DENIED.value[0]
    assert err.error.packet_out.packet_out.payload == pkt
    primary.packet_out(pkt, {1: b(2)})  # metadata 2 missing
    assert primary.get("error").error.canonical_code == C.INVALID_ARGUMENT.value[0]
    primary.packet_out(pkt, {1: b(2), 2: b(0), 7: b(1)})  # unknown id
    assert primary.get("error").error.canonical_code == C.INVALID_ARGUMENT.value[0]
    primary.packet_out(pkt, {1: b(600), 2: b(0)})  # egress_port is 9 bits
    assert primary.get("error").error.canonical_code == C.INVALID_ARGUMENT.value[0]
    assert not switch.port(2).received
    ack = p4runtime_pb2.StreamMessageRequest()
    ack.digest_ack.digest_id = 12345
    primary.send(ack)
    e = primary.get("error").error
    assert e.canonical_code == C.INVALID_ARGUMENT.value[0] and e.HasField("digest_list_ack")
    primary.packet_out(pkt, {1: b(2), 2: b(0)})
    assert primary.get("error", timeout=0.3) is None
    assert list(switch.port(2).received) == [pkt]
