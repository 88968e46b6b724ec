"""The P4Runtime client against embedded switches behind real P4Runtime servers: arbitration,
pipeline and cookie, entries of every match kind read back equal, registers and counters,
refused writes (the spec's codes, nothing changed), batching, packet-out and packet-in."""

from __future__ import annotations

import queue
import threading

import pytest
from embedded_switch import (
    classify,
    policy_register,
    route,
    sample_entries,
    start_switch,
)
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane.entries import Exact, Lpm, RegisterValue, Ternary, entry, ip6
from controlplane.p4info import P4InfoIndex, UnknownName
from controlplane.p4rt import (
    NotPrimary,
    P4RuntimeClient,
    PipelineError,
    SwitchUnavailable,
    WriteError,
    program_cookie,
)
from controlplane.program import Program
from traces.aisid import AISID
from traces.constants import CPU_PORT, PacketOutMode, PuntReason
from traces.layers import Probe
from traces.packets import aisid_udp_request, probe_request


@pytest.fixture
def client(served, cpn_program):
    c = P4RuntimeClient(served.address, 1, election_id=1, timeout_s=3)
    c.connect()
    c.set_pipeline(cpn_program, cookie=program_cookie(cpn_program))
    yield c
    c.close()


def canon(c: P4RuntimeClient, entries):
    return sorted((c.index.canonical(e) for e in entries), key=repr)


def read_all(c: P4RuntimeClient):
    return sorted(c.read_entries(), key=repr)


# ------------------------------------------------------------------------------ arbitration
def test_arbitration_primary_backup_and_reclaim(served, cpn_program):
    a = P4RuntimeClient(served.address, 1, election_id=1, timeout_s=3)
    a.connect()
    assert a.connected and a.is_primary and a.arbitration_status == "OK"
    a.set_pipeline(cpn_program, cookie=7)
    lost = threading.Event()
    a.on_arbitration(lambda primary: None if primary else lost.set())
    b = P4RuntimeClient(served.address, 1, election_id=2, timeout_s=3)
    b.connect()
    assert b.is_primary
    b_lost = threading.Event()
    b.on_arbitration(lambda primary: None if primary else b_lost.set())
    assert lost.wait(3) and not a.is_primary and a.arbitration_status == "ALREADY_EXISTS"
    with pytest.raises(NotPrimary, match="backup"):
        a.write([("modify", policy_register(1))])
    with pytest.raises(NotPrimary):
        a.packet_out(b"x")
    b.write([("modify", policy_register(2))])  # the new primary writes
    assert a.read_register("CpnIngress.active_policy_version") == {0: 2}  # backups read
    # a third controller with an election id already in use is refused
    dup = P4RuntimeClient(served.address, 1, election_id=2, timeout_s=3)
    with pytest.raises(SwitchUnavailable, match="election id 2 is used"):
        dup.connect()
    assert not dup.connected
    # a takes primacy back with an id above the highest the switch has seen
    assert a.reclaim() and a.is_primary and a.election_id == 3
    assert b_lost.wait(3) and not b.is_primary
    with pytest.raises(NotPrimary):
        b.write([("modify", policy_register(9))])
    a.write([("modify", policy_register(3))])
    assert a.read_register("CpnIngress.active_policy_version", 0) == {0: 3}
    b.close()
    a.close()
    assert not a.connected


def test_unreachable_switch_raises_switch_unavailable():
    c = P4RuntimeClient("127.0.0.1:1", 1, timeout_s=2)
    with pytest.raises(SwitchUnavailable, match="cannot connect"):
        c.connect()
    with pytest.raises(SwitchUnavailable, match="not connected"):
        c.read_entries()


def test_disconnect_is_detected(cpn_program):
    s = start_switch()
    c = P4RuntimeClient(s.address, 1, timeout_s=3)
    c.connect()
    gone = threading.Event()
    c.on_disconnect(gone.set)
    s.stop()
    assert gone.wait(5) and not c.connected and not c.is_primary
    with pytest.raises(SwitchUnavailable):
        c.write([("modify", policy_register(1))])


# --------------------------------------------------------------------------------- pipeline
def test_pipeline_push_and_cookie(served, cpn_program):
    c = P4RuntimeClient(served.address, 1, timeout_s=3)
    c.connect()
    assert c.pipeline_cookie() is None  # no pipeline yet
    # a packet-out before any pipeline: the switch answers with a stream error
    errs: queue.Queue = queue.Queue()
    c.on_stream_error(lambda code, msg: errs.put((code, msg)))
    c.use_p4info(cpn_program.p4info)
    c.packet_out(b"x")
    refused = ("FAILED_PRECONDITION", "no forwarding pipeline config set")
    assert errs.get(timeout=3) == refused
    assert c.connected and list(c.stream_errors) == [refused]
    with pytest.raises(WriteError, match="FAILED_PRECONDITION") as exc:  # the whole RPC refused
        c.write([("insert", route("fd00:1::/64", 1)), ("modify", policy_register(1))])
    assert [(i, code) for i, code, _ in exc.value.errors] == [
        (0, "FAILED_PRECONDITION"),
        (1, "FAILED_PRECONDITION"),
    ]
    cookie = program_cookie(cpn_program)
    assert cookie == program_cookie(cpn_program) and 0 < cookie < 1 << 64
    c.set_pipeline(cpn_program, cookie=cookie)
    assert c.pipeline_cookie() == cookie
    # a client that was given no P4Info fetches the switch's
    c.write([("insert", sample_entries()[0])])
    other = P4RuntimeClient(served.address, 1, election_id=5, timeout_s=3)
    other.connect()
    assert other.index is None
    assert other.read_entries() == canon(c, sample_entries()[:1])
    # a program the switch refuses: INVALID_ARGUMENT, the running pipeline and state stay
    bad = Program("{not json", cpn_program.p4info, "broken")
    with pytest.raises(PipelineError, match="INVALID_ARGUMENT") as exc:
        other.set_pipeline(bad, cookie=1)
    assert exc.value.code == "INVALID_ARGUMENT"
    assert other.pipeline_cookie() == cookie and len(other.read_entries()) == 1
    with pytest.raises(ValueError, match="unknown pipeline action"):
        other.set_pipeline(cpn_program, cookie=1, action="PUSH")
    other.close()
    c.close()


# ---------------------------------------------------------------------------------- entries
def test_entries_of_every_match_kind_read_back_equal(client):
    es = sample_entries()
    client.write([("insert", e) for e in es])
    assert read_all(client) == canon(client, es)
    # wildcards are omitted on the wire and come back omitted
    idx = client.index
    pb = idx.encode_entry(classify(11, 1, (0, 0xFFFF), priority=20))
    names = {f.id: f.name for f in idx.table("CpnIngress.aisid.classify").fields}
    assert sorted(names[m.field_id] for m in pb.match) == [
        "function",
        "object",
        "policy_version",
        "prefix",
    ]
    assert pb.priority == 20
    # canonical byte strings: shortest form, one byte for zero
    pb = idx.encode_entry(es[4])  # egw.nodes node_id 0
    assert pb.match[0].exact.value == b"\x00"
    assert pb.action.action.params[0].value == ip6("fd01:4::1").to_bytes(16, "big")
    assert len(idx.encode_entry(route("::/0", 3)).match) == 0  # LPM /0 = don't care
    # an LPM value with host bits is written masked and read back masked
    sloppy = entry(
        "CpnIngress.routing.ipv6_routes",
        {"dst_addr": Lpm(ip6("fd00:9::1234"), 64)},
        "CpnIngress.routing.no_route",
    )
    client.write([("insert", sloppy)])
    [got] = [
        e
        for e in client.read_entries("CpnIngress.routing.ipv6_routes")
        if e.action.endswith("no_route")
    ]
    assert got.match_dict["dst_addr"] == Lpm(ip6("fd00:9::"), 64) and got == idx.canonical(sloppy)
    # modify (same key, other action data) then delete
    moved = route("fd00:1::/64", 2, dst_mac="02:00:00:00:00:09")
    client.write([("modify", moved), ("delete", es[6]), ("delete", sloppy)])
    want = canon(client, [moved if e.key() == moved.key() else e for e in es if e != es[6]])
    assert read_all(client) == want
    assert client.read_entries("CpnIngress.aisid.classify") == canon(client, [es[7]])
    assert client.updates_written == len(es) + 1 + 3


def test_register_write_read_and_counter_read(client, served):
    client.write(
        [
            ("modify", policy_register(5)),
            ("modify", RegisterValue("CpnIngress.egw.connections", 7, 42)),
        ]
    )
    assert client.read_register("CpnIngress.active_policy_version") == {0: 5}
    conns = client.read_register("CpnIngress.egw.connections")
    assert len(conns) == 256 and conns[7] == 42 and sum(conns.values()) == 42
    assert client.read_register("CpnIngress.egw.connections", 7) == {7: 42}
    # two frames into port 2: port_rx[2] counts them (bytes, packets)
    frame = bytes(Ether() / IPv6(src="fd00:1::1", dst="fd00:9::1"))
    served.ports[2].send(frame)
    served.ports[2].send(frame)
    assert client.read_counter("CpnIngress.telemetry.port_rx", 2) == {2: (2 * len(frame), 2)}
    assert client.read_counter("CpnIngress.telemetry.port_rx")[1] == (0, 0)
    with pytest.raises(UnknownName, match="unknown register 'nope'"):
        client.read_register("nope")


# ------------------------------------------------------------------------------ bad writes
def test_refused_writes_raise_write_error_and_change_nothing(client):
    es = sample_entries()
    client.write([("insert", e) for e in es])
    before = read_all(client)
    # duplicate insert: ALREADY_EXISTS for that update
    with pytest.raises(WriteError, match="ALREADY_EXISTS") as exc:
        client.write([("insert", es[1])])
    assert exc.value.errors == [(0, "ALREADY_EXISTS", exc.value.errors[0][2])]
    assert exc.value.code == "ALREADY_EXISTS" and exc.value.failed[0][1] == es[1]
    # a parameter wider than its field (port is bit<9>): OUT_OF_RANGE
    with pytest.raises(WriteError, match="OUT_OF_RANGE.*port") as exc:
        client.write([("insert", route("fd00:7::/64", 600))])
    # modify / delete of an entry the switch does not hold: NOT_FOUND
    with pytest.raises(WriteError) as exc:
        client.write([("modify", route("fd00:8::/64", 1)), ("delete", route("fd00:8::/64", 1))])
    assert [(i, c) for i, c, _ in exc.value.errors] == [(0, "NOT_FOUND"), (1, "NOT_FOUND")]
    # ROLLBACK_ON_ERROR: the good update is not applied either (ABORTED), the bad one says why
    with pytest.raises(WriteError) as exc:
        client.write(
            [("insert", route("fd00:6::/64", 1)), ("insert", es[2])], atomicity="ROLLBACK_ON_ERROR"
        )
    assert [(i, c) for i, c, _ in exc.value.errors] == [(0, "ABORTED"), (1, "ALREADY_EXISTS")]
    assert exc.value.code == "ALREADY_EXISTS"
    assert read_all(client) == before
    # CONTINUE_ON_ERROR: the others are applied, the failed one is reported by index
    with pytest.raises(WriteError) as exc:
        client.write(
            [
                ("insert", route("fd00:6::/64", 1)),
                ("insert", es[2]),
                ("insert", route("fd00:5::/64", 1)),
            ]
        )
    assert [(i, c) for i, c, _ in exc.value.errors] == [(1, "ALREADY_EXISTS")]
    assert len(client.read_entries()) == len(before) + 2


def test_bad_input_is_refused_before_anything_is_sent(client):
    n = client.updates_written
    good = route("fd00:4::/64", 1)
    cases = [
        (entry("CpnIngress.nope", {"x": 1}, "NoAction"), "unknown table 'CpnIngress.nope'"),
        (
            entry("CpnIngress.egw.nodes", {}, "CpnIngress.egw.set_node_address", {"address": 1}),
            "exact match field node_id is missing",
        ),  # fmt: skip
        (
            entry(
                "CpnIngress.egw.nodes",
                {"node_id": 1, "zz": 2},
                "CpnIngress.egw.set_node_address",
                {"address": 1},
            ),
            r"unknown match field\(s\) \['zz'\]",
        ),  # fmt: skip
        (
            entry(
                "CpnIngress.egw.nodes",
                {"node_id": Lpm(1, 8)},
                "CpnIngress.egw.set_node_address",
                {"address": 1},
            ),
            "node_id is a exact match, got Lpm",
        ),  # fmt: skip
        (
            entry("CpnIngress.egw.nodes", {"node_id": 1}, "CpnIngress.egw.set_node_address", {}),
            "parameter address is missing",
        ),  # fmt: skip
        (
            entry(
                "CpnIngress.egw.nodes",
                {"node_id": 1},
                "CpnIngress.egw.set_node_address",
                {"address": 1, "port": 2},
            ),
            "unknown parameter",
        ),  # fmt: skip
        (
            entry(
                "CpnIngress.egw.nodes",
                {"node_id": -1},
                "CpnIngress.egw.set_node_address",
                {"address": 1},
            ),
            "negative value",
        ),  # fmt: skip
        (classify(10, 1, (1, 2), priority=0), "need a priority > 0"),
        (
            entry(
                "CpnIngress.egw.nodes",
                {"node_id": 1},
                "CpnIngress.egw.set_node_address",
                {"address": 1},
                priority=3,
            ),
            "take no priority",
        ),  # fmt: skip
    ]
    for bad, msg in cases:
        with pytest.raises(ValueError, match=msg):
            client.write([("insert", good), ("insert", bad)])
    with pytest.raises(ValueError, match="update 0: unknown operation 'upsert'"):
        client.write([("upsert", good)])
    with pytest.raises(ValueError, match="registers can only be modified"):
        client.write([("insert", policy_register(1))])
    with pytest.raises(ValueError, match="index 1 not in"):
        client.write([("modify", RegisterValue("CpnIngress.active_policy_version", 1, 1))])
    with pytest.raises(ValueError, match="unknown atomicity"):
        client.write([("insert", good)], atomicity="ATOMIC")
    assert client.updates_written == n and client.read_entries() == []


def test_large_writes_go_in_batches(served, cpn_program):
    c = P4RuntimeClient(served.address, 1, timeout_s=3, max_batch=100)
    c.connect()
    c.set_pipeline(cpn_program, cookie=1)
    calls = []
    stub = c._conn.stub
    real = stub.Write
    stub.Write = lambda req, **kw: (calls.append(len(req.updates)), real(req, **kw))[1]
    es = [route(f"fd00:{i:x}::/32", 1) for i in range(250)]
    es[170] = route("fd00:aa::/32", 600)  # too wide a port: refused
    with pytest.raises(WriteError) as exc:
        c.write([("insert", e) for e in es])
    assert calls == [100, 100, 50]  # CONTINUE_ON_ERROR: every batch is tried
    assert [(i, code) for i, code, _ in exc.value.errors] == [(170, "OUT_OF_RANGE")]
    assert c.updates_written == 249 and len(c.read_entries()) == 249
    calls.clear()
    c.write([("delete", e) for e in es if e is not es[170]], atomicity="ROLLBACK_ON_ERROR")
    assert calls == [249]  # atomic writes: one request
    assert c.read_entries() == []
    c.close()


# ------------------------------------------------------------------------- packet in / out
def test_packet_in_and_packet_out(client, served):
    got: queue.Queue = queue.Queue()
    client.on_packet_in(lambda payload, meta: got.put((payload, meta)))
    client.write(
        [
            ("insert", sample_entries()[0]),  # the AISID /48 is served here
            ("modify", RegisterValue("CpnEgress.telemetry.switch_id", 0, 7)),
        ]
    )
    unknown = AISID.from_fields("2001:db8:abcd:1::/64", 9, 9, 9, 9)
    # an unknown AISID from port 1 is punted with its ingress port and reason, unchanged
    req = bytes(aisid_udp_request(unknown, src="fd00:1::10", payload=b"?"))
    served.ports[1].send(req)
    payload, meta = got.get(timeout=3)
    assert payload == req and meta == {"ingress_port": 1, "reason": PuntReason.UNKNOWN_AISID}
    # a probe sent out of port 2 (DIRECT) carries this switch's hop record
    probe = probe_request(unknown, seq=42)
    client.packet_out(bytes(probe), egress_port=2, mode=PacketOutMode.DIRECT)
    out = served.ports[2].received
    for _ in range(100):
        if out:
            break
        threading.Event().wait(0.02)  # the stream delivers asynchronously
    p = Ether(out[0])[Probe]
    assert (p.seq, p.hop_count, p.hops[0].switch_id, p.hops[0].egress_port) == (42, 1, 7, 2)
    # a probe injected into the pipeline towards an unknown AISID comes back as a packet-in
    client.packet_out(bytes(probe), mode=PacketOutMode.INJECT)
    payload, meta = got.get(timeout=3)
    assert meta == {"ingress_port": CPU_PORT, "reason": PuntReason.UNKNOWN_AISID}
    p = Ether(payload)[Probe]
    assert (p.seq, p.hops[0].switch_id, p.hops[0].ingress_port) == (42, 7, CPU_PORT)
    with pytest.raises(UnknownName, match="packet_out metadata"):
        client.packet_out(b"x", port=1)


def test_p4info_index_names_and_decode(cpn_program: Program):
    idx = P4InfoIndex(cpn_program.p4info)
    assert idx.table_id("CpnIngress.aisid.classify") == idx.table("CpnIngress.aisid.classify").id
    assert idx.action_id("CpnIngress.routing.route") and idx.counter_id(
        "CpnIngress.telemetry.port_rx"
    )
    assert idx.register_id("CpnIngress.active_policy_version")
    with pytest.raises(KeyError):
        idx.action_id("nope")
    for e in sample_entries():
        assert idx.decode_entry(idx.encode_entry(e)) == idx.canonical(e)
    t = entry("CpnIngress.cqf.flow_offsets", {"policy_version": 2, "src_addr": Ternary(0xFF, 0xF0),
              "flow_label": Ternary(0, 0)}, "CpnIngress.cqf.set_offset", {"offset": 0}, priority=4)  # fmt: skip
    back = idx.decode_entry(idx.encode_entry(t))
    assert back.match == (("policy_version", Exact(2)), ("src_addr", Ternary(0xF0, 0xF0)))
    po = idx.packet_out(b"abc", egress_port=3)
    assert [(m.metadata_id, m.value) for m in po.metadata] == [(1, b"\x03"), (2, b"\x00")]
