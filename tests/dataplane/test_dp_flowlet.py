"""Behaviour 3: service -> site, flowlet path choice by split ratios, idle-gap timeout, version."""

import collections

import pytest
from cpn_harness import AISID_ADDR, CLIENT, EGW_SID, IGW_SID, MAC, PREFIX, CpnSwitch
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.constants import (
    FLOW_PIN_DEFAULT_US,
    FLOW_SITE_LOCAL,
    FLOWLET_DEFAULT_TIMEOUT_US,
    SPLIT_SCALE,
)
from traces.flowhash import flow_signature, flowlet_pin_slots, flowlet_slot, split_point
from traces.packets import aisid_udp_request, probe_request

SERVICE, SITE = 7, 4
RATIOS = [0.4, 0.3, 0.2, 0.1]
PORT_OF_PATH = {0: 2, 1: 3, 2: 4, 3: 5}


def _path_sid(i: int) -> str:
    return f"fc00:0:{20 + i}::100"


@pytest.fixture
def igw() -> CpnSwitch:
    s = CpnSwitch(switch_id=1, ports=(1, 2, 3, 4, 5))
    s.aisid_prefix(PREFIX)
    s.classify(PREFIX, service_id=SERVICE)
    s.service_site(SERVICE, SITE)
    s.path_split(SITE, RATIOS)
    for i in range(4):
        s.srv6_path(SITE, i, IGW_SID, [_path_sid(i), EGW_SID])
        s.ipv6_route(f"fc00:0:{20 + i}::/48", PORT_OF_PATH[i], MAC["t2"], src_mac=MAC["igw"])
    s.sw.advance(1000)
    return s


def _expected_path(point: int, ratios=RATIOS) -> int:
    acc = 0.0
    for i, r in enumerate(ratios[:3]):
        acc += r
        if point < round(acc * SPLIT_SCALE):
            return i
    return 3


def _send(igw, sport=40000):
    out = igw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT, sport=sport, dport=8080))
    [(port, [pkt])] = out.items()
    path = next(i for i, p in PORT_OF_PATH.items() if p == port)
    assert Ether(pkt)[IPv6].dst == _path_sid(path)
    return path


def _now(igw) -> int:
    return int(igw.sw.clock.now())


def test_new_flow_takes_the_path_its_split_point_selects(igw):
    for sport in range(40000, 40040):
        t = _now(igw)
        expected = _expected_path(split_point(CLIENT, AISID_ADDR, 17, sport, 8080, t))
        assert _send(igw, sport) == expected
        igw.sw.advance(7)


def test_flowlet_keeps_its_path_until_an_idle_gap(igw):
    gap = FLOWLET_DEFAULT_TIMEOUT_US // 2
    first = _send(igw)
    would_change = False
    for _ in range(30):
        igw.sw.advance(gap)
        t = _now(igw)
        if _expected_path(split_point(CLIENT, AISID_ADDR, 17, 40000, 8080, t)) != first:
            would_change = True
        assert _send(igw) == first
    assert would_change, "test is vacuous: every redraw would give the same path"
    # An idle gap longer than the timeout starts a new flowlet: find a time whose draw differs.
    igw.sw.advance(FLOWLET_DEFAULT_TIMEOUT_US + 1)
    while _expected_path(split_point(CLIENT, AISID_ADDR, 17, 40000, 8080, _now(igw))) == first:
        igw.sw.advance(1)
    assert _send(igw) != first


def test_flowlet_timeout_register(igw):
    igw.sw.register_write("CpnIngress.flowlet.timeout_us", 0, 1000)
    slot = flowlet_slot(CLIENT, AISID_ADDR, 17, 40000, 8080)
    _send(igw)
    t0 = igw.sw.register_read("CpnIngress.flowlet.last_seen", slot)
    assert t0 == _now(igw)
    igw.sw.advance(1000)  # gap == timeout: same flowlet
    p = _send(igw)
    # gap just over the timeout: redrawn from the new time
    igw.sw.advance(1001)
    assert _send(igw) == _expected_path(split_point(CLIENT, AISID_ADDR, 17, 40000, 8080, _now(igw)))
    assert igw.sw.register_read("CpnIngress.flowlet.path", slot) - 1 in range(4)
    assert p in range(4)


@pytest.mark.parametrize("ratios", [RATIOS, [0.99, 0.01]])
def test_split_ratios_over_many_flows(igw, ratios):
    igw.sw.table_clear("CpnIngress.flowlet.path_split")
    igw.path_split(SITE, ratios)
    n = 2000  # ~120 pairs of flows share one of the 16384 slots
    t = _now(igw)
    paths = [_send(igw, sport=10000 + i) for i in range(n)]
    # Model: flows whose hashes share a flowlet slot share its flowlet (all sent at time t).
    slots: dict[int, int] = {}
    expected = []
    for i in range(n):
        slot = flowlet_slot(CLIENT, AISID_ADDR, 17, 10000 + i, 8080)
        if slot not in slots:
            point = split_point(CLIENT, AISID_ADDR, 17, 10000 + i, 8080, t)
            slots[slot] = _expected_path(point, ratios)
        expected.append(slots[slot])
    assert paths == expected
    assert len(slots) < n  # the model's slot sharing is exercised
    counts = collections.Counter(paths)
    for path, r in enumerate(ratios):
        assert abs(counts[path] / n - r) < 0.04, (path, counts)
    if ratios[1] == 0.01:  # 1% granularity: the small path is used, but rarely
        assert 0.002 < counts[1] / n < 0.025


def test_policy_version_change_redraws_within_a_flowlet(igw):
    first = _send(igw)
    other = (first + 1) % 4
    ratios = [1.0 if i == other else 0.0 for i in range(4)]
    igw.classify(PREFIX, service_id=SERVICE, version=1)
    igw.service_site(SERVICE, SITE, version=1)
    igw.path_split(SITE, ratios, version=1)
    for i in range(4):
        igw.srv6_path(SITE, i, IGW_SID, [_path_sid(i), EGW_SID], version=1)
    igw.sw.advance(10)
    assert _send(igw) == first
    igw.set_policy_version(1)
    igw.sw.advance(10)
    assert _send(igw) == other
    slot = flowlet_slot(CLIENT, AISID_ADDR, 17, 40000, 8080)
    assert igw.sw.register_read("CpnIngress.flowlet.version", slot) == 1


def test_pinned_probe_takes_its_path_and_leaves_flowlet_state(igw):
    slot = flowlet_slot(CLIENT, AISID_ADDR, 17, 50000, 50000)
    for path in range(4):
        out = igw.send(1, probe_request(AISID_ADDR, src=CLIENT, seq=path, path_id=path))
        assert list(out) == [PORT_OF_PATH[path]]
    assert igw.sw.register_read("CpnIngress.flowlet.path", slot) == 0
    assert igw.sw.register_read("CpnIngress.flowlet.last_seen", slot) == 0


def test_local_site_is_served_without_encapsulation(igw):
    igw.sw.table_clear("CpnIngress.flowlet.service_site")
    igw.service_site(SERVICE, None)
    igw.service_nodes(SERVICE, [(1, 1)])
    igw.node(1, "fd00:1::99")
    igw.ipv6_route("fd00:1::/64", 1, MAC["client"], src_mac=MAC["igw"])
    out = igw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT))
    [pkt] = out[1]
    assert Ether(pkt)[IPv6].dst == "fd00:1::99" and Ether(pkt)[IPv6].nh == 17


# -- flow pinning: a request keeps its site ---------------------------------------------------
SITE2 = 5


def _site2_sid(i: int) -> str:
    return f"fc00:0:{30 + i}::100"


def _with_site2(igw: CpnSwitch) -> None:
    for i in range(4):
        igw.srv6_path(SITE2, i, IGW_SID, [_site2_sid(i), EGW_SID])
    igw.ipv6_route("fc00:0:30::/44", 2, MAC["t2"], src_mac=MAC["igw"])


def _site_of(igw, sport: int) -> int:
    out = igw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT, sport=sport, dport=8080))
    [(_, [pkt])] = out.items()
    dst = Ether(pkt)[IPv6].dst
    if dst in {_path_sid(i) for i in range(4)}:
        return SITE
    assert dst in {_site2_sid(i) for i in range(4)}, dst
    return SITE2


def _move_service(igw, site: int) -> None:
    igw.sw.table_clear("CpnIngress.flowlet.service_site")
    igw.service_site(SERVICE, site)


def test_a_flow_keeps_its_site_when_the_decision_changes(igw):
    _with_site2(igw)
    assert _site_of(igw, 40000) == SITE
    _move_service(igw, SITE2)
    igw.sw.advance(FLOWLET_DEFAULT_TIMEOUT_US * 4)  # a new flowlet, same flow: same site
    assert _site_of(igw, 40000) == SITE
    assert _site_of(igw, 40001) == SITE2  # a new flow follows the decision
    slot = flowlet_pin_slots(CLIENT, AISID_ADDR, 17, 40000, 8080)[0]  # its first slot was free
    assert igw.sw.register_read("CpnIngress.flowlet.site", slot) == SITE + 1


def test_a_flow_idle_past_the_pin_time_takes_the_new_site(igw):
    _with_site2(igw)
    igw.sw.register_write("CpnIngress.flowlet.pin_us", 0, 2000)
    assert _site_of(igw, 40000) == SITE
    _move_service(igw, SITE2)
    igw.sw.advance(1500)
    assert _site_of(igw, 40000) == SITE  # active: kept
    igw.sw.advance(2500)
    assert _site_of(igw, 40000) == SITE2  # idle longer than pin_us: the decision applies


def test_the_default_pin_time_is_one_second(igw):
    _with_site2(igw)
    assert _site_of(igw, 40000) == SITE
    _move_service(igw, SITE2)
    igw.sw.advance(FLOW_PIN_DEFAULT_US - 100)
    assert _site_of(igw, 40000) == SITE
    igw.sw.advance(FLOW_PIN_DEFAULT_US + 100)
    assert _site_of(igw, 40000) == SITE2


def test_another_flow_in_the_same_slot_is_not_pinned(igw):
    _with_site2(igw)
    slot = flowlet_slot(CLIENT, AISID_ADDR, 17, 40000, 8080)
    other = next(
        p
        for p in range(1, 65536)
        if p != 40000 and flowlet_slot(CLIENT, AISID_ADDR, 17, p, 8080) == slot
    )
    assert flow_signature(CLIENT, AISID_ADDR, 17, other, 8080) != flow_signature(
        CLIENT, AISID_ADDR, 17, 40000, 8080
    )
    assert _site_of(igw, 40000) == SITE
    _move_service(igw, SITE2)
    igw.sw.advance(10)
    assert _site_of(igw, other) == SITE2  # same slot, other signature: a new flow
    assert _site_of(igw, 40000) == SITE  # its pin (first slot) was not overwritten


def test_a_local_flow_stays_local(igw):
    _with_site2(igw)
    igw.sw.table_clear("CpnIngress.flowlet.service_site")
    igw.service_site(SERVICE, None)
    igw.service_nodes(SERVICE, [(1, 1)])
    igw.node(1, "fd00:1::99")
    igw.ipv6_route("fd00:1::/64", 1, MAC["client"], src_mac=MAC["igw"])
    out = igw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT))
    assert list(out) == [1]
    _move_service(igw, SITE2)
    igw.sw.advance(10)
    out = igw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT))
    assert list(out) == [1] and Ether(out[1][0])[IPv6].dst == "fd00:1::99"
    slot = flowlet_pin_slots(CLIENT, AISID_ADDR, 17, 40000, 8080)[0]
    assert igw.sw.register_read("CpnIngress.flowlet.site", slot) == FLOW_SITE_LOCAL
