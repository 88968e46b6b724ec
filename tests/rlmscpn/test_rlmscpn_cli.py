"""The command line: train (tiny budgets) then ``eval --json`` prints one object of all methods."""

from __future__ import annotations

import json

import pytest

from agents.rlmscpn.cli import main


def test_train_then_eval_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "pol"
    rc = main(
        [
            "train",
            "--topology",
            "abilene",
            "--methods",
            "syncgnn,mlp,dqn",
            "--steps",
            "256",
            "--out",
            str(out),
            "--quiet",
            "--predictions",
            "oracle",
        ]
    )
    assert rc == 0
    for suffix in ("", "-mlp", "-dqn"):
        assert (out / f"abilene{suffix}.safetensors").exists()
        assert (out / f"abilene{suffix}.json").exists()
        assert not (out / f"abilene{suffix}.train.pt").exists()
    capsys.readouterr()
    rc = main(
        [
            "eval",
            "--topology",
            "abilene",
            "--tasks",
            "20",
            "--seed",
            "2",
            "--json",
            "--policy-dir",
            str(out),
            "--quiet",
            "--predictions",
            "oracle",
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1
    result = json.loads(printed[0])
    assert set(result) == {"RLMS-CPN", "MLP", "GNN+DQN", "Base1", "Base2", "Base3", "Base4"}
    assert all(v > 0 for v in result.values())


def test_cli_errors_are_clear(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--topology",
                "abilene",
                "--methods",
                "bogus",
                "--out",
                str(tmp_path),
                "--quiet",
            ]
        )
        == 2
    )
    assert "unknown method" in capsys.readouterr().err
    assert main(["eval", "--topology", str(tmp_path / "missing.graphml"), "--json"]) == 2
    assert "no topology file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", "--only"])
