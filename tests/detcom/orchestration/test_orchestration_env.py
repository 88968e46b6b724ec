"""The orchestration environment: PettingZoo's own checkers, capacity rules, reward sign."""

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from agents.detcom.orchestration.config import OrchestrationConfig, small_config
from agents.detcom.orchestration.env import OrchestrationParallelEnv
from agents.detcom.orchestration.vecenv import VecOrchestrationEnv


def test_pettingzoo_parallel_api():
    parallel_api_test(OrchestrationParallelEnv(small_config(n_tasks=200)), num_cycles=400)


def test_pettingzoo_seeding_is_deterministic():
    parallel_seed_test(lambda: OrchestrationParallelEnv(small_config(n_tasks=200)))


def test_episode_ends_after_all_tasks_and_agents_leave():
    env = OrchestrationParallelEnv(small_config(n_tasks=30, window=10))
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"dsc_0", "dsc_1", "dsc_2"}
    steps = 0
    while env.agents:
        act = {"bid": np.array([0.5], np.float32), "grant": np.array([2, 2, 2])}
        _, rew, term, _, info = env.step({a: act for a in env.agents})
        steps += 1
        assert len(set(rew.values())) == 1  # one team reward
    assert steps == 30 and all(term.values())
    assert "episode" in info["dsc_0"] and 0.0 <= info["dsc_0"]["episode"]["acceptance"] <= 1.0
    with pytest.raises(RuntimeError):
        env.step({})


def test_invalid_action_is_refused():
    env = OrchestrationParallelEnv(small_config(n_tasks=30))
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step({"dsc_0": {"bid": np.array([0.5], np.float32), "grant": np.array([9, 0, 0])}})
    with pytest.raises(ValueError):
        env.step({"dsc_0": {"bid": np.array([1.5], np.float32), "grant": np.array([0, 0, 0])}})
    with pytest.raises(ValueError):
        env.step({"dsc_0": [1, 2, 2, 2]})


def test_case_study_defaults():
    cfg = OrchestrationConfig()
    assert cfg.n_domains == 5 and cfg.n_tasks == 3000
    assert cfg.cores == 1000 and cfg.tflops == 1000
    res = cfg.reserve()
    # Reserve only compute and storage, more where unexpected tasks arrive more often.
    assert (res[:, 2] == 0).all() and (np.diff(res[:, 0]) >= 0).all() and res[0, 0] > 0


def test_capacity_and_reserve_are_never_exceeded():
    cfg = small_config(load=1.6)  # overloaded: many claims must be refused
    env = VecOrchestrationEnv(cfg, 4, seed=1, auto_reset=False)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        grants = rng.integers(0, cfg.n_grant, size=(env.n, env.m, 3))
        done = env.step(rng.uniform(0.1, 1.0, size=(env.n, env.m)), grants)[3]  # all claim
        overflow = np.maximum(env.unexp_used - env.reserve, 0.0)
        assert (env.flow_used + overflow <= env.flow_cap + 1e-6).all()
        assert (env.flow_used + env.unexp_used <= env.cap + 1e-6).all()
    assert env.episode_metrics["acceptance"].max() < 0.95


def test_declining_everything_rejects_and_is_penalised():
    cfg = small_config(n_tasks=100)
    env = VecOrchestrationEnv(cfg, 1, seed=2, auto_reset=False)
    total = 0.0
    for _ in range(100):
        _, _, r, done, _ = env.step(np.zeros((1, 3)), np.zeros((1, 3, 3), dtype=np.int64))
        total += float(r[0])
    assert done and env.episode_metrics["acceptance"][0] == 0.0
    assert total < -1.0  # domains sit below the target utilisation


def test_literal_reward_rewards_idleness():
    """The paper's r_m as printed is largest for an empty domain: why we default to deviation."""
    cfg = small_config(n_tasks=50, reward="literal", deadline_penalty=0.0)
    decline = VecOrchestrationEnv(cfg, 1, seed=2, auto_reset=False)
    accept = VecOrchestrationEnv(cfg, 1, seed=2, auto_reset=False)
    r_decline = r_accept = 0.0
    full = np.full((1, 3, 3), 2, dtype=np.int64)
    for _ in range(50):
        r_decline += float(decline.step(np.zeros((1, 3)), full)[2][0])
        r_accept += float(accept.step(np.ones((1, 3)), full)[2][0])
    assert r_decline > r_accept


def test_partial_grant_stretches_the_task_and_can_miss_its_deadline():
    cfg = small_config(n_tasks=10, window=10)
    env = VecOrchestrationEnv(cfg, 1, seed=5, auto_reset=False)
    req = env.tasks.request[0, 0].astype(float)
    bids = np.array([[0.0, 0.7, 0.0]])  # only domain 1 claims, with half of everything
    env.step(bids, np.zeros((1, 3, 3), dtype=np.int64))
    assert env._winner[0, 0] == 1
    np.testing.assert_allclose(env.flow_used[0, 1], 0.5 * req, rtol=1e-5)
    execution = env.tasks.actual[0, 0] / 0.5
    assert env._met[0, 0] == (execution <= env.tasks.tolerance[0, 0])


def test_highest_fitting_bid_wins():
    cfg = small_config(n_tasks=10)
    env = VecOrchestrationEnv(cfg, 1, seed=5, auto_reset=False)
    full = np.full((1, 3, 3), 2, dtype=np.int64)
    _, _, _, _, info = env.step(np.array([[0.2, 0.9, 0.5]]), full)
    assert info["winner"][0] == 1 and info["fits"].all()
    env.flow_used[0, 1] = env.flow_cap[1]  # domain 1 is now full: its claim cannot fit
    _, _, _, _, info = env.step(np.array([[0.2, 0.9, 0.5]]), full)
    assert info["winner"][0] == 2 and not info["fits"][0, 1]
    with pytest.raises(ValueError):
        env.step(np.array([[0.2, np.nan, 0.5]]), full)


def test_same_seed_same_tasks_for_every_method():
    cfg = small_config()
    a = VecOrchestrationEnv(cfg, 3, seed=9)
    b = VecOrchestrationEnv(cfg, 3, seed=9)
    c = VecOrchestrationEnv(cfg, 3, seed=10)
    np.testing.assert_array_equal(a.tasks.request, b.tasks.request)
    assert not np.array_equal(a.tasks.request, c.tasks.request)
