"""Table-5 baselines and the metric on cases that can be checked by hand."""

import numpy as np
import pytest

from agents.latency.baselines import BRPNASGCN, FlopsLinear, LayerwiseSum
from agents.latency.evaluate import normalised_mse, pick_labelled
from agents.latency.nb201 import all_ops, flops, random_ops


def test_normalised_mse_by_hand():
    # span 4: errors 0 and 2 -> normalised 0 and 0.5 -> mean square 0.125
    assert normalised_mse(np.array([1.0, 2.0]), np.array([1.0, 4.0]), 0.0, 4.0) == pytest.approx(
        0.125
    )
    assert normalised_mse(np.array([3.0]), np.array([3.0]), 1.0, 9.0) == 0.0


def test_flops_linear_recovers_a_linear_device():
    ops = random_ops(50, 0)
    y = 0.05 * flops(ops) + 2.0
    model = FlopsLinear().fit(ops, y)
    assert model.coef == pytest.approx([0.05, 2.0])
    others = random_ops(20, 1)
    assert model.predict(others) == pytest.approx(0.05 * flops(others) + 2.0)


def test_layerwise_sum_recovers_the_op_table():
    # constant 1 ms; skip 0.1, conv1x1 0.5, conv3x3 2.0, avg-pool 0.3 ms per edge
    table = np.array([0.0, 0.1, 0.5, 2.0, 0.3])
    ops = random_ops(50, 2)
    y = 1.0 + table[ops].sum(axis=1)
    model = LayerwiseSum().fit(ops, y)
    got = model.op_table_ms
    assert got["constant"] == pytest.approx(1.0)
    assert [
        got[k] for k in ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    ] == pytest.approx(table)
    # the cell |conv3x3|+|conv3x3|skip|+|skip|none|pool| by hand: 1 + 2 + 2 + 0.1 + 0.1 + 0 + 0.3
    assert model.predict(np.array([[3, 3, 1, 1, 0, 4]]))[0] == pytest.approx(5.5)


def test_layerwise_sum_keeps_op_latencies_non_negative():
    ops = random_ops(50, 3)
    y = 5.0 - 0.4 * (ops == 1).sum(axis=1) + (ops == 3).sum(axis=1)  # skip "speeds up"
    model = LayerwiseSum().fit(ops, y)
    assert np.all(model.coef >= 0)


def test_brpnas_gcn_learns_from_its_labelled_cells():
    ops = all_ops()[::311][:50]
    y = 3.0 + 2.0 * (ops == 3).sum(axis=1) + 0.5 * (ops == 2).sum(axis=1)
    untrained = BRPNASGCN(epochs=0, hidden=32, seed=0).fit(ops, y)
    trained = BRPNASGCN(epochs=150, hidden=32, seed=0).fit(ops, y)
    err0 = np.mean((untrained.predict(ops) - y) ** 2)
    err1 = np.mean((trained.predict(ops) - y) ** 2)
    assert err1 < 0.2 * err0  # R^2 > 0.8 on its own training cells
    again = BRPNASGCN(epochs=150, hidden=32, seed=0).fit(ops, y)
    assert np.allclose(again.predict(ops), trained.predict(ops))  # seeded


def test_pick_labelled_is_seeded_and_validated():
    assert np.array_equal(pick_labelled(100, 50, 3), pick_labelled(100, 50, 3))
    assert len(set(pick_labelled(100, 50, 3).tolist())) == 50
    with pytest.raises(ValueError):
        pick_labelled(40, 50, 0)
