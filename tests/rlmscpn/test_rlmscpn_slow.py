"""Full-length training to the targets (minutes): ``pytest -m slow tests/rlmscpn``."""

from __future__ import annotations

import numpy as np
import pytest

from agents.rlmscpn.experiment import improvement, tuned_baselines
from agents.rlmscpn.runner import eval_seeds, run_heuristic, run_model
from agents.rlmscpn.train import TrainConfig, Trainer


@pytest.mark.slow
def test_abilene_training_beats_every_baseline_by_the_papers_margin(abilene_sim):
    tc = TrainConfig(seed=0, total_steps=150_000, eval_every_steps=25_000)
    model = Trainer(abilene_sim, tc, progress=False).run().model
    seeds = eval_seeds(5)
    ours = run_model(model, abilene_sim, seeds).mean_ms
    base = {
        n: run_heuristic(b, abilene_sim, seeds).mean_ms
        for n, b in tuned_baselines(abilene_sim).items()
    }
    imps = [improvement(ours, b) for b in base.values()]
    assert min(imps) > 0, base
    assert np.mean(imps) >= 22.61, (ours, base)
