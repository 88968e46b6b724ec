"""Match-action tables and their actions in BMv2 JSON (keys, match types, implementations,
direct counters/meters, default entries, const entries), plus the control-plane description
of each table and action that P4Info is generated from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import ast as A
from .. import types as T
from ..diagnostics import CompileError, Pos
from ..values import EnumVal
from .actions import ActionBuilder, Label
from .expr import Env, hexstr, width_of
from .parse import range_to_masks
from .storage import FieldLoc, HeaderLoc, RuntimeLoc, ValueLoc

if TYPE_CHECKING:
    from .program import Backend


@dataclass
class CPKey:
    name: str
    match_kind: str
    width: int
    type: T.Type
    annotations: list


@dataclass
class CPAction:
    name: str
    decl: Any
    params: list[tuple[str, int, T.Type, list]]  # name, width, type, annotations
    annotations: list


@dataclass
class CPTable:
    name: str
    decl: Any
    keys: list[CPKey]
    actions: list[tuple[str, list]]  # (action control-plane name, annotations on the ref)
    size: int
    default_action: str | None
    default_const: bool
    implementation: str | None
    direct_counter: str | None
    direct_meter: str | None
    support_timeout: bool
    is_const: bool
    annotations: list
    has_entries: bool = False
    entries: list = field(default_factory=list)
    default_args: list = field(default_factory=list)  # (bitwidth, value) per action-data param


def expr_text(e: A.Expr) -> str:
    """The P4 source form of a key expression (the match field name p4c uses)."""
    if isinstance(e, A.PathExpr):
        return ("." if e.absolute else "") + e.name
    if isinstance(e, A.Member):
        inner = e.expr.ref if isinstance(e.expr, A.TypeExpr) else e.expr
        return f"{_text(inner)}.{e.name}"
    if isinstance(e, A.Index):
        return f"{expr_text(e.expr)}[{expr_text(e.index)}]"
    if isinstance(e, A.Slice):
        return f"{expr_text(e.expr)}[{expr_text(e.hi)}:{expr_text(e.lo)}]"
    if isinstance(e, A.Call):
        return f"{expr_text(e.target)}()"
    if isinstance(e, A.IntLit):
        return e.text or str(e.value)
    if isinstance(e, A.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, A.Binary):
        return f"{expr_text(e.left)} {e.op} {expr_text(e.right)}"
    if isinstance(e, A.Unary):
        return f"{e.op}{expr_text(e.expr)}"
    if isinstance(e, A.Cast):
        return f"({_text(e.to)}){expr_text(e.expr)}"
    return "?"


def _text(x: Any) -> str:
    if isinstance(x, A.Expr):
        return expr_text(x)
    if isinstance(x, A.NamedType):
        return x.name
    if isinstance(x, A.BitType):
        return f"{'int' if x.signed else 'bit'}<{expr_text(x.width) if x.width else 1}>"
    if isinstance(x, A.BaseType):
        return x.name
    return "?"


class TableLowering:
    """Mixin of ``Backend``."""

    # -- actions -----------------------------------------------------------------------------------
    def table_action(
        self: Backend, d: A.ActionDecl, owner: Env, ref: A.Call | None, caller: Env
    ) -> tuple[int, str]:
        """Convert action ``d`` (declared in the block of ``owner``) for use by a table;
        directional arguments come from the action-list call ``ref``."""
        key = (id(d), id(owner), id(ref) if ref is not None and ref.args else None)
        if key in self.action_cache:
            return self.action_cache[key]
        name = self.cp_name(d, owner.ctx.get("prefix", ""))
        b = ActionBuilder(self)
        inner = Env(owner, return_label=Label(), exit_label=Label(), call_results={})
        runtime: list[dict] = []
        cp_params = []
        bound = dict((id(p), a) for p, a in getattr(ref, "bound", [])) if ref is not None else {}
        for p in d.params:
            if p.direction == "":
                w = width_of(p.type)
                inner.bind(p, RuntimeLoc(len(runtime), w, _signed(p.type), p.type == T.BOOL))
                runtime.append({"name": _param_name(p), "bitwidth": w})
                cp_params.append((_param_name(p), w, p.type, p.annotations))
            else:
                a = bound.get(id(p))
                if a is None:
                    raise CompileError.at(d.pos, f"{d.name}: missing argument for {p.name}")
                inner.bind(
                    p, self.conv.loc(a, caller) if p.direction != "in" else ValueLoc(a, caller)
                )
        self.lower_stmts(d.body.stmts, inner, b)
        b.place(inner.ctx["return_label"])
        b.place(inner.ctx["exit_label"])
        aid = self.add_action(name, runtime, b.finish(), d.pos)
        self.action_cache[key] = (aid, name)
        self.check_cp_action_name(name, d)
        if not d.anno("hidden") and name not in self.cp_actions:
            self.cp_actions[name] = CPAction(name, d, cp_params, d.annotations)
        return aid, name

    def add_action(
        self: Backend, name: str, runtime: list[dict], prims: list[dict], pos: Pos | None
    ) -> int:
        aid = len(self.json["actions"])
        self.json["actions"].append(
            {"name": name, "id": aid, "runtime_data": runtime, "primitives": prims}
        )
        return aid

    def action_data(self: Backend, a: A.Expr, t: T.Type) -> str:
        v = self.conv.const_value(a.const, t)
        return hexstr(v, width_of(t))["value"]

    def implicit_actions(self: Backend, table: A.TableDecl) -> list:
        return [self.noaction] if getattr(table, "implicit_noaction", False) else []

    # -- tables ------------------------------------------------------------------------------------
    def apply_table(self: Backend, call: A.Call, env: Env, targets: dict, nxt: str | None) -> str:
        t: A.TableDecl = call.callee
        owner = env.get(t)
        if owner is None:
            raise CompileError.at(call.pos, f"table {t.name} cannot be applied here")
        name = self.cp_name(t, owner.ctx.get("prefix", ""))
        if name in self.applied_tables:
            other, other_decl = self.applied_tables[name]
            if other_decl is not t:
                a, b = sorted([other_decl, t], key=lambda d: (d.pos.file, d.pos.line, d.pos.col))
                raise CompileError.at(
                    b.pos,
                    f"table {b.name}: control-plane name {name} is already the name of the "
                    f"table at line {a.pos.line}",
                )
            first, second = sorted([other, call.pos], key=lambda p: (p.file, p.line, p.col))
            raise CompileError.at(
                second,
                f"table {name} is applied more than once (first at line {first.line}); "
                "BMv2 requires each table to be applied at most once",
            )
        self.applied_tables[name] = (call.pos, t)
        j, pre = self.table_json(t, name, owner, env, call.pos)
        actions = list(zip(j["action_ids"], j["actions"], strict=True))
        decls = t.action_decls + self.implicit_actions(t)
        if "__HIT__" in targets:
            j["next_tables"] = {"__HIT__": targets["__HIT__"], "__MISS__": targets["__MISS__"]}
        else:
            j["next_tables"] = {
                aname: targets.get(f"@{id(d)}", targets.get("*", nxt))
                for (_, aname), d in zip(actions, decls, strict=True)
            }
        j["base_default_next"] = nxt
        env.ctx["pipeline"]["tables"].append(j)
        if pre is not None:
            return self.synth_table(pre, call.pos, name, env)
        return name

    def table_json(
        self: Backend, t: A.TableDecl, name: str, owner: Env, env: Env, pos: Pos
    ) -> tuple[dict, ActionBuilder | None]:
        keys_json: list[dict] = []
        cp_keys: list[CPKey] = []
        kinds: list[str] = []
        pre: ActionBuilder | None = None
        selector_inputs: list[dict] = []
        for k in t.keys:
            kname = A.find_annotation(k.annotations, "name")
            text = (
                kname.string_arg()
                if kname is not None and kname.string_arg()
                else expr_text(k.expr)
            )
            mk = k.match_kind
            kt = k.expr.type
            if mk == "selector":
                selector_inputs.append(self._selector_input(k.expr, owner))
                continue
            w = width_of(kt) if not isinstance(kt, T.TEnum) or kt.underlying else 32
            if kt is self.error_type:
                w = 32
            pre_list: list = []
            target, mask = self.key_target(k.expr, owner, pre_list)
            if pre_list:
                pre = pre or ActionBuilder(self)
                tmp, e = pre_list[0]
                self.assign_loc(
                    tmp,
                    e.type if e.type != T.BOOL else T.BOOL,
                    e,
                    owner.child(call_results={}),
                    pre,
                    e.pos,
                )
            bm = "ternary" if mk == "optional" else mk
            entry = {"match_type": bm, "name": text, "target": target, "mask": mask}
            keys_json.append(entry)
            kinds.append(mk)
            cp_keys.append(CPKey(text, mk, w, kt, k.annotations))
        if "range" in kinds:
            match_type = "range"
        elif "ternary" in kinds or "optional" in kinds:
            match_type = "ternary"
        elif "lpm" in kinds:
            match_type = "lpm"
        else:
            match_type = "exact"
        size = getattr(t, "size_value", None) or 1024
        aids, anames, cp_refs = [], [], []
        for d, ref in zip(t.action_decls, t.action_refs, strict=True):
            aid, aname = self.table_action(
                d,
                self.decl_env(d, owner),
                ref.call if isinstance(ref.call, A.Call) else None,
                owner,
            )
            aids.append(aid)
            anames.append(aname)
            cp_refs.append((aname, ref.annotations))
        da = getattr(t, "default_call", None)
        if da is None and t.prop("default_action") is None:
            if not any(d is self.noaction for d in t.action_decls):
                t.implicit_noaction = True
                aid, aname = self.table_action(self.noaction, self.global_env, None, owner)
                aids.append(aid)
                anames.append(aname)
                cp_refs.append((aname, [A.Annotation(t.pos, "defaultonly", [], [])]))
        j: dict = {
            "name": name,
            "id": self.next_id("tables"),
            "source_info": self.source_info(t.pos, t.name),
            "key": keys_json,
            "match_type": match_type,
            "type": "simple",
            "max_size": size,
            "with_counters": False,
            "support_timeout": False,
            "direct_meters": None,
            "action_ids": aids,
            "actions": anames,
            "base_default_next": None,
            "next_tables": {},
        }
        impl_name = self.table_extern(t, "implementation", owner)
        if impl_name is not None:
            impl = impl_name
            prof = self.action_profile_json(impl, owner, selector_inputs, env)
            j["type"] = "indirect_ws" if "selector" in prof else "indirect"
            j["action_profile"] = impl.name
        elif selector_inputs:
            raise CompileError.at(
                t.pos, f"table {t.name}: selector keys need an action_selector implementation"
            )
        counters = self.table_extern(t, "counters", owner)
        if counters is not None:
            j["with_counters"] = True
            self.json["counter_arrays"].append(
                {
                    "name": counters.name,
                    "id": len(self.json["counter_arrays"]),
                    "is_direct": True,
                    "binding": name,
                    "source_info": self.source_info(counters.decl.pos, counters.decl.name),
                }
            )
        meters = self.table_extern(t, "meters", owner)
        if meters is not None:
            j["direct_meters"] = meters.name
            self.pending_direct_meters.append((meters, name, size))
        st = t.prop("support_timeout")
        timeout = bool(st is not None and st.value.const)
        j["support_timeout"] = timeout
        default_name, default_const = None, False
        default_args: list = []
        if da is not None:
            d = da.callee
            aid = aids[[x is d for x in t.action_decls].index(True)]
            default_name = anames[aids.index(aid)]
            default_const = t.prop("default_action").is_const
            data = [self.action_data(a, p.type) for p, a in da.bound if p.direction == ""]
            default_args = [
                (width_of(p.type), self.conv.const_value(a.const, p.type))
                for p, a in da.bound
                if p.direction == ""
            ]
            if j["type"] == "simple":
                j["default_entry"] = {
                    "action_id": aid,
                    "action_const": default_const,
                    "action_data": data,
                    "action_entry_const": default_const,
                }
        elif getattr(t, "implicit_noaction", False) or any(
            d is self.noaction for d in t.action_decls
        ):
            aid = aids[anames.index("NoAction")] if "NoAction" in anames else None
            if aid is not None:
                default_name = "NoAction"
                if j["type"] == "simple":
                    j["default_entry"] = {
                        "action_id": aid,
                        "action_const": False,
                        "action_data": [],
                        "action_entry_const": False,
                    }
        ents = t.prop("entries")
        if ents is not None:
            j["entries"] = self.const_entries(t, ents.value, kinds, cp_keys, aids, anames)
        if not t.anno("hidden"):
            self.cp_tables.append(
                CPTable(
                    name,
                    t,
                    cp_keys,
                    cp_refs,
                    size,
                    default_name,
                    default_const,
                    impl_name.name if impl_name is not None else None,
                    counters.name if counters is not None else None,
                    meters.name if meters is not None else None,
                    timeout,
                    bool(ents is not None and ents.is_const),
                    t.annotations,
                    ents is not None,
                    default_args=default_args,
                )
            )
        return j, pre

    def key_target(self: Backend, e: A.Expr, env: Env, pre: list) -> tuple[list, Any]:
        if (
            isinstance(e, A.Call)
            and getattr(e, "kind", None) == "builtin"
            and e.callee == "isValid"
        ):
            loc = self.conv.loc(e.target.expr, env)
            if isinstance(loc, HeaderLoc):
                return [loc.name, "$valid$"], None
        if (
            isinstance(e, A.Binary)
            and e.op == "&"
            and e.right.const is not None
            and e.left.const is None
        ):
            try:
                loc = self.conv.loc(e.left, env)
            except CompileError:
                loc = None
            if isinstance(loc, FieldLoc):
                return loc.json()["value"], hexstr(
                    self.conv.const_value(e.right.const, e.right.type), loc.width
                )["value"]
        if isinstance(e, (A.PathExpr, A.Member, A.Index)) and not (
            isinstance(e, A.Member) and e.name in ("hit", "miss")
        ):
            try:
                loc = self.conv.loc(e, env)
            except CompileError:
                loc = None
            if isinstance(loc, FieldLoc):
                return loc.json()["value"], None
        t = e.type if e.type != T.BOOL else T.BOOL
        tmp = self.storage.new_scalar(self.names.fresh("key"), t)
        pre.append((tmp, e))
        return tmp.json()["value"], None

    def _selector_input(self: Backend, e: A.Expr, env: Env) -> dict:
        loc = self.conv.loc(e, env)
        if not isinstance(loc, FieldLoc):
            raise CompileError.at(e.pos, "selector keys must be fields")
        return loc.json()

    def const_entries(
        self: Backend,
        t: A.TableDecl,
        entries: list,
        kinds: list,
        keys: list,
        aids: list,
        anames: list,
    ) -> list:
        out = []
        # BMv2 lets the smallest priority win; P4 priorities follow largest_priority_wins
        prios = [getattr(en, "p4_priority", i + 1) for i, en in enumerate(entries)]
        largest = getattr(t, "largest_priority_wins", True)
        top = max(prios, default=0)
        for i, en in enumerate(entries):
            mk_list = []
            for k, mk, ck in zip(en.keys, kinds, keys, strict=True):
                mk_list.append(self.entry_key(k, mk, ck.width))
            d = en.call.callee
            idx = [x is d for x in t.action_decls].index(True)
            data = [self.action_data(a, p.type) for p, a in en.call.bound if p.direction == ""]
            bm_prio = top + 1 - prios[i] if largest else prios[i]
            legacy = getattr(en, "bmv2_priority", None)
            if legacy is not None:
                bm_prio = legacy
            out.append(
                {
                    "source_info": self.source_info(en.pos, ""),
                    "match_key": mk_list,
                    "action_entry": {"action_id": aids[idx], "action_data": data},
                    "priority": bm_prio,
                }
            )
        return out

    def entry_key(self: Backend, k: A.Expr, mk: str, w: int) -> dict:
        full = (1 << w) - 1

        def val(e: A.Expr) -> int:
            v = e.const
            if isinstance(v, EnumVal) or not isinstance(v, int):
                v = self.conv.const_value(v, e.type)
            return int(v) & full

        def hx(v: int) -> str:
            return hexstr(v, w)["value"]

        dont_care = isinstance(k, A.DefaultExpr)
        if mk == "exact":
            if dont_care:
                raise CompileError.at(k.pos, "exact keys cannot be wildcards")
            return {"match_type": "exact", "key": hx(val(k))}
        if mk == "lpm":
            if dont_care:
                return {"match_type": "lpm", "key": hx(0), "prefix_length": 0}
            if isinstance(k, A.Mask):
                m = val(k.mask)
                plen = bin(m).count("1")
                if m != ((full >> (w - plen)) << (w - plen)) if plen else m != 0:
                    raise CompileError.at(k.pos, "invalid mask for an lpm key")
                return {"match_type": "lpm", "key": hx(val(k.value) & m), "prefix_length": plen}
            return {"match_type": "lpm", "key": hx(val(k)), "prefix_length": w}
        if mk in ("ternary", "optional"):
            if dont_care:
                return {"match_type": "ternary", "key": hx(0), "mask": hx(0)}
            if isinstance(k, A.Mask):
                m = val(k.mask)
                return {"match_type": "ternary", "key": hx(val(k.value) & m), "mask": hx(m)}
            return {"match_type": "ternary", "key": hx(val(k)), "mask": hx(full)}
        if mk == "range":
            if dont_care:
                return {"match_type": "range", "start": hx(0), "end": hx(full)}
            if isinstance(k, A.RangeExpr):
                return {"match_type": "range", "start": hx(val(k.lo)), "end": hx(val(k.hi))}
            return {"match_type": "range", "start": hx(val(k)), "end": hx(val(k))}
        raise CompileError.at(k.pos, f"match kind {mk} is not supported in entries")

    # -- table externs -------------------------------------------------------------------------------
    def table_extern(self: Backend, t: A.TableDecl, prop: str, env: Env) -> Any:
        p = t.prop(prop)
        if p is None:
            return None
        v = p.value
        if isinstance(v, A.PathExpr):
            return env.get(v.decl)
        if isinstance(v, A.Call):
            key = (id(t), prop, id(env))
            if key not in self.inplace_externs:
                # an instance made in the property: p4c names it after the property's @name
                # (as written, without the control's prefix), else after the table
                pa = A.find_annotation(p.annotations, "name")
                given = pa.string_arg() if pa is not None else None
                base = self.cp_name(t, env.ctx.get("prefix", ""))
                self.inplace_externs[key] = self.make_extern(
                    given.lstrip(".")
                    if given
                    else base + "_" + prop
                    if prop != "implementation"
                    else base + "_impl",
                    v.type,
                    v,
                    env,
                    v.pos,
                )
            return self.inplace_externs[key]
        raise CompileError.at(v.pos, f"unsupported {prop} value")

    def action_profile_json(
        self: Backend, ext: Any, env: Env, selector_inputs: list, penv: Env
    ) -> dict:
        for prof in penv.ctx["pipeline"]["action_profiles"]:
            if prof["name"] == ext.name:
                if (
                    "selector" in prof
                    and selector_inputs
                    and prof["selector"]["input"] != selector_inputs
                ):
                    raise CompileError.at(
                        ext.decl.pos,
                        f"{ext.name}: tables sharing a selector must use the same selector keys",
                    )
                return prof
        size = self.conv.const_value(ext.args["size"].const, ext.args["size"].type)
        prof: dict = {
            "name": ext.name,
            "id": self.next_id("action_profiles"),
            "source_info": self.source_info(ext.decl.pos, ext.decl.name),
            "max_size": size,
        }
        if ext.etype.decl.name == "action_selector":
            algo = ext.args["algorithm"].const
            if not selector_inputs:
                raise CompileError.at(
                    ext.decl.pos,
                    f"{ext.name}: tables using an action_selector need 'selector' keys",
                )
            prof["selector"] = {"algo": algo.name, "input": selector_inputs}
        penv.ctx["pipeline"]["action_profiles"].append(prof)
        return prof


def _param_name(p: A.Param) -> str:
    """Control-plane name of an action parameter (``@name`` wins)."""
    a = p.anno("name")
    return (a.string_arg() if a is not None else None) or p.name


def _signed(t: T.Type) -> bool:
    b = T.underlying(t)
    return isinstance(b, T.TBits) and b.signed


__all__ = ["TableLowering", "CPTable", "CPAction", "CPKey", "expr_text", "range_to_masks"]
