"""Type checking of calls: actions, functions, extern functions and methods, built-in methods
(``isValid``, ``push_front``, ``apply``...) and constructor calls. The checked ``Call`` node gets:

* ``call.kind``: 'action', 'function', 'extern_function', 'extern_method', 'builtin',
  'table_apply', 'block_apply' or 'constructor';
* ``call.callee``: the declaration called (action/function/method/table/block/extern type);
* ``call.bound``: list of ``(Param, Expr | None)`` in parameter order;
* ``call.tvars``: the type-variable bindings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast as A
from . import types as T
from .check_types import Overloads, Scope, err

if TYPE_CHECKING:
    from .check_expr import ExprChecker


def bind_args(name: str, params: list[A.Param], args: list[A.Argument], pos) -> list:
    """Match positional and named arguments to parameters; missing optional ones are None."""
    bound: dict[int, A.Expr | None] = {}
    named = False
    for i, a in enumerate(args):
        if a.name is None:
            if named:
                raise err(a.pos, f"{name}: positional argument after named arguments")
            if i >= len(params):
                raise err(pos, f"{name}: expected {len(params)} arguments, got {len(args)}")
            bound[i] = a.value
        else:
            named = True
            idx = next((k for k, p in enumerate(params) if p.name == a.name), None)
            if idx is None:
                raise err(a.pos, f"{name}: no parameter named {a.name}")
            if idx in bound:
                raise err(a.pos, f"{name}: parameter {a.name} given twice")
            bound[idx] = a.value
    out = []
    for i, p in enumerate(params):
        if i in bound:
            out.append((p, bound[i]))
        elif p.default is not None:
            out.append((p, p.default))
        elif p.anno("optional") is not None:
            out.append((p, None))
        else:
            raise err(pos, f"{name}: expected {len(params)} arguments, got {len(args)}")
    return out


def unify(c: ExprChecker, formal: T.Type, actual: T.Type, tv: dict, pos) -> None:
    """Bind type variables of ``formal`` from ``actual``."""
    if isinstance(formal, T.TVar):
        if formal.name not in tv:
            tv[formal.name] = actual
        return
    if isinstance(formal, T.TExtern) and isinstance(actual, T.TExtern):
        for f, a in zip(formal.args, actual.args, strict=False):
            unify(c, f, a, tv, pos)
    if isinstance(formal, T.TBlock) and isinstance(actual, T.TBlock):
        proto, impl = formal.decl, actual.decl
        if formal.kind != actual.kind:
            raise err(pos, f"expected a {formal.kind}, got {actual.kind} {impl.name}")
        if len(proto.params) != len(impl.params):
            raise err(
                pos,
                f"{impl.name}: expected {len(proto.params)} parameters like {proto.name}, has {len(impl.params)}",
            )
        inner = dict(zip(proto.type_params, formal.args, strict=False))
        for pp, ip in zip(proto.params, impl.params, strict=True):
            if pp.direction != ip.direction:
                raise err(
                    ip.pos,
                    f"{impl.name}: parameter {ip.name} should be '{pp.direction or 'directionless'}' as in {proto.name}",
                )
            f = subst(pp.type, inner)
            if isinstance(f, T.TVar):
                bound = tv.get(f.name)
                if bound is None:
                    tv[f.name] = ip.type
                elif not T.same_type(bound, ip.type) and not isinstance(bound, T.TVar):
                    raise err(
                        ip.pos,
                        f"{impl.name}: parameter {ip.name} has type {ip.type}, expected {bound}",
                    )
            elif not isinstance(f, T.TVar) and not _has_tvar(f) and not c.compatible(ip.type, f):
                raise err(
                    ip.pos, f"{impl.name}: parameter {ip.name} has type {ip.type}, expected {f}"
                )


def subst(t: T.Type, tv: dict) -> T.Type:
    if isinstance(t, T.TVar):
        return tv.get(t.name, t)
    if isinstance(t, T.TExtern) and t.args:
        return T.TExtern(t.decl, tuple(subst(a, tv) for a in t.args))
    if isinstance(t, T.TStack):
        return T.TStack(subst(t.elem, tv), t.size)
    if isinstance(t, T.TTuple):
        return T.TTuple(tuple(subst(a, tv) for a in t.elems))
    return t


def check_args(
    c: ExprChecker,
    call: A.Call,
    name: str,
    params: list[A.Param],
    scope: Scope,
    type_params: list[str],
    tv: dict,
    param_scope: Scope | None = None,
) -> list:
    bound = bind_args(name, params, call.args, call.pos)
    if call.type_args:
        if len(call.type_args) != len(type_params):
            raise err(
                call.pos,
                f"{name}: expected {len(type_params)} type arguments, got {len(call.type_args)}",
            )
        for tp, ta in zip(type_params, call.type_args, strict=True):
            tv[tp] = c.resolve_type(ta, scope)
    for p, arg in bound:
        ptype = (
            p.type
            if getattr(p, "type", None) is not None
            else c.resolve_type(p.ptype, param_scope or scope, {k: v for k, v in tv.items()})
        )
        formal = subst(ptype, tv)
        if arg is None:
            if p.direction not in ("out",) and p.anno("optional") is None:
                raise err(call.pos, f"{name}: don't-care argument for non-out parameter {p.name}")
            continue
        if isinstance(formal, (T.TVar, T.TBlock)) or _has_tvar(formal):
            # block types match by their parameter lists (a control declaration against a
            # control type), not by name
            at = c.check_expr(arg, scope)
            if isinstance(formal, T.TBlock) and not isinstance(at, T.TBlock):
                raise err(arg.pos, f"type mismatch: expected {formal}, got {at}")
            unify(c, formal, at, tv, arg.pos)
        else:
            c.check_expr(arg, scope, formal)
        if p.direction in ("out", "inout"):
            c.lvalue(arg, scope, "pass to an out/inout parameter")
    return bound


def _has_tvar(t: T.Type) -> bool:
    if isinstance(t, T.TVar):
        return True
    if isinstance(t, (T.TExtern, T.TBlock)):
        return any(_has_tvar(a) for a in t.args)
    return False


def _pick_overload(decls: list, call: A.Call, name: str):
    n = len(call.args)
    named = {a.name for a in call.args if a.name}
    fits = []
    for d in decls:
        required = [p for p in d.params if p.default is None and p.anno("optional") is None]
        if len(required) <= n <= len(d.params) and named <= {p.name for p in d.params}:
            fits.append(d)
    if not fits:
        raise err(call.pos, f"{name}: no overload takes {n} arguments")
    fits.sort(key=lambda d: abs(len(d.params) - n))
    return fits[0]


def check_call(c: ExprChecker, call: A.Call, scope: Scope) -> T.Type:
    tgt = call.target
    call.tvars = {}
    if isinstance(tgt, A.PathExpr):
        d = c.lookup(scope, tgt.name, tgt.pos, tgt.absolute)
        tgt.decl = d
        if isinstance(d, A.ActionDecl):
            tgt.type = T.TAction(d)
            call.kind, call.callee = "action", d
            call.bound = check_args(c, call, d.name, d.params, scope, [], call.tvars)
            return T.VOID
        if isinstance(d, (A.FunctionDecl, Overloads)):
            fd = _pick_overload(d.decls, call, tgt.name) if isinstance(d, Overloads) else d
            tgt.type = T.TFunction(fd)
            call.kind = "function" if fd.body is not None else "extern_function"
            call.callee = fd
            call.bound = check_args(
                c, call, fd.name, fd.params, scope, fd.type_params, call.tvars, fd.sig_scope
            )
            return subst(fd.ret_type, call.tvars)
        if isinstance(d, (A.ExternDecl, A.ParserDecl, A.ControlDecl, A.BlockTypeDecl)):
            return check_constructor(c, call, c.type_of_type_decl(d, tgt.pos), scope)
        raise err(tgt.pos, f"{tgt.name} is not a function, action or constructor")
    if isinstance(tgt, A.TypeExpr):
        return check_constructor(c, call, c.resolve_type(tgt.ref, scope), scope)
    if not isinstance(tgt, A.Member):
        raise err(call.pos, "this expression cannot be called")
    mt = c.check_expr(tgt, scope)
    if not isinstance(mt, T.TMethod):
        raise err(call.pos, f"{tgt.name} is not a method")
    owner = mt.owner
    if mt.builtin is not None:
        return _builtin(c, call, mt, scope)
    assert isinstance(owner, T.TExtern)
    m = _pick_overload(mt.decls, call, mt.name)
    tv = {p: a for p, a in zip(owner.decl.type_params, owner.args, strict=False)}
    call.kind, call.callee = "extern_method", m
    call.bound = check_args(c, call, m.name, m.params, scope, m.type_params, tv, m.sig_scope)
    call.tvars = tv
    return subst(m.ret_type, tv)


def _builtin(c: ExprChecker, call: A.Call, mt: T.TMethod, scope: Scope) -> T.Type:
    name, owner = mt.builtin, mt.owner
    tgt = call.target
    call.kind, call.callee, call.bound = "builtin", name, []
    if name == "table_apply":
        if call.args:
            raise err(call.pos, "apply: tables take no arguments")
        call.kind, call.callee = "table_apply", owner.decl
        return T.TApplyResult(owner.decl)
    if name == "block_apply":
        decl = owner.decl
        call.kind, call.callee = "block_apply", decl
        call.bound = check_args(
            c, call, decl.name, decl.params, scope, [], call.tvars, decl.sig_scope
        )
        return T.VOID
    if name in ("isValid", "setValid", "setInvalid", "minSizeInBits", "minSizeInBytes"):
        if call.args:
            raise err(call.pos, f"{name}: expected 0 arguments, got {len(call.args)}")
        if name in ("setValid", "setInvalid"):
            c.lvalue(tgt.expr, scope, f"call {name} on")
            return T.VOID
        if name.startswith("min"):
            bits = owner.max_width() if isinstance(owner, T.TStructLike) else 0
            if owner.width() is None and isinstance(owner, T.TStructLike):
                bits = sum(t.width() or 0 for _, t in owner.fields)
            call.const = bits if name == "minSizeInBits" else (bits + 7) // 8
            return T.INT
        return T.BOOL
    if name in ("push_front", "pop_front"):
        if len(call.args) != 1:
            raise err(call.pos, f"{name}: expected 1 argument, got {len(call.args)}")
        n = c.const_int(call.args[0].value, scope, f"{name} count")
        if n < 0:
            raise err(call.args[0].pos, f"{name}: count must not be negative")
        c.lvalue(tgt.expr, scope, f"call {name} on")
        call.count = n
        return T.VOID
    raise err(call.pos, f"unsupported method {name}")  # pragma: no cover


def check_constructor(c: ExprChecker, call: A.Call, t: T.Type, scope: Scope) -> T.Type:
    call.kind = "constructor"
    call.tvars = {}
    if isinstance(t, T.TExtern):
        decl = t.decl
        ctors = [m for m in decl.methods if m.ret is None]
        if not ctors:
            raise err(call.pos, f"extern {decl.name} has no constructor")
        m = _pick_overload(ctors, call, decl.name)
        tv = {p: a for p, a in zip(decl.type_params, t.args, strict=False)}
        if call.type_args:
            for tp, ta in zip(decl.type_params, call.type_args, strict=False):
                tv[tp] = c.resolve_type(ta, scope)
        call.type_args = []
        call.callee = m
        call.bound = check_args(c, call, decl.name, m.params, scope, [], tv, m.sig_scope)
        for p, a in call.bound:
            if a is not None and a.const is None and not isinstance(a.type, (T.TExtern, T.TBlock)):
                raise err(
                    a.pos,
                    f"{decl.name}: constructor argument {p.name} must be a compile-time constant",
                )
        call.tvars = tv
        args = tuple(tv.get(p, T.TVar(p)) for p in decl.type_params)
        return T.TExtern(decl, args)
    if isinstance(t, T.TBlock):
        decl = t.decl
        if isinstance(decl, A.BlockTypeDecl) and decl.kind != "package":
            raise err(call.pos, f"{decl.name} is a {decl.kind} type, not an implementation")
        params = decl.params if isinstance(decl, A.BlockTypeDecl) else decl.ctor_params
        call.callee = decl
        call.bound = check_args(
            c, call, decl.name, params, scope, decl.type_params, call.tvars, decl.sig_scope
        )
        return T.TBlock(t.kind, decl, tuple(call.tvars.get(p, T.TVar(p)) for p in decl.type_params))
    raise err(call.pos, f"{t} cannot be constructed")
