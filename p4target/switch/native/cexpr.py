"""BMv2 JSON expressions and primitives -> C (the native engine's twin of ``codegen_expr`` and
``codegen_prims``).

Generated code works on ``st`` (the packet state: ``F`` field values, ``V`` validity, ``S``
stack next-indices, ``p`` packet registers) and ``c`` (the switch context: tables, registers,
counters).  Values are ``v_t`` (signed 128-bit, ``-fwrapv``): the Python engine's unbounded
ints for every value a program of fields up to 128 bits computes before truncation, except
where an intermediate exceeds 127 bits (documented limit).  Anything the engine cannot
reproduce exactly raises :class:`NativeUnsupported` at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, UnsupportedError
from ..program import FieldInfo, Program, hexstr

DATA, BOOL, HEADER, STACK, UNION = "data", "bool", "header", "stack", "union"
MAX_WIDTH = 128


class NativeUnsupported(UnsupportedError):
    """The program uses something the native engine does not implement (yet)."""


def cconst(n: int) -> str:
    """A C ``v_t`` literal for the Python int ``n`` (two's complement beyond 127 bits)."""
    if -(1 << 62) < n < (1 << 62):
        return f"((v_t){n}LL)"
    if n < 0:
        return f"(-{cconst(-n)})"
    x = n & ((1 << 128) - 1)
    return f"mkv({x & ((1 << 64) - 1):#x}ULL, {x >> 64:#x}ULL)"


def cmask(width: int) -> str:
    return cconst((1 << width) - 1)


@dataclass
class Code:
    src: str
    kind: str = DATA
    width: int | None = None  # known to fit in ``width`` unsigned bits
    signed: bool = False
    static: int | None = None
    type_hint: int | None = None  # header index with the same layout (dynamic headers)

    def as_data(self) -> str:
        return f"((v_t)({self.src}))" if self.kind == BOOL else self.src

    def as_bool(self) -> str:
        return self.src if self.kind == BOOL else f"({self.src} != 0)"


class CExpr:
    """Expression translator for one program; ``objs`` maps register/counter/calc names to
    their C indices."""

    def __init__(self, prog: Program, objs: dict[str, dict[str, int]]):
        self.prog = prog
        self.objs = objs
        self.param_widths: list[int] | None = None
        self.in_parser = False
        # varbit fields live in a byte area of the state: field index -> (slot, offset, bytes)
        self.vl: dict[int, tuple[int, int, int]] = {}
        nvlb = 0
        for h in prog.headers:
            f = h.vl_field
            if f is None:
                continue
            if not h.max_length:
                raise NativeUnsupported(f"variable-length field {f.name} without a max length")
            if h.stack is not None:
                raise NativeUnsupported(f"header stack of variable-length headers ({h.name})")
            cap = max(int(h.max_length) - h.nbytes, 0)
            self.vl[f.index] = (len(self.vl), nvlb, cap)
            nvlb += cap
        # fields over 128 bits are bytes in the same area (moved, never computed with)
        self.wide: dict[int, int] = {}
        for f in prog.fields:
            if f.width > MAX_WIDTH:
                h = prog.headers[f.header]
                if h.stack is not None or f.signed:
                    raise NativeUnsupported(f"field {f.name} of {f.width} bits in a stack / signed")
                self.wide[f.index] = nvlb
                nvlb += (f.width + 7) // 8
        self.nvlb = nvlb
        if prog.union_stacks:
            raise NativeUnsupported("header union stacks")

    # -- references ------------------------------------------------------------------------------

    def field_code(self, f: FieldInfo) -> Code:
        if f.vl:
            raise NativeUnsupported(f"variable-length field {f.name} used as a value")
        if f.index in self.wide:
            raise NativeUnsupported(f"field {f.name} of {f.width} bits used as a value")
        return Code(f"F[{f.index}]", DATA, None if f.signed else f.width, f.signed)

    def stack(self, name: str) -> int:
        st = self.prog.stack_by_name.get(name)
        if st is None:
            raise ConfigError(f"unknown header stack {name!r}")
        return st.index

    def value(self, tv: Any) -> Code:
        if not isinstance(tv, dict):
            raise ConfigError(f"bad type-value object {tv!r}")
        t, v = tv.get("type"), tv.get("value")
        if t == "field":
            h = self.prog.header(v[0])
            if v[1] == "$valid$":
                return Code(f"V[{h.index}]", BOOL)
            return self.field_code(self.prog.field(v))
        if t == "hexstr":
            n = hexstr(v)
            return Code(cconst(n), DATA, n.bit_length() if n >= 0 else None, n < 0)
        if t == "bool":
            return Code("1" if v else "0", BOOL)
        if t in ("runtime_data", "local"):
            i = int(v)
            w = self.param_widths[i] if self.param_widths and i < len(self.param_widths) else None
            return Code(f"d[{i}]", DATA, w)
        if t == "expression":
            return self.expr(v)
        if t in ("header", "regular"):
            h = self.prog.header(v)
            return Code(str(h.index), HEADER, static=h.index)
        if t == "header_stack":
            i = self.stack(v)
            return Code(str(i), STACK, static=i)
        if t == "header_union":
            u = self.prog.union_by_name[v]
            return Code(str(u.index), UNION, static=u.index)
        if t == "stack_field":
            si = self.stack(v[0])
            proto = self.prog.headers[self.prog.stacks[si].headers[0]]
            off = self._field_offset(proto, v[1])
            f = proto.fields[off]
            src = f"F[HF0[hsx_{si}(S[{si}] - 1)] + {off}]"
            return Code(src, DATA, None if f.signed else f.width, f.signed)
        if t == "register":
            ri = self.objs["reg"][v[0]]
            idx = self.value(v[1]) if isinstance(v[1], dict) else Code(cconst(int(v[1])))
            return Code(f"reg_get_{ri}(c, {idx.as_data()})", DATA)
        if t == "lookahead":
            if not self.in_parser:
                raise ConfigError("lookahead outside of a parser")
            off, width = int(v[0]), int(v[1])
            if width > MAX_WIDTH:
                raise NativeUnsupported(f"lookahead of {width} bits")
            return Code(f"((v_t)peek_(d, ld, pos, {off}, {width}))", DATA, width)
        raise NativeUnsupported(f"type-value object {t!r}")

    @staticmethod
    def _field_offset(h: Any, name: str) -> int:
        for i, f in enumerate(h.fields):
            if f.name.rsplit(".", 1)[1] == name:
                return i
        raise ConfigError(f"header {h.name} has no field {name!r}")

    # -- expressions -----------------------------------------------------------------------------

    def _wide(self, *cs: Code) -> bool:
        return any(c.width is not None and c.width >= MAX_WIDTH and not c.signed for c in cs)

    def expr(self, e: Any) -> Code:
        if isinstance(e, dict) and "op" not in e and "type" in e:
            return self.value(e)
        if not isinstance(e, dict):
            raise ConfigError(f"bad expression {e!r}")
        op = e["op"]
        left, right = e.get("left"), e.get("right")
        if op in ("+", "-") and left is None:
            left = {"type": "hexstr", "value": "0x0"}
        if op in ("+", "-", "*", "&", "|", "^"):
            a, b = self.value(left), self.value(right)
            w = None
            if op == "&":
                ws = [x.width for x in (a, b) if x.width is not None and not x.signed]
                w = min(ws) if ws else None
            elif op in ("|", "^") and a.width is not None and b.width is not None:
                w = max(a.width, b.width)
            return Code(f"({a.as_data()} {op} {b.as_data()})", DATA, w)
        if op == "<<":
            a, b = self.value(left), self.value(right)
            return Code(f"shl_({a.as_data()}, {b.as_data()})")
        if op == ">>":
            a, b = self.value(left), self.value(right)
            fn = "ushr_" if self._wide(a) else "shr_"
            return Code(f"{fn}({a.as_data()}, {b.as_data()})", DATA, a.width)
        if op == "/":
            a, b = self.value(left), self.value(right)
            return Code(f"div_({a.as_data()}, {b.as_data()})")
        if op == "%":
            a, b = self.value(left), self.value(right)
            return Code(f"mod_({a.as_data()}, {b.as_data()})")
        if op in ("==", "!=", ">", ">=", "<", "<="):
            a, b = self.value(left), self.value(right)
            if a.kind == BOOL or b.kind == BOOL:
                return Code(f"({a.as_bool()} {op} {b.as_bool()})", BOOL)
            if a.kind == HEADER:
                return self._header_cmp(a, b, op == "!=")
            if op not in ("==", "!=") and self._wide(a, b):
                return Code(f"((u_t){a.as_data()} {op} (u_t){b.as_data()})", BOOL)
            return Code(f"({a.as_data()} {op} {b.as_data()})", BOOL)
        if op in ("==h", "!=h"):
            return self._header_cmp(self.value(left), self.value(right), op == "!=h")
        if op in ("==b", "!=b"):
            a, b = self.value(left), self.value(right)
            return Code(f"({a.as_bool()} {op[:2]} {b.as_bool()})", BOOL)
        if op == "and":
            a, b = self.value(left), self.value(right)
            return Code(f"({a.as_bool()} && {b.as_bool()})", BOOL)
        if op == "or":
            a, b = self.value(left), self.value(right)
            return Code(f"({a.as_bool()} || {b.as_bool()})", BOOL)
        if op == "not":
            return Code(f"(!{self.value(right).as_bool()})", BOOL)
        if op == "~":
            return Code(f"(~{self.value(right).as_data()})")
        if op == "valid_union" or (op == "valid" and self.value(right).kind == UNION):
            u = self.value(right)
            hs = self.prog.unions[u.static].headers
            return Code("(" + " || ".join(f"V[{h}]" for h in hs) + ")" if hs else "0", BOOL)
        if op in ("==u", "!=u"):
            a, b = self.value(left), self.value(right)
            pairs = zip(
                self.prog.unions[a.static].headers, self.prog.unions[b.static].headers, strict=False
            )
            eq = " && ".join(f"hdr_eq(st, {x}, {y})" for x, y in pairs) or "1"
            return Code(f"({'!' if op == '!=u' else ''}({eq}))", BOOL)
        if op == "access_union_header":
            u = self.value(left)
            if u.kind != UNION or u.static is None:
                raise NativeUnsupported("dynamic header union access")
            hi = self.prog.unions[u.static].headers[int(right)]
            return Code(str(hi), HEADER, static=hi)
        if op == "valid":
            h = self.value(right)
            if h.kind != HEADER:
                raise ConfigError("'valid' expects a header")
            return Code(f"V[{h.src}]", BOOL)
        if op == "?":
            cnd = self.value(e["cond"])
            a, b = self.value(left), self.value(right)
            if a.kind == BOOL and b.kind == BOOL:
                return Code(f"({cnd.as_bool()} ? {a.src} : {b.src})", BOOL)
            if a.kind == HEADER and b.kind == HEADER:
                c = Code(f"({cnd.as_bool()} ? {a.src} : {b.src})", HEADER)
                c.type_hint = a.static if a.static is not None else a.type_hint
                return c
            w = max(a.width, b.width) if a.width is not None and b.width is not None else None
            return Code(f"({cnd.as_bool()} ? {a.as_data()} : {b.as_data()})", DATA, w)
        if op == "two_comp_mod":
            a, b = self.value(left), self.value(right)
            return Code(f"sx_({a.as_data()}, (int)({b.as_data()}))", DATA, None, True)
        if op == "usat_cast":
            a, b = self.value(left), self.value(right)
            return Code(f"usat_({a.as_data()}, (int)({b.as_data()}))")
        if op == "sat_cast":
            a, b = self.value(left), self.value(right)
            return Code(f"ssat_({a.as_data()}, (int)({b.as_data()}))", DATA, None, True)
        if op == "d2b":
            return Code(self.value(right).as_bool(), BOOL)
        if op == "b2d":
            return Code(f"((v_t){self.value(right).as_bool()})", DATA, 1)
        if op in ("dereference_header_stack", "dereference_stack"):
            s, idx = self.value(left), self.value(right)
            if s.kind != STACK:
                raise ConfigError("dereference_header_stack expects a header stack")
            hs = self.prog.stacks[int(s.src)].headers
            try:
                k = hexstr(right["value"]) if right.get("type") == "hexstr" else None
            except (ConfigError, AttributeError):
                k = None
            if k is not None and 0 <= k < len(hs):
                return Code(str(hs[k]), HEADER, static=hs[k])
            c = Code(f"hsx_{s.src}({idx.as_data()})", HEADER)
            c.type_hint = hs[0]
            return c
        if op == "last_stack_index":
            s = self.value(right)
            return Code(f"((v_t)S[{s.src}] - 1)")
        if op == "size_stack":
            s = self.value(right)
            return Code(f"((v_t)S[{s.src}])")
        if op == "access_field":
            h = self.value(left)
            off = int(right)
            hint = h.static if h.static is not None else h.type_hint
            if hint is None:
                raise NativeUnsupported(f"cannot type header expression {left!r}")
            proto = self.prog.headers[hint]
            if off >= len(proto.fields):
                raise ConfigError(f"access_field: offset {off} out of range for {proto.name}")
            if h.static is not None:
                return self.field_code(self.prog.headers[h.static].fields[off])
            f = proto.fields[off]
            return Code(f"F[HF0[{h.src}] + {off}]", DATA, None if f.signed else f.width, f.signed)
        raise NativeUnsupported(f"expression operator {op!r}")

    def _header_cmp(self, a: Code, b: Code, negate: bool) -> Code:
        for h in (a.static, b.static, a.type_hint, b.type_hint):
            if h is not None and (
                self.prog.headers[h].vl_field is not None
                or any(f.index in self.wide for f in self.prog.headers[h].fields)
            ):
                raise NativeUnsupported("comparison of variable-length / wide headers")
        return Code(f"({'!' if negate else ''}hdr_eq(st, {a.src}, {b.src}))", BOOL)

    # -- assignment ------------------------------------------------------------------------------

    def lvalue(self, tv: Any) -> tuple[str, int, bool]:
        t = tv.get("type")
        if t == "field":
            if tv["value"][1] == "$valid$":
                h = self.prog.header(tv["value"][0])
                return f"$valid${h.index}", 1, False
            f = self.prog.field(tv["value"])
            if f.vl or f.index in self.wide:
                raise NativeUnsupported(f"assignment to variable-length / wide field {f.name}")
            return f"F[{f.index}]", f.width, f.signed
        c = self.value(tv)
        if c.kind != DATA or not c.src.startswith("F["):
            raise ConfigError(f"not an assignable field: {tv!r}")
        if c.signed:
            raise NativeUnsupported("dynamic signed lvalue")
        if c.width is None:
            raise ConfigError(f"cannot determine the width of {tv!r}")
        return c.src, c.width, False

    def store(self, slot: str, width: int, signed: bool, value: Code) -> str:
        if slot.startswith("$valid$"):
            h = int(slot[len("$valid$") :])
            sib = "".join(f" V[{x}] = 0;" for x in self.prog.headers[h].siblings)
            if sib:
                return f"V[{h}] = (uint8_t)(({value.as_data()}) & 1); if (V[{h}]) {{{sib} }}"
            return f"V[{h}] = (uint8_t)(({value.as_data()}) & 1);"
        v = value.as_data()
        if signed:
            return f"{slot} = sx_({v}, {width});"
        if value.width is not None and not value.signed and value.width <= width:
            return f"{slot} = {v};"
        if width >= MAX_WIDTH:
            return f"{slot} = {v};"
        return f"{slot} = ({v}) & {cmask(width)};"


def siblings_off(prog: Program, h: Code) -> str:
    """Statements invalidating the other members of ``h``'s header union ("" if none)."""
    hi = h.static if h.static is not None else h.type_hint
    if hi is None:
        return ""
    sib = prog.headers[hi].siblings
    if sib and h.static is None:
        raise NativeUnsupported("dynamic reference to a header-union member")
    return "".join(f" V[{x}] = 0;" for x in sib)


def put_field(eg: CExpr, f: FieldInfo, dst: str, off: str) -> str:
    """Statement writing fixed field ``f`` at bit ``off`` of byte buffer ``dst``."""
    if f.index in eg.wide:
        return f"copy_bits({dst}, {off}, st->VLB + {eg.wide[f.index]}, 0, {f.width});"
    return f"put_bits({dst}, {off}, {f.width}, (u_t)F[{f.index}]);"


def get_field(eg: CExpr, f: FieldInfo, src: str, off: str) -> str:
    """Statement reading fixed field ``f`` from bit ``off`` of byte buffer ``src``."""
    if f.index in eg.wide:
        w = eg.wide[f.index]
        nb = (f.width + 7) // 8
        return (
            f"memset(st->VLB + {w}, 0, {nb}); copy_bits(st->VLB + {w}, 0, {src}, {off}, {f.width});"
        )
    v = f"(v_t)get_bits({src}, {off}, {f.width})"
    if f.signed:
        v = f"sx_({v}, {f.width})"
    return f"F[{f.index}] = {v};"


def copy_field(eg: CExpr, d: FieldInfo, s: FieldInfo, dst: str = "st", src: str = "st") -> str:
    """Statement copying a wide field's bytes (``""`` for ordinary fields)."""
    if d.index not in eg.wide and s.index not in eg.wide:
        return ""
    if d.index not in eg.wide or s.index not in eg.wide or d.width != s.width:
        raise NativeUnsupported("copy between fields of different representations")
    nb = (d.width + 7) // 8
    return f"memcpy({dst}->VLB + {eg.wide[d.index]}, {src}->VLB + {eg.wide[s.index]}, {nb});"
