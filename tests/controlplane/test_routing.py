"""controlplane.routing: routes, SIDs and compressed SRv6 paths, checked entry by entry and by
sending AISID requests through embedded cpn.p4 switches filled with the plan's entries."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest
from routing_nets import AISID_PREFIX, CLIENT, EmuNet, build_net, diamond, line4
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether

from controlplane.entries import Exact, Lpm, entry, ip6, ip6_prefix, mac
from controlplane.netdesc import NetworkDescription
from controlplane.registry import AisidRegistry
from controlplane.routing import RoutingPlan, SrPath, changed_switches
from traces.packets import aisid_udp_request

AISID = "2001:db8:abcd:12:1:2:1:1388"
LINE4_FILE = Path(__file__).resolve().parents[2] / "controlplane" / "examples" / "line4.json"


def _line4_from_file() -> NetworkDescription:
    if not LINE4_FILE.exists():
        pytest.skip(f"{LINE4_FILE} not there")
    from controlplane.netdesc import load

    return load(LINE4_FILE)


def _routes(entries) -> dict[str, tuple[int, int, int]]:
    """ipv6_routes as {prefix text: (port, src_mac, dst_mac)}."""
    import ipaddress

    out = {}
    for e in entries:
        if e.table == "CpnIngress.routing.ipv6_routes":
            m = e.match_dict["dst_addr"]
            p = e.params_dict
            out[str(ipaddress.IPv6Network((m.value, m.prefix_len)))] = (
                p["port"],
                p["src_mac"],
                p["dst_mac"],
            )
    return out


def _minimal_segments(plan: RoutingPlan, nodes: list[str]) -> int:
    """Brute force: the fewest SIDs whose route-by-route expansion is ``nodes``."""
    inner = range(1, len(nodes) - 1)
    for m in range(len(nodes)):
        for cut in itertools.combinations(inner, m):
            stops = [0, *cut, len(nodes) - 1]
            walk = [nodes[0]]
            ok = True
            for a, b in itertools.pairwise(stops):
                rp = plan.route_path(nodes[a], nodes[b])
                if rp != nodes[a : b + 1]:
                    ok = False
                    break
                walk += rp[1:]
            if ok and walk == nodes:
                return m + 1
    raise AssertionError(f"{nodes} cannot be expressed with End SIDs")


# -- entries ---------------------------------------------------------------------------------------
def test_line4_base_entries_exact():
    net = line4()
    plan = RoutingPlan(net)
    igw, t2, egw = net.switch("igw"), net.switch("t2"), net.switch("egw")
    to_t2 = (1, mac(igw.port(1).mac), mac(t2.port(1).mac))
    assert _routes(plan.base_entries("igw")) == {
        "fc00:0:2::/48": to_t2,
        "fc00:0:3::/48": to_t2,
        "fc00:0:4::/48": to_t2,
        "fd01:4::/64": to_t2,
        "fd00:1::/64": (2, mac(igw.port(2).mac), mac(net.hosts[0].mac)),
    }
    # The egress gateway: its two nodes hang off two ports -> one /128 each, no prefix route.
    n1, n2 = net.sites[0].nodes
    got = _routes(plan.base_entries("egw"))
    assert got["fd01:4::21/128"] == (2, mac(egw.port(2).mac), mac(n1.mac))
    assert got["fd01:4::22/128"] == (3, mac(egw.port(3).mac), mac(n2.mac))
    assert "fd01:4::/64" not in got
    assert got["fd00:1::/64"] == (1, mac(egw.port(1).mac), mac(net.switch("t3").port(2).mac))
    others = {e for e in plan.base_entries("egw") if e.table != "CpnIngress.routing.ipv6_routes"}
    assert others == {
        entry(
            "CpnIngress.srv6.my_sid", {"sid": Lpm(ip6("fc00:0:4::100"), 128)}, "CpnIngress.srv6.end"
        ),
        entry(
            "CpnIngress.srv6.my_sid",
            {"sid": Lpm(ip6("fc00:0:4::d6"), 128)},
            "CpnIngress.srv6.end_dt6",
        ),
        entry(
            "CpnIngress.aisid.prefixes",
            {"prefix": Lpm(ip6_prefix(AISID_PREFIX)[0] >> 64, 64)},
            "CpnIngress.aisid.aisid_prefix",
        ),
        entry(
            "CpnIngress.egw.nodes",
            {"node_id": Exact(1)},
            "CpnIngress.egw.set_node_address",
            {"address": ip6(n1.address)},
        ),
        entry(
            "CpnIngress.egw.nodes",
            {"node_id": Exact(2)},
            "CpnIngress.egw.set_node_address",
            {"address": ip6(n2.address)},
        ),
        entry(
            "CpnIngress.egw.node_replies",
            {"src_addr": Lpm(ip6("fd01:4::"), 64)},
            "CpnIngress.egw.reply_from_node",
        ),
    }
    # A transit: routes, its End SID, nothing of the gateways.
    tables = {e.table for e in plan.base_entries("t2")}
    assert tables == {"CpnIngress.routing.ipv6_routes", "CpnIngress.srv6.my_sid"}


def test_nodes_sharing_a_port_get_the_node_prefix():
    net = diamond()
    got = _routes(RoutingPlan(net).base_entries("egw"))
    egw = net.switch("egw")
    node_port = net.sites[0].nodes[0].port
    assert got["fd01:7::/64"] == (
        node_port,
        mac(egw.port(node_port).mac),
        mac(net.sites[0].nodes[0].mac),
    )
    assert not [p for p in got if p.endswith("/128")]


def test_unknown_switch_and_bad_down_link_are_named():
    plan = RoutingPlan(line4())
    with pytest.raises(KeyError, match="unknown switch 'nope'"):
        plan.base_entries("nope")
    with pytest.raises(KeyError, match="no switch named 'zz'"):
        RoutingPlan(line4(), down_links={frozenset({"igw", "zz"})})
    with pytest.raises(ValueError, match="igw-t3: no such link"):
        RoutingPlan(line4(), down_links={frozenset({"igw", "t3"})})
    with pytest.raises(ValueError, match="k must be in 1..4"):
        plan.paths("igw", "site4", 5)


def test_cqf_ports_budget_and_shift():
    net = diamond(cqf_ports=[("a", 2)], cycle_us=256)
    cqf = [e for e in RoutingPlan(net).base_entries("a") if e.table == "CpnIngress.cqf.ports"]
    # 100 Gbit/s * 256 µs = 3,200,000 bytes, minus one 1500-byte frame.
    assert cqf == [
        entry("CpnIngress.cqf.ports", {"port": Exact(2)}, "CpnIngress.cqf.enable",
              {"cycle_shift": 8, "cycle_bytes": 3_198_500})
    ]  # fmt: skip
    net.cqf.cycle_bytes = 9000
    [e] = [e for e in RoutingPlan(net).base_entries("a") if e.table == "CpnIngress.cqf.ports"]
    assert e.params_dict == {"cycle_shift": 8, "cycle_bytes": 9000}
    net.cqf.cycle_us = 300
    with pytest.raises(ValueError, match="power of two"):
        RoutingPlan(net).base_entries("a")


# -- paths and compression ----------------------------------------------------------------------
def test_line4_one_path_one_segment():
    net = line4()
    [p] = RoutingPlan(net).paths("igw", "site4", 4)
    assert p == SrPath(["igw", "t2", "t3", "egw"], ["fc00:0:4::d6"], 30.0)


def test_line4_file_when_present(cpn_program):
    net = _line4_from_file()
    plan = RoutingPlan(net)
    for g in net.ingress_gateways:
        for s in net.sites:
            paths = plan.paths(g.name, s.site_id)
            assert paths and paths[0].segments[-1] == net.dt6_sid(s.egress_gateway)
            assert len(paths[0].segments) == 1  # a line: the shortest path needs no waypoint
    for s in net.switches:
        assert plan.base_entries(s.name)


def test_diamond_paths_are_minimal_and_ordered_by_delay():
    net = diamond()
    plan = RoutingPlan(net)
    paths = plan.paths("igw", 7, 4)
    end = net.end_sid
    dt6 = net.dt6_sid("egw")
    assert paths == [
        SrPath(["igw", "a", "c", "egw"], [dt6], 300.0),
        SrPath(["igw", "b", "d", "egw"], [end("d"), dt6], 350.0),
        SrPath(["igw", "a", "d", "egw"], [end("a"), end("d"), dt6], 400.0),
        SrPath(["igw", "b", "d", "a", "c", "egw"], [end("d"), end("a"), dt6], 650.0),
    ]
    for p in paths:
        assert len(p.segments) == _minimal_segments(plan, p.nodes)


def test_too_many_segments_skips_to_the_next_path(caplog):
    net = diamond(max_segments=2)
    with caplog.at_level(logging.INFO, logger="controlplane.routing"):
        paths = RoutingPlan(net).paths("igw", "site7", 4)
    assert [p.nodes for p in paths] == [["igw", "a", "c", "egw"], ["igw", "b", "d", "egw"]]
    assert "igw-a-d-egw skipped: needs 3 segments > max_segments 2" in caplog.text


def test_equal_cost_tie_follows_the_installed_route():
    net = build_net(
        "square",
        [("igw", "ingress_gateway"), ("a", "transit"), ("b", "transit"), ("egw", "egress_gateway")],
        [("igw", "a", 100.0), ("a", "egw", 100.0), ("igw", "b", 100.0), ("b", "egw", 100.0)],
        sites=[("egw", 1, (0,))],
    )
    plan = RoutingPlan(net)
    p1, p2 = plan.paths("igw", 1, 4)
    assert p1.nodes == plan.route_path("igw", "egw") and p1.segments == ["fc00:0:4::d6"]
    via = p2.nodes[1]
    assert {via} | {p1.nodes[1]} == {"a", "b"} and p2.segments == [net.end_sid(via), "fc00:0:4::d6"]


def test_slow_direct_link_cannot_be_pinned():
    # igw-egw direct but slow (1000 µs), igw-t-egw fast: the direct hop is never routed.
    net = build_net(
        "tri",
        [("igw", "ingress_gateway"), ("t", "transit"), ("egw", "egress_gateway")],
        [("igw", "egw", 1000.0), ("igw", "t", 10.0), ("t", "egw", 10.0)],
        sites=[("egw", 1, (0,))],
    )
    assert [p.nodes for p in RoutingPlan(net).paths("igw", 1, 4)] == [["igw", "t", "egw"]]


def test_unreachable_site_has_no_paths_and_no_routes():
    net = line4()
    plan = RoutingPlan(net, down_links={frozenset({"t2", "t3"})})
    assert plan.paths("igw", "site4") == []
    routes = _routes(plan.base_entries("igw"))
    assert set(routes) == {"fc00:0:2::/48", "fd00:1::/64"}


def test_encap_entries_exact():
    net = diamond()
    plan = RoutingPlan(net)
    paths = plan.paths("igw", 7, 2)
    e0, e1 = plan.encap_entries(3, "igw", 7, paths)
    assert e1 == entry(
        "CpnIngress.srv6_encap.paths",
        {"policy_version": Exact(3), "site_id": Exact(7), "path_id": Exact(1)},
        "CpnIngress.srv6_encap.h_encaps_2",
        {"src": ip6("fc00:0:1::1"), "s1": ip6(net.end_sid("d")), "s2": ip6("fc00:0:6::d6")},
    )
    assert e0.action == "CpnIngress.srv6_encap.h_encaps_1"
    with pytest.raises(ValueError, match="at most 4 paths"):
        plan.encap_entries(0, "igw", 7, paths * 3)


def test_link_down_recomputes_routes_and_paths():
    net = diamond()
    old = RoutingPlan(net)
    new = RoutingPlan(net, down_links={frozenset({"a", "c"})})
    dt6 = net.dt6_sid("egw")
    assert new.paths("igw", 7, 4) == [
        SrPath(["igw", "b", "d", "egw"], [dt6], 350.0),
        SrPath(["igw", "a", "d", "egw"], [net.end_sid("a"), dt6], 400.0),
    ]
    # d's shortest paths never used a-c; everyone else had a route through it.
    assert changed_switches(old, new) == {"igw", "a", "b", "c", "egw"}
    assert changed_switches(old, RoutingPlan(net)) == set()
    igw = net.switch("igw")
    assert _routes(new.base_entries("igw"))["fc00:0:4::/48"][0] == igw.port_to("b").number


# -- the real data plane ----------------------------------------------------------------------
def _fill(emu: EmuNet, plan: RoutingPlan, registry: AisidRegistry, service, site_id: int) -> None:
    net = emu.net
    for s in net.switches:
        emu.install(s.name, plan.base_entries(s.name))
        emu.install(s.name, registry.classify_entries(0, s.name))
    # What the schedulers fill (not this module): site choice at the igw, nodes at the egw.
    for g in net.ingress_gateways:
        emu.install(
            g.name,
            [entry("CpnIngress.flowlet.service_site", {"policy_version": 0, "service_id": service.service_id},
                   "CpnIngress.flowlet.set_site", {"site_id": site_id})],
        )  # fmt: skip
    site = net.site(site_id)
    params = {}
    for i in range(8):
        params[f"node_{i}"] = 1 if i == 0 else 0
        params[f"weight_{i}"] = 1 if i == 0 else 0
    emu.install(
        site.egress_gateway,
        [entry("CpnIngress.egw.service_nodes", {"policy_version": 0, "service_id": service.service_id},
               "CpnIngress.egw.set_nodes", params)],
    )  # fmt: skip


def _check_trip(emu: EmuNet, path: SrPath, sport: int) -> None:
    """Send one request from the client; it must follow ``path`` with the SRv6 processing of
    its segment list and reach node 1 of the site."""
    net = emu.net
    client = net.hosts[0]
    igw = net.switch(client.switch)
    req = aisid_udp_request(AISID, src=CLIENT, sport=sport, dport=8080, payload=b"q",
                            src_mac=client.mac, dst_mac=igw.port(client.port).mac)  # fmt: skip
    emu.send(igw.name, client.port, bytes(req))
    hops = [(s, p, Ether(d)) for s, p, d in emu.tx]
    assert [s for s, _, _ in hops] == path.nodes, [s for s, _, _ in hops]
    pos = {net.end_sid(n): i for i, n in enumerate(path.nodes)}
    pos[path.segments[-1]] = len(path.nodes) - 1
    for h, (sw, port, pkt) in enumerate(hops[:-1]):
        nxt = min(i for i, s in enumerate(path.segments) if pos[s] > h)
        srh = pkt[IPv6ExtHdrSegmentRouting]
        assert pkt[IPv6].dst == path.segments[nxt], (sw, pkt[IPv6].dst)
        assert pkt[IPv6].src == net.src_address(igw)
        assert list(reversed(srh.addresses)) == path.segments
        assert srh.segleft == len(path.segments) - 1 - nxt
        assert pkt[IPv6].hlim == 64 - h
        peer = net.switch(sw).port(port).peer
        assert peer == path.nodes[h + 1]
    sw, port, pkt = hops[-1]
    node = net.sites[0].nodes[0]
    assert (sw, port) == (net.sites[0].egress_gateway, node.port)
    assert IPv6ExtHdrSegmentRouting not in pkt
    assert pkt[Ether].dst == node.mac and pkt[IPv6].dst == node.address and pkt[IPv6].hlim == 62
    assert pkt[UDP].sport == sport and bytes(pkt[UDP].payload) == b"q"
    assert emu.take(sw, port)  # it is there on the node's port
    for s in emu.sw.values():
        assert s.counter_read("CpnIngress.telemetry.drop_reasons", 13)[0] == 0  # no route


def _reply(emu: EmuNet, sport: int) -> None:
    net = emu.net
    site, node, client = net.sites[0], net.sites[0].nodes[0], net.hosts[0]
    egw = net.switch(site.egress_gateway)
    rep = (
        Ether(src=node.mac, dst=egw.port(node.port).mac)
        / IPv6(src=node.address, dst=CLIENT)
        / UDP(sport=8080, dport=sport)
        / b"a"
    )
    emu.send(egw.name, node.port, bytes(rep))
    [got] = emu.take(client.switch, client.port)
    g = Ether(got)
    assert g[IPv6].src == AISID and g[IPv6].dst == CLIENT and g[Ether].dst == client.mac


@pytest.mark.parametrize("which", ["built", "file"])
def test_line4_request_reaches_the_node(cpn_program, tmp_path, which):
    net = line4() if which == "built" else _line4_from_file()
    site = net.sites[0]
    emu = EmuNet(net, cpn_program)
    plan = RoutingPlan(net)
    reg = AisidRegistry(tmp_path / "r.sqlite", net)
    svc = reg.register("llm", AISID, site.name)
    _fill(emu, plan, reg, svc, site.site_id)
    igw = net.hosts[0].switch
    [path] = plan.paths(igw, site.site_id, 1)
    emu.install(igw, plan.encap_entries(0, igw, site.site_id, [path]))
    _check_trip(emu, path, 40000)
    _reply(emu, 40000)


def test_diamond_every_path_and_after_link_down(cpn_program, tmp_path):
    net = diamond()
    emu = EmuNet(net, cpn_program)
    plan = RoutingPlan(net)
    reg = AisidRegistry(tmp_path / "r.sqlite", net)
    svc = reg.register("llm", AISID, "site7")
    _fill(emu, plan, reg, svc, 7)
    paths = plan.paths("igw", 7, 4)
    assert len(paths) == 4
    for i, p in enumerate(paths):  # each path in turn as path 0 (the default split)
        emu.install("igw", plan.encap_entries(0, "igw", 7, [p]))
        _check_trip(emu, p, 41000 + i)
        _reply(emu, 41000 + i)
    # a-c goes down: reinstall what changed, the new first path avoids it.
    new = RoutingPlan(net, down_links={frozenset({"a", "c"})})
    for s in changed_switches(plan, new):
        emu.install(s, new.base_entries(s))
    a_port = net.switch("a").port_to("c").number
    first = new.paths("igw", 7, 1)[0]
    emu.install("igw", new.encap_entries(0, "igw", 7, [first]))
    _check_trip(emu, first, 42000)
    assert all(not (s == "a" and p == a_port) for s, p, _ in emu.tx)
