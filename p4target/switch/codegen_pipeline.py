"""Source generation for control pipelines (tables, conditionals, action calls).

The control-flow graph p4c emits is a DAG of nodes.  A node reached from one place only is
inlined into its predecessor's code (conditionals become ``if``/``else``, keyless tables with a
const default action -- p4c's ``tbl_*`` wrappers of plain statements -- become the action's
statements); every other node (join points, the targets of a per-action ``switch``) gets its
own function returning the next such function.  The pipeline runs these functions until one
returns None; after an action that may call ``exit``, ``P.exit`` is checked and the pipeline
returns None, which is when BMv2 stops applying nodes.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .program import hexstr

MAX_INLINE_DEPTH = 24  # nested blocks before a node gets its own function


class PipelineGenMixin:
    """Mixin for :class:`.codegen.Generator`."""

    def gen_pipeline(self, pipe: dict[str, Any]) -> str:
        pname = pipe["name"]
        nodes: dict[str, tuple[str, dict[str, Any]]] = {}
        for t in pipe.get("tables", []):
            nodes[t["name"]] = ("table", t)
        for c in pipe.get("conditionals", []):
            nodes[c["name"]] = ("cond", c)
        for a in pipe.get("action_calls", []):
            nodes[a["name"]] = ("call", a)
        self._pnodes = nodes
        self._pname = pname
        indeg: dict[str, int] = dict.fromkeys(nodes, 0)
        roots: set[str] = set()
        for kind, j in nodes.values():
            nexts = self._successors(kind, j)
            if kind == "table" and not self._single_continuation(j):
                roots.update(n for n in nexts if n is not None)
            for n in set(nexts):
                if n is None:
                    continue
                if n not in nodes:
                    raise ConfigError(f"pipeline {pname}: unknown node {n!r}")
                indeg[n] += 1
        init = pipe.get("init_table")
        if init is not None:
            if init not in nodes:
                raise ConfigError(f"pipeline {pname}: unknown init node {init!r}")
            roots.add(init)
        roots.update(n for n, d in indeg.items() if d > 1)
        self._roots = roots
        self._root_fn: dict[str, str] = {}
        for t in pipe.get("tables", []):
            self._table_late(pname, t)
        done: set[str] = set()
        pending = [init] if init is not None else []
        pending += sorted(roots - {init})
        while pending:
            name = pending.pop()
            if name in done or name is None:
                continue
            done.add(name)
            fn = self._fn_name(name)
            self.w(f"def {fn}(F, V, S, P):")
            for line in self._emit(name, "    ", 0, name):
                self.w(line)
            pending.extend(r for r in self._roots if r not in done)
        fname = f"_pipe{self.fresh()}"
        self.w(f"def {fname}(F, V, S, P):")
        self.w(f"    n = {self._ref(init)}")
        self.w("    while n is not None:")
        self.w("        n = n(F, V, S, P)")
        return fname

    # -- graph helpers ---------------------------------------------------------------------------

    @staticmethod
    def _successors(kind: str, j: dict[str, Any]) -> list[str | None]:
        if kind == "cond":
            return [j.get("true_next"), j.get("false_next")]
        if kind == "call":
            return [j.get("next_node")]
        nt = j.get("next_tables", {})
        out = list(nt.values())
        out.append(j.get("base_default_next"))
        return out

    def _single_continuation(self, t: dict[str, Any]) -> bool:
        """True when every outcome of the table continues to the same node (inlinable)."""
        nt = t.get("next_tables", {})
        if "__HIT__" in nt or "__MISS__" in nt:
            return True  # two continuations, both inlined in the hit / miss branches
        base = t.get("base_default_next")
        targets = {nt.get(a, base) for a in t.get("actions", [])} | {base}
        table = self.tables[(self._pname, t["name"])]
        return len(targets) == 1 and table.kind == "simple"

    def _fn_name(self, name: str) -> str:
        fn = self._root_fn.get(name)
        if fn is None:
            fn = self._root_fn[name] = f"_n{self.fresh()}"
        return fn

    def _ref(self, name: str | None) -> str:
        if name is None:
            return "None"
        self._roots.add(name)
        return self._fn_name(name)

    def _continue(self, name: str | None, ind: str, depth: int, current: str) -> list[str]:
        """Code that goes on with node ``name``: inline it, or return its function."""
        if name is None:
            return [f"{ind}return None"]
        if name in self._roots and name != current:
            return [f"{ind}return {self._ref(name)}"]
        if depth > MAX_INLINE_DEPTH:
            return [f"{ind}return {self._ref(name)}"]
        return self._emit(name, ind, depth, current)

    # -- nodes -----------------------------------------------------------------------------------

    def _emit(self, name: str, ind: str, depth: int, current: str) -> list[str]:
        kind, j = self._pnodes[name]
        if kind == "cond":
            expr = j["expression"]
            cond = self.eg.value(expr) if "type" in expr else self.eg.expr(expr)
            out = [f"{ind}if {cond.as_bool()}:"]
            out += self._continue(j.get("true_next"), ind + "    ", depth + 1, current)
            out += self._continue(j.get("false_next"), ind, depth, current)
            return out
        if kind == "call":
            action = self.prog.actions[int(j["action_id"])]
            out = self._inline_action(action, (), ind)
            if self.action_may_exit(action):
                out += [f"{ind}if P.exit:", f"{ind}    return None"]
            return out + self._continue(j.get("next_node"), ind, depth, current)
        return self._emit_table(j, ind, depth, current)

    def _inline_action(self, action: dict[str, Any], data: tuple[int, ...], ind: str) -> list[str]:
        body = self.action_body(action)
        if not body:
            return []
        out = [f"{ind}d = {data!r}"] if action.get("runtime_data") else []
        return out + [ind + line[4:] for line in body]

    def _key_expr(self, t: dict[str, Any]) -> str:
        parts = []
        for k in t.get("key", []):
            mt = k.get("match_type")
            target = k.get("target")
            if mt == "valid" or isinstance(target, str) or target[1] == "$valid$":
                h = self.prog.header(target if isinstance(target, str) else target[0])
                parts.append(f"(1 if V[{h.index}] else 0)")
                continue
            f = self.prog.field(target)
            src = f"F[{f.index}]"
            if f.signed:
                src = f"({src} & {hex(f.mask)})"
            mask = k.get("mask")
            if mask not in (None, ""):
                src = f"({src} & {hex(hexstr(mask) & f.mask)})"
            parts.append(src)
        return "(" + ", ".join(parts) + ",)" if parts else "()"

    def _table_late(self, pname: str, t: dict[str, Any]) -> None:
        """Per-action next nodes, for tables whose continuation is dispatched at run time."""
        table = self.tables[(pname, t["name"])]
        nt = t.get("next_tables", {})
        table.hit_miss = "__HIT__" in nt or "__MISS__" in nt
        if table.hit_miss or self._single_continuation(t):
            return
        tn = f"T{table.id}"
        base = t.get("base_default_next")
        items = [
            f"{int(aid)}: {self._ref(nt.get(aname, base))}"
            for aid, aname in zip(t.get("action_ids", []), t.get("actions", []), strict=False)
        ]
        self.late.append(f"{tn}.next_by_aid.update({{{', '.join(items)}}})")
        self.late.append(f"{tn}.base_next = {self._ref(base)}")

    def _emit_table(self, t: dict[str, Any], ind: str, depth: int, current: str) -> list[str]:
        table = self.tables[(self._pname, t["name"])]
        tn = f"T{table.id}"
        nt = t.get("next_tables", {})
        actions = [self.prog.actions[int(a)] for a in t.get("action_ids", [])]
        may_exit = any(self.action_may_exit(a) for a in actions)
        exit_check = [f"{ind}if P.exit:", f"{ind}    return None"] if may_exit else []
        de = t.get("default_entry") or {}
        if (
            table.mode == "empty"
            and de.get("action_const")
            and de.get("action_entry_const")
            and not table.hit_miss
            and self._single_continuation(t)
            and int(de.get("action_id", -1)) in self.prog.actions
        ):
            # p4c's wrapper table for plain statements: the const default action, inlined
            action = self.prog.actions[int(de["action_id"])]
            data = tuple(hexstr(x) for x in de.get("action_data", []))
            out = self._inline_action(action, data, ind)
            if self.action_may_exit(action):
                out += [f"{ind}if P.exit:", f"{ind}    return None"]
            return out + self._continue(t.get("base_default_next"), ind, depth, current)
        out = []
        if table.mode == "empty":
            out.append(f"{ind}e = None")
        else:
            out.append(f"{ind}e = {tn}.lookup({self._key_expr(t)})")
        indirect = table.kind in ("indirect", "indirect_ws")
        if indirect:
            out += [
                f"{ind}a = None",
                f"{ind}if e is not None:",
                f"{ind}    a = {tn}.profile.resolve(e.member, e.group, F, V, S, P)",
                f"{ind}if a is None:",
            ]
        else:
            out.append(f"{ind}if e is None:")
        i2 = ind + "    "
        out += [
            f"{i2}a = {tn}.default",
            f"{i2}if a is not None:",
            f"{i2}    a.fn(F, V, S, P, a.args)",
        ]
        out += [x.replace(ind, i2, 1) for x in exit_check]
        if table.hit_miss:
            out += self._continue(nt.get("__MISS__"), i2, depth + 1, current)
        elif not self._single_continuation(t):
            out.append(
                f"{i2}return {tn}.next_by_aid.get(a.aid, {tn}.base_next) if a is not None else {tn}.base_next"
            )
        hit = [] if indirect else [f"{ind}else:"]
        hi = ind if indirect else i2
        if table.with_counters:
            hit += [f"{hi}e.packets += 1", f"{hi}e.bytes += P.ilen"]
        if table.direct_meter is not None:
            hit.append(f"{hi}_c = e.meter.execute(_now(), P.ilen)")
            rt = table.direct_meter.result_target
            if rt is not None:
                hit.append(f"{hi}F[{rt}] = _c & {hex(self.prog.fields[rt].mask)}")
        if table.support_timeout:
            hit += [
                f"{hi}e.last_hit = _now()",
                f"{hi}if e.idle_notified:",
                f"{hi}    e.idle_notified = False",
                f"{hi}    if {tn}.on_rehit is not None:",
                f"{hi}        {tn}.on_rehit()",
            ]
        if not indirect:
            hit.append(f"{hi}a = e.action")
        hit.append(f"{hi}a.fn(F, V, S, P, a.args)")
        hit += [x.replace(ind, hi, 1) for x in exit_check]
        if table.hit_miss:
            hit += self._continue(nt.get("__HIT__"), hi, depth + 1, current)
        elif not self._single_continuation(t):
            hit.append(f"{hi}return {tn}.next_by_aid.get(a.aid, {tn}.base_next)")
        if len(hit) == 1 and not indirect:  # "else:" only: nothing can follow it
            hit.append(f"{hi}pass")
        out += hit
        if table.hit_miss or not self._single_continuation(t):
            return out
        return out + self._continue(t.get("base_default_next"), ind, depth, current)
