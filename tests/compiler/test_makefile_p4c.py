"""The Makefile's real-p4c path, checked without p4c: a fake ``p4c-bm2-ss`` on PATH that
accepts only the command line p4c-bm2-ss 1.2.4 accepts (its options, P4Info suffixes
``.txt``/``.json``/``.bin``) and then runs the embedded compiler with the same arguments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = sorted(p.stem for p in (ROOT / "p4src").glob("*.p4"))

FAKE_P4C = """#!{python}
# Stands in for p4c-bm2-ss: p4c's option names, p4c 1.2.4's P4Info suffix rule.
import argparse, os, subprocess, sys
with open(os.environ["FAKE_P4C_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
ap = argparse.ArgumentParser(prog="p4c-bm2-ss", allow_abbrev=False)
ap.add_argument("source")
ap.add_argument("-o", required=True)
ap.add_argument("--arch", choices=["v1model"])
ap.add_argument("--std", choices=["p4-14", "p4-16"])
ap.add_argument("-I", action="append", default=[])
ap.add_argument("-D", action="append", default=[])
ap.add_argument("--p4runtime-files")
args = ap.parse_args()
for f in (args.p4runtime_files or "").split(","):
    if f and os.path.splitext(f)[1] not in (".txt", ".json", ".bin"):
        sys.exit("error: %s: Could not detect p4runtime info file format from file suffix" % f)
sys.exit(subprocess.call([sys.executable, "-m", "p4target.compiler", *sys.argv[1:]]))
"""


@pytest.fixture
def fake_p4c(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "p4c-bm2-ss"
    fake.write_text(FAKE_P4C.format(python=sys.executable))
    fake.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["FAKE_P4C_LOG"] = str(tmp_path / "p4c.log")
    env.pop("MAKEFLAGS", None)
    return fake, env


def _make(env: dict[str, str], *args: str) -> str:
    res = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _compile_lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if "--p4runtime-files" in ln]


def test_make_uses_p4c_on_path_with_its_flags(fake_p4c, tmp_path):
    fake, env = fake_p4c
    build = tmp_path / "build"
    lines = _compile_lines(_make(env, "-n", f"BUILD={build}", "build"))
    assert lines == [
        f"{fake} --arch v1model --std p4-16 -I p4src/include -o {build}/{name}.json "
        f"--p4runtime-files {build}/{name}.p4info.txt p4src/{name}.p4"
        for name in PROGRAMS
    ]


def test_make_extra_flags_reach_p4c(fake_p4c, tmp_path):
    fake, env = fake_p4c
    build = tmp_path / "build"
    out = _make(env, "-n", f"BUILD={build}", "P4FLAGS=-DCQF_RECIRCULATE", f"{build}/cpn.json")
    assert _compile_lines(out) == [
        f"{fake} --arch v1model --std p4-16 -I p4src/include -DCQF_RECIRCULATE "
        f"-o {build}/cpn.json --p4runtime-files {build}/cpn.p4info.txt p4src/cpn.p4"
    ]


def test_embedded_compiler_without_p4c(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        d for d in env.get("PATH", "").split(os.pathsep) if not (Path(d) / "p4c-bm2-ss").exists()
    )
    build = tmp_path / "build"
    lines = _compile_lines(_make(env, "-n", f"BUILD={build}", "build"))
    assert lines == [
        f".venv/bin/python -m p4target.compiler --arch v1model --std p4-16 -I p4src/include "
        f"-o {build}/{name}.json --p4runtime-files {build}/{name}.p4info.txtpb p4src/{name}.p4"
        for name in PROGRAMS
    ]


def test_make_build_with_p4c_writes_what_consumers_read(fake_p4c, tmp_path):
    """`make build` runs the fake p4c end to end; the outputs load as the control plane loads
    them (program.py reads `.p4info.txt` as it reads `.txtpb`)."""
    _, env = fake_p4c
    build = tmp_path / "build"
    dry = _make(env, "-n", f"BUILD={build}", "build")
    if "pip install" in dry:
        pytest.skip("the virtual environment is not set up (make would run `make setup`)")
    _make(env, f"BUILD={build}", "build")
    log = (tmp_path / "p4c.log").read_text().splitlines()
    assert len(log) == len(PROGRAMS)
    program = pytest.importorskip("controlplane.program")
    prog = program.load_program(build / "cpn.json", build / "cpn.p4info.txt")
    tables = {t.preamble.name for t in prog.p4info.tables}
    assert "CpnIngress.aisid.classify" in tables
    assert '"pipelines"' in prog.json_text
