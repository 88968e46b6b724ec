"""The embedded P4_16 compiler: v1model programs to BMv2 JSON and P4Info.

>>> from p4target.compiler import compile_file
>>> result = compile_file("p4src/router.p4")           # doctest: +SKIP
>>> result.json["pipelines"][0]["name"], len(result.p4info.tables)  # doctest: +SKIP

``python -m p4target.compiler PROG.p4 -o OUT.json --p4runtime-files OUT.p4info.txtpb`` is the
command-line form (flags follow p4c-bm2-ss).
"""

from __future__ import annotations

import json as _json
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import CompileError, InternalCompilerError, Pos, format_warning

__all__ = [
    "CompileError",
    "CompileResult",
    "InternalCompilerError",
    "compile_file",
    "compile_source",
]


@dataclass
class CompileResult:
    json: dict
    p4info: Any  # p4.config.v1.p4info_pb2.P4Info
    #: ``(file, line, column, message)`` for each use of an extension p4c does not accept
    #: (compound assignments, annotations before an entry's keyset, run-time division)
    warnings: list[tuple[str, int, int, str]] = field(default_factory=list)

    def warning_lines(self) -> list[str]:
        """The warnings as p4c prints them: ``file:line:column: warning: message``."""
        return [format_warning(w) for w in self.warnings]

    def json_text(self) -> str:
        return _json.dumps(self.json, indent=2) + "\n"

    def write(
        self, json_path: str | Path | None = None, p4info_path: str | Path | None = None
    ) -> None:
        """Write the BMv2 JSON and/or the P4Info (format chosen by extension)."""
        from .p4info import serialize

        if json_path is not None:
            Path(json_path).write_text(self.json_text())
        if p4info_path is not None:
            data = serialize(self.p4info, str(p4info_path))
            if isinstance(data, bytes):
                Path(p4info_path).write_bytes(data)
            else:
                Path(p4info_path).write_text(data)


def _compile(source: str | None, filename: str, include_dirs, defines) -> CompileResult:
    from .bmv2.program import Backend
    from .frontend import run_frontend
    from .p4info_build import build_p4info

    tracker: dict[str, Pos | None] = {"pos": None}
    try:
        fe = run_frontend(source, filename, list(include_dirs or []), dict(defines or {}), tracker)
        sources = {filename: source} if source is not None else {}
        be = Backend(fe, sources)
        be.tracker = tracker
        js = be.run()
        info = build_p4info(be)
        return CompileResult(js, info, list(fe.warnings))
    except (CompileError, InternalCompilerError):
        raise
    except RecursionError:
        raise CompileError.at(tracker["pos"], "program too deeply nested") from None
    except Exception as e:  # a compiler bug: report where we were
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        raise InternalCompilerError(tracker["pos"], detail) from e


def compile_source(
    source: str,
    filename: str = "<string>",
    include_dirs: list[str] | None = None,
    defines: dict[str, str] | None = None,
) -> CompileResult:
    """Compile P4_16 source text; raises ``CompileError`` on errors in the program."""
    return _compile(source, filename, include_dirs, defines)


def compile_file(
    path: str | Path,
    include_dirs: list[str] | None = None,
    defines: dict[str, str] | None = None,
) -> CompileResult:
    """Compile a P4_16 file (its directory is searched for ``#include "..."``)."""
    return _compile(None, str(path), include_dirs, defines)
