"""Storage of P4 values in BMv2: header types, header instances (with the ``scalars``
metadata header for locals and user metadata), stacks and unions, and the location objects
(``Loc``) that the back end binds P4 variables and parameters to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import types as T
from ..diagnostics import CompileError, Pos

SCALARS = "scalars"


# ----------------------------------------------------------------------------- locations
class Loc:
    pass


@dataclass(eq=False)
class FieldLoc(Loc):
    header: str
    field: str
    width: int
    signed: bool = False
    is_bool: bool = False

    def json(self) -> dict:
        return {"type": "field", "value": [self.header, self.field]}


@dataclass(eq=False)
class HeaderLoc(Loc):
    name: str
    htype: T.TStructLike
    fields: dict[str, Loc] = field(default_factory=dict)
    metadata: bool = False

    def json(self) -> dict:
        return {"type": "header", "value": self.name}


@dataclass(eq=False)
class StackLoc(Loc):
    name: str
    stype: T.TStack
    elems: list[HeaderLoc] = field(default_factory=list)

    def json(self) -> dict:
        return {"type": "header_stack", "value": self.name}


@dataclass(eq=False)
class UnionLoc(Loc):
    name: str
    utype: T.TStructLike
    members: dict[str, HeaderLoc] = field(default_factory=dict)

    def json(self) -> dict:
        return {"type": "header_union", "value": self.name}


@dataclass(eq=False)
class StructLoc(Loc):
    stype: T.Type
    members: dict[str, Loc] = field(default_factory=dict)
    header_name: str | None = None  # standard_metadata: a struct stored as one header


@dataclass(eq=False)
class DynHeaderLoc(Loc):
    """``stack[i]`` with a run-time index."""

    stack: StackLoc
    index: dict  # JSON expression

    def json(self) -> dict:
        return _expr("dereference_header_stack", self.stack.json(), self.index)


@dataclass(eq=False)
class DynFieldLoc(Loc):
    header: DynHeaderLoc
    offset: int
    width: int
    signed: bool = False
    is_bool: bool = False

    def json(self) -> dict:
        return _expr("access_field", self.header.json(), self.offset)


@dataclass(eq=False)
class StackFieldLoc(Loc):
    """A field of the last extracted element of a stack (parser ``.last``)."""

    stack: StackLoc
    field: str
    width: int
    signed: bool = False
    is_bool: bool = False

    def json(self) -> dict:
        return {"type": "stack_field", "value": [self.stack.name, self.field]}


@dataclass(eq=False)
class LastHeaderLoc(Loc):
    """``stack.last`` used as a header (in the parser, or read-only elsewhere)."""

    stack: StackLoc


@dataclass(eq=False)
class NextHeaderLoc(Loc):
    """``stack.next`` (only in extract)."""

    stack: StackLoc


@dataclass(eq=False)
class RuntimeLoc(Loc):
    """An action parameter supplied by the control plane."""

    index: int
    width: int
    signed: bool = False
    is_bool: bool = False

    def json(self) -> dict:
        return {"type": "runtime_data", "value": self.index}


@dataclass(eq=False)
class ValueLoc(Loc):
    """A parameter bound to a value that is not an l-value (a constant, or an expression
    already converted to JSON)."""

    expr: Any  # AST expression
    env: Any


@dataclass(eq=False)
class ExternLoc(Loc):
    name: str  # control-plane / JSON name
    etype: T.TExtern
    decl: Any
    args: dict = field(default_factory=dict)  # constructor argument values (ast exprs)


@dataclass(eq=False)
class PacketLoc(Loc):
    kind: str  # 'in' | 'out'


def as_operand(j: Any) -> Any:
    """Inside a BMv2 expression, action data is ``{"type": "local"}`` (``runtime_data`` is only
    for primitive parameters)."""
    if isinstance(j, dict) and j.get("type") == "runtime_data":
        return {"type": "local", "value": j["value"]}
    return j


def _expr(op: str, left: Any, right: Any) -> dict:
    return {
        "type": "expression",
        "value": {"op": op, "left": as_operand(left), "right": as_operand(right)},
    }


def scalar_width(t: T.Type) -> int:
    """Bits used to store a scalar of type ``t``."""
    if isinstance(t, T.TBool):
        return 1
    if isinstance(t, T.TBits):
        return t.w
    if isinstance(t, T.TEnum):
        return t.underlying.w if t.underlying else 32
    if isinstance(t, T.TNewType):
        return scalar_width(t.base)
    if isinstance(t, T.TVarbit):
        return t.max_width
    if t.__class__ is T.TEnum or getattr(t, "name", None) == "error":
        return 32
    raise CompileError.at(None, f"internal: no scalar width for {t}")


def is_signed(t: T.Type) -> bool:
    t = T.underlying(t)
    return isinstance(t, T.TBits) and t.signed


# ----------------------------------------------------------------------------- allocation
class Storage:
    """Allocates BMv2 header types and instances; hands out unique names."""

    def __init__(self) -> None:
        self.header_types: list[dict] = []
        self.headers: list[dict] = []
        self.header_stacks: list[dict] = []
        self.header_union_types: list[dict] = []
        self.header_unions: list[dict] = []
        self.scalar_fields: list[list] = []
        self._type_names: dict[int, str] = {}
        self._used_type_names: set[str] = set()
        self._instance_names: set[str] = set()
        self._scalar_names: set[str] = set()
        self._union_types: dict[int, str] = {}
        self.header_types.append({"name": "scalars_0", "id": 0, "fields": self.scalar_fields})
        self._used_type_names.add("scalars_0")
        self.headers.append(
            {
                "name": SCALARS,
                "id": 0,
                "header_type": "scalars_0",
                "metadata": True,
                "pi_omit": True,
            }
        )
        self._instance_names.add(SCALARS)

    # -- names ------------------------------------------------------------------------------
    def unique_instance(self, base: str) -> str:
        name, k = base, 0
        while name in self._instance_names:
            name = f"{base}_{k}"
            k += 1
        self._instance_names.add(name)
        return name

    def unique_scalar(self, base: str) -> str:
        name, k = base, 0
        while name in self._scalar_names:
            name = f"{base}_{k}"
            k += 1
        self._scalar_names.add(name)
        return name

    # -- header types ------------------------------------------------------------------------
    def header_type_name(self, t: T.TStructLike, pos: Pos | None = None) -> str:
        key = id(t)
        if key in self._type_names:
            return self._type_names[key]
        name = t.name
        k = 0
        while name in self._used_type_names:
            name = f"{t.name}_{k}"
            k += 1
        self._used_type_names.add(name)
        fields: list[list] = []
        entry: dict = {"name": name, "id": len(self.header_types), "fields": fields}
        total = 0
        for fname, ft in _flat_fields(t):
            if isinstance(ft, T.TVarbit):
                fields.append([fname, "*"])
                entry["max_length"] = (t.max_width() + 7) // 8
                total += ft.max_width
                continue
            w = scalar_width(ft)
            fields.append([fname, w, is_signed(ft)])
            total += w
        if t.kind == "header" and total % 8:
            raise CompileError.at(
                pos or (t.decl.pos if t.decl is not None else None),
                f"header {t.name} is {total} bits wide; BMv2 headers must be a multiple of 8 bits",
            )
        if t.kind != "header" and total % 8:
            fields.append(["_padding", 8 - total % 8, False])
        self.header_types.append(entry)
        self._type_names[key] = name
        return name

    def std_metadata_type(self, t: T.TStructLike) -> str:
        fields: list[list] = []
        total = 0
        for fname, ft in t.fields:
            w = scalar_width(ft)
            fields.append([fname, w, False])
            total += w
        if total % 8:
            fields.append(["_padding", 8 - total % 8, False])
        self.header_types.append(
            {"name": "standard_metadata", "id": len(self.header_types), "fields": fields}
        )
        self._used_type_names.add("standard_metadata")
        self._type_names[id(t)] = "standard_metadata"
        return "standard_metadata"

    # -- instances ----------------------------------------------------------------------------
    def add_instance(self, name: str, type_name: str, metadata: bool) -> int:
        hid = len(self.headers)
        self.headers.append(
            {
                "name": name,
                "id": hid,
                "header_type": type_name,
                "metadata": metadata,
                "pi_omit": True,
            }
        )
        return hid

    def new_header(
        self, base: str, t: T.TStructLike, metadata: bool = False, exact: bool = False
    ) -> HeaderLoc:
        name = base if exact else self.unique_instance(base)
        if exact:
            self._instance_names.add(name)
        tname = self.header_type_name(t)
        self.add_instance(name, tname, metadata)
        loc = HeaderLoc(name, t, {}, metadata)
        for fname, ft in _flat_fields(t):
            loc.fields[fname] = FieldLoc(
                name, fname, _w(ft), is_signed(ft), isinstance(ft, T.TBool)
            )
        return loc

    def new_stack(self, base: str, t: T.TStack) -> StackLoc:
        name = self.unique_instance(base)
        if not (isinstance(t.elem, T.TStructLike) and t.elem.kind == "header"):
            raise CompileError.at(
                None, f"{base}: stacks of header unions are not supported by this back end"
            )
        elems = [self.new_header(f"{name}[{i}]", t.elem) for i in range(t.size)]
        self.header_stacks.append(
            {
                "name": name,
                "id": len(self.header_stacks),
                "header_type": self.header_type_name(t.elem),
                "header_ids": [self._header_id(e.name) for e in elems],
            }
        )
        return StackLoc(name, t, elems)

    def new_union(self, base: str, t: T.TStructLike) -> UnionLoc:
        name = self.unique_instance(base)
        if id(t) not in self._union_types:
            self._union_types[id(t)] = t.name
            self.header_union_types.append(
                {
                    "name": t.name,
                    "id": len(self.header_union_types),
                    "headers": [[n, self.header_type_name(ft)] for n, ft in t.fields],
                }
            )
        members = {n: self.new_header(f"{name}.{n}", ft) for n, ft in t.fields}
        self.header_unions.append(
            {
                "name": name,
                "id": len(self.header_unions),
                "union_type": self._union_types[id(t)],
                "header_ids": [self._header_id(m.name) for m in members.values()],
            }
        )
        return UnionLoc(name, t, members)

    def _header_id(self, name: str) -> int:
        for h in self.headers:
            if h["name"] == name:
                return h["id"]
        raise KeyError(name)  # pragma: no cover

    def new_scalar(self, base: str, t: T.Type) -> FieldLoc:
        name = self.unique_scalar(base)
        w = scalar_width(t)
        self.scalar_fields.append([name, w, is_signed(t)])
        return FieldLoc(SCALARS, name, w, is_signed(t), isinstance(t, T.TBool))

    def alloc(self, base: str, t: T.Type, in_scalars_prefix: str | None = None) -> Loc:
        """Storage for a value of type ``t`` (locals, metadata, headers struct members)."""
        if isinstance(t, T.TStructLike):
            if t.kind == "header":
                return self.new_header(base, t)
            if t.kind == "header_union":
                return self.new_union(base, t)
            members = {n: self.alloc(f"{base}.{n}", ft) for n, ft in t.fields}
            return StructLoc(t, members)
        if isinstance(t, T.TStack):
            return self.new_stack(base, t)
        if isinstance(t, T.TTuple):
            members = {str(i): self.alloc(f"{base}.{i}", et) for i, et in enumerate(t.elems)}
            return StructLoc(t, members)
        if isinstance(t, T.TVarbit):
            raise CompileError.at(
                None, f"{base}: varbit values are only supported as header fields"
            )
        return self.new_scalar(base, t)

    def finish_scalars(self) -> None:
        total = sum(f[1] for f in self.scalar_fields)
        if total % 8:
            self.scalar_fields.append(["_padding_0", 8 - total % 8, False])


def _w(t: T.Type) -> int:
    if isinstance(t, T.TVarbit):
        return t.max_width
    return scalar_width(t)


def _flat_fields(t: T.TStructLike) -> list[tuple[str, T.Type]]:
    """Header fields; a struct-typed field of a header is flattened as ``outer.inner``."""
    out: list[tuple[str, T.Type]] = []
    for n, ft in t.fields:
        if isinstance(ft, T.TStructLike) and ft.kind == "struct":
            out.extend((f"{n}.{m}", mt) for m, mt in _flat_fields(ft))
        else:
            out.append((n, ft))
    return out
