"""The embedded compiler's JSON passes the checks real simple_switch makes when it loads a
program (tests/compiler/bmv2_loader_rules.py restates them), for every program we ship."""

from __future__ import annotations

from pathlib import Path

import pytest
from bmv2_loader_rules import problems

from p4target.compiler import compile_file, compile_source

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted((ROOT / "tests" / "p4").glob("*.p4")) + sorted((ROOT / "p4src").glob("*.p4"))
INCLUDES = [str(ROOT / "tests" / "p4" / "include"), str(ROOT / "p4src" / "include")]


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_programs_load_in_simple_switch(path: Path) -> None:
    j = compile_file(str(path), include_dirs=INCLUDES).json
    assert problems(j) == []


SUBPARSER_LAST = """
#include <core.p4>
#include <v1model.p4>
header e_t { bit<8> kind; bit<8> nxt; }
struct headers_t { e_t[3] s; }
struct meta_t { bit<8> nxt; }
parser Sub(packet_in pkt, inout headers_t hdr, out bit<8> nxt) {
    state start {
        pkt.extract(hdr.s.next);
        nxt = hdr.s.last.nxt;
        transition accept;
    }
}
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    Sub() sub;
    state start {
        sub.apply(pkt, hdr, meta.nxt);
        transition select(meta.nxt) { 1: more; default: accept; }
    }
    state more {
        pkt.extract(hdr.s.next);
        meta.nxt = hdr.s.last.nxt + 1;
        transition accept;
    }
}
control C(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { sm.egress_spec = (bit<9>)meta.nxt; }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr); } }
V1Switch(P(), C(), I(), E(), C(), D()) main;
"""


def test_parser_set_from_a_stack_last_field_is_an_expression() -> None:
    # BMv2's parser 'set' takes a field, a constant, a lookahead or an expression: a stack's
    # last field (a 'stack_field') must come wrapped in an expression
    j = compile_source(SUBPARSER_LAST, "sub.p4").json
    assert problems(j) == []
    sets = [
        op for s in j["parsers"][0]["parse_states"] for op in s["parser_ops"] if op["op"] == "set"
    ]
    assert sets and all(op["parameters"][1]["type"] in ("field", "expression") for op in sets)
    wrapped = [
        op["parameters"][1]["value"] for op in sets if op["parameters"][1]["type"] == "expression"
    ]
    assert {"type": "stack_field", "value": ["s", "nxt"]} in wrapped


def test_the_rules_catch_what_the_loader_refuses() -> None:
    j = compile_source(SUBPARSER_LAST, "sub.p4").json
    state = next(s for s in j["parsers"][0]["parse_states"] if s["transition_key"])
    state["transitions"][0]["value"] = "0x0001"  # 2 bytes for a 1-byte key
    for s in j["parsers"][0]["parse_states"]:
        for op in s["parser_ops"]:
            if op["op"] == "set" and op["parameters"][1]["type"] == "expression":
                op["parameters"][1] = op["parameters"][1]["value"]
    table = j["pipelines"][0]["tables"][0]
    table["next_tables"] = {k: "nowhere" for k in table["next_tables"]}
    j["actions"][0]["primitives"].append({"op": "frobnicate", "parameters": []})
    found = "\n".join(problems(j))
    assert "is not 1 bytes" in found
    assert "set from a 'stack_field'" in found
    assert "is not a node" in found
    assert "'frobnicate' unknown to simple_switch" in found
