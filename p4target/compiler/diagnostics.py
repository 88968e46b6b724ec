"""Source positions and compiler diagnostics (``file:line:column: error: message``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in a source file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOPOS = Pos("<builtin>", 0, 0)


class CompileError(Exception):
    """One or more errors in the P4 program.

    ``diagnostics`` is a list of ``(file, line, column, message)``; ``str()`` gives one
    ``file:line:column: error: message`` line per diagnostic, the format p4c uses.
    """

    def __init__(self, diagnostics: list[tuple[str, int, int, str]]):
        self.diagnostics = list(diagnostics)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{f}:{ln}:{c}: error: {m}" for f, ln, c, m in self.diagnostics)

    @classmethod
    def at(cls, pos: Pos | None, message: str) -> CompileError:
        pos = pos or NOPOS
        return cls([(pos.file, pos.line, pos.col, message)])


def error(pos: Pos | None, message: str) -> CompileError:
    """Build (not raise) a single-diagnostic CompileError."""
    return CompileError.at(pos, message)


#: A warning: ``(file, line, column, message)``, like CompileError's diagnostics.
CompileWarning = tuple[str, int, int, str]


def warning(pos: Pos | None, message: str) -> CompileWarning:
    """A warning at ``pos`` (see :func:`format_warning`)."""
    pos = pos or NOPOS
    return (pos.file, pos.line, pos.col, message)


def format_warning(w: CompileWarning) -> str:
    """``file:line:column: warning: message``, the format p4c uses."""
    f, ln, c, m = w
    return f"{f}:{ln}:{c}: warning: {m}"


class InternalCompilerError(Exception):
    """A bug in the compiler (not in the program); carries the position being compiled."""

    def __init__(self, pos: Pos | None, message: str):
        self.pos = pos
        super().__init__(message)
