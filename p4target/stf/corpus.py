"""Run a directory of STF tests (``python -m p4target.stf --corpus DIR``).

Every ``NAME.p4`` in DIR that has a sibling ``NAME.stf`` is one test (p4c's
``testdata/p4_16_samples`` is laid out this way).  Each runs in its own process, so a hang or
a crash costs only that test, and ``--jobs N`` run side by side.  The outcome of a test is

* ``PASS``     every expected packet came out (exit status 0 of the single-test runner);
* ``FAIL``     it ran, and some packet differed, was missing or was extra (status 1);
* ``COMPILE``  the compiler refused the program (a ``file:line:column: error:`` diagnostic);
* ``ERROR``    the test could not run for another reason (unreadable or bad STF, ...);
* ``TIMEOUT``  it ran past ``--timeout`` seconds;
* ``CRASH``    the runner died (a traceback, a signal): always a bug of ours.

A table (one line per test: outcome, program, first line of detail) and a summary line are
printed; ``--report FILE`` writes the same table to FILE, or a JSON list when FILE ends in
``.json``.  Exit status: 0 when every test passed, 1 otherwise, 2 when DIR holds no test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

OUTCOMES = ("PASS", "FAIL", "COMPILE", "ERROR", "TIMEOUT", "CRASH")
_DIAG = re.compile(r"^\S.*:\d+:\d+: error: ")


@dataclass
class CorpusResult:
    program: str  # the .p4 file name, relative to the corpus directory
    outcome: str  # one of OUTCOMES
    detail: str  # the first line that says why (empty for PASS)
    seconds: float


def find_tests(directory: str | Path) -> list[tuple[Path, Path]]:
    """(PROG.p4, PROG.stf) pairs in ``directory``, by name."""
    d = Path(directory).resolve()
    return [
        (p, p.with_suffix(".stf"))
        for p in sorted(d.glob("*.p4"))
        if p.with_suffix(".stf").is_file()
    ]


def classify(returncode: int, output: str) -> tuple[str, str]:
    """Outcome and detail line of one single-test run from its exit status and output."""
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    if "Traceback (most recent call last)" in output or returncode not in (0, 1, 2):
        return "CRASH", (lines[-1] if lines else f"exit status {returncode}")
    if returncode == 0:
        return "PASS", ""
    if returncode == 1:
        rest = [ln for ln in lines if not ln.startswith(("PASS ", "FAIL "))]
        return "FAIL", (rest[0].strip() if rest else "")
    diags = [ln for ln in lines if _DIAG.match(ln)]
    if diags:
        return "COMPILE", diags[0]
    return "ERROR", (lines[-1] if lines else "")


def run_one(
    prog: Path,
    stf: Path,
    options: Sequence[str] = (),
    timeout: float = 120.0,
) -> CorpusResult:
    import time

    cmd = [sys.executable, "-m", "p4target.stf", str(prog), str(stf), *options]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return CorpusResult(prog.name, "TIMEOUT", f"ran past {timeout:g} s", timeout)
    outcome, detail = classify(proc.returncode, proc.stdout + proc.stderr)
    detail = detail.replace(str(prog.parent) + os.sep, "")
    return CorpusResult(prog.name, outcome, detail, time.monotonic() - start)


def run_corpus(
    directory: str | Path,
    *,
    jobs: int = 1,
    options: Sequence[str] = (),
    timeout: float = 120.0,
    echo: Callable[[str], None] = print,
) -> list[CorpusResult]:
    """Run every test of ``directory``, echoing one table line per test as it finishes (in
    name order)."""
    tests = find_tests(directory)
    width = max((len(p.name) for p, _ in tests), default=0)

    def line(r: CorpusResult) -> str:
        return f"{r.outcome:<8} {r.program:<{width}}  {r.detail}".rstrip()

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_one, p, s, options, timeout) for p, s in tests]
        results = []
        for f in futures:
            r = f.result()
            results.append(r)
            echo(line(r))
    return results


def summary(results: Sequence[CorpusResult]) -> str:
    n = Counter(r.outcome for r in results)
    total = len(results)
    rate = f" ({100.0 * n['PASS'] / total:.1f}%)" if total else ""
    parts = [f"{n[o]} {o.lower()}" for o in OUTCOMES[1:] if n[o]]
    return f"{total} tests: {n['PASS']} passed{rate}" + (", " + ", ".join(parts) if parts else "")


def write_report(path: str | Path, results: Sequence[CorpusResult]) -> None:
    p = Path(path)
    if p.suffix == ".json":
        p.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
        return
    width = max((len(r.program) for r in results), default=0)
    rows = [f"{r.outcome:<8} {r.program:<{width}}  {r.detail}".rstrip() for r in results]
    p.write_text("\n".join([*rows, summary(results)]) + "\n")


def main_corpus(
    directory: str,
    jobs: int,
    report: str | None,
    options: Sequence[str],
    timeout: float,
) -> int:
    if not Path(directory).is_dir():
        print(f"error: {directory} is not a directory", file=sys.stderr)
        return 2
    if not find_tests(directory):
        print(f"error: no PROG.p4 with a sibling PROG.stf in {directory}", file=sys.stderr)
        return 2
    results = run_corpus(directory, jobs=jobs, options=options, timeout=timeout)
    print(summary(results))
    if report:
        write_report(report, results)
    return 0 if all(r.outcome == "PASS" for r in results) else 1


__all__ = [
    "OUTCOMES",
    "CorpusResult",
    "classify",
    "find_tests",
    "run_corpus",
    "run_one",
    "summary",
    "write_report",
]
