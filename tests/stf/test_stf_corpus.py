"""``python -m p4target.stf --corpus DIR``: every NAME.p4 with a NAME.stf is run in its own
process and classified (pass, runtime mismatch, compile error, other error, timeout, crash)."""

from __future__ import annotations

import json
from pathlib import Path

from p4target.stf.__main__ import main
from p4target.stf.corpus import classify, find_tests, run_one, summary

PROG = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct headers_t { h_t h; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.h); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t meta) { apply { } }
control I(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) {
    apply { hdr.h.b = hdr.h.a + 1; sm.egress_spec = 2; }
}
control E(inout headers_t hdr, inout meta_t meta, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t meta) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def _corpus(d: Path) -> None:
    (d / "ok.p4").write_text(PROG)
    (d / "ok.stf").write_text("packet 0 05 00\nexpect 2 05 06\n")
    (d / "wrong.p4").write_text(PROG)
    (d / "wrong.stf").write_text("packet 0 05 00\nexpect 2 05 07\n")
    (d / "broken.p4").write_text(PROG.replace("hdr.h.a + 1", "hdr.h.a + 16w1"))
    (d / "broken.stf").write_text("packet 0 05 00\n")
    (d / "badstf.p4").write_text(PROG)
    (d / "badstf.stf").write_text("frobnicate 1 2\n")
    (d / "lonely.p4").write_text(PROG)  # no .stf: not a test


def test_corpus_table_summary_and_report(tmp_path, capsys):
    _corpus(tmp_path)
    assert [p.name for p, _ in find_tests(tmp_path)] == [
        "badstf.p4",
        "broken.p4",
        "ok.p4",
        "wrong.p4",
    ]
    report = tmp_path / "report.json"
    rc = main(["--corpus", str(tmp_path), "--jobs", "4", "--report", str(report)])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    outcomes = {line.split()[1]: line.split()[0] for line in out[:-1]}
    assert outcomes == {
        "badstf.p4": "ERROR",
        "broken.p4": "COMPILE",
        "ok.p4": "PASS",
        "wrong.p4": "FAIL",
    }
    assert out[-1] == "4 tests: 1 passed (25.0%), 1 fail, 1 compile, 1 error"
    broken = next(line for line in out if line.startswith("COMPILE"))
    assert "broken.p4:11:" in broken and "error:" in broken
    rows = json.loads(report.read_text())
    assert [(r["program"], r["outcome"]) for r in rows] == sorted(outcomes.items())
    assert "differs" in next(r["detail"] for r in rows if r["program"] == "wrong.p4")


def test_corpus_all_passing_and_text_report(tmp_path, capsys):
    (tmp_path / "ok.p4").write_text(PROG)
    (tmp_path / "ok.stf").write_text("packet 0 05 00\nexpect 2 05 06\n")
    report = tmp_path / "r.txt"
    assert main(["--corpus", str(tmp_path), "--report", str(report)]) == 0
    assert report.read_text().splitlines()[-1] == "1 tests: 1 passed (100.0%)"


def test_corpus_without_tests(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path)]) == 2
    assert "no PROG.p4 with a sibling PROG.stf" in capsys.readouterr().err


def test_timeout_and_classification(tmp_path):
    _corpus(tmp_path)
    r = run_one(tmp_path / "ok.p4", tmp_path / "ok.stf", timeout=0.001)
    assert r.outcome == "TIMEOUT"
    assert classify(1, "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n") == (
        "CRASH",
        "KeyError: 'x'",
    )
    assert classify(-9, "") == ("CRASH", "exit status -9")
    assert classify(2, "error: cannot read x.stf\n") == ("ERROR", "error: cannot read x.stf")
    assert summary([]) == "0 tests: 0 passed"
