"""A service whose every site is gone (its nodes dead, its site unreachable): the schedulers give
it no site instead of failing, the controller keeps serving the other services, the ingress
gateway punts the service's requests (``NO_SERVICE_SITE``), :attr:`Controller.outages` records
the stretch, and the service is placed again once a node reports alive."""

from __future__ import annotations

import pytest
from ctl_harness import Rig, wait_for

from controlplane.egress import NodeLoad
from controlplane.netdesc import load
from controlplane.outages import ServiceOutages
from controlplane.routing import RoutingPlan
from controlplane.schedulers import (
    SERVICE_SITE,
    ControlView,
    SchedulerAdapter,
    ServiceView,
    decisions_to_entries,
    load_policy,
)
from traces.constants import PuntReason

LINE4 = "controlplane/examples/line4.json"
SVC7 = "2001:db8:abcd:12:1:2:1:1388"  # every node of site4
SVC8 = "2001:db8:abcd:12:2:1:1:14"  # node 1 of site4 only
DEAD = NodeLoad(1.0, 0, 0.0, False)


def _services() -> list[ServiceView]:
    return [
        ServiceView(1, 4, (), "svc7", sites=(4,)),
        ServiceView(2, 4, (1,), "svc8", deadline_us=2000, traffic_class=1, sites=(4,)),
    ]


def _adapter(name: str, net):
    return SchedulerAdapter(net) if name == "static" else load_policy(name, net)


def _site_entries(entries) -> dict[int, int | None]:
    """service id -> site id (None: local) of ``flowlet.service_site`` entries."""
    out = {}
    for e in entries:
        if e.table == SERVICE_SITE:
            sid = next(v.value for k, v in e.match if k == "service_id")
            out[sid] = dict(e.params).get("site_id")
    return out


@pytest.mark.parametrize("policy", ["static", "base1", "greedy", "base1+sa"])
def test_service_without_a_live_node_gets_no_site(policy: str) -> None:
    net = load(LINE4)
    adapter = _adapter(policy, net)
    view = ControlView(net, _services(), node_load={(4, 1): DEAD})
    d = adapter.decide(view)
    assert d.unserved == {("igw", 2): "no live site (site4 has no live node)"}
    assert d.service_site == {("igw", 1): 4}
    assert (4, 2) not in d.service_nodes and [n for n, _ in d.service_nodes[(4, 1)]] == [2]
    ents = decisions_to_entries(1, d, RoutingPlan(net), net)
    assert _site_entries(ents["igw"]) == {1: 4}  # svc8: none, so the gateway punts it


@pytest.mark.parametrize("policy", ["static", "base1", "greedy"])
def test_no_site_at_all_and_unreachable_site(policy: str) -> None:
    net = load(LINE4)
    adapter = _adapter(policy, net)
    dead = {(4, 1): DEAD, (4, 2): DEAD}
    d = adapter.decide(ControlView(net, _services(), node_load=dead))
    assert d.service_site == {} and d.service_nodes == {}
    assert set(d.unserved) == {("igw", 1), ("igw", 2)}
    assert _site_entries(decisions_to_entries(1, d, RoutingPlan(net), net)["igw"]) == {}
    # every node alive, but no path from the gateway to the site
    d = adapter.decide(ControlView(net, _services(), unreachable={("igw", 4)}))
    assert d.service_site == {}
    assert d.unserved == {k: "no live site (site4 unreachable)" for k in (("igw", 1), ("igw", 2))}
    # both back: both placed
    d = adapter.decide(ControlView(net, _services()))
    assert d.unserved == {} and d.service_site == {("igw", 1): 4, ("igw", 2): 4}


def test_outages_intervals_and_punt_counts() -> None:
    o = ServiceOutages()
    assert o.update(1.0, {}, {}) == []
    ev = o.update(2.0, {("igw", 2): "no live site (x)"}, {2: "svc8"}, {SVC8: 2})
    assert ev == ["service svc8 (2): no live site (x) at igw; its requests are punted "
                  "(no_service_site)"]  # fmt: skip
    frame = bytes(12) + b"\x86\xdd" + bytes(24) + bytes.fromhex("20010db8abcd00120002000100010014")
    o.on_packet_in(frame, {"reason": PuntReason.NO_SERVICE_SITE})
    o.on_packet_in(frame, {"reason": PuntReason.UNKNOWN_AISID})
    o.on_packet_in(b"short", {"reason": PuntReason.NO_SERVICE_SITE})
    assert o.update(2.5, {("igw", 2): "no live site (x)"}, {2: "svc8"}) == []
    ev = o.update(3.0, {}, {2: "svc8"})
    assert ev == ["service svc8 (2) served again: it had no site for 1.000 s, 1 packets punted"]
    o.on_packet_in(frame, {"reason": PuntReason.NO_SERVICE_SITE})  # late: still that outage
    (rep,) = o.report()
    assert (rep["t0"], rep["t1"], rep["punted"], rep["gateways"]) == (2.0, 3.0, 2, ["igw"])
    assert dict(o.punts) == {"no_service_site": 3, "unknown_aisid": 1}
    assert dict(o.punts_by_service) == {2: 2}


# ------------------------------------------------------------------------------ the controller
def _answered(rig: Rig, host, aisid: str, sports: list[int]) -> int:
    host.take()
    for sp in sports:
        rig.send(host, aisid, sp, b"x")
    rig.net.run_for(0.05)
    return sum(1 for _t, f in host.take() if len(f) >= 54 and f[22:38] == _packed(aisid))


def _packed(aisid: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(aisid).packed


def test_controller_survives_a_service_losing_its_only_node(rig: Rig) -> None:
    ctl, h = rig.ctl, rig.host()
    assert _answered(rig, h, SVC8, [42000]) == 1
    ctl.telemetry.report_node_load(4, 1, DEAD)
    rep = ctl.step()  # raised "no live site can serve it" before
    assert not rep.skipped and rep.written > 0
    assert _site_entries(rig.table("igw", SERVICE_SITE)) == {1: 4}
    (out,) = ctl.status()["outages"]
    assert (out["service"], out["t1"], out["gateways"]) == ("svc8", None, ["igw"])
    assert out["reason"] == "no live site (site4 has no live node)"
    # svc8's requests are punted by the gateway, counted; svc7 is still served (by node 2)
    assert _answered(rig, h, SVC8, [42001, 42002, 42003]) == 0
    wait_for(lambda: ctl.outages.punts_by_service[2] == 3, what="3 punts of svc8")
    assert ctl.outages.punts["no_service_site"] == 3
    assert _answered(rig, h, SVC7, list(range(42010, 42020))) == 10
    assert rig.net.losses() == {}
    t_dead = rig.net.now()
    # node 1 reports again: svc8 is placed again and served
    ctl.telemetry.report_node_load(4, 1, NodeLoad())
    ctl.step()
    assert _site_entries(rig.table("igw", SERVICE_SITE)) == {1: 4, 2: 4}
    assert _answered(rig, h, SVC8, [42030, 42031]) == 2
    (out,) = ctl.outages.report()
    assert out["t1"] == pytest.approx(t_dead) and out["punted"] == 3
    assert any("svc8 (2) served again" in e for _t, e in ctl.events)


def test_a_policy_that_fails_keeps_the_decisions_in_force(rig: Rig, monkeypatch) -> None:
    ctl = rig.ctl
    before = ctl.decisions
    n = rig.log.count()

    def fail(view):
        raise RuntimeError("policy broke")

    monkeypatch.setattr(ctl.adapter, "decide", fail)
    rep = ctl.step()
    assert rep.skipped == "decide failed: RuntimeError: policy broke"
    assert ctl.decisions is before and rig.log.count(n) == 0
    assert _answered(rig, rig.host(), SVC7, [43000]) == 1
    assert "decide failed: RuntimeError: policy broke; the decisions in force stay" in [
        e for _t, e in ctl.events
    ]


def test_a_link_down_that_cuts_the_site_off_then_up_again(rig: Rig) -> None:
    ctl, h = rig.ctl, rig.host()
    rig.net.link_down("t3", "egw")
    ctl.link_down("t3", "egw")  # line4 is a line: no path to site4 any more
    assert _site_entries(rig.table("igw", SERVICE_SITE)) == {}
    assert [(o["service"], o["reason"]) for o in ctl.status()["outages"]] == [
        ("svc7", "no live site (site4 unreachable)"),
        ("svc8", "no live site (site4 unreachable)"),
    ]
    assert _answered(rig, h, SVC7, [44000, 44001]) == 0
    wait_for(lambda: ctl.outages.punts_by_service[1] == 2, what="2 punts of svc7")
    assert rig.net.losses() == {}  # punted at the gateway, not lost on the dead link
    assert ctl.step().skipped == ""  # the next interval too
    rig.net.link_up("t3", "egw")
    ctl.link_up("t3", "egw")
    assert _site_entries(rig.table("igw", SERVICE_SITE)) == {1: 4, 2: 4}
    assert [o["t1"] for o in ctl.outages.report()] == [rig.net.now()] * 2
    assert _answered(rig, h, SVC7, [44002]) == 1 and _answered(rig, h, SVC8, [44003]) == 1
