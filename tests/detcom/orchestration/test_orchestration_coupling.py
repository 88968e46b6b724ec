"""Two-scale coupling: orchestration's targets reach the transport, which must honour them."""

import numpy as np
import pytest

from agents.detcom.coupling import TransportUnavailable, joint_evaluate, orchestrate, transport_api


def test_orchestration_fixes_each_task_target():
    inputs, summary = orchestrate("greedy", seed=2, n_tasks=100)
    assert inputs.targets.shape == (100,) and inputs.targets.max() < 5
    accepted = inputs.targets >= 0
    assert accepted.mean() == pytest.approx(summary["acceptance"])
    assert (inputs.placed_util[accepted] > 0).all() and (inputs.placed_util[~accepted] == 0).all()
    assert not inputs.compute_met[~accepted].any()


def test_joint_greedy_sa_delivers_to_the_chosen_domains():
    try:
        transport_api()
    except TransportUnavailable as exc:
        pytest.skip(str(exc))
    out = joint_evaluate("greedy", "sa", scs_khz=60, seed=1, n_tasks=60)
    assert out["coupling_satisfied"] == 1.0
    assert out["total_cost"] > 0 and 0.0 <= out["joint_success"] <= 1.0
    assert out["joint_success"] <= out["acceptance"] + 1e-12
    assert np.isfinite(out["util_var"])
