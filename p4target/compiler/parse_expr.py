"""Recursive-descent parsing of P4_16 types, expressions and annotations (the token-level base
of ``parser.Parser``)."""

from __future__ import annotations

from . import ast as A
from .diagnostics import CompileError, Pos
from .lexer import Token

# P4_16 binary operator precedence, lowest first (p4c's grammar: bitwise operators bind tighter
# than comparisons, unlike C).
BINARY_LEVELS: list[tuple[str, ...]] = [
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", ">", "<=", ">="),
    ("|",),
    ("^",),
    ("&",),
    ("<<", ">>"),
    ("++", "+", "-", "|+|", "|-|"),
    ("*", "/", "%"),
]
BASE_TYPE_KEYWORDS = {"bool", "error", "string", "void", "match_kind"}


class TokenStream:
    def __init__(self, tokens: list[Token]):
        self.toks = tokens
        self.i = 0
        self.type_names: set[str] = set()
        self.type_scopes: list[set[str]] = []

    # -- token helpers ------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[min(self.i, len(self.toks) - 1)]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def at(self, *kinds: str) -> bool:
        return self.tok.kind in kinds

    def accept(self, kind: str) -> Token | None:
        if self.tok.kind == kind:
            t = self.tok
            self.i += 1
            return t
        return None

    def expect(self, kind: str, what: str | None = None) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what or repr(kind)}")
        t = self.tok
        self.i += 1
        return t

    def error(self, message: str, tok: Token | None = None) -> CompileError:
        t = tok or self.tok
        found = "end of file" if t.kind == "EOF" else f"'{t.text}'"
        return CompileError.at(t.pos, f"syntax error: {message}, found {found}")

    def ident(self, what: str = "an identifier") -> Token:
        """An identifier; some contextual keywords may be used as names."""
        if self.tok.kind == "ID" or self.tok.kind in (
            "apply",
            "key",
            "actions",
            "entries",
            "state",
            "type",
        ):
            t = self.tok
            self.i += 1
            return t
        raise self.error(f"expected {what}")

    def is_type_name(self, name: str) -> bool:
        return name in self.type_names or any(name in s for s in self.type_scopes)

    def shift_right_here(self) -> bool:
        """Two adjacent '>' tokens form a '>>' operator."""
        a, b = self.tok, self.peek()
        return (
            a.kind == ">"
            and b.kind == ">"
            and a.pos.line == b.pos.line
            and a.pos.file == b.pos.file
            and b.pos.col == a.pos.col + 1
        )


class ExprParser(TokenStream):
    # -- annotations ------------------------------------------------------------------------------
    def annotations(self) -> list[A.Annotation]:
        out: list[A.Annotation] = []
        while self.at("@"):
            at = self.expect("@")
            name_tok = self.tok
            if name_tok.kind == "EOF" or (name_tok.kind != "ID" and not name_tok.kind.isalpha()):
                raise self.error("expected an annotation name")
            self.i += 1
            anno = A.Annotation(at.pos, name_tok.text)
            if self.at("(") and self.tok.pos.line == name_tok.pos.line:
                start = self.i
                self.expect("(")
                depth = 1
                body: list[Token] = []
                while depth:
                    t = self.tok
                    if t.kind == "EOF":
                        raise self.error("unterminated annotation")
                    depth += t.kind == "("
                    depth -= t.kind == ")"
                    if depth:
                        body.append(t)
                    self.i += 1
                anno.body = body
                end = self.i
                anno.args, anno.kv = self._annotation_args(start + 1, end - 1)
            elif self.at("[") and self.tok.pos.line == name_tok.pos.line:
                depth = 0
                while True:
                    depth += self.tok.kind == "["
                    depth -= self.tok.kind == "]"
                    self.i += 1
                    if depth == 0:
                        break
            out.append(anno)
        return out

    def _annotation_args(self, start: int, end: int) -> tuple[list | None, dict | None]:
        """Try to read an annotation body as an expression list or key=value list."""
        saved = self.i
        sub = ExprParser(self.toks[start:end] + [Token("EOF", "", self.toks[end].pos)])
        sub.type_names = self.type_names
        try:
            if sub.at("EOF"):
                return [], None
            if sub.tok.kind == "ID" and sub.peek().kind == "=":
                kv: dict[str, A.Expr] = {}
                while True:
                    k = sub.ident().text
                    sub.expect("=")
                    kv[k] = sub.expression()
                    if not sub.accept(","):
                        break
                return None, kv if sub.at("EOF") else None
            args = [sub.expression()]
            while sub.accept(","):
                args.append(sub.expression())
            return (args if sub.at("EOF") else None), None
        except CompileError:
            return None, None
        finally:
            self.i = saved

    # -- types ----------------------------------------------------------------------------------
    def starts_type(self) -> bool:
        t = self.tok
        if t.kind in ("bit", "int", "varbit", "tuple") or t.kind in BASE_TYPE_KEYWORDS:
            return True
        if t.kind == "." and self.peek().kind == "ID":
            return self.is_type_name(self.peek().text)
        return t.kind == "ID" and self.is_type_name(t.text)

    def type_ref(self) -> A.TypeRef:
        t = self.tok
        base: A.TypeRef
        if t.kind in ("bit", "int"):
            self.i += 1
            signed = t.kind == "int"
            if self.accept("<"):
                width = self._width_expr()
                self.expect(">")
                base = A.BitType(t.pos, width, signed)
            elif signed:
                base = A.BaseType(t.pos, "int")
            else:
                base = A.BitType(t.pos, None, False)
        elif t.kind == "varbit":
            self.i += 1
            self.expect("<")
            width = self._width_expr()
            self.expect(">")
            base = A.VarbitType(t.pos, width)
        elif t.kind in BASE_TYPE_KEYWORDS:
            self.i += 1
            base = A.BaseType(t.pos, t.kind)
        elif t.kind == "tuple":
            self.i += 1
            self.expect("<")
            base = A.TupleType(t.pos, self.type_args())
        elif t.kind == "ID" and t.text == "_":
            self.i += 1
            base = A.BaseType(t.pos, "_")
        elif t.kind in ("ID", "."):
            absolute = bool(self.accept("."))
            name = self.ident("a type name")
            args: list[A.TypeRef] = []
            if self.at("<") and self._looks_like_type_args():
                self.expect("<")
                args = self.type_args()
            base = A.NamedType(name.pos, name.text, args, absolute)
        else:
            raise self.error("expected a type")
        while self.at("[") and not self.peek().kind == "]":
            lb = self.expect("[")
            size = self.expression()
            self.expect("]")
            base = A.StackType(lb.pos, base, size)
        return base

    def type_args(self) -> list[A.TypeRef]:
        """After '<': a comma-separated list of types, then '>'."""
        args = [self.type_ref()]
        while self.accept(","):
            args.append(self.type_ref())
        self.expect(">", "'>'")
        return args

    def _width_expr(self) -> A.Expr:
        t = self.tok
        if t.kind == "INT":
            self.i += 1
            v, w, s = t.value
            return A.IntLit(t.pos, v, w, s, t.text)
        if t.kind == "(":
            self.i += 1
            e = self.expression()
            self.expect(")")
            return e
        if t.kind == "ID":
            self.i += 1
            return A.PathExpr(t.pos, t.text)
        raise self.error("expected a width")

    def _looks_like_type_args(self) -> bool:
        """At '<': does a list of types followed by '>' start here? (no side effects)"""
        saved = self.i
        try:
            self.expect("<")
            if not (self.starts_type() or (self.tok.kind == "ID" and self.tok.text == "_")):
                return False
            self.type_args()
            return True
        except CompileError:
            return False
        finally:
            self.i = saved

    # -- expressions ------------------------------------------------------------------------------
    def expression(self) -> A.Expr:
        cond = self.binary(0)
        if self.at("?"):
            q = self.expect("?")
            a = self.expression()
            self.expect(":")
            b = self.expression()
            return A.Ternary(q.pos, cond, a, b)
        return cond

    def binary(self, level: int) -> A.Expr:
        if level == len(BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = BINARY_LEVELS[level]
        while True:
            if ">>" in ops and self.shift_right_here():
                t = self.tok
                self.i += 2
                op = ">>"
            elif self.tok.kind in ops:
                if self.tok.kind == ">" and self.shift_right_here():
                    break
                t = self.tok
                self.i += 1
                op = t.kind
            else:
                break
            right = self.binary(level + 1)
            left = A.Binary(t.pos, op, left, right)
        return left

    def unary(self) -> A.Expr:
        t = self.tok
        if t.kind in ("!", "~", "-", "+"):
            self.i += 1
            return A.Unary(t.pos, t.kind, self.unary())
        if t.kind == "(" and self._is_cast():
            self.i += 1
            to = self.type_ref()
            self.expect(")")
            return A.Cast(t.pos, to, self.unary())
        return self.postfix(self.primary())

    def _is_cast(self) -> bool:
        saved = self.i
        try:
            self.i += 1
            if not self.starts_type():
                return False
            if self.tok.kind == "ID" and self.peek().kind == ".":
                return False
            self.type_ref()
            return self.at(")")
        except CompileError:
            return False
        finally:
            self.i = saved

    def primary(self) -> A.Expr:
        t = self.tok
        if t.kind == "INT":
            self.i += 1
            v, w, s = t.value
            return A.IntLit(t.pos, v, w, s, t.text)
        if t.kind == "STR":
            self.i += 1
            return A.StringLit(t.pos, t.value)
        if t.kind in ("true", "false"):
            self.i += 1
            return A.BoolLit(t.pos, t.kind == "true")
        if t.kind == "(":
            self.i += 1
            e = self.expression()
            self.expect(")")
            return e
        if t.kind == "{":
            return self.brace_expression()
        if t.kind == "error" or (t.kind in ("bit", "int", "varbit")):
            ref = self.type_ref()
            return A.TypeExpr(t.pos, ref)
        if t.kind == "this":
            self.i += 1
            return A.PathExpr(t.pos, "this")
        if t.kind == "." and self.peek().kind == "ID":
            self.i += 1
            name = self.ident()
            return A.PathExpr(t.pos, name.text, absolute=True)
        if t.kind == "ID" or t.kind in ("apply", "key", "actions", "entries", "state", "type"):
            self.i += 1
            if self.is_type_name(t.text) and self.at("<") and self._looks_like_type_args():
                self.expect("<")
                args = self.type_args()
                return A.TypeExpr(t.pos, A.NamedType(t.pos, t.text, args))
            return A.PathExpr(t.pos, t.text)
        raise self.error("expected an expression")

    def brace_expression(self) -> A.Expr:
        lb = self.expect("{")
        if self.accept("}"):
            return A.ListExpr(lb.pos, [])
        if self.tok.kind == "ID" and self.peek().kind == "=":
            items: list[tuple[str, A.Expr]] = []
            while True:
                name = self.ident().text
                self.expect("=")
                items.append((name, self.expression()))
                if not self.accept(","):
                    break
                if self.at("}"):
                    break
            self.expect("}", "'}'")
            return A.StructExpr(lb.pos, items)
        elems = [self.expression()]
        while self.accept(","):
            if self.at("}"):
                break
            elems.append(self.expression())
        self.expect("}", "'}'")
        return A.ListExpr(lb.pos, elems)

    def postfix(self, e: A.Expr) -> A.Expr:
        while True:
            t = self.tok
            if t.kind == ".":
                self.i += 1
                name = self.ident("a member name")
                e = A.Member(e.pos, e, name.text, name.pos)
            elif t.kind == "[":
                self.i += 1
                idx = self.expression()
                if self.accept(":"):
                    lo = self.expression()
                    self.expect("]")
                    e = A.Slice(e.pos, e, idx, lo)
                else:
                    self.expect("]")
                    e = A.Index(e.pos, e, idx)
            elif t.kind == "(":
                e = A.Call(e.pos, e, [], self.arguments())
            elif t.kind == "<" and self._generic_call_here():
                self.expect("<")
                targs = self.type_args()
                e = A.Call(e.pos, e, targs, self.arguments())
            else:
                return e

    def _generic_call_here(self) -> bool:
        saved = self.i
        try:
            if not self._looks_like_type_args():
                return False
            self.expect("<")
            self.type_args()
            return self.at("(")
        except CompileError:
            return False
        finally:
            self.i = saved

    def arguments(self) -> list[A.Argument]:
        self.expect("(")
        args: list[A.Argument] = []
        if self.accept(")"):
            return args
        while True:
            t = self.tok
            if t.kind == "ID" and self.peek().kind == "=" and self.peek(2).kind != "=":
                self.i += 2
                val = self._arg_value()
                args.append(A.Argument(t.pos, val, t.text))
            else:
                args.append(A.Argument(t.pos, self._arg_value()))
            if not self.accept(","):
                break
        self.expect(")", "')'")
        return args

    def _arg_value(self) -> A.Expr | None:
        if self.tok.kind == "ID" and self.tok.text == "_" and self.peek().kind in (",", ")"):
            self.i += 1
            return None
        return self.expression()

    # -- keysets (select cases, table entries) -----------------------------------------------
    def keyset_element(self) -> A.Expr:
        t = self.tok
        if t.kind == "default":
            self.i += 1
            return A.DefaultExpr(t.pos)
        if t.kind == "ID" and t.text == "_":
            self.i += 1
            return A.DefaultExpr(t.pos, dont_care=True)
        e = self.expression()
        if self.at("&&&"):
            m = self.expect("&&&")
            return A.Mask(m.pos, e, self.expression())
        if self.at(".."):
            r = self.expect("..")
            return A.RangeExpr(r.pos, e, self.expression())
        return e

    def keyset(self) -> list[A.Expr]:
        """A keyset: one element, or a parenthesised tuple of elements."""
        if self.at("(") and self._paren_is_tuple():
            self.expect("(")
            elems = [self.keyset_element()]
            while self.accept(","):
                elems.append(self.keyset_element())
            self.expect(")")
            return elems
        return [self.keyset_element()]

    def _paren_is_tuple(self) -> bool:
        """At '(': is this a tuple keyset rather than a parenthesised expression?"""
        depth = 0
        j = self.i
        while j < len(self.toks):
            k = self.toks[j].kind
            if k in ("(", "[", "{"):
                depth += 1
            elif k in (")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return self.toks[j + 1].kind in (":",) and self._has_top_comma(self.i, j)
            j += 1
        return False

    def _has_top_comma(self, start: int, end: int) -> bool:
        depth = 0
        for j in range(start, end):
            k = self.toks[j].kind
            if k in ("(", "[", "{"):
                depth += 1
            elif k in (")", "]", "}"):
                depth -= 1
            elif k in (",", "&&&", "..", "default") and depth == 1:
                return True
            elif k == "ID" and self.toks[j].text == "_" and depth == 1:
                return True
        return False

    def pos_of(self, node: A.Node | None) -> Pos:
        return node.pos if node is not None else self.tok.pos
