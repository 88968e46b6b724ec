"""Same seed, same run across processes: the main job in separate Python processes (at once,
more of them than cores, each with its own hash seed) gives the same per-request records
(``--dump``, :mod:`cpn.dump`) and the same summary; another seed gives other records."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cpn.dump import compare, load_dump, request_rows, write_dump
from cpn.dump import main as diff_main
from traces.client import RequestRecord

ROOT = Path(__file__).resolve().parents[2]
LINE4 = "controlplane/examples/line4.json"
BUSY = "import time\nt = time.monotonic() + 600\nwhile time.monotonic() < t:\n    pass\n"
WALL = ("started:", "wall time:", "WARNING", "dump:")  # lines with wall-clock or port numbers


def _start(args: list[str], hash_seed: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    return subprocess.Popen(
        [sys.executable, "-m", "cpn", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _runs(
    tmp_path: Path, base: list[str], seeds: list[int], timeout_s: float, busy_loop: bool = True
) -> list[Any]:
    """Run ``python -m cpn BASE --seed S --dump ...`` once per seed, all at once (with a busy
    loop beside them); returns (dump rows, printed lines) per run."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if busy_loop else None
    procs = []
    try:
        for i, seed in enumerate(seeds):
            dump = tmp_path / f"run{i}.jsonl"
            procs.append((_start([*base, "--seed", str(seed), "--dump", str(dump)], i + 1), dump))
        out = []
        for p, dump in procs:
            text, _ = p.communicate(timeout=timeout_s)
            assert p.returncode == 0, text[-3000:]
            out.append((load_dump(dump), text.splitlines()))
        return out
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _summary(lines: list[str]) -> list[str]:
    """The printed summary without wall-clock figures, ports and the JSON line (its command
    names the dump file; compared apart)."""
    keep = [ln for ln in lines if not ln.strip().startswith(WALL) and not ln.startswith("{")]
    return [re.sub(r"\[\d+ s\]", "[- s]", ln) for ln in keep]


def _assert_same_and_seed_matters(runs: list[Any]) -> None:
    (a, sa), (b, sb), (c, _) = runs
    assert len(a) == len(b) > 0
    cmp = compare(a, b)
    assert cmp.identical, cmp.text()
    assert _summary(sa) == _summary(sb)
    assert all(r["outcome"] != "pending" for r in a)
    other = compare(a, c)
    assert not other.identical and other.differing > len(a) // 2


def test_line4_demo_same_seed_same_requests_across_processes(tmp_path):
    """Controller steps every 50 ms and a Base1 -> Base2 swap (its drain runs the network from
    the swap): three processes at once, more than the machine's two cores."""
    base = ["demo", "--topology", LINE4, "--requests", "30", "--swap-to", "base2",
            "--interval", "0.05", "--no-report", "--web", "none", "--no-progress"]  # fmt: skip
    runs = _runs(tmp_path, base, [3, 3, 4], timeout_s=120, busy_loop=False)
    _assert_same_and_seed_matters(runs)
    rows = runs[0][0]
    assert {r["outcome"] for r in rows} == {"ok"} and len(rows) == 30
    assert any("policy versions seen: 1, 2" in ln for ln in runs[0][1])


@pytest.mark.slow
def test_abilene_demo_with_faults_same_seed_across_processes(tmp_path):
    """Abilene, Base1 -> RLMS-CPN (torch inference), every fault: a switch restart waits in
    wall time for the controller to reconnect and reinstall; ~70 s on two loaded cores."""
    base = ["demo", "--topology", "abilene", "--requests", "60", "--interval", "0.1",
            "--faults", "--no-report", "--web", "none", "--no-progress"]  # fmt: skip
    runs = _runs(tmp_path, base, [0, 0, 1], timeout_s=600)
    _assert_same_and_seed_matters(runs)
    assert any("restart_switch" in ln for ln in runs[0][1])


@pytest.mark.slow
def test_experiment_same_seed_same_json_line_across_processes(tmp_path):
    """AISID and the load-aware DNS on Abilene: the same records and the same JSON line."""
    base = ["experiment", "aisid-vs-dns", "--topology", "abilene", "--requests", "80",
            "--methods", "aisid", "dns-load", "--no-report"]  # fmt: skip
    runs = _runs(tmp_path, base, [0, 0, 1], timeout_s=600)
    _assert_same_and_seed_matters(runs)

    def line(lines: list[str]) -> dict[str, Any]:
        d = json.loads(next(ln for ln in lines if ln.startswith("{")))
        return {k: v for k, v in d.items() if k not in ("wall_s", "command")}

    assert line(runs[0][1]) == line(runs[1][1])
    assert {r["method"] for r in runs[0][0]} == {"aisid", "dns-load"}


class _Client:
    def __init__(self, recs: list[RequestRecord]) -> None:
        self.records = {r.request_id: r for r in recs}


def _rec(rid: int, t_us: float, node: int) -> RequestRecord:
    return RequestRecord(rid, "2001:db8::1", "udp", 100, 10, 1.0, 1e6, 1000, 3,
                         t_start_us=t_us, node_id=node, outcome="ok")  # fmt: skip


def test_dump_rows_compare_and_cli(tmp_path, capsys):
    clients = {"h2": _Client([_rec(0, 5.0, 1)]), "h1": _Client([_rec(1, 5.0, 2), _rec(0, 1.0, 1)])}
    rows = request_rows(clients, seed=7)
    assert [(r["client"], r["request_id"]) for r in rows] == [("h1", 0), ("h1", 1), ("h2", 0)]
    assert all(r["seed"] == 7 for r in rows)
    a = write_dump(tmp_path / "a.jsonl", rows)
    changed = [dict(r) for r in rows]
    changed[1]["node_id"] = 3
    changed[2]["node_id"] = 4
    b = write_dump(tmp_path / "b.jsonl", changed)
    assert load_dump(a) == rows
    assert diff_main([str(a), str(a)]) == 0
    assert capsys.readouterr().out == "identical: 3 requests\n"
    assert diff_main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "2 of 3 requests differ; first: seed 7 h1 request 1 (started at 5.000 us)"
    )
    assert "node_id 2 -> 3" in out
    assert compare(rows, rows[:2]).text().startswith("1 of 3 requests differ (3 vs 2 rows)")
    (tmp_path / "bad.jsonl").write_text("[1]\n")
    assert diff_main([str(a), str(tmp_path / "bad.jsonl")]) == 2
    assert "bad.jsonl:1: not a JSON object" in capsys.readouterr().err
