"""Ingress gateway flow pinning, two-choice slots: a flow's site pin lives in one of two slots
(bits 0.. and 16.. of the 5-tuple's crc32, ``traces.flowhash.flowlet_pin_slots``); a live pin
is never overwritten by another flow. Exact packets on the embedded switch."""

import functools

import pytest
from cpn_harness import AISID_ADDR, CLIENT, EGW_SID, IGW_SID, MAC, PREFIX, CpnSwitch
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.flowhash import flow_signature, flowlet_pin_slots
from traces.packets import aisid_udp_request

SERVICE, SITE, SITE2 = 7, 4, 5
STATS = "CpnIngress.flowlet.stats"
NEW_PIN, UNPINNED = 0, 1


def _sid(site: int) -> str:
    return f"fc00:0:{20 if site == SITE else 30}::100"


@pytest.fixture
def igw() -> CpnSwitch:
    s = CpnSwitch(switch_id=1, ports=(1, 2, 3))
    s.aisid_prefix(PREFIX)
    s.classify(PREFIX, service_id=SERVICE)
    s.service_site(SERVICE, SITE)
    for site, port in ((SITE, 2), (SITE2, 3)):
        s.srv6_path(site, 0, IGW_SID, [_sid(site), EGW_SID])
        s.ipv6_route(f"{_sid(site)}/128", port, MAC["t2"], src_mac=MAC["igw"])
    s.sw.advance(1000)
    return s


@functools.cache
def _slots(sport: int) -> tuple[int, int]:
    return flowlet_pin_slots(CLIENT, AISID_ADDR, 17, sport, 8080)


def _sig(sport: int) -> int:
    return flow_signature(CLIENT, AISID_ADDR, 17, sport, 8080)


def _port_with_first_slot(slot: int, exclude: set[int]) -> int:
    """A source port whose first pin slot is ``slot``, with a distinct signature and distinct
    second slot from the flows in ``exclude``."""
    taken = {_slots(p)[1] for p in exclude} | {_slots(p)[0] for p in exclude}
    return next(
        p
        for p in range(1024, 65536)
        if p not in exclude
        and _slots(p)[0] == slot
        and _slots(p)[1] not in taken
        and _sig(p) not in {_sig(q) for q in exclude}
    )


def _site_of(igw, sport: int) -> int:
    out = igw.send(1, aisid_udp_request(AISID_ADDR, src=CLIENT, sport=sport, dport=8080))
    [(port, [pkt])] = out.items()
    dst = Ether(pkt)[IPv6].dst
    site = {2: SITE, 3: SITE2}[port]
    assert dst == _sid(site)
    return site


def _move_service(igw, site: int) -> None:
    igw.sw.table_clear("CpnIngress.flowlet.service_site")
    igw.service_site(SERVICE, site)


def _pin(igw, slot: int) -> tuple[int, int]:
    return (
        igw.sw.register_read("CpnIngress.flowlet.site", slot),
        igw.sw.register_read("CpnIngress.flowlet.site_sig", slot),
    )


def _stats(igw) -> tuple[int, int]:
    return igw.sw.counter_read(STATS, NEW_PIN)[0], igw.sw.counter_read(STATS, UNPINNED)[0]


def test_two_flows_sharing_their_first_slot_keep_their_own_site(igw):
    a = 40002
    b = _port_with_first_slot(_slots(a)[0], {a})
    for _ in range(3):  # interleaved: before the fix each packet evicted the other pin
        assert _site_of(igw, a) == SITE
        igw.sw.advance(10)
        assert _site_of(igw, b) == SITE
        igw.sw.advance(10)
    assert _pin(igw, _slots(a)[0]) == (SITE + 1, _sig(a))
    assert _pin(igw, _slots(b)[1]) == (SITE + 1, _sig(b))
    _move_service(igw, SITE2)
    assert _site_of(igw, a) == SITE
    assert _site_of(igw, b) == SITE
    assert _stats(igw) == (2, 0)
    assert _site_of(igw, 50000) == SITE2  # a new flow follows the decision


def test_a_flow_with_both_slots_held_by_live_pins_is_unpinned_and_counted(igw):
    c = 40002
    first, second = _slots(c)
    assert first != second
    a = _port_with_first_slot(first, {c})
    b = _port_with_first_slot(second, {c, a})
    assert _site_of(igw, a) == SITE and _site_of(igw, b) == SITE
    assert _pin(igw, first) == (SITE + 1, _sig(a)) and _pin(igw, second) == (SITE + 1, _sig(b))
    assert _site_of(igw, c) == SITE
    assert _stats(igw) == (2, 1)
    _move_service(igw, SITE2)
    igw.sw.advance(10)
    assert _site_of(igw, c) == SITE2  # unpinned: follows service_site
    assert _site_of(igw, a) == SITE and _site_of(igw, b) == SITE  # the live pins stay
    assert _pin(igw, first) == (SITE + 1, _sig(a)) and _pin(igw, second) == (SITE + 1, _sig(b))
    assert _stats(igw) == (2, 2)


def test_an_idle_pin_slot_is_reclaimed(igw):
    igw.sw.register_write("CpnIngress.flowlet.pin_us", 0, 2000)
    a = 40002
    b = _port_with_first_slot(_slots(a)[0], {a})
    assert _site_of(igw, a) == SITE
    _move_service(igw, SITE2)
    igw.sw.advance(1500)
    assert _site_of(igw, b) == SITE2  # a's pin is live: b takes its second slot
    assert _pin(igw, _slots(b)[1]) == (SITE2 + 1, _sig(b))
    igw.sw.advance(2500)  # both idle past pin_us
    c = _port_with_first_slot(_slots(a)[0], {a, b})
    assert _site_of(igw, c) == SITE2  # reclaims the first slot, not its second
    assert _pin(igw, _slots(a)[0]) == (SITE2 + 1, _sig(c))
    assert igw.sw.register_read("CpnIngress.flowlet.site", _slots(c)[1]) == 0
    assert _stats(igw) == (3, 0)
