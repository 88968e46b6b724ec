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

    def action_body(self, action: dict[str, Any]) -> list[str]:
        """Statements of an action (over ``F, V, S, P, d``), indented by 4; empty for no-ops.
        ``exit`` only sets ``P.exit``: the pipeline checks it after the table."""
        self.consts["_cur_param_widths"] = [
            int(p["bitwidth"]) for p in action.get("runtime_data", [])
        ]
        prims = action.get("primitives", [])
        out: list[str] = []
        has_jump = any(p.get("op") in ("_jump", "_jump_if_zero") for p in prims)
        if not has_jump:
            for p in prims:
                out += ["    " + line for line in self.prims.gen(p, "action")]
        else:
            n = len(prims)
            out += ["    pc = 0", "    _steps = 0", f"    while pc < {n}:", "        _steps += 1"]
            out.append(f"        if _steps > {MAX_ACTION_STEPS}:")
            out.append("            raise RuntimeError('action does not terminate (_jump loop)')")
            for i, p in enumerate(prims):
                out.append(f"        {'if' if i == 0 else 'elif'} pc == {i}:")
                op = p.get("op")
                params = p.get("parameters", [])
                if op == "_jump":
                    out.append(f"            pc = {jump_target(self.eg, params[0])}")
                    continue
                if op == "_jump_if_zero":
                    cond = self.eg.value(params[0])
                    tgt = jump_target(self.eg, params[1])
                    out.append(f"            pc = {tgt} if {cond.as_data()} == 0 else {i + 1}")
                    continue
                out += ["            " + line for line in self.prims.gen(p, "action")]
                out.append(f"            pc = {i + 1}")
            out += ["        else:", "            break"]
        self.consts["_cur_param_widths"] = None
        return [line for line in out if line.strip() != "pass"]

    @staticmethod
    def action_may_exit(action: dict[str, Any]) -> bool:
        return any(p.get("op") == "exit" for p in action.get("primitives", []))

    def gen_action(self, action: dict[str, Any]) -> str:
        fname = f"_a{int(action['id'])}"
        self.w(f"def {fname}(F, V, S, P, d):")
        body = self.action_body(action)
        for line in body or ["    return"]:
            self.w(line)
        return fname

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
