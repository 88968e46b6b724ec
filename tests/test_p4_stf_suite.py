"""Every ``tests/p4/NAME.stf`` run in-process against ``tests/p4/NAME.p4`` on the embedded
switch (compiled by the embedded compiler); a failure shows the runner's diff."""

from __future__ import annotations

from pathlib import Path

import pytest

P4_DIR = Path(__file__).resolve().parent / "p4"
CASES = sorted(P4_DIR.glob("*.stf"))


@pytest.mark.parametrize("stf", CASES, ids=[p.stem for p in CASES])
def test_stf(stf: Path) -> None:
    from p4target.stf import StfError, run_stf

    prog = stf.with_suffix(".p4")
    if not prog.exists():
        pytest.fail(f"{stf.name} has no {prog.name} beside it")
    try:
        import p4target.compiler  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"embedded compiler not available: {exc}")
    try:
        result = run_stf(stf, p4=prog, include_dirs=[P4_DIR], echo=lambda s: None)
    except StfError as exc:
        pytest.fail(f"{stf.name}: {exc}")
    assert result.ok, f"{stf.name}:\n{result.report()}"
