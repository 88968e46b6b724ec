"""Gymnasium's checker on the env; the vector env's batching, autoreset and reproducibility."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents.detcom.transport.env import TransportEnv, TransportVecEnv
from agents.detcom.transport.scenario import TransportConfig, TransportModel
from agents.detcom.transport.sim import TransportSim


def test_gymnasium_env_checker():
    env = TransportEnv(TransportConfig(scs_khz=30), n_tasks=40)
    check_env(env, skip_render_check=True)


def test_single_env_episode_and_bad_action():
    env = TransportEnv(TransportConfig(scs_khz=15), n_tasks=25)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    steps, total, info = 0, 0.0, {}
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(0)
        total += info["cost"]
        steps += 1
        done = term or trunc
    assert steps == 25 and info["episode_cost"] == pytest.approx(total)
    with pytest.raises(ValueError):
        env.step(env.action_space.n)


def test_vector_env_autoresets_and_reproduces():
    venv = TransportVecEnv(TransportConfig(scs_khz=60), num_envs=4, n_tasks=10)
    obs, _ = venv.reset(seed=11)
    assert obs.shape == (4, venv.single_observation_space.shape[0])
    assert venv.observation_space.contains(obs)
    acts = np.zeros(4, dtype=np.int64)
    for t in range(10):
        nobs, rew, term, trunc, info = venv.step(acts)
        assert rew.shape == (4,) and not term.any()
        assert trunc.all() == (t == 9)
    assert "final_obs" in info and info["episode_cost"].shape == (4,)
    assert venv.observation_space.contains(nobs)  # a fresh episode began
    # Same seed, same episodes.
    a, _ = TransportVecEnv(TransportConfig(scs_khz=60), num_envs=4, n_tasks=10).reset(seed=11)
    assert np.array_equal(a, obs)


def test_targets_fix_the_destination_and_local_tasks_are_free():
    cfg = TransportConfig(scs_khz=60)
    targets = np.array([0, 2, 3, 4, 1, 0])
    sim = TransportSim(cfg, n_envs=2, n_tasks=6)
    sim.reset(seed=5, targets=targets)
    assert (sim.tasks.dst == targets).all()
    costs = []
    while not sim.done:
        cur = sim.current()
        _, info = sim.step(np.zeros(2, dtype=np.int64))
        local = cur["src"] == cur["dst"]
        assert (info.cost[local] == 0).all() and info.delivered[local].all()
        costs.append(info.cost)
    with pytest.raises(ValueError, match="one domain per task"):
        sim.reset(seed=5, targets=np.array([1, 2]))


def test_common_random_numbers_across_policies():
    """Two runs on one seed face the same channel and background: equal decisions, equal costs."""
    cfg = TransportConfig(scs_khz=15)
    out = []
    for _ in range(2):
        sim = TransportSim(cfg, n_envs=3, n_tasks=50)
        sim.reset(seed=9)
        c = []
        while not sim.done:
            c.append(sim.step(np.full(3, 5))[1].cost)
        out.append(np.array(c))
    assert np.array_equal(out[0], out[1])


def test_spectrum_levels_and_actions():
    m = TransportModel(TransportConfig(scs_khz=60))
    q, lv = m.decode(np.arange(m.n_actions))
    assert set(q) == {0, 1} and (m.encode(q, lv) == np.arange(m.n_actions)).all()
    assert np.all(np.diff(m.spectrum_levels) > 0)
    # Larger subcarrier spacing: more HARQ transmissions fit in one cycle.
    att = {
        s: TransportModel(TransportConfig(scs_khz=s)).attempts_per_cycle[0] for s in (15, 30, 60)
    }
    assert att == {15: 1, 30: 2, 60: 4}


def test_api_reports_per_task_outcomes_for_the_coupling():
    from agents.detcom.transport import api

    targets = np.array([1, 2, 1, 3, 0, 4, 1, 1])
    r = api.evaluate("sa", 60, seed=2, n_tasks=len(targets), targets=targets)
    assert len(r["per_task_met"]) == len(targets) and len(r["per_task_delivered"]) == len(targets)
    assert r["deadline_success"] == pytest.approx(np.mean(r["per_task_met"]))
    assert r["coupling_satisfied"] == pytest.approx(np.mean(r["per_task_delivered"]))
    assert "per_task_met" not in api.evaluate("random", 60, seed=2, n_tasks=8)


def test_utilisation_feedback_reaches_the_state_and_is_validated():
    from agents.detcom.transport.scenario import TransportModel, generate_tasks

    model = TransportModel(TransportConfig(n_tasks=6))
    targets = np.array([1, 2, 1, 3, 0, 4])
    util = np.array([0.1, 0.9, 0.5, 0.0, 1.0, 0.3])
    sim = TransportSim(model.cfg, n_envs=2, n_tasks=6)
    obs = sim.reset(seed=3, targets=targets, utilisation=util)
    assert (sim.tasks.util == util).all()
    assert obs[:, 8] == pytest.approx([0.1, 0.1])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="targets"):
        generate_tasks(model, rng, 1, 6, None, util)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        generate_tasks(model, rng, 1, 6, targets, util + 0.5)
    with pytest.raises(ValueError, match="shape"):
        generate_tasks(model, rng, 1, 6, targets, util[:3])
    # Training draws u ~ U(0, 1) for a share of the flows, per flow; none in the case study.
    plain = generate_tasks(model, np.random.default_rng(1), 64, 300)
    assert (plain.util == 0).all()
    train = generate_tasks(
        TransportModel(model.cfg.with_(random_utilisation_prob=0.5)),
        np.random.default_rng(1),
        64,
        300,
    )
    share = (train.util > 0).mean()
    assert 0.3 < share < 0.7 and train.util.max() <= 1.0
    for e in range(4):  # one value per flow
        for f in np.unique(train.flow[e]):
            assert len(np.unique(train.util[e][train.flow[e] == f])) == 1


def test_feedback_makes_the_model_greedy_buy_robustness_for_busy_domains():
    from agents.detcom.transport import api

    n = 600
    targets = np.ones(n, dtype=np.int64)  # m1→m2 and m2→m2 (local, free) tasks
    low = api.evaluate("model-greedy", 60, 4, n, targets=targets, utilisation=np.zeros(n))
    high = api.evaluate("model-greedy", 60, 4, n, targets=targets, utilisation=np.ones(n))
    assert high["mean_ru_per_5g_task"] > low["mean_ru_per_5g_task"]
    assert high["total_cost_feedback"] >= high["total_cost"]
    assert high["deadline_success"] >= low["deadline_success"]
    assert low["total_cost_feedback"] == pytest.approx(low["total_cost"])


def test_nr_mcs_spectrum_grid_option():
    from agents.detcom.transport.scenario import spectral_efficiency_grid

    geo = TransportModel(TransportConfig())
    assert geo.n_levels == 8  # the default: 8 geometric levels, 6 down to 0.75 bit/RE
    cfg = TransportConfig(
        spectrum_grid="nr-mcs", max_spectral_efficiency=7.5, min_spectral_efficiency=0.2
    )
    se = spectral_efficiency_grid(cfg)
    assert len(se) == 28 and se[0] == 7.4063 and se[-1] == 0.2344  # the whole 256QAM table
    m = TransportModel(cfg)
    assert m.n_actions == 2 * m.n_levels and (np.diff(m.spectrum_levels) > 0).all()
    with pytest.raises(ValueError, match="no NR MCS"):
        spectral_efficiency_grid(
            TransportConfig(
                spectrum_grid="nr-mcs", max_spectral_efficiency=0.22, min_spectral_efficiency=0.21
            )
        )
    with pytest.raises(ValueError, match="spectrum_grid"):
        TransportConfig(spectrum_grid="linear")
