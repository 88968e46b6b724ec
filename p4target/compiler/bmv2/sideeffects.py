"""Side-effect ordering: statements whose expressions hide control flow become plain ones.

BMv2 expressions have no calls, and ``&&``, ``||`` and ``?:`` there evaluate both operands.
P4 evaluates left to right and short-circuits, so a call (function, extern method with a
result, ``t.apply().hit``) in the right operand of ``&&``/``||`` or in a branch of ``?:`` must
run only when P4 would run it. Such expressions are rewritten, before lowering, into
temporaries and ``if`` statements (as p4c's SideEffectOrdering does)::

    x = a || f(h);        ==>   bool t = a; if (!t) { t = f(h); } x = t;

Everything evaluated before the rewritten operand that has effects is moved into temporaries
ahead of it, so the order of effects is kept. Two more orderings are fixed here: the
left-hand side of an assignment is evaluated before its right-hand side (a run-time stack
index in it is captured first when the right-hand side has effects), and a run-time index
that contains a call, inside an ``out``/``inout`` argument, is evaluated into a temporary.
"""

from __future__ import annotations

from typing import Any

from .. import ast as A
from .. import types as T

_EFFECT_KINDS = ("function", "extern_method", "extern_function", "table_apply", "block_apply")


def _is_effect(e: Any) -> bool:
    return isinstance(e, A.Call) and getattr(e, "kind", None) in _EFFECT_KINDS


def subexpressions(e: Any) -> list[A.Expr]:
    """Sub-expressions of ``e`` in evaluation order."""
    if isinstance(e, A.Member):
        return [e.expr] if isinstance(e.expr, A.Expr) else []
    if isinstance(e, A.Index):
        return [e.expr, e.index]
    if isinstance(e, A.Slice):
        return [e.expr]
    if isinstance(e, (A.Unary, A.Cast)):
        return [e.expr]
    if isinstance(e, A.Binary):
        return [e.left, e.right]
    if isinstance(e, A.Ternary):
        return [e.cond, e.then, e.other]
    if isinstance(e, A.ListExpr):
        return list(e.items)
    if isinstance(e, A.StructExpr):
        return [v for _, v in e.items]
    if isinstance(e, A.Call):
        return [a for _, a in getattr(e, "bound", []) if a is not None]
    return []


def effectful(e: Any) -> bool:
    """Does evaluating ``e`` call something (which may change state or apply a table)?"""
    if not isinstance(e, A.Expr) or e.const is not None:
        return False
    return _is_effect(e) or any(effectful(k) for k in subexpressions(e))


def _needs(e: Any) -> bool:
    """Does ``e`` contain an operand that P4 may skip and that has effects?"""
    if not isinstance(e, A.Expr) or e.const is not None:
        return False
    if isinstance(e, A.Binary) and e.op in ("&&", "||") and effectful(e.right):
        return True
    if isinstance(e, A.Ternary) and (effectful(e.then) or effectful(e.other)):
        return True
    return any(_needs(k) for k in subexpressions(e))


def _applies(e: Any) -> int:
    if not isinstance(e, A.Expr):
        return 0
    n = 1 if isinstance(e, A.Call) and getattr(e, "kind", None) == "table_apply" else 0
    return n + sum(_applies(k) for k in subexpressions(e))


class _Orderer:
    def __init__(self) -> None:
        self.count = 0

    # -- new nodes -------------------------------------------------------------------------------
    def temp(self, pos: Any, t: T.Type, init: A.Expr | None, out: list[A.Stmt]) -> A.VarDecl:
        d = A.VarDecl(pos, "tmp")
        d.type = t
        d.init = init
        out.append(d)
        return d

    @staticmethod
    def ref(d: A.VarDecl, pos: Any) -> A.PathExpr:
        p = A.PathExpr(pos, d.name)
        p.decl, p.type = d, d.type
        return p

    @staticmethod
    def assign(d: A.VarDecl, value: A.Expr, pos: Any) -> A.Assign:
        return A.Assign(pos, _Orderer.ref(d, pos), value)

    @staticmethod
    def negate(e: A.Expr) -> A.Expr:
        n = A.Unary(e.pos, "!", e)
        n.type = T.BOOL
        return n

    # -- expressions -----------------------------------------------------------------------------
    def lift(self, e: A.Expr, out: list[A.Stmt]) -> A.Expr:
        """``e`` with every effect moved, in evaluation order, into statements on ``out``."""
        if e.const is not None or not effectful(e):
            return e
        if isinstance(e, A.Binary) and e.op in ("&&", "||"):
            left = self.lift(e.left, out)
            if not effectful(e.right):
                e.left = left
                return e
            t = self.temp(e.pos, T.BOOL, left, out)
            inner: list[A.Stmt] = []
            inner.append(self.assign(t, self.lift(e.right, inner), e.pos))
            cond: A.Expr = self.ref(t, e.pos)
            if e.op == "||":
                cond = self.negate(cond)
            out.append(A.If(e.pos, cond, A.Block(e.pos, inner), None))
            return self.ref(t, e.pos)
        if isinstance(e, A.Ternary):
            cond = self.lift(e.cond, out)
            if not (effectful(e.then) or effectful(e.other)):
                e.cond = cond
                return e
            t = self.temp(e.pos, e.type, None, out)
            then: list[A.Stmt] = []
            then.append(self.assign(t, self.lift(e.then, then), e.pos))
            other: list[A.Stmt] = []
            other.append(self.assign(t, self.lift(e.other, other), e.pos))
            out.append(A.If(e.pos, cond, A.Block(e.pos, then), A.Block(e.pos, other)))
            return self.ref(t, e.pos)
        if isinstance(e, A.Member) and e.name in ("hit", "miss") and _is_effect(e.expr):
            t = self.temp(e.pos, T.BOOL, e, out)  # the lowering of 'bool t = x.apply().hit'
            return self.ref(t, e.pos)
        if isinstance(e, A.Call) and _is_effect(e):
            self.lift_args(e, out)
            if e.type is None or e.type == T.VOID or isinstance(e.type, T.TInt):
                return e
            t = self.temp(e.pos, e.type, e, out)
            return self.ref(t, e.pos)
        self._lift_kids(e, out)
        return e

    def lift_args(self, c: A.Call, out: list[A.Stmt]) -> None:
        """In-arguments of ``c`` with effects become temporaries (in order); the run-time
        indexes of out/inout arguments that contain calls too."""
        bound = list(getattr(c, "bound", []))
        for i, (p, a) in enumerate(bound):
            if a is None or not effectful(a):
                continue
            if getattr(p, "direction", "") in ("out", "inout"):
                new = self.lift_lvalue(a, out, capture=False)
            else:
                new = self.lift(a, out)
            if new is not a:
                self._replace_arg(c, i, a, new)

    @staticmethod
    def _replace_arg(c: A.Call, i: int, old: A.Expr, new: A.Expr) -> None:
        p, _ = c.bound[i]
        c.bound[i] = (p, new)
        for arg in c.args:
            if arg.value is old:
                arg.value = new

    def lift_lvalue(self, e: A.Expr, out: list[A.Stmt], capture: bool) -> A.Expr:
        """Run-time stack indexes inside lvalue ``e`` that have effects (or all of them,
        with ``capture``) are evaluated into temporaries now."""
        if isinstance(e, (A.Member, A.Slice)) and isinstance(e.expr, A.Expr):
            e.expr = self.lift_lvalue(e.expr, out, capture)
        elif isinstance(e, A.Index):
            e.expr = self.lift_lvalue(e.expr, out, capture)
            idx = e.index
            if idx.const is None and (capture or effectful(idx)) and idx.type is not None:
                if not isinstance(idx.type, T.TInt):
                    t = self.temp(idx.pos, idx.type, self.lift(idx, out), out)
                    e.index = self.ref(t, idx.pos)
        return e

    def _lift_kids(self, e: A.Expr, out: list[A.Stmt]) -> None:
        """Lift the children of ``e`` in order; once a later child must be lifted, the
        earlier ones with effects are lifted first (so the effects keep their order)."""
        kids = subexpressions(e)
        for k in kids:
            if effectful(k):
                new = self.lift(k, out)
                if new is not k:
                    self._replace_kid(e, k, new)

    @staticmethod
    def _replace_kid(e: A.Expr, old: A.Expr, new: A.Expr) -> None:
        for attr in ("expr", "index", "left", "right", "cond", "then", "other"):
            if getattr(e, attr, None) is old:
                setattr(e, attr, new)
                return
        if isinstance(e, A.ListExpr):
            e.items = [new if x is old else x for x in e.items]
        elif isinstance(e, A.StructExpr):
            e.items = [(n, new if x is old else x) for n, x in e.items]
        elif isinstance(e, A.Call):
            for i, (_p, a) in enumerate(e.bound):
                if a is old:
                    _Orderer._replace_arg(e, i, old, new)

    # -- statements ------------------------------------------------------------------------------
    def stmts(self, stmts: list[A.Stmt]) -> list[A.Stmt]:
        out: list[A.Stmt] = []
        for s in stmts:
            self.stmt(s, out)
        return out

    def block(self, s: A.Stmt | None) -> A.Stmt | None:
        if s is None:
            return None
        if isinstance(s, A.Block):
            s.stmts = self.stmts(s.stmts)
            return s
        out: list[A.Stmt] = []
        self.stmt(s, out)
        return out[0] if len(out) == 1 else A.Block(s.pos, out)

    def stmt(self, s: A.Stmt, out: list[A.Stmt]) -> None:
        if isinstance(s, A.Block):
            s.stmts = self.stmts(s.stmts)
        elif isinstance(s, A.If):
            if _needs(s.cond) or _applies(s.cond) > 1:
                s.cond = self.lift(s.cond, out)
            s.then = self.block(s.then)
            s.other = self.block(s.other)
        elif isinstance(s, A.Switch):
            if not isinstance(s.expr.type, T.TActionRun) and _needs(s.expr):
                s.expr = self.lift(s.expr, out)
            for case in s.cases:
                if case.body is not None:
                    case.body.stmts = self.stmts(case.body.stmts)
        elif isinstance(s, A.Assign):
            rhs_effects = effectful(s.rhs)
            if rhs_effects or effectful(s.lhs):
                s.lhs = self.lift_lvalue(s.lhs, out, capture=rhs_effects)
            if _needs(s.rhs) or _applies(s.rhs) > 1:
                s.rhs = self.lift(s.rhs, out)
        elif isinstance(s, A.VarDecl):
            if s.init is not None and (_needs(s.init) or _applies(s.init) > 1):
                s.init = self.lift(s.init, out)
        elif isinstance(s, A.Return):
            if s.value is not None and (_needs(s.value) or _applies(s.value) > 1):
                s.value = self.lift(s.value, out)
        elif isinstance(s, A.CallStmt):
            c = s.call
            if any(_needs(a) or _lvalue_call(p, a) for p, a in getattr(c, "bound", [])):
                self.lift_args(c, out)
        out.append(s)


def _lvalue_call(p: Any, a: Any) -> bool:
    return getattr(p, "direction", "") in ("out", "inout") and effectful(a)


def order_side_effects(program: A.Program) -> None:
    """Rewrite, in place, every body of ``program`` (see the module docstring)."""
    o = _Orderer()

    def walk(d: Any) -> None:
        if isinstance(d, (A.ActionDecl, A.FunctionDecl)) and d.body is not None:
            d.body.stmts = o.stmts(d.body.stmts)
        elif isinstance(d, A.ControlDecl):
            for x in d.locals:
                walk(x)
            if d.body is not None:
                d.body.stmts = o.stmts(d.body.stmts)
        elif isinstance(d, A.ParserDecl):
            for x in d.locals:
                walk(x)
            for st in d.states:
                st.stmts = o.stmts(st.stmts)

    for d in program.decls:
        walk(d)
