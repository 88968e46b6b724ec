"""Lowering of straight-line P4 code (action bodies, and the statements p4c moves into
synthesized actions) to BMv2 primitives. ``if`` becomes ``_jump_if_zero``/``_jump``; actions
and functions called from here are inlined with copy-in/copy-out parameter binding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError, Pos
from .expr import Env, b2d, expr, hexstr, width_of
from .expr import _signed as _is_signed
from .sideeffects import subexpressions
from .storage import (
    DynFieldLoc,
    DynHeaderLoc,
    FieldLoc,
    HeaderLoc,
    LastHeaderLoc,
    NextHeaderLoc,
    RuntimeLoc,
    StackFieldLoc,
    StackLoc,
    StructLoc,
    UnionLoc,
    ValueLoc,
)

if TYPE_CHECKING:
    from .program import Backend


@dataclass(eq=False)
class Label:
    index: int | None = None


@dataclass(eq=False)
class ActionBuilder:
    """Primitives of one BMv2 action being built."""

    be: Backend
    prims: list[dict] = field(default_factory=list)
    jumps: list[tuple[dict, Label]] = field(default_factory=list)

    def emit(self, op: str, params: list, pos: Pos | None = None, fragment: str = "") -> dict:
        p = {"op": op, "parameters": params}
        if pos is not None:
            p["source_info"] = self.be.source_info(pos, fragment)
        self.prims.append(p)
        return p

    def jump(self, label: Label, cond: dict | None = None, pos: Pos | None = None) -> None:
        target = {"type": "hexstr", "value": "0x0"}
        if cond is None:
            self.emit("_jump", [target], pos)
        else:
            self.emit("_jump_if_zero", [param(cond), target], pos)
        self.jumps.append((target, label))

    def place(self, label: Label) -> None:
        label.index = len(self.prims)

    def finish(self) -> list[dict]:
        for target, label in self.jumps:
            target["value"] = f"0x{label.index:x}"
        return self.prims


def param(j: dict) -> dict:
    """A primitive parameter: BMv2 builds an expression from the *value* of an 'expression'
    parameter, so expressions are wrapped once more (as p4c does)."""
    if j.get("type") == "expression":
        return {"type": "expression", "value": j}
    return j


class StmtLowering:
    """Mixin of ``Backend``: statements and calls in straight-line (action) context."""

    # -- statements ------------------------------------------------------------------------------
    def lower_stmts(self: Backend, stmts: list[A.Stmt], env: Env, b: ActionBuilder) -> None:
        for s in stmts:
            self.lower_stmt(s, env, b)

    def lower_stmt(self: Backend, s: A.Stmt, env: Env, b: ActionBuilder) -> None:
        self.tracker["pos"] = s.pos
        if isinstance(s, A.Block):
            inner = env.child()
            self.lower_stmts(s.stmts, inner, b)
        elif isinstance(s, A.Assign):
            self.hoist(s.rhs, env, b)
            self.hoist(s.lhs, env, b)
            self.assign(s.lhs, s.rhs, env, b, s.pos)
        elif isinstance(s, A.CallStmt):
            self.call(s.call, env, b, s.pos)
        elif isinstance(s, A.If):
            self.hoist(s.cond, env, b)
            c = s.cond.const
            if isinstance(c, bool):
                branch = s.then if c else s.other
                if branch is not None:
                    self.lower_stmt(branch, env.child(), b)
                return
            else_l, end_l = Label(), Label()
            b.jump(else_l, b2d(self.conv.cond(s.cond, env)), s.pos)
            self.lower_stmt(s.then, env.child(), b)
            if s.other is not None:
                b.jump(end_l)
            b.place(else_l)
            if s.other is not None:
                self.lower_stmt(s.other, env.child(), b)
                b.place(end_l)
        elif isinstance(s, A.VarDecl):
            loc = env.get(s)
            if loc is None:
                loc = self.storage.alloc(self.local_name(env, s.name), s.type)
                env.bind(s, loc)
            if s.init is not None:
                self.hoist(s.init, env, b)
                self.assign_loc(loc, s.type, s.init, env, b, s.pos)
        elif isinstance(s, A.ConstDecl | A.Empty):
            pass
        elif isinstance(s, A.Return):
            if s.value is not None:
                self.hoist(s.value, env, b)
                self.assign_loc(env.ctx["ret_loc"], env.ctx["ret_type"], s.value, env, b, s.pos)
            b.jump(env.ctx["return_label"], None, s.pos)
        elif isinstance(s, A.Exit):
            b.emit("exit", [], s.pos, "exit")
            b.jump(env.ctx["exit_label"])
        elif isinstance(s, A.Switch):
            raise CompileError.at(
                s.pos, "switch statements are not supported inside actions on this target"
            )
        else:
            raise CompileError.at(s.pos, f"{type(s).__name__} is not supported here")

    # -- assignment ---------------------------------------------------------------------------------
    def assign(
        self: Backend, lhs: A.Expr, rhs: A.Expr, env: Env, b: ActionBuilder, pos: Pos
    ) -> None:
        if isinstance(lhs, A.Slice):
            self.assign_slice(lhs, rhs, env, b, pos)
            return
        self.assign_loc(self.conv.loc(lhs, env), lhs.type, rhs, env, b, pos)

    def assign_slice(
        self: Backend, lhs: A.Slice, rhs: A.Expr, env: Env, b: ActionBuilder, pos: Pos
    ) -> None:
        hi, lo = lhs.hi.const, lhs.lo.const
        base = lhs.expr
        while isinstance(base, A.Slice):  # x[a:b][c:d] = v writes bits b+d .. b+c of x
            hi, lo = base.lo.const + hi, base.lo.const + lo
            base = base.expr
        dest = self.conv.loc(base, env)
        w = width_of(base.type)
        m = ((1 << (hi - lo + 1)) - 1) << lo
        keep = expr("&", dest.json(), hexstr(((1 << w) - 1) ^ m, w))
        val = self.conv.rvalue(rhs, env)
        if lo:
            val = expr("<<", val, hexstr(lo, 32))
        new = expr("|", keep, expr("&", val, hexstr(m, w)))
        b.emit("assign", [param(dest.json()), param(new)], pos, "")

    def assign_loc(
        self: Backend, dest: Any, t: T.Type, rhs: A.Expr, env: Env, b: ActionBuilder, pos: Pos
    ) -> None:
        if isinstance(dest, (FieldLoc, DynFieldLoc, StackFieldLoc)):
            src = self.conv.rvalue(rhs, env, top=True)
            b.emit("assign", [param(dest.json()), param(src)], pos, self.fragment(pos))
            return
        if isinstance(dest, RuntimeLoc):
            raise CompileError.at(pos, "cannot assign to an action parameter")
        if isinstance(rhs, (A.ListExpr, A.StructExpr)) or (
            isinstance(rhs, A.Cast) and isinstance(rhs.expr, (A.ListExpr, A.StructExpr))
        ):
            items = self.initializer_items(rhs, t)
            if isinstance(dest, HeaderLoc):
                b.emit("add_header", [dest.json()], pos, self.fragment(pos))
                for (n, ft), item in zip(t.fields, items, strict=True):
                    self.assign_loc(dest.fields[n], ft, item, env, b, pos)
                return
            if isinstance(dest, DynHeaderLoc):  # stack[i] = {...} with a run-time i
                b.emit("add_header", [param(dest.json())], pos, self.fragment(pos))
                for off, ((_n, ft), item) in enumerate(zip(t.fields, items, strict=True)):
                    fl = DynFieldLoc(dest, off, width_of(ft), _is_signed(ft), ft == T.BOOL)
                    self.assign_loc(fl, ft, item, env, b, pos)
                return
            if isinstance(dest, StructLoc):
                names = (
                    [n for n, _ in t.fields]
                    if isinstance(t, T.TStructLike)
                    else [str(i) for i in range(len(t.elems))]
                )
                types = (
                    [ft for _, ft in t.fields] if isinstance(t, T.TStructLike) else list(t.elems)
                )
                for n, ft, item in zip(names, types, items, strict=True):
                    self.assign_loc(dest.members[n], ft, item, env, b, pos)
                return
        src = self.conv.loc(rhs, env)
        self.copy_loc(dest, src, t, b, pos)

    def initializer_items(self, rhs: A.Expr, t: T.Type) -> list[A.Expr]:
        e = rhs.expr if isinstance(rhs, A.Cast) else rhs
        if isinstance(e, A.StructExpr):
            given = dict(e.items)
            return [given[n] for n, _ in t.fields]
        return list(e.items)

    def copy_loc(self: Backend, dest: Any, src: Any, t: T.Type, b: ActionBuilder, pos: Pos) -> None:
        frag = self.fragment(pos)
        if isinstance(dest, (FieldLoc, DynFieldLoc, StackFieldLoc)):
            b.emit("assign", [param(dest.json()), param(src.json())], pos, frag)
        elif isinstance(dest, HeaderLoc) and isinstance(src, (HeaderLoc, DynHeaderLoc)):
            b.emit("assign_header", [param(dest.json()), param(src.json())], pos, frag)
        elif isinstance(dest, DynHeaderLoc) and isinstance(src, (HeaderLoc, DynHeaderLoc)):
            b.emit("assign_header", [param(dest.json()), param(src.json())], pos, frag)
        elif isinstance(dest, UnionLoc) and isinstance(src, UnionLoc):
            b.emit("assign_union", [dest.json(), src.json()], pos, frag)
        elif isinstance(dest, StackLoc) and isinstance(src, StackLoc):
            b.emit("assign_header_stack", [dest.json(), src.json()], pos, frag)
        elif isinstance(dest, StructLoc) and isinstance(src, StructLoc):
            for n, d in dest.members.items():
                ft = t.field_type(n) if isinstance(t, T.TStructLike) else t.elems[int(n)]
                self.copy_loc(d, src.members[n], ft, b, pos)
        elif isinstance(dest, HeaderLoc) and isinstance(src, LastHeaderLoc):
            idx = expr("last_stack_index", None, src.stack.json())
            deref = expr("dereference_header_stack", src.stack.json(), idx)
            b.emit("assign_header", [param(dest.json()), param(deref)], pos, frag)
        else:
            raise CompileError.at(pos, f"assignment of {t} values is not supported here")

    # -- calls ------------------------------------------------------------------------------------
    def hoist(self: Backend, e: A.Expr | None, env: Env, b: ActionBuilder) -> None:
        """Evaluate calls nested in ``e`` (functions, value-returning externs) into temporaries."""
        if e is None or e.const is not None:
            return
        for child in subexpressions(e):
            self.hoist(child, env, b)
        if isinstance(e, A.Call) and e.kind in ("function", "extern_method", "extern_function"):
            if e.type == T.VOID:
                return
            results = env.ctx.setdefault("call_results", {})
            if id(e) in results:
                return
            tmp = self.storage.alloc(self.temp_name(), e.type)
            results[id(e)] = tmp
            self.call(e, env, b, e.pos, result=tmp)

    def call(
        self: Backend, c: A.Call, env: Env, b: ActionBuilder, pos: Pos, result: Any = None
    ) -> None:
        kind = c.kind
        for _, a in c.bound:
            if a is not None and kind not in ("action", "function"):
                self.hoist(a, env, b)
        if kind == "action":
            self.inline_action(c, env, b, pos)
        elif kind == "function":
            self.inline_function(c, env, b, pos, result)
        elif kind in ("extern_function", "extern_method"):
            self.extern_call(c, env, b, pos, result)
        elif kind == "builtin":
            self.builtin_call(c, env, b, pos)
        elif kind in ("table_apply", "block_apply"):
            raise CompileError.at(pos, "tables and controls cannot be applied inside an action")
        else:
            raise CompileError.at(pos, f"unsupported call ({kind})")

    def builtin_call(self: Backend, c: A.Call, env: Env, b: ActionBuilder, pos: Pos) -> None:
        name = c.callee
        frag = self.fragment(pos)
        if name == "isValid":
            return
        target = self.conv.loc(c.target.expr, env)
        if name in ("setValid", "setInvalid"):
            op = "add_header" if name == "setValid" else "remove_header"
            if isinstance(target, (HeaderLoc, DynHeaderLoc)):
                b.emit(op, [param(target.json())], pos, frag)
                return
            raise CompileError.at(pos, f"{name} on this expression is not supported")
        if name in ("push_front", "pop_front"):
            op = "push" if name == "push_front" else "pop"
            b.emit(op, [target.json(), hexstr(c.count, 32)], pos, frag)
            return
        raise CompileError.at(pos, f"{name}() cannot be used as a statement here")

    def bind_params(
        self: Backend, c: A.Call, env: Env, inner: Env, b: ActionBuilder, copy_out: list
    ) -> None:
        """Copy-in of arguments; out/inout arguments that are plain storage are aliased,
        others are copied in and recorded for copy-out."""
        # what the callee may write, as the caller sees it: names it writes directly, and the
        # arguments bound to the out/inout parameters it writes
        written = self.written_roots(c.callee)
        own = {id(p) for p, _ in c.bound}
        writes = {w for w in written if w not in own}
        direct = set(writes)
        for p, a in c.bound:
            if a is not None and p.direction in ("out", "inout") and id(p) in written:
                writes |= _roots(a)
        for p, a in c.bound:
            if a is None:
                loc = self.storage.alloc(self.temp_name(), p.type)
                inner.bind(p, loc)
                continue
            if p.direction in ("out", "inout"):
                loc = self.conv.loc(a, env)
                # copy-in/copy-out unless the argument can stand for the parameter: not a
                # run-time element, not also passed to another out/inout parameter (each
                # parameter is its own variable until copy-out), not written by the callee
                # directly
                shared = any(
                    q is not p
                    and b2 is not None
                    and q.direction in ("out", "inout")
                    and _overlap(_lpath(a), _lpath(b2))
                    for q, b2 in c.bound
                )
                if shared or (_roots(a) & direct) or isinstance(loc, (DynHeaderLoc, DynFieldLoc)):
                    tmp = self.storage.alloc(self.temp_name(), p.type)
                    if p.direction == "inout":
                        self.copy_loc(tmp, loc, p.type, b, a.pos)
                    copy_out.append((loc, tmp, p.type, a.pos))
                    loc = tmp
                inner.bind(p, loc)
                continue
            # in / directionless
            if a.const is not None or (
                isinstance(a, (A.PathExpr, A.Member, A.Index)) and not (_roots(a) & writes)
            ):
                inner.bind(p, ValueLoc(a, env))
                continue
            tmp = self.storage.alloc(self.temp_name(), p.type)
            self.assign_loc(tmp, p.type, a, env, b, a.pos)
            inner.bind(p, tmp)

    def inline_action(self: Backend, c: A.Call, env: Env, b: ActionBuilder, pos: Pos) -> None:
        d = c.callee
        self.note_action_use(d, env)
        inner = Env(self.decl_env(d, env), return_label=Label(), call_results={})
        inner.ctx["exit_label"] = env.ctx.get("exit_label")
        copy_out: list = []
        self.bind_params(c, env, inner, b, copy_out)
        self.lower_stmts(d.body.stmts, inner, b)
        b.place(inner.ctx["return_label"])
        for dest, tmp, t, apos in copy_out:
            self.copy_loc(dest, tmp, t, b, apos)

    def inline_function(
        self: Backend, c: A.Call, env: Env, b: ActionBuilder, pos: Pos, result: Any
    ) -> None:
        d = c.callee
        inner = Env(self.decl_env(d, env), return_label=Label(), call_results={})
        inner.ctx["exit_label"] = env.ctx.get("exit_label")
        inner.ctx["ret_type"] = d.ret_type
        if result is None and d.ret_type not in (None, T.VOID):
            # called as a statement: the value is computed (for its effects) and dropped
            result = self.storage.alloc(self.temp_name(), d.ret_type)
        inner.ctx["ret_loc"] = result
        copy_out: list = []
        self.bind_params(c, env, inner, b, copy_out)
        self.lower_stmts(d.body.stmts, inner, b)
        b.place(inner.ctx["return_label"])
        for dest, tmp, t, apos in copy_out:
            self.copy_loc(dest, tmp, t, b, apos)

    def written_roots(self, decl: Any) -> set[int]:
        """Declarations (by id) an action/function body may write (to decide aliasing)."""
        key = id(decl)
        cache = self.__dict__.setdefault("_writes_cache", {})
        if key not in cache:
            out: set[int] = set()
            cache[key] = out
            body = getattr(decl, "body", None)
            if body is not None:
                _collect_writes(body, out, self)
        return cache[key]


def _lpath(e: A.Expr) -> tuple | None:
    """The storage an lvalue names: (declaration, member/index, ...); '*' for a run-time
    index; None when unknown."""
    parts: list = []
    while True:
        if isinstance(e, A.Member):
            parts.append(e.name)
            e = e.expr
        elif isinstance(e, A.Index):
            parts.append(e.index.const if e.index.const is not None else "*")
            e = e.expr
        elif isinstance(e, (A.Slice, A.Cast)):
            parts.clear()  # a slice overlaps the whole of what it slices
            e = e.expr
        elif isinstance(e, A.PathExpr):
            parts.append(id(e.decl))
            return tuple(reversed(parts))
        else:
            return None


def _overlap(p: tuple | None, q: tuple | None) -> bool:
    if p is None or q is None:
        return True
    return all(x == y or x == "*" or y == "*" for x, y in zip(p, q, strict=False))


def _roots(e: A.Expr) -> set[int]:
    while isinstance(e, (A.Member, A.Index, A.Slice, A.Cast)):
        e = e.expr
    if isinstance(e, A.PathExpr):
        return {id(e.decl)}
    return set()


def _collect_writes(node: Any, out: set[int], be: Any) -> None:
    if isinstance(node, A.Assign):
        out |= _roots(node.lhs)
    elif isinstance(node, A.CallStmt):
        c = node.call
        for p, a in getattr(c, "bound", []):
            if a is not None and getattr(p, "direction", "") in ("out", "inout"):
                out |= _roots(a)
        if c.kind == "builtin" and c.callee in (
            "setValid",
            "setInvalid",
            "push_front",
            "pop_front",
        ):
            out |= _roots(c.target.expr)
        if c.kind in ("action", "function"):
            out |= be.written_roots(c.callee)
    elif isinstance(node, A.If):
        _collect_writes(node.then, out, be)
        if node.other is not None:
            _collect_writes(node.other, out, be)
    elif isinstance(node, A.Block):
        for s in node.stmts:
            _collect_writes(s, out, be)
    elif isinstance(node, A.Switch):
        for case in node.cases:
            if case.body is not None:
                _collect_writes(case.body, out, be)


__all__ = ["ActionBuilder", "Label", "StmtLowering", "param", "NextHeaderLoc", "ValueLoc"]
