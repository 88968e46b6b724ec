"""Tokenizer for P4_16 (after preprocessing)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .diagnostics import CompileError, Pos
from .preprocess import Output

KEYWORDS = {
    "abstract", "action", "actions", "apply", "bit", "bool", "const", "control", "default",
    "else", "entries", "enum", "error", "exit", "extern", "false", "header", "header_union",
    "if", "in", "inout", "int", "key", "list", "match_kind", "out", "package", "parser",
    "return", "select", "state", "string", "struct", "switch", "table", "this", "transition",
    "true", "tuple", "type", "typedef", "varbit", "value_set", "void",
}  # fmt: skip

# Longest first.
PUNCT = [
    "&&&", "|+|", "|-|", "<<", "&&", "||", "==", "!=", "<=", ">=", "++", "..",
    "{", "}", "(", ")", "[", "]", ";", ":", ",", ".", "=", "<", ">", "+", "-", "*", "/",
    "%", "&", "|", "^", "~", "!", "?", "@", "#",
]  # fmt: skip

_INT = re.compile(
    r"(?:(\d+)([ws]))?"
    r"(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|0[dD][0-9_]+|[0-9][0-9_]*)"
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"[ \t\f\v\r]+")
_PUNCT = re.compile("|".join(re.escape(p) for p in PUNCT))


@dataclass(slots=True)
class Token:
    kind: str  # 'ID', 'INT', 'STR', 'EOF', a keyword, or a punctuation string
    text: str
    pos: Pos
    end: int = 0  # column just after the token (for adjacency checks such as '>' '>')
    value: object = None  # INT: (value, width|None, signed); STR: the string

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r}, {self.pos})"


def parse_int(text: str) -> tuple[int, int | None, bool]:
    m = _INT.fullmatch(text)
    assert m is not None
    width = int(m.group(1)) if m.group(1) else None
    signed = m.group(2) == "s"
    digits = m.group(3).replace("_", "")
    if len(digits) > 1 and digits[0] == "0" and digits[1] in "xXbBoOdD":
        base = {"x": 16, "b": 2, "o": 8, "d": 10}[digits[1].lower()]
        value = int(digits[2:], base)
    else:
        value = int(digits, 10)
    return value, width, signed


def tokenize(pp: Output) -> list[Token]:
    """Tokenize preprocessed output, mapping positions back to the original files."""
    tokens: list[Token] = []
    for idx, line in enumerate(pp.lines):
        fname, lineno = pp.origins[idx]
        i, n = 0, len(line)
        while i < n:
            m = _SPACE.match(line, i)
            if m:
                i = m.end()
                continue
            pos = Pos(fname, lineno, i + 1)
            c = line[i]
            if c.isdigit():
                m = _INT.match(line, i)
                text = m.group(0)
                if m.end() < n and (line[m.end()].isalnum() or line[m.end()] == "_"):
                    bad = _IDENT.match(line, m.end())
                    raise CompileError.at(pos, f"invalid integer literal '{text}{bad.group(0)}'")
                value = parse_int(text)
                if value[1] is not None and value[1] == 0 and value[2]:
                    raise CompileError.at(pos, "signed integers must have a width of at least 1")
                tokens.append(Token("INT", text, pos, m.end() + 1, value))
                i = m.end()
                continue
            if c.isalpha() or c == "_":
                m = _IDENT.match(line, i)
                word = m.group(0)
                kind = word if word in KEYWORDS else "ID"
                tokens.append(Token(kind, word, pos, m.end() + 1))
                i = m.end()
                continue
            if c == '"':
                j = i + 1
                chars: list[str] = []
                while j < n and line[j] != '"':
                    if line[j] == "\\" and j + 1 < n:
                        esc = line[j + 1]
                        chars.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(esc, esc))
                        j += 2
                    else:
                        chars.append(line[j])
                        j += 1
                if j >= n:
                    raise CompileError.at(pos, "unterminated string literal")
                tokens.append(Token("STR", line[i : j + 1], pos, j + 2, "".join(chars)))
                i = j + 1
                continue
            m = _PUNCT.match(line, i)
            if not m:
                raise CompileError.at(pos, f"unexpected character '{c}'")
            tokens.append(Token(m.group(0), m.group(0), pos, m.end() + 1))
            i = m.end()
    last = pp.origins[-1] if pp.origins else ("<empty>", 1)
    tokens.append(Token("EOF", "", Pos(last[0], last[1], 1)))
    return tokens
