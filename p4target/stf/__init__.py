"""STF test runner: ``python -m p4target.stf PROG.p4 TEST.stf``.

Runs p4c's "simple test format" files (see :mod:`.parser` for the commands) against the
embedded switch (default) or real BMv2 (``--target bmv2``).  A test passes when every
expected packet arrived on its port, in order per port, and nothing else came out on a port
the test names; otherwise each mismatch is reported as a readable hex diff.
``python -m p4target.stf --corpus DIR`` runs a directory of tests (:mod:`.corpus`).

In-process use::

    from p4target.stf import run_stf
    result = run_stf("tests/p4/x.stf", p4="tests/p4/x.p4")   # or json="x.json" / json=dict
    assert result.ok, result.report()
"""

from __future__ import annotations

import json as _json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .parser import Command, StfSyntaxError, parse_stf
from .runner import EmbeddedRunner, StfResult
from .values import StfError

__all__ = [
    "Command",
    "StfError",
    "StfResult",
    "StfSyntaxError",
    "load_program",
    "parse_stf",
    "run_stf",
]


def load_program(
    p4: str | Path | None = None,
    json: str | Path | dict[str, Any] | None = None,
    include_dirs: Sequence[str | Path] = (),
    defines: dict[str, str] | None = None,
) -> dict[str, Any]:
    """BMv2 JSON for the test: ``json`` as given, or ``p4`` compiled by the embedded compiler."""
    if json is not None:
        if isinstance(json, dict):
            return json
        try:
            return _json.loads(Path(json).read_text())
        except (OSError, ValueError) as exc:
            raise StfError(f"cannot read BMv2 JSON {json}: {exc}") from exc
    if p4 is None:
        raise StfError("give a P4 program or --json")
    try:
        from p4target.compiler import compile_file
    except ImportError as exc:
        raise StfError(
            f"the embedded compiler (p4target.compiler) is not available ({exc}); "
            "pass --json PROG.json made by another compiler"
        ) from exc
    result = compile_file(
        str(p4), include_dirs=[str(d) for d in include_dirs], defines=dict(defines or {})
    )
    return result.json


def run_stf(
    stf: str | Path,
    *,
    p4: str | Path | None = None,
    json: str | Path | dict[str, Any] | None = None,
    target: str = "embedded",
    include_dirs: Sequence[str | Path] = (),
    defines: dict[str, str] | None = None,
    verbose: bool = False,
    echo: Callable[[str], None] = print,
) -> StfResult:
    """Run ``stf`` against the program; raises StfError/StfSyntaxError (or the compiler's
    CompileError) when the test cannot run at all."""
    stf_path = Path(stf)
    try:
        text = stf_path.read_text()
    except OSError as exc:
        raise StfError(f"cannot read {stf_path}: {exc}") from exc
    cmds = parse_stf(text, str(stf_path))
    program = load_program(p4, json, include_dirs, defines)
    if target == "embedded":
        return EmbeddedRunner(program, verbose=verbose, echo=echo).run(cmds)
    if target == "bmv2":
        from .bmv2 import Bmv2Runner

        if isinstance(json, (str, Path)):
            json_path = Path(json)
        else:
            tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
            with tmp:
                _json.dump(program, tmp)
            json_path = Path(tmp.name)
        return Bmv2Runner(json_path, program, verbose=verbose, echo=echo).run(cmds)
    raise StfError(f"unknown target {target!r} (embedded or bmv2)")
