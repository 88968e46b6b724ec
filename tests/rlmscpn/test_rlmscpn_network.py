"""Link model: queueing delay, available bandwidth, transfer times worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from agents.rlmscpn.config import SimConfig
from agents.rlmscpn.network import LinkNetwork, PathBundle


def make_net(background=(0.0, 0.0, 0.0)) -> LinkNetwork:
    # three links: 0 and 1 form path A, 2 is path B; 1000 Mbit/s each, 1 ms propagation
    cap = np.full(3, 1000.0)
    prop = np.ones(3)
    bg = np.array([background], dtype=float)
    return LinkNetwork(cap, prop, bg, SimConfig(queue_q0_ms=0.2, queue_cap_ms=10.0))


def test_queue_delay_follows_utilisation():
    net = make_net((500.0, 900.0, 0.0))
    q = net.queue_ms()
    assert q[0] == pytest.approx(0.2 * 0.5 / 0.5)
    assert q[1] == pytest.approx(0.2 * 0.9 / 0.1)
    assert q[2] == 0.0


def test_single_path_transfer_time():
    net = make_net((500.0, 0.0, 0.0))
    # 1 MB = 8 Mbit over path A: bottleneck link 0 has 500 Mbit/s left -> 16 ms, plus 2 ms
    # propagation and 0.2 ms of queueing at link 0.
    t, per = net.transfer_ms([np.array([0, 1]), np.array([2])], np.array([1.0, 0.0]), 1.0)
    assert t == pytest.approx(2.0 + 0.2 + 16.0)
    assert per[1] == 0.0


def test_split_transfer_takes_the_slowest_part_and_commits_load():
    net = make_net((500.0, 0.0, 0.0))
    # half over A (4 Mbit at 500 Mbit/s: 8 ms + 2.2 ms), half over B (4 Mbit at 1000: 4 + 1 ms)
    t, per = net.transfer_ms([np.array([0, 1]), np.array([2])], np.array([0.5, 0.5]), 1.0)
    assert per == pytest.approx([10.2, 5.0])
    assert t == pytest.approx(10.2)
    # part A runs at 500 Mbit/s for 8 ms, part B at 1000 Mbit/s for 4 ms
    assert net.task_load == pytest.approx([500.0, 500.0, 1000.0])
    net.advance(5.0)
    assert net.task_load == pytest.approx([500.0, 500.0, 0.0])
    net.advance(9.0)
    assert net.task_load == pytest.approx([0.0, 0.0, 0.0])


def test_new_flow_gets_at_least_a_fair_share():
    net = make_net()
    net.transfer_ms([np.array([2])], np.array([1.0]), 10.0)  # takes the whole link
    avail = net.available_mbps()
    assert avail[2] == pytest.approx(500.0)  # fair share with the one flow already there
    assert avail[0] == pytest.approx(1000.0)


def test_probes_average_around_true_delay():
    net = make_net((800.0, 0.0, 0.0))
    bundle = PathBundle.from_lists([np.array([0, 1]), np.array([2])])
    rng = np.random.default_rng(0)
    true = net.path_delay_ms(bundle)
    probes = np.array([net.probe_ms(bundle, rng) for _ in range(2000)])
    assert probes.mean(axis=0) == pytest.approx(true, rel=0.02)
    assert probes[:, 0].std() > 0  # noisy: queueing jitter and measurement error
    assert net.path_available_mbps(bundle) == pytest.approx([200.0, 1000.0])


def test_background_follows_intervals():
    cap, prop = np.full(1, 100.0), np.zeros(1)
    bg = np.array([[10.0], [50.0]])
    net = LinkNetwork(cap, prop, bg, SimConfig(tm_interval_ms=100.0))
    assert net.background[0] == 10.0
    net.advance(150.0)
    assert net.background[0] == 50.0
    net.advance(250.0)
    assert net.background[0] == 10.0  # the series wraps around
    with pytest.raises(ValueError):
        net.advance(10.0)
