"""Abstract syntax tree of P4_16 programs, with source positions.

Expression nodes carry two slots filled by the type checker: ``type`` (a ``types.Type``) and
``const`` (the compile-time value, when the expression is constant). Name references carry
``decl``, the declaration they resolve to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .diagnostics import Pos


@dataclass(eq=False)
class Node:
    pos: Pos


@dataclass(eq=False)
class Annotation(Node):
    name: str
    body: list[Any] = field(default_factory=list)  # raw tokens
    args: list[Any] | None = None  # parsed expressions, when the body parses as a list
    kv: dict[str, Any] | None = None  # key=value annotations (@pkginfo)

    def string_arg(self) -> str | None:
        if self.args and len(self.args) == 1 and isinstance(self.args[0], StringLit):
            return self.args[0].value
        return None


def find_annotation(annotations: list[Annotation], name: str) -> Annotation | None:
    for a in annotations:
        if a.name == name:
            return a
    return None


# ----------------------------------------------------------------------------- types (syntax)
@dataclass(eq=False)
class TypeRef(Node):
    """Syntax of a type; ``resolved`` is filled by the checker."""

    def __post_init__(self) -> None:
        self.resolved = None


@dataclass(eq=False)
class NamedType(TypeRef):
    name: str
    args: list[TypeRef] = field(default_factory=list)
    absolute: bool = False


@dataclass(eq=False)
class BitType(TypeRef):
    width: Expr | None  # None: bit without width means bit<1>
    signed: bool = False


@dataclass(eq=False)
class VarbitType(TypeRef):
    width: Expr


@dataclass(eq=False)
class BaseType(TypeRef):
    name: str  # bool, error, string, int, void, match_kind, packet?, _


@dataclass(eq=False)
class TupleType(TypeRef):
    args: list[TypeRef]


@dataclass(eq=False)
class StackType(TypeRef):
    elem: TypeRef
    size: Expr


# ----------------------------------------------------------------------------- expressions
@dataclass(eq=False)
class Expr(Node):
    def __post_init__(self) -> None:
        self.type = None
        self.const = None


@dataclass(eq=False)
class IntLit(Expr):
    value: int
    width: int | None = None
    signed: bool = False
    text: str = ""


@dataclass(eq=False)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False)
class StringLit(Expr):
    value: str


@dataclass(eq=False)
class PathExpr(Expr):
    name: str
    absolute: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.decl = None


@dataclass(eq=False)
class Member(Expr):
    expr: Expr | TypeRef
    name: str
    name_pos: Pos | None = None


@dataclass(eq=False)
class Index(Expr):
    expr: Expr
    index: Expr


@dataclass(eq=False)
class Slice(Expr):
    expr: Expr
    hi: Expr
    lo: Expr


@dataclass(eq=False)
class Argument(Node):
    value: Expr | None  # None: don't care '_'
    name: str | None = None


@dataclass(eq=False)
class Call(Expr):
    target: Expr
    type_args: list[TypeRef]
    args: list[Argument]


@dataclass(eq=False)
class Unary(Expr):
    op: str  # '!', '~', '-', '+'
    expr: Expr


@dataclass(eq=False)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Ternary(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass(eq=False)
class Cast(Expr):
    to: TypeRef
    expr: Expr


@dataclass(eq=False)
class ListExpr(Expr):
    items: list[Expr]


@dataclass(eq=False)
class StructExpr(Expr):
    items: list[tuple[str, Expr]]
    type_name: TypeRef | None = None


@dataclass(eq=False)
class Mask(Expr):
    value: Expr
    mask: Expr


@dataclass(eq=False)
class RangeExpr(Expr):
    lo: Expr
    hi: Expr


@dataclass(eq=False)
class DefaultExpr(Expr):
    """``default`` or ``_`` in keysets."""

    dont_care: bool = False


@dataclass(eq=False)
class TypeExpr(Expr):
    """A type used where an expression is expected (``error.X``, ``Enum.X``, ``hdr_t.minSizeInBits()``)."""

    ref: TypeRef


@dataclass(eq=False)
class ConstructorCall(Expr):
    ctype: TypeRef
    args: list[Argument]


# ----------------------------------------------------------------------------- statements
@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class Assign(Stmt):
    lhs: Expr
    rhs: Expr


@dataclass(eq=False)
class CallStmt(Stmt):
    call: Call


@dataclass(eq=False)
class If(Stmt):
    cond: Expr
    then: Stmt
    other: Stmt | None


@dataclass(eq=False)
class SwitchCase(Node):
    labels: list[Expr | None]  # None: default
    body: Block | None  # None: fall-through to next case


@dataclass(eq=False)
class Switch(Stmt):
    expr: Expr
    cases: list[SwitchCase]


@dataclass(eq=False)
class Block(Stmt):
    stmts: list[Stmt]
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class Exit(Stmt):
    pass


@dataclass(eq=False)
class Return(Stmt):
    value: Expr | None


@dataclass(eq=False)
class Empty(Stmt):
    pass


@dataclass(eq=False)
class SelectCase(Node):
    keyset: Expr
    state: str
    state_pos: Pos


@dataclass(eq=False)
class Select(Expr):
    keys: list[Expr]
    cases: list[SelectCase]


@dataclass(eq=False)
class Transition(Stmt):
    target: str | Select  # state name or select expression


# ----------------------------------------------------------------------------- declarations
@dataclass(eq=False)
class Decl(Node):
    name: str
    annotations: list[Annotation] = field(default_factory=list)

    def anno(self, name: str) -> Annotation | None:
        return find_annotation(self.annotations, name)


@dataclass(eq=False)
class Param(Decl):
    direction: str = ""  # '', 'in', 'out', 'inout'
    ptype: TypeRef | None = None
    default: Expr | None = None


@dataclass(eq=False)
class VarDecl(Decl, Stmt):
    vtype: TypeRef | None = None
    init: Expr | None = None


@dataclass(eq=False)
class ConstDecl(Decl, Stmt):
    ctype: TypeRef | None = None
    value: Expr | None = None


@dataclass(eq=False)
class Field(Decl):
    ftype: TypeRef | None = None


@dataclass(eq=False)
class StructLikeDecl(Decl):
    kind: str = "struct"  # struct, header, header_union
    fields: list[Field] = field(default_factory=list)
    type_params: list[str] = field(default_factory=list)


@dataclass(eq=False)
class EnumMember(Decl):
    value: Expr | None = None


@dataclass(eq=False)
class EnumDecl(Decl):
    members: list[EnumMember] = field(default_factory=list)
    underlying: TypeRef | None = None


@dataclass(eq=False)
class ErrorDecl(Decl):
    members: list[EnumMember] = field(default_factory=list)


@dataclass(eq=False)
class MatchKindDecl(Decl):
    members: list[EnumMember] = field(default_factory=list)


@dataclass(eq=False)
class TypedefDecl(Decl):
    target: TypeRef | None = None
    newtype: bool = False  # 'type' declaration


@dataclass(eq=False)
class MethodDecl(Decl):
    ret: TypeRef | None = None  # None for constructors
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    abstract: bool = False


@dataclass(eq=False)
class ExternDecl(Decl):
    type_params: list[str] = field(default_factory=list)
    methods: list[MethodDecl] = field(default_factory=list)


@dataclass(eq=False)
class FunctionDecl(Decl):
    """A function, or an extern function when ``body`` is None."""

    ret: TypeRef | None = None
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    body: Block | None = None


@dataclass(eq=False)
class ActionDecl(Decl):
    params: list[Param] = field(default_factory=list)
    body: Block | None = None


@dataclass(eq=False)
class BlockTypeDecl(Decl):
    """Parser/control/package prototypes (``parser P<H>(...);``)."""

    kind: str = "parser"
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)


@dataclass(eq=False)
class Instance(Decl, Stmt):
    itype: TypeRef | None = None
    args: list[Argument] = field(default_factory=list)


@dataclass(eq=False)
class ValueSetDecl(Decl):
    etype: TypeRef | None = None
    size: Expr | None = None


@dataclass(eq=False)
class StateDecl(Decl):
    stmts: list[Stmt] = field(default_factory=list)
    transition: Transition | None = None


@dataclass(eq=False)
class ParserDecl(Decl):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ctor_params: list[Param] = field(default_factory=list)
    locals: list[Decl] = field(default_factory=list)
    states: list[StateDecl] = field(default_factory=list)


@dataclass(eq=False)
class KeyElement(Node):
    expr: Expr
    match_kind: str
    mk_pos: Pos
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class ActionRef(Node):
    call: Expr  # PathExpr or Call
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class Entry(Node):
    keys: list[Expr]
    action: Expr
    priority: Expr | None = None
    annotations: list[Annotation] = field(default_factory=list)
    is_const: bool = False


@dataclass(eq=False)
class TableProperty(Node):
    name: str
    value: Any  # list[KeyElement] | list[ActionRef] | list[Entry] | Expr
    is_const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass(eq=False)
class TableDecl(Decl):
    properties: list[TableProperty] = field(default_factory=list)

    def prop(self, name: str) -> TableProperty | None:
        for p in self.properties:
            if p.name == name:
                return p
        return None


@dataclass(eq=False)
class ControlDecl(Decl):
    type_params: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    ctor_params: list[Param] = field(default_factory=list)
    locals: list[Decl] = field(default_factory=list)
    body: Block | None = None


@dataclass(eq=False)
class Program(Node):
    decls: list[Decl]
