"""Baselines: the LP against hand-solved instances, ECMP, and the node rules."""

from __future__ import annotations

import numpy as np
import pytest

from agents.rlmscpn.baselines import (
    HeuristicScheduler,
    distinct_mask,
    ecmp_split,
    min_max_utilisation_split,
)
from agents.rlmscpn.dqn import bandwidth_reward


def test_lp_two_disjoint_paths_hand_solved():
    # Two one-link paths of 10 Mbit/s carrying 2 and 6 Mbit/s; 8 Mbit/s to place.
    # Equal utilisation: (2 + 8x)/10 = (6 + 8(1-x))/10  =>  x = 3/4, U = 0.8.
    x, u = min_max_utilisation_split(
        [np.array([0]), np.array([1])], np.array([10.0, 10.0]), np.array([2.0, 6.0]), 8.0
    )
    assert x == pytest.approx([0.75, 0.25], abs=1e-6)
    assert u == pytest.approx(0.8, abs=1e-6)


def test_lp_shared_bottleneck_and_capacities_hand_solved():
    # Paths 0:[link0, link2] and 1:[link1, link2] share link2 (cap 100, idle); link0 has cap 10,
    # link1 cap 30, both idle; demand 20. Max over (20x/10, 20(1-x)/30, 20/100): equalise
    # 2x = (2/3)(1-x) => x = 1/4, U = 0.5 (link2 at 0.2 is not binding).
    x, u = min_max_utilisation_split(
        [np.array([0, 2]), np.array([1, 2])],
        np.array([10.0, 30.0, 100.0]),
        np.zeros(3),
        20.0,
    )
    assert x == pytest.approx([0.25, 0.75], abs=1e-6)
    assert u == pytest.approx(0.5, abs=1e-6)


def test_lp_ignores_duplicate_paths():
    x, _ = min_max_utilisation_split(
        [np.array([0]), np.array([0]), np.array([0])], np.array([10.0]), np.zeros(1), 5.0
    )
    assert x == pytest.approx([1.0, 0.0, 0.0])


def test_lp_small_demand_avoids_the_hot_path():
    # Path 0 already runs at 90 %; with a small demand everything goes to the idle path 1.
    x, u = min_max_utilisation_split(
        [np.array([0]), np.array([1])], np.array([10.0, 10.0]), np.array([9.0, 0.0]), 1.0
    )
    assert x[1] > 0.99 or u == pytest.approx(0.9)


def test_ecmp_is_equal_over_distinct_paths():
    assert ecmp_split([[1, 2, 3], [1, 4, 3], [1, 5, 3]]) == pytest.approx([1 / 3] * 3)
    assert ecmp_split([[1, 2], [1, 3, 2], [1, 3, 2]]) == pytest.approx([0.5, 0.5, 0.0])
    assert distinct_mask([[1], [1]]).tolist() == [True, False]


def test_node_rules(abilene_sim):
    abilene_sim.reset(0, 10)
    task = abilene_sim.task
    fastest = HeuristicScheduler("fastest", "ecmp").choose_node(abilene_sim)
    expect = np.argmin(abilene_sim.predicted_ms(task) + abilene_sim.backlog_ms())
    assert fastest == expect
    nearest = HeuristicScheduler("nearest", "ecmp").choose_node(abilene_sim)
    _, dist = abilene_sim._ap_info[task.access_point]
    assert dist[nearest] == dist.min()
    node, split = HeuristicScheduler("nearest", "lp", lp_window_ms=10.0).act(abilene_sim)
    assert node == nearest and split.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        HeuristicScheduler("closest", "ecmp")


def test_dqn_bandwidth_reward_prefers_bandwidth(abilene_sim):
    abilene_sim.reset(0, 10)
    snap = abilene_sim.snapshot()
    snap.path_available_mbps[:] = 100.0
    snap.path_available_mbps[2, 1] = 9000.0
    snap.pred_ms[:] = 10.0
    snap.backlog_ms[:] = 0.0
    r = {(i, m): bandwidth_reward(snap, i, m) for i in range(5) for m in range(4)}
    assert max(r, key=r.get) == (2, 1)
