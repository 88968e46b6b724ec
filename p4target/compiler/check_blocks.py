"""Type checking of declarations, statements, actions, functions, tables, parsers and controls.
``Checker.check_program`` is the front end's entry point after parsing."""

from __future__ import annotations

from typing import Any

from . import ast as A
from . import types as T
from .check_calls import check_constructor
from .check_expr import ExprChecker
from .check_types import BuiltinConst, Scope, TypeParam, err
from .values import ActionVal, EnumVal, ErrorVal, MatchKindVal

TARGET_MATCH_KINDS = {"exact", "ternary", "lpm", "range", "optional", "selector"}
KNOWN_TABLE_PROPS = {
    "key", "actions", "default_action", "size", "entries", "implementation", "counters",
    "meters", "support_timeout", "largest_priority_wins", "priority_delta",
}  # fmt: skip


class Checker(ExprChecker):
    def check_program(self, prog: A.Program) -> A.Instance:
        self.program = prog
        for d in prog.decls:
            self.check_global(d)
        main = self.globals.names.get("main")
        if not isinstance(main, A.Instance):
            raise err(
                prog.decls[-1].pos if prog.decls else prog.pos,
                "program has no 'main' package instance",
            )
        return main

    # -- globals ---------------------------------------------------------------------------------
    def check_global(self, d: A.Decl) -> None:
        g = self.globals
        if isinstance(d, A.ConstDecl):
            self.check_const(d, g)
        elif isinstance(d, A.TypedefDecl):
            self.declare_typedef(d, g)
        elif isinstance(d, A.StructLikeDecl):
            self.declare_struct(d, g)
        elif isinstance(d, A.EnumDecl):
            self.declare_enum(d, g)
        elif isinstance(d, A.ErrorDecl):
            self.declare_errors(d)
        elif isinstance(d, A.MatchKindDecl):
            self.declare_match_kinds(d, g)
        elif isinstance(d, A.ExternDecl):
            self.declare(g, d.name, d, d.pos)
            for m in d.methods:
                self.signature(m, g, d.type_params + m.type_params, m.ret)
        elif isinstance(d, A.FunctionDecl):
            self.signature(d, g, d.type_params, d.ret)
            self.declare(g, d.name, d, d.pos)
            if d.body is not None:
                self.check_function_body(d)
        elif isinstance(d, A.ActionDecl):
            self.check_action(d, g)
            self.declare(g, d.name, d, d.pos)
        elif isinstance(d, A.BlockTypeDecl):
            self.signature(d, g, d.type_params, None)
            self.declare(g, d.name, d, d.pos)
        elif isinstance(d, A.ParserDecl):
            self.declare(g, d.name, d, d.pos)
            self.check_parser(d)
        elif isinstance(d, A.ControlDecl):
            self.declare(g, d.name, d, d.pos)
            self.check_control(d)
        elif isinstance(d, A.Instance):
            self.check_instance(d, g)
        else:
            raise err(d.pos, f"unexpected top-level declaration {type(d).__name__}")

    def signature(
        self, d: Any, scope: Scope, type_params: list[str], ret: A.TypeRef | None
    ) -> None:
        inner = Scope(scope, "signature")
        for tp in type_params:
            inner.names[tp] = TypeParam(tp, d.pos)
        d.sig_scope = inner
        names: set[str] = set()
        for p in d.params:
            if p.name in names:
                raise err(p.pos, f"{p.name}: duplicate parameter")
            names.add(p.name)
            p.type = self.resolve_type(p.ptype, inner)
        d.ret_type = self.resolve_type(ret, inner) if ret is not None else T.VOID
        for p in d.params:
            if p.default is not None:
                self.check_expr(p.default, inner, p.type)

    def check_const(self, d: A.ConstDecl, scope: Scope) -> None:
        t = self.resolve_type(d.ctype, scope)
        self.check_expr(d.value, scope, t)
        if d.value.const is None:
            raise err(d.value.pos, f"{d.name}: initializer is not a compile-time constant")
        d.type, d.const = t, d.value.const
        self.declare(scope, d.name, d, d.pos)

    def check_instance(self, d: A.Instance, scope: Scope) -> None:
        t = self.resolve_type(d.itype, scope)
        call = A.Call(d.pos, A.TypeExpr(d.pos, d.itype), [], d.args)
        call.type_args = []
        if isinstance(t, T.TExtern) and t.args:
            call.type_args = list(d.itype.args)
        d.type = check_constructor(self, call, t, scope)
        d.call = call
        self.declare(scope, d.name, d, d.pos)

    # -- functions and actions ---------------------------------------------------------------------
    def check_function_body(self, d: A.FunctionDecl) -> None:
        scope = Scope(d.sig_scope, "function", d)
        for p in d.params:
            scope.names[p.name] = p
        self.check_block(d.body, scope, {"kind": "function", "ret": d.ret_type})

    def check_action(self, d: A.ActionDecl, scope: Scope) -> None:
        inner = Scope(scope, "action", d)
        seen_directionless = False
        for p in d.params:
            if p.name in inner.names:
                raise err(p.pos, f"{p.name}: duplicate parameter")
            p.type = self.resolve_type(p.ptype, scope)
            if p.direction == "":
                seen_directionless = True
            elif seen_directionless:
                raise err(
                    p.pos, f"{p.name}: directional parameters must come before directionless ones"
                )
            inner.names[p.name] = p
        d.sig_scope = scope
        d.type = T.TAction(d)
        self.check_block(d.body, inner, {"kind": "action"})

    # -- statements ---------------------------------------------------------------------------------
    def check_block(self, b: A.Block, scope: Scope, ctx: dict) -> None:
        inner = Scope(scope, "block")
        for s in b.stmts:
            self.check_stmt(s, inner, ctx)

    def check_stmt(self, s: A.Stmt, scope: Scope, ctx: dict) -> None:
        kind = ctx["kind"]
        self.tracker["pos"] = s.pos
        if isinstance(s, A.Block):
            self.check_block(s, scope, ctx)
        elif isinstance(s, A.Assign):
            lt = self.check_expr(s.lhs, scope)
            self.lvalue(s.lhs, scope)
            self.check_expr(s.rhs, scope, lt)
        elif isinstance(s, A.CallStmt):
            self.check_expr(s.call, scope)
            ck = s.call.kind
            if ck == "table_apply" and kind != "control":
                raise err(s.pos, "tables can only be applied in a control's apply block")
            if ck == "block_apply" and kind not in ("control", "parser"):
                raise err(
                    s.pos, "parsers and controls can only be applied from a parser or control"
                )
            if ck == "constructor":
                raise err(s.pos, "constructor call used as a statement")
            if (
                ck == "extern_function"
                and getattr(s.call.callee, "name", None) == "verify"
                and kind != "parser"
            ):
                raise err(s.pos, "verify: may only be invoked in parsers")
        elif isinstance(s, A.If):
            self.check_expr(s.cond, scope, T.BOOL)
            self.check_stmt(s.then, Scope(scope), ctx)
            if s.other is not None:
                self.check_stmt(s.other, Scope(scope), ctx)
        elif isinstance(s, A.Switch):
            self.check_switch(s, scope, ctx)
        elif isinstance(s, A.VarDecl):
            t = self.resolve_type(s.vtype, scope)
            if isinstance(t, (T.TVoid, T.TExtern, T.TBlock)) or t == T.STRING:
                raise err(s.pos, f"{s.name}: variables cannot have type {t}")
            if s.init is not None:
                self.check_expr(s.init, scope, t)
            s.type = t
            self.declare(scope, s.name, s, s.pos)
        elif isinstance(s, A.ConstDecl):
            self.check_const(s, scope)
        elif isinstance(s, A.Exit):
            if kind in ("parser", "function"):
                raise err(s.pos, f"exit is not allowed in a {kind}")
        elif isinstance(s, A.Return):
            if kind == "parser":
                raise err(s.pos, "return is not allowed in a parser state")
            if kind == "function":
                ret = ctx["ret"]
                if s.value is None and ret != T.VOID:
                    raise err(s.pos, f"return needs a value of type {ret}")
                if s.value is not None:
                    if ret == T.VOID:
                        raise err(s.pos, "void function returns a value")
                    self.check_expr(s.value, scope, ret)
            elif s.value is not None:
                raise err(
                    s.pos, f"return with a value in {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
                )
        elif isinstance(s, A.Empty):
            pass
        elif isinstance(s, A.Instance):
            raise err(s.pos, "instantiations are not allowed inside blocks")
        else:
            raise err(s.pos, f"unsupported statement {type(s).__name__}")

    def check_switch(self, s: A.Switch, scope: Scope, ctx: dict) -> None:
        if ctx["kind"] != "control":
            raise err(s.pos, f"switch statements are not allowed in a {ctx['kind']}")
        t = self.check_expr(s.expr, scope)
        if not (
            isinstance(t, T.TActionRun)
            or isinstance(T.underlying(t), T.TBits)
            or isinstance(t, T.TEnum)
            or t is self.error_type
        ):
            raise err(s.expr.pos, f"cannot switch on a value of type {t}")
        seen: set = set()
        for i, case in enumerate(s.cases):
            for label in case.labels:
                if label is None:
                    if i != len(s.cases) - 1:
                        raise err(case.pos, "default must be the last switch label")
                    continue
                if isinstance(t, T.TActionRun):
                    if not isinstance(label, A.PathExpr):
                        raise err(label.pos, "switch on action_run: labels must be action names")
                    d = self.lookup(scope, label.name, label.pos, label.absolute)
                    names = {id(a) for a in t.table.action_decls}
                    if not isinstance(d, A.ActionDecl) or id(d) not in names:
                        raise err(label.pos, f"{label.name}: not an action of table {t.table.name}")
                    label.decl, label.const = d, ActionVal(d)
                    key: Any = id(d)
                else:
                    self.check_expr(label, scope, t)
                    if label.const is None:
                        raise err(label.pos, "switch labels must be compile-time constants")
                    key = label.const
                if key in seen:
                    raise err(label.pos, "duplicate switch label")
                seen.add(key)
            if case.body is not None:
                self.check_block(case.body, scope, ctx)
        if s.cases and s.cases[-1].body is None:
            raise err(s.cases[-1].pos, "the last switch case needs a body")

    # -- controls -----------------------------------------------------------------------------------
    def check_control(self, d: A.ControlDecl) -> None:
        scope = self._block_scope(d, "control")
        for local in d.locals:
            self.check_local(local, scope, "control")
        d.scope = scope
        self.check_block(d.body, scope, {"kind": "control"})

    def _block_scope(self, d: Any, kind: str) -> Scope:
        sig = Scope(self.globals, "signature")
        for tp in d.type_params:
            sig.names[tp] = TypeParam(tp, d.pos)
        d.sig_scope = sig
        scope = Scope(sig, kind, d)
        for p in d.ctor_params + d.params:
            if p.name in scope.names:
                raise err(p.pos, f"{p.name}: duplicate parameter")
            if p.name in sig.names:
                raise err(p.pos, f"{p.name}: parameter has the name of a type parameter")
            p.type = self.resolve_type(p.ptype, sig)
            scope.names[p.name] = p
        return scope

    def check_local(self, d: A.Decl, scope: Scope, kind: str) -> None:
        if isinstance(d, A.ConstDecl):
            self.check_const(d, scope)
        elif isinstance(d, A.VarDecl):
            self.check_stmt(d, scope, {"kind": kind})
        elif isinstance(d, A.ActionDecl):
            self.check_action(d, scope)
            self.declare(scope, d.name, d, d.pos)
        elif isinstance(d, A.TableDecl):
            if kind != "control":
                raise err(d.pos, "tables can only be declared in controls")
            self.check_table(d, scope)
            self.declare(scope, d.name, d, d.pos)
        elif isinstance(d, A.Instance):
            self.check_instance(d, scope)
        elif isinstance(d, A.ValueSetDecl):
            if kind != "parser":
                raise err(d.pos, "value sets can only be declared in parsers")
            d.type = self.resolve_type(d.etype, scope)
            d.size_value = self.const_int(d.size, scope, "value_set size")
            self.declare(scope, d.name, d, d.pos)
        else:
            raise err(d.pos, f"unexpected declaration {type(d).__name__} in a {kind}")

    # -- tables ---------------------------------------------------------------------------------------
    def check_table(self, t: A.TableDecl, scope: Scope) -> None:
        names: set[str] = set()
        for p in t.properties:
            if p.name in names:
                raise err(p.pos, f"table {t.name}: duplicate property {p.name}")
            names.add(p.name)
        t.keys = []
        key_prop = t.prop("key")
        lpm = 0
        for k in key_prop.value if key_prop else []:
            kt = self.check_expr(k.expr, scope)
            base = T.underlying(kt)
            if not (
                isinstance(base, (T.TBits, T.TBool))
                or kt is self.error_type
                or isinstance(kt, T.TEnum)
            ):
                raise err(k.expr.pos, f"table {t.name}: key of type {kt} cannot be matched")
            mk = scope.lookup(k.match_kind)
            if not (isinstance(mk, BuiltinConst) and isinstance(mk.value, MatchKindVal)):
                raise err(k.mk_pos, f"{k.match_kind}: not a match kind")
            if k.match_kind not in TARGET_MATCH_KINDS:
                raise err(
                    k.mk_pos, f"{k.match_kind}: match kind not supported by the v1model target"
                )
            lpm += k.match_kind == "lpm"
            if lpm > 1:
                raise err(k.mk_pos, f"table {t.name}: at most one lpm key is supported")
            t.keys.append(k)
        t.action_decls, t.action_refs = [], []
        acts = t.prop("actions")
        if acts is None:
            raise err(t.pos, f"table {t.name} has no actions property")
        for ref in acts.value:
            d = self._action_of(ref.call, scope)
            if any(a is d for a in t.action_decls):
                raise err(ref.pos, f"{d.name}: action appears twice in table {t.name}")
            if isinstance(ref.call, A.Call):
                directional = [p for p in d.params if p.direction]
                if len(ref.call.args) != len(directional):
                    raise err(
                        ref.call.pos,
                        f"{d.name}: expected {len(directional)} arguments, got {len(ref.call.args)}",
                    )
                self._check_action_call_args(ref.call, d, directional, scope, const=False)
            elif any(p.direction for p in d.params):
                raise err(ref.pos, f"{d.name}: arguments for directional parameters are missing")
            t.action_decls.append(d)
            t.action_refs.append(ref)
        t.type = T.TTable(t)
        da = t.prop("default_action")
        if da is not None:
            t.default_call = self._table_action_call(t, da.value, scope, "default action")
        size = t.prop("size")
        if size is not None:
            self.check_expr(size.value, scope)
            v = size.value.const
            if not isinstance(v, int) or isinstance(v, bool):
                raise err(size.value.pos, f"table {t.name}: size must be a compile-time constant")
            if v <= 0:
                raise err(size.value.pos, f"table {t.name}: size must be positive")
            t.size_value = v
        self._priority_props(t, scope)
        ents = t.prop("entries")
        if ents is not None:
            self._check_entries(t, ents, scope)
        for pname in ("implementation", "counters", "meters"):
            p = t.prop(pname)
            if p is not None:
                self._extern_property(t, p, scope)
        st = t.prop("support_timeout")
        if st is not None:
            self.check_expr(st.value, scope, T.BOOL)
            if st.value.const is None:
                raise err(st.value.pos, "support_timeout must be a boolean constant")
        for p in t.properties:
            if p.name not in KNOWN_TABLE_PROPS and isinstance(p.value, A.Expr):
                self.check_expr(p.value, scope)

    def _action_of(self, e: A.Expr, scope: Scope) -> A.ActionDecl:
        path = e.target if isinstance(e, A.Call) else e
        if not isinstance(path, A.PathExpr):
            raise err(e.pos, "expected an action name")
        d = self.lookup(scope, path.name, path.pos, path.absolute)
        if not isinstance(d, A.ActionDecl):
            raise err(path.pos, f"{path.name} is not an action")
        path.decl = d
        path.type = T.TAction(d)
        return d

    def _check_action_call_args(
        self, call: A.Call, d: A.ActionDecl, params: list, scope: Scope, const: bool
    ) -> None:
        from .check_calls import bind_args

        bound = bind_args(d.name, params, call.args, call.pos)
        for p, a in bound:
            if a is None:
                continue
            self.check_expr(a, scope, p.type)
            if p.direction in ("out", "inout"):
                self.lvalue(a, scope, "pass to an out/inout parameter")
            if const and p.direction == "" and a.const is None:
                raise err(a.pos, f"{d.name}: argument for {p.name} must be a compile-time constant")
        call.bound, call.kind, call.callee = bound, "action", d

    def _table_action_call(self, t: A.TableDecl, e: A.Expr, scope: Scope, what: str) -> A.Call:
        d = self._action_of(e, scope)
        if not any(a is d for a in t.action_decls):
            raise err(e.pos, f"{d.name}: {what} is not in the actions list of table {t.name}")
        call = e if isinstance(e, A.Call) else A.Call(e.pos, e, [], [])
        if not isinstance(e, A.Call) and d.params:
            raise err(e.pos, f"{d.name}: {what} needs arguments")
        if len(call.args) != len(d.params):
            raise err(
                call.pos, f"{d.name}: expected {len(d.params)} arguments, got {len(call.args)}"
            )
        self._check_action_call_args(call, d, d.params, scope, const=True)
        ref = next(r for a, r in zip(t.action_decls, t.action_refs, strict=True) if a is d)
        if isinstance(ref.call, A.Call):
            listed = {id(p): a for p, a in ref.call.bound}
            for p, a in call.bound:
                if p.direction and not _same_expr(a, listed.get(id(p))):
                    raise err(
                        a.pos if a is not None else call.pos,
                        f"{d.name}: argument for {p.name} must be the one in the actions list",
                    )
        call.type = T.VOID
        return call

    def _check_entries(self, t: A.TableDecl, prop: A.TableProperty, scope: Scope) -> None:
        for entry in prop.value:
            if len(entry.keys) != len(t.keys):
                raise err(
                    entry.pos,
                    f"table {t.name}: entry has {len(entry.keys)} keys, the table has {len(t.keys)}",
                )
            for k, ke in zip(entry.keys, t.keys, strict=True):
                self.check_keyset_elem(k, ke.expr.type, scope)
                if ke.match_kind == "lpm" and isinstance(k, A.RangeExpr):
                    raise err(k.pos, "ranges are only allowed for range keys")
            entry.call = self._table_action_call(t, entry.action, scope, "entry action")
            if entry.priority is not None:
                entry.priority_value = self.const_int(entry.priority, scope, "entry priority")
            pa = A.find_annotation(entry.annotations, "priority")
            if pa is not None and pa.args:
                # p4c's @priority(n) annotation keeps BMv2's order (the smaller n wins), unlike
                # the 'priority = n' of P4 1.2.2 entries (the larger wins)
                entry.bmv2_priority = self.const_int(pa.args[0], scope, "entry priority")
        self._entry_priorities(t, prop.value)

    def _priority_props(self, t: A.TableDecl, scope: Scope) -> None:
        t.largest_priority_wins, t.priority_delta = True, 1
        p = t.prop("largest_priority_wins")
        if p is not None:
            self.check_expr(p.value, scope, T.BOOL)
            if not isinstance(p.value.const, bool):
                raise err(p.value.pos, "largest_priority_wins must be a boolean constant")
            t.largest_priority_wins = p.value.const
        p = t.prop("priority_delta")
        if p is not None:
            t.priority_delta = self.const_int(p.value, scope, "priority_delta")
            if t.priority_delta <= 0:
                raise err(p.value.pos, "priority_delta must be a positive integer")

    @staticmethod
    def _entry_priorities(t: A.TableDecl, entries: list) -> None:
        """The priority of every entry (P4 spec, 'Entry priorities'): written ones are kept;
        with none written, entries count up by priority_delta from 1, the first entry ranking
        highest; otherwise the first entry must have one and each unwritten one is its
        predecessor's moved by priority_delta towards losing."""
        if not entries:
            return
        written = [getattr(en, "priority_value", None) for en in entries]
        largest, delta = t.largest_priority_wins, t.priority_delta
        n = len(entries)
        if all(w is None for w in written):
            order = range(n - 1, -1, -1) if largest else range(n)
            for rank, j in enumerate(order):
                entries[j].p4_priority = 1 + rank * delta
            return
        if written[0] is None:
            raise err(
                entries[0].pos,
                f"table {t.name}: the first entry needs a priority when other entries have one",
            )
        p = written[0]
        for en, w in zip(entries, written, strict=True):
            if w is not None:
                p = w
            elif en is not entries[0]:
                p = p - delta if largest else p + delta
            if p < 0:
                raise err(en.pos, f"table {t.name}: entry priority {p} is negative")
            en.p4_priority = p

    def _extern_property(self, t: A.TableDecl, p: A.TableProperty, scope: Scope) -> None:
        et = self.check_expr(p.value, scope)
        want = {
            "implementation": ("action_profile", "action_selector"),
            "counters": ("direct_counter",),
            "meters": ("direct_meter",),
        }[p.name]
        if not isinstance(et, T.TExtern) or et.decl.name not in want:
            raise err(
                p.value.pos, f"table {t.name}: {p.name} must be a {' or '.join(want)} instance"
            )

    def check_keyset_elem(self, k: A.Expr, kt: T.Type, scope: Scope) -> None:
        if isinstance(k, A.DefaultExpr):
            k.type = T.DONTCARE
            return
        if isinstance(k, A.Mask):
            self.check_expr(k.value, scope, kt)
            self.check_expr(k.mask, scope, kt)
            k.type = T.TSet(kt)
            parts = (k.value, k.mask)
        elif isinstance(k, A.RangeExpr):
            self.check_expr(k.lo, scope, kt)
            self.check_expr(k.hi, scope, kt)
            k.type = T.TSet(kt)
            parts = (k.lo, k.hi)
        else:
            t = self.check_expr(k, scope)
            if (
                isinstance(t, T.TSet)
                and isinstance(k, A.PathExpr)
                and isinstance(k.decl, A.ValueSetDecl)
            ):
                if not self.compatible(t.elem, kt) and T.serializable_width(
                    T.underlying(t.elem)
                ) != T.serializable_width(T.underlying(kt)):
                    raise err(
                        k.pos, f"value set {k.name} of {t.elem} cannot match a key of type {kt}"
                    )
                return
            self.coerce(k, kt, scope)
            parts = (k,)
        for e in parts:
            if e.const is None:
                raise err(e.pos, "keyset values must be compile-time constants")

    # -- parsers --------------------------------------------------------------------------------------
    def check_parser(self, d: A.ParserDecl) -> None:
        scope = self._block_scope(d, "parser")
        for local in d.locals:
            self.check_local(local, scope, "parser")
        states = Scope(scope, "states", d)
        for st in d.states:
            if st.name in ("accept", "reject"):
                raise err(st.pos, f"state {st.name} cannot be redefined")
            self.declare(states, st.name, st, st.pos)
        if "start" not in states.names:
            raise err(d.pos, f"parser {d.name} has no start state")
        d.scope = states
        for st in d.states:
            inner = Scope(states, "block")
            for s in st.stmts:
                self.check_stmt(s, inner, {"kind": "parser"})
            if st.transition is None:
                st.transition = A.Transition(st.pos, "reject")
                st.transition.implicit = True
            self.check_transition(st.transition, inner)

    def _state(self, name: str, pos, scope: Scope) -> Any:
        d = scope.lookup(name)
        if not (isinstance(d, A.StateDecl) or (isinstance(d, BuiltinConst) and d.type == T.STATE)):
            raise err(pos, f"{name}: state not found")
        return d

    def check_transition(self, tr: A.Transition, scope: Scope) -> None:
        if isinstance(tr.target, str):
            tr.target_decl = self._state(tr.target, getattr(tr, "target_pos", tr.pos), scope)
            return
        sel = tr.target
        key_types = [self.check_expr(k, scope) for k in sel.keys]
        for kt, k in zip(key_types, sel.keys, strict=True):
            if isinstance(kt, T.TInt):
                raise err(k.pos, "select keys need a known width")
            base = T.underlying(kt)
            if (
                not isinstance(base, (T.TBits, T.TBool))
                and not isinstance(kt, T.TEnum)
                and kt is not self.error_type
            ):
                raise err(k.pos, f"cannot select on a value of type {kt}")
        for case in sel.cases:
            ks = case.keyset
            elems = ks.items if isinstance(ks, A.ListExpr) else [ks]
            single_default = len(elems) == 1 and isinstance(elems[0], A.DefaultExpr)
            vset = (
                len(elems) == 1
                and isinstance(elems[0], A.PathExpr)
                and isinstance(scope.lookup(elems[0].name), A.ValueSetDecl)
            )
            if not single_default and not vset and len(elems) != len(sel.keys):
                raise err(
                    case.pos, f"select has {len(sel.keys)} keys but this case has {len(elems)}"
                )
            if vset:
                vs = scope.lookup(elems[0].name)
                elems[0].decl, elems[0].type = vs, T.TSet(vs.type)
                vw = T.serializable_width(T.underlying(vs.type))
                if vw is None and isinstance(vs.type, T.TStructLike):
                    vw = vs.type.width()
                kw = sum(T.serializable_width(T.underlying(t)) or 32 for t in key_types)
                if vw != kw:
                    raise err(
                        elems[0].pos,
                        f"value set {vs.name} ({vw} bits) does not match the select key ({kw} bits)",
                    )
            elif not single_default:
                for e, kt in zip(elems, key_types, strict=True):
                    self.check_keyset_elem(e, kt, scope)
            case.state_decl = self._state(case.state, case.state_pos, scope)


__all__ = ["Checker", "EnumVal", "ErrorVal"]


def _same_expr(a: A.Expr | None, b: A.Expr | None) -> bool:
    """Whether two checked expressions are the same (the directional arguments of an action
    in a table's actions list and in its default action or entries)."""
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, A.PathExpr):
        da, db = getattr(a, "decl", None), getattr(b, "decl", None)
        return da is db if da is not None or db is not None else a.name == b.name
    if isinstance(a, A.Member):
        return a.name == b.name and (
            _same_expr(a.expr, b.expr) if isinstance(a.expr, A.Expr) else True
        )
    if isinstance(a, A.Index):
        return _same_expr(a.expr, b.expr) and _same_expr(a.index, b.index)
    if isinstance(a, A.Slice):
        return _same_expr(a.expr, b.expr) and a.hi.const == b.hi.const and a.lo.const == b.lo.const
    if a.const is not None or b.const is not None:
        return a.const == b.const
    return True
