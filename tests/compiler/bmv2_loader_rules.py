"""What simple_switch's JSON loader (bm_sim P4Objects) insists on, as a checker.

Each rule restates a check the real loader makes (it throws a json_exception, or asserts, or
dereferences a missing member), so a JSON that passes here is one real simple_switch can
load. ``problems(json)`` lists the violations; an empty list means none were found.
"""

from __future__ import annotations

from typing import Any

# primitives simple_switch registers (bm_sim core + targets/simple_switch/primitives.cpp)
SIMPLE_SWITCH_PRIMITIVES = {
    "assign", "assign_VL", "assign_header", "assign_union", "assign_header_stack",
    "assign_union_stack", "push", "pop", "_jump", "_jump_if_zero", "exit", "assert", "assume",
    "log_msg", "no_op", "drop", "mark_to_drop", "modify_field", "add_to_field",
    "subtract_from_field", "add", "subtract", "bit_and", "bit_or", "bit_xor", "shift_left",
    "shift_right", "add_header", "add_header_fast", "remove_header", "copy_header",
    "generate_digest", "resubmit", "recirculate", "clone_ingress_pkt_to_egress",
    "clone_egress_pkt_to_egress", "modify_field_with_hash_based_offset",
    "modify_field_rng_uniform", "truncate", "count", "execute_meter", "register_read",
    "register_write", "modify_field_with_shift", "dereference_header_stack",
}  # fmt: skip

SET_SOURCES = {"field", "hexstr", "lookahead", "expression"}
KEY_ELEMS = {"field", "stack_field", "union_stack_field", "lookahead"}
CALC_INPUTS = {"field", "hexstr", "header", "payload"}
TABLE_TYPES = {"simple", "indirect", "indirect_ws"}
MATCH_TYPES = {"exact", "lpm", "ternary", "range", "valid", "optional"}


class _Checker:
    def __init__(self, j: dict[str, Any]):
        self.j = j
        self.out: list[str] = []
        self.types = {t["name"]: t for t in j.get("header_types", [])}
        self.headers = {h["name"]: h for h in j.get("headers", [])}
        self.stacks = {s["name"]: s for s in j.get("header_stacks", [])}
        self.aliases = {a[0] for a in j.get("field_aliases", [])}

    def bad(self, where: str, msg: str) -> None:
        self.out.append(f"{where}: {msg}")

    # -- helpers ---------------------------------------------------------------------------------
    def field_width(self, hname: str, fname: str) -> int | None:
        h = self.headers.get(hname)
        if h is None:
            return None
        if fname == "$valid$":
            return 1
        for f in self.types[h["header_type"]]["fields"]:
            if f[0] == fname:
                return f[1] if isinstance(f[1], int) else 0
        return None

    def stack_field_width(self, sname: str, fname: str) -> int | None:
        s = self.stacks.get(sname)
        if s is None:
            return None
        for f in self.types[s["header_type"]]["fields"]:
            if f[0] == fname:
                return f[1]
        return None

    def check_field(self, where: str, ref: Any) -> None:
        if not isinstance(ref, list) or len(ref) != 2:
            self.bad(where, f"bad field reference {ref!r}")
        elif ".".join(ref) in self.aliases:
            return
        elif self.field_width(ref[0], ref[1]) is None:
            self.bad(where, f"unknown field {ref[0]}.{ref[1]}")

    def check_ids(self, what: str, objs: list[dict]) -> None:
        seen: set[int] = set()
        for o in objs:
            i = o.get("id")
            if not isinstance(i, int):
                self.bad(what, f"{o.get('name')!r} has no integer id")
            elif i in seen:
                self.bad(what, f"duplicate id {i}")
            seen.add(i)

    def check_value(self, where: str, tv: Any) -> None:
        """Field references inside a type-value object / expression."""
        if isinstance(tv, dict):
            if tv.get("type") == "field":
                self.check_field(where, tv.get("value"))
                return
            for v in tv.values():
                self.check_value(where, v)
        elif isinstance(tv, list):
            for v in tv:
                self.check_value(where, v)

    # -- sections --------------------------------------------------------------------------------
    def run(self) -> list[str]:
        j = self.j
        for key in ("header_types", "headers", "parsers", "deparsers", "actions", "pipelines"):
            if key not in j:
                self.bad("top level", f"missing {key!r}")
        for h in j.get("headers", []):
            if h.get("header_type") not in self.types:
                self.bad("headers", f"{h.get('name')}: unknown header type")
            if "metadata" not in h:
                self.bad("headers", f"{h.get('name')}: no 'metadata' flag")
        self.check_ids("headers", j.get("headers", []))
        for key in ("parsers", "deparsers", "calculations", "counter_arrays", "meter_arrays",
                    "register_arrays", "actions", "pipelines", "parse_vsets", "extern_instances",
                    "learn_lists"):  # fmt: skip
            self.check_ids(key, j.get(key, []))
        self.parsers()
        self.deparsers()
        self.calculations()
        self.stateful()
        self.actions()
        self.pipelines()
        for ck in j.get("checksums", []):
            self.check_field(f"checksum {ck.get('name')}", ck.get("target"))
            names = {c["name"] for c in j.get("calculations", [])}
            if ck.get("type", "generic") == "generic" and ck.get("calculation") not in names:
                self.bad(f"checksum {ck.get('name')}", "unknown calculation")
        return self.out

    def parsers(self) -> None:
        vsets = {v["name"]: v for v in self.j.get("parse_vsets", [])}
        for v in vsets.values():
            if not isinstance(v.get("compressed_bitwidth"), int):
                self.bad(f"parse_vset {v['name']}", "no compressed_bitwidth")
        for p in self.j.get("parsers", []):
            states = {s["name"] for s in p.get("parse_states", [])}
            self.check_ids(f"parser {p['name']} states", p.get("parse_states", []))
            if p.get("init_state") not in states:
                self.bad(f"parser {p['name']}", "init_state is not a state")
            for s in p.get("parse_states", []):
                where = f"parse state {s['name']}"
                for op in s.get("parser_ops", []):
                    self.parser_op(where, op)
                width = 0
                for k in s.get("transition_key", []):
                    t = k.get("type")
                    if t not in KEY_ELEMS:
                        self.bad(where, f"transition key element of type {t!r}")
                        continue
                    if t == "field":
                        self.check_field(where, k["value"])
                        w = self.field_width(*k["value"]) or 0
                    elif t == "stack_field":
                        w = self.stack_field_width(*k["value"]) or 0
                    elif t == "lookahead":
                        w = int(k["value"][1])
                    else:
                        w = 0
                    width += (w + 7) // 8
                for tr in s.get("transitions", []):
                    t = tr.get("type", "hexstr")
                    if t == "hexstr" and tr.get("value") == "default":
                        t = "default"
                    nxt = tr.get("next_state")
                    if nxt is not None and nxt not in states:
                        self.bad(where, f"transition to unknown state {nxt!r}")
                    if t == "hexstr":
                        for part in ("value", "mask"):
                            v = tr.get(part)
                            if v is None:
                                continue
                            n = (len(v[2:]) + 1) // 2 if v.startswith("0x") else None
                            if n != width:
                                self.bad(where, f"transition {part} {v} is not {width} bytes")
                    elif t == "parse_vset":
                        if tr.get("value") not in vsets:
                            self.bad(where, f"unknown value set {tr.get('value')!r}")
                    elif t != "default":
                        self.bad(where, f"transition of type {t!r}")

    def parser_op(self, where: str, op: dict) -> None:
        kind = op.get("op")
        params = op.get("parameters", [])
        if kind in ("extract", "extract_VL"):
            if len(params) != (1 if kind == "extract" else 2):
                self.bad(where, f"{kind} with {len(params)} parameters")
                return
            if params[0].get("type") not in ("regular", "stack", "union_stack"):
                self.bad(where, f"{kind} of type {params[0].get('type')!r}")
            if kind == "extract_VL" and params[1].get("type") != "expression":
                self.bad(where, "extract_VL length is not an expression")
            if kind == "extract" and params[0].get("type") == "regular":
                h = self.headers.get(params[0].get("value"))
                if h is not None:
                    fields = self.types[h["header_type"]]["fields"]
                    vl = any(f[1] == "*" for f in fields)
                    if vl and "length_exp" not in self.types[h["header_type"]]:
                        self.bad(where, "extract of a variable-length header")
        elif kind == "set":
            if len(params) != 2:
                self.bad(where, "set needs 2 parameters")
                return
            if params[0].get("type") != "field":
                self.bad(where, f"set into a {params[0].get('type')!r}")
            else:
                self.check_field(where, params[0]["value"])
            if params[1].get("type") not in SET_SOURCES:
                self.bad(where, f"set from a {params[1].get('type')!r} (BMv2 takes {SET_SOURCES})")
            self.check_value(where, params[1])
        elif kind == "verify":
            if len(params) != 2:
                self.bad(where, "verify needs 2 parameters")
        elif kind == "primitive":
            if len(params) != 1:
                self.bad(where, "primitive needs 1 parameter")
            else:
                self.primitive(where, params[0])
        elif kind == "advance":
            if len(params) != 1 or params[0].get("type") not in ("field", "hexstr", "expression"):
                self.bad(where, "bad advance")
        elif kind != "shift":
            self.bad(where, f"parser op {kind!r} not supported")

    def deparsers(self) -> None:
        for d in self.j.get("deparsers", []):
            for name in d.get("order", []):
                if name not in self.headers:
                    self.bad(f"deparser {d['name']}", f"unknown header {name!r}")
            for p in d.get("primitives", []):
                self.primitive(f"deparser {d['name']}", p)

    def calculations(self) -> None:
        for c in self.j.get("calculations", []):
            for inp in c.get("input", []):
                t = inp.get("type")
                if t not in CALC_INPUTS:
                    self.bad(f"calculation {c['name']}", f"input of type {t!r}")
                elif t == "hexstr" and not isinstance(inp.get("bitwidth"), int):
                    self.bad(f"calculation {c['name']}", "constant input without bitwidth")
                elif t == "field":
                    self.check_field(f"calculation {c['name']}", inp["value"])

    def stateful(self) -> None:
        for m in self.j.get("meter_arrays", []):
            where = f"meter {m.get('name')}"
            if m.get("type") not in ("packets", "bytes"):
                self.bad(where, f"type {m.get('type')!r}")
            for k in ("rate_count", "size"):
                if not isinstance(m.get(k), int):
                    self.bad(where, f"no integer {k!r}")
            if m.get("is_direct"):
                self.check_field(where, m.get("result_target"))
        for c in self.j.get("counter_arrays", []):
            if not c.get("is_direct") and not isinstance(c.get("size"), int):
                self.bad(f"counter {c.get('name')}", "no integer size")
        for r in self.j.get("register_arrays", []):
            for k in ("size", "bitwidth"):
                if not isinstance(r.get(k), int):
                    self.bad(f"register {r.get('name')}", f"no integer {k!r}")

    def primitive(self, where: str, p: dict) -> None:
        if p.get("op") not in SIMPLE_SWITCH_PRIMITIVES:
            self.bad(where, f"primitive {p.get('op')!r} unknown to simple_switch")
        self.check_value(where, p.get("parameters", []))

    def actions(self) -> None:
        for a in self.j.get("actions", []):
            if "runtime_data" not in a:
                self.bad(f"action {a.get('name')}", "no runtime_data")
            for p in a.get("primitives", []):
                self.primitive(f"action {a.get('name')}", p)

    def pipelines(self) -> None:
        actions = {a["id"]: a for a in self.j.get("actions", [])}
        for pl in self.j.get("pipelines", []):
            tables = {t["name"]: t for t in pl.get("tables", [])}
            conds = {c["name"] for c in pl.get("conditionals", [])}
            nodes = set(tables) | conds
            profiles = {p["name"] for p in pl.get("action_profiles", [])}
            self.check_ids(f"pipeline {pl['name']} tables", pl.get("tables", []))
            self.check_ids(f"pipeline {pl['name']} conditionals", pl.get("conditionals", []))
            if pl.get("init_table") is not None and pl["init_table"] not in nodes:
                self.bad(f"pipeline {pl['name']}", "init_table is not a node")
            for c in pl.get("conditionals", []):
                for k in ("true_next", "false_next"):
                    if c.get(k) is not None and c[k] not in nodes:
                        self.bad(f"conditional {c['name']}", f"{k} is not a node")
                self.check_value(f"conditional {c['name']}", c.get("expression"))
            for t in tables.values():
                self.table(t, actions, nodes, profiles)

    def table(self, t: dict, actions: dict, nodes: set, profiles: set) -> None:
        where = f"table {t['name']}"
        if t.get("type") not in TABLE_TYPES:
            self.bad(where, f"type {t.get('type')!r}")
        if t.get("type") in ("indirect", "indirect_ws") and t.get("action_profile") not in profiles:
            self.bad(where, "indirect table without a known action_profile")
        if "max_size" not in t and "entries" not in t:
            self.bad(where, "neither max_size nor entries")
        if "entries" in t and t.get("type") != "simple":
            self.bad(where, "entries on a table that is not 'simple'")
        lpm = 0
        for k in t.get("key", []):
            if k.get("match_type") not in MATCH_TYPES:
                self.bad(where, f"match type {k.get('match_type')!r}")
            lpm += k.get("match_type") == "lpm"
            if k.get("match_type") != "valid":
                self.check_field(where, k.get("target"))
        if lpm > 1:
            self.bad(where, "2 LPM match fields")
        ids = t.get("action_ids", [])
        names = t.get("actions", [])
        if len(ids) != len(names):
            self.bad(where, "actions and action_ids differ in length")
        nt = t.get("next_tables", {})
        for i in ids:
            if i not in actions:
                self.bad(where, f"unknown action id {i}")
        for name, nxt in nt.items():
            if nxt is not None and nxt not in nodes:
                self.bad(where, f"next_tables[{name!r}] is not a node")
        if t.get("base_default_next") is not None and t["base_default_next"] not in nodes:
            self.bad(where, "base_default_next is not a node")
        de = t.get("default_entry")
        if de is not None:
            a = actions.get(de.get("action_id"))
            if a is None:
                self.bad(where, "default action unknown")
            elif len(de.get("action_data", [])) != len(a.get("runtime_data", [])):
                self.bad(where, "default action data has the wrong length")
            if de.get("action_const") and t.get("type") != "simple":
                self.bad(where, "action_const on a table that is not 'simple'")
        for e in t.get("entries", []):
            a = actions.get(e.get("action_entry", {}).get("action_id"))
            if a is None:
                self.bad(where, "const entry with an unknown action")
            elif len(e["action_entry"].get("action_data", [])) != len(a.get("runtime_data", [])):
                self.bad(where, "const entry action data has the wrong length")
            if len(e.get("match_key", [])) != len(t.get("key", [])):
                self.bad(where, "const entry key has the wrong number of fields")
            if not isinstance(e.get("priority"), int):
                self.bad(where, "const entry without an integer priority")


def problems(j: dict[str, Any]) -> list[str]:
    """Everything in BMv2 JSON ``j`` that simple_switch's loader would refuse."""
    return _Checker(j).run()
