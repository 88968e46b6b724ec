"""C generation for the native engine's parser (states as labels in one function), checksum
verification/update and deparser (twin of ``codegen_parser``)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..program import HeaderInfo, hexstr
from .cexpr import BOOL, NativeUnsupported, cconst, cmask, get_field, put_field

MAX_PARSER_STATES = 4096


class ParserGenMixin:
    """Mixin for :class:`.cgen.CGen` (needs ``prog``, ``eg``, ``prims``, ``w``)."""

    prog: Any
    eg: Any
    prims: Any
    names: dict[str, str]

    def w(self, s: str) -> None:  # pragma: no cover - provided by CGen
        raise NotImplementedError

    # -- parser ----------------------------------------------------------------------------------

    def _gen_parser(self) -> None:
        prog = self.prog
        self.w("static int parse_(ctx_t *c, state_t *st) {")
        self.w(
            "    const uint8_t *d = st->data; int ld = P.len; int pos = 0; int n = 0; int err = 0; u_t k = 0;"
        )
        self.w("    (void)c; (void)k; (void)d; (void)ld; (void)err;")
        if not prog.parsers:
            self.w("    return 0;\n}")
            return
        parser = prog.parsers[0]
        states = parser.get("parse_states", [])
        self.names = {s["name"]: f"PS{i}" for i, s in enumerate(states)}
        init = parser.get("init_state")
        self.w(f"    goto {self.names[init] if init in self.names else 'accept'};")
        self.eg.in_parser = True
        for s in states:
            self._gen_state(s)
        self.eg.in_parser = False
        self.w(" perr:\n    P.err = err;\n    return pos;")
        self.w(" accept:\n    return pos;\n}")

    def _err(self, name: str) -> str:
        return f"{{ err = {self.prog.errors[name]}; goto perr; }}"

    def _gen_state(self, s: dict[str, Any]) -> None:
        self.w(f" {self.names[s['name']]}:")
        for op in s.get("parser_ops", []):
            kind = op.get("op")
            params = op.get("parameters", [])
            if kind == "extract":
                self._gen_extract(params[0])
            elif kind == "extract_VL":
                self._gen_extract_vl(params[0], params[1])
            elif kind == "set":
                slot, width, signed = self.eg.lvalue(params[0])
                src = params[1]
                if src.get("type") == "lookahead":
                    nbytes = (int(src["value"][1]) + 7) // 8
                    self.w(f"    if (ld - pos < {nbytes}) {self._err('PacketTooShort')}")
                self.w("    " + self.eg.store(slot, width, signed, self.eg.value(src)))
            elif kind == "verify":
                cond = self.eg.value(params[0])
                errv = self.eg.value(params[1])
                self.w(
                    f"    if (!{cond.as_bool()}) {{ err = (int)({errv.as_data()}); goto perr; }}"
                )
            elif kind == "shift":
                nb = int(hexstr(params[0]["value"] if isinstance(params[0], dict) else params[0]))
                self.w(f"    if (ld - pos < {nb}) {self._err('PacketTooShort')}\n    pos += {nb};")
            elif kind == "advance":
                bits = self.eg.value(params[0])
                self.w(f"    {{ v_t _b = {bits.as_data()};")
                self.w(f"      if (_b % 8 || _b < 0) {self._err('ParserInvalidArgument')}")
                self.w(f"      _b >>= 3; if ((v_t)(ld - pos) < _b) {self._err('PacketTooShort')}")
                self.w("      pos += (int)_b; }")
            elif kind == "primitive":
                for p in params:
                    for line in self.prims.gen(p):
                        self.w("    " + line)
            else:
                raise NativeUnsupported(f"parser operation {kind!r}")
        self._gen_transition(s)

    def _gen_extract_vl(self, target: dict[str, Any], nbits: Any) -> None:
        if target.get("type") != "regular":
            raise NativeUnsupported("extract_VL into a stack")
        h = self.prog.header(target["value"])
        vf = h.vl_field
        if vf is None:
            raise ConfigError(f"extract_VL of fixed-size header {h.name}")
        k, voff, _cap = self.eg.vl[vf.index]
        nb = self.eg.value(nbits)
        self.w(f"    {{ v_t _nb = {nb.as_data()};")
        self.w(f"      if (_nb % 8 || _nb < 0) {self._err('ParserInvalidArgument')}")
        self.w(f"      v_t _n = {h.nbytes} + _nb / 8;")
        self.w(f"      if ((v_t)(ld - pos) < _n) {self._err('PacketTooShort')}")
        self.w(f"      if ({int(h.max_length)} < _n) {self._err('HeaderTooShort')}")
        self.w("      int _o = 0, _w = (int)_nb;")
        for f in h.fields:
            if f.vl:
                self.w(f"      memset(st->VLB + {voff}, 0, {_cap});")
                self.w(
                    f"      copy_bits(st->VLB + {voff}, 0, d + pos, _o, _w); st->VLW[{k}] = _w; _o += _w;"
                )
                continue
            self.w(f"      {get_field(self.eg, f, 'd + pos', '_o')} _o += {f.width};")
        sib = "".join(f" V[{x}] = 0;" for x in h.siblings)
        self.w(f"      V[{h.index}] = 1;{sib}\n      pos += (int)_n; }}")

    def _gen_extract(self, target: dict[str, Any]) -> None:
        t = target.get("type")
        if t == "regular":
            h = self.prog.header(target["value"])
            if h.vl_field is not None:
                raise NativeUnsupported(
                    f"extract of variable-length header {h.name} needs extract_VL"
                )
            self.w(f"    if (ld - pos < {h.nbytes}) {self._err('PacketTooShort')}")
            off = 0
            for f in h.fields:
                self.w("    " + get_field(self.eg, f, "d + pos", str(off)))
                off += f.width
            sib = "".join(f" V[{x}] = 0;" for x in h.siblings)
            self.w(f"    V[{h.index}] = 1;{sib}\n    pos += {h.nbytes};")
            return
        if t == "stack":
            si = self.eg.stack(target["value"])
            size = len(self.prog.stacks[si].headers)
            self.w(f"    if (S[{si}] >= {size}) {self._err('StackOutOfBounds')}")
            self.w(f"    {{ int _p = extract_dyn(st, HS_{si}[S[{si}]], d, ld, pos);")
            self.w(f"      if (_p < 0) {self._err('PacketTooShort')}")
            self.w(f"      pos = _p; S[{si}]++; }}")
            return
        raise NativeUnsupported(f"extract target {t!r}")

    def _elem_width(self, k: dict[str, Any]) -> int:
        t, v = k.get("type"), k.get("value")
        if t == "field":
            return 1 if v[1] == "$valid$" else self.prog.field(v).width
        if t == "stack_field":
            st = self.prog.stacks[self.eg.stack(v[0])]
            proto = self.prog.headers[st.headers[0]]
            return proto.fields[self.eg._field_offset(proto, v[1])].width
        if t == "lookahead":
            return int(v[1])
        raise NativeUnsupported(f"transition key element {t!r}")

    def _gen_transition(self, s: dict[str, Any]) -> None:
        def nxt(t: dict[str, Any]) -> str:
            ns = t.get("next_state")
            if ns is None:
                return "accept"
            if ns not in self.names:
                raise ConfigError(f"parser state {s['name']}: unknown next state {ns!r}")
            return self.names[ns]

        def go(label: str) -> str:
            return (
                f"{{ if (++n > {MAX_PARSER_STATES}) {self._err('ParserTimeout')} goto {label}; }}"
            )

        cases, default = [], "accept"
        for t in s.get("transitions", []):
            ty = t.get("type") or ("default" if t.get("value") in ("default", None) else "hexstr")
            if ty == "default":
                default = nxt(t)
                break
            if ty not in ("hexstr", "parse_vset"):
                raise NativeUnsupported(f"transition type {ty!r}")
            cases.append(t)
        key = s.get("transition_key", [])
        if not cases or not key:
            self.w(f"    {go(default)}")
            return
        req = 0
        for k in key:
            if k.get("type") == "lookahead":
                off, width = int(k["value"][0]), int(k["value"][1])
                req = max(req, off // 8 + (width + 7) // 8)
        if req:
            self.w(f"    if (ld - pos < {req}) {self._err('PacketTooShort')}")
        elems = [(self.eg.value(k), self._elem_width(k)) for k in key]
        total = sum((w + 7) // 8 * 8 for _c, w in elems)
        if total > 128:
            raise NativeUnsupported(f"parser state {s['name']}: select key over 128 bits")
        parts, rest = [], total
        for c, w in elems:
            rest -= (w + 7) // 8 * 8
            v = f"((u_t){c.as_data()} & (u_t){cmask(w)})" if c.kind != BOOL else f"(u_t){c.src}"
            parts.append(f"({v} << {rest})" if rest else v)
        self.w(f"    k = {' | '.join(parts)};")
        if any((t.get("type") or "hexstr") == "parse_vset" for t in cases):
            cparts, rest = [], sum(w for _c, w in elems)
            for c, w in elems:
                rest -= w
                v = f"((u_t){c.as_data()} & (u_t){cmask(w)})" if c.kind != BOOL else f"(u_t){c.src}"
                cparts.append(f"({v} << {rest})" if rest else v)
            self.w(f"    {{ u_t ck = {' | '.join(cparts)};")
        for t in cases:
            if t.get("type") == "parse_vset":
                vi = self.eg.objs["vset"].get(t["value"])
                if vi is None:
                    raise ConfigError(f"unknown parse value set {t['value']!r}")
                m = t.get("mask")
                cm = (1 << 128) - 1
                if m not in (None, ""):
                    cm = self._compress_mask(hexstr(m), [w for _c, w in elems])
                self.w(f"    if (vset_has(&c->VS[{vi}], ck, (u_t){cconst(cm)})) {go(nxt(t))}")
                continue
            v = hexstr(t["value"])
            m = t.get("mask")
            if m in (None, ""):
                self.w(f"    if (k == (u_t){cconst(v)}) {go(nxt(t))}")
            else:
                mv = hexstr(m)
                self.w(f"    if ((k & (u_t){cconst(mv)}) == (u_t){cconst(v & mv)}) {go(nxt(t))}")
        if any((t.get("type") or "hexstr") == "parse_vset" for t in cases):
            self.w("    }")
        self.w(f"    {go(default)}")

    @staticmethod
    def _compress_mask(mask: int, widths: list[int]) -> int:
        """A byte-padded mask of concatenated elements -> the same mask without padding."""
        out, rest = 0, sum((w + 7) // 8 * 8 for w in widths)
        for w in widths:
            rest -= (w + 7) // 8 * 8
            out = (out << w) | ((mask >> rest) & ((1 << w) - 1))
        return out

    # -- checksums and deparser --------------------------------------------------------------------

    def _gen_checksums(self) -> None:
        verify, update = [], []
        calc_index = {name: i for i, name in enumerate(self.prog.calculations)}
        for ck in self.prog.checksums:
            target = self.prog.field(ck["target"])
            if target.vl or target.index in self.eg.wide:
                raise NativeUnsupported("checksum into a variable-length / wide field")
            cond = ck.get("if_cond")
            cond_src = self.eg.value(cond).as_bool() if cond else None
            if ck.get("type", "generic") == "ipv4":
                raise NativeUnsupported("checksum of type ipv4 (P4_14)")
            ci = calc_index.get(ck.get("calculation"))
            if ci is None:
                raise ConfigError(f"checksum {ck.get('name')}: unknown calculation")
            if ck.get("verify", True):
                verify.append((target, cond_src, f"calc_{ci}(c, st)"))
            if ck.get("update", True):
                update.append((target, cond_src, f"calc_{ci}(c, st)"))
        self.w("static void verify_checksums(ctx_t *c, state_t *st) {\n    (void)c;")
        for target, cond, calc in verify:
            test = f"V[{target.header}]" + (f" && {cond}" if cond else "")
            self.w(f"    if ({test}) {{ if ((v_t){calc} != F[{target.index}]) P.cksum_err = 1; }}")
        self.w("}")
        self.w("static void update_checksums(ctx_t *c, state_t *st) {\n    (void)c;")
        for target, cond, calc in update:
            ind = "    "
            if cond:
                self.w(f"    if ({cond}) {{")
                ind = "        "
            self.w(f"{ind}F[{target.index}] = (v_t){calc} & {cmask(target.width)};")
            if cond:
                self.w("    }")
        self.w("}")

    def _gen_deparser(self) -> None:
        self.w(
            "static int deparse_(ctx_t *c, state_t *st, uint8_t *out, int cap) {\n    int o = 0; (void)c; (void)cap;"
        )
        if self.prog.deparsers:
            dp = self.prog.deparsers[0]
            for prim in dp.get("primitives", []):
                for line in self.prims.gen(prim):
                    self.w("    " + line)
            for name in dp.get("order", []):
                h = self.prog.header(name)
                self._emit_header(h)
        self.w("    return o;\n}")

    def _emit_header(self, h: HeaderInfo) -> None:
        if h.vl_field is not None:
            k, voff, _cap = self.eg.vl[h.vl_field.index]
            self.w(
                f"    if (V[{h.index}]) {{\n        int _t = {h.fixed_bits} + st->VLW[{k}], _nb = (_t + 7) / 8, _o = 0;"
            )
            self.w(
                "        if (o + _nb > cap) return -1;\n        memset(out + o, 0, (size_t)_nb);"
            )
            for f in h.fields:
                if f.vl:
                    self.w(
                        f"        copy_bits(out + o, _o, st->VLB + {voff}, 0, st->VLW[{k}]); _o += st->VLW[{k}];"
                    )
                else:
                    self.w(f"        {put_field(self.eg, f, 'out + o', '_o')} _o += {f.width};")
            self.w("        o += _nb;\n    }")
            return
        self.w(f"    if (V[{h.index}]) {{\n        if (o + {h.nbytes} > cap) return -1;")
        self.w(f"        memset(out + o, 0, {h.nbytes});")
        off = 0
        for f in h.fields:
            self.w(f"        {put_field(self.eg, f, 'out + o', str(off))}")
            off += f.width
        self.w(f"        o += {h.nbytes};\n    }}")
