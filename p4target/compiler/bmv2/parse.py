"""Lowering of the P4 parser to BMv2 parse states: extract/extract_VL/set/verify/advance/
primitive ops, transition keys (fields, stack fields, lookahead), select cases with masks, ranges
(expanded to masks), value sets and defaults; ``if`` statements split a state in two."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError, Pos
from .actions import ActionBuilder, Label, param
from .expr import Env, b2d, expr, hexstr, width_of
from .storage import FieldLoc, HeaderLoc, NextHeaderLoc, StackFieldLoc, StackLoc

if TYPE_CHECKING:
    from .program import Backend


class LookaheadVal:
    def __init__(self, offset: int, width: int):
        self.offset, self.width = offset, width

    def json(self) -> dict:
        return {"type": "lookahead", "value": [self.offset, self.width]}


def range_to_masks(lo: int, hi: int, width: int) -> list[tuple[int, int]]:
    """Cover [lo, hi] with value/mask pairs (prefix blocks)."""
    out: list[tuple[int, int]] = []
    full = (1 << width) - 1
    while lo <= hi:
        size = lo & -lo if lo else 1 << width
        while size > hi - lo + 1:
            size >>= 1
        out.append((lo, full ^ (size - 1)))
        lo += size
    return out


def pack(values: list[tuple[int, int]]) -> str:
    """Concatenate (value, width) pairs, each padded to whole bytes (BMv2 key layout)."""
    out = ""
    for v, w in values:
        nb = (w + 7) // 8
        out += f"{v & ((1 << (nb * 8)) - 1):0{2 * nb}x}"
    return "0x" + out


class ParserLowering:
    """Mixin of ``Backend``."""

    def lower_parser(self: Backend, decl: A.ParserDecl, env: Env) -> dict:
        self.parse_states: list[dict] = []
        self.state_names = {st.name: st.name for st in decl.states}
        self.nomatch_state: str | None = None
        for st in decl.states:
            self.names.take(st.name)
        for st in decl.states:
            senv = env.child(call_results={}, block_kind="parser")
            self.emit_state(st.name, st.stmts, st.transition, senv, st.pos)
        states = self.parse_states
        for s in states:
            s["id"] = self.next_id("parse_states")
        return {"name": "parser", "id": 0, "init_state": "start", "parse_states": states}

    def emit_state(
        self: Backend, name: str, stmts: list[A.Stmt], tr: A.Transition, env: Env, pos: Pos
    ) -> None:
        ops: list[dict] = []
        state = {"name": name, "id": 0, "parser_ops": ops, "transitions": [], "transition_key": []}
        self.parse_states.append(state)
        for i, s in enumerate(stmts):
            if isinstance(s, A.CallStmt) and s.call.kind == "block_apply":
                self.sub_parser(state, s.call, list(stmts[i + 1 :]), tr, env)
                return
            if isinstance(s, A.If) and not (isinstance(s.cond.const, bool)):
                self.split_on_if(state, s, stmts[i + 1 :], tr, env)
                return
            if isinstance(s, A.Block):
                rest = s.stmts + list(stmts[i + 1 :])
                if any(isinstance(x, A.If) for x in s.stmts):
                    self.emit_rest(state, rest, tr, env.child())
                    return
                for x in s.stmts:
                    self.parser_stmt(x, env, ops)
                continue
            if isinstance(s, A.If):
                branch = s.then if s.cond.const else s.other
                if branch is not None:
                    inner = branch.stmts if isinstance(branch, A.Block) else [branch]
                    self.emit_rest(state, inner + list(stmts[i + 1 :]), tr, env)
                    return
                continue
            self.parser_stmt(s, env, ops)
        self.transition(state, tr, env)

    def emit_rest(
        self: Backend, state: dict, stmts: list[A.Stmt], tr: A.Transition, env: Env
    ) -> None:
        """Continue ``state`` with more statements (used for blocks containing ifs)."""
        cont = self.names.fresh(state["name"])
        state["transitions"] = [
            {"type": "default", "value": None, "mask": None, "next_state": cont}
        ]
        self.emit_state(cont, stmts, tr, env, None)

    def split_on_if(
        self: Backend, state: dict, s: A.If, rest: list[A.Stmt], tr: A.Transition, env: Env
    ) -> None:
        tmp = self.storage.new_scalar(self.temp_name(), T.BOOL)
        self.hoist_parser(s.cond, env, state["parser_ops"])
        state["parser_ops"].append(
            {"parameters": [tmp.json(), param(b2d(self.conv.cond(s.cond, env)))], "op": "set"}
        )
        base = state["name"]
        then_name = self.names.fresh(f"{base}_true")
        else_name = self.names.fresh(f"{base}_false")
        state["transition_key"] = [tmp.json()]
        state["transitions"] = [
            {"type": "hexstr", "value": "0x01", "mask": None, "next_state": then_name},
            {"type": "default", "value": None, "mask": None, "next_state": else_name},
        ]
        then_stmts = s.then.stmts if isinstance(s.then, A.Block) else [s.then]
        self.emit_state(then_name, list(then_stmts) + list(rest), tr, env.child(), s.pos)
        other = (
            []
            if s.other is None
            else (s.other.stmts if isinstance(s.other, A.Block) else [s.other])
        )
        self.emit_state(else_name, list(other) + list(rest), tr, env.child(), s.pos)

    # -- statements ------------------------------------------------------------------------------
    def parser_stmt(self: Backend, s: A.Stmt, env: Env, ops: list[dict]) -> None:
        self.tracker["pos"] = s.pos
        if isinstance(s, A.VarDecl):
            loc = env.get(s)
            if loc is None:
                loc = self.storage.alloc(self.local_name(env, s.name), s.type)
                env.bind(s, loc)
            if s.init is not None:
                self.parser_assign(loc, s.type, s.init, env, ops, s.pos)
            return
        if isinstance(s, (A.ConstDecl, A.Empty)):
            return
        if isinstance(s, A.Assign):
            self.hoist_parser(s.rhs, env, ops)
            if isinstance(s.lhs, A.Slice):
                self.primitive_ops(lambda b: self.assign_slice(s.lhs, s.rhs, env, b, s.pos), ops)
                return
            self.parser_assign(self.conv.loc(s.lhs, env), s.lhs.type, s.rhs, env, ops, s.pos)
            return
        if isinstance(s, A.CallStmt):
            c = s.call
            if c.kind == "extern_method" and c.target.expr.type.decl.name == "packet_in":
                self.packet_in_call(c, env, ops, s.pos)
                return
            if c.kind == "extern_function" and c.callee.name == "verify":
                self.hoist_parser(c.bound[0][1], env, ops)
                cond = self.conv.cond(c.bound[0][1], env)
                err = self.conv.rvalue(c.bound[1][1], env)
                ops.append({"parameters": [cond, err], "op": "verify"})
                return
            self.hoist_parser_args(c, env, ops)
            self.primitive_ops(lambda b: self.call(c, env, b, s.pos), ops)
            return
        raise CompileError.at(s.pos, f"{type(s).__name__} is not supported in a parser state")

    def hoist_parser_args(self: Backend, c: A.Call, env: Env, ops: list[dict]) -> None:
        for _, a in c.bound:
            if a is not None:
                self.hoist_parser(a, env, ops)

    def primitive_ops(self: Backend, fill: Any, ops: list[dict]) -> None:
        b = ActionBuilder(self)
        fill(b)
        prims = b.finish()
        for p in prims:
            if p["op"].startswith("_jump"):
                raise CompileError.at(
                    None, "control flow inside calls is not supported in parser states"
                )
            ops.append({"parameters": [p], "op": "primitive"})

    def parser_assign(
        self: Backend, dest: Any, t: T.Type, rhs: A.Expr, env: Env, ops: list[dict], pos: Pos
    ) -> None:
        la = self.lookahead_of(rhs, env)
        if isinstance(dest, FieldLoc) and la is not None:
            ops.append({"parameters": [dest.json(), la.json()], "op": "set"})
            return
        if (
            isinstance(dest, HeaderLoc)
            and isinstance(rhs, A.Call)
            and getattr(rhs.callee, "name", "") == "lookahead"
        ):
            ops.append(
                {
                    "parameters": [{"op": "add_header", "parameters": [dest.json()]}],
                    "op": "primitive",
                }
            )
            off = 0
            for fname, ft in t.fields:
                w = width_of(ft)
                ops.append(
                    {
                        "parameters": [dest.fields[fname].json(), LookaheadVal(off, w).json()],
                        "op": "set",
                    }
                )
                off += w
            return
        if isinstance(dest, FieldLoc):
            src = self.conv.rvalue(rhs, env, top=True)
            ops.append({"parameters": [dest.json(), set_source(src)], "op": "set"})
            return
        self.primitive_ops(lambda b: self.assign_loc(dest, t, rhs, env, b, pos), ops)

    def lookahead_of(self: Backend, e: A.Expr, env: Env) -> LookaheadVal | None:
        """``packet.lookahead<T>()`` (or a field/slice of it) as a lookahead source."""
        if isinstance(e, A.Call) and e.kind == "extern_method" and e.callee.name == "lookahead":
            w = width_of(e.type) if not isinstance(e.type, T.TStructLike) else e.type.width()
            return LookaheadVal(0, w)
        if (
            isinstance(e, A.Member)
            and isinstance(e.expr, A.Call)
            and getattr(e.expr.callee, "name", "") == "lookahead"
        ):
            t = e.expr.type
            off = 0
            for fname, ft in t.fields:
                if fname == e.name:
                    return LookaheadVal(off, width_of(ft))
                off += width_of(ft)
        if isinstance(e, A.Slice):
            inner = self.lookahead_of(e.expr, env)
            if inner is not None:
                hi, lo = e.hi.const, e.lo.const
                return LookaheadVal(inner.offset + inner.width - 1 - hi, hi - lo + 1)
        return None

    def hoist_parser(self: Backend, e: A.Expr | None, env: Env, ops: list[dict]) -> None:
        """Lookaheads and value-returning calls nested in ``e`` go to temporaries first."""
        if e is None or e.const is not None:
            return
        if isinstance(e, A.Call) and e.kind == "extern_method" and e.callee.name == "lookahead":
            results = env.ctx.setdefault("call_results", {})
            if id(e) not in results:
                tmp = self.storage.alloc(self.temp_name(), e.type)
                results[id(e)] = tmp
                self.parser_assign(tmp, e.type, e, env, ops, e.pos)
            return
        from .sideeffects import subexpressions

        for ch in subexpressions(e):
            self.hoist_parser(ch, env, ops)
        if (
            isinstance(e, A.Call)
            and e.kind in ("function", "extern_method", "extern_function")
            and e.type != T.VOID
        ):
            self.primitive_ops(lambda b: self.hoist(e, env, b), ops)

    def packet_in_call(self: Backend, c: A.Call, env: Env, ops: list[dict], pos: Pos) -> None:
        m = c.callee.name
        args = [a for _, a in c.bound]
        if m == "extract":
            target = self.conv.loc(args[0], env)
            if isinstance(target, NextHeaderLoc):
                dest = {"type": "stack", "value": target.stack.name}
            elif isinstance(target, HeaderLoc):
                dest = {"type": "regular", "value": target.name}
            else:
                raise CompileError.at(
                    args[0].pos, "extract needs a header, a stack element or stack.next"
                )
            if len(args) == 2:
                self.hoist_parser(args[1], env, ops)
                length = self.conv.rvalue(args[1], env)
                ops.append(
                    {
                        "parameters": [dest, {"type": "expression", "value": length}],
                        "op": "extract_VL",
                    }
                )
            else:
                if target.htype.width() is None if isinstance(target, HeaderLoc) else False:
                    raise CompileError.at(
                        pos, "extracting a header with a varbit field needs a length argument"
                    )
                ops.append({"parameters": [dest], "op": "extract"})
        elif m == "advance":
            self.hoist_parser(args[0], env, ops)
            ops.append({"parameters": [param(self.conv.rvalue(args[0], env))], "op": "advance"})
        elif m == "lookahead":
            pass
        else:
            raise CompileError.at(pos, f"packet_in.{m} is not supported on this target")

    # -- transitions --------------------------------------------------------------------------------
    def transition(self: Backend, state: dict, tr: A.Transition, env: Env) -> None:
        if isinstance(tr.target, str):
            state["transitions"] = [
                {
                    "type": "default",
                    "value": None,
                    "mask": None,
                    "next_state": self.next_state(tr.target, env),
                }
            ]
            return
        sel = tr.target
        keys: list[dict] = []
        widths: list[int] = []
        for k in sel.keys:
            kj, w = self.select_key(k, env, state["parser_ops"])
            keys.append(kj)
            widths.append(w)
        state["transition_key"] = keys
        trans: list[dict] = []
        has_default = False
        for case in sel.cases:
            nxt = self.next_state(case.state, env)
            ks = case.keyset
            elems = ks.items if isinstance(ks, A.ListExpr) else [ks]
            if len(elems) == 1 and isinstance(elems[0], A.DefaultExpr):
                trans.append({"type": "default", "value": None, "mask": None, "next_state": nxt})
                has_default = True
                break
            if len(elems) == 1 and isinstance(getattr(elems[0], "decl", None), A.ValueSetDecl):
                vs = self.value_set_name(elems[0].decl, env)
                trans.append({"type": "parse_vset", "value": vs, "mask": None, "next_state": nxt})
                continue
            per_key: list[list[tuple[int, int]]] = []
            for e, w in zip(elems, widths, strict=True):
                per_key.append(self.keyset_masks(e, w))
            for combo in itertools.product(*per_key):
                value = pack([(v, w) for (v, _), w in zip(combo, widths, strict=True)])
                full = all(m == (1 << w) - 1 for (_, m), w in zip(combo, widths, strict=True))
                mask = (
                    None
                    if full
                    else pack([(m, w) for (_, m), w in zip(combo, widths, strict=True)])
                )
                trans.append({"type": "hexstr", "value": value, "mask": mask, "next_state": nxt})
        if not has_default:
            trans.append(
                {"type": "default", "value": None, "mask": None, "next_state": self.nomatch()}
            )
        state["transitions"] = trans

    def keyset_masks(self, e: A.Expr, w: int) -> list[tuple[int, int]]:
        full = (1 << w) - 1
        if isinstance(e, A.DefaultExpr):
            return [(0, 0)]
        if isinstance(e, A.Mask):
            m = self.conv.const_value(e.mask.const, e.mask.type) & full
            return [(self.conv.const_value(e.value.const, e.value.type) & m, m)]
        if isinstance(e, A.RangeExpr):
            lo = self.conv.const_value(e.lo.const, e.lo.type) & full
            hi = self.conv.const_value(e.hi.const, e.hi.type) & full
            return range_to_masks(lo, hi, w) if lo <= hi else []
        return [(self.conv.const_value(e.const, e.type) & full, full)]

    def select_key(self: Backend, k: A.Expr, env: Env, ops: list[dict]) -> tuple[dict, int]:
        w = width_of(k.type)
        la = self.lookahead_of(k, env)
        if la is not None:
            return la.json(), w
        if isinstance(k, (A.PathExpr, A.Member, A.Index)):
            try:
                loc = self.conv.loc(k, env)
            except CompileError:
                loc = None
            if isinstance(loc, (FieldLoc, StackFieldLoc)):
                return loc.json(), w
        self.hoist_parser(k, env, ops)
        tmp = self.storage.new_scalar(self.temp_name(), k.type if k.type != T.BOOL else T.TBits(1))
        ops.append(
            {
                "parameters": [tmp.json(), set_source(self.conv.rvalue(k, env, top=True))],
                "op": "set",
            }
        )
        return tmp.json(), w

    def next_state(self, name: str, env: Env) -> str | None:
        """BMv2 name of a transition target (accept/reject end parsing, as with p4c; inside an
        inlined sub-parser, accept continues the calling state)."""
        mapping = env.ctx.get("state_map")
        if mapping is not None:
            return mapping[name]
        if name in ("accept", "reject"):
            return None
        return name

    def sub_parser(
        self: Backend, state: dict, c: A.Call, rest: list, tr: A.Transition, env: Env
    ) -> None:
        """``p.apply(...)`` in a state: the sub-parser's states are inlined (renamed), its
        accept continues with the rest of the calling state."""
        sub = env.get(c.target.expr.decl)
        if sub is None or not isinstance(getattr(sub, "decl", None), A.ParserDecl):
            raise CompileError.at(c.pos, "only parser instances can be applied in a parser")
        decl = sub.decl
        bound = c.bound
        if c.callee is not decl:  # applied through a parameter of a parser type
            bound = [(q, a) for q, (_, a) in zip(decl.params, c.bound, strict=True)]
        for p, a in bound:
            if a is None:
                continue
            if isinstance(p.type, T.TExtern):
                sub.env.bind(
                    p, self.conv.loc(a, env) if not isinstance(a, A.PathExpr) else env.get(a.decl)
                )
            elif p.direction in ("out", "inout") or isinstance(a, (A.PathExpr, A.Member, A.Index)):
                sub.env.bind(p, self.conv.loc(a, env))
            else:
                from .storage import ValueLoc

                sub.env.bind(p, ValueLoc(a, env))
        base = self.names.fresh(sub.prefix.rsplit(".", 1)[-1])
        cont = self.names.fresh(f"{state['name']}_cont")
        mapping = {st.name: self.names.fresh(f"{base}_{st.name}") for st in decl.states}
        mapping["accept"], mapping["reject"] = cont, None
        state["transitions"] = [
            {"type": "default", "value": None, "mask": None, "next_state": mapping["start"]}
        ]
        senv = Env(sub.env, state_map=mapping, call_results={}, block_kind="parser")
        for st in decl.states:
            stmts = (list(sub.inits) if st.name == "start" else []) + list(st.stmts)
            self.emit_state(mapping[st.name], stmts, st.transition, senv.child(), st.pos)
        self.emit_state(cont, rest, tr, env, c.pos)

    def nomatch(self: Backend) -> str:
        """A state that fails with error.NoMatch (select without a matching case)."""
        if self.nomatch_state is None:
            self.nomatch_state = self.names.fresh("noMatch")
            cond = {"type": "bool", "value": False}
            ops = [{"parameters": [cond, hexstr(self.error_codes["NoMatch"], 32)], "op": "verify"}]
            self.parse_states.append(
                {
                    "name": self.nomatch_state,
                    "id": 0,
                    "parser_ops": ops,
                    "transitions": [
                        {"type": "default", "value": None, "mask": None, "next_state": None}
                    ],
                    "transition_key": [],
                }
            )
        return self.nomatch_state


__all__ = ["ParserLowering", "range_to_masks", "pack", "Label", "expr", "StackLoc"]


def set_source(j: dict) -> dict:
    """The source of a parser 'set': BMv2 takes a field, a constant, a lookahead or an
    expression there, so anything else (a stack's last field, a local) goes in an expression."""
    if j.get("type") in ("field", "hexstr", "lookahead"):
        return j
    if j.get("type") == "expression":
        return param(j)
    return {"type": "expression", "value": j}
