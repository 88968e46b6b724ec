"""Total cost and reward on hand-computed cases, then one task through the simulator by hand."""

import numpy as np
import pytest

from agents.detcom.transport.channel import ChannelConfig
from agents.detcom.transport.cost import CostWeights, reward, task_cost, total_cost
from agents.detcom.transport.scenario import TaskBatch, TransportConfig
from agents.detcom.transport.sim import TransportSim


def test_total_cost_by_hand():
    p_s, p_d, p_h = [0.2, 0.1], [0.0, 1.0], [0.05, 0.0]
    # P_1 = 0.68·0.2 + 0.45·0.05 = 0.1585; P_2 = 0.68·0.1 + 8.43·1 = 8.498.
    assert task_cost(p_s, p_d, p_h) == pytest.approx([0.1585, 8.498])
    assert total_cost(p_s, p_d, p_h) == pytest.approx(8.6565)
    assert total_cost([1.0], [0.0], [0.0], CostWeights(2.0, 1.0, 1.0)) == 2.0


def test_reward_readings_by_hand():
    p_s, p_d, p_h = np.array([0.2, 0.1]), np.array([0.0, 1.0]), np.array([0.05, 0.0])
    # r = μ_s·D − μ_b·B with μ_s = ε_d / D: on time earns ε_d; "cost" prices B like the cost.
    r = reward(p_s, p_d, p_h, data_bits=7000.0)
    assert r == pytest.approx([8.43 - 0.1585, -0.068])
    assert r == pytest.approx(8.43 - task_cost(p_s, p_d, p_h))  # maximising Σr = minimising P
    # "literal": B = retransmission resources only, μ_b = ε_h.
    assert reward(p_s, p_d, p_h, 7000.0, mode="literal") == pytest.approx([8.43 - 0.0225, 0.0])
    with pytest.raises(ValueError):
        reward(p_s, p_d, p_h, 7000.0, mode="other")


def _quiet(**kw) -> TransportConfig:
    """60 kHz, no other traffic, a clean channel (no ISI, 40 dB SNR)."""
    ch = ChannelConfig(
        snr_mean_db=40.0, snr_std_db=0.0, delay_spread_ns=(10.0,), delay_spread_probs=(1.0,)
    )
    base = dict(
        scs_khz=60,
        tsn_background_mean=0.0,
        tsn_background_std=0.0,
        ru_background_mean=0.0,
        ru_background_std=0.0,
        channel=ch,
    )
    return TransportConfig(**(base | kw))


def _one_cycle(sim: TransportSim, n: int, deadline: int = 4) -> None:
    """Replace the episode by n tasks m1→m2 released in cycle 0."""
    z = np.zeros((1, n), dtype=np.int64)
    sim.tasks = TaskBatch(
        z, z.copy(), z + 1, z + deadline, z.copy(), (n - 1 - np.arange(n))[None, :]
    )
    sim.n_tasks = n


def test_one_task_through_the_simulator_by_hand():
    sim = TransportSim(_quiet(), n_envs=1, n_tasks=1)
    sim.reset(seed=0)
    _one_cycle(sim, 1)
    m = sim.model
    level = 3
    assert m.spectrum_levels[level] == 40  # 7000 bits at 2.43 bits/RE over 72 REs per unit
    _, info = sim.step(m.encode(0, level)[None])
    # m1 →(1 Gb/s) TSN1 →(1 Gb/s) 5GS →(100 Mb/s) TSN2 →(100 Mb/s) m2, 7336 bits on the wire,
    # cycle 1000 µs: 2·0.007336 + 2·0.07336 of a cycle on the wire; 40 units of the carrier's
    # 50 MHz·1 ms (0.09 MHz·ms each) = 0.072.
    p_s = 2 * 0.007336 + 2 * 0.07336 + 40 * 0.09 / 50
    assert info.p_s[0] == pytest.approx(p_s)
    assert info.p_h[0] == 0 and info.p_d[0] == 0 and info.air_tx[0] == 1
    assert info.cost[0] == pytest.approx(0.68 * p_s)
    # Three CQF bridges, offset 0: delivered by the end of cycle a + 3, i.e. (h+1)·T.
    assert info.latency_us[0] == 4000.0


def test_queue_overflow_costs_a_retransmission_and_a_cycle():
    # Other streams hold 90 % of every port's cycle: one 7336-bit frame fits in the 100 Mb/s
    # queues (0.0734 of a cycle), so the second of two frames in the same cycle is dropped
    # at the 5GS→TSN2 port and re-sent by m1 the next cycle.
    cfg = _quiet(tsn_background_mean=0.9, tsn_background_max=0.9)
    sim = TransportSim(cfg, n_envs=1, n_tasks=2)
    sim.reset(seed=0)
    _one_cycle(sim, 2, deadline=4)
    m = sim.model
    a = m.encode(0, 3)[None]
    _, first = sim.step(a)
    _, second = sim.step(a)
    assert first.p_d[0] == 0 and first.p_h[0] == 0
    wire_to_drop = 2 * 0.007336  # talker + TSN1→5GS, then dropped after the air hop
    air = 40 * 0.09 / 50
    # First try: talker, TSN1→5GS and the air transmission (P_s); retry: everything again,
    # then the two 100 Mb/s hops (P_h).
    assert second.p_s[0] == pytest.approx(wire_to_drop + air)
    assert second.p_h[0] == pytest.approx(wire_to_drop + air + 2 * 0.07336)
    assert second.latency_us[0] == 5000.0 and second.p_d[0] == 1.0  # one cycle late
    assert second.cost[0] == pytest.approx(0.68 * second.p_s[0] + 8.43 + 0.45 * second.p_h[0])


def test_utilisation_feedback_weighs_the_latency_penalty_by_hand():
    p_s, p_d, p_h = np.array([0.2, 0.1]), np.array([0.0, 1.0]), np.array([0.05, 0.0])
    fb = np.array([1.5, 1.8])  # 1 + κ·u with κ = 1, u = 0.5 and 0.8
    # P_2 = 0.68·0.1 + 8.43·1.8·1 = 15.242; the on-time task's cost is unchanged.
    assert task_cost(p_s, p_d, p_h, deadline_weight=fb) == pytest.approx([0.1585, 15.242])
    # On time earns ε_d·(1 + κ·u): r = ε_d·fb − P^fb.
    r = reward(p_s, p_d, p_h, 7000.0, deadline_weight=fb)
    assert r == pytest.approx([8.43 * 1.5 - 0.1585, -0.068])
    assert r == pytest.approx(8.43 * fb - task_cost(p_s, p_d, p_h, deadline_weight=fb))


def test_feedback_cost_in_the_simulator_by_hand():
    # Two tasks m1→m2 released in cycle 0 with a bound of 3 cycles, one below the path's CQF
    # bound of 4: both miss it; orchestration filled their domain to u = 0 and u = 0.75.
    sim = TransportSim(_quiet(feedback_weight=2.0), n_envs=1, n_tasks=2)
    sim.reset(seed=0)
    _one_cycle(sim, 2, deadline=3)
    sim.tasks.util[:] = [[0.0, 0.75]]
    assert sim.observe()[0, 8] == 0.0
    a = sim.model.encode(0, 3)[None]
    _, first = sim.step(a)
    assert sim.observe()[0, 8] == 0.75
    _, second = sim.step(a)
    assert first.p_d[0] == second.p_d[0] == 1.0
    assert first.cost_feedback[0] == pytest.approx(first.cost[0])
    # ε_d·(1 + 2·0.75) instead of ε_d on the late task.
    assert second.cost_feedback[0] - second.cost[0] == pytest.approx(8.43 * 1.5)
    assert second.deadline_weight[0] == pytest.approx(2.5)
    assert sim.episode_cost_feedback[0] == pytest.approx(first.cost[0] + second.cost_feedback[0])
