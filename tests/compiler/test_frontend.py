"""Front end units: preprocessor, lexer, parser precedence, type checking and constant folding."""

from __future__ import annotations

import pytest

from p4target.compiler import ast as A
from p4target.compiler import types as T
from p4target.compiler.diagnostics import CompileError
from p4target.compiler.frontend import run_frontend
from p4target.compiler.lexer import parse_int, tokenize
from p4target.compiler.parser import parse
from p4target.compiler.preprocess import Preprocessor


def pp(text: str, **defines: str):
    return Preprocessor([], defines).run_text(text, "t.p4")


def test_preprocessor_macros_conditionals_and_line_map():
    out = pp(
        "#define N 4\n#define SQ(x) ((x) * (x))\n#if N > 3 && defined(N)\nA SQ(N)\n#elif 1\nB\n#else\nC\n#endif\n"
        "/* multi\n line */ D // tail\n#ifdef NOPE\nE\n#endif\n#ifndef NOPE\nF\n#endif\n",
        X="1",
    )
    lines = [ln.strip() for ln in out.lines]
    assert "A ((4) * (4))" in lines
    assert "B" not in lines and "C" not in lines and "E" not in lines
    assert "D" in lines and "F" in lines
    assert out.origins[lines.index("D")] == ("t.p4", 11)
    assert out.origins[lines.index("F")] == ("t.p4", 16)


def test_preprocessor_defines_from_command_line_and_strings():
    out = pp('#ifdef FOO\nx = FOO;\n#endif\ns = "FOO // not a comment";\n', FOO="7")
    assert out.lines[1].strip() == "x = 7;"
    assert out.lines[3].strip() == 's = "FOO // not a comment";'


@pytest.mark.parametrize(
    "text,value",
    [
        ("42", (42, None, False)),
        ("8w255", (255, 8, False)),
        ("16s0x7f", (0x7F, 16, True)),
        ("0b1010", (10, None, False)),
        ("32w0xdead_beef", (0xDEADBEEF, 32, False)),
        ("0o17", (15, None, False)),
        ("1_000", (1000, None, False)),
    ],
)
def test_integer_literals(text, value):
    assert parse_int(text) == value


def _expr(src: str) -> A.Expr:
    prog = parse(tokenize(pp(f"const bit<8> X = {src};")))
    return prog.decls[0].value


def test_precedence_bitwise_binds_tighter_than_comparison():
    e = _expr("a & b == c")
    assert isinstance(e, A.Binary) and e.op == "=="
    assert isinstance(e.left, A.Binary) and e.left.op == "&"
    e = _expr("a + b << 2")
    assert e.op == "<<" and e.left.op == "+"
    e = _expr("a || b && c")
    assert e.op == "||" and e.right.op == "&&"
    e = _expr("c ? a : b ? d : e")
    assert isinstance(e, A.Ternary) and isinstance(e.other, A.Ternary)
    e = _expr("a >> 2")
    assert e.op == ">>"


def test_generic_types_close_with_double_angle():
    prog = parse(
        tokenize(pp("extern register<T> { register(bit<32> s); }\nregister<bit<32>>(4) r;"))
    )
    inst = prog.decls[1]
    assert isinstance(inst, A.Instance) and inst.itype.name == "register"
    assert isinstance(inst.itype.args[0], A.BitType)


PROGRAM = """
#include <core.p4>
#include <v1model.p4>
const bit<16> BASE = 0x100;
const bit<16> DERIVED = (BASE << 2) | 3;            // 0x403
const int<8> NEG = -128;
const bit<8> WRAP = 8w250 + 10;                      // 4
const bool B = DERIVED > BASE && !(BASE == 0);
const bit<4> SL = DERIVED[11:8];                     // 4
const bit<24> CAT = 8w1 ++ 16w2;                    // 0x010002
enum bit<8> E { A = 1, B = 2 }
const E ENUM_CONST = E.B;
header h_t { bit<8> a; }
struct hs_t { h_t h; }
struct m_t { }
parser P(packet_in p, out hs_t h, inout m_t m, inout standard_metadata_t s) {
    state start { transition accept; } }
control C(inout hs_t h, inout m_t m) { apply { } }
control I(inout hs_t h, inout m_t m, inout standard_metadata_t s) { apply { } }
control D(packet_out p, in hs_t h) { apply { } }
V1Switch(P(), C(), I(), I(), C(), D()) main;
"""


def test_constant_folding():
    fe = run_frontend(PROGRAM, "c.p4")
    consts = {d.name: d for d in fe.program.decls if isinstance(d, A.ConstDecl)}
    assert consts["DERIVED"].const == 0x403
    assert consts["NEG"].const == -128 and consts["NEG"].type == T.TBits(8, True)
    assert consts["WRAP"].const == 4
    assert consts["B"].const is True
    assert consts["SL"].const == 4
    assert consts["CAT"].const == 0x010002
    assert consts["ENUM_CONST"].const.value == 2


def test_v1model_declarations_are_api_compatible():
    fe = run_frontend(PROGRAM, "c.p4")
    g = fe.checker.globals.names
    sm = fe.checker.struct_types[id(g["standard_metadata_t"])]
    assert [n for n, _ in sm.fields] == [
        "ingress_port",
        "egress_spec",
        "egress_port",
        "instance_type",
        "packet_length",
        "enq_timestamp",
        "enq_qdepth",
        "deq_timedelta",
        "deq_qdepth",
        "ingress_global_timestamp",
        "egress_global_timestamp",
        "mcast_grp",
        "egress_rid",
        "checksum_error",
        "parser_error",
        "priority",
    ]
    for name in (
        "clone_preserving_field_list",
        "resubmit_preserving_field_list",
        "recirculate_preserving_field_list",
        "verify_checksum_with_payload",
        "update_checksum_with_payload",
        "truncate",
        "log_msg",
        "assert",
        "assume",
        "digest",
        "hash",
        "random",
        "mark_to_drop",
        "counter",
        "meter",
        "register",
        "direct_counter",
        "direct_meter",
        "action_profile",
        "action_selector",
        "V1Switch",
    ):
        assert name in g, name
    assert fe.checker.errors[:7] == [
        "NoError",
        "PacketTooShort",
        "NoMatch",
        "StackOutOfBounds",
        "HeaderTooShort",
        "ParserTimeout",
        "ParserInvalidArgument",
    ]
    assert set(fe.checker.match_kinds) >= {
        "exact",
        "ternary",
        "lpm",
        "range",
        "optional",
        "selector",
    }


def test_old_v1model_version_and_mark_to_drop_without_argument():
    src = PROGRAM.replace(
        "#include <v1model.p4>", "#define V1MODEL_VERSION 20180101\n#include <v1model.p4>"
    )
    src = src.replace(
        "control I(inout hs_t h, inout m_t m, inout standard_metadata_t s) { apply { } }",
        "control I(inout hs_t h, inout m_t m, inout standard_metadata_t s) {\n"
        "  counter(4, CounterType.packets) c;\n  apply { c.count(32w1); mark_to_drop(); } }",
    )
    run_frontend(src, "old.p4")


def test_implicit_int_literal_cast_only():
    bad = PROGRAM.replace("const bool B =", "const bool B2 = 1;\nconst bool B =")
    with pytest.raises(CompileError, match="expected bool, got int"):
        run_frontend(bad, "c.p4")
