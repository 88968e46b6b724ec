"""Scopes, name resolution and resolution of type syntax (first layer of the type checker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import ast as A
from . import types as T
from .diagnostics import CompileError, Pos
from .values import EnumVal, ErrorVal, MatchKindVal


@dataclass(eq=False)
class Overloads:
    """Several functions/methods sharing a name (resolved by argument count)."""

    name: str
    decls: list[Any] = field(default_factory=list)


@dataclass(eq=False)
class TypeParam:
    name: str
    pos: Pos


@dataclass(eq=False)
class BuiltinConst:
    """A name bound to a constant value (match kinds, accept/reject states)."""

    name: str
    type: T.Type
    value: Any


class Scope:
    def __init__(self, parent: Scope | None = None, kind: str = "block", owner: Any = None):
        self.parent = parent
        self.names: dict[str, Any] = {}
        self.kind = kind
        self.owner = owner

    def lookup(self, name: str) -> Any:
        s: Scope | None = self
        while s is not None:
            if name in s.names:
                return s.names[name]
            s = s.parent
        return None

    def root(self) -> Scope:
        s = self
        while s.parent is not None:
            s = s.parent
        return s

    def enclosing(self, kind: str) -> Scope | None:
        s: Scope | None = self
        while s is not None:
            if s.kind == kind:
                return s
            s = s.parent
        return None


def err(pos: Pos | None, msg: str) -> CompileError:
    return CompileError.at(pos, msg)


class TypeResolver:
    """Resolves names and type syntax. Subclassed by the expression and block checkers."""

    def __init__(self) -> None:
        self.globals = Scope(kind="global")
        self.errors: list[str] = []
        #: ``(file, line, column, message)`` of each use of an extension p4c refuses
        self.warnings: list[tuple[str, int, int, str]] = []
        self.error_type = T.TEnum("error", [])
        self.match_kinds: list[str] = []
        self.struct_types: dict[int, T.TStructLike] = {}
        self.enum_types: dict[int, T.TEnum] = {}
        self.typedefs: dict[int, T.Type] = {}
        self.builtin_files: set[str] = set()
        self.tracker: dict = {"pos": None}
        for st in ("accept", "reject"):
            self.globals.names[st] = BuiltinConst(st, T.STATE, st)

    # -- declaring names -----------------------------------------------------------------------
    def declare(self, scope: Scope, name: str, decl: Any, pos: Pos) -> None:
        old = scope.names.get(name)
        if old is not None:
            if isinstance(decl, A.FunctionDecl) and isinstance(old, (A.FunctionDecl, Overloads)):
                ov = old if isinstance(old, Overloads) else Overloads(name, [old])
                if any(len(d.params) == len(decl.params) for d in ov.decls):
                    raise err(pos, f"{name}: duplicate declaration")
                ov.decls.append(decl)
                scope.names[name] = ov
                return
            raise err(pos, f"{name}: duplicate declaration")
        scope.names[name] = decl

    def lookup(self, scope: Scope, name: str, pos: Pos, absolute: bool = False) -> Any:
        d = (self.globals if absolute else scope).lookup(name)
        if d is None:
            raise err(pos, f"{name}: declaration not found")
        return d

    # -- type syntax -----------------------------------------------------------------------------
    def resolve_type(
        self, ref: A.TypeRef | None, scope: Scope, subst: dict | None = None
    ) -> T.Type:
        if ref is None:
            return T.VOID
        t = self._resolve_type(ref, scope, subst or {})
        ref.resolved = t
        return t

    def _resolve_type(self, ref: A.TypeRef, scope: Scope, subst: dict) -> T.Type:
        if isinstance(ref, A.BitType):
            if ref.width is None:
                return T.TBits(1, False)
            w = self.const_int(ref.width, scope, "width")
            if w <= 0 and not (w == 0 and not ref.signed):
                raise err(ref.width.pos, f"invalid width {w}: widths must be positive")
            if w > 2048:
                raise err(ref.width.pos, f"width {w} is too large")
            return T.TBits(w, ref.signed)
        if isinstance(ref, A.VarbitType):
            w = self.const_int(ref.width, scope, "width")
            if w <= 0:
                raise err(ref.width.pos, f"invalid varbit width {w}")
            return T.TVarbit(w)
        if isinstance(ref, A.BaseType):
            return {
                "bool": T.BOOL,
                "error": self.error_type,
                "string": T.STRING,
                "void": T.VOID,
                "match_kind": T.MATCH_KIND,
                "int": T.INT,
                "_": T.DONTCARE,
            }[ref.name]
        if isinstance(ref, A.TupleType):
            return T.TTuple(tuple(self.resolve_type(a, scope, subst) for a in ref.args))
        if isinstance(ref, A.StackType):
            elem = self.resolve_type(ref.elem, scope, subst)
            size = self.const_int(ref.size, scope, "stack size")
            if size <= 0:
                raise err(ref.size.pos, f"header stack size must be positive, not {size}")
            if not (isinstance(elem, T.TStructLike) and elem.kind in ("header", "header_union")):
                raise err(
                    ref.pos, f"header stack element must be a header or header_union, not {elem}"
                )
            return T.TStack(elem, size)
        assert isinstance(ref, A.NamedType)
        if ref.name in subst and not ref.absolute:
            return subst[ref.name]
        d = self.lookup(scope, ref.name, ref.pos, ref.absolute)
        args = tuple(self.resolve_type(a, scope, subst) for a in ref.args)
        return self.type_of_type_decl(d, ref.pos, args, ref.name)

    def type_of_type_decl(self, d: Any, pos: Pos, args: tuple = (), name: str = "") -> T.Type:
        if isinstance(d, TypeParam):
            return T.TVar(d.name)
        if isinstance(d, A.StructLikeDecl):
            return self.struct_type(d)
        if isinstance(d, A.EnumDecl):
            return self.enum_types[id(d)]
        if isinstance(d, A.TypedefDecl):
            return self.typedefs[id(d)]
        if isinstance(d, A.ExternDecl):
            if args and len(args) > len(d.type_params):
                # p4c's wording (e.g. register<bit<32>, bit<32>> against v1model 20180101)
                shown = f"{name or d.name}<{', '.join(str(a) for a in args)}>"
                raise err(
                    pos,
                    f"{shown}: Type {d.name} has {len(d.type_params)} type parameter(s), "
                    f"but it is specialized with {len(args)}",
                )
            # missing trailing type arguments (register<bit<32>> with register<T, I>) are
            # inferred from the method calls, as p4c does
            return T.TExtern(
                d,
                tuple(args) + tuple(T.TVar(p) for p in d.type_params[len(args) :])
                if args
                else args,
            )
        if isinstance(d, (A.ParserDecl, A.ControlDecl, A.BlockTypeDecl)):
            kind = (
                d.kind
                if isinstance(d, A.BlockTypeDecl)
                else ("parser" if isinstance(d, A.ParserDecl) else "control")
            )
            return T.TBlock(kind, d, args)
        if isinstance(d, A.ErrorDecl):
            return self.error_type
        raise err(pos, f"{name or getattr(d, 'name', '?')} is not a type")

    def struct_type(self, d: A.StructLikeDecl) -> T.TStructLike:
        t = self.struct_types.get(id(d))
        if t is None:
            raise err(d.pos, f"{d.name}: type used before its declaration is complete")
        return t

    def const_int(self, e: A.Expr, scope: Scope, what: str) -> int:
        self.check_expr(e, scope)
        v = e.const
        if isinstance(v, bool) or not isinstance(v, int):
            raise err(e.pos, f"{what} must be a compile-time constant integer")
        return v

    # -- type declarations -------------------------------------------------------------------------
    def declare_struct(self, d: A.StructLikeDecl, scope: Scope) -> None:
        t = T.TStructLike(d.kind, d.name, [], d)
        self.declare(scope, d.name, d, d.pos)
        self.struct_types[id(d)] = t
        seen: set[str] = set()
        inner = Scope(scope, "type")
        for p in d.type_params:
            inner.names[p] = TypeParam(p, d.pos)
        for f in d.fields:
            if f.name in seen:
                raise err(f.pos, f"{f.name}: duplicate field in {d.name}")
            seen.add(f.name)
            ft = self.resolve_type(f.ftype, inner)
            self._check_field_type(d, f, ft)
            f.type = ft
            t.fields.append((f.name, ft))
        if d.kind == "header":
            varbits = [n for n, ft in t.fields if isinstance(ft, T.TVarbit)]
            if len(varbits) > 1:
                raise err(d.pos, f"header {d.name} has more than one varbit field")

    def _check_field_type(self, d: A.StructLikeDecl, f: A.Field, ft: T.Type) -> None:
        base = T.underlying(ft)
        if d.kind == "header":
            if not isinstance(base, (T.TBits, T.TVarbit, T.TBool)):
                if not (isinstance(ft, T.TStructLike) and ft.kind == "struct"):
                    raise err(
                        f.pos,
                        f"{f.name}: header fields must be bit<>, int<>, varbit<>, bool or serializable enum, not {ft}",
                    )
        elif d.kind == "header_union":
            if not (isinstance(ft, T.TStructLike) and ft.kind == "header"):
                raise err(f.pos, f"{f.name}: header_union members must be headers, not {ft}")

    def declare_enum(self, d: A.EnumDecl, scope: Scope) -> None:
        underlying = None
        if d.underlying is not None:
            u = self.resolve_type(d.underlying, scope)
            if not isinstance(u, T.TBits):
                raise err(
                    d.underlying.pos, f"enum {d.name}: underlying type must be bit<> or int<>"
                )
            underlying = u
        t = T.TEnum(d.name, [m.name for m in d.members], underlying, {}, d)
        t.builtin = d.pos.file in self.builtin_files
        if len(set(t.members)) != len(t.members):
            raise err(d.pos, f"enum {d.name} has duplicate members")
        if underlying is not None:
            for m in d.members:
                if m.value is None:
                    raise err(m.pos, f"{m.name}: serializable enum members need a value")
                self.check_expr(m.value, scope)
                v = m.value.const
                if not isinstance(v, int) or isinstance(v, bool):
                    raise err(m.value.pos, f"{m.name}: enum value must be a compile-time constant")
                t.values[m.name] = underlying.wrap(v)
        self.enum_types[id(d)] = t
        self.declare(scope, d.name, d, d.pos)

    def declare_typedef(self, d: A.TypedefDecl, scope: Scope) -> None:
        base = self.resolve_type(d.target, scope)
        if d.newtype:
            if isinstance(base, (T.TStructLike, T.TStack, T.TExtern)):
                raise err(d.pos, f"type {d.name}: only base types may be given a new type")
            t: T.Type = T.TNewType(d.name, base, d)
        else:
            t = base
        self.typedefs[id(d)] = t
        self.declare(scope, d.name, d, d.pos)

    def declare_errors(self, d: A.ErrorDecl) -> None:
        for m in d.members:
            if m.name in self.errors:
                raise err(m.pos, f"error.{m.name}: duplicate declaration")
            self.errors.append(m.name)
            self.error_type.members.append(m.name)

    def declare_match_kinds(self, d: A.MatchKindDecl, scope: Scope) -> None:
        for m in d.members:
            if m.name in self.match_kinds:
                raise err(m.pos, f"{m.name}: duplicate match_kind")
            self.match_kinds.append(m.name)
            self.declare(
                scope, m.name, BuiltinConst(m.name, T.MATCH_KIND, MatchKindVal(m.name)), m.pos
            )

    # -- members of type-valued expressions ---------------------------------------------------------
    def type_member(self, t: T.Type, name: str, pos: Pos) -> tuple[T.Type, Any]:
        """``Enum.member`` / ``error.member``: returns (type, constant value)."""
        if t is self.error_type:
            if name not in self.errors:
                raise err(pos, f"error.{name}: declaration not found")
            return self.error_type, ErrorVal(name)
        if isinstance(t, T.TEnum):
            if name not in t.members:
                raise err(pos, f"{t.name}.{name}: no such enum member")
            return t, EnumVal(t, name, t.values.get(name))
        raise err(pos, f"{t} has no member {name}")

    # implemented by the expression checker
    def check_expr(self, e: A.Expr, scope: Scope, expected: T.Type | None = None) -> T.Type:
        raise NotImplementedError
