"""P4_16 types as seen by the type checker and the back end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Type:
    """Base class. Types compare structurally where P4 does (bit<N>, int<N>, bool...) and by
    declaration otherwise (headers, structs, enums, externs)."""

    def width(self) -> int | None:
        """Bit width when the type is fixed-width serializable, else None."""
        return None

    def __str__(self) -> str:  # pragma: no cover - overridden
        return type(self).__name__


@dataclass(frozen=True)
class TBits(Type):
    w: int
    signed: bool = False

    def width(self) -> int:
        return self.w

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'bit'}<{self.w}>"

    def mask(self) -> int:
        return (1 << self.w) - 1

    def wrap(self, v: int) -> int:
        v &= self.mask()
        if self.signed and self.w and v >> (self.w - 1):
            v -= 1 << self.w
        return v


@dataclass(frozen=True)
class TVarbit(Type):
    max_width: int

    def __str__(self) -> str:
        return f"varbit<{self.max_width}>"


@dataclass(frozen=True)
class TInt(Type):
    """Arbitrary-precision integer (type of unsized literals)."""

    def __str__(self) -> str:
        return "int"


@dataclass(frozen=True)
class TBool(Type):
    def width(self) -> int:
        return 1

    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class TString(Type):
    def __str__(self) -> str:
        return "string"


@dataclass(frozen=True)
class TVoid(Type):
    def __str__(self) -> str:
        return "void"


@dataclass(frozen=True)
class TDontCare(Type):
    def __str__(self) -> str:
        return "_"


@dataclass(frozen=True)
class TError(Type):
    def __str__(self) -> str:
        return "error"


@dataclass(frozen=True)
class TMatchKind(Type):
    def __str__(self) -> str:
        return "match_kind"


@dataclass(frozen=True)
class TState(Type):
    def __str__(self) -> str:
        return "state"


@dataclass(eq=False)
class TEnum(Type):
    name: str
    members: list[str]
    underlying: TBits | None = None  # serializable enum
    values: dict[str, int] = field(default_factory=dict)
    decl: Any = None
    builtin: bool = False  # declared in core.p4/v1model.p4

    def width(self) -> int | None:
        return self.underlying.w if self.underlying else None

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class TStructLike(Type):
    kind: str  # struct, header, header_union
    name: str
    fields: list[tuple[str, Type]] = field(default_factory=list)
    decl: Any = None

    def field_type(self, name: str) -> Type | None:
        for n, t in self.fields:
            if n == name:
                return t
        return None

    def width(self) -> int | None:
        if self.kind == "header_union":
            return None
        total = 0
        for _, t in self.fields:
            w = t.width()
            if w is None:
                return None
            total += w
        return total

    def max_width(self) -> int:
        total = 0
        for _, t in self.fields:
            if isinstance(t, TVarbit):
                total += t.max_width
            elif isinstance(t, TStructLike):
                total += t.max_width()
            else:
                total += t.width() or 0
        return total

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TStack(Type):
    elem: Type
    size: int

    def __str__(self) -> str:
        return f"{self.elem}[{self.size}]"


@dataclass(frozen=True)
class TTuple(Type):
    elems: tuple[Type, ...]

    def __str__(self) -> str:
        return "tuple<" + ", ".join(str(e) for e in self.elems) + ">"


@dataclass(frozen=True)
class TList(Type):
    """Type of a list expression ``{a, b}`` before it meets its context."""

    elems: tuple[Type, ...]

    def __str__(self) -> str:
        return "list<" + ", ".join(str(e) for e in self.elems) + ">"


@dataclass(frozen=True)
class TStructExpr(Type):
    """Type of ``{a = 1, b = 2}`` before it meets its context."""

    fields: tuple[tuple[str, Type], ...]

    def __str__(self) -> str:
        return "{" + ", ".join(f"{n}: {t}" for n, t in self.fields) + "}"


@dataclass(eq=False)
class TNewType(Type):
    """``type bit<N> Name``: a distinct type over ``base``."""

    name: str
    base: Type
    decl: Any = None

    def width(self) -> int | None:
        return self.base.width()

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TVar(Type):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class TExtern(Type):
    decl: Any
    args: tuple[Type, ...] = ()

    @property
    def name(self) -> str:
        return self.decl.name

    def __str__(self) -> str:
        if self.args:
            return f"{self.decl.name}<{', '.join(map(str, self.args))}>"
        return self.decl.name


@dataclass(eq=False)
class TBlock(Type):
    """A parser, control or package type (a declaration or a prototype)."""

    kind: str
    decl: Any
    args: tuple[Type, ...] = ()

    @property
    def name(self) -> str:
        return self.decl.name

    def __str__(self) -> str:
        return self.decl.name


@dataclass(eq=False)
class TTable(Type):
    decl: Any

    def __str__(self) -> str:
        return f"table {self.decl.name}"


@dataclass(eq=False)
class TAction(Type):
    decl: Any

    def __str__(self) -> str:
        return f"action {self.decl.name}"


@dataclass(eq=False)
class TActionRun(Type):
    """Type of ``t.apply().action_run`` (an enum of the table's actions)."""

    table: Any

    def __str__(self) -> str:
        return f"action_list({self.table.name})"


@dataclass(eq=False)
class TApplyResult(Type):
    table: Any

    def __str__(self) -> str:
        return "apply_result"


@dataclass(eq=False)
class TFunction(Type):
    decl: Any

    def __str__(self) -> str:
        return f"function {self.decl.name}"


@dataclass(eq=False)
class TMethod(Type):
    """A method of an extern instance (or of a built-in type) before it is called."""

    name: str
    owner: Type | None
    decls: list[Any] = field(default_factory=list)
    builtin: str | None = None  # e.g. 'isValid', 'push_front', 'apply'

    def __str__(self) -> str:
        return f"method {self.name}"


@dataclass(eq=False)
class TTypeType(Type):
    """The type of an expression naming a type (``error``, an enum, a header type...)."""

    of: Type

    def __str__(self) -> str:
        return f"type {self.of}"


@dataclass(frozen=True)
class TSet(Type):
    """Type of keyset expressions (masks, ranges, value sets)."""

    elem: Type

    def __str__(self) -> str:
        return f"set<{self.elem}>"


BOOL = TBool()
INT = TInt()
STRING = TString()
VOID = TVoid()
ERROR = TError()
DONTCARE = TDontCare()
MATCH_KIND = TMatchKind()
STATE = TState()


def is_integral(t: Type) -> bool:
    return isinstance(t, (TBits, TInt))


def same_type(a: Type, b: Type) -> bool:
    if a is b:
        return True
    if isinstance(a, (TBits, TVarbit, TBool, TInt, TString, TVoid, TError, TMatchKind)):
        return a == b
    if isinstance(a, TStack) and isinstance(b, TStack):
        return a.size == b.size and same_type(a.elem, b.elem)
    if isinstance(a, TTuple) and isinstance(b, TTuple):
        return len(a.elems) == len(b.elems) and all(
            same_type(x, y) for x, y in zip(a.elems, b.elems, strict=True)
        )
    if isinstance(a, TExtern) and isinstance(b, TExtern):
        return a.decl is b.decl and all(
            same_type(x, y) for x, y in zip(a.args, b.args, strict=False)
        )
    return False


def serializable_width(t: Type) -> int | None:
    """Width of a bit-level value (bits, ints, bool, serializable enum, new type)."""
    if isinstance(t, (TBits, TBool)):
        return t.width()
    if isinstance(t, TEnum) and t.underlying:
        return t.underlying.w
    if isinstance(t, TNewType):
        return serializable_width(t.base)
    return None


def underlying(t: Type) -> Type:
    """Strip new types and serializable enums down to their bit representation."""
    while True:
        if isinstance(t, TNewType):
            t = t.base
        elif isinstance(t, TEnum) and t.underlying is not None:
            t = t.underlying
        else:
            return t
