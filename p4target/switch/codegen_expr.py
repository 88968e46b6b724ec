"""Translate BMv2 JSON type-value objects and expressions into Python source.

Generated code works on four locals: ``F`` (list of field values, one slot per field of every
header instance), ``V`` (list of header validity bits), ``S`` (list of header-stack next
indices) and ``P`` (the packet context).  Action code also has ``d``, the tuple of action
data.  Unsigned fields always hold values in ``[0, 2**width)``; signed fields hold their signed
value.  Arithmetic is done with Python's unbounded ints, as BMv2 does with its bignums, and
values are truncated when stored in a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, UnsupportedError
from .program import FieldInfo, Program, hexstr

DATA, BOOL, HEADER, STACK, UNION, USTACK = "data", "bool", "header", "stack", "union", "ustack"

# Shifts by more than this many bits yield 0 for any value a field can hold after truncation;
# capping them keeps a packet from making the switch allocate gigantic integers.
MAX_SHIFT = 1 << 12


@dataclass
class Code:
    """A generated expression: its source, its kind and (for data) what is known of its range."""

    src: str
    kind: str = DATA
    width: int | None = None  # value known to fit in ``width`` unsigned bits
    signed: bool = False
    static: int | None = None  # header/stack/union index when known at compile time
    bool_src: str | None = None  # an equivalent boolean expression (for 0/1 values)

    def as_data(self) -> str:
        if self.kind == BOOL:
            return f"(1 if {self.src} else 0)"
        return self.src

    def as_bool(self) -> str:
        if self.kind == BOOL:
            return self.src
        if self.bool_src is not None:
            return self.bool_src
        return f"({self.src} != 0)"


def sx(value: int, width: int) -> int:
    """Two's-complement interpretation of ``value`` on ``width`` bits."""
    if width <= 0:
        return 0
    half = 1 << (width - 1)
    return ((value + half) & ((1 << width) - 1)) - half


def shl(a: int, b: int) -> int:
    if b < 0:
        return a >> -b
    return a << b if b < MAX_SHIFT else 0


def shr(a: int, b: int) -> int:
    if b < 0:
        return shl(a, -b)
    return a >> b


def div(a: int, b: int) -> int:
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def mod(a: int, b: int) -> int:
    if b == 0:
        return 0
    return a - div(a, b) * b


def usat(a: int, w: int) -> int:
    hi = (1 << w) - 1
    return 0 if a < 0 else (hi if a > hi else a)


def ssat(a: int, w: int) -> int:
    hi = (1 << (w - 1)) - 1
    lo = -(1 << (w - 1))
    return lo if a < lo else (hi if a > hi else a)


def stack_elem(headers: tuple[int, ...], i: int, oob: int) -> int:
    """Header index of element ``i`` of a stack; ``oob`` (its scratch header) when out of range."""
    return headers[i] if 0 <= i < len(headers) else oob


RUNTIME_HELPERS = {
    "_hsx": stack_elem,
    "_sx": sx,
    "_shl": shl,
    "_shr": shr,
    "_div": div,
    "_mod": mod,
    "_usat": usat,
    "_ssat": ssat,
}

_ARITH = {"+": "+", "-": "-", "*": "*", "&": "&", "|": "|", "^": "^"}
_CMP = {"==": "==", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class ExprGen:
    """Expression translator bound to one program; ``consts`` collects tables it needs."""

    def __init__(self, prog: Program, consts: dict[str, Any]):
        self.prog = prog
        self.consts = consts
        self.in_parser = False
        self.pos_var = "pos"  # name of the parser's cursor variable
        self._stack_tables()

    def _stack_tables(self) -> None:
        prog = self.prog
        self.consts["_HF"] = tuple(tuple(f.index for f in h.fields) for h in prog.headers)
        self.consts["_HB"] = tuple(h.nbytes for h in prog.headers)
        for st in prog.stacks:
            self.consts[f"_HS{st.index}"] = st.headers
        self.consts["_UH"] = tuple(u.headers for u in prog.unions)
        for st in prog.union_stacks:
            self.consts[f"_US{st.index}"] = st.headers

    # -- references ------------------------------------------------------------------------------

    def field_code(self, f: FieldInfo) -> Code:
        return Code(f"F[{f.index}]", DATA, None if f.signed or f.vl else f.width, f.signed)

    def header_of(self, tv: Any) -> Code:
        """A header reference: static ``{"type": "header"}`` or a dynamic expression."""
        t = tv.get("type")
        if t in ("header", "regular"):
            h = self.prog.header(tv["value"])
            return Code(str(h.index), HEADER, static=h.index)
        if t == "expression":
            c = self.expr(tv["value"])
            if c.kind != HEADER:
                raise ConfigError(f"expected a header expression, got {c.kind}")
            return c
        if t == "stack_header":  # not produced by p4c; accepted for completeness
            st = self.prog.stack_by_name[tv["value"]]
            return Code(f"_HS{st.index}[S[{st.index}] - 1]", HEADER)
        raise ConfigError(f"expected a header, got {tv!r}")

    def header_type_of(self, c: Code, tv: Any) -> int:
        """Index of a header with the same layout as header code ``c`` (for field offsets)."""
        if c.static is not None:
            return c.static
        hint = getattr(c, "_type_hint", None)
        if hint is not None:
            return hint
        raise ConfigError(f"cannot determine the header type of {tv!r}")

    def stack(self, name: str) -> int:
        st = self.prog.stack_by_name.get(name)
        if st is None:
            raise ConfigError(f"unknown header stack {name!r}")
        return st.index

    # -- type-value objects ----------------------------------------------------------------------

    def value(self, tv: Any) -> Code:
        """An rvalue from a type-value object (primitive parameter or expression operand)."""
        if not isinstance(tv, dict):
            raise ConfigError(f"bad type-value object {tv!r}")
        t = tv.get("type")
        v = tv.get("value")
        if t == "field":
            if v[1] == "$valid$":
                h = self.prog.header(v[0])
                return Code(f"(1 if V[{h.index}] else 0)", DATA, 1, bool_src=f"V[{h.index}]")
            return self.field_code(self.prog.field(v))
        if t == "hexstr":
            n = hexstr(v)
            return Code(str(n), DATA, n.bit_length() if n >= 0 else None, n < 0)
        if t == "bool":
            return Code("True" if v else "False", BOOL)
        if t in ("runtime_data", "local"):
            return Code(f"d[{int(v)}]", DATA, self._param_width(int(v)))
        if t == "expression":
            return self.expr(v)
        if t == "header":
            return self.header_of(tv)
        if t == "header_stack":
            i = self.stack(v)
            return Code(str(i), STACK, static=i)
        if t == "header_union":
            u = self.prog.union_by_name[v]
            return Code(str(u.index), UNION, static=u.index)
        if t == "header_union_stack":
            s = self.prog.union_stack_by_name[v]
            return Code(str(s.index), USTACK, static=s.index)
        if t == "stack_field":
            si = self.stack(v[0])
            st = self.prog.stacks[si]
            proto = self.prog.headers[st.headers[0]]
            off = self._field_offset(proto, v[1])
            f = proto.fields[off]
            return Code(
                f"F[_HF[_HS{si}[S[{si}] - 1]][{off}]]",
                DATA,
                None if f.signed else f.width,
                f.signed,
            )
        if t == "union_stack_field":
            us = self.prog.union_stack_by_name[v[0]]
            u0 = self.prog.unions[us.headers[0]]
            member = u0.members.index(v[1]) if v[1] in u0.members else int(v[1])
            proto = self.prog.headers[u0.headers[member]]
            off = self._field_offset(proto, v[2])
            f = proto.fields[off]
            src = (
                f"F[_HF[_UH[_US{us.index}[S[{self._ustack_slot(us.index)}] - 1]][{member}]][{off}]]"
            )
            return Code(src, DATA, None if f.signed else f.width, f.signed)
        if t == "register":
            reg = self.consts["_reg_index"][v[0]]
            idx = self.value(v[1]) if isinstance(v[1], dict) else Code(str(int(v[1])))
            return Code(f"R{reg}.read({idx.as_data()})", DATA)
        if t == "lookahead":
            if not self.in_parser:
                raise ConfigError("lookahead outside of a parser")
            off, width = int(v[0]), int(v[1])
            return Code(f"_peek(P.data, {self.pos_var}, {off}, {width})", DATA, width)
        if t == "string":
            return Code(repr(v), "string")
        raise UnsupportedError(f"unsupported type-value object type {t!r}")

    def _param_width(self, i: int) -> int | None:
        widths = self.consts.get("_cur_param_widths")
        if widths is not None and 0 <= i < len(widths):
            return widths[i]
        return None

    def _ustack_slot(self, i: int) -> int:
        return len(self.prog.stacks) + i

    @staticmethod
    def _field_offset(h: Any, name: str) -> int:
        for i, f in enumerate(h.fields):
            if f.name.rsplit(".", 1)[1] == name:
                return i
        raise ConfigError(f"header {h.name} has no field {name!r}")

    # -- expressions -----------------------------------------------------------------------------

    def expr(self, e: Any) -> Code:
        """An expression object (``{"op": ..., "left": ..., "right": ...}``) or a wrapped one."""
        if isinstance(e, dict) and "op" not in e and "type" in e:
            return self.value(e)
        if not isinstance(e, dict):
            raise ConfigError(f"bad expression {e!r}")
        op = e["op"]
        left, right = e.get("left"), e.get("right")
        if op in ("+", "-") and left is None:  # unary +/-: BMv2 takes 0 as the left operand
            left = {"type": "hexstr", "value": "0x0"}
        if op in _ARITH:
            a, b = self.value(left), self.value(right)
            w = None
            if op in ("&",) and (a.width is not None or b.width is not None):
                ws = [x.width for x in (a, b) if x.width is not None and not x.signed]
                w = min(ws) if ws else None
            elif op in ("|", "^") and a.width is not None and b.width is not None:
                w = max(a.width, b.width)
            return Code(f"({a.as_data()} {_ARITH[op]} {b.as_data()})", DATA, w)
        if op == "<<":
            a, b = self.value(left), self.value(right)
            if b.src.isdigit() and int(b.src) < MAX_SHIFT:
                return Code(f"({a.as_data()} << {b.src})")
            return Code(f"_shl({a.as_data()}, {b.as_data()})")
        if op == ">>":
            a, b = self.value(left), self.value(right)
            if b.src.isdigit():
                return Code(f"({a.as_data()} >> {b.src})", DATA, a.width)
            return Code(f"_shr({a.as_data()}, {b.as_data()})", DATA, a.width)
        if op == "/":
            a, b = self.value(left), self.value(right)
            return Code(f"_div({a.as_data()}, {b.as_data()})")
        if op == "%":
            a, b = self.value(left), self.value(right)
            return Code(f"_mod({a.as_data()}, {b.as_data()})")
        if op in _CMP:
            a, b = self.value(left), self.value(right)
            if a.kind == BOOL or b.kind == BOOL:
                return Code(f"({a.as_bool()} {_CMP[op]} {b.as_bool()})", BOOL)
            if a.kind == HEADER:
                return self._header_cmp(a, b, op == "!=")
            return Code(f"({a.as_data()} {_CMP[op]} {b.as_data()})", BOOL)
        if op in ("==h", "!=h"):
            return self._header_cmp(self.value(left), self.value(right), op == "!=h")
        if op in ("==u", "!=u"):
            a, b = self.value(left), self.value(right)
            neg = "not " if op == "!=u" else ""
            return Code(f"({neg}_union_eq(F, V, {a.src}, {b.src}))", BOOL)
        if op in ("==b", "!=b"):
            a, b = self.value(left), self.value(right)
            o = "==" if op == "==b" else "!="
            return Code(f"({a.as_bool()} {o} {b.as_bool()})", BOOL)
        if op == "and":
            a, b = self.value(left), self.value(right)
            return Code(f"({a.as_bool()} and {b.as_bool()})", BOOL)
        if op == "or":
            a, b = self.value(left), self.value(right)
            return Code(f"({a.as_bool()} or {b.as_bool()})", BOOL)
        if op == "not":
            b = self.value(right)
            return Code(f"(not {b.as_bool()})", BOOL)
        if op == "~":
            b = self.value(right)
            return Code(f"(~{b.as_data()})")
        if op == "valid":
            h = self.value(right)
            if h.kind == UNION:
                return self._union_valid(h)
            if h.kind != HEADER:
                raise ConfigError("'valid' expects a header")
            return Code(f"V[{h.src}]", BOOL)
        if op == "valid_union":
            return self._union_valid(self.value(right))
        if op == "?":
            c = self.value(e["cond"])
            a, b = self.value(left), self.value(right)
            kind = a.kind if a.kind == b.kind else DATA
            if kind == BOOL:
                return Code(f"({a.src} if {c.as_bool()} else {b.src})", BOOL)
            w = None
            if a.width is not None and b.width is not None:
                w = max(a.width, b.width)
            src = f"({a.as_data()} if {c.as_bool()} else {b.as_data()})"
            if kind == HEADER:
                return Code(f"({a.src} if {c.as_bool()} else {b.src})", HEADER)
            return Code(src, DATA, w)
        if op == "two_comp_mod":
            a, b = self.value(left), self.value(right)
            return Code(f"_sx({a.as_data()}, {b.as_data()})", DATA, None, True)
        if op == "usat_cast":
            a, b = self.value(left), self.value(right)
            return Code(f"_usat({a.as_data()}, {b.as_data()})")
        if op == "sat_cast":
            a, b = self.value(left), self.value(right)
            return Code(f"_ssat({a.as_data()}, {b.as_data()})", DATA, None, True)
        if op == "d2b":
            return Code(self.value(right).as_bool(), BOOL)
        if op == "b2d":
            b = self.value(right).as_bool()
            return Code(f"(1 if {b} else 0)", DATA, 1, bool_src=b)
        if op in ("dereference_header_stack", "dereference_stack"):
            s = self.value(left)
            idx = self.value(right)
            if s.kind != STACK:
                raise ConfigError("dereference_header_stack expects a header stack")
            st = self.prog.stacks[int(s.src)]
            # an index out of range resolves to the stack's scratch header (see StackInfo.oob)
            code = Code(f"_hsx(_HS{s.src}, {idx.as_data()}, {st.oob})", HEADER)
            code._type_hint = st.headers[0]  # type: ignore[attr-defined]
            if idx.src.isdigit():
                hs = self.prog.stacks[int(s.src)].headers
                if int(idx.src) < len(hs):
                    code = Code(str(hs[int(idx.src)]), HEADER, static=hs[int(idx.src)])
            return code
        if op == "last_stack_index":
            s = self.value(right)
            return Code(f"(S[{s.src}] - 1)")
        if op == "size_stack":
            s = self.value(right)
            return Code(f"S[{s.src}]")
        if op == "access_field":
            h = self.value(left)
            off = int(right)
            proto = self.prog.headers[self.header_type_of(h, left)]
            if off >= len(proto.fields):
                raise ConfigError(f"access_field: offset {off} out of range for {proto.name}")
            f = proto.fields[off]
            if h.static is not None:
                return self.field_code(self.prog.headers[h.static].fields[off])
            return Code(f"F[_HF[{h.src}][{off}]]", DATA, None if f.signed else f.width, f.signed)
        if op == "dereference_union_stack":
            s = self.value(left)
            idx = self.value(right)
            code = Code(f"_US{s.src}[{idx.as_data()}]", UNION)
            code._type_hint = self.prog.union_stacks[int(s.src)].headers[0]  # type: ignore[attr-defined]
            return code
        if op == "access_union_header":
            u = self.value(left)
            off = int(right)
            if u.static is not None:
                hi = self.prog.unions[u.static].headers[off]
                return Code(str(hi), HEADER, static=hi)
            proto_union = getattr(u, "_type_hint", None)
            code = Code(f"_UH[{u.src}][{off}]", HEADER)
            if proto_union is not None:
                code._type_hint = self.prog.unions[proto_union].headers[off]  # type: ignore[attr-defined]
            return code
        raise UnsupportedError(f"unsupported expression operator {op!r}")

    def _header_cmp(self, a: Code, b: Code, negate: bool) -> Code:
        neg = "not " if negate else ""
        return Code(f"({neg}_hdr_eq(F, V, {a.src}, {b.src}))", BOOL)

    def _union_valid(self, u: Code) -> Code:
        if u.static is not None:
            hs = self.prog.unions[u.static].headers
            return Code("(" + " or ".join(f"V[{h}]" for h in hs) + ")" if hs else "False", BOOL)
        return Code(f"any(V[h] for h in _UH[{u.src}])", BOOL)

    # -- assignment ------------------------------------------------------------------------------

    def lvalue(self, tv: Any) -> tuple[str, int, bool]:
        """Target of an assignment: (source of the slot, width, signed).

        A ``$valid$`` target (p4c writes one when it reads a whole header with lookahead)
        gives the slot ``"$valid$<header index>"``, which :meth:`store` turns into a
        validity update."""
        t = tv.get("type")
        if t == "field":
            if tv["value"][1] == "$valid$":
                h = self.prog.header(tv["value"][0])
                return f"$valid${h.index}", 1, False
            f = self.prog.field(tv["value"])
            return f"F[{f.index}]", f.width, f.signed
        c = self.value(tv)
        if c.kind != DATA or not c.src.startswith("F["):
            raise ConfigError(f"not an assignable field: {tv!r}")
        if c.width is None and not c.signed:
            raise ConfigError(f"cannot determine the width of {tv!r}")
        if c.signed:
            # width of a signed slot: recover it from the expression tree
            width = self._signed_width(tv)
            return c.src, width, True
        return c.src, c.width or 0, False

    def _signed_width(self, tv: Any) -> int:
        c = tv
        while isinstance(c, dict) and c.get("type") == "expression":
            c = c["value"]
        if isinstance(c, dict) and c.get("op") == "access_field":
            h = self.value(c["left"])
            proto = self.prog.headers[self.header_type_of(h, c["left"])]
            return proto.fields[int(c["right"])].width
        if isinstance(c, dict) and c.get("type") == "stack_field":
            st = self.prog.stacks[self.stack(c["value"][0])]
            proto = self.prog.headers[st.headers[0]]
            return proto.fields[self._field_offset(proto, c["value"][1])].width
        raise ConfigError(f"cannot determine the width of {tv!r}")

    def store(self, slot: str, width: int, signed: bool, value: Code) -> str:
        """A statement storing ``value`` into ``slot`` with BMv2's truncation rules."""
        if slot.startswith("$valid$"):
            h = int(slot[len("$valid$") :])
            if self.prog.headers[h].siblings:
                return f"_assign_valid(V, {h}, {value.as_data()})"
            return f"V[{h}] = bool({value.as_data()} & 1)"
        v = value.as_data()
        if signed:
            return f"{slot} = _sx({v}, {width})"
        if value.width is not None and not value.signed and value.width <= width:
            return f"{slot} = {v}"
        return f"{slot} = {v} & {hex((1 << width) - 1)}"
