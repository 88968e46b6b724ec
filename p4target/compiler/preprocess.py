"""A C-style preprocessor for P4 sources, as p4c runs (cpp) before parsing.

Supports ``#include "..."``/``<...>``, object- and function-like ``#define``, ``#undef``,
``#if``/``#ifdef``/``#ifndef``/``#elif``/``#else``/``#endif`` (with ``defined``),
``#error``/``#warning``, ``#pragma once``, line continuations and comment removal. The output
is one text plus a line map so that every token can be reported at its original
``file:line:column`` (columns are exact on lines without macro expansion).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import CompileError, Pos

BUILTIN_INCLUDE = Path(__file__).with_name("include")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIRECTIVE = re.compile(r"\s*#\s*([A-Za-z_]*)(.*)$", re.S)
MAX_INCLUDE_DEPTH = 64


@dataclass
class Macro:
    name: str
    body: str
    params: list[str] | None = None  # None: object-like
    variadic: bool = False


@dataclass
class Output:
    """Preprocessed text with, for each output line, its original (file, line)."""

    lines: list[str] = field(default_factory=list)
    origins: list[tuple[str, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def strip_comments(text: str) -> str:
    """Replace comments by spaces (keeping newlines) so columns and lines stay put."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(text[i:j])
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


class _CondExpr:
    """Evaluates a ``#if`` expression (integers, C operators, ``defined`` already replaced)."""

    _TOK = re.compile(
        r"\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_][A-Za-z0-9_]*|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%()!~<>&|^?:])"
    )

    def __init__(self, text: str, pos: Pos):
        self.pos = pos
        self.toks: list[str] = []
        i = 0
        text = text.strip()
        while i < len(text):
            m = self._TOK.match(text, i)
            if not m:
                raise CompileError.at(pos, f"invalid #if expression: {text!r}")
            self.toks.append(m.group(1))
            i = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        if self.i >= len(self.toks):
            raise CompileError.at(self.pos, "unexpected end of #if expression")
        self.i += 1
        return self.toks[self.i - 1]

    def evaluate(self) -> int:
        v = self.ternary()
        if self.peek() is not None:
            raise CompileError.at(self.pos, f"unexpected '{self.peek()}' in #if expression")
        return v

    def ternary(self) -> int:
        c = self.binary(0)
        if self.peek() == "?":
            self.take()
            a = self.ternary()
            if self.take() != ":":
                raise CompileError.at(self.pos, "expected ':' in #if expression")
            b = self.ternary()
            return a if c else b
        return c

    _PREC = [
        ["||"],
        ["&&"],
        ["|"],
        ["^"],
        ["&"],
        ["==", "!="],
        ["<", ">", "<=", ">="],
        ["<<", ">>"],
        ["+", "-"],
        ["*", "/", "%"],
    ]

    def binary(self, level: int) -> int:
        if level == len(self._PREC):
            return self.unary()
        v = self.binary(level + 1)
        while self.peek() in self._PREC[level]:
            op = self.take()
            r = self.binary(level + 1)
            v = self._apply(op, v, r)
        return v

    def _apply(self, op: str, a: int, b: int) -> int:
        if op in ("/", "%") and b == 0:
            raise CompileError.at(self.pos, "division by zero in #if expression")
        return int(
            {
                "||": lambda: bool(a or b),
                "&&": lambda: bool(a and b),
                "|": lambda: a | b,
                "^": lambda: a ^ b,
                "&": lambda: a & b,
                "==": lambda: a == b,
                "!=": lambda: a != b,
                "<": lambda: a < b,
                ">": lambda: a > b,
                "<=": lambda: a <= b,
                ">=": lambda: a >= b,
                "<<": lambda: a << b,
                ">>": lambda: a >> b,
                "+": lambda: a + b,
                "-": lambda: a - b,
                "*": lambda: a * b,
                "/": lambda: int(a / b),
                "%": lambda: a % b,
            }[op]()
        )

    def unary(self) -> int:
        t = self.take()
        if t == "!":
            return int(not self.unary())
        if t == "~":
            return ~self.unary()
        if t == "-":
            return -self.unary()
        if t == "+":
            return self.unary()
        if t == "(":
            v = self.ternary()
            if self.take() != ")":
                raise CompileError.at(self.pos, "expected ')' in #if expression")
            return v
        if t[0].isdigit():
            return int(t, 0) if not (len(t) > 1 and t[0] == "0" and t[1].isdigit()) else int(t, 8)
        if _IDENT.fullmatch(t):
            return 0  # undefined identifiers evaluate to 0, as in C
        raise CompileError.at(self.pos, f"unexpected '{t}' in #if expression")


class Preprocessor:
    """Runs the preprocessor over a main file and everything it includes."""

    def __init__(
        self, include_dirs: list[str] | None = None, defines: dict[str, str] | None = None
    ):
        self.include_dirs = [Path(d) for d in (include_dirs or [])]
        self.macros: dict[str, Macro] = {}
        self.once: set[str] = set()
        self.out = Output()
        self.depth = 0
        for name, value in (defines or {}).items():
            self.macros[name] = Macro(name, "1" if value is None else str(value))

    # -- entry points -----------------------------------------------------------------------
    def run_file(self, path: str) -> Output:
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise CompileError([(str(path), 0, 0, f"cannot read file: {e.strerror}")]) from None
        self._process(text, str(path), p.parent)
        return self.out

    def run_text(self, text: str, filename: str = "<string>") -> Output:
        self._process(text, filename, Path.cwd())
        return self.out

    # -- core ---------------------------------------------------------------------------------
    def _process(self, text: str, filename: str, directory: Path) -> None:
        self.depth += 1
        if self.depth > MAX_INCLUDE_DEPTH:
            raise CompileError([(filename, 1, 1, "#include nested too deeply")])
        text = strip_comments(text.replace("\r\n", "\n"))
        raw = text.split("\n")
        # conditional stack entries: [active, any_branch_taken, parent_active]
        stack: list[list[bool]] = []
        active = True
        i = 0
        while i < len(raw):
            line, lineno = raw[i], i + 1
            extra = 0
            while line.endswith("\\") and i + 1 + extra < len(raw):
                extra += 1
                line = line[:-1] + raw[i + extra]
            m = _DIRECTIVE.match(line)
            pos = Pos(filename, lineno, 1)
            if m and line.lstrip().startswith("#"):
                name, rest = m.group(1), m.group(2).strip()
                self._directive(name, rest, pos, stack, filename, directory)
                active = all(s[0] for s in stack)
                self._emit("", filename, lineno)
            elif active:
                self._emit(self._expand_line(line, pos), filename, lineno)
            else:
                self._emit("", filename, lineno)
            for k in range(extra):
                self._emit("", filename, lineno + k + 1)
            i += 1 + extra
        if stack:
            raise CompileError([(filename, len(raw), 1, "unterminated #if/#ifdef")])
        self.depth -= 1

    def _emit(self, text: str, filename: str, lineno: int) -> None:
        self.out.lines.append(text)
        self.out.origins.append((filename, lineno))

    def _directive(
        self,
        name: str,
        rest: str,
        pos: Pos,
        stack: list[list[bool]],
        filename: str,
        directory: Path,
    ) -> None:
        active = all(s[0] for s in stack)
        if name in ("if", "ifdef", "ifndef"):
            if not active:
                stack.append([False, True, False])
                return
            if name == "if":
                cond = self._eval_if(rest, pos)
            else:
                ident = rest.split()[0] if rest.split() else ""
                if not _IDENT.fullmatch(ident):
                    raise CompileError.at(pos, f"#{name} needs a macro name")
                cond = (ident in self.macros) == (name == "ifdef")
            stack.append([cond, cond, True])
            return
        if name in ("elif", "else", "endif"):
            if not stack:
                raise CompileError.at(pos, f"#{name} without #if")
            top = stack[-1]
            if name == "endif":
                stack.pop()
            elif name == "else":
                top[0] = top[2] and not top[1]
                top[1] = True
            else:
                take = top[2] and not top[1] and self._eval_if(rest, pos)
                top[0] = take
                top[1] = top[1] or take
            return
        if not active:
            return
        if name == "include":
            self._include(rest, pos, directory)
        elif name == "define":
            self._define(rest, pos)
        elif name == "undef":
            self.macros.pop(rest.split()[0] if rest.split() else "", None)
        elif name == "error":
            raise CompileError.at(pos, f"#error {rest}")
        elif name == "pragma":
            if rest.split()[:1] == ["once"]:
                self.once.add(os.path.abspath(filename))
        elif name in ("warning", "line", ""):
            pass
        else:
            raise CompileError.at(pos, f"unknown preprocessor directive #{name}")

    def _include(self, rest: str, pos: Pos, directory: Path) -> None:
        rest = self._expand_line(rest, pos).strip()
        m = re.match(r'"([^"]+)"|<([^>]+)>', rest)
        if not m:
            raise CompileError.at(pos, f"bad #include {rest}")
        name = m.group(1) or m.group(2)
        candidates = ([directory] if m.group(1) else []) + self.include_dirs + [BUILTIN_INCLUDE]
        for d in candidates:
            p = d / name
            if p.is_file():
                key = os.path.abspath(p)
                if key in self.once:
                    return
                self._process(p.read_text(), _display_name(p), p.parent)
                return
        raise CompileError.at(pos, f"cannot find include file {name}")

    def _define(self, rest: str, pos: Pos) -> None:
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(\(([^)]*)\))?\s*(.*)$", rest, re.S)
        if not m:
            raise CompileError.at(pos, "#define needs a macro name")
        name, params, body = m.group(1), m.group(3), m.group(4).strip()
        if m.group(2) is None:
            self.macros[name] = Macro(name, body)
            return
        plist = [p.strip() for p in params.split(",")] if params.strip() else []
        variadic = bool(plist) and plist[-1] == "..."
        if variadic:
            plist[-1] = "__VA_ARGS__"
        self.macros[name] = Macro(name, body, plist, variadic)

    def _eval_if(self, text: str, pos: Pos) -> bool:
        def repl(m: re.Match) -> str:
            return "1" if m.group(1) in self.macros else "0"

        text = re.sub(r"\bdefined\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", repl, text)
        text = re.sub(r"\bdefined\s+([A-Za-z_][A-Za-z0-9_]*)", repl, text)
        text = self._expand_line(text, pos)
        text = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", text)
        return bool(_CondExpr(text, pos).evaluate())

    # -- macro expansion ------------------------------------------------------------------------
    def _expand_line(self, line: str, pos: Pos) -> str:
        if not self.macros or not _IDENT.search(line):
            return line
        return self._expand(line, frozenset(), pos)

    def _expand(self, text: str, hide: frozenset[str], pos: Pos) -> str:
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == '"':
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                out.append(text[i : j + 1])
                i = j + 1
                continue
            if c.isdigit():
                m = re.compile(r"[0-9A-Za-z_]+").match(text, i)
                out.append(m.group(0))
                i = m.end()
                continue
            m = _IDENT.match(text, i)
            if not m:
                out.append(c)
                i += 1
                continue
            name = m.group(0)
            i = m.end()
            macro = self.macros.get(name)
            if macro is None or name in hide:
                out.append(name)
                continue
            if macro.params is None:
                out.append(self._expand(macro.body, hide | {name}, pos))
                continue
            j = i
            while j < n and text[j] in " \t":
                j += 1
            if j >= n or text[j] != "(":
                out.append(name)
                continue
            args, i = self._split_args(text, j, pos)
            out.append(self._expand(self._substitute(macro, args, pos), hide | {name}, pos))
        return "".join(out)

    @staticmethod
    def _split_args(text: str, start: int, pos: Pos) -> tuple[list[str], int]:
        depth, args, cur = 0, [], []
        i = start + 1
        while i < len(text):
            c = text[i]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    args.append("".join(cur).strip())
                    return args, i + 1
                depth -= 1
            elif c == "," and depth == 0:
                args.append("".join(cur).strip())
                cur = []
                i += 1
                continue
            cur.append(c)
            i += 1
        raise CompileError.at(pos, "unterminated macro invocation")

    def _substitute(self, macro: Macro, args: list[str], pos: Pos) -> str:
        params = macro.params or []
        if args == [""] and not params:
            args = []
        if macro.variadic:
            fixed = len(params) - 1
            if len(args) < fixed:
                raise CompileError.at(pos, f"macro {macro.name} expects at least {fixed} arguments")
            args = args[:fixed] + [", ".join(args[fixed:])]
        elif len(args) != len(params):
            raise CompileError.at(
                pos, f"macro {macro.name} expects {len(params)} arguments, got {len(args)}"
            )
        binding = dict(zip(params, args, strict=True))
        body = macro.body

        def stringize(m: re.Match) -> str:
            v = binding.get(m.group(1), m.group(1))
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

        body = re.sub(r"(?<!#)#\s*([A-Za-z_][A-Za-z0-9_]*)", stringize, body)
        body = _IDENT.sub(lambda m: binding.get(m.group(0), m.group(0)), body)
        return re.sub(r"\s*##\s*", "", body)


def _display_name(p: Path) -> str:
    try:
        return os.path.relpath(p)
    except ValueError:
        return str(p)
