"""P4Info: P4Runtime ids as p4c computes them, @id/@name/@hidden, table properties, externs,
controller headers, value sets, digests, type_info, output formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import text_format

from p4target.compiler import compile_file, compile_source
from p4target.compiler.p4info import SymbolTable, jenkins_hash, serialize
from p4target.protos import p4info_pb2

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def info():
    return compile_file(HERE / "p4info_program.p4").p4info


def by_name(items, name):
    return next(x for x in items if x.preamble.name == name)


def test_jenkins_hash_reference_values():
    # Jenkins one-at-a-time: "a" -> 0xca2e9442, "The quick brown fox jumps over the lazy dog"
    assert jenkins_hash("a") == 0xCA2E9442
    assert jenkins_hash("The quick brown fox jumps over the lazy dog") == 0x519E91F5


def test_ids_match_p4c_published_p4info():
    # ids p4c gives these names (p4lang tutorials basic.p4, p4c testdata basic_routing-bmv2)
    sym = SymbolTable()
    expected = {
        (0x01, "NoAction"): 21257015,
        (0x01, "MyIngress.drop"): 25652968,
        (0x01, "MyIngress.ipv4_forward"): 28792405,
        (0x02, "MyIngress.ipv4_lpm"): 37375156,
        (0x02, "ingress.bd"): 48392551,
        (0x02, "ingress.ipv4_fib"): 41084491,
        (0x02, "ingress.ipv4_fib_lpm"): 42875950,
        (0x02, "ingress.nexthop"): 43581057,
        (0x02, "ingress.port_mapping"): 39645634,
        (0x02, "egress.rewrite_mac"): 40309161,
        (0x01, "ingress.set_vrf"): 33505590,
        (0x01, "ingress.on_miss"): 22594144,
        (0x01, "ingress.fib_hit_nexthop"): 26104220,
        (0x01, "ingress.set_egress_details"): 19738113,
        (0x01, "ingress.set_bd"): 27500220,
        (0x01, "egress.on_miss"): 28864280,
        (0x01, "egress.rewrite_src_dst_mac"): 28966416,
    }
    for prefix, name in expected:
        sym.add(prefix, name)
    sym.compute()
    for (prefix, name), want in expected.items():
        assert sym.id(prefix, name) == want, name
    assert sym.alias("ingress.on_miss") == "ingress.on_miss"
    assert sym.alias("ingress.set_vrf") == "set_vrf"


def test_compiled_program_ids_match_p4c():
    src = (HERE.parent / "p4" / "router.p4").read_text()  # just to have a real program around
    assert "router.p4" in src
    tutorial = """
#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dstAddr; bit<48> srcAddr; bit<16> etherType; }
header ipv4_t { bit<96> pad; bit<32> srcAddr; bit<32> dstAddr; }
struct headers { ethernet_t ethernet; ipv4_t ipv4; }
struct metadata { }
parser MyParser(packet_in p, out headers hdr, inout metadata m, inout standard_metadata_t sm) {
    state start { p.extract(hdr.ethernet); p.extract(hdr.ipv4); transition accept; } }
control MyVerifyChecksum(inout headers hdr, inout metadata m) { apply { } }
control MyIngress(inout headers hdr, inout metadata m, inout standard_metadata_t sm) {
    action drop() { mark_to_drop(sm); }
    action ipv4_forward(bit<48> dstAddr, bit<9> port) { sm.egress_spec = port; hdr.ethernet.dstAddr = dstAddr; }
    table ipv4_lpm { key = { hdr.ipv4.dstAddr: lpm; } actions = { ipv4_forward; drop; NoAction; }
                     size = 1024; default_action = drop(); }
    apply { ipv4_lpm.apply(); } }
control MyEgress(inout headers hdr, inout metadata m, inout standard_metadata_t sm) { apply { } }
control MyComputeChecksum(inout headers hdr, inout metadata m) { apply { } }
control MyDeparser(packet_out p, in headers hdr) { apply { p.emit(hdr); } }
V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(), MyDeparser()) main;
"""
    info = compile_source(tutorial, "basic.p4").p4info
    assert {t.preamble.name: t.preamble.id for t in info.tables} == {"MyIngress.ipv4_lpm": 37375156}
    assert {a.preamble.name: a.preamble.id for a in info.actions} == {
        "NoAction": 21257015,
        "MyIngress.drop": 25652968,
        "MyIngress.ipv4_forward": 28792405,
    }
    t = info.tables[0]
    assert [r.id for r in t.action_refs] == [28792405, 25652968, 21257015]
    assert not t.const_default_action_id and t.size == 1024


def test_explicit_ids_and_probing(info):
    t1 = by_name(info.tables, "Ing.t1")
    t2 = by_name(info.tables, "Ing.t2")
    # t1 took t2's hash slot with @id, so t2 probed to the next value
    assert t1.preamble.id == 0x02000000 | (jenkins_hash("Ing.t2") & 0xFFFFFF)
    assert t2.preamble.id == t1.preamble.id + 1
    assert by_name(info.actions, "Ing.colour").preamble.id == 0x01000123
    fwd = by_name(info.actions, "Ing.fwd")
    assert [(p.id, p.name) for p in fwd.params] == [(1, "port"), (5, "tag")]
    for kind, prefix in (
        ("tables", 2),
        ("actions", 1),
        ("counters", 0x12),
        ("meters", 0x14),
        ("registers", 0x16),
        ("digests", 0x17),
        ("value_sets", 3),
        ("action_profiles", 0x11),
        ("direct_counters", 0x13),
        ("direct_meters", 0x15),
        ("controller_packet_metadata", 4),
    ):
        items = getattr(info, kind)
        assert items, kind
        assert all(x.preamble.id >> 24 == prefix for x in items), kind


def test_wrong_id_prefix_is_an_error():
    from p4target.compiler import CompileError

    src = (HERE / "p4info_program.p4").read_text().replace("@id(0x2061b41)", "@id(0x01000001)")
    with pytest.raises(CompileError, match="wrong 8-bit prefix"):
        compile_source(src, str(HERE / "x.p4"))


def test_table_properties(info):
    t1, t2, t3, t4 = (by_name(info.tables, f"Ing.t{i}") for i in range(1, 5))
    noaction = by_name(info.actions, "NoAction").preamble.id
    assert t1.const_default_action_id == noaction and t1.size == 100
    scopes = {r.id: r.scope for r in t1.action_refs}
    assert (
        scopes[by_name(info.actions, "Ing.colour").preamble.id] == p4info_pb2.ActionRef.TABLE_ONLY
    )
    assert scopes[noaction] == p4info_pb2.ActionRef.DEFAULT_ONLY
    assert [(m.name, m.match_type) for m in t2.match_fields] == [
        ("b", p4info_pb2.MatchField.TERNARY),
        ("hdr.h.c", p4info_pb2.MatchField.RANGE),
        ("hdr.h.a", p4info_pb2.MatchField.OPTIONAL),
        ("port", p4info_pb2.MatchField.EXACT),
    ]
    assert t2.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL
    assert sorted(t2.direct_resource_ids) == sorted(
        [info.direct_counters[0].preamble.id, info.direct_meters[0].preamble.id]
    )
    assert info.direct_counters[0].direct_table_id == t2.preamble.id
    assert [m.name for m in t3.match_fields] == ["hdr.h.a"]  # selector keys are not match fields
    sel = by_name(info.action_profiles, "Ing.sel")
    assert t3.implementation_id == sel.preamble.id and sel.with_selector and sel.size == 128
    assert list(sel.table_ids) == [t3.preamble.id]
    assert t4.is_const_table and not t3.is_const_table
    assert all(t.preamble.name != "Ing.hidden_table" for t in info.tables)
    assert all(a.preamble.name != "Ing.hidden_action" for a in info.actions)


def test_externs_and_types(info):
    assert (
        info.counters[0].spec.unit == p4info_pb2.CounterSpec.BYTES and info.counters[0].size == 64
    )
    assert info.direct_counters[0].spec.unit == p4info_pb2.CounterSpec.BOTH
    assert info.meters[0].spec.unit == p4info_pb2.MeterSpec.BYTES
    assert info.registers[0].type_spec.bitstring.bit.bitwidth == 16 and info.registers[0].size == 32
    d = info.digests[0]
    assert d.preamble.name == "learn_t" and d.type_spec.struct.name == "learn_t"
    members = info.type_info.structs["learn_t"].members
    assert [(m.name, m.type_spec.bitstring.bit.bitwidth) for m in members] == [("a", 8), ("b", 16)]
    nt = info.type_info.new_types["PortId_t"].translated_type
    assert (nt.uri, nt.sdn_bitwidth) == ("p4.org/psa/v1/PortId_t", 32)
    port = by_name(info.actions, "Ing.fwd").params[0]
    assert (port.bitwidth, port.type_name.name) == (32, "PortId_t")
    assert info.type_info.serializable_enums["Color_t"].members[1].value == b"\x02"
    pvs = by_name(info.value_sets, "P.pvs")
    assert pvs.size == 4 and [(m.name, m.bitwidth) for m in pvs.match] == [("x", 8), ("y", 8)]


def test_controller_headers_and_pkg_info(info):
    pin = next(c for c in info.controller_packet_metadata if c.preamble.name == "packet_in")
    assert pin.preamble.annotations == ['@controller_header("packet_in")']
    assert [(m.id, m.name, m.bitwidth) for m in pin.metadata] == [
        (1, "ingress_port", 9),
        (7, "pad", 7),
    ]
    assert info.pkg_info.name == "p4info_test" and info.pkg_info.version == "1.2"
    assert info.pkg_info.arch == "v1model" and info.pkg_info.doc.brief == "P4Info test program"
    fwd = by_name(info.actions, "Ing.fwd")
    assert fwd.preamble.doc.brief == "set egress port"


@pytest.mark.parametrize("ext", [".txt", ".txtpb", ".json", ".bin"])
def test_output_formats_round_trip(info, tmp_path, ext):
    path = str(tmp_path / f"p4info{ext}")
    data = serialize(info, path)
    back = p4info_pb2.P4Info()
    if ext == ".bin":
        back.ParseFromString(data)
    elif ext == ".json":
        from google.protobuf import json_format

        json_format.Parse(data, back)
        assert json.loads(data)["tables"]
    else:
        text_format.Parse(data, back)
    assert back == info
