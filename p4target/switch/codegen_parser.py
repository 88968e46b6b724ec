"""Source generation for the parser, the deparser, calculations (hashes/checksums) and the
checksum verify/update steps."""

from __future__ import annotations

from typing import Any

from .codegen_expr import DATA, Code
from .errors import ConfigError, UnsupportedError
from .program import HeaderInfo, hexstr

MAX_PARSER_STATES_PER_PACKET = 4096


class ParserGenMixin:
    """Mixin for :class:`.codegen.Generator` (needs ``self.prog``, ``self.eg``, ``self.w``...)."""

    # -- header (de)serialisation ----------------------------------------------------------------

    def _extract_static(self, h: HeaderInfo, ind: str) -> list[str]:
        """Statements extracting fixed-size header ``h`` at ``pos`` into ``F``."""
        err = self.prog.errors["PacketTooShort"]
        nb = h.nbytes
        total = h.fixed_bits
        out = [
            f"{ind}if ld - pos < {nb}:",
            f"{ind}    raise _PErr({err}, pos)",
            f"{ind}x = int.from_bytes(d[pos:pos + {nb}], 'big')",
        ]
        if nb * 8 != total:
            out.append(f"{ind}x >>= {nb * 8 - total}")
        shift = total
        for i, f in enumerate(h.fields):
            shift -= f.width
            if i == 0:
                src = f"x >> {shift}" if shift else "x"
            else:
                src = f"(x >> {shift}) & {hex(f.mask)}" if shift else f"x & {hex(f.mask)}"
            if f.signed:
                src = f"_sx({src}, {f.width})"
            out.append(f"{ind}F[{f.index}] = {src}")
        out.append(f"{ind}V[{h.index}] = True")
        for s in h.siblings:
            out.append(f"{ind}V[{s}] = False")
        out.append(f"{ind}pos += {nb}")
        return out

    def _header_int(self, h: HeaderInfo, zero_field: int | None = None) -> str:
        """Expression: the header's fields concatenated (fixed-size header)."""
        parts = []
        shift = h.fixed_bits
        for f in h.fields:
            shift -= f.width
            if f.index == zero_field or f.width == 0:
                continue
            v = f"(F[{f.index}] & {hex(f.mask)})" if f.signed else f"F[{f.index}]"
            parts.append(f"({v} << {shift})" if shift else v)
        return " | ".join(parts) if parts else "0"

    def _emit_bytes(self, h: HeaderInfo) -> str:
        pad = h.nbytes * 8 - h.fixed_bits
        inner = self._header_int(h)
        if pad:
            inner = f"(({inner}) << {pad})"
        return f"({inner}).to_bytes({h.nbytes}, 'big')"

    # -- parser ----------------------------------------------------------------------------------

    def gen_parser(self) -> None:
        if not self.prog.parsers:
            self.w("def _parse(F, V, S, P):")
            self.w("    return 0")
            return
        parser = self.prog.parsers[0]
        states = parser.get("parse_states", [])
        names = {st["name"]: f"_ps{i}" for i, st in enumerate(states)}
        self.eg.in_parser = True
        tables: list[str] = []
        for i, st in enumerate(states):
            self._gen_state(st, f"_ps{i}", names, tables)
        self.eg.in_parser = False
        init = parser.get("init_state")
        start = names.get(init) if init else None
        timeout = self.prog.errors["ParserTimeout"]
        self.w("def _parse(F, V, S, P):")
        self.w(f"    st = {start}")
        self.w("    pos = 0")
        self.w("    n = 0")
        self.w("    try:")
        self.w("        while st is not None:")
        self.w("            st, pos = st(F, V, S, P, pos)")
        self.w("            n += 1")
        self.w(f"            if n > {MAX_PARSER_STATES_PER_PACKET}:")
        self.w(f"                raise _PErr({timeout}, pos)")
        self.w("    except _PErr as e:")
        self.w("        P.err = e.code")
        self.w("        return e.pos")
        self.w("    return pos")
        self.late.extend(tables)

    def _gen_state(
        self, st: dict[str, Any], fname: str, names: dict[str, str], tables: list[str]
    ) -> None:
        self.w(f"def {fname}(F, V, S, P, pos):")
        self.w("    d = P.data")
        self.w("    ld = len(d)")
        too_short = self.prog.errors["PacketTooShort"]
        invalid_arg = self.prog.errors["ParserInvalidArgument"]
        for op in st.get("parser_ops", []):
            kind = op.get("op")
            params = op.get("parameters", [])
            if kind == "extract":
                self._gen_extract(params[0], None)
            elif kind == "extract_VL":
                self._gen_extract(params[0], params[1])
            elif kind == "set":
                slot, width, signed = self.eg.lvalue(params[0])
                src = params[1]
                if src.get("type") == "lookahead":
                    nbytes = (int(src["value"][1]) + 7) // 8
                    self.w(f"    if ld - pos < {nbytes}:")
                    self.w(f"        raise _PErr({too_short}, pos)")
                self.w("    " + self.eg.store(slot, width, signed, self.eg.value(src)))
            elif kind == "verify":
                cond = self.eg.value(params[0])
                err = self.eg.value(params[1])
                self.w(f"    if not {cond.as_bool()}:")
                self.w(f"        raise _PErr({err.as_data()}, pos)")
            elif kind == "shift":
                n = int(hexstr(params[0]["value"] if isinstance(params[0], dict) else params[0]))
                self.w(f"    if ld - pos < {n}:")
                self.w(f"        raise _PErr({too_short}, pos)")
                self.w(f"    pos += {n}")
            elif kind == "advance":
                bits = self.eg.value(params[0])
                self.w(f"    _b = {bits.as_data()}")
                self.w("    if _b % 8:")
                self.w(f"        raise _PErr({invalid_arg}, pos)")
                self.w("    _b >>= 3")
                self.w("    if ld - pos < _b:")
                self.w(f"        raise _PErr({too_short}, pos)")
                self.w("    pos += _b")
            elif kind == "primitive":
                for p in params:
                    for line in self.prims.gen(p, "parser"):
                        self.w("    " + line)
            else:
                raise UnsupportedError(f"unsupported parser operation {kind!r}")
        self._gen_transition(st, fname, names, tables)

    def _gen_extract(self, target: dict[str, Any], vl_expr: Any) -> None:
        t = target.get("type")
        too_short = self.prog.errors["PacketTooShort"]
        errs = (
            f"({too_short}, {self.prog.errors['HeaderTooShort']}, "
            f"{self.prog.errors['ParserInvalidArgument']})"
        )
        oob = self.prog.errors["StackOutOfBounds"]
        if t == "regular":
            h = self.prog.header(target["value"])
            if vl_expr is not None:
                nb = self.eg.value(vl_expr)
                self.w(f"    pos = _extract_vl(F, V, P, {h.index}, pos, {nb.as_data()}, {errs})")
                return
            if h.vl_field is not None:
                raise UnsupportedError(
                    f"extract of variable-length header {h.name} needs extract_VL"
                )
            for line in self._extract_static(h, "    "):
                self.w(line)
            return
        if t == "stack":
            si = self.eg.stack(target["value"])
            size = len(self.prog.stacks[si].headers)
            self.w(f"    if S[{si}] >= {size}:")
            self.w(f"        raise _PErr({oob}, pos)")
            if vl_expr is not None:
                nb = self.eg.value(vl_expr)
                self.w(
                    f"    pos = _extract_vl(F, V, P, _HS{si}[S[{si}]], pos, {nb.as_data()}, {errs})"
                )
            else:
                self.w(f"    pos = _extract_fixed(F, V, P, _HS{si}[S[{si}]], pos, {too_short})")
            self.w(f"    S[{si}] += 1")
            return
        if t == "union_stack":
            name, member = target["value"]
            us = self.prog.union_stack_by_name[name]
            slot = len(self.prog.stacks) + us.index
            u0 = self.prog.unions[us.headers[0]]
            mi = u0.members.index(member) if member in u0.members else int(member)
            self.w(f"    if S[{slot}] >= {len(us.headers)}:")
            self.w(f"        raise _PErr({oob}, pos)")
            hexpr = f"_UH[_US{us.index}[S[{slot}]]][{mi}]"
            if vl_expr is not None:
                nb = self.eg.value(vl_expr)
                self.w(f"    pos = _extract_vl(F, V, P, {hexpr}, pos, {nb.as_data()}, {errs})")
            else:
                self.w(f"    pos = _extract_fixed(F, V, P, {hexpr}, pos, {too_short})")
            self.w(f"    S[{slot}] += 1")
            return
        raise UnsupportedError(f"unsupported extract target {t!r}")

    def _key_elements(self, key: list[dict[str, Any]]) -> list[tuple[Code, int]]:
        """(value code, bit width) of each transition key element."""
        out = []
        for k in key:
            t = k.get("type")
            if t == "lookahead":
                width = int(k["value"][1])
                out.append((self.eg.value(k), width))
                continue
            c = self.eg.value(k)
            width = self._elem_width(k)
            if c.signed:
                c = Code(f"({c.src} & {hex((1 << width) - 1)})", DATA, width)
            out.append((c, width))
        return out

    def _elem_width(self, k: dict[str, Any]) -> int:
        t, v = k.get("type"), k.get("value")
        if t == "field":
            if v[1] == "$valid$":
                return 1
            return self.prog.field(v).width
        if t == "stack_field":
            st = self.prog.stacks[self.eg.stack(v[0])]
            proto = self.prog.headers[st.headers[0]]
            return proto.fields[self.eg._field_offset(proto, v[1])].width
        if t == "union_stack_field":
            us = self.prog.union_stack_by_name[v[0]]
            u0 = self.prog.unions[us.headers[0]]
            mi = u0.members.index(v[1]) if v[1] in u0.members else int(v[1])
            proto = self.prog.headers[u0.headers[mi]]
            return proto.fields[self.eg._field_offset(proto, v[2])].width
        if t == "expression":
            raise UnsupportedError("expressions in transition keys are not supported by BMv2")
        raise UnsupportedError(f"unsupported transition key element {t!r}")

    def _gen_transition(
        self, st: dict[str, Any], fname: str, names: dict[str, str], tables: list[str]
    ) -> None:
        trans = st.get("transitions", [])

        def nxt(t: dict[str, Any]) -> str:
            ns = t.get("next_state")
            if ns is None:
                return "None"
            if ns not in names:
                raise ConfigError(f"parser state {st['name']}: unknown next state {ns!r}")
            return names[ns]

        def ttype(t: dict[str, Any]) -> str:
            ty = t.get("type")
            if ty:
                return ty
            return "default" if t.get("value") in ("default", None) else "hexstr"

        default = "None"
        cases = []
        for t in trans:
            ty = ttype(t)
            if ty == "default":
                default = nxt(t)
                break  # later cases are unreachable
            cases.append((ty, t))
        key = st.get("transition_key", [])
        if not cases or not key:
            self.w(f"    return {default}, pos")
            return
        elems = self._key_elements(key)
        req = 0
        for k in key:
            if k.get("type") == "lookahead":
                off, width = int(k["value"][0]), int(k["value"][1])
                req = max(req, off // 8 + (width + 7) // 8)
        if req:
            self.w(f"    if ld - pos < {req}:")
            self.w(f"        raise _PErr({self.prog.errors['PacketTooShort']}, pos)")
        # padded key: each element on whole bytes, concatenated
        parts = []
        rest = sum((w + 7) // 8 * 8 for _c, w in elems)
        for c, w in elems:
            rest -= (w + 7) // 8 * 8
            parts.append(f"({c.as_data()} << {rest})" if rest else c.as_data())
        self.w(f"    k = {' | '.join(parts)}")
        if any(ty == "parse_vset" for ty, _t in cases):
            cparts = []
            rest = sum(w for _c, w in elems)
            for c, w in elems:
                rest -= w
                cparts.append(f"({c.as_data()} << {rest})" if rest else c.as_data())
            self.w(f"    ck = {' | '.join(cparts)}")
        simple = all(ty == "hexstr" and t.get("mask") in (None, "") for ty, t in cases)
        if simple and len(cases) > 2:
            tname = f"_TR{fname[3:]}"
            items = []
            seen = set()
            for _ty, t in cases:
                v = hexstr(t["value"])
                if v not in seen:  # first match wins
                    seen.add(v)
                    items.append(f"{v}: {nxt(t)}")
            tables.append(f"{tname} = {{{', '.join(items)}}}")
            self.w(f"    return {tname}.get(k, {default}), pos")
            return
        for ty, t in cases:
            if ty == "hexstr":
                v = hexstr(t["value"])
                m = t.get("mask")
                if m in (None, ""):
                    self.w(f"    if k == {v}:")
                else:
                    mv = hexstr(m)
                    self.w(f"    if k & {mv} == {v & mv}:")
                self.w(f"        return {nxt(t)}, pos")
            elif ty == "parse_vset":
                vi = self.consts["_vset_index"].get(t["value"])
                if vi is None:
                    raise ConfigError(f"unknown parse value set {t['value']!r}")
                m = t.get("mask")
                if m in (None, ""):
                    self.w(f"    if ck in VS{vi}.values:")
                else:
                    cm = self._compress_mask(hexstr(m), [w for _c, w in elems])
                    self.w(f"    if any(v & {cm} == ck & {cm} for v in VS{vi}.values):")
                self.w(f"        return {nxt(t)}, pos")
            else:
                raise UnsupportedError(f"unsupported transition type {ty!r}")
        self.w(f"    return {default}, pos")

    @staticmethod
    def _compress_mask(mask: int, widths: list[int]) -> int:
        """A byte-padded mask of concatenated elements -> the same mask without padding."""
        out = 0
        rest = sum((w + 7) // 8 * 8 for w in widths)
        for w in widths:
            rest -= (w + 7) // 8 * 8
            out = (out << w) | ((mask >> rest) & ((1 << w) - 1))
        return out

    # -- deparser --------------------------------------------------------------------------------

    def gen_deparser(self) -> None:
        self.w("def _deparse(F, V, S, P):")
        if not self.prog.deparsers:
            self.w("    return b''")
            return
        dp = self.prog.deparsers[0]
        for prim in dp.get("primitives", []):
            for line in self.prims.gen(prim, "action"):
                self.w("    " + line)
        self.w("    out = []")
        self.w("    app = out.append")
        for name in dp.get("order", []):
            h = self.prog.header(name)
            self.w(f"    if V[{h.index}]:")
            if h.vl_field is not None:
                self.w(f"        app(_header_bytes(F, P, {h.index}))")
            else:
                self.w(f"        app({self._emit_bytes(h)})")
        self.w("    return b''.join(out)")

    # -- calculations and checksums ----------------------------------------------------------

    def gen_calc(self, fname: str, algo: str, inputs: list[dict[str, Any]], hash_name: str) -> None:
        """``def fname(F, V, S, P)`` computing ``algo`` over the inputs (BMv2 BufBuilder)."""
        self.w(f"def {fname}(F, V, S, P):")
        self.w("    x = 0")
        self.w("    n = 0")
        payload = False
        group: list[Any] = []
        group_hdr: HeaderInfo | None = None

        def flush() -> None:
            nonlocal group, group_hdr
            if not group:
                return
            total = sum(w for _s, w in group)
            parts = []
            rest = total
            for src, w in group:
                rest -= w
                parts.append(f"({src} << {rest})" if rest else src)
            ind = "    "
            if group_hdr is not None and not group_hdr.metadata:
                self.w(f"    if V[{group_hdr.index}]:")
                ind = "        "
            self.w(f"{ind}x = (x << {total}) | {' | '.join(parts)}")
            self.w(f"{ind}n += {total}")
            group, group_hdr = [], None

        for inp in inputs:
            t = inp.get("type")
            if t == "field":
                if inp["value"][1] == "$valid$":
                    h = self.prog.header(inp["value"][0])
                    flush()
                    self.w(f"    x = (x << 1) | (1 if V[{h.index}] else 0)")
                    self.w("    n += 1")
                    continue
                f = self.prog.field(inp["value"])
                h = self.prog.headers[f.header]
                if f.vl:
                    # a varbit field counts with the width it was extracted with
                    flush()
                    guard = "" if h.metadata else f"V[{h.index}] and "
                    self.w(f"    w = P.vl.get({f.index}, 0) if {guard}P.vl else 0")
                    self.w(f"    x = (x << w) | (F[{f.index}] & ((1 << w) - 1))")
                    self.w("    n += w")
                    continue
                if group_hdr is not h:
                    flush()
                    group_hdr = h
                src = f"(F[{f.index}] & {hex(f.mask)})" if f.signed else f"F[{f.index}]"
                group.append((src, f.width))
            elif t == "hexstr":
                flush()
                width = int(inp.get("bitwidth", 0))
                v = hexstr(inp["value"]) & ((1 << width) - 1)
                self.w(f"    x = (x << {width}) | {v}")
                self.w(f"    n += {width}")
            elif t == "header":
                flush()
                h = self.prog.header(inp["value"])
                self.w(f"    if V[{h.index}]:")
                if h.vl_field is not None:
                    self.w(f"        b = _header_bytes(F, P, {h.index})")
                    self.w("        x = (x << (len(b) << 3)) | int.from_bytes(b, 'big')")
                    self.w("        n += len(b) << 3")
                    continue
                self.w(
                    f"        x = (x << {h.nbytes * 8}) | ({self._header_int(h)}) << {h.nbytes * 8 - h.fixed_bits}"
                )
                self.w(f"        n += {h.nbytes * 8}")
            elif t == "payload":
                flush()
                payload = True
            elif t == "expression":
                flush()
                raise UnsupportedError("expressions in calculation inputs are not supported")
            else:
                raise UnsupportedError(f"unsupported calculation input type {t!r}")
        flush()
        self.w("    nb = (n + 7) >> 3")
        self.w("    x <<= (nb << 3) - n")
        if algo in ("csum16", "cksum16") and not payload:
            self.w("    if nb & 1:")
            self.w("        x <<= 8")
            self.w("    return _csum16i(x)")
            return
        if payload:
            self.w(f"    return {hash_name}(x.to_bytes(nb, 'big') + P.payload)")
        else:
            self.w(f"    return {hash_name}(x.to_bytes(nb, 'big'))")

    def gen_checksums(self) -> None:
        verify, update = [], []
        for ck in self.prog.checksums:
            target = self.prog.field(ck["target"])
            cond = ck.get("if_cond")
            cond_src = self.eg.value(cond).as_bool() if cond else None
            if ck.get("type", "generic") == "ipv4":
                h = self.prog.headers[target.header]
                calc = f"_csum16i(({self._header_int(h, target.index)}) << {h.nbytes * 8 - h.fixed_bits} << (8 if {h.nbytes} & 1 else 0))"
            else:
                ci = self.consts["_calc_index"].get(ck.get("calculation"))
                if ci is None:
                    raise ConfigError(f"checksum {ck.get('name')}: unknown calculation")
                calc = f"_calc{ci}(F, V, S, P)"
            if ck.get("verify", True):
                verify.append((target, cond_src, calc))
            if ck.get("update", True):
                update.append((target, cond_src, calc, ck.get("type", "generic") == "ipv4"))
        self.w("def _verify_checksums(F, V, S, P):")
        if not verify:
            self.w("    return")
        for target, cond, calc in verify:
            test = f"V[{target.header}]" + (f" and {cond}" if cond else "")
            self.w(f"    if {test}:")
            self.w(f"        if {calc} != F[{target.index}]:")
            self.w("            P.cksum_err = 1")
        self.w("def _update_checksums(F, V, S, P):")
        if not update:
            self.w("    return")
        for target, cond, calc, ipv4 in update:
            tests = []
            if ipv4:
                tests.append(f"V[{target.header}]")
            if cond:
                tests.append(cond)
            ind = "    "
            if tests:
                self.w(f"    if {' and '.join(tests)}:")
                ind = "        "
            self.w(f"{ind}F[{target.index}] = {calc} & {hex(target.mask)}")
