"""P4Info generation (P4Runtime's description of a program's control-plane API).

Ids follow P4Runtime's scheme and p4c's algorithm so that they are stable and equal to p4c's for
the same names: the top 8 bits are the object type (``P4Ids``), the low 24 bits the Jenkins
one-at-a-time hash of the fully qualified name, with linear probing on collisions; names are
hashed per type in sorted order after every ``@id`` has been reserved. Aliases are the shortest
unique dot-separated suffix of each name among all symbols.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.protobuf import json_format, text_format

from . import ast as A
from . import types as T
from .diagnostics import CompileError
from .values import EnumVal

if TYPE_CHECKING:
    from .bmv2.program import Backend

SKIP_ANNOTATIONS = {
    "name",
    "id",
    "brief",
    "description",
    "hidden",
    "noWarn_",
    "match",
    "field_list",
    "alias",
}


def jenkins_hash(name: str) -> int:
    h = 0
    for byte in name.encode():
        h = (h + byte) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    h = (h + (h << 15)) & 0xFFFFFFFF
    return h


class SymbolTable:
    """Collects (type, name, @id) symbols, then assigns ids and aliases like p4c."""

    def __init__(self) -> None:
        self.tables: dict[int, dict[str, int | None]] = {}
        self.assigned: set[int] = set()
        self.suffix_count: dict[tuple[str, ...], int] = {}
        self.symbols: set[str] = set()

    def add(self, prefix: int, name: str, explicit: int | None = None, pos: Any = None) -> None:
        table = self.tables.setdefault(prefix, {})
        if name in table:
            return
        if explicit is not None:
            if explicit >> 24 and explicit >> 24 != prefix:
                raise CompileError.at(
                    pos, f"{name}: @id {explicit:#x} has the wrong 8-bit prefix for its type"
                )
            explicit |= prefix << 24
            if explicit in self.assigned:
                raise CompileError.at(pos, f"@id {explicit} is assigned to multiple declarations")
            self.assigned.add(explicit)
        table[name] = explicit
        if name not in self.symbols:
            self.symbols.add(name)
            parts = tuple(reversed(name.split(".")))
            for k in range(1, len(parts) + 1):
                self.suffix_count[parts[:k]] = self.suffix_count.get(parts[:k], 0) + 1

    def compute(self) -> None:
        for prefix in sorted(self.tables):
            table = self.tables[prefix]
            for name in sorted(
                (n for n, i in table.items() if i is None), key=lambda s: s.encode()
            ):
                value = jenkins_hash(name)
                while True:
                    pid = (prefix << 24) | (value & 0xFFFFFF)
                    if pid not in self.assigned:
                        break
                    value = (value + 1) & 0xFFFFFFFF
                self.assigned.add(pid)
                table[name] = pid

    def id(self, prefix: int, name: str) -> int:
        return self.tables[prefix][name]

    def alias(self, name: str) -> str:
        parts = tuple(reversed(name.split(".")))
        for k in range(1, len(parts) + 1):
            if self.suffix_count.get(parts[:k], 0) < 2:
                return ".".join(reversed(parts[:k]))
        return name


def anno_text(a: A.Annotation) -> str:
    if not a.body:
        return f"@{a.name}"
    out = []
    prev_end = None
    for t in a.body:
        if prev_end is not None and t.pos.col > prev_end:
            out.append(" ")
        out.append(t.text)
        prev_end = t.end
    return f"@{a.name}({''.join(out)})"


class P4InfoBuilder:
    def __init__(self, be: Backend):
        from ..protos import p4info_pb2, p4types_pb2

        self.pb = p4info_pb2
        self.tpb = p4types_pb2
        self.be = be
        self.info = p4info_pb2.P4Info()
        self.ids = p4info_pb2.P4Ids
        self.sym = SymbolTable()

    # -- helpers ------------------------------------------------------------------------------------
    def explicit_id(self, annotations: list) -> tuple[int | None, Any]:
        a = A.find_annotation(annotations or [], "id")
        if a is None:
            return None, None
        if not a.args or not isinstance(
            a.args[0].const if a.args[0].const is not None else _lit(a.args[0]), int
        ):
            raise CompileError.at(a.pos, "@id needs an integer argument")
        v = a.args[0].const if a.args[0].const is not None else _lit(a.args[0])
        if v <= 0 or v >= 1 << 32:
            raise CompileError.at(a.pos, "@id should be a positive 32-bit unsigned integer")
        return v, a.pos

    def preamble(
        self, pre: Any, prefix: int, name: str, annotations: list, alias: str | None = None
    ) -> None:
        pre.id = self.sym.id(prefix, name)
        pre.name = name
        pre.alias = alias or self.sym.alias(name)
        self.annotate(pre, annotations)
        for a in annotations or []:
            if a.name == "brief" and a.string_arg() is not None:
                pre.doc.brief = a.string_arg()
            elif a.name == "description" and a.string_arg() is not None:
                pre.doc.description = a.string_arg()

    def annotate(self, msg: Any, annotations: list) -> None:
        for a in annotations or []:
            if a.name in SKIP_ANNOTATIONS:
                continue
            msg.annotations.append(anno_text(a))

    def doc(self, msg: Any, annotations: list) -> None:
        for a in annotations or []:
            if a.name == "brief" and a.string_arg() is not None:
                msg.doc.brief = a.string_arg()
            elif a.name == "description" and a.string_arg() is not None:
                msg.doc.description = a.string_arg()

    def field_ids(self, items: list[list]) -> list[int]:
        """Ids for match fields / params / metadata: @id values, the rest sequential."""
        explicit = []
        for annos in items:
            v, _ = self.explicit_id(annos)
            explicit.append(v)
        used = {v for v in explicit if v is not None}
        out, idx = [], 1
        for v in explicit:
            if v is not None:
                out.append(v)
                idx += 1
                continue
            while idx in used:
                idx += 1
            out.append(idx)
            used.add(idx)
        return out

    # -- type specs ------------------------------------------------------------------------------------
    def type_spec(self, spec: Any, t: T.Type) -> None:
        if isinstance(t, T.TBits):
            (spec.bitstring.int if t.signed else spec.bitstring.bit).bitwidth = t.w
        elif isinstance(t, T.TBool):
            spec.bool.SetInParent()
        elif isinstance(t, T.TVarbit):
            spec.bitstring.varbit.max_bitwidth = t.max_width
        elif isinstance(t, T.TEnum) and t is self.be.error_type:
            spec.error.SetInParent()
        elif isinstance(t, T.TEnum) and t.underlying is not None:
            spec.serializable_enum.name = t.name
            self.ser_enum(t)
        elif isinstance(t, T.TEnum):
            spec.enum.name = t.name
            e = self.info.type_info.enums[t.name]
            if not e.members:
                for m in t.members:
                    e.members.add().name = m
        elif isinstance(t, T.TNewType):
            spec.new_type.name = t.name
            self.new_type(t)
        elif isinstance(t, T.TStructLike) and t.kind == "struct":
            spec.struct.name = t.name
            self.struct_like(self.info.type_info.structs, t)
        elif isinstance(t, T.TStructLike) and t.kind == "header":
            spec.header.name = t.name
            h = self.info.type_info.headers[t.name]
            if not h.members:
                for n, ft in t.fields:
                    m = h.members.add()
                    m.name = n
                    b = T.underlying(ft)
                    if isinstance(b, T.TBits):
                        (m.type_spec.int if b.signed else m.type_spec.bit).bitwidth = b.w
        elif isinstance(t, T.TStructLike) and t.kind == "header_union":
            spec.header_union.name = t.name
        elif isinstance(t, (T.TTuple, T.TList)):
            for et in t.elems:
                self.type_spec(spec.tuple.members.add(), et)
        elif isinstance(t, T.TStack):
            self.type_spec_header_stack(spec, t)
        else:
            raise CompileError.at(None, f"type {t} cannot be described in P4Info")

    def type_spec_header_stack(self, spec: Any, t: T.TStack) -> None:
        spec.header_stack.header.name = t.elem.name
        spec.header_stack.size = t.size

    def struct_like(self, registry: Any, t: T.TStructLike) -> None:
        if t.name in registry:
            return
        entry = registry[t.name]
        for n, ft in t.fields:
            m = entry.members.add()
            m.name = n
            self.type_spec(m.type_spec, ft)

    def ser_enum(self, t: T.TEnum) -> None:
        e = self.info.type_info.serializable_enums[t.name]
        if e.members:
            return
        e.underlying_type.bitwidth = t.underlying.w
        nbytes = (t.underlying.w + 7) // 8
        for m in t.members:
            mm = e.members.add()
            mm.name = m
            mm.value = (t.values[m] & ((1 << t.underlying.w) - 1)).to_bytes(nbytes, "big")

    def translation(self, t: T.TNewType) -> tuple[str, int] | None:
        """``@p4runtime_translation("uri", bit<W> | W | string)``: (uri, W), W = 0 for string."""
        a = t.decl.anno("p4runtime_translation") if t.decl is not None else None
        if a is None or not a.args:
            return None
        uri = a.args[0].value if isinstance(a.args[0], A.StringLit) else ""
        width = 0
        if len(a.args) > 1:
            arg = a.args[1]
            if isinstance(arg, A.IntLit):
                width = arg.value
            elif isinstance(arg, A.TypeExpr) and isinstance(arg.ref, A.BitType):
                width = _lit(arg.ref.width) or 0 if arg.ref.width is not None else 1
        return uri, width

    def new_type(self, t: T.TNewType) -> None:
        nt = self.info.type_info.new_types[t.name]
        if nt.HasField("original_type") or nt.HasField("translated_type"):
            return
        tr = self.translation(t)
        if tr is not None:
            nt.translated_type.uri = tr[0]
            if tr[1]:
                nt.translated_type.sdn_bitwidth = tr[1]
            else:
                nt.translated_type.sdn_string.SetInParent()
        else:
            b = T.underlying(t)
            (
                nt.original_type.bitstring.int if b.signed else nt.original_type.bitstring.bit
            ).bitwidth = b.w

    def width_for_cp(self, t: T.Type, w: int) -> tuple[int, str | None]:
        if isinstance(t, T.TNewType):
            self.new_type(t)
            tr = self.translation(t)
            return (tr[1] if tr is not None else w), t.name
        if isinstance(t, T.TEnum) and t.underlying is not None:
            self.ser_enum(t)
        if isinstance(t, T.TEnum) and t is self.be.error_type:
            return 0, None
        return w, None


def _lit(e: Any) -> int | None:
    if isinstance(e, A.IntLit):
        return e.value
    return None


def enum_value(v: Any) -> Any:
    return v.value if isinstance(v, EnumVal) else v


def serialize(info: Any, path: str) -> bytes | str:
    """P4Info in the format chosen by the file extension (.txt/.txtpb text, .json, .bin)."""
    if path.endswith(".json"):
        return json_format.MessageToJson(info, indent=2) + "\n"
    if path.endswith(".bin"):
        return info.SerializeToString()
    if path.endswith((".txt", ".txtpb", ".pb.txt", ".p4info")):
        header = ""
        if path.endswith(".txtpb"):
            header = (
                "# proto-file: p4/config/v1/p4info.proto\n# proto-message: p4.config.v1.P4Info\n\n"
            )
        return header + text_format.MessageToString(info)
    raise CompileError(
        [(path, 0, 0, "unknown P4Runtime file format; use .txt, .txtpb, .json or .bin")]
    )
