"""More programs with errors, in the classes p4c's own error tests cover (a default action
whose directional argument differs from the actions list, verify outside a parser, division
by a constant zero or a negative number, clashing control-plane names, entry priorities,
...): each gets ``file:line:column: error:`` at the right place, never silent success."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from p4target.compiler import CompileError, compile_source

sys.path.insert(0, str(Path(__file__).parent))
from errors_helper import program  # noqa: E402

TABLE = (
    "    table t {{ key = {{ hdr.h.a: ternary; }} actions = {{ r; }} default_action = r(0);\n"
    "        {props}\n"
    "        entries = {{ {entries} }} }}"
)


def _table(props: str, entries: str) -> dict:
    return dict(
        locals_="    action r(bit<8> v) { hdr.h.a = v; }\n"
        + TABLE.format(props=props, entries=entries),
        apply="        t.apply();",
    )


CASES = [
    # (id, program kwargs, line, column, message)
    (
        "default-action-other-directional-argument",
        dict(
            locals_="    action a(inout bit<8> x, bit<8> v) { x = v; }\n"
            "    table t { key = { hdr.h.a: exact; } actions = { a(hdr.h.a); } "
            "default_action = a(meta.x, 1); }",
            apply="        t.apply();",
        ),
        12,
        86,
        "a: argument for x must be the one in the actions list",
    ),
    (
        "verify-in-control",
        dict(apply="        verify(hdr.h.a == 0, error.NoMatch);"),
        13,
        9,
        "verify: may only be invoked in parsers",
    ),
    ("division-by-zero", dict(apply="        hdr.h.a = hdr.h.a / 0;"), 13, 27, "division by zero"),
    ("modulo-by-zero", dict(apply="        hdr.h.a = hdr.h.a % 8w0;"), 13, 27, "modulo by zero"),
    (
        "division-of-a-negative-number",
        dict(apply="        hdr.h.a = -6 / hdr.h.a;"),
        13,
        22,
        "'/': division is not defined on negative numbers",
    ),
    (
        "modulo-by-a-negative-number",
        dict(apply="        hdr.h.a = hdr.h.a % -2;"),
        13,
        27,
        "'%': modulo is not defined on negative numbers",
    ),
    (
        "switch-on-bool",
        dict(apply="        switch (hdr.h.a == 1) { default: { } }"),
        13,
        25,
        "cannot switch on a value of type bool",
    ),
    (
        "action-control-plane-name-clash",
        dict(
            locals_='    @name("t") action a() { }\n    @name("t") action b() { }\n'
            "    table t { key = { hdr.h.a: exact; } actions = { a; b; } }",
            apply="        t.apply();",
        ),
        12,
        23,
        "b: control-plane name Ing.t is already the name of action a at line 11",
    ),
    (
        "table-control-plane-name-clash",
        dict(
            locals_='    @name(".x") table t1 { key = { hdr.h.a: exact; } actions = { NoAction; } }\n'
            '    @name(".x") table t2 { key = { hdr.h.b: exact; } actions = { NoAction; } }',
            apply="        t1.apply(); t2.apply();",
        ),
        12,
        23,
        "table t2: control-plane name x is already the name of the table at line 11",
    ),
    (
        "register-control-plane-name-clash",
        dict(
            locals_='    @name(".r") register<bit<8>>(4) r1;\n    @name(".r") register<bit<8>>(4) r2;',
            apply="        r1.write(0, 1); r2.write(0, 2);",
        ),
        12,
        37,
        "r2: control-plane name r is already used at line 11",
    ),
    (
        "first-entry-without-priority",
        _table("", "0x01 &&& 0x0F: r(1); priority = 5: _: r(2);"),
        14,
        21,
        "table t: the first entry needs a priority when other entries have one",
    ),
    (
        "negative-entry-priority",
        _table("priority_delta = 10;", "priority = 5: 0x01 &&& 0x0F: r(1); _: r(2);"),
        14,
        56,
        "table t: entry priority -5 is negative",
    ),
    (
        "priority-delta-zero",
        _table("priority_delta = 0;", "_: r(2);"),
        13,
        26,
        "priority_delta must be a positive integer",
    ),
    (
        "largest-priority-wins-not-bool",
        _table("largest_priority_wins = 1;", "_: r(2);"),
        13,
        33,
        "type mismatch: expected bool, got int",
    ),
]


@pytest.mark.parametrize("kw,line,col,msg", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_position_and_message(kw, line, col, msg):
    with pytest.raises(CompileError) as exc:
        compile_source(program(**kw), "err.p4")
    assert str(exc.value) == f"err.p4:{line}:{col}: error: {msg}"


def test_parameter_named_like_a_type_parameter():
    src = program(locals_="") + "control K<p>(inout bit<8> x)(bit<8> p) { apply { } }\n"
    with pytest.raises(CompileError) as exc:
        compile_source(src, "err.p4")
    assert str(exc.value) == "err.p4:20:37: error: p: parameter has the name of a type parameter"


def test_control_matches_a_control_type_by_its_parameters():
    # a control declaration fits a parameter of a control type with the same parameter list;
    # the program then fails only because its package is not V1Switch
    src = (
        "#include <core.p4>\n"
        "control c(inout bit<8> x) { apply { x = 1; } }\n"
        "control proto(inout bit<8> y);\n"
        "package top(proto p);\n"
        "top(c()) main;\n"
    )
    with pytest.raises(CompileError) as exc:
        compile_source(src, "err.p4")
    assert "main package must be a V1Switch" in str(exc.value)
    bad = src.replace("control proto(inout bit<8> y)", "control proto(in bit<8> y)")
    with pytest.raises(CompileError, match="parameter x should be 'in' as in proto"):
        compile_source(bad, "err.p4")


def test_same_global_action_in_two_controls_is_no_clash():
    src = (
        program(
            locals_="    table t { key = { hdr.h.a: exact; } actions = { g; } }",
            apply="        t.apply();",
        )
        .replace(
            "control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) "
            "{ apply { } }",
            "control Eg(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {\n"
            "    table e { key = { hdr.h.b: exact; } actions = { g; } }\n"
            "    apply { e.apply(); } }",
        )
        .replace("parser P(", "action g() { }\nparser P(")
    )
    r = compile_source(src, "ok.p4")
    assert [a.preamble.name for a in r.p4info.actions].count("g") == 1


def test_direct_invocation_needs_a_control_without_constructor_parameters():
    extra = "control Inc(inout bit<8> x)(bit<8> k) { apply { x = x + k; } }\n"
    src = program(apply="        Inc.apply(hdr.h.a);").replace(
        "control Ing(", extra + "control Ing("
    )
    with pytest.raises(CompileError, match=r"e\.p4:14:9: error: Inc: expected 1 arguments, got 0"):
        compile_source(src, "e.p4")
    extra = "control Inc(inout bit<8> x) { apply { x = x + 1; } }\n"
    src = program(locals_="    action a() { Inc.apply(hdr.h.a); }", apply="        a();").replace(
        "control Ing(", extra + "control Ing("
    )
    with pytest.raises(CompileError, match="can only be applied from a parser or control"):
        compile_source(src, "e.p4")
