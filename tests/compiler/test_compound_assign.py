"""Compound assignments (``x op= e``): parsed as ``x = x op (e)``, with errors where they belong.
Their run-time behaviour is checked by ``tests/p4/compound_assign.stf``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from p4target.compiler import CompileError, compile_source
from p4target.compiler import ast as A
from p4target.compiler.lexer import tokenize
from p4target.compiler.parser import Parser
from p4target.compiler.preprocess import Output

sys.path.insert(0, str(Path(__file__).parent))
from errors_helper import program  # noqa: E402


def _statement(text: str) -> A.Stmt:
    return Parser(tokenize(Output([text], [("s.p4", 1)]))).statement()


@pytest.mark.parametrize(
    "text,op",
    [
        ("x += 1;", "+"),
        ("x -= 1;", "-"),
        ("x *= 1;", "*"),
        ("x /= 1;", "/"),
        ("x %= 1;", "%"),
        ("x &= 1;", "&"),
        ("x |= 1;", "|"),
        ("x ^= 1;", "^"),
        ("x <<= 1;", "<<"),
        ("x >>= 1;", ">>"),
        ("x |+|= 1;", "|+|"),
        ("x |-|= 1;", "|-|"),
    ],
)
def test_each_operator_desugars(text, op):
    s = _statement(text)
    assert isinstance(s, A.Assign) and isinstance(s.rhs, A.Binary) and s.rhs.op == op
    assert isinstance(s.lhs, A.PathExpr) and s.lhs.name == "x"
    assert isinstance(s.rhs.left, A.PathExpr) and s.rhs.left is not s.lhs  # a copy, not a share


def test_right_hand_side_is_grouped_and_lvalues_nest():
    s = _statement("hdr.s[1].w[15:8] += a | b;")
    assert isinstance(s.lhs, A.Slice) and isinstance(s.rhs, A.Binary)
    assert s.rhs.op == "+" and isinstance(s.rhs.right, A.Binary) and s.rhs.right.op == "|"


def test_plain_assignments_and_calls_are_untouched():
    assert isinstance(_statement("x = y + 1;"), A.Assign)
    assert isinstance(_statement("hdr.h.setValid();"), A.CallStmt)


@pytest.mark.parametrize(
    "apply,col,msg",
    [
        ("        hdr.h.a + = 1;", 19, "syntax error: expected an expression, found '='"),
        ("        hdr.h.a += true;", 17, "'+': cannot operate on bit<8> and bool"),
        ("        hdr.h.a += hdr.h.b;", 17, "'+': width mismatch between bit<8> and bit<16>"),
    ],
)
def test_errors_point_at_the_operator(apply, col, msg):
    with pytest.raises(CompileError) as exc:
        compile_source(program(apply=apply), "err.p4")
    assert str(exc.value) == f"err.p4:13:{col}: error: {msg}"


def test_an_lvalue_with_a_call_is_refused():
    src = program(
        locals_="    bit<8>[2] arr;",
        apply="        arr[hdr.h.isValid() ? 32w0 : 32w1] = 0; arr[(bit<32>)hdr.h.minSizeInBits()] += 1;",
    )
    with pytest.raises(CompileError, match="'\\+=' needs an lvalue without calls"):
        compile_source(src, "err.p4")
