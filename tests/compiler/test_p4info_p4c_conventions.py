"""P4Info details that follow what p4c writes: the initial default action of every table
(with its action data at full width), and inline action profiles named by the property's
@name."""

from __future__ import annotations

from pathlib import Path

from p4target.compiler import compile_source

PROG = """
#include <core.p4>
#include <v1model.p4>
header h_t { bit<16> k; bit<32> a; }
struct headers_t { h_t h; }
struct meta_t { bit<32> sel; }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control C(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    action set(bit<32> va, bit<9> port) { hdr.h.a = va; sm.egress_spec = port; }
    action nop() { }
    table with_data {
        key = { hdr.h.k : exact; }
        actions = { set; nop; }
        const default_action = set(10, 3);
    }
    table implicit {
        key = { hdr.h.k : exact; }
        actions = { nop; }
    }
    table profiled {
        key = { hdr.h.k : exact; }
        actions = { set; nop; }
        @name("shared_ap") implementation = action_profile(32w64);
    }
    table selected {
        key = { hdr.h.k : exact; meta.sel : selector; }
        actions = { set; nop; }
        implementation = action_selector(HashAlgorithm.crc16, 32w16, 32w8);
    }
    apply { with_data.apply(); implicit.apply(); profiled.apply(); selected.apply(); }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), C(), I(), E(), C(), D()) main;
"""


def _by_name(objs):  # type: ignore[no-untyped-def]
    return {o.preamble.name: o for o in objs}


def test_initial_default_action_carries_the_action_data() -> None:
    info = compile_source(PROG, "p.p4").p4info
    tables, actions = _by_name(info.tables), _by_name(info.actions)
    t = tables["I.with_data"]
    assert t.const_default_action_id == actions["I.set"].preamble.id
    ida = t.initial_default_action
    assert ida.action_id == actions["I.set"].preamble.id
    assert [(a.param_id, a.value) for a in ida.arguments] == [
        (1, b"\x00\x00\x00\x0a"),  # bit<32> at full width, as p4c writes it
        (2, b"\x00\x03"),  # bit<9>: 2 bytes
    ]
    implicit = tables["I.implicit"]
    assert implicit.initial_default_action.action_id == actions["NoAction"].preamble.id
    assert not implicit.initial_default_action.arguments
    assert implicit.const_default_action_id == 0


def test_inline_profiles_take_the_property_name() -> None:
    r = compile_source(PROG, "p.p4")
    profiles = _by_name(r.p4info.action_profiles)
    assert "shared_ap" in profiles and "I.selected_impl" in profiles
    tables = _by_name(r.p4info.tables)
    assert tables["I.profiled"].implementation_id == profiles["shared_ap"].preamble.id
    assert profiles["shared_ap"].preamble.id >> 24 == 0x11
    assert not profiles["shared_ap"].with_selector and profiles["I.selected_impl"].with_selector
    json_profiles = {p["name"] for p in r.json["pipelines"][0]["action_profiles"]}
    assert {"shared_ap", "I.selected_impl"} <= json_profiles


def test_tables_with_entries_say_so() -> None:
    src = (Path(__file__).parents[1] / "p4" / "entry_priorities.p4").read_text()
    tables = _by_name(compile_source(src, "e.p4").p4info.tables)
    # 'entries' (mutable or const) -> has_initial_entries; only 'const entries' -> const table
    assert tables["Ing.smallest"].has_initial_entries
    assert not tables["Ing.smallest"].is_const_table
    assert tables["Ing.unwritten"].has_initial_entries and tables["Ing.unwritten"].is_const_table
    assert not _by_name(compile_source(PROG, "p.p4").p4info.tables)[
        "I.implicit"
    ].has_initial_entries


def test_entry_priorities_in_the_json() -> None:
    src = (Path(__file__).parents[1] / "p4" / "entry_priorities.p4").read_text()
    tables = {t["name"]: t for t in compile_source(src, "e.p4").json["pipelines"][0]["tables"]}

    def prios(name: str) -> list[int]:
        return [e["priority"] for e in tables[name]["entries"]]

    # BMv2 lets the smallest number win
    assert prios("Ing.smallest") == [10, 20, 15, 25]  # P4 priorities as they are
    assert prios("Ing.largest") == [1, 101, 51, 151]  # 1000, 900, 950, 850 turned round
    assert prios("Ing.unwritten") == [1, 8]
