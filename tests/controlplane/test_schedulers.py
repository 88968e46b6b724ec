"""Schedulers to tables: every named policy on Abilene, baselines elsewhere, exact entries."""

from __future__ import annotations

import copy
from pathlib import Path

import networkx as nx
import pytest

from controlplane.egress import NodeLoad
from controlplane.entries import Exact, Ternary, entry, ip6
from controlplane.netgen import generate
from controlplane.routing import RoutingPlan
from controlplane.schedulers import (
    NAMES,
    ControlView,
    Decisions,
    DetFlow,
    PathChoice,
    ServiceView,
    decisions_to_entries,
    load_policy,
    merge_splits,
    thresholds,
)
from topo.abilene import abilene
from topo.synthetic import synthetic_topology

RLMS_STEM = str(Path(__file__).resolve().parents[2] / "agents/rlmscpn/policies/abilene")


def _services(net) -> list[ServiceView]:
    return [
        ServiceView(
            i + 1, net.site(s.site).site_id, tuple(s.nodes), s.name, s.traffic_class, s.deadline_us
        )
        for i, s in enumerate(net.services)
    ]


@pytest.fixture(scope="module")
def abilene_net():
    net = generate(abilene(), ingress=3, egress=4, services=3)
    return net, RoutingPlan(net)


def _view(net, **kw) -> ControlView:
    return ControlView(net, _services(net), **kw)


# ------------------------------------------------------------------------------ thresholds
@pytest.mark.parametrize(
    "ratios, want",
    [
        ([1.0], (10000, 10000, 10000)),
        ([0.7, 0.3], (7000, 10000, 10000)),
        ([0.5, 0.3, 0.2], (5000, 8000, 10000)),
        ([0.25, 0.25, 0.25, 0.25], (2500, 5000, 7500)),
        ([0.3333, 0.3333, 0.3334], (3333, 6666, 10000)),
    ],
)
def test_thresholds_are_cumulative_10000ths(ratios, want):
    assert thresholds(ratios) == want


def test_thresholds_refuse_more_than_4_paths():
    with pytest.raises(ValueError, match="1..4 ratios"):
        thresholds([0.2] * 5)
    with pytest.raises(ValueError, match="sum to 1"):
        PathChoice((("a", "b"),), (0.5,))


# ------------------------------------------------------------------------------ entries
def test_decisions_become_exact_entries(abilene_net):
    net, plan = abilene_net
    net = copy.deepcopy(net)
    sp = plan.paths("s1", 2, 2)
    assert len(sp) == 2
    net.cqf.ports = [("s1", net.switch("s1").port_to(sp[0].nodes[1]).number), ("s9", 1)]
    plan = RoutingPlan(net)
    d = Decisions(
        service_site={("s1", 1): 2, ("s9", 1): 3},
        path_split={("s1", 2): PathChoice(tuple(tuple(p.nodes) for p in sp), (0.7, 0.3))},
        service_nodes={(2, 1): [(1, 5000), (2, 10000)]},
        flow_offsets={("fd00:1::10/128", None): 1, ("fd00:1::/64", 0x12345): 0},
    )
    got = decisions_to_entries(7, d, plan)
    v = Exact(7)
    s1 = got["s1"]
    assert s1[0] == entry(
        "CpnIngress.flowlet.service_site",
        {"policy_version": v, "service_id": 1},
        "CpnIngress.flowlet.set_site",
        {"site_id": 2},
    )
    assert s1[1] == entry(
        "CpnIngress.flowlet.path_split",
        {"policy_version": v, "site_id": 2},
        "CpnIngress.flowlet.set_split",
        {"split_0": 7000, "split_1": 10000, "split_2": 10000},
    )
    assert s1[2:4] == plan.encap_entries(7, "s1", 2, sp)
    assert [e.match_dict["path_id"] for e in s1[2:4]] == [Exact(0), Exact(1)]
    # Every (gateway, site) has path ids 0..3: the split's paths repeated, else shortest paths
    encaps = [e for e in s1 if e.table == "CpnIngress.srv6_encap.paths"]
    have = {(e.match_dict["site_id"].value, e.match_dict["path_id"].value) for e in encaps}
    remote = [s.site_id for s in net.sites if s.egress_gateway != "s1"]
    assert have == {(site, p) for site in remote for p in range(4)}
    pad2 = [e for e in encaps[2:] if e.match_dict["site_id"] == Exact(2)]
    assert pad2 == plan.encap_entries(7, "s1", 2, [sp[0], sp[1], sp[0], sp[1]])[2:]
    offsets = [e for e in s1 if e.table == "CpnIngress.cqf.flow_offsets"]
    assert offsets == [
        entry(
            "CpnIngress.cqf.flow_offsets",
            {
                "policy_version": v,
                "src_addr": Ternary(ip6("fd00:1::"), ((1 << 64) - 1) << 64),
                "flow_label": Ternary(0x12345, 0xFFFFF),
            },
            "CpnIngress.cqf.set_offset",
            {"offset": 0},
            priority=85,
        ),
        entry(
            "CpnIngress.cqf.flow_offsets",
            {
                "policy_version": v,
                "src_addr": Ternary(ip6("fd00:1::10"), (1 << 128) - 1),
                "flow_label": Ternary(0, 0),
            },
            "CpnIngress.cqf.set_offset",
            {"offset": 1},
            priority=129,
        ),
    ]
    assert got["s9"][0].params_dict == {"site_id": 3}
    assert [e.table for e in got["s9"]][-2:] == ["CpnIngress.cqf.flow_offsets"] * 2
    [nodes] = got[net.site(2).egress_gateway]
    assert nodes.params_dict == {
        "node_0": 1, "weight_0": 5000, "node_1": 2, "weight_1": 10000,
        **{f"{k}_{i}": 0 for i in range(2, 8) for k in ("node", "weight")},
    }  # fmt: skip
    # Another version: the same entries under other keys (they can sit side by side).
    got8 = decisions_to_entries(8, d, plan)
    k7 = {(sw, e.key()) for sw, es in got.items() for e in es}
    k8 = {(sw, e.key()) for sw, es in got8.items() for e in es}
    assert len(k7) == len(k8) == sum(map(len, got.values())) and not k7 & k8
    assert {e.version() for es in got8.values() for e in es} == {8}


def test_a_path_outside_the_plan_is_encoded_or_snapped(abilene_net):
    net, plan = abilene_net
    sp = plan.paths("s1", 2, 4)
    known = {tuple(x.nodes) for x in sp}
    other = next(
        tuple(p) for p in nx.shortest_simple_paths(plan.graph, "s1", "s4") if tuple(p) not in known
    )
    d = Decisions(
        path_split={("s1", 2): PathChoice((tuple(sp[0].nodes), tuple(other)), (0.5, 0.5))}
    )
    ents = [
        e
        for e in decisions_to_entries(1, d, plan)["s1"]
        if e.table.endswith("srv6_encap.paths") and e.match_dict["site_id"] == Exact(2)
    ]
    assert len(ents) == 4  # the split's 1 or 2 paths, repeated up to path id 3
    assert ents[0] == plan.encap_entries(1, "s1", 2, [sp[0]])[0]


def test_served_locally_gives_local_site():
    net = generate(abilene(), ingress=3, egress=4, services=2)
    net.sites[0].egress_gateway = "s1"  # a site at the ingress gateway itself
    d = load_policy("sa", net).decide(_view(net))
    assert d.service_site[("s1", 1)] is None and ("s1", 1) not in d.path_split
    ents = decisions_to_entries(0, d, RoutingPlan(net))["s1"]
    assert ents[0].action == "CpnIngress.flowlet.local_site" and ents[0].params == ()


def test_merge_splits_weights_by_demand():
    a, b, c = ("i", "x", "e"), ("i", "y", "e"), ("i", "z", "w", "e")
    got = merge_splits(
        {("i", 1): [(PathChoice((a, b), (0.5, 0.5)), 3.0), (PathChoice((c,), (1.0,)), 1.0)]},
        order={("i", 1): [b, a, c]},
    )
    pc = got[("i", 1)]
    assert pc.paths == (b, a, c)
    assert pc.ratios == pytest.approx((0.375, 0.375, 0.25))


# ------------------------------------------------------------------------------ policies
@pytest.mark.parametrize("name", [*NAMES, "rlmscpn+d3qn", pytest.param(RLMS_STEM, id="checkpoint")])
def test_every_policy_loads_on_abilene_and_decides(abilene_net, name):
    net, plan = abilene_net
    adapter = load_policy(name, net)
    flows = [DetFlow("fd00:1::10/128", net.ingress_gateways[0].name, 3, deadline_us=4000)]
    view = _view(net, flows=flows, demand_pps={("s1", 1): 50.0})
    d = adapter.decide(view)
    igws = [g.name for g in net.ingress_gateways]
    sites = {s.site_id for s in net.sites}
    assert set(d.service_site) == {(g, s.service_id) for g in igws for s in view.services}
    assert set(d.service_site.values()) <= sites
    for (g, sid), site in d.service_site.items():
        pc = d.path_split[(g, site)]
        assert pc.paths[0][0] == g and all(p[-1] == net.site(site).egress_gateway for p in pc.paths)
        assert (site, sid) in d.service_nodes
    if name in ("d3qn", "dqn", "ddqn", "sa", "rlmscpn+d3qn"):
        assert set(d.flow_offsets) == {("fd00:1::10/128", None)}
        assert set(d.flow_offsets.values()) <= {0, 1}
    ents = decisions_to_entries(3, d, plan)
    assert all(e.version() == 3 for es in ents.values() for e in es)
    assert sum(e.table.endswith("service_site") for es in ents.values() for e in es) == 9
    assert adapter.decide(view) == d  # deterministic


def test_rlmscpn_refuses_another_topology():
    net = generate(synthetic_topology(14, 40, seed=3), ingress=3, egress=3, services=2)
    with pytest.raises(ValueError, match="no trained actor-critic policy .* Use a baseline"):
        load_policy("rlmscpn", net)
    with pytest.raises(ValueError, match="trained on Abilene .* a different topology"):
        load_policy(RLMS_STEM, net)


@pytest.mark.parametrize("name", ["base1", "base3", "greedy", "mappo", "sa"])
def test_baselines_work_on_a_synthetic_network(name):
    net = generate(synthetic_topology(14, 40, seed=3), ingress=3, egress=3, services=2)
    d = load_policy(name, net).decide(_view(net))
    assert len(d.service_site) == 6
    ents = decisions_to_entries(1, d, RoutingPlan(net))
    assert sum(len(es) for es in ents.values()) > 6


def test_decisions_follow_telemetry(abilene_net):
    net, _ = abilene_net
    adapter = load_policy("base1", net)  # the fastest site counting its backlog
    first = adapter.decide(_view(net)).service_site[("s1", 1)]
    site = net.site(first)
    busy = {(first, n.node_id): NodeLoad(0.9, 50, 10_000.0) for n in site.nodes}
    assert adapter.decide(_view(net, node_load=busy)).service_site[("s1", 1)] != first
    # Draining a node: weight 0 at its site; draining all of a site's nodes: the site is avoided.
    one = site.nodes[0].node_id
    d = adapter.decide(_view(net, draining={(first, one)}))
    assert dict(d.service_nodes[(first, 1)])[one] == 0
    gone = {(first, n.node_id) for n in site.nodes}
    assert adapter.decide(_view(net, draining=gone)).service_site[("s1", 1)] != first


def test_sa_spreads_flows_over_the_two_queues_within_deadlines(abilene_net):
    net, _ = abilene_net
    net = copy.deepcopy(net)
    net.cqf.cycle_us = 256
    view = _view(net)
    path = load_policy("sa", net).decide(view).path_split[("s1", 1)].paths[0]
    net.cqf.ports = [(path[0], net.switch(path[0]).port_to(path[1]).number)]
    flows = [
        DetFlow("fd00:1::10/128", "s1", 1, deadline_us=10_000),
        DetFlow("fd00:1::11/128", "s1", 1, deadline_us=10_000),
        DetFlow("fd00:1::12/128", "s1", 1, deadline_us=10_000, bytes_per_cycle=3000),
        DetFlow("fd00:1::13/128", "s1", 1, deadline_us=256, bytes_per_cycle=3000),  # no slack
    ]
    d = load_policy("sa", net).decide(_view(net, flows=flows))
    off = [d.flow_offsets[(f.src_prefix, None)] for f in flows]
    assert off[3] == 0
    load = [0, 0]
    for f, o in zip(flows, off, strict=True):
        load[(f.phase + 1 + o) % 2] += f.bytes_per_cycle
    assert load == [4500, 4500]


def test_bad_names_and_devices_are_refused(abilene_net):
    net, _ = abilene_net
    with pytest.raises(ValueError, match="unknown policy 'nope'.*rlmscpn"):
        load_policy("nope", net)
    bad = copy.deepcopy(net)
    bad.sites[0].nodes[0].device = "a100_1"
    with pytest.raises(ValueError, match="knows no device .*a100_1"):
        load_policy("base1", bad)
    with pytest.raises(ValueError, match="SITE_POLICY\\+TRANSPORT_POLICY"):
        load_policy("d3qn+rlmscpn", net)
