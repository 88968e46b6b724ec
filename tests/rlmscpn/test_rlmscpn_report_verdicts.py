"""Predict-and-pick, the report's verdict lines (computed from their tables) and file names
without absolute paths in committed results."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from agents.rlmscpn.baselines import PredictAndPick, pick, predicted_response_ms
from agents.rlmscpn.features import Snapshot
from agents.rlmscpn.policy import ComputeNodeState, NetworkState, PredictAndPickPolicy, TaskRequest
from agents.rlmscpn.portable import data_ref, portable_text, resolve_data_ref
from agents.rlmscpn.report_extra import (
    PP,
    PP_TASK_SEEDS,
    _pp_row_reusable,
    pp_summary,
    pp_verdict,
    transfer_scenario,
    transfer_summary,
    transfer_verdict,
)
from agents.rlmscpn.report_md import _encoder_verdict, _tasktype_verdict
from agents.rlmscpn.runner import run_heuristic
from agents.rlmscpn.scenario import Scenario
from topo import abilene

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "agents/rlmscpn/report/REPORT.md"


def _snap(backlog, pred, delay, avail, data_mb=1.0) -> Snapshot:
    n = len(pred)
    return Snapshot(
        access_point=0,
        candidates=np.arange(10, 10 + n),
        pred_ms=np.asarray(pred, float),
        backlog_ms=np.asarray(backlog, float),
        node_hops=np.ones(n),
        path_delay_ms=np.asarray(delay, float),
        path_available_mbps=np.asarray(avail, float),
        path_hops=np.ones((n, 2)),
        data_mb=data_mb,
    )


def test_predicted_response_by_hand():
    # 1 MB = 8 Mb; at 1000 Mb/s that is 8 ms on one path, 4 ms on each of two
    s = _snap([0.0, 20.0], [5.0, 1.0], [[2.0, 3.0], [1.0, 1.0]], [[1000, 1000], [1000, 1000]])
    splits = np.array([[0.5, 0.5], [1.0, 0.0]])
    got = predicted_response_ms(s, splits)
    np.testing.assert_allclose(got, [max(2 + 4, 3 + 4) + 5.0, max(1 + 8, 20.0) + 1.0])
    assert pick(s, splits) == 0
    s.backlog_ms[1] = 0.0  # without the backlog the second node is faster
    assert pick(s, splits) == 1


def test_predict_and_pick_runs_and_reacts_to_backlog(abilene_sim):
    pp = PredictAndPick(20.0)
    node, split = pp.act(abilene_sim)
    assert node in abilene_sim.candidates().tolist()
    assert split.sum() == pytest.approx(1.0) and (split >= 0).all()
    abilene_sim.busy_until[node] = abilene_sim.now + 1e6  # that node is now busy for ages
    assert pp.act(abilene_sim)[0] != node
    stats = run_heuristic(pp, abilene_sim, [5], 20)
    assert len(stats.response_ms) == 20 and stats.mean_ms > 0


def test_predict_and_pick_policy_interface():
    topo = abilene()
    policy = PredictAndPickPolicy(topo)
    compute = [ComputeNodeState(1, "1080ti_1", 0.0), ComputeNodeState(3, "2080ti_1", 0.0)]
    req = TaskRequest(access_point=7, arch=[1, 2, 3, 1, 2, 3], data_mb=2.0)
    d = policy.decide(req, NetworkState(compute=compute))
    assert d.node in (1, 3) and abs(sum(d.split) - 1) < 1e-9
    busy = [ComputeNodeState(c.node, c.device, 1e6 if c.node == d.node else 0.0) for c in compute]
    assert policy.decide(req, NetworkState(compute=busy)).node != d.node
    with pytest.raises(ValueError):
        policy.decide(TaskRequest(7, [1, 2, 3, 1, 2, 3], 0.0), NetworkState(compute=compute))


def test_pp_verdict_follows_the_numbers():
    rows = {
        "abilene": {"per_seed": [{"RLMS-CPN": 15.8, PP: 16.0, "tasks": 500}]},
        "asn": {"per_seed": [{"RLMS-CPN": 14.0, PP: 13.5, "tasks": 500}]},
    }
    sums = {k: pp_summary(v) for k, v in rows.items()}
    assert sums["abilene"]["improvement"] == pytest.approx(1.25)
    text = pp_verdict(sums)
    assert text.startswith("RLMS-CPN is NOT below predict-and-pick on asn (-3.70%)")
    assert "it is below it on abilene" in text
    sums["asn"] = pp_summary({"per_seed": [{"RLMS-CPN": 13.0, PP: 13.5, "tasks": 500}]})
    assert pp_verdict(sums).startswith("RLMS-CPN is below predict-and-pick on every topology")


def test_transfer_verdict_follows_the_numbers():
    win = [{"SyncGNN": 10.0, "MLP": 11.0, PP: 12.0, "tasks": 1}] * 2
    lose = [{"SyncGNN": 11.0, "MLP": 10.0, PP: 12.0, "tasks": 1}] * 2
    s = {"a": transfer_summary(win), "b": transfer_summary(lose)}
    assert transfer_verdict(s) == "SyncGNN is below the MLP on a (+9.09%); NOT on b (-10.00%)."
    assert transfer_verdict({"a": s["a"]}).startswith("SyncGNN is below the MLP on every")
    assert transfer_verdict({"b": s["b"]}).startswith("SyncGNN is NOT below the MLP on any")


def test_transfer_summary_over_training_seeds():
    def row(ts, vs, sync, mlp):
        return {"train_seed": ts, "variant_seed": vs, "SyncGNN": sync, "MLP": mlp, PP: 1.0}

    # seed 0: +10 % and 0 % -> +5 %; seed 1: -10 % on both variants
    rows = [row(0, 1, 9.0, 10.0), row(0, 2, 10.0, 10.0), row(1, 1, 11.0, 10.0)]
    rows.append(row(1, 2, 11.0, 10.0))
    s = transfer_summary(rows)
    assert s["per_seed"] == pytest.approx({0: 5.0, 1: -10.0})
    assert s["improvement"] == pytest.approx(-2.5)
    assert s["improvement_sd"] == pytest.approx(np.std([5.0, -10.0], ddof=1))
    assert (s["syncgnn_wins"], s["train_seeds"], s["pairs_won"], s["pairs"]) == (1, 2, 1, 4)
    assert s["variants"] == 2 and s["SyncGNN"] == pytest.approx(10.25)


def test_predictpick_rows_are_kept_only_when_their_inputs_are_the_same():
    old_run = {"source": "run", "policy": "p (sha256:a)", "per_seed": [{"task_seed": 0}]}
    old_run["per_seed"] = [{"task_seed": s} for s in PP_TASK_SEEDS]
    assert _pp_row_reusable(old_run, "p (sha256:a)")
    assert not _pp_row_reusable(old_run, "p (sha256:b)")  # retrained policy
    assert not _pp_row_reusable(old_run, None)
    stored = {"source": "stored", "per_seed": [{"task_seed": 0}]}
    assert _pp_row_reusable(stored, None)
    assert not _pp_row_reusable(stored, "p (sha256:a)")  # a policy appeared: run it
    assert not _pp_row_reusable(None, None)


def test_encoder_and_tasktype_verdicts_flip():
    assert _encoder_verdict(20.0, 18.75).startswith("SyncGNN improves on the MLP encoder")
    assert "is not reproduced: -0.20%" in _encoder_verdict(-0.2, 18.75)
    row = {"RLMS-CPN": 10.0, "Base1": 11, "Base2": 12, "Base3": 9.0, "Base4": 13, "GNN+DQN": 14}
    t = {"io": {"0.1": row, "1.0": row, "10.0": row}, "compute": dict(row, Base3=10.5)}
    text = _tasktype_verdict(t)
    assert text.startswith("RLMS-CPN is the lowest on compute-bound; it is beaten on IO 10 x")
    assert "Base3 9.0 ms" in text


def test_transfer_variants_change_what_they_say():
    from agents.rlmscpn.config import abilene_config

    base = Scenario("abilene", abilene(), abilene_config(), 0)
    placed = transfer_scenario(base, "placement", 1)
    assert sorted(placed.cfg.devices.values()) == sorted(base.cfg.devices.values())
    assert placed.cfg.devices != base.cfg.devices
    failed = transfer_scenario(base, "failed_link", 1)
    assert failed.topology.n_links == base.topology.n_links - 2 and failed.topology.is_connected()
    cap = transfer_scenario(base, "capacity", 1).topology.capacity_mbps
    ratio = cap / base.topology.capacity_mbps
    assert ((ratio >= 0.25) & (ratio <= 1.0)).all() and ratio.std() > 0
    with pytest.raises(ValueError):
        transfer_scenario(base, "nope", 1)


def _section(md: str, title: str) -> str:
    return md.split(title)[1].split("\n## ")[0]


def test_committed_report_verdicts_match_their_tables():
    md = REPORT.read_text()
    sec = _section(md, "## RLMS-CPN against predict-and-pick")
    imps = {}
    for line in sec.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[2].isdigit():
            imps[cells[0]] = float(cells[5].split("%")[0])
    assert len(imps) == 7
    sums = {n: {"improvement": v} for n, v in imps.items()}
    assert f"**Verdict: {pp_verdict(sums)}**" in sec
    t4 = _section(md, "## Table 4: SyncGNN vs the MLP encoder")
    avg = float(re.search(r"\| \*\*Avg\*\* \| \| \| \*\*(-?[\d.]+)%\*\*", t4).group(1))
    assert _encoder_verdict(avg, 18.75) in t4
    tr = _section(md, "## SyncGNN vs MLP away from the training scenario")
    cases = {}
    for line in tr.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and re.fullmatch(r"\d+ x \d+ x \d+", cells[1]):
            cases[cells[0].split(":")[0]] = {"improvement": float(cells[4].split("%")[0])}
    assert len(cases) == 5 and "none" in cases
    none = cases.pop("none")
    assert f"**Verdict: {transfer_verdict(cases)}**" in tr
    assert f"In the training scenario itself SyncGNN vs MLP is {none['improvement']:+.2f}%" in tr


def test_portable_names(tmp_path):
    data = tmp_path / "data"
    (data / "traffic").mkdir(parents=True)
    f = data / "traffic" / "tm.txt"
    f.write_text("1 2 3\n")
    assert data_ref(f, data) == "data:traffic/tm.txt"
    assert resolve_data_ref("data:traffic/tm.txt", data) == str(f)
    assert (
        data_ref(ROOT / "agents/rlmscpn/policies/abilene", data)
        == "agents/rlmscpn/policies/abilene"
    )
    text = portable_text(f"G (12 nodes; file:{f}; capacities x2 (median 10 Gbit/s))", data)
    assert re.fullmatch(
        r"G \(12 nodes; file:data:traffic/tm\.txt \(sha256:[0-9a-f]{12}\); capacities x2 "
        r"\(median 10 Gbit/s\)\)",
        text,
    )
    assert portable_text("/elsewhere/dir/x.json", data) == "x.json"


def test_committed_results_name_no_absolute_paths():
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "agents"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    hits = []
    for name in files:
        if name.endswith((".json", ".md")):
            text = (ROOT / name).read_text(errors="replace")
            hits += [f"{name}: {m}" for m in re.findall(r"(?:/work/|/root/|/home/)\S*", text)]
    assert not hits, hits[:5]
