"""The policy interface: checkpoint round trip, same inputs as the simulator, baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.common.policy import Policy
from agents.latency.nb201 import Cell
from agents.rlmscpn.config import abilene_config
from agents.rlmscpn.experiment import find_policy, load_actor, train_variant
from agents.rlmscpn.policy import (
    BaselinePolicy,
    ComputeNodeState,
    NetworkState,
    RlmsCpnPolicy,
    TaskRequest,
)
from agents.rlmscpn.scenario import Scenario
from agents.rlmscpn.sim import ComputeNetworkSim
from topo import abilene


@pytest.fixture(scope="module")
def scenario_and_sim():
    # predictions as the policy makes them (TSFT, or the device model while none is shipped);
    # no bandwidth noise, so telemetry handed to the policy equals what the simulator observes
    cfg = abilene_config(bandwidth_noise=0.0)
    scenario = Scenario("abilene", abilene(), cfg, 0)
    return scenario, ComputeNetworkSim(abilene(), cfg, seed=0)


@pytest.fixture(scope="module")
def trained(scenario_and_sim, tmp_path_factory):
    scenario, sim = scenario_and_sim
    out = tmp_path_factory.mktemp("policies")
    stem = train_variant(
        scenario, "syncgnn", out, seed=0, total_steps=1024, progress=False, sim=sim
    )
    return stem


def _state_from_sim(sim: ComputeNetworkSim, snap) -> NetworkState:
    topo = sim.topology
    backlog = sim.backlog_ms()
    compute = [
        ComputeNodeState(int(v), sim.devices[int(v)], float(b))
        for v, b in zip(sim.compute_nodes, backlog, strict=True)
    ]
    probes = {}
    for r, node in enumerate(snap.candidates.tolist()):
        paths, _ = sim.paths(snap.access_point, node)
        for j, p in enumerate(paths):
            probes[tuple(p)] = float(snap.path_delay_ms[r, j])
    avail = {e: float(a) for e, a in zip(topo.links, sim.network.available_mbps(), strict=True)}
    return NetworkState(compute=compute, link_available_mbps=avail, path_delay_ms=probes)


def test_checkpoint_round_trip_and_protocol(trained):
    policy = RlmsCpnPolicy.load(trained)
    assert isinstance(policy, Policy)
    model, meta = load_actor(trained)
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), policy.model.state_dict()[k].numpy())
    sidecar = json.loads(trained.with_suffix(".json").read_text())
    assert sidecar["provenance"]["seed"] == 0
    assert sidecar["config"]["topology"]["spec"] == "abilene"
    assert meta["config"]["training"]["steps"] >= 512


def test_policy_sees_what_the_simulator_sees(trained, scenario_and_sim):
    _, sim = scenario_and_sim
    policy = RlmsCpnPolicy.load(trained)
    for seed in range(3):
        sim.reset(100 + seed, 12)
        for _ in range(10):  # let queues and flows build up
            sim.execute(sim.candidates()[0], np.ones(3))
        task = sim.task
        snap = sim.snapshot()
        state = _state_from_sim(sim, snap)
        req = TaskRequest(task.access_point, Cell.from_code(task.cell).arch, task.data_mb)
        mine, devices = policy.snapshot(req, state)
        assert mine.candidates.tolist() == snap.candidates.tolist()
        for field in ("pred_ms", "backlog_ms", "path_delay_ms", "path_available_mbps", "path_hops"):
            assert np.allclose(getattr(mine, field), getattr(snap, field)), field
        d = policy.decide(req, state)
        i, split = policy.decide_snapshot(snap)
        assert d.node == snap.candidates[i] and d.node in d.candidates
        assert d.device == sim.devices[d.node]
        assert sum(d.split) == pytest.approx(1.0) and min(d.split) > 0
        for p in d.paths:
            assert p[0] == task.access_point and p[-1] == d.node
        # deterministic
        assert policy.decide(req, state) == d


def test_policy_rejects_bad_requests(trained):
    policy = RlmsCpnPolicy.load(trained)
    state = NetworkState(compute=[ComputeNodeState(1, "1080ti_1"), ComputeNodeState(3, "2080ti_1")])
    ops = (3, 3, 3, 3, 3, 3)
    d = policy.decide(TaskRequest(8, ops, 1.0), state)  # defaults: idle links
    assert d.node in (1, 3)
    with pytest.raises(KeyError):
        policy.decide(TaskRequest(99, ops, 1.0), state)
    with pytest.raises(ValueError):
        policy.decide(TaskRequest(8, "not an arch", 1.0), state)
    with pytest.raises(ValueError):
        policy.decide(TaskRequest(8, ops, -1.0), state)
    with pytest.raises(KeyError):
        policy.decide(TaskRequest(8, ops, 1.0), NetworkState([ComputeNodeState(1, "abacus")]))


def test_policy_refuses_another_topology(trained):
    from topo import paper_topology

    with pytest.raises(ValueError, match="trained on"):
        RlmsCpnPolicy.load(trained, topology=paper_topology("ebone", None))


def test_find_policy_matches_fingerprint(trained, scenario_and_sim):
    scenario, _ = scenario_and_sim
    assert find_policy(scenario, "syncgnn", [trained.parent]) == trained
    assert find_policy(scenario, "mlp", [trained.parent]) is None


def test_baseline_policies(scenario_and_sim, tmp_path):
    _, sim = scenario_and_sim
    sim.reset(7, 5)
    task = sim.task
    state = _state_from_sim(sim, sim.snapshot())
    req = TaskRequest(task.access_point, Cell.from_code(task.cell).arch, task.data_mb)
    d1 = BaselinePolicy("Base1", sim.topology).decide(req, state)
    pred = sim.predicted_ms(task) + sim.backlog_ms()
    assert d1.node == sim.compute_nodes[np.argmin(pred)]
    assert len(d1.paths) == 3 and d1.split == pytest.approx([1 / 3] * 3)
    d4 = BaselinePolicy("Base4", sim.topology, lp_window_ms=10.0).decide(req, state)
    _, dist = sim._ap_info[task.access_point]
    assert d4.node == sim.compute_nodes[np.argmin(dist)]
    assert sum(d4.split) == pytest.approx(1.0)
    spec = tmp_path / "base3.json"
    spec.write_text(json.dumps({"name": "Base3", "topology": "abilene", "lp_window_ms": 50}))
    assert BaselinePolicy.load(spec).decide(req, state).node == d1.node
    with pytest.raises(KeyError):
        BaselinePolicy("Base9", sim.topology)
