"""The simulator: seeded task sets, response-latency accounting, candidate filtering, Gymnasium."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agents.rlmscpn.config import ABILENE_DEVICES, SimConfig
from agents.rlmscpn.env import CpnSchedulingEnv
from agents.rlmscpn.features import filter_candidates, snapshot_features
from agents.rlmscpn.sim import ComputeNetworkSim
from topo import paper_topology


def _run(sim, seed, choose):
    sim.reset(seed, 30)
    tasks = [(t.arrival_ms, t.access_point, t.cell, t.data_mb) for t in sim.tasks]
    outs = []
    while not sim.done:
        outs.append(sim.execute(*choose(sim)))
    return tasks, outs


def test_same_seed_same_tasks_whatever_the_decisions(abilene_sim):
    first = lambda s: (s.candidates()[0], np.ones(3))  # noqa: E731
    last = lambda s: (s.candidates()[-1], np.array([1.0, 0.0, 0.0]))  # noqa: E731
    t1, o1 = _run(abilene_sim, 5, first)
    t2, o2 = _run(abilene_sim, 5, last)
    t3, _ = _run(abilene_sim, 6, first)
    assert t1 == t2 and t1 != t3
    assert [o.response_ms for o in o1] != [o.response_ms for o in o2]
    _, again = _run(abilene_sim, 5, first)
    assert [o.response_ms for o in again] == [o.response_ms for o in o1]


def test_response_is_transfer_plus_wait_plus_compute(abilene_sim):
    abilene_sim.reset(1, 50)
    while not abilene_sim.done:
        task = abilene_sim.task
        cand = abilene_sim.candidates()
        out = abilene_sim.execute(cand[0], np.array([0.6, 0.4, 0.0]))
        assert out.response_ms == pytest.approx(out.transfer_ms + out.wait_ms + out.compute_ms)
        assert out.transfer_ms == pytest.approx(out.path_ms.max())
        assert out.path_ms[2] == 0.0 and out.wait_ms >= 0.0
        dev = abilene_sim.node_device[cand[0]]
        assert out.compute_ms == pytest.approx(
            max(
                abilene_sim.compute.true_table[task.cell, dev]
                + abilene_sim.compute.noise_std[dev] * task.noise_z,
                abilene_sim.compute.floor[dev],
            )
        )


def test_queueing_on_a_busy_node(abilene_sim):
    abilene_sim.reset(2, 40)
    waits = []
    while not abilene_sim.done:
        out = abilene_sim.execute(0, np.ones(3))  # everything to one node
        waits.append(out.wait_ms)
    assert max(waits) > 0.0


def test_bigger_data_takes_longer_to_move(abilene_sim):
    abilene_sim.reset(3, 5)
    abilene_sim.tasks[0].data_mb = 0.1
    small = abilene_sim.evaluate(0, np.ones(3)).transfer_ms
    abilene_sim.tasks[0].data_mb = 10.0
    assert abilene_sim.evaluate(0, np.ones(3)).transfer_ms > small + 1.0


def test_split_normalisation_drops_tiny_shares(abilene_sim):
    x = abilene_sim.normalise_split(np.array([0.97, 0.02, 0.01]))
    assert x.tolist() == [1.0, 0.0, 0.0]
    assert abilene_sim.normalise_split(np.zeros(3)) == pytest.approx([1 / 3] * 3)


def test_candidate_filter_kind_then_hops():
    nodes = np.array([10, 11, 12, 13, 14])
    kinds = np.array(["cpu", "gpu", "gpu", "cpu", "gpu"])
    pred = np.array([30.0, 8.0, 9.0, 25.0, 7.5])
    hops = np.array([1, 3, 2, 1, 2])
    dist = np.array([1.0, 9.0, 5.0, 1.0, 4.0])
    idx = filter_candidates(nodes, kinds, pred, hops, dist, 4)
    # GPUs first (fastest kind), nearest first (2 hops: 4 ms before 5 ms), then the CPUs
    assert nodes[idx].tolist() == [14, 12, 11, 10]


def test_abilene_placement_and_candidates(abilene_sim):
    assert abilene_sim.access_points == (7, 8)
    assert {int(v): d for v, d in abilene_sim.devices.items()} == ABILENE_DEVICES
    abilene_sim.reset(4, 20)
    snap = abilene_sim.snapshot()
    assert snap.n_candidates == 5 and snap.k_paths == 3
    node_x, path_x = snapshot_features(snap)
    assert node_x.shape == (5, 5) and path_x.shape == (5, 3, 5)
    assert np.all(np.isfinite(node_x)) and np.all(np.isfinite(path_x))
    # three probes averaged: close to, but not exactly, the true path delay
    bundle = abilene_sim.bundle(snap.access_point, snap.candidates)
    true = abilene_sim.network.path_delay_ms(bundle).reshape(5, 3)
    assert np.abs(snap.path_delay_ms - true).max() < 2.0


def test_seeded_placement_on_a_stand_in():
    topo = paper_topology("ebone", data_dir=None, seed=0)
    cfg = SimConfig(episode_tasks=10)
    a = ComputeNetworkSim(topo, cfg, seed=3, predictions="oracle")
    b = ComputeNetworkSim(topo, cfg, seed=3, predictions="oracle")
    assert a.access_points == b.access_points and a.devices == b.devices
    assert 2 <= len(a.access_points) <= 4
    assert set(a.compute_nodes.tolist()).isdisjoint(a.access_points)
    kinds = set(a.node_kinds().tolist())
    assert kinds <= {"gpu", "cpu", "edge"} and len(kinds) >= 2
    assert a.background_scale > 0


def test_task_kinds(abilene_sim):
    io = abilene_sim.generate_tasks(9, 20, "io", io_data_mb=10.0, io_rounds=10)
    assert all(t.data_mb == 10.0 and t.rounds == 10 for t in io)
    heavy = abilene_sim.generate_tasks(9, 200, "compute")
    mixed = abilene_sim.generate_tasks(9, 200, "mixed")
    from agents.latency.nb201 import all_ops, params

    p = params(all_ops())
    assert np.mean([p[t.cell] for t in heavy]) > np.mean([p[t.cell] for t in mixed])
    with pytest.raises(ValueError):
        abilene_sim.generate_tasks(9, 5, "bogus")


def test_gymnasium_env_checker(abilene_sim):
    env = CpnSchedulingEnv(sim=abilene_sim)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=11)
    total, steps, done = 0.0, 0, False
    while not done:
        obs, r, done, trunc, info = env.step(env.action_space.sample())
        assert r == pytest.approx(-info["response_ms"]) and r < 0
        total += r
        steps += 1
    assert steps == abilene_sim.cfg.episode_tasks and not trunc
    with pytest.raises(ValueError):
        env.reset(seed=1)
        env.step({"node": 7, "split": np.ones(3, np.float32)})
