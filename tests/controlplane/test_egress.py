"""Egress-gateway load logic: WLC weights, draining and idle-flow aging on an embedded switch
read and written through P4Runtime."""

from __future__ import annotations

import pytest
from cpn_harness import AISID_ADDR, CLIENT, Network, cpn_compiled
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane import egress
from controlplane.egress import NodeLoad, service_nodes_entry, wlc_weights
from controlplane.entries import Exact
from controlplane.netdesc import ServiceNodeDesc
from controlplane.p4rt import P4RuntimeClient
from p4target.runtime import serve
from traces.packets import aisid_udp_request


def _node(i: int, tflops: float) -> ServiceNodeDesc:
    return ServiceNodeDesc(
        i, f"n{i}", f"fd00:4::{0x20 + i:x}", f"02:02:00:04:00:{i:02x}", "2080ti_1", tflops, 3
    )


# ------------------------------------------------------------------------------ weights
def test_weights_are_proportional_to_capacity():
    assert wlc_weights([_node(1, 100.0), _node(2, 200.0), _node(3, 50.0)]) == [
        (1, 5000),
        (2, 10000),
        (3, 2500),
    ]


def test_load_lowers_a_weight_and_a_saturated_node_keeps_one():
    nodes = [_node(1, 100.0), _node(2, 100.0)]
    w = dict(wlc_weights(nodes, {1: NodeLoad(utilisation=0.75)}))
    assert w == {1: 2500, 2: 10000}
    w = dict(wlc_weights(nodes, {1: NodeLoad(utilisation=1.0)}))
    assert w[2] == 10000 and w[1] == 100  # 1% headroom kept: never 0 while live


def test_drained_node_is_listed_with_weight_0_and_dead_nodes_left_out():
    nodes = [_node(1, 100.0), _node(2, 100.0), _node(3, 100.0)]
    w = wlc_weights(nodes, {3: NodeLoad(alive=False)}, draining=[1])
    assert w == [(1, 0), (2, 10000)]


def test_more_than_8_nodes_keeps_the_8_heaviest():
    nodes = [_node(i, float(i)) for i in range(1, 11)]
    w = wlc_weights(nodes)
    assert [n for n, _ in w] == [3, 4, 5, 6, 7, 8, 9, 10] and w[-1] == (10, 10000)


def test_service_nodes_entry_params_and_limits():
    e = service_nodes_entry(5, 7, [(1, 3), (4, 9)])
    assert e.table == "CpnIngress.egw.service_nodes" and e.action == "CpnIngress.egw.set_nodes"
    assert e.match_dict == {"policy_version": Exact(5), "service_id": Exact(7)}
    p = e.params_dict
    assert (p["node_0"], p["weight_0"], p["node_1"], p["weight_1"]) == (1, 3, 4, 9)
    assert all(p[f"node_{i}"] == p[f"weight_{i}"] == 0 for i in range(2, 8))
    assert egress.entry_weights(e) == [(1, 3), (4, 9)]
    with pytest.raises(ValueError, match="at most 8"):
        service_nodes_entry(0, 7, [(i, 1) for i in range(9)])
    with pytest.raises(ValueError, match="bad candidate"):
        service_nodes_entry(0, 7, [(1, 70000)])


# ------------------------------------------------------------------- on a switch, by P4Runtime
@pytest.fixture
def egw_net():
    """The harness's 4-switch network; its egress gateway served over P4Runtime."""
    net = Network(nodes=((1, 1), (2, 1)))
    p4info = cpn_compiled().p4info
    srv = serve(net.egw.sw, "127.0.0.1:0", device_id=4, p4info=p4info)
    client = P4RuntimeClient(srv.address, 4)
    client.connect()
    client.use_p4info(p4info)
    yield net, client
    client.close()
    srv.stop(0)


def _flow(net: Network, sport: int) -> str:
    net.client_send(aisid_udp_request(AISID_ADDR, src=CLIENT, sport=sport, payload=b"x"))
    [got] = net.at_nodes()
    return Ether(got)[IPv6].dst


def test_drain_sends_new_flows_elsewhere_and_keeps_existing_ones(egw_net):
    net, client = egw_net
    first = _flow(net, 40000)
    node_of = {"fd00:4::21": 1, "fd00:4::22": 2}
    n1 = node_of[first]
    changed = egress.drain(client, n1)
    assert len(changed) == 1
    [held] = client.read_entries("CpnIngress.egw.service_nodes")
    assert held == changed[0] and dict(egress.entry_weights(held))[n1] == 0
    assert not egress.node_drained(client, n1)  # its flow is still there
    for sport in range(41000, 41004):
        assert node_of[_flow(net, sport)] != n1  # new flows avoid the drained node
    assert node_of[_flow(net, 40000)] == n1  # the old flow stays where it started
    # Draining the only node left would strand the service: refused, nothing written.
    with pytest.raises(ValueError, match="no node"):
        egress.drain(client, 3 - n1)
    assert client.read_entries("CpnIngress.egw.service_nodes") == [held]


def test_controller_ages_idle_flows(egw_net):
    net, client = egw_net
    for sport in (42000, 42001, 42002):
        _flow(net, sport)
    before = egress.read_connections(client)
    assert sum(before.values()) == 3
    now = net.clock.now()
    assert len(egress.age_idle_flows(client, now, idle_us=1000)) == 0  # nothing idle yet
    net.clock.advance(5000)
    _flow(net, 42001)  # this one stays busy
    res = egress.age_idle_flows(client, net.clock.now(), idle_us=1000)
    assert len(res) == 2
    after = egress.read_connections(client, [1, 2])
    assert sum(after.values()) == 1
    assert {n: a for n, (_, a) in res.connections.items()} == {n: after[n] for n in res.connections}
    state = client.read_register("CpnIngress.egw.flow_state")
    assert all(state[s] == 0 for s in res.slots)
    assert sum(1 for v in state.values() if v == 1) == 1


def test_idle_timeout_register(egw_net):
    _, client = egw_net
    egress.set_idle_timeout(client, 250_000)
    assert client.read_register("CpnIngress.egw.flow_idle_timeout_us", 0) == {0: 250_000}
    with pytest.raises(ValueError, match="32-bit"):
        egress.set_idle_timeout(client, 2**32)


def test_controller_ages_flows_in_either_of_their_two_slots(egw_net):
    """Two flows sharing their first slot: the second lives in its second slot; both are
    found, aged and their connections released (the layout is one table of slots)."""
    from traces.flowhash import egw_flow_slots

    net, client = egw_net
    by_first: dict[int, int] = {}
    for sport in range(40000, 65000):
        a, b = egw_flow_slots(CLIENT, AISID_ADDR, 17, sport, 8080)
        if a in by_first and b != a:
            p, q = by_first[a], sport
            break
        by_first.setdefault(a, sport)
    s = egw_flow_slots(CLIENT, AISID_ADDR, 17, p, 8080)[0]
    s2 = egw_flow_slots(CLIENT, AISID_ADDR, 17, q, 8080)[1]
    assert {_flow(net, p), _flow(net, q)} == {"fd00:4::21", "fd00:4::22"}  # each its own node
    assert egress.read_connections(client) == {1: 1, 2: 1}
    net.clock.advance(5000)
    res = egress.age_idle_flows(client, net.clock.now(), idle_us=1000)
    assert res.slots == sorted([s, s2])
    assert res.connections == {1: (1, 0), 2: (1, 0)}
    state = client.read_register("CpnIngress.egw.flow_state")
    assert state[s] == state[s2] == 0
