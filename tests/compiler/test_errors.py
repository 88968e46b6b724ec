"""Programs with errors: each gets ``file:line:column: error: message`` at the exact position
(from the API, and from the command line with exit status 1), never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from p4target.compiler import CompileError, compile_source

sys.path.insert(0, str(Path(__file__).parent))
from errors_helper import program  # noqa: E402

T = "    table t { key = { hdr.h.a: exact; } actions = { NoAction; }"

CASES = [
    # (id, program kwargs, line, column, message)
    ("unknown-name", dict(apply="        hdr.h.a = y;"), 13, 19, "y: declaration not found"),
    ("unknown-field", dict(apply="        hdr.h.z = 1;"), 13, 15, "z: no such field in header h_t"),
    (
        "assign-width",
        dict(apply="        hdr.h.a = hdr.h.b;"),
        13,
        19,
        "type mismatch: expected bit<8>, got bit<16>",
    ),
    (
        "operator-width",
        dict(apply="        hdr.h.b = hdr.h.b + hdr.h.a;"),
        13,
        27,
        "'+': width mismatch between bit<16> and bit<8>",
    ),
    (
        "argument-count",
        dict(locals_="    action a(bit<8> v) { hdr.h.a = v; }", apply="        a(1, 2);"),
        13,
        9,
        "a: expected 1 arguments, got 2",
    ),
    (
        "assign-constant",
        dict(locals_="    const bit<8> K = 1;", apply="        K = 2;"),
        13,
        9,
        "K: cannot assign to a constant",
    ),
    (
        "unknown-action",
        dict(
            locals_="    table t { key = { hdr.h.a: exact; } actions = { nosuch; } }",
            apply="        t.apply();",
        ),
        11,
        53,
        "nosuch: declaration not found",
    ),
    (
        "not-an-action",
        dict(
            locals_="    table t { key = { hdr.h.a: exact; } actions = { hdr; } }",
            apply="        t.apply();",
        ),
        11,
        53,
        "hdr is not an action",
    ),
    (
        "duplicate-declaration",
        dict(locals_="    action a() { } action a() { }"),
        11,
        27,
        "a: duplicate declaration",
    ),
    (
        "select-key-count",
        dict(
            parser="    state start { pkt.extract(hdr.h); transition select(hdr.h.a, hdr.h.b) { 1: accept; } }"
        ),
        7,
        77,
        "select has 2 keys but this case has 1",
    ),
    (
        "non-constant-size",
        dict(locals_=T + " size = hdr.h.a; }", apply="        t.apply();"),
        11,
        72,
        "table t: size must be a compile-time constant",
    ),
    (
        "in-parameter-assigned",
        dict(locals_="    action a(in bit<8> v) { v = 1; }", apply="        a(hdr.h.a);"),
        11,
        29,
        "v: cannot assign to an 'in' parameter",
    ),
    (
        "unknown-state",
        dict(parser="    state start { transition nowhere; }"),
        7,
        30,
        "nowhere: state not found",
    ),
    (
        "not-a-match-kind",
        dict(
            locals_="    table t { key = { hdr.h.a: fuzzy; } actions = { NoAction; } }",
            apply="        t.apply();",
        ),
        11,
        32,
        "fuzzy: not a match kind",
    ),
    ("syntax", dict(apply="        hdr.h.a = 1"), 14, 5, "syntax error: expected ';', found '}'"),
    (
        "default-action-not-listed",
        dict(
            locals_="    action a() { } table t { key = { hdr.h.a: exact; } actions = { NoAction; } default_action = a(); }",
            apply="        t.apply();",
        ),
        11,
        97,
        "a: default action is not in the actions list of table t",
    ),
    (
        "table-applied-twice",
        dict(locals_=T + " }", apply="        t.apply(); t.apply();"),
        13,
        20,
        "table Ing.t is applied more than once (first at line 13); BMv2 requires each table to be applied at most once",
    ),
    (
        "no-start-state",
        dict(parser="    state first { transition accept; }"),
        6,
        8,
        "parser P has no start state",
    ),
    (
        "condition-not-bool",
        dict(apply="        if (hdr.h.a) { hdr.h.a = 1; }"),
        13,
        13,
        "type mismatch: expected bool, got bit<8>",
    ),
    (
        "bad-cast",
        dict(apply="        bool f = (bool)hdr.h.b;"),
        13,
        18,
        "cannot cast bit<16> to bool",
    ),
    (
        "bad-slice",
        dict(apply="        hdr.h.a = hdr.h.b[16:9];"),
        13,
        19,
        "invalid slice [16:9] of bit<16>",
    ),
    (
        "return-value-in-action",
        dict(locals_="    action a() { return 1; }", apply="        a();"),
        11,
        18,
        "return with a value in an action",
    ),
    (
        "exit-in-parser",
        dict(parser="    state start { exit; }"),
        7,
        19,
        "exit is not allowed in a parser",
    ),
    (
        "directional-after-directionless",
        dict(locals_="    action a(bit<8> v, inout bit<8> x) { x = v; }"),
        11,
        37,
        "x: directional parameters must come before directionless ones",
    ),
    (
        "clone-e2e-in-ingress",
        dict(apply="        clone(CloneType.E2E, 1);"),
        13,
        9,
        "clone(CloneType.E2E, ...) can only be called in egress",
    ),
    (
        "shift-int-by-variable",
        dict(apply="        hdr.h.a = (bit<8>)(1 << hdr.h.a);"),
        13,
        30,
        "'<<': shifting an int needs a constant shift amount",
    ),
    (
        "not-an-lvalue",
        dict(apply="        hdr.h.a + 1 = 2;"),
        13,
        17,
        "cannot assign to this expression (not a left-value)",
    ),
    (
        "unknown-method",
        dict(apply="        hdr.h.frobnicate();"),
        13,
        15,
        "frobnicate: no such field in header h_t",
    ),
    (
        "entry-key-count",
        dict(
            locals_="    action a() { } table t { key = { hdr.h.a: exact; hdr.h.b: exact; } actions = { a; } const entries = { 1: a(); } }",
            apply="        t.apply();",
        ),
        11,
        107,
        "table t: entry has 1 keys, the table has 2",
    ),
    (
        "unsupported-match-kind",
        dict(
            locals_="    table t { key = { hdr.h.a: fancy; } actions = { NoAction; } }",
            apply="        t.apply();",
        ),
        11,
        32,
        "fancy: match kind not supported by the v1model target",
    ),
]


@pytest.mark.parametrize("kw,line,col,msg", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_position_and_message(kw, line, col, msg):
    src = program(**kw)
    if "fancy" in msg:
        src = src.replace("struct meta_t", "match_kind { fancy }\nstruct meta_t").replace(
            "\n    table t", "\n    table t", 1
        )
        line += 1
    with pytest.raises(CompileError) as exc:
        compile_source(src, "err.p4")
    assert exc.value.diagnostics == [("err.p4", line, col, msg)]
    assert str(exc.value) == f"err.p4:{line}:{col}: error: {msg}"


def test_missing_apply_block():
    src = program().replace(
        "control CC(inout headers_t hdr, inout meta_t meta) { apply { } }",
        "control CC(inout headers_t hdr, inout meta_t meta) { }",
    )
    with pytest.raises(CompileError) as exc:
        compile_source(src, "err.p4")
    assert str(exc.value) == "err.p4:17:9: error: control CC has no apply block"


def test_missing_main():
    src = program().replace("V1Switch(P(), VC(), Ing(), Eg(), CC(), Dep()) main;", "")
    with pytest.raises(CompileError, match="program has no 'main' package instance"):
        compile_source(src, "err.p4")


def test_header_not_byte_aligned():
    src = program().replace(
        "header h_t { bit<8> a; bit<16> b; }", "header h_t { bit<8> a; bit<16> b; bit<3> c; }"
    )
    with pytest.raises(CompileError) as exc:
        compile_source(src, "err.p4")
    assert str(exc.value) == (
        "err.p4:3:8: error: header h_t is 27 bits wide; BMv2 headers must be a multiple of 8 bits"
    )


def test_duplicate_field():
    src = program().replace(
        "header h_t { bit<8> a; bit<16> b; }", "header h_t { bit<8> a; bit<16> a; }"
    )
    with pytest.raises(CompileError) as exc:
        compile_source(src, "err.p4")
    assert str(exc.value) == "err.p4:3:32: error: a: duplicate field in h_t"


def test_preprocessor_errors(tmp_path):
    main = tmp_path / "main.p4"
    main.write_text('#include "missing.p4"\n')
    with pytest.raises(CompileError) as exc:
        compile_source(main.read_text(), str(main))
    assert str(exc.value) == f"{main}:1:1: error: cannot find include file missing.p4"
    with pytest.raises(CompileError) as exc:
        compile_source("#if 1\n#error stop here\n#endif\n", "e.p4")
    assert str(exc.value) == "e.p4:2:1: error: #error stop here"
    with pytest.raises(CompileError) as exc:
        compile_source("#ifdef X\n", "e.p4")
    assert "unterminated #if" in str(exc.value)


def test_error_inside_included_file_points_into_it(tmp_path):
    inc = tmp_path / "inc.p4"
    inc.write_text("// helper\nconst bit<8> BAD = 1 + true;\n")
    main = tmp_path / "main.p4"
    main.write_text('#include "inc.p4"\n')
    from p4target.compiler import compile_file

    with pytest.raises(CompileError) as exc:
        compile_file(main)
    ((f, line, col, msg),) = exc.value.diagnostics
    assert Path(f).name == "inc.p4" and (line, col) == (2, 22)
    assert msg == "'+': cannot operate on int and bool"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "p4target.compiler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_reports_errors_with_status_1(tmp_path):
    bad = tmp_path / "bad.p4"
    bad.write_text(program(apply="        hdr.h.a = y;"))
    r = _cli("bad.p4", "-o", "bad.json", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "bad.p4:13:19: error: y: declaration not found"
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "bad.json").exists()


def test_internal_error_is_reported_not_raised(monkeypatch, capsys, tmp_path):
    from p4target.compiler import __main__ as cli
    from p4target.compiler.bmv2 import program as backend

    def boom(self):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(backend.Backend, "run", boom)
    good = tmp_path / "ok.p4"
    good.write_text(program())
    assert cli.main([str(good), "-o", str(tmp_path / "ok.json")]) == 2
    err = capsys.readouterr().err
    assert "internal compiler error: RuntimeError: simulated bug" in err
    assert "Traceback" not in err


def test_internal_error_carries_the_position(monkeypatch):
    from p4target.compiler import InternalCompilerError, compile_source
    from p4target.compiler.bmv2 import externs

    def boom(self, *args, **kwargs):
        raise KeyError("simulated")

    monkeypatch.setattr(externs.ExternLowering, "extern_call", boom)
    with pytest.raises(InternalCompilerError) as exc:
        compile_source(program(apply="        hdr.h.a = 1;\n        mark_to_drop(sm);"), "ice.p4")
    assert (exc.value.pos.file, exc.value.pos.line) == ("ice.p4", 14)
