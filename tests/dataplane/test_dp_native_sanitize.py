"""The native engine under AddressSanitizer + UndefinedBehaviorSanitizer: random and mutated
packets through router.p4 and cpn.p4 (three roles), compared with the Python engine
(``native_sancheck.py`` in a subprocess with libasan preloaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from p4target.switch.native import native_available
from p4target.switch.native.build import sanitizer_env

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(not native_available(), reason="no C compiler / cffi")


def run(packets: int, seed: int) -> str:
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "native_sancheck.py"),
            "--packets",
            str(packets),
            "--seed",
            str(seed),
        ],
        env=sanitizer_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-6000:]
    return proc.stdout


def test_sanitizer_build_short_run() -> None:
    out = run(150, 1)
    assert "0 differences (sanitizer build)" in out


@pytest.mark.slow
def test_sanitizer_build_long_run() -> None:
    assert "0 differences (sanitizer build)" in run(5000, 2)
