"""Type checking and constant folding of expressions and calls."""

from __future__ import annotations

from typing import Any

from . import ast as A
from . import types as T
from .check_types import BuiltinConst, Overloads, Scope, TypeParam, TypeResolver, err
from .diagnostics import warning
from .values import ActionVal, EnumVal, ErrorVal, FoldError, fold_binary, fold_unary

ARITH = {"+", "-", "*", "/", "%", "|+|", "|-|"}
BITWISE = {"&", "|", "^"}
ORDER = {"<", ">", "<=", ">="}
EQUALITY = {"==", "!="}
HEADER_METHODS = {"isValid", "setValid", "setInvalid", "minSizeInBits", "minSizeInBytes"}


class ExprChecker(TypeResolver):
    # -- entry points --------------------------------------------------------------------------
    def check_expr(self, e: A.Expr, scope: Scope, expected: T.Type | None = None) -> T.Type:
        if e.type is None:
            e.type = self._expr(e, scope)
        if expected is not None:
            self.coerce(e, expected, scope)
        return e.type

    def coerce(self, e: A.Expr, target: T.Type, scope: Scope, what: str = "") -> None:
        """Implicit conversion of ``e`` to ``target`` (int literals, list/struct expressions)."""
        src = e.type
        if (
            target is None
            or isinstance(target, (T.TVar, T.TDontCare))
            or self.compatible(src, target)
        ):
            return
        if isinstance(src, T.TInt) and isinstance(target, (T.TBits, T.TSet)):
            tt = target.elem if isinstance(target, T.TSet) else target
            if isinstance(tt, T.TBits):
                e.type = tt
                if isinstance(e.const, int) and not isinstance(e.const, bool):
                    e.const = tt.wrap(e.const)
                return
        if isinstance(target, T.TSet):
            self.coerce(e, target.elem, scope, what)
            return
        if isinstance(e, A.ListExpr) and isinstance(target, (T.TStructLike, T.TTuple)):
            elems = (
                [t for _, t in target.fields]
                if isinstance(target, T.TStructLike)
                else list(target.elems)
            )
            if len(elems) != len(e.items):
                raise err(e.pos, f"expected {len(elems)} elements for {target}, got {len(e.items)}")
            for item, t in zip(e.items, elems, strict=True):
                self.coerce(item, t, scope, what)
            e.type = target
            return
        if isinstance(e, A.StructExpr) and isinstance(target, T.TStructLike):
            names = [n for n, _ in target.fields]
            given = [n for n, _ in e.items]
            if sorted(names) != sorted(given):
                raise err(
                    e.pos, f"struct initializer fields {given} do not match {target} fields {names}"
                )
            for n, item in e.items:
                self.coerce(item, target.field_type(n), scope, what)
            e.type = target
            return
        if isinstance(e, A.Ternary) and isinstance(src, T.TInt):
            self.coerce(e.then, target, scope, what)
            self.coerce(e.other, target, scope, what)
            e.type = target
            return
        raise err(e.pos, f"{what}type mismatch: expected {target}, got {src}")

    def compatible(self, src: T.Type, dst: T.Type) -> bool:
        if T.same_type(src, dst):
            return True
        if isinstance(dst, T.TSet) and isinstance(src, T.TSet):
            return self.compatible(src.elem, dst.elem)
        if isinstance(dst, T.TSet):
            return self.compatible(src, dst.elem)
        if isinstance(src, T.TList) and isinstance(dst, T.TTuple):
            return len(src.elems) == len(dst.elems) and all(
                self.compatible(a, b) for a, b in zip(src.elems, dst.elems, strict=True)
            )
        return False

    # -- dispatch --------------------------------------------------------------------------------
    def _expr(self, e: A.Expr, scope: Scope) -> T.Type:
        if isinstance(e, A.IntLit):
            if e.width is None:
                e.const = e.value
                return T.INT
            t = T.TBits(e.width, e.signed)
            e.const = t.wrap(e.value)
            return t
        if isinstance(e, A.BoolLit):
            e.const = e.value
            return T.BOOL
        if isinstance(e, A.StringLit):
            e.const = e.value
            return T.STRING
        if isinstance(e, A.PathExpr):
            return self._path(e, scope)
        if isinstance(e, A.TypeExpr):
            return T.TTypeType(self.resolve_type(e.ref, scope))
        if isinstance(e, A.Member):
            return self._member(e, scope)
        if isinstance(e, A.Index):
            return self._index(e, scope)
        if isinstance(e, A.Slice):
            return self._slice(e, scope)
        if isinstance(e, A.Call):
            return self.check_call(e, scope)
        if isinstance(e, A.Unary):
            return self._unary(e, scope)
        if isinstance(e, A.Binary):
            return self._binary(e, scope)
        if isinstance(e, A.Ternary):
            return self._ternary(e, scope)
        if isinstance(e, A.Cast):
            return self._cast(e, scope)
        if isinstance(e, A.ListExpr):
            types = tuple(self.check_expr(i, scope) for i in e.items)
            return T.TList(types)
        if isinstance(e, A.StructExpr):
            if len({n for n, _ in e.items}) != len(e.items):
                raise err(e.pos, "duplicate field in struct initializer")
            return T.TStructExpr(tuple((n, self.check_expr(v, scope)) for n, v in e.items))
        if isinstance(e, A.Mask):
            vt = self.check_expr(e.value, scope)
            mt = self.check_expr(e.mask, scope)
            return T.TSet(self._unify(e, vt, mt, "&&&"))
        if isinstance(e, A.RangeExpr):
            lt = self.check_expr(e.lo, scope)
            ht = self.check_expr(e.hi, scope)
            return T.TSet(self._unify(e, lt, ht, ".."))
        if isinstance(e, A.DefaultExpr):
            return T.DONTCARE
        raise err(e.pos, f"unsupported expression {type(e).__name__}")

    def _path(self, e: A.PathExpr, scope: Scope) -> T.Type:
        d = self.lookup(scope, e.name, e.pos, e.absolute)
        e.decl = d
        if isinstance(d, A.ConstDecl):
            e.const = d.const
            return d.type
        if isinstance(d, BuiltinConst):
            e.const = d.value
            return d.type
        if isinstance(d, (A.VarDecl, A.Param, A.Instance)):
            if getattr(d, "type", None) is None:
                raise err(e.pos, f"{e.name}: used before its declaration")
            if isinstance(d, A.Param) and getattr(d, "const", None) is not None:
                e.const = d.const
            return d.type
        if isinstance(d, A.ActionDecl):
            return T.TAction(d)
        if isinstance(d, (A.FunctionDecl, Overloads)):
            return T.TFunction(d)
        if isinstance(d, A.TableDecl):
            return T.TTable(d)
        if isinstance(d, A.ValueSetDecl):
            return T.TSet(d.type)
        if isinstance(d, A.StateDecl):
            return T.STATE
        if isinstance(d, TypeParam):
            return T.TTypeType(T.TVar(d.name))
        return T.TTypeType(self.type_of_type_decl(d, e.pos, (), e.name))

    # -- members, indexing, slices ----------------------------------------------------------------------
    def _member(self, e: A.Member, scope: Scope) -> T.Type:
        inner = e.expr
        it = self.check_expr(inner, scope)
        name, npos = e.name, e.name_pos or e.pos
        if (
            isinstance(it, T.TTypeType)
            and isinstance(it.of, T.TBlock)
            and isinstance(it.of.decl, (A.ControlDecl, A.ParserDecl))
            and name == "apply"
        ):
            # direct type invocation: C.apply(...) applies an anonymous instance C() declared
            # in the enclosing block (named C_inst, control-plane name C, as p4c does)
            inst = self._direct_instance(inner, it.of.decl, scope)
            path = A.PathExpr(inner.pos, inst.name)
            path.decl, path.type = inst, inst.type
            e.expr = path
            return T.TMethod(name, inst.type, builtin="block_apply")
        if isinstance(it, T.TTypeType):
            of = it.of
            if isinstance(of, T.TStructLike) and name in ("minSizeInBits", "minSizeInBytes"):
                return T.TMethod(name, of, builtin=name)
            t, v = self.type_member(of, name, npos)
            e.const = v
            return t
        if isinstance(it, T.TStructLike):
            ft = it.field_type(name)
            if ft is not None:
                return ft
            if it.kind in ("header", "header_union") and name in HEADER_METHODS:
                if it.kind == "header_union" and name != "isValid":
                    raise err(npos, f"{name}: not a method of header_union {it.name}")
                return T.TMethod(name, it, builtin=name)
            raise err(npos, f"{name}: no such field in {it.kind} {it.name}")
        if isinstance(it, T.TStack):
            in_parser = scope.enclosing("parser") is not None
            # the P4_16 rules p4c enforces (spec 8.18: next, last and lastIndex are parser-only,
            # push_front and pop_front control-only)
            if name in ("next", "last"):
                if not in_parser:
                    raise err(
                        e.pos,
                        f"{_text(e)}: 'last', and 'next' for stacks can only be used in a parser",
                    )
                return it.elem
            if name in ("lastIndex", "nextIndex"):
                if not in_parser:
                    raise err(
                        e.pos, f"{_text(e)}: '{name}' for stacks can only be used in a parser"
                    )
                return T.TBits(32)
            if name == "size":
                e.const = it.size
                return T.TBits(32)
            if name in ("push_front", "pop_front"):
                if in_parser:
                    raise err(
                        e.pos,
                        f"{_text(e)}: 'push_front' and 'pop_front' for stacks cannot be used in "
                        "a parser",
                    )
                return T.TMethod(name, it, builtin=name)
            raise err(npos, f"{name}: no such member of header stack {it}")
        if isinstance(it, T.TExtern):
            methods = [m for m in it.decl.methods if m.name == name and m.ret is not None]
            if not methods:
                raise err(npos, f"{name}: no such method in extern {it.decl.name}")
            return T.TMethod(name, it, methods)
        if isinstance(it, T.TTable):
            if name == "apply":
                return T.TMethod(name, it, builtin="table_apply")
            raise err(npos, f"{name}: tables only have an apply() method")
        if isinstance(it, T.TBlock):
            if name == "apply":
                return T.TMethod(name, it, builtin="block_apply")
            raise err(npos, f"{name}: no such member of {it.kind} {it.name}")
        if isinstance(it, T.TApplyResult):
            if name in ("hit", "miss"):
                return T.BOOL
            if name == "action_run":
                return T.TActionRun(it.table)
            raise err(npos, f"{name}: apply results have hit, miss and action_run")
        raise err(npos, f"{name}: {it} has no members")

    def _direct_instance(self, at: A.Expr, decl: Any, scope: Scope) -> A.Instance:
        block: Scope | None = scope
        while block is not None and not (
            block.kind in ("control", "parser")
            and isinstance(block.owner, (A.ControlDecl, A.ParserDecl))
        ):
            block = block.parent
        if block is None:
            raise err(at.pos, f"{decl.name}.apply: only parsers and controls can apply {decl.name}")
        owner = block.owner
        taken = {d.name for d in owner.locals} | set(block.names)
        name, n = f"{decl.name}_inst", 0
        while name in taken:
            n += 1
            name = f"{decl.name}_inst_{n}"
        label = A.Annotation(at.pos, "name", [], [A.StringLit(at.pos, decl.name)])
        inst = A.Instance(at.pos, name, [label], A.NamedType(at.pos, decl.name), [])
        self.check_instance(inst, block)  # type: ignore[attr-defined]
        owner.locals.append(inst)
        return inst

    def _index(self, e: A.Index, scope: Scope) -> T.Type:
        it = self.check_expr(e.expr, scope)
        xt = self.check_expr(e.index, scope)
        if isinstance(it, T.TStack):
            if not isinstance(T.underlying(xt), (T.TBits, T.TInt)) or isinstance(xt, T.TEnum):
                # bit<W>, int<W> (p4c accepts signed indexes: a negative one is out of range)
                raise err(e.index.pos, f"stack index must be an integer, not {xt}")
            if isinstance(e.index.const, int) and not 0 <= e.index.const < it.size:
                raise err(e.index.pos, f"index {e.index.const} out of bounds for {it}")
            return it.elem
        if isinstance(it, (T.TTuple, T.TList)):
            if not isinstance(e.index.const, int):
                raise err(e.index.pos, "tuple index must be a compile-time constant")
            if not 0 <= e.index.const < len(it.elems):
                raise err(e.index.pos, f"index {e.index.const} out of bounds for {it}")
            return it.elems[e.index.const]
        raise err(e.pos, f"cannot index a value of type {it}")

    def _slice(self, e: A.Slice, scope: Scope) -> T.Type:
        it = self.check_expr(e.expr, scope)
        hi = self.const_int(e.hi, scope, "slice bound")
        lo = self.const_int(e.lo, scope, "slice bound")
        base = T.underlying(it)
        if isinstance(base, T.TInt):
            if e.expr.const is None:
                raise err(e.pos, "slices of int values need a compile-time constant")
        elif not isinstance(base, T.TBits):
            raise err(e.pos, f"cannot slice a value of type {it}")
        if lo < 0 or hi < lo or (isinstance(base, T.TBits) and hi >= base.w):
            raise err(e.pos, f"invalid slice [{hi}:{lo}] of {it}")
        rt = T.TBits(hi - lo + 1)
        if isinstance(e.expr.const, int):
            e.const = (e.expr.const >> lo) & rt.mask()
        return rt

    # -- operators -------------------------------------------------------------------------------
    def _unary(self, e: A.Unary, scope: Scope) -> T.Type:
        t = self.check_expr(e.expr, scope)
        if e.op == "!":
            if t != T.BOOL:
                raise err(e.pos, f"'!' needs a bool operand, not {t}")
        elif e.op == "~":
            if not isinstance(t, T.TBits):
                raise err(e.pos, f"'~' needs a bit<> or int<> operand, not {t}")
        elif not isinstance(t, (T.TBits, T.TInt)):
            raise err(e.pos, f"unary '{e.op}' needs an integer operand, not {t}")
        if e.expr.const is not None and not isinstance(e.expr.const, (EnumVal, ErrorVal)):
            e.const = fold_unary(e.op, e.expr.const, t)
        return t

    def _unify(self, e: A.Expr, lt: T.Type, rt: T.Type, op: str) -> T.Type:
        left = getattr(e, "left", None) or getattr(e, "value", None) or getattr(e, "lo", None)
        right = getattr(e, "right", None) or getattr(e, "mask", None) or getattr(e, "hi", None)
        if isinstance(lt, T.TInt) and isinstance(rt, T.TInt):
            return T.INT
        if isinstance(lt, T.TInt) and isinstance(rt, T.TBits):
            self.coerce(left, rt, None)
            return rt
        if isinstance(rt, T.TInt) and isinstance(lt, T.TBits):
            self.coerce(right, lt, None)
            return lt
        if T.same_type(lt, rt):
            return lt
        if isinstance(lt, T.TBits) and isinstance(rt, T.TBits):
            if lt.w != rt.w:
                raise err(e.pos, f"'{op}': width mismatch between {lt} and {rt}")
            raise err(e.pos, f"'{op}': signedness mismatch between {lt} and {rt}")
        raise err(e.pos, f"'{op}': cannot operate on {lt} and {rt}")

    def _binary(self, e: A.Binary, scope: Scope) -> T.Type:
        op = e.op
        if op in ("&&", "||"):
            self.check_expr(e.left, scope, T.BOOL)
            self.check_expr(e.right, scope, T.BOOL)
            lc, rc = e.left.const, e.right.const
            if lc is not None and rc is not None:
                e.const = fold_binary(op, lc, rc, T.BOOL)
            elif lc is not None and ((op == "&&" and not lc) or (op == "||" and lc)):
                e.const = bool(lc)
            return T.BOOL
        lt = self.check_expr(e.left, scope)
        rt = self.check_expr(e.right, scope)
        if op == "++":
            lb, rb = T.underlying(lt), T.underlying(rt)
            if not isinstance(lb, T.TBits) or not isinstance(rb, T.TBits):
                raise err(e.pos, f"'++' needs bit<> or int<> operands, not {lt} and {rt}")
            t = T.TBits(lb.w + rb.w, lb.signed)
            if isinstance(e.left.const, int) and isinstance(e.right.const, int):
                e.const = t.wrap(((e.left.const & lb.mask()) << rb.w) | (e.right.const & rb.mask()))
            return t
        if op in ("<<", ">>"):
            if not isinstance(lt, (T.TBits, T.TInt)):
                raise err(e.pos, f"'{op}': left operand must be an integer, not {lt}")
            if isinstance(rt, T.TBits) and rt.signed or not isinstance(rt, (T.TBits, T.TInt)):
                raise err(e.pos, f"'{op}': shift amount must be an unsigned integer, not {rt}")
            if isinstance(rt, T.TInt) and isinstance(e.right.const, int) and e.right.const < 0:
                raise err(e.pos, f"'{op}': negative shift amount")
            if isinstance(lt, T.TInt) and e.right.const is None:
                raise err(e.pos, f"'{op}': shifting an int needs a constant shift amount")
            if isinstance(rt, T.TInt) and e.right.const is not None:
                e.right.type = T.TBits(max(1, int(e.right.const).bit_length()))
            self._fold(e, lt)
            return lt
        if op in ("/", "%"):
            what = "division" if op == "/" else "modulo"
            rc = e.right.const
            if isinstance(rc, int) and not isinstance(rc, bool) and rc == 0:
                raise err(e.pos, f"{what} by zero")
            if (e.left.const is None or rc is None) and not _power_of_two(rc):
                # p4c folds constant operands and turns a power-of-two divisor into a shift or
                # a mask; any other run-time '/' or '%' it refuses (BMv2 has both operators)
                self.warnings.append(
                    warning(
                        e.pos,
                        f"'{op}' of a run-time value by a divisor that is not a constant power "
                        f"of two is a cpn-p4 extension that p4c does not accept (run-time "
                        f"{what})",
                    )
                )
            for side, st in ((e.left, lt), (e.right, rt)):
                c = side.const
                if isinstance(st, T.TInt) and isinstance(c, int) and c < 0:
                    raise err(e.pos, f"'{op}': {what} is not defined on negative numbers")
        t = self._unify(e, lt, rt, op)
        base = T.underlying(t)
        if op in ARITH:
            if not isinstance(base, (T.TBits, T.TInt)) or isinstance(t, T.TEnum):
                raise err(e.pos, f"'{op}' needs integer operands, not {t}")
            if op in ("|+|", "|-|") and not isinstance(t, T.TBits):
                raise err(e.pos, f"'{op}' needs bit<> or int<> operands, not {t}")
        elif op in BITWISE:
            if not isinstance(base, (T.TBits, T.TInt)) or isinstance(t, T.TEnum):
                raise err(e.pos, f"'{op}' needs integer operands, not {t}")
        elif op in ORDER:
            if not isinstance(t, (T.TBits, T.TInt)):
                raise err(e.pos, f"'{op}' needs integer operands, not {t}")
        elif op in EQUALITY:
            if isinstance(t, (T.TVoid, T.TExtern, T.TTable)):
                raise err(e.pos, f"'{op}' cannot compare values of type {t}")
        self._fold(e, t)
        return T.BOOL if op in ORDER or op in EQUALITY else t

    def _fold(self, e: A.Binary, t: T.Type) -> None:
        lc, rc = e.left.const, e.right.const
        if lc is None or rc is None:
            return
        if isinstance(lc, (EnumVal, ErrorVal, ActionVal)) or isinstance(rc, (EnumVal, ErrorVal)):
            if e.op in EQUALITY:
                e.const = (lc == rc) if e.op == "==" else (lc != rc)
            return
        if isinstance(lc, str) or isinstance(rc, str):
            return
        try:
            e.const = fold_binary(e.op, lc, rc, T.underlying(t))
        except FoldError as x:
            raise err(e.pos, str(x)) from None

    def _ternary(self, e: A.Ternary, scope: Scope) -> T.Type:
        self.check_expr(e.cond, scope, T.BOOL)
        at = self.check_expr(e.then, scope)
        bt = self.check_expr(e.other, scope)
        t = self._unify_branches(e, at, bt)
        if e.cond.const is not None:
            chosen = e.then if e.cond.const else e.other
            e.const = chosen.const
        return t

    def _unify_branches(self, e: A.Ternary, at: T.Type, bt: T.Type) -> T.Type:
        if isinstance(at, T.TInt) and isinstance(bt, T.TBits):
            self.coerce(e.then, bt, None)
            return bt
        if isinstance(bt, T.TInt) and isinstance(at, T.TBits):
            self.coerce(e.other, at, None)
            return at
        if self.compatible(at, bt):
            return at
        raise err(e.pos, f"'?:' branches have different types {at} and {bt}")

    def _cast(self, e: A.Cast, scope: Scope) -> T.Type:
        to = self.resolve_type(e.to, scope)
        src = self.check_expr(e.expr, scope)
        c = e.expr.const
        if T.same_type(src, to):
            e.const = c
            return to
        sb, tb = T.underlying(src), T.underlying(to)
        ok = False
        if isinstance(tb, T.TBits) and isinstance(sb, (T.TBits, T.TInt)):
            ok = not (isinstance(to, T.TEnum) and isinstance(sb, T.TBits) and sb.w != tb.w)
            if isinstance(c, int) and not isinstance(c, bool):
                e.const = tb.wrap(c)
                if isinstance(to, T.TEnum):
                    names = [n for n, v in to.values.items() if v == e.const]
                    e.const = EnumVal(to, names[0], e.const) if names else None
        elif isinstance(tb, T.TBits) and src == T.BOOL and tb.w == 1:
            ok = True
            if c is not None:
                e.const = int(bool(c))
        elif to == T.BOOL and (isinstance(sb, T.TBits) and sb.w == 1 or isinstance(sb, T.TInt)):
            ok = True
            if isinstance(c, int):
                if c not in (0, 1):
                    raise err(e.pos, f"cannot cast {c} to bool")
                e.const = bool(c)
        elif isinstance(src, T.TEnum) and src.underlying and isinstance(tb, T.TBits):
            ok = True
            if isinstance(c, EnumVal):
                e.const = tb.wrap(c.value)
        elif isinstance(to, T.TNewType) and self.compatible(src, to.base):
            ok, e.const = True, c
        elif isinstance(to, T.TNewType) and isinstance(src, T.TInt) and isinstance(tb, T.TBits):
            ok = True
            if isinstance(c, int) and not isinstance(c, bool):
                e.const = tb.wrap(c)
        elif isinstance(src, T.TNewType) and self.compatible(src.base, to):
            ok, e.const = True, c
        elif isinstance(e.expr, (A.ListExpr, A.StructExpr)) and isinstance(
            to, (T.TStructLike, T.TTuple)
        ):
            self.coerce(e.expr, to, scope)
            ok = True
        if not ok:
            raise err(e.pos, f"cannot cast {src} to {to}")
        return to

    # -- calls -------------------------------------------------------------------------------------
    def check_call(self, call: A.Call, scope: Scope) -> T.Type:
        from .check_calls import check_call

        return check_call(self, call, scope)

    def lvalue(self, e: A.Expr, scope: Scope, what: str = "assign to") -> None:
        """Reject writes to constants, read-only parameters and non-l-values."""
        if isinstance(e, A.PathExpr):
            d = e.decl
            if isinstance(d, A.VarDecl):
                return
            if isinstance(d, A.Param):
                if d.direction in ("out", "inout"):
                    return
                kind = "an 'in'" if d.direction == "in" else "a directionless"
                raise err(e.pos, f"{e.name}: cannot {what} {kind} parameter")
            if isinstance(d, A.ConstDecl):
                raise err(e.pos, f"{e.name}: cannot {what} a constant")
            raise err(e.pos, f"{e.name}: cannot {what} this expression (not a left-value)")
        if isinstance(e, A.Member):
            it = e.expr.type
            if isinstance(it, (T.TStructLike, T.TStack)):
                self.lvalue(e.expr, scope, what)
                return
        if isinstance(e, (A.Index, A.Slice)):
            self.lvalue(e.expr, scope, what)
            return
        raise err(e.pos, f"cannot {what} this expression (not a left-value)")

    def const_value(self, e: A.Expr) -> Any:
        return e.const


def _text(e: A.Expr) -> str:
    """Source-like text of a path/member/index expression, for messages (as p4c prints it)."""
    if isinstance(e, A.PathExpr):
        return ("." if e.absolute else "") + e.name
    if isinstance(e, A.Member):
        inner = e.expr
        return f"{_text(inner) if isinstance(inner, A.Expr) else '?'}.{e.name}"
    if isinstance(e, A.Index):
        idx = e.index.const
        return f"{_text(e.expr)}[{idx if isinstance(idx, int) else '...'}]"
    return "expression"


def _power_of_two(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0 and v & (v - 1) == 0
