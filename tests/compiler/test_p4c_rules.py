"""What real p4c refuses, the embedded compiler refuses too (v1model's V1MODEL_VERSION switch,
parser-only stack members); what it deliberately accepts beyond p4c it reports as a warning
naming the extension. Every p4src/ program and every tests/p4/ program that is not listed as
using an extension compiles without one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from p4target.compiler import CompileError, compile_file, compile_source

ROOT = Path(__file__).resolve().parents[2]
P4SRC = sorted((ROOT / "p4src").glob("*.p4"))
TESTS_P4 = sorted((ROOT / "tests" / "p4").glob("*.p4"))
#: tests/p4 programs that use an extension on purpose (listed in the README): the warning
#: each must give names the extension
EXTENSION_PROGRAMS = {
    "compound_assign.p4": "compound assignment",
    "table_entries.p4": "annotation before an entry's keyset",
}

PROGRAM = """#include <core.p4>
{define}#include <v1model.p4>
header h_t {{ bit<8> a; bit<8> b; }}
header l_t {{ bit<8> v; }}
struct hs_t {{ h_t h; l_t[2] s; }}
struct m_t {{ bit<8> x; }}
parser P(packet_in pkt, out hs_t hdr, inout m_t m, inout standard_metadata_t sm) {{
    state start {{ pkt.extract(hdr.h); pkt.extract(hdr.s.next); {parser} transition accept; }}
}}
control VC(inout hs_t h, inout m_t m) {{ apply {{ }} }}
control I(inout hs_t hdr, inout m_t m, inout standard_metadata_t sm) {{
    {locals}
    apply {{ sm.egress_spec = 1; {ingress} }}
}}
control E(inout hs_t h, inout m_t m, inout standard_metadata_t sm) {{ apply {{ }} }}
control CC(inout hs_t h, inout m_t m) {{ apply {{ }} }}
control D(packet_out pkt, in hs_t h) {{ apply {{ pkt.emit(h); }} }}
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""

NEW = "#define V1MODEL_VERSION 20200408\n"


def prog(define: str = "", parser: str = "", locals_: str = "", ingress: str = "") -> str:
    return PROGRAM.format(define=define, parser=parser, locals=locals_, ingress=ingress)


def compile_text(text: str):
    return compile_source(text, "t.p4")


# -- V1MODEL_VERSION ---------------------------------------------------------------------------


def test_two_parameter_register_needs_v1model_20200408():
    reg = "register<bit<32>, bit<32>>(4) r;"
    use = "r.write(32w1, 32w7);"
    with pytest.raises(CompileError) as exc:
        compile_text(prog(locals_=reg, ingress=use))
    assert exc.value.diagnostics[0][3] == (
        "register<bit<32>, bit<32>>: Type register has 1 type parameter(s), "
        "but it is specialized with 2"
    )
    compile_text(prog(NEW, locals_=reg, ingress=use))


@pytest.mark.parametrize(
    "decl, use",
    [
        ("counter<bit<32>>(4, CounterType.packets) c;", "c.count(32w1);"),
        ("meter<bit<32>>(4, MeterType.packets) mt;", "mt.execute_meter(32w1, m.x);"),
    ],
)
def test_index_typed_counter_and_meter_need_20200408(decl, use):
    with pytest.raises(CompileError, match=r"has 0 type parameter\(s\), but it is specialized"):
        compile_text(prog(locals_=decl, ingress=use))
    compile_text(prog(NEW, locals_=decl, ingress=use))


def test_old_v1model_indexes_by_bit32():
    compile_text(prog(locals_="register<bit<8>>(4) r;", ingress="r.write(1, hdr.h.a);"))


def test_port_id_type_only_in_20200408():
    body = "PortId_t p = sm.ingress_port; sm.egress_spec = p;"
    with pytest.raises(CompileError):  # PortId_t is not a type name there
        compile_text(prog(ingress=body))
    compile_text(prog(NEW, ingress=body))


@pytest.mark.parametrize("path", P4SRC, ids=lambda p: p.name)
def test_p4src_defines_v1model_version_before_including_v1model(path):
    text = path.read_text()
    m = re.search(r"#include\s*<v1model\.p4>", text)
    assert m, f"{path.name} does not include v1model.p4"
    assert "#define V1MODEL_VERSION 20200408" in text[: m.start()]


# -- stack members only P4_16 allows where p4c allows them ----------------------------------------


def test_last_index_outside_a_parser_is_refused():
    with pytest.raises(CompileError) as exc:
        compile_text(prog(ingress="m.x = (bit<8>)hdr.s.lastIndex;"))
    assert exc.value.diagnostics[0][3] == (
        "hdr.s.lastIndex: 'lastIndex' for stacks can only be used in a parser"
    )
    compile_text(prog(parser="m.x = (bit<8>)hdr.s.lastIndex;"))


@pytest.mark.parametrize("member", ["last", "next"])
def test_next_and_last_outside_a_parser_are_refused(member):
    with pytest.raises(CompileError, match=f"hdr.s.{member}: 'last', and 'next' for stacks can"):
        compile_text(prog(ingress=f"m.x = hdr.s.{member}.v;"))


def test_push_front_in_a_parser_is_refused():
    with pytest.raises(CompileError, match="'push_front' and 'pop_front' for stacks cannot be"):
        compile_text(prog(parser="hdr.s.push_front(1);"))
    compile_text(prog(ingress="hdr.s.push_front(1);"))


# -- extensions are warnings -------------------------------------------------------------------


def test_compound_assignment_warns():
    res = compile_text(prog(ingress="hdr.h.a += 2;"))
    [(f, line, col, msg)] = res.warnings
    assert (f, line) == ("t.p4", 13)
    assert "compound assignment '+='" in msg and "cpn-p4 extension" in msg
    assert res.warning_lines()[0].startswith(f"t.p4:13:{col}: warning: the compound assignment")


@pytest.mark.parametrize(
    "expr, warns",
    [
        ("hdr.h.a / hdr.h.b", True),
        ("hdr.h.a % 8w3", True),
        ("8w100 / hdr.h.b", True),
        ("hdr.h.a / 8w4", False),  # p4c turns it into a shift
        ("hdr.h.a % 8w8", False),  # and this into a mask
        ("8w100 / 8w3", False),  # folded
    ],
)
def test_run_time_division_warns(expr, warns):
    res = compile_text(prog(ingress=f"hdr.h.a = {expr};"))
    msgs = [w[3] for w in res.warnings]
    assert bool(msgs) == warns, msgs
    if warns:
        assert "run-time" in msgs[0] and "cpn-p4 extension" in msgs[0]


def test_entry_annotation_before_keys_warns_and_after_action_does_not():
    table = """
    action a(bit<8> v) {{ hdr.h.b = v; }}
    table t {{
        key = {{ hdr.h.a: exact; }}
        actions = {{ a; }}
        const entries = {{ {entry} }}
    }}"""
    res = compile_text(
        prog(locals_=table.format(entry='@name("e") 1: a(2);'), ingress="t.apply();")
    )
    assert ["annotation before an entry's keyset" in w[3] for w in res.warnings] == [True]
    res = compile_text(
        prog(locals_=table.format(entry='1: a(2) @name("e");'), ingress="t.apply();")
    )
    assert res.warnings == []


@pytest.mark.parametrize("path", P4SRC, ids=lambda p: p.name)
@pytest.mark.parametrize("defines", [{}, {"CQF_RECIRCULATE": "1"}], ids=["plain", "recirc"])
def test_p4src_programs_use_no_extension(path, defines):
    res = compile_file(path, include_dirs=[str(ROOT / "p4src" / "include")], defines=defines)
    assert res.warning_lines() == []


@pytest.mark.parametrize("path", TESTS_P4, ids=lambda p: p.name)
def test_tests_p4_programs_warn_only_when_listed(path):
    res = compile_file(path, include_dirs=[str(path.parent)])
    if path.name in EXTENSION_PROGRAMS:
        assert res.warnings, f"{path.name} is listed as using an extension but gives no warning"
        assert any(EXTENSION_PROGRAMS[path.name] in w[3] for w in res.warnings)
    else:
        assert res.warning_lines() == []


def test_listed_extension_programs_exist():
    assert set(EXTENSION_PROGRAMS) <= {p.name for p in TESTS_P4}


def test_command_line_prints_warnings_on_stderr(tmp_path):
    src = tmp_path / "w.p4"
    src.write_text(prog(ingress="hdr.h.a += 2;"))
    res = subprocess.run(
        [sys.executable, "-m", "p4target.compiler", str(src), "-o", str(tmp_path / "w.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 0
    assert res.stdout == ""
    assert re.fullmatch(
        rf"{re.escape(str(src))}:13:\d+: warning: the compound assignment '\+=' is a cpn-p4 "
        r"extension that p4c does not accept; write `x = x \+ \(e\);`\n",
        res.stderr,
    )
    assert (tmp_path / "w.json").exists()
