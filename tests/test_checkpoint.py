"""Checkpoints round-trip through safetensors + JSON and refuse foreign files."""

import json

import pytest
import torch

from agents.common.checkpoint import (
    load_checkpoint,
    load_training_state,
    save_checkpoint,
    save_training_state,
)


def test_checkpoint_round_trip(tmp_path):
    net = torch.nn.Linear(3, 2)
    stem = save_checkpoint(tmp_path / "p", net.state_dict(), {"hidden": 3}, {"seed": 5})
    state, meta = load_checkpoint(stem.with_suffix(".safetensors"))
    other = torch.nn.Linear(3, 2)
    other.load_state_dict(state)
    assert torch.equal(other.weight, net.weight)
    assert meta["config"] == {"hidden": 3} and meta["provenance"]["seed"] == 5


def test_checkpoint_refuses_foreign_sidecar(tmp_path):
    stem = save_checkpoint(tmp_path / "p", {"w": torch.zeros(1)}, {})
    stem.with_suffix(".json").write_text(json.dumps({"format": "pickle"}))
    with pytest.raises(ValueError, match="not a"):
        load_checkpoint(stem)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing")


def test_training_state_round_trip(tmp_path):
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    opt.step()
    save_training_state(tmp_path / "s.pt", {"opt": opt.state_dict(), "step": 3})
    back = load_training_state(tmp_path / "s.pt")
    assert (
        back["step"] == 3
        and back["opt"]["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    )
