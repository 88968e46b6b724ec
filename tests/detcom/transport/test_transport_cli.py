"""CLI evaluation output and the figure helpers."""

import json

import numpy as np

from agents.detcom.transport.__main__ import main
from agents.detcom.transport.plots import (
    convergence_episode,
    moving_average,
    plot_convergence,
    plot_total_cost,
)


def test_eval_json(capsys):
    assert (
        main(["eval", "--methods", "random", "sa", "--scs", "15", "--n-tasks", "60", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"15"} and set(out["15"]) == {"random", "sa"}
    assert out["15"]["sa"]["total_cost"] < out["15"]["random"]["total_cost"]


def test_convergence_helpers_and_plots(tmp_path):
    assert np.allclose(moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    curve = [100.0] * 50 + [10.0] * 200
    ep = convergence_episode(curve, window=10, tol=0.05)
    assert 50 <= ep <= 60
    assert convergence_episode([5.0] * 20, window=5) == 0
    a = plot_convergence(
        {"d3qn": curve, "dqn": curve[::-1]}, tmp_path / "a.png", references={"sa": 20.0}
    )
    b = plot_total_cost(
        {15: {"d3qn": 1.0, "sa": 2.0}, 60: {"d3qn": 1.5, "sa": 2.5}}, tmp_path / "b.png"
    )
    assert a.stat().st_size > 1000 and b.stat().st_size > 1000


def test_eval_over_several_checkpoint_directories(tmp_path, capsys):
    import shutil

    from agents.detcom.transport import api

    stem = api.default_checkpoint("d3qn", 60)
    dirs = []
    for name in ("seed_a", "seed_b"):
        d = tmp_path / name
        d.mkdir()
        for suffix in (".safetensors", ".json"):
            shutil.copy(stem.with_suffix(suffix), d / (stem.name + suffix))
        dirs.append(str(d))
    args = ["eval", "--methods", "d3qn", "sa", "--scs", "60", "--n-tasks", "90"]
    assert main([*args, "--json", "--checkpoints", *dirs]) == 0
    both = json.loads(capsys.readouterr().out)["60"]
    assert main([*args, "--json"]) == 0
    one = json.loads(capsys.readouterr().out)["60"]
    runs = both["d3qn"]["runs"]
    assert [r["checkpoint"] for r in runs] == [f"{d}/{stem.name}" for d in dirs]
    assert both["d3qn"]["total_cost"] == one["d3qn"]["total_cost"] == runs[1]["total_cost"]
    assert both["d3qn"]["total_cost_std"] == 0.0 and "runs" not in both["sa"]
    assert both["sa"] == one["sa"]
    assert main([*args, "--checkpoints", *dirs]) == 0
    assert "over 2:" in capsys.readouterr().out


def test_shipped_training_seeds_are_complete_and_labelled():
    from agents.detcom.transport import api
    from agents.detcom.transport.dqn import load_q_network

    dirs = api.training_seed_dirs()
    assert dirs[0] == api.POLICY_DIR and len(dirs) >= 2
    for n, d in enumerate(dirs):
        for method in api.LEARNED:
            for scs in api.SCS_KHZ:
                _, tcfg, dqn, meta = load_q_network(d / f"transport_{method}_scs{scs}")
                assert (dqn.method, tcfg.scs_khz) == (method, scs)
                assert meta["provenance"]["seed"] == n  # policies/seeds/seedN holds seed N
                assert "train" in meta["provenance"]["command"]
