"""Source generation for actions, control pipelines (tables, conditionals), field lists
(clone/resubmit/recirculate) and learn lists (digests)."""

from __future__ import annotations

from typing import Any

from .codegen_prims import jump_target
from .errors import ConfigError

MAX_ACTION_STEPS = 1 << 20  # a _jump loop longer than this is treated as a program bug


class ControlGenMixin:
    """Mixin for :class:`.codegen.Generator`."""

    # -- actions ---------------------------------------------------------------------------------

    def gen_action(self, action: dict[str, Any]) -> str:
        aid = int(action["id"])
        fname = f"_a{aid}"
        self.consts["_cur_param_widths"] = [
            int(p["bitwidth"]) for p in action.get("runtime_data", [])
        ]
        prims = action.get("primitives", [])
        self.w(f"def {fname}(F, V, S, P, d):")
        has_jump = any(p.get("op") in ("_jump", "_jump_if_zero") for p in prims)
        if not prims:
            self.w("    return")
        elif not has_jump:
            for p in prims:
                for line in self.prims.gen(p, "action"):
                    self.w("    " + line)
        else:
            n = len(prims)
            self.w("    pc = 0")
            self.w("    _steps = 0")
            self.w(f"    while pc < {n}:")
            self.w("        _steps += 1")
            self.w(f"        if _steps > {MAX_ACTION_STEPS}:")
            self.w("            raise RuntimeError('action does not terminate (_jump loop)')")
            for i, p in enumerate(prims):
                self.w(f"        {'if' if i == 0 else 'elif'} pc == {i}:")
                op = p.get("op")
                params = p.get("parameters", [])
                if op == "_jump":
                    self.w(f"            pc = {jump_target(self.eg, params[0])}")
                    continue
                if op == "_jump_if_zero":
                    cond = self.eg.value(params[0])
                    tgt = jump_target(self.eg, params[1])
                    self.w(f"            pc = {tgt} if {cond.as_data()} == 0 else {i + 1}")
                    continue
                for line in self.prims.gen(p, "action"):
                    self.w("            " + line)
                self.w(f"            pc = {i + 1}")
            self.w("        else:")
            self.w("            break")
        self.consts["_cur_param_widths"] = None
        return fname

    # -- pipelines -------------------------------------------------------------------------------

    def gen_pipeline(self, pipe: dict[str, Any]) -> str:
        pname = pipe["name"]
        node_names: dict[str, str] = {}
        for t in pipe.get("tables", []):
            node_names[t["name"]] = f"_nt{self.tables[(pname, t['name'])].id}"
        for c in pipe.get("conditionals", []):
            node_names[c["name"]] = f"_nc{self.fresh()}"
        for a in pipe.get("action_calls", []):
            node_names[a["name"]] = f"_na{self.fresh()}"

        def ref(name: str | None) -> str:
            if name is None:
                return "None"
            if name not in node_names:
                raise ConfigError(f"pipeline {pname}: unknown node {name!r}")
            return node_names[name]

        for t in pipe.get("tables", []):
            self._gen_table_node(pname, t, node_names[t["name"]], ref)
        for c in pipe.get("conditionals", []):
            cond = (
                self.eg.value(c["expression"])
                if "type" in c["expression"]
                else self.eg.expr(c["expression"])
            )
            self.w(f"def {node_names[c['name']]}(F, V, S, P):")
            self.w(f"    if {cond.as_bool()}:")
            self.w(f"        return {ref(c.get('true_next'))}")
            self.w(f"    return {ref(c.get('false_next'))}")
        for a in pipe.get("action_calls", []):
            self.w(f"def {node_names[a['name']]}(F, V, S, P):")
            self.w(f"    _a{int(a['action_id'])}(F, V, S, P, ())")
            self.w(f"    return {ref(a.get('next_node'))}")
        fname = f"_pipe{self.fresh()}"
        self.w(f"def {fname}(F, V, S, P):")
        self.w(f"    n = {ref(pipe.get('init_table'))}")
        self.w("    while n is not None and not P.exit:")
        self.w("        n = n(F, V, S, P)")
        return fname

    def _key_expr(self, t: dict[str, Any]) -> str:
        parts = []
        for k in t.get("key", []):
            mt = k.get("match_type")
            target = k.get("target")
            if mt == "valid" or isinstance(target, str):
                h = self.prog.header(target if isinstance(target, str) else target[0])
                src = f"(1 if V[{h.index}] else 0)"
            elif target[1] == "$valid$":
                h = self.prog.header(target[0])
                src = f"(1 if V[{h.index}] else 0)"
            else:
                f = self.prog.field(target)
                src = f"F[{f.index}]"
                if f.signed:
                    src = f"({src} & {hex(f.mask)})"
                mask = k.get("mask")
                if mask not in (None, ""):
                    from .program import hexstr

                    src = f"({src} & {hex(hexstr(mask) & f.mask)})"
            parts.append(src)
        if not parts:
            return "()"
        return "(" + ", ".join(parts) + ",)"

    def _gen_table_node(self, pname: str, t: dict[str, Any], fname: str, ref: Any) -> None:
        table = self.tables[(pname, t["name"])]
        tn = f"T{table.id}"
        nt = t.get("next_tables", {})
        table.hit_miss = "__HIT__" in nt or "__MISS__" in nt
        if table.hit_miss:
            self.late.append(f"{tn}.hit_next = {ref(nt.get('__HIT__'))}")
            self.late.append(f"{tn}.miss_next = {ref(nt.get('__MISS__'))}")
        base = ref(t.get("base_default_next"))
        items = []
        for aid, aname in zip(t.get("action_ids", []), t.get("actions", []), strict=False):
            items.append(f"{int(aid)}: {ref(nt.get(aname, t.get('base_default_next')))}")
        self.late.append(f"{tn}.next_by_aid.update({{{', '.join(items)}}})")
        self.late.append(f"{tn}.base_next = {base}")
        if not table.hit_miss:
            self.late.append(f"{tn}.miss_next = {base}")
        indirect = table.kind in ("indirect", "indirect_ws")
        hit_next = (
            f"{tn}.hit_next"
            if table.hit_miss
            else ("_T.next_by_aid[a.aid]" if indirect else "a.next")
        )
        miss_next = "_T.miss_next" if table.hit_miss else "_T.next_by_aid.get(a.aid, _T.base_next)"
        self.w(f"def {fname}(F, V, S, P, _lk={tn}.lookup, _T={tn}):")
        if table.mode == "empty":
            self.w("    e = None")
        else:
            self.w(f"    e = _lk({self._key_expr(t)})")
        if indirect:
            self.w("    a = None")
            self.w("    if e is not None:")
            self.w("        a = _T.profile.resolve(e.member, e.group, F, V, S, P)")
            self.w("    if a is None:")
        else:
            self.w("    if e is None:")
        self.w("        a = _T.default")
        self.w("        if a is None:")
        self.w("            return _T.miss_next")
        self.w("        a.fn(F, V, S, P, a.args)")
        self.w(f"        return {miss_next}")
        if table.with_counters:
            self.w("    e.packets += 1")
            self.w("    e.bytes += P.ilen")
        if table.direct_meter is not None:
            rt = table.direct_meter.result_target
            self.w("    _c = e.meter.execute(_now(), P.ilen)")
            if rt is not None:
                f = self.prog.fields[rt]
                self.w(f"    F[{rt}] = _c & {hex(f.mask)}")
        if table.support_timeout:
            self.w("    e.last_hit = _now()")
            self.w("    if e.idle_notified:")
            self.w("        e.idle_notified = False")
            self.w("        if _T.on_rehit is not None:")
            self.w("            _T.on_rehit()")
        if not indirect:
            self.w("    a = e.action")
        self.w("    a.fn(F, V, S, P, a.args)")
        self.w(f"    return {hit_next}")

    # -- field lists and learn lists -------------------------------------------------------------

    def _list_fields(self, elements: list[dict[str, Any]]) -> list[int]:
        out = []
        for el in elements:
            t = el.get("type")
            if t == "field":
                out.append(self.prog.field(el["value"]).index)
            elif t == "header":
                out.extend(f.index for f in self.prog.header(el["value"]).fields)
            else:
                raise ConfigError(f"unsupported field list element {t!r}")
        return out

    def gen_field_lists(self) -> dict[int, str]:
        names = {}
        for fid, fl in self.prog.field_lists.items():
            idx = self._list_fields(fl.get("elements", []))
            fname = f"_fl{fid}"
            self.w(f"def {fname}(Fs, Fd):")
            if not idx:
                self.w("    return")
            for i in idx:
                self.w(f"    Fd[{i}] = Fs[{i}]")
            names[fid] = fname
        return names

    def gen_learn_lists(self) -> dict[int, str]:
        names = {}
        for lid, ll in self.prog.learn_lists.items():
            idx = self._list_fields(ll.get("elements", []))
            fname = f"_ll{lid}"
            inner = ", ".join(f"F[{i}]" for i in idx)
            self.w(f"def {fname}(F):")
            self.w(f"    return ({inner}{',' if idx else ''})")
            names[lid] = fname
        return names
