"""Translate BMv2 primitive calls (core, v1model/simple_switch and P4_14 ones) into Python.

Each primitive becomes a few statements over ``F``/``V``/``S``/``P`` (and ``d`` in actions);
see :mod:`.codegen_expr` for the conventions.  Semantics follow simple_switch's
``primitives.cpp`` and bm_sim's core primitives.
"""

from __future__ import annotations

from typing import Any

from .codegen_expr import BOOL, DATA, HEADER, STACK, UNION, USTACK, Code, ExprGen
from .errors import ConfigError, UnsupportedError

# P4_14-style arithmetic primitives: name -> (number of sources, Python operator or helper)
BINARY = {
    "add": "+",
    "subtract": "-",
    "bit_xor": "^",
    "bit_or": "|",
    "bit_and": "&",
    "shift_left": "<<",
    "shift_right": ">>",
}
"""BMv2's two-operand primitives and the operator each one is."""
_BINARY = BINARY


class BinaryPrims:
    """``add_to_field``, ``subtract_from_field`` and the :data:`BINARY` primitives, the same in
    both engines' generators: a subclass names its shift helpers and its ``Code`` class."""

    SHL, SHR = "_shl", "_shr"
    CODE: Any = Code
    eg: Any

    def p_add_to_field(self, params: list[Any]) -> list[str]:
        return self._binary("add", [params[0], params[0], params[1]])

    def p_subtract_from_field(self, params: list[Any]) -> list[str]:
        return self._binary("subtract", [params[0], params[0], params[1]])

    def _binary(self, op: str, params: list[Any]) -> list[str]:
        dst, a, b = params
        slot, width, signed = self.eg.lvalue(dst)
        x, y = self.eg.value(a), self.eg.value(b)
        sym = BINARY[op]
        if sym == "<<":
            src = f"{self.SHL}({x.as_data()}, {y.as_data()})"
        elif sym == ">>":
            src = f"{self.SHR}({x.as_data()}, {y.as_data()})"
        else:
            src = f"({x.as_data()} {sym} {y.as_data()})"
        return [self.eg.store(slot, width, signed, self.CODE(src))]


class PrimGen(BinaryPrims):
    """Generates statements for primitive calls; ``lines`` receives them with indentation."""

    def __init__(self, eg: ExprGen, consts: dict[str, Any]):
        self.eg = eg
        self.prog = eg.prog
        self.consts = consts
        self.sm_egress_spec = self.prog.find_field("standard_metadata.egress_spec")
        self.sm_mcast = self.prog.intrinsic("mcast_grp")

    # -- helpers ---------------------------------------------------------------------------------

    def _obj_index(self, kind: str, tv: Any) -> int:
        table = self.consts[f"_{kind}_index"]
        name = tv["value"] if isinstance(tv, dict) else tv
        if name not in table:
            raise ConfigError(f"unknown {kind} {name!r}")
        return table[name]

    def _header_valid_lines(self, h: Code, valid: bool) -> list[str]:
        """Mark header valid/invalid, keeping header-union members exclusive."""
        if h.static is not None:
            out = [f"V[{h.static}] = {valid}"]
            if valid:
                out += [f"V[{s}] = False" for s in self.prog.headers[h.static].siblings]
            return out
        if valid:
            return [f"_set_valid(V, {h.src})"]
        return [f"V[{h.src}] = False"]

    def _copy_header_lines(self, dst: Code, src: Code) -> list[str]:
        if dst.static is not None and src.static is not None:
            dh, sh = self.prog.headers[dst.static], self.prog.headers[src.static]
            out = [f"if V[{sh.index}]:"]
            out += ["    " + x for x in self._header_valid_lines(dst, True)]
            for df, sf in zip(dh.fields, sh.fields, strict=False):
                out.append(f"    F[{df.index}] = F[{sf.index}]")
                if df.vl:
                    out.append(f"    P.vl[{df.index}] = P.vl.get({sf.index}, 0)")
            out.append("else:")
            out.append(f"    V[{dh.index}] = False")
            return out
        return [f"_assign_header(F, V, P, {dst.src}, {src.src})"]

    # -- entry point -----------------------------------------------------------------------------

    def gen(self, prim: dict[str, Any], ctx: str) -> list[str]:
        """Statements for one primitive; ``ctx`` is ``"action"`` or ``"parser"``."""
        op = prim.get("op")
        params = prim.get("parameters", [])
        method = getattr(self, "p_" + str(op), None)
        if method is None:
            if op in _BINARY:
                return self._binary(op, params)
            raise UnsupportedError(f"unsupported primitive {op!r}")
        return method(params)

    # -- core primitives -------------------------------------------------------------------------

    def p_assign(self, params: list[Any]) -> list[str]:
        dst, src = params
        if dst.get("type") in ("header",) or (
            dst.get("type") == "expression" and self.eg.value(dst).kind == HEADER
        ):
            return self.p_assign_header(params)
        slot, width, signed = self.eg.lvalue(dst)
        val = self.eg.value(src)
        if val.kind not in (DATA, BOOL):
            raise ConfigError(f"assign: bad source {src!r}")
        return [self.eg.store(slot, width, signed, val)]

    p_modify_field = p_assign

    def p_assign_VL(self, params: list[Any]) -> list[str]:
        dst, src = params
        d = self.prog.field(dst["value"])
        s = self.prog.field(src["value"])
        return [f"F[{d.index}] = F[{s.index}]", f"P.vl[{d.index}] = P.vl.get({s.index}, 0)"]

    def p_assign_header(self, params: list[Any]) -> list[str]:
        dst, src = params
        return self._copy_header_lines(self.eg.value(dst), self.eg.value(src))

    p_copy_header = p_assign_header

    def p_assign_union(self, params: list[Any]) -> list[str]:
        dst, src = (self.eg.value(p) for p in params)
        if dst.kind != UNION or src.kind != UNION:
            raise ConfigError("assign_union expects header unions")
        return [f"_assign_union(F, V, P, {dst.src}, {src.src})"]

    def p_assign_header_stack(self, params: list[Any]) -> list[str]:
        dst, src = (self.eg.value(p) for p in params)
        if dst.kind != STACK or src.kind != STACK:
            raise ConfigError("assign_header_stack expects header stacks")
        return [f"_assign_stack(F, V, S, P, _HS{dst.src}, _HS{src.src}, {dst.src}, {src.src})"]

    def p_assign_union_stack(self, params: list[Any]) -> list[str]:
        dst, src = (self.eg.value(p) for p in params)
        if dst.kind != USTACK or src.kind != USTACK:
            raise ConfigError("assign_union_stack expects header union stacks")
        nst = len(self.prog.stacks)
        return [
            f"S[{nst + int(dst.src)}] = S[{nst + int(src.src)}]",
            f"for _a, _b in zip(_US{dst.src}, _US{src.src}):",
            "    _assign_union(F, V, P, _a, _b)",
        ]

    def p_push(self, params: list[Any]) -> list[str]:
        return self._stack_shift(params, "_push")

    def p_pop(self, params: list[Any]) -> list[str]:
        return self._stack_shift(params, "_pop")

    def _stack_shift(self, params: list[Any], fn: str) -> list[str]:
        st, n = self.eg.value(params[0]), self.eg.value(params[1])
        if st.kind == STACK:
            return [f"{fn}(F, V, S, _HS{st.src}, {st.src}, {n.as_data()})"]
        if st.kind == USTACK:
            nst = len(self.prog.stacks)
            return [f"{fn}_union(F, V, S, _US{st.src}, {nst + int(st.src)}, {n.as_data()})"]
        raise ConfigError("push/pop expect a header stack")

    def p__jump(self, params: list[Any]) -> list[str]:  # handled by the action generator
        raise AssertionError("unreachable")

    def p_exit(self, params: list[Any]) -> list[str]:
        # BMv2 marks the packet; the rest of the action still runs (p4c jumps over it), and
        # the pipeline stops once the current table is done.
        return ["P.exit = True"]

    def p_assert(self, params: list[Any]) -> list[str]:
        c = self.eg.value(params[0])
        return [f"if not {c.as_bool()}:", "    raise _AssertFail('assert')"]

    def p_assume(self, params: list[Any]) -> list[str]:
        c = self.eg.value(params[0])
        return [f"if not {c.as_bool()}:", "    raise _AssertFail('assume')"]

    def p_log_msg(self, params: list[Any]) -> list[str]:
        fmt = params[0].get("value", "")
        args: list[str] = []
        if len(params) > 1:
            vec = params[1]
            items = vec.get("value", []) if isinstance(vec, dict) else []
            args = [self._log_arg(x) for x in items]
        return [f"_log_msg({fmt!r}, ({', '.join(args)}{',' if args else ''}))"]

    def _log_arg(self, x: Any) -> str:
        """A log_msg argument: a value, a header ("{f1, f2}" when valid), or a list (a struct
        p4c flattened) printed as "{...}"."""
        if isinstance(x, list):
            inner = " + ', ' + ".join(self._log_arg(i) for i in x) or "''"
            return f"('{{' + {inner} + '}}')"
        if isinstance(x, dict) and x.get("type") == "header":
            h = self.prog.header(x["value"])
            fields = [f for f in h.fields if not f.vl]
            parts = " + ', ' + ".join(f"str(F[{f.index}])" for f in fields) or "''"
            return f"(('{{' + {parts} + '}}') if V[{h.index}] else 'invalid')"
        return f"str({self.eg.value(x).as_data()})"

    # -- simple_switch primitives ----------------------------------------------------------------

    def p_no_op(self, params: list[Any]) -> list[str]:
        return ["pass"]

    def _drop_lines(self, egress_spec: Any, mcast: Any) -> list[str]:
        out = []
        if egress_spec is not None:
            out.append(f"F[{egress_spec.index}] = _DROP_PORT & {hex(egress_spec.mask)}")
        if mcast is not None:
            out.append(f"F[{mcast.index}] = 0")
        return out or ["pass"]

    def p_drop(self, params: list[Any]) -> list[str]:
        return self._drop_lines(self.sm_egress_spec, self.sm_mcast)

    def p_mark_to_drop(self, params: list[Any]) -> list[str]:
        if params:
            h = self.prog.header(params[0]["value"])
            es = self.prog.field_by_ref.get((h.name, "egress_spec"))
            if es is None:
                raise ConfigError(f"mark_to_drop: header {h.name} has no egress_spec field")
            mc = self.prog.field_by_ref.get((h.name, "mcast_grp"))
            return self._drop_lines(es, mc)
        return self.p_drop(params)

    def p_add_header(self, params: list[Any]) -> list[str]:
        h = self.eg.value(params[0])
        if h.static is None:
            return [f"_add_header(F, V, P, {h.src})"]
        hi = self.prog.headers[h.static]
        out = [f"if not V[{hi.index}]:"]
        for f in hi.fields:
            out.append(f"    F[{f.index}] = 0")
        out += ["    " + x for x in self._header_valid_lines(h, True)]
        out.append(f"    P.lreg += {hi.nbytes}")
        return out

    def p_add_header_fast(self, params: list[Any]) -> list[str]:
        return self._header_valid_lines(self.eg.value(params[0]), True)

    def p_remove_header(self, params: list[Any]) -> list[str]:
        h = self.eg.value(params[0])
        nb = f"_HB[{h.src}]" if h.static is None else str(self.prog.headers[h.static].nbytes)
        return [f"if V[{h.src}]:", f"    V[{h.src}] = False", f"    P.lreg -= {nb}"]

    def p_generate_digest(self, params: list[Any]) -> list[str]:
        lid = self.eg.value(params[1])
        return [f"P.lf = {lid.as_data()} & 0xFFFF"]

    def _clone(self, params: list[Any]) -> list[str]:
        sess = self.eg.value(params[0])
        fl = self.eg.value(params[1]) if len(params) > 1 else Code("0")
        return [
            f"P.clone = ({sess.as_data()} & 0x7FFF) | 0x8000",
            f"P.clone_fl = {fl.as_data()} & 0xFFFF",
        ]

    p_clone_ingress_pkt_to_egress = _clone
    p_clone_egress_pkt_to_egress = _clone

    def p_resubmit(self, params: list[Any]) -> list[str]:
        fl = self.eg.value(params[0]) if params else Code("0")
        return [f"P.resubmit = {fl.as_data()} & 0xFFFF"]

    def p_recirculate(self, params: list[Any]) -> list[str]:
        fl = self.eg.value(params[0]) if params else Code("0")
        return [f"P.recirc = {fl.as_data()} & 0xFFFF"]

    def p_truncate(self, params: list[Any]) -> list[str]:
        # BMv2 keeps the smallest length asked for; it applies when the packet is sent
        n = self.eg.value(params[0])
        return [f"_t = {n.as_data()}", "if P.trunc < 0 or _t < P.trunc:", "    P.trunc = _t"]

    def p_modify_field_with_hash_based_offset(self, params: list[Any]) -> list[str]:
        dst, base, calc, size = params
        slot, width, signed = self.eg.lvalue(dst)
        ci = self._obj_index("calc", calc)
        b, s = self.eg.value(base), self.eg.value(size)
        val = Code(
            f"((_calc{ci}(F, V, S, P) % ({s.as_data()} or 1)) + {b.as_data()}) & 0xFFFFFFFFFFFFFFFF"
        )
        return [self.eg.store(slot, width, signed, val)]

    def p_modify_field_rng_uniform(self, params: list[Any]) -> list[str]:
        dst, lo, hi = params
        slot, width, signed = self.eg.lvalue(dst)
        a, b = self.eg.value(lo), self.eg.value(hi)
        return [self.eg.store(slot, width, signed, Code(f"_rand({a.as_data()}, {b.as_data()})"))]

    def p_execute_meter(self, params: list[Any]) -> list[str]:
        mi = self._obj_index("meter", params[0])
        idx = self.eg.value(params[1])
        slot, width, signed = self.eg.lvalue(params[2])
        return [
            f"_c = M{mi}.execute({idx.as_data()}, P)",
            "if _c is not None:",
            "    " + self.eg.store(slot, width, signed, Code("_c", DATA, 2)),
        ]

    def p_count(self, params: list[Any]) -> list[str]:
        ci = self._obj_index("counter", params[0])
        idx = self.eg.value(params[1])
        return [f"C{ci}.count({idx.as_data()}, P.ilen)"]

    def p_register_read(self, params: list[Any]) -> list[str]:
        slot, width, signed = self.eg.lvalue(params[0])
        ri = self._obj_index("reg", params[1])
        idx = self.eg.value(params[2])
        return [
            f"_i = {idx.as_data()}",
            f"if 0 <= _i < R{ri}.size:",
            "    " + self.eg.store(slot, width, signed, Code(f"R{ri}.values[_i]", DATA, None)),
        ]

    def p_register_write(self, params: list[Any]) -> list[str]:
        ri = self._obj_index("reg", params[0])
        idx, val = self.eg.value(params[1]), self.eg.value(params[2])
        return [f"R{ri}.write({idx.as_data()}, {val.as_data()})"]


def jump_target(eg: ExprGen, tv: Any) -> int:
    c = eg.value(tv)
    try:
        return int(c.src)
    except ValueError:
        raise ConfigError(f"_jump offset must be a constant, got {tv!r}") from None
