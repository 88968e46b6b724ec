"""Conversion of typed P4 expressions to BMv2 JSON expressions (``type``/``value`` objects).

``rvalue`` gives a *data* expression (integers), ``cond`` a *boolean* one; BMv2 keeps the two
apart (``d2b``/``b2d`` convert). Arithmetic is done by BMv2 with unbounded integers, so results of
operations that can leave the P4 width are masked (unsigned) or wrapped with ``two_comp_mod``
(signed), as p4c does.
"""

from __future__ import annotations

from typing import Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError
from ..values import EnumVal, ErrorVal
from .storage import (
    DynFieldLoc,
    DynHeaderLoc,
    ExternLoc,
    FieldLoc,
    HeaderLoc,
    LastHeaderLoc,
    Loc,
    NextHeaderLoc,
    RuntimeLoc,
    StackFieldLoc,
    StackLoc,
    StructLoc,
    UnionLoc,
    ValueLoc,
    as_operand,
)


class Env:
    """Binds declarations (by identity) to locations, in nested scopes."""

    def __init__(self, parent: Env | None = None, **ctx: Any):
        self.parent = parent
        self.vars: dict[int, Any] = {}
        self.ctx: dict[str, Any] = dict(parent.ctx) if parent else {}
        self.ctx.update(ctx)

    def bind(self, decl: Any, loc: Any) -> None:
        self.vars[id(decl)] = loc

    def get(self, decl: Any) -> Any:
        e: Env | None = self
        while e is not None:
            if id(decl) in e.vars:
                return e.vars[id(decl)]
            e = e.parent
        return None

    def child(self, **ctx: Any) -> Env:
        return Env(self, **ctx)


def hexstr(value: int, width: int | None) -> dict:
    nbytes = max(1, ((width or max(1, abs(value).bit_length())) + 7) // 8)
    sign = "-" if value < 0 else ""
    return {"type": "hexstr", "value": f"{sign}0x{abs(value):0{2 * nbytes}x}"}


def expr(op: str, left: Any, right: Any, **extra: Any) -> dict:
    v = {"op": op, "left": as_operand(left), "right": as_operand(right)}
    v.update({k: as_operand(x) for k, x in extra.items()})
    return {"type": "expression", "value": v}


def mask_to(j: dict, width: int) -> dict:
    return expr("&", j, hexstr((1 << width) - 1, width))


def b2d(j: dict) -> dict:
    return expr("b2d", None, j)


def d2b(j: dict) -> dict:
    return expr("d2b", None, j)


def width_of(t: T.Type) -> int:
    w = T.serializable_width(T.underlying(t)) if not isinstance(t, T.TEnum) else None
    if w is not None:
        return w
    if isinstance(t, T.TEnum):
        return t.underlying.w if t.underlying else 32
    if isinstance(t, T.TInt):
        return 0
    raise CompileError.at(None, f"internal: no width for {t}")


class ExprConverter:
    """Expression conversion; ``errors`` maps error names to codes, ``enum_value`` numbers
    plain enums."""

    def __init__(self, error_codes: dict[str, int]):
        self.error_codes = error_codes

    # -- constants ----------------------------------------------------------------------------
    def const_value(self, v: Any, t: T.Type) -> int:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, EnumVal):
            if v.value is not None:
                return v.value
            return v.type.members.index(v.name)
        if isinstance(v, ErrorVal):
            return self.error_codes[v.name]
        if isinstance(v, int):
            return v
        raise CompileError.at(None, f"internal: unexpected constant {v!r}")

    def const_json(self, e: A.Expr) -> dict:
        t = e.type
        if isinstance(e.const, bool) or t == T.BOOL:
            return b2d({"type": "bool", "value": bool(e.const)})
        width = None if isinstance(t, T.TInt) else width_of(t)
        return hexstr(self.const_value(e.const, t), width)

    # -- locations -------------------------------------------------------------------------------
    def loc(self, e: A.Expr, env: Env) -> Loc:
        """The storage an l-value (or named aggregate) expression refers to."""
        if isinstance(e, A.PathExpr):
            loc = env.get(e.decl)
            if loc is None:
                raise CompileError.at(
                    e.pos, f"{e.name}: cannot be used here (no storage in this context)"
                )
            if (
                isinstance(loc, ValueLoc)
                and isinstance(loc.expr, A.Expr)
                and not isinstance(loc.expr, A.Call)
            ):
                return self.loc(loc.expr, loc.env)
            return loc
        if isinstance(e, A.Member):
            base = self.loc(e.expr, env)
            return self.member(base, e)
        if isinstance(e, A.Index):
            base = self.loc(e.expr, env)
            if isinstance(base, StackLoc):
                if isinstance(e.index.const, int):
                    return base.elems[e.index.const]
                return DynHeaderLoc(base, self.rvalue(e.index, env))
            if isinstance(base, StructLoc):
                return base.members[str(e.index.const)]
        if isinstance(e, A.Call) and id(e) in env.ctx.get("call_results", {}):
            return env.ctx["call_results"][id(e)]
        if isinstance(e, A.Cast) and isinstance(e.expr, A.Call):
            return self.loc(e.expr, env)
        raise CompileError.at(e.pos, "expression does not denote a storage location")

    def member(self, base: Loc, e: A.Member) -> Loc:
        name = e.name
        if isinstance(base, StructLoc):
            return base.members[name]
        if isinstance(base, HeaderLoc):
            return base.fields[name]
        if isinstance(base, UnionLoc):
            return base.members[name]
        if isinstance(base, StackLoc):
            if name == "next":
                return NextHeaderLoc(base)
            if name == "last":
                return LastHeaderLoc(base)
        if isinstance(base, DynHeaderLoc):
            fields = [n for n, _ in base.stack.stype.elem.fields]
            ft = base.stack.stype.elem.field_type(name)
            return DynFieldLoc(base, fields.index(name), width_of(ft), _signed(ft), ft == T.BOOL)
        if isinstance(base, LastHeaderLoc):
            ft = base.stack.stype.elem.field_type(name)
            return StackFieldLoc(base.stack, name, width_of(ft), _signed(ft), ft == T.BOOL)
        raise CompileError.at(e.pos, f"cannot access member {name} here")

    # -- r-values ------------------------------------------------------------------------------
    def rvalue(self, e: A.Expr, env: Env, top: bool = False) -> dict:
        """A data-valued JSON expression for ``e`` (bool values become 0/1)."""
        if e.const is not None and not isinstance(e.const, str):
            return self.const_json(e)
        t = e.type
        if t == T.BOOL:
            if self._is_stored(e) or (
                isinstance(e, A.Call) and id(e) in env.ctx.get("call_results", {})
            ):
                return self._leaf(e, env)
            return b2d(self.cond(e, env))
        if isinstance(e, (A.PathExpr, A.Member, A.Index)) or (
            isinstance(e, A.Call) and id(e) in env.ctx.get("call_results", {})
        ):
            return self._leaf(e, env)
        if isinstance(e, A.Call):
            raise CompileError.at(
                e.pos, "this call cannot be used inside an expression on this target"
            )
        w = width_of(t) if not isinstance(t, T.TInt) else 0
        signed = _signed(t)
        if isinstance(e, A.Unary):
            inner = self.rvalue(e.expr, env)
            if e.op == "+":
                return inner
            if e.op == "-":  # 0 - x (BMv2 also accepts a null left operand; p4c emits that)
                return self._wrap(expr("-", hexstr(0, w or 8), inner), w, signed, top)
            return self._wrap(expr("~", None, inner), w, signed, top)
        if isinstance(e, A.Binary):
            return self._binary_data(e, env, w, signed, top)
        if isinstance(e, A.Ternary):
            return expr(
                "?",
                self.rvalue(e.then, env),
                self.rvalue(e.other, env),
                cond=self.cond(e.cond, env),
            )
        if isinstance(e, A.Cast):
            return self._cast(e, env, top)
        if isinstance(e, A.Slice):
            inner = self.rvalue(e.expr, env)
            lo = e.lo.const
            width = e.hi.const - lo + 1
            if lo:
                inner = expr(">>", inner, hexstr(lo, 8))
            return mask_to(inner, width)
        raise CompileError.at(e.pos, f"unsupported expression ({type(e).__name__}) on this target")

    def _is_stored(self, e: A.Expr) -> bool:
        return isinstance(e, (A.PathExpr, A.Member, A.Index)) and not (
            isinstance(e, A.Member) and e.name in ("hit", "miss")
        )

    def _leaf(self, e: A.Expr, env: Env) -> dict:
        if isinstance(e, A.PathExpr):
            loc = env.get(e.decl)
            if isinstance(loc, ValueLoc):
                return self.rvalue(loc.expr, loc.env)
            if isinstance(loc, dict):  # a pre-converted JSON value
                return loc
        if isinstance(e, A.Member) and isinstance(e.expr.type, T.TStack):
            stack = self.loc(e.expr, env)
            if e.name == "lastIndex":
                return expr("last_stack_index", None, stack.json())
            if e.name == "nextIndex":
                return expr("size_stack", None, stack.json())
        loc = self.loc(e, env)
        if isinstance(loc, (FieldLoc, RuntimeLoc, DynFieldLoc, StackFieldLoc)):
            return loc.json()
        raise CompileError.at(e.pos, "this value cannot be used as a number here")

    def _wrap(self, j: dict, w: int, signed: bool, top: bool) -> dict:
        if w == 0:
            return j
        if signed:
            return expr("two_comp_mod", j, hexstr(w, 32))
        if top:
            return j
        return mask_to(j, w)

    def _binary_data(self, e: A.Binary, env: Env, w: int, signed: bool, top: bool) -> dict:
        op = e.op
        if op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
            return b2d(self.cond(e, env))
        if op == "++":
            lw = width_of(e.left.type)
            rw = width_of(e.right.type)
            left = self.rvalue(e.left, env)
            right = self.rvalue(e.right, env)
            if _signed(e.left.type):
                left = mask_to(left, lw)
            if _signed(e.right.type):
                right = mask_to(right, rw)
            j = expr("|", expr("<<", left, hexstr(rw, 32)), right)
            if signed:
                return expr("two_comp_mod", j, hexstr(w, 32))
            return j
        left = self.rvalue(e.left, env)
        right = self.rvalue(e.right, env)
        if op in ("|+|", "|-|"):
            base = expr("+" if op == "|+|" else "-", left, right)
            return expr("sat_cast" if signed else "usat_cast", base, hexstr(w, 32))
        j = expr(op, left, right)
        if op in ("+", "-", "*", "<<"):
            return self._wrap(j, w, signed, top)
        if signed and op in ("/", "%", ">>", "&", "|", "^"):
            return j
        return j

    def _cast(self, e: A.Cast, env: Env, top: bool) -> dict:
        src, dst = e.expr.type, e.type
        sb, db = T.underlying(src), T.underlying(dst)
        if src == T.BOOL and isinstance(db, T.TBits):
            return self.rvalue(e.expr, env)
        inner = self.rvalue(e.expr, env)
        if isinstance(db, T.TBits) and isinstance(sb, T.TBits):
            if db.signed:
                if sb.signed and db.w >= sb.w:
                    return inner
                return expr("two_comp_mod", inner, hexstr(db.w, 32))
            if sb.signed or db.w < sb.w:
                return mask_to(inner, db.w)
            return inner
        if isinstance(db, T.TBits) and isinstance(src, T.TEnum):
            return inner
        return inner

    # -- booleans --------------------------------------------------------------------------------
    def cond(self, e: A.Expr, env: Env) -> dict:
        """A boolean JSON expression for a bool-typed ``e``."""
        if isinstance(e.const, bool):
            return {"type": "bool", "value": e.const}
        if isinstance(e, A.Unary) and e.op == "!":
            return expr("not", None, self.cond(e.expr, env))
        if isinstance(e, A.Binary):
            if e.op in ("&&", "||"):
                return expr(
                    "and" if e.op == "&&" else "or", self.cond(e.left, env), self.cond(e.right, env)
                )
            if e.op in ("==", "!=", "<", ">", "<=", ">="):
                return self._compare(e, env)
        if (
            isinstance(e, A.Call)
            and getattr(e, "kind", None) == "builtin"
            and e.callee == "isValid"
        ):
            return self.is_valid(e.target.expr, env)
        if isinstance(e, A.Ternary):
            return expr(
                "?", self.cond(e.then, env), self.cond(e.other, env), cond=self.cond(e.cond, env)
            )
        if isinstance(e, A.Cast) and e.type == T.BOOL:
            return d2b(self.rvalue(e.expr, env))
        if (
            isinstance(e, A.Member)
            and e.name in ("hit", "miss")
            and id(e) in env.ctx.get("call_results", {})
        ):
            return d2b(env.ctx["call_results"][id(e)].json())
        if (
            e.type == T.BOOL
            and not self._is_stored(e)
            and not (isinstance(e, A.Call) and id(e) in env.ctx.get("call_results", {}))
        ):
            raise CompileError.at(e.pos, "this boolean expression is not supported on this target")
        return d2b(self.rvalue(e, env))

    def is_valid(self, target: A.Expr, env: Env) -> dict:
        loc = self.loc(target, env)
        if isinstance(loc, HeaderLoc):
            return d2b({"type": "field", "value": [loc.name, "$valid$"]})
        if isinstance(loc, UnionLoc):
            return expr("valid_union", None, loc.json())
        if isinstance(loc, DynHeaderLoc):
            return expr("valid", None, loc.json())
        if isinstance(loc, LastHeaderLoc):
            idx = expr("last_stack_index", None, loc.stack.json())
            return expr("valid", None, expr("dereference_header_stack", loc.stack.json(), idx))
        raise CompileError.at(target.pos, "isValid() on this expression is not supported")

    def _compare(self, e: A.Binary, env: Env) -> dict:
        lt = e.left.type
        if isinstance(lt, T.TStructLike) and lt.kind == "header":
            left, right = self.loc(e.left, env), self.loc(e.right, env)
            return expr(e.op, left.json(), right.json())
        if isinstance(lt, (T.TStructLike, T.TTuple, T.TStack)):
            if isinstance(e.left, (A.ListExpr, A.StructExpr)) or isinstance(
                e.right, (A.ListExpr, A.StructExpr)
            ):
                raise CompileError.at(
                    e.pos, f"comparing {lt} values is not supported on this target"
                )
            # structs, stacks, unions: equal when all their parts are (headers compare
            # validity and fields, as BMv2's '==' on headers does)
            parts = self._eq_parts(self.loc(e.left, env), self.loc(e.right, env), e.pos)
            if not parts:
                whole = {"type": "bool", "value": True}
            else:
                whole = parts[0]
                for p in parts[1:]:
                    whole = expr("and", whole, p)
            return expr("not", None, whole) if e.op == "!=" else whole
        return expr(e.op, self.rvalue(e.left, env), self.rvalue(e.right, env))

    def _eq_parts(self, a: Any, b: Any, pos: Any) -> list[dict]:
        if isinstance(a, (HeaderLoc, DynHeaderLoc)) and isinstance(b, (HeaderLoc, DynHeaderLoc)):
            return [expr("==", a.json(), b.json())]
        if isinstance(a, StackLoc) and isinstance(b, StackLoc) and len(a.elems) == len(b.elems):
            return [expr("==", x.json(), y.json()) for x, y in zip(a.elems, b.elems, strict=True)]
        if isinstance(a, UnionLoc) and isinstance(b, UnionLoc):
            return [expr("==", a.json(), b.json())]
        if isinstance(a, StructLoc) and isinstance(b, StructLoc):
            out: list[dict] = []
            for n, x in a.members.items():
                out += self._eq_parts(x, b.members[n], pos)
            return out
        if hasattr(a, "json") and hasattr(b, "json") and not isinstance(a, (StackLoc, UnionLoc)):
            return [expr("==", a.json(), b.json())]
        raise CompileError.at(pos, "comparing these values is not supported on this target")


def _signed(t: T.Type) -> bool:
    b = T.underlying(t)
    return isinstance(b, T.TBits) and b.signed


__all__ = ["Env", "ExprConverter", "hexstr", "expr", "b2d", "d2b", "width_of", "ExternLoc"]
