"""BMv2 primitives -> C statements (twin of ``codegen_prims`` for the native engine)."""

from __future__ import annotations

from typing import Any

from ..codegen_prims import BINARY, BinaryPrims
from ..errors import ConfigError
from .cexpr import (
    BOOL,
    DATA,
    HEADER,
    STACK,
    UNION,
    CExpr,
    Code,
    NativeUnsupported,
    cconst,
    copy_field,
    siblings_off,
)

_BINARY = BINARY

# Primitives the native engine refuses (the caller may fall back to the Python engine).
REFUSED = {
    "assign_union_stack": "header union stacks",
}


class CPrims(BinaryPrims):
    SHL, SHR = "shl_", "shr_"  # runtime.c's 128-bit shifts
    CODE = Code

    def __init__(self, eg: CExpr):
        self.in_action = False
        # log_msg formats: (format, argument specs) by message id; the C side passes the
        # values, Python formats them as the Python engine does (engine._on_log)
        self.logs: list[tuple[str, list[Any]]] = []
        self.eg = eg
        self.prog = eg.prog
        self.sm_egress_spec = self.prog.find_field("standard_metadata.egress_spec")
        self.sm_mcast = self.prog.intrinsic("mcast_grp")

    def gen(self, prim: dict[str, Any]) -> list[str]:
        op = str(prim.get("op"))
        params = prim.get("parameters", [])
        if op in REFUSED:
            raise NativeUnsupported(f"primitive {op} ({REFUSED[op]})")
        method = getattr(self, "p_" + op, None)
        if method is None:
            if op in _BINARY:
                return self._binary(op, params)
            raise NativeUnsupported(f"primitive {op!r}")
        return method(params)

    def _idx(self, kind: str, tv: Any) -> int:
        name = tv["value"] if isinstance(tv, dict) else tv
        table = self.eg.objs[kind]
        if name not in table:
            raise ConfigError(f"unknown {kind} {name!r}")
        return table[name]

    # -- core -----------------------------------------------------------------------------------

    def p_assign(self, params: list[Any]) -> list[str]:
        dst, src = params
        if dst.get("type") == "header" or (
            dst.get("type") == "expression" and self.eg.value(dst).kind == HEADER
        ):
            return self.p_assign_header(params)
        slot, width, signed = self.eg.lvalue(dst)
        val = self.eg.value(src)
        if val.kind not in (DATA, BOOL):
            raise ConfigError(f"assign: bad source {src!r}")
        return [self.eg.store(slot, width, signed, val)]

    p_modify_field = p_assign

    def vl_copy(self, dst: int, src: int) -> str:
        """Statement copying varbit field ``src``'s bytes and width to field ``dst``."""
        dk, doff, dcap = self.eg.vl[dst]
        sk, soff, scap = self.eg.vl[src]
        if scap > dcap:
            raise NativeUnsupported("varbit copy into a shorter varbit")
        return f"memcpy(st->VLB + {doff}, st->VLB + {soff}, {scap}); st->VLW[{dk}] = st->VLW[{sk}];"

    def p_assign_VL(self, params: list[Any]) -> list[str]:
        d = self.prog.field(params[0]["value"])
        s = self.prog.field(params[1]["value"])
        if not (d.vl and s.vl):
            raise NativeUnsupported("assign_VL of fixed-width fields")
        return [self.vl_copy(d.index, s.index)]

    def p_assign_header(self, params: list[Any]) -> list[str]:
        dst, src = (self.eg.value(p) for p in params)
        out = [f"assign_header(st, {dst.src}, {src.src});"]
        sib = siblings_off(self.prog, dst)
        if sib:
            out.append(f"if (V[{dst.src}]) {{{sib} }}")
        hs = [self.prog.headers[x] for x in (dst.static, src.static) if x is not None]
        hs += [self.prog.headers[x] for x in (dst.type_hint, src.type_hint) if x is not None]
        if any(f.index in self.eg.wide for h in hs for f in h.fields):
            if dst.static is None or src.static is None:
                raise NativeUnsupported("dynamic copy of a header with fields over 128 bits")
            pairs = zip(
                self.prog.headers[dst.static].fields,
                self.prog.headers[src.static].fields,
                strict=False,
            )
            cp = " ".join(copy_field(self.eg, d, s_) for d, s_ in pairs)
            out.append(f"if (V[{src.static}]) {{ {cp} }}")
        if any(h.vl_field is not None for h in hs):
            if dst.static is None or src.static is None:
                raise NativeUnsupported("dynamic copy of a variable-length header")
            dv = self.prog.headers[dst.static].vl_field
            sv = self.prog.headers[src.static].vl_field
            if dv is None or sv is None:
                raise NativeUnsupported("copy between varbit and fixed headers")
            out.append(f"if (V[{src.static}]) {{ {self.vl_copy(dv.index, sv.index)} }}")
        return out

    p_copy_header = p_assign_header

    def p_assign_union(self, params: list[Any]) -> list[str]:
        dst, src = (self.eg.value(p) for p in params)
        if dst.kind != UNION or src.kind != UNION:
            raise ConfigError("assign_union expects header unions")
        out = []
        pairs = zip(
            self.prog.unions[dst.static].headers, self.prog.unions[src.static].headers, strict=False
        )
        for d, s_ in pairs:
            out += self.p_assign_header(
                [
                    {"type": "header", "value": self.prog.headers[d].name},
                    {"type": "header", "value": self.prog.headers[s_].name},
                ]
            )
        return out

    def p_assign_header_stack(self, params: list[Any]) -> list[str]:
        dst, src = (self.eg.value(p) for p in params)
        if dst.kind != STACK or src.kind != STACK:
            raise ConfigError("assign_header_stack expects header stacks")
        out = [f"S[{dst.src}] = S[{src.src}];"]
        for d, s in zip(
            self.prog.stacks[int(dst.src)].headers,
            self.prog.stacks[int(src.src)].headers,
            strict=False,
        ):
            out.append(f"assign_header(st, {d}, {s});")
        return out

    def p_push(self, params: list[Any]) -> list[str]:
        st, n = self.eg.value(params[0]), self.eg.value(params[1])
        if st.kind != STACK:
            raise NativeUnsupported("push on a non-stack")
        return [f"stack_push_{st.src}(st, {n.as_data()});"]

    def p_pop(self, params: list[Any]) -> list[str]:
        st, n = self.eg.value(params[0]), self.eg.value(params[1])
        if st.kind != STACK:
            raise NativeUnsupported("pop on a non-stack")
        return [f"stack_pop_{st.src}(st, {n.as_data()});"]

    def p_assert(self, params: list[Any]) -> list[str]:
        if not self.in_action:
            raise NativeUnsupported("assert/assume outside an action")
        c = self.eg.value(params[0])
        return [f"if (!{c.as_bool()}) {{ P.assert_fail = 1; return; }}"]

    p_assume = p_assert

    def p_modify_field_rng_uniform(self, params: list[Any]) -> list[str]:
        dst, lo, hi = params
        slot, width, signed = self.eg.lvalue(dst)
        a, b = self.eg.value(lo), self.eg.value(hi)
        return [
            f"{{ uint64_t _a[4], _o[2]; u_t _l = (u_t){a.as_data()}, _h = (u_t){b.as_data()};",
            "  _a[0] = (uint64_t)_l; _a[1] = (uint64_t)(_l >> 64);",
            "  _a[2] = (uint64_t)_h; _a[3] = (uint64_t)(_h >> 64);",
            "  c->cb_rand(_a, _o);",
            "  " + self.eg.store(slot, width, signed, Code("mkv(_o[0], _o[1])")) + " }",
        ]

    def p_log_msg(self, params: list[Any]) -> list[str]:
        fmt = params[0].get("value", "")
        items: list[Any] = []
        if len(params) > 1 and isinstance(params[1], dict):
            items = params[1].get("value", []) or []
        vals: list[str] = []
        specs = [self._log_arg(x, vals) for x in items]
        mid = len(self.logs)
        self.logs.append((fmt, specs))
        out = [f"{{ uint64_t _v[{2 * max(len(vals), 1)}]; u_t _x;"]
        for i, v in enumerate(vals):
            out.append(
                f"  _x = (u_t)({v}); _v[{2 * i}] = (uint64_t)_x; _v[{2 * i + 1}] = (uint64_t)(_x >> 64);"
            )
        out.append(f"  c->cb_log({mid}, _v, {len(vals)}); }}")
        return out

    def _log_arg(self, x: Any, vals: list[str]) -> Any:
        """Spec of one argument; appends the C values it needs to ``vals``."""
        if isinstance(x, list):
            return ("list", [self._log_arg(i, vals) for i in x])
        if isinstance(x, dict) and x.get("type") == "header":
            h = self.prog.header(x["value"])
            if any(f.index in self.eg.wide for f in h.fields):
                raise NativeUnsupported("log_msg of a header with fields over 128 bits")
            vals.append(f"V[{h.index}]")
            fields = [f for f in h.fields if not f.vl]
            for f in fields:
                vals.append(f"F[{f.index}]")
            return ("header", [f.width >= 128 and not f.signed for f in fields])
        c = self.eg.value(x)
        vals.append(c.as_data())
        return ("value", bool(c.width is not None and c.width >= 128 and not c.signed))

    def p_exit(self, params: list[Any]) -> list[str]:
        return ["P.exit_ = 1;"]

    def p_no_op(self, params: list[Any]) -> list[str]:
        return []

    def _drop_lines(self, es: Any, mc: Any) -> list[str]:
        out = []
        if es is not None:
            out.append(f"F[{es.index}] = (v_t)c->drop_port & {cconst(es.mask)};")
        if mc is not None:
            out.append(f"F[{mc.index}] = 0;")
        return out

    def p_drop(self, params: list[Any]) -> list[str]:
        return self._drop_lines(self.sm_egress_spec, self.sm_mcast)

    def p_mark_to_drop(self, params: list[Any]) -> list[str]:
        if params:
            h = self.prog.header(params[0]["value"])
            es = self.prog.field_by_ref.get((h.name, "egress_spec"))
            if es is None:
                raise ConfigError(f"mark_to_drop: header {h.name} has no egress_spec field")
            return self._drop_lines(es, self.prog.field_by_ref.get((h.name, "mcast_grp")))
        return self.p_drop(params)

    def p_add_header(self, params: list[Any]) -> list[str]:
        h = self.eg.value(params[0])
        hi = h.static if h.static is not None else h.type_hint
        vf = self.prog.headers[hi].vl_field if hi is not None else None
        sib = siblings_off(self.prog, h)
        wide = (
            [f for f in self.prog.headers[hi].fields if f.index in self.eg.wide]
            if hi is not None
            else []
        )
        if wide:
            if h.static is None:
                raise NativeUnsupported("dynamic add_header of a header with wide fields")
            zero = " ".join(
                f"memset(st->VLB + {self.eg.wide[f.index]}, 0, {(f.width + 7) // 8});" for f in wide
            )
            return [f"if (!V[{h.src}]) {{ {zero} }}"] + self.p_add_header_plain(h, vf, sib)
        return self.p_add_header_plain(h, vf, sib)

    def p_add_header_plain(self, h: Code, vf: Any, sib: str) -> list[str]:
        if vf is None:
            if sib:
                return [f"if (!V[{h.src}]) {{ add_header(st, {h.src});{sib} }}"]
            return [f"add_header(st, {h.src});"]
        if h.static is None:
            raise NativeUnsupported("dynamic add_header of a variable-length header")
        _k, off, cap = self.eg.vl[vf.index]
        return [f"if (!V[{h.src}]) memset(st->VLB + {off}, 0, {cap});", f"add_header(st, {h.src});"]

    def p_add_header_fast(self, params: list[Any]) -> list[str]:
        h = self.eg.value(params[0])
        return [f"V[{h.src}] = 1;{siblings_off(self.prog, h)}"]

    def p_remove_header(self, params: list[Any]) -> list[str]:
        h = self.eg.value(params[0])
        return [f"if (V[{h.src}]) {{ V[{h.src}] = 0; P.lreg -= HB[{h.src}]; }}"]

    def _clone(self, params: list[Any]) -> list[str]:
        sess = self.eg.value(params[0])
        fl = self.eg.value(params[1]) if len(params) > 1 else Code("0")
        return [
            f"P.clone = (int32_t)((({sess.as_data()}) & 0x7FFF) | 0x8000);",
            f"P.clone_fl = (int32_t)(({fl.as_data()}) & 0xFFFF);",
        ]

    p_clone_ingress_pkt_to_egress = _clone
    p_clone_egress_pkt_to_egress = _clone

    def p_resubmit(self, params: list[Any]) -> list[str]:
        fl = self.eg.value(params[0]) if params else Code("0")
        return [f"P.resubmit = (int32_t)(({fl.as_data()}) & 0xFFFF);"]

    def p_generate_digest(self, params: list[Any]) -> list[str]:
        lid = self.eg.value(params[1])
        return [f"P.lf = (int32_t)(({lid.as_data()}) & 0xFFFF);"]

    def p_recirculate(self, params: list[Any]) -> list[str]:
        fl = self.eg.value(params[0]) if params else Code("0")
        return [f"P.recirc = (int32_t)(({fl.as_data()}) & 0xFFFF);"]

    def p_truncate(self, params: list[Any]) -> list[str]:
        n = self.eg.value(params[0])
        return [
            f"{{ v_t _t = {n.as_data()}; if (P.trunc < 0 || _t < P.trunc) "
            "P.trunc = _t > 0x7fffffff ? 0x7fffffff : (int32_t)_t; }"
        ]

    def p_modify_field_with_hash_based_offset(self, params: list[Any]) -> list[str]:
        dst, base, calc, size = params
        slot, width, signed = self.eg.lvalue(dst)
        ci = self._idx("calc", calc)
        b, s = self.eg.value(base), self.eg.value(size)
        val = Code(
            f"(((v_t)(calc_{ci}(c, st) % (u_t)(({s.as_data()}) ? ({s.as_data()}) : 1)) "
            f"+ {b.as_data()}) & (v_t)0xFFFFFFFFFFFFFFFFULL)"
        )
        return [self.eg.store(slot, width, signed, val)]

    def p_count(self, params: list[Any]) -> list[str]:
        ci = self._idx("counter", params[0])
        idx = self.eg.value(params[1])
        return [f"cnt_{ci}(c, {idx.as_data()}, P.ilen);"]

    def p_execute_meter(self, params: list[Any]) -> list[str]:
        mi = self._idx("meter", params[0])
        idx = self.eg.value(params[1])
        slot, width, signed = self.eg.lvalue(params[2])
        store = self.eg.store(slot, width, signed, Code("(v_t)_c", DATA, 2))
        return [
            f"{{ int _c = meter_run_{mi}(c, {idx.as_data()}, P.ilen); if (_c >= 0) {{ {store} }} }}"
        ]

    def p_register_read(self, params: list[Any]) -> list[str]:
        slot, width, signed = self.eg.lvalue(params[0])
        ri = self._idx("reg", params[1])
        idx = self.eg.value(params[2])
        return [
            f"{{ v_t _i = {idx.as_data()}; if (_i >= 0 && _i < RS_{ri}) {{",
            "    " + self.eg.store(slot, width, signed, Code(f"c->R{ri}[(int64_t)_i]", DATA, None)),
            "} }",
        ]

    def p_register_write(self, params: list[Any]) -> list[str]:
        ri = self._idx("reg", params[0])
        idx, val = self.eg.value(params[1]), self.eg.value(params[2])
        return [f"reg_set_{ri}(c, {idx.as_data()}, {val.as_data()});"]
