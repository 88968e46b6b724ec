"""Lowering of control blocks to BMv2 pipelines: tables (user and synthesized ``tbl_*``
ones running the straight-line code between them), conditionals, ``switch`` on
``action_run``, ``hit``/``miss``, ``exit``/``return`` and inlined sub-controls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError, Pos
from .actions import ActionBuilder, Label
from .expr import Env, hexstr
from .sideeffects import subexpressions

if TYPE_CHECKING:
    from .program import Backend

SIMPLE = (A.Assign, A.CallStmt, A.VarDecl, A.ConstDecl, A.Empty)


def _has_apply(e: Any) -> bool:
    if isinstance(e, A.Expr) and e.const is not None:
        return False  # folded: P4 never evaluates the apply (e.g. 'false ? t.apply().hit : x')
    if isinstance(e, A.Call) and e.kind in ("table_apply", "block_apply"):
        return True
    return any(_has_apply(c) for c in subexpressions(e)) if isinstance(e, A.Expr) else False


def _table_applies(e: Any, out: list) -> list:
    if isinstance(e, A.Call) and e.kind == "table_apply" and all(x is not e for x in out):
        out.append(e)
    if isinstance(e, A.Expr):
        for c in subexpressions(e):
            _table_applies(c, out)
    return out


class ControlLowering:
    """Mixin of ``Backend``."""

    def lower_control(self: Backend, body: A.Block, env: Env, pipeline: dict) -> str | None:
        env.ctx["pipeline"] = pipeline
        env.ctx["return_next"] = None
        return self.lower_seq(body.stmts, env.child(), None)

    def _is_simple(self, s: A.Stmt) -> bool:
        if isinstance(s, A.CallStmt):
            return s.call.kind not in ("table_apply", "block_apply")
        if isinstance(s, A.Assign):
            return not _has_apply(s.rhs)
        if isinstance(s, A.VarDecl):
            return s.init is None or not _has_apply(s.init)
        return isinstance(s, SIMPLE)

    def lower_seq(self: Backend, stmts: list[A.Stmt], env: Env, nxt: str | None) -> str | None:
        for s in stmts:
            if isinstance(s, A.VarDecl) and env.vars.get(id(s)) is None:
                env.bind(s, self.storage.alloc(self.local_name(env, s.name), s.type))
        entry = nxt
        pending: list[A.Stmt] = []
        for s in reversed(stmts):
            if self._is_simple(s):
                pending.insert(0, s)
                continue
            if pending:
                entry = self.action_table(pending, env, entry)
                pending = []
            entry = self.lower_ctl_stmt(s, env, entry)
        if pending:
            entry = self.action_table(pending, env, entry)
        return entry

    def lower_ctl_stmt(self: Backend, s: A.Stmt, env: Env, nxt: str | None) -> str | None:
        self.tracker["pos"] = s.pos
        if isinstance(s, A.Block):
            return self.lower_seq(s.stmts, env.child(), nxt)
        if isinstance(s, A.If):
            return self.lower_if(s, env, nxt)
        if isinstance(s, A.Switch):
            return self.lower_switch(s, env, nxt)
        if isinstance(s, A.Return):
            return env.ctx.get("return_next")
        if isinstance(s, A.Exit):
            b = ActionBuilder(self)
            b.emit("exit", [], s.pos, "exit")
            return self.synth_table(b, s.pos, None, env)
        if isinstance(s, A.CallStmt):
            c = s.call
            if c.kind == "table_apply":
                return self.apply_table(c, env, {"*": nxt}, nxt)
            if c.kind == "block_apply":
                return self.apply_subcontrol(c, env, nxt)
        if isinstance(s, (A.Assign, A.VarDecl, A.CallStmt)):
            return self.stmt_with_apply(s, env, nxt)
        raise CompileError.at(s.pos, f"{type(s).__name__} is not supported in a control body")

    # -- synthesized action tables -----------------------------------------------------------------
    def action_table(self: Backend, stmts: list[A.Stmt], env: Env, nxt: str | None) -> str | None:
        stmts = [
            s
            for s in stmts
            if not isinstance(s, (A.Empty, A.ConstDecl))
            and not (isinstance(s, A.VarDecl) and s.init is None)
        ]
        if not stmts:
            return nxt
        if len(stmts) == 1 and isinstance(stmts[0], A.CallStmt) and stmts[0].call.kind == "action":
            direct = self.direct_action_table(stmts[0].call, env, nxt, stmts[0].pos)
            if direct is not None:
                return direct
        b = ActionBuilder(self)
        inner = env.child(
            exit_label=Label(),
            return_label=Label(),
            call_results=dict(env.ctx.get("call_results", {})),
        )
        self.lower_stmts(stmts, inner, b)
        b.place(inner.ctx["exit_label"])
        return self.synth_table(b, stmts[0].pos, nxt, env)

    def direct_action_table(
        self: Backend, c: A.Call, env: Env, nxt: str | None, pos: Pos
    ) -> str | None:
        """``a(1, 2);`` in a control body: a hidden table whose const default action is ``a``
        with the constant arguments as action data (as p4c does)."""
        d = c.callee
        if any(p.direction for p in d.params):
            return None
        if any(a is None or a.const is None for _, a in c.bound):
            return None
        aid, aname = self.table_action(d, self.decl_env(d, env), None, env)
        data = [self.action_data(a, p.type) for p, a in c.bound]
        short = aname.rsplit(".", 1)[-1]
        return self.simple_table("tbl_" + short, aid, aname, data, pos, nxt, env)

    def synth_table(self: Backend, b: ActionBuilder, pos: Pos, nxt: str | None, env: Env) -> str:
        base = self.synth_name(pos)
        name = self.names.fresh(base)
        aid = self.add_action(name, [], b.finish(), pos)
        return self.simple_table("tbl_" + name, aid, name, [], pos, nxt, env)

    def simple_table(
        self: Backend,
        name: str,
        aid: int,
        aname: str,
        data: list,
        pos: Pos,
        nxt: str | None,
        env: Env,
    ) -> str:
        name = self.names.fresh(name) if name in self.names.used else self.names.take(name)
        t = {
            "name": name,
            "id": self.next_id("tables"),
            "source_info": self.source_info(pos, self.fragment(pos)),
            "key": [],
            "match_type": "exact",
            "type": "simple",
            "max_size": 1024,
            "with_counters": False,
            "support_timeout": False,
            "direct_meters": None,
            "action_ids": [aid],
            "actions": [aname],
            "base_default_next": nxt,
            "next_tables": {aname: nxt},
            "default_entry": {
                "action_id": aid,
                "action_const": True,
                "action_data": data,
                "action_entry_const": True,
            },
        }
        env.ctx["pipeline"]["tables"].append(t)
        return name

    # -- conditionals ------------------------------------------------------------------------------
    def conditional(
        self: Backend, cond: dict, pos: Pos, tnext: str | None, fnext: str | None, env: Env
    ) -> str:
        name = self.names.fresh(f"node_{self.node_counter}")
        self.node_counter += 1
        env.ctx["pipeline"]["conditionals"].append(
            {
                "name": name,
                "id": self.next_id("conditionals"),
                "source_info": self.source_info(pos, self.fragment(pos)),
                "expression": cond,
                "true_next": tnext,
                "false_next": fnext,
            }
        )
        return name

    def lower_if(self: Backend, s: A.If, env: Env, nxt: str | None) -> str | None:
        c = s.cond
        if isinstance(c.const, bool):
            branch = s.then if c.const else s.other
            return self.lower_ctl_branch(branch, env, nxt)
        then_e = self.lower_ctl_branch(s.then, env, nxt)
        else_e = self.lower_ctl_branch(s.other, env, nxt)
        applies = _table_applies(c, [])
        negate = False
        core = c
        while isinstance(core, A.Unary) and core.op == "!":
            negate, core = not negate, core.expr
        if (
            isinstance(core, A.Member)
            and core.name in ("hit", "miss")
            and isinstance(core.expr, A.Call)
            and core.expr.kind == "table_apply"
        ):
            hit = (core.name == "hit") != negate
            targets = {"__HIT__": then_e if hit else else_e, "__MISS__": else_e if hit else then_e}
            return self.apply_table(core.expr, env, targets, nxt)
        if len(applies) > 1:
            raise CompileError.at(c.pos, "at most one table apply per condition is supported")
        env2 = env.child(call_results=dict(env.ctx.get("call_results", {})))
        pre = ActionBuilder(self)
        self.hoist(c, env2.child(exit_label=Label(), return_label=Label()), pre)
        member = None
        if applies:
            member = self._hit_member(c, applies[0])
            tmp = self.storage.new_scalar(self.temp_name(), T.BOOL)
            env2.ctx["call_results"][id(member)] = tmp
        node_name = self.conditional(self.conv.cond(c, env2), s.pos, then_e, else_e, env)
        entry = node_name
        if member is not None:
            set1 = self.assign_const_table(tmp, 1, s.pos, node_name, env)
            set0 = self.assign_const_table(tmp, 0, s.pos, node_name, env)
            hit = member.name == "hit"
            targets = {"__HIT__": set1 if hit else set0, "__MISS__": set0 if hit else set1}
            entry = self.apply_table(applies[0], env, targets, node_name)
        if pre.prims:
            entry = self.synth_table(pre, s.pos, entry, env)
        return entry

    def stmt_with_apply(self: Backend, s: A.Stmt, env: Env, nxt: str | None) -> str | None:
        """A statement using ``t.apply().hit``/``.miss`` in an expression: apply the table,
        record hit/miss in a temporary, then run the statement."""
        e = s.rhs if isinstance(s, A.Assign) else s.init if isinstance(s, A.VarDecl) else s.call
        applies = _table_applies(e, [])
        if len(applies) != 1:
            raise CompileError.at(s.pos, "at most one table apply per statement is supported")
        member = self._hit_member(e, applies[0])
        env2 = env.child(call_results=dict(env.ctx.get("call_results", {})))
        tmp = self.storage.new_scalar(self.temp_name(), T.BOOL)
        env2.ctx["call_results"][id(member)] = tmp
        body = self.action_table([s], env2, nxt)
        set1 = self.assign_const_table(tmp, 1, s.pos, body, env)
        set0 = self.assign_const_table(tmp, 0, s.pos, body, env)
        hit = member.name == "hit"
        targets = {"__HIT__": set1 if hit else set0, "__MISS__": set0 if hit else set1}
        return self.apply_table(applies[0], env, targets, body)

    def _hit_member(self, e: A.Expr, call: A.Call) -> A.Member:
        if isinstance(e, A.Member) and e.expr is call and e.name in ("hit", "miss"):
            return e
        for ch in subexpressions(e):
            m = self._hit_member(ch, call) if isinstance(ch, A.Expr) else None
            if m is not None:
                return m
        raise CompileError.at(e.pos, "table apply results can only be used as .hit or .miss here")

    def assign_const_table(
        self: Backend, tmp: Any, value: int, pos: Pos, nxt: str | None, env: Env
    ) -> str:
        b = ActionBuilder(self)
        b.emit("assign", [tmp.json(), hexstr(value, 1)], pos)
        return self.synth_table(b, pos, nxt, env)

    def hoist_table(self: Backend, e: A.Expr, env: Env, nxt: str | None, pos: Pos) -> str | None:
        """Run value-returning calls nested in ``e`` before ``nxt`` (in a hidden action);
        ``env`` receives the temporaries (convert ``e`` after calling this)."""
        if not _has_value_call(e):
            return nxt
        b = ActionBuilder(self)
        self.hoist(e, env.child(exit_label=Label(), return_label=Label()), b)
        return self.synth_table(b, pos, nxt, env)

    def lower_ctl_branch(self: Backend, s: A.Stmt | None, env: Env, nxt: str | None) -> str | None:
        if s is None:
            return nxt
        if isinstance(s, A.Block):
            return self.lower_seq(s.stmts, env.child(), nxt)
        return self.lower_seq([s], env.child(), nxt)

    def lower_switch(self: Backend, s: A.Switch, env: Env, nxt: str | None) -> str | None:
        bodies: list[tuple[list, str | None]] = []
        labels: list = []
        for case in s.cases:
            labels.extend(case.labels)
            if case.body is not None:
                bodies.append((labels, self.lower_seq(case.body.stmts, env.child(), nxt)))
                labels = []
        e = s.expr
        if isinstance(e.type, T.TActionRun):
            call = e.expr
            table = call.callee
            targets: dict[str, str | None] = {}
            default = nxt
            per_action: dict[int, str | None] = {}
            for labs, entry in bodies:
                for lab in labs:
                    if lab is None:
                        default = entry
                    else:
                        per_action[id(lab.decl)] = entry
            for d in table.action_decls + self.implicit_actions(table):
                targets[f"@{id(d)}"] = per_action.get(id(d), default)
            return self.apply_table(call, env, targets, nxt)
        env = env.child(call_results=dict(env.ctx.get("call_results", {})))
        pre = ActionBuilder(self)
        if _has_value_call(e):
            self.hoist(e, env.child(exit_label=Label(), return_label=Label()), pre)
        default = nxt
        for labs, body_entry in bodies:
            if None in labs:
                default = body_entry
        entry = default
        for labs, body_entry in reversed(bodies):
            vals = [lab for lab in labs if lab is not None]
            if not vals:
                continue
            conds = [self._eq(e, v, env) for v in vals]
            cond = conds[0]
            for cj in conds[1:]:
                cond = {"type": "expression", "value": {"op": "or", "left": cond, "right": cj}}
            entry = self.conditional(cond, s.pos, body_entry, entry, env)
        if pre.prims:
            entry = self.synth_table(pre, s.pos, entry, env)
        return entry

    def _eq(self: Backend, e: A.Expr, v: A.Expr, env: Env) -> dict:
        return {
            "type": "expression",
            "value": {
                "op": "==",
                "left": self.conv.rvalue(e, env),
                "right": self.conv.const_json(v),
            },
        }

    # -- sub-controls ---------------------------------------------------------------------------
    def apply_subcontrol(self: Backend, c: A.Call, env: Env, nxt: str | None) -> str | None:
        sub = env.get(c.target.expr.decl)
        if sub is None or not hasattr(sub, "decl") or not isinstance(sub.decl, A.ControlDecl):
            raise CompileError.at(c.pos, "only control instances can be applied here")
        # parameters are bound in the instance's own environment (which its tables and actions,
        # converted there, see) for the time of this apply; a second apply of an instance
        # with tables fails on the tables (BMv2 applies each table at most once)
        sub.env.ctx["pipeline"] = env.ctx["pipeline"]
        inner = Env(sub.env, return_next=nxt, call_results={})
        pre: list = []
        bound = c.bound
        if c.callee is not sub.decl:
            # applied through a parameter of a control type: the instance's own parameters
            # take the arguments, position by position
            bound = [(q, a) for q, (_, a) in zip(sub.decl.params, c.bound, strict=True)]
        for p, a in bound:
            if p.direction in ("out", "inout") or (
                a is not None and a.const is None and isinstance(a, (A.PathExpr, A.Member, A.Index))
            ):
                sub.env.bind(p, self.conv.loc(a, env))
            elif a is not None and a.const is not None:
                from .storage import ValueLoc

                sub.env.bind(p, ValueLoc(a, env))
            elif a is not None:
                tmp = self.storage.alloc(self.temp_name(), p.type)
                sub.env.bind(p, tmp)
                pre.append((tmp, p.type, a))
        entry = self.lower_seq(list(sub.inits) + list(sub.decl.body.stmts), inner.child(), nxt)
        if pre:
            b = ActionBuilder(self)
            for tmp, t, a in pre:
                self.assign_loc(tmp, t, a, env, b, a.pos)
            entry = self.synth_table(b, c.pos, entry, env)
        return entry


def _has_value_call(e: Any) -> bool:
    if (
        isinstance(e, A.Call)
        and e.kind in ("function", "extern_method", "extern_function")
        and e.type != T.VOID
    ):
        return True
    return any(_has_value_call(c) for c in subexpressions(e)) if isinstance(e, A.Expr) else False
