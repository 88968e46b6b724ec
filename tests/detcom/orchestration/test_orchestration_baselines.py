"""Greedy (draft), round-robin and random orchestrators on small instances."""

import numpy as np

from agents.detcom.orchestration.baselines import (
    GreedyOrchestrator,
    RandomOrchestrator,
    RoundRobinOrchestrator,
    greedy_assign,
)
from agents.detcom.orchestration.config import small_config
from agents.detcom.orchestration.evaluate import compare, run_method
from agents.detcom.orchestration.vecenv import VecOrchestrationEnv


def test_greedy_batch_hand_checked():
    # Three domains with 10 units of two resources; utilisations 0.25, 0.2, 0.3.
    cap = np.full((3, 2), 10.0)
    used = np.array([[5.0, 0.0], [2.0, 2.0], [0.0, 6.0]])
    requests = np.array([[4.0, 4.0], [1.0, 1.0], [6.0, 1.0]])
    tolerance = np.array([5.0, 1.0, 5.0])
    # Priority: task 0 (largest demand) first -> domain 1 (lowest utilisation, 0.2 -> 0.6);
    # task 1 -> domain 0 (0.25); task 2 (6 units of resource 0) only fits domain 2.
    expected = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(greedy_assign(cap, used, requests, tolerance), expected)
    # A task that fits nowhere stays unassigned (a zero row).
    big = greedy_assign(cap, used, np.array([[11.0, 0.0]]), np.array([1.0]))
    assert big.sum() == 0


def test_greedy_orchestrator_picks_lowest_feasible_utilisation():
    cfg = small_config(n_tasks=60)
    env = VecOrchestrationEnv(cfg, 2, seed=4, auto_reset=False)
    greedy = GreedyOrchestrator()
    greedy.reset(env)
    for _ in range(60):
        req = env.tasks.request[:, env.t].astype(float)
        util = env.utilisation().mean(axis=-1)
        fits = (req[:, None, :] <= env.free() + 1e-9).all(-1)
        expected = np.where(fits, util, np.inf).argmin(axis=1)
        _, _, _, done, info = env.step(*greedy.act(env))
        np.testing.assert_array_equal(info["winner"], np.where(fits.any(1), expected, -1))
    assert done


def test_round_robin_cycles_and_random_only_picks_feasible():
    cfg = small_config(n_tasks=30, load=0.3)
    env = VecOrchestrationEnv(cfg, 1, seed=1, auto_reset=False)
    rr = RoundRobinOrchestrator()
    rr.reset(env)
    winners = [int(env.step(*rr.act(env))[4]["winner"][0]) for _ in range(6)]
    assert winners == [0, 1, 2, 0, 1, 2]
    env = VecOrchestrationEnv(small_config(load=1.8), 4, seed=1, auto_reset=False)
    rnd = RandomOrchestrator(seed=0)
    for _ in range(200):
        req = env.tasks.request[:, env.t].astype(float)
        fits = (req[:, None, :] <= env.free() + 1e-9).all(-1)
        w = env.step(*rnd.act(env))[4]["winner"]
        assert all(fits[n, w[n]] if w[n] >= 0 else not fits[n].any() for n in range(4))


def test_greedy_balances_better_than_random_at_equal_acceptance():
    cfg = small_config()
    out = compare(cfg, [RandomOrchestrator(0), RoundRobinOrchestrator()], seed=0, episodes=4)
    rows = out["methods"]
    assert rows["greedy"]["util_var"] < rows["random"]["util_var"]
    assert rows["random"]["equal_acceptance"] and rows["greedy"]["util_var_ratio_vs_greedy"] == 1.0
    res = run_method(cfg, GreedyOrchestrator(), seed=0, episodes=2)
    assert res.assignments["winner"].shape == (2, cfg.n_tasks)
