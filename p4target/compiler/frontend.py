"""Front end: preprocess, tokenize, parse and type-check a P4_16 program."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast as A
from .check_blocks import Checker
from .diagnostics import CompileWarning
from .lexer import tokenize
from .parser import Parser
from .preprocess import BUILTIN_INCLUDE, Preprocessor


@dataclass
class FrontEnd:
    program: A.Program
    checker: Checker
    main: A.Instance
    filename: str
    #: the program's uses of this compiler's extensions (p4c refuses them), in source order
    warnings: list[CompileWarning] = field(default_factory=list)


def run_frontend(
    source: str | None,
    filename: str,
    include_dirs: list[str] | None = None,
    defines: dict[str, str] | None = None,
    tracker: dict | None = None,
) -> FrontEnd:
    """Parse and check ``source`` (or the file ``filename`` when source is None)."""
    pp = Preprocessor(include_dirs, defines)
    out = pp.run_file(filename) if source is None else pp.run_text(source, filename)
    parser = Parser(tokenize(out))
    program = parser.program()
    checker = Checker()
    if tracker is not None:
        checker.tracker = tracker
    checker.builtin_files = {
        f for f, _ in set(out.origins) if f.endswith(("core.p4", "v1model.p4")) and _is_builtin(f)
    }
    main = checker.check_program(program)
    warnings = sorted(set(parser.warnings + checker.warnings), key=lambda w: (w[0], w[1], w[2]))
    return FrontEnd(program, checker, main, filename, warnings)


def _is_builtin(name: str) -> bool:
    import os

    try:
        return os.path.samefile(os.path.dirname(os.path.abspath(name)), BUILTIN_INCLUDE)
    except OSError:
        return False
