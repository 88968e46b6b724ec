"""Verdict lines of the Det(Com)² report are computed from the table beside them; the
orchestration observation extras and the variance reward measure what the table measures."""

import re
from pathlib import Path

import numpy as np
import pytest

from agents.common.checkpoint import portable_command
from agents.detcom.orchestration.config import small_config
from agents.detcom.orchestration.vecenv import ObsLayout, VecOrchestrationEnv, variance_after
from agents.detcom.report.build import orchestration_verdict

REPORT = Path(__file__).resolve().parents[2] / "agents/detcom/report/REPORT.md"


def _row(var: float, acc: float = 0.999) -> dict:
    return {"util_var": var, "acceptance": acc}


def test_verdict_names_the_method_that_beats_mappo():
    rows = {"mappo": _row(0.00404), "greedy": _row(0.00656), "greedy_balance": _row(0.00179)}
    text = orchestration_verdict(rows)
    assert "NOT below greedy_balance 0.00179 (2.26 x)" in text
    assert "it is below greedy" in text
    assert text.endswith("the lowest variance in the table is greedy_balance's")


def test_verdict_flips_when_mappo_is_lowest():
    rows = {"mappo": _row(0.00150), "greedy": _row(0.00656), "greedy_balance": _row(0.00179)}
    assert orchestration_verdict(rows) == (
        "MAPPO's utilisation variance (0.00150) is below every other method's in the table, "
        "at equal acceptance"
    )


def test_verdict_refuses_variance_bought_with_rejections():
    rows = {"mappo": _row(0.001, acc=0.95), "greedy": _row(0.006, acc=0.999)}
    text = orchestration_verdict(rows)
    assert "not at equal acceptance with greedy" in text


def _orchestration_table(md: str) -> tuple[dict, str]:
    section = md.split("## Cross-domain compute orchestration")[1].split("\n## ")[0]
    verdict = re.search(r"\*\*Verdict: (.*?)\.\*\*", section).group(1)
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"[\d.]+", cells[1]):
            rows[cells[0]] = {"util_var": float(cells[1]), "acceptance": float(cells[3])}
    return rows, verdict


def test_committed_report_verdict_matches_its_table():
    rows, verdict = _orchestration_table(REPORT.read_text())
    assert {"mappo", "greedy", "greedy_balance"} <= set(rows)
    assert verdict == orchestration_verdict(rows)


def test_variance_after_placement_is_the_variance_of_the_placed_state():
    rng = np.random.default_rng(0)
    util = rng.uniform(0, 1, size=(4, 5, 3))
    cap = rng.uniform(50, 100, size=(5, 3))
    req = rng.uniform(0, 10, size=(4, 3))
    got = variance_after(util, req, cap)
    for m in range(5):
        trial = util.copy()
        trial[:, m] += req / cap[m]
        np.testing.assert_allclose(got[:, m], trial.var(axis=1).mean(axis=-1), rtol=1e-12)


def test_balance_features_and_variance_reward():
    cfg = small_config(balance_features=True, reward="variance")
    env = VecOrchestrationEnv(cfg, 2, seed=1)
    lay = ObsLayout(cfg.n_domains, True)
    assert env.obs_dim == lay.dim == ObsLayout(cfg.n_domains).dim + 3
    for _ in range(25):
        bids = np.zeros((2, cfg.n_domains))
        bids[:, 0] = 1.0
        obs, _, _, _, _ = env.step(bids, np.full((2, cfg.n_domains, 3), 2))
    u = env.utilisation()
    cols = lay.balance_cols
    np.testing.assert_allclose(obs[:, 0, cols.start], 100 * u.var(axis=1).mean(-1), rtol=1e-5)
    # every task went to domain 0: placing one more there raises the variance, elsewhere not
    assert (obs[:, 0, cols.start + 2] > 0).all()
    assert (obs[:, 1:, cols.start + 2] < obs[:, :1, cols.start + 2]).all()
    # variance reward: sum over domains = -scale * M * the variance the table measures
    bids = np.zeros((2, cfg.n_domains))
    bids[:, 1] = 1.0
    env.step(bids, np.full((2, cfg.n_domains, 3), 2))
    u = env.utilisation()
    expected = -cfg.variance_scale * cfg.n_domains * u.var(axis=1).mean(-1)
    if env.t % cfg.window:  # the slot did not advance: utilisation is the step's
        np.testing.assert_allclose(env.reward_terms().sum(axis=1), expected, rtol=1e-9)
    with pytest.raises(ValueError, match="reward must be one of"):
        small_config(reward="nope")


def test_provenance_command_has_no_absolute_path():
    argv = ["/x/repo/agents/detcom/__main__.py", "train"]
    assert portable_command(argv).startswith("python ")
    root = Path(__file__).resolve().parents[2]
    argv = [str(root / "agents/detcom/__main__.py"), "train", "--out", str(root / "runs/a")]
    assert portable_command(argv) == "python -m agents.detcom train --out runs/a"
