"""The cost floor and the clairvoyant reference: what no scheduler can beat."""

import numpy as np
import pytest

from agents.detcom.transport import api
from agents.detcom.transport.bounds import Clairvoyant, cost_floor, task_floor
from agents.detcom.transport.scenario import TransportConfig
from agents.detcom.transport.sim import TransportSim


def _clean_sim(cfg: TransportConfig) -> TransportSim:
    """A window with idle ports, a free carrier and a perfect channel."""
    sim = TransportSim(cfg, n_envs=1, n_tasks=5)
    sim.reset(seed=3)
    sim.port_rem[...] = 1.0
    sim.ru_rem[...] = sim.model.ru_per_cycle
    sim.sinr[...] = 60.0
    return sim


@pytest.mark.parametrize("scs", [15, 60])
def test_floor_is_the_cost_of_a_clean_transmission_on_the_smallest_level(scs):
    cfg = TransportConfig(scs_khz=scs)
    sim = _clean_sim(cfg)
    m = sim.model
    cur = sim.current()
    _, info = sim.step(m.encode(np.array([0]), np.array([0])))  # level 0 is the smallest
    assert info.p_d[0] == 0 and info.p_h[0] == 0
    assert info.cost[0] == pytest.approx(task_floor(m, cur["src"], cur["dst"])[0], rel=1e-12)
    # The wired part by hand: 0.68 · (talker + every port's serialisation share) for m1 → m2.
    rid = m.route_id(cur["src"], cur["dst"])[0]
    ports = m.route["ports"][rid][: m.route["n_bridges"][rid]]
    wired = m.talker_share[cur["src"][0]] + m.port_share[ports].sum()
    air = m.spectrum_levels.min() * m.ru_share
    assert info.cost[0] == pytest.approx(0.68 * (wired + air))


def test_no_method_beats_the_floor_and_clairvoyant_beats_the_causal_ones():
    cfg = api.case_study(60, n_tasks=300)
    floor = cost_floor(cfg, seed=4, n_windows=2)
    assert floor["wired"] < floor["floor"]
    results = {
        m: api.evaluate(m, 60, seed=4, n_tasks=300, n_windows=2)
        for m in ("random", "sa", "model-greedy", "clairvoyant", "d3qn")
    }
    for m, r in results.items():
        assert r["total_cost"] >= floor["floor"] - 1e-9, m
    hindsight = results["clairvoyant"]["total_cost"]
    assert hindsight <= min(results[m]["total_cost"] for m in ("sa", "model-greedy", "d3qn"))
    assert results["clairvoyant"]["deadline_success"] == 1.0
    assert api.cost_floor(60, seed=4, n_tasks=300, n_windows=2) == floor


def test_clairvoyant_leaves_the_simulator_as_it_found_it():
    cfg = TransportConfig(scs_khz=30)
    sim = TransportSim(cfg, n_envs=3, n_tasks=20)
    obs = sim.reset(seed=9)
    before = (sim.port_rem.copy(), sim.ru_rem.copy(), sim.j, sim.episode_cost.copy())
    act = Clairvoyant().act(obs, sim)
    assert act.shape == (3,) and ((0 <= act) & (act < sim.model.n_actions)).all()
    assert np.array_equal(sim.port_rem, before[0]) and np.array_equal(sim.ru_rem, before[1])
    assert sim.j == before[2] and np.array_equal(sim.episode_cost, before[3])
