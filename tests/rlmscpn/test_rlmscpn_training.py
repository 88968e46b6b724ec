"""Seeded short training runs: learning beats Base2; Algorithm 1 runs; Ctrl-C then resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.rlmscpn.baselines import paper_baselines
from agents.rlmscpn.runner import eval_seeds, run_heuristic, run_model
from agents.rlmscpn.train import TrainConfig, Trainer


def test_short_ppo_run_beats_nearest_node_baseline(abilene_sim):
    tc = TrainConfig(seed=0, total_steps=10_240, eval_every_steps=5_120, val_episodes=3)
    result = Trainer(abilene_sim, tc, progress=False).run()
    seeds = eval_seeds(3)
    ours = run_model(result.model, abilene_sim, seeds).mean_ms
    base2 = run_heuristic(paper_baselines()["Base2"], abilene_sim, seeds).mean_ms
    untrained = run_model(Trainer(abilene_sim, tc, progress=False).model, abilene_sim, seeds)
    assert ours < base2, (ours, base2)
    assert ours < untrained.mean_ms
    assert [h["steps"] for h in result.history] == [5_120, 10_240]


def test_algorithm_1_updates_online(abilene_sim):
    tc = TrainConfig.paper(seed=0, total_steps=128, eval_every_steps=10**9, val_episodes=1)
    assert tc.n_envs == 1 and tc.gamma == 0.99 and tc.ent_coef == 0.0 and not tc.adv_norm
    trainer = Trainer(abilene_sim, tc, progress=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.run()
    assert trainer.steps == 128
    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("critic") for k in changed)
    assert any(k.startswith("node_actor") for k in changed)
    assert any(k.startswith("path_actor") for k in changed)


def test_interrupt_then_resume(abilene_sim, tmp_path, monkeypatch):
    state = tmp_path / "run.train.pt"
    tc = TrainConfig(seed=3, total_steps=2048, eval_every_steps=10**9, val_episodes=1, n_envs=4)
    trainer = Trainer(abilene_sim, tc, state, progress=False)
    calls = {"n": 0}
    real = Trainer._ppo_update

    def flaky(self, sims):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, sims)

    monkeypatch.setattr(Trainer, "_ppo_update", flaky)
    with pytest.raises(KeyboardInterrupt):
        trainer.run()
    assert state.exists()
    monkeypatch.setattr(Trainer, "_ppo_update", real)
    resumed = Trainer(abilene_sim, tc, state, progress=False)
    assert resumed.steps == 2 * tc.rollout * tc.n_envs
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k])
    resumed.run()
    assert resumed.steps >= tc.total_steps
    with pytest.raises(ValueError, match="different run"):
        Trainer(abilene_sim, TrainConfig(seed=4, total_steps=10), state, progress=False)


def test_deterministic_evaluation_is_repeatable(abilene_sim):
    tc = TrainConfig(seed=1, total_steps=0)
    model = Trainer(abilene_sim, tc, progress=False).model
    a = run_model(model, abilene_sim, eval_seeds(2)).response_ms
    b = run_model(model, abilene_sim, eval_seeds(2)).response_ms
    assert np.array_equal(a, b)
