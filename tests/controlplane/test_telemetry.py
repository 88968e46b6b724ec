"""Telemetry against real embedded switches read through P4Runtime: counters move as packets
cross the harness's 4-switch network, link utilisation and demand follow, probes measure paths."""

from __future__ import annotations

import json
import threading

import pytest
from cpn_harness import (
    AISID_ADDR,
    CLIENT,
    EGW_SID,
    MAC,
    NODES,
    SERVICE,
    T2_SID,
    T3_SID,
    cpn_compiled,
    egress_gateway,
    ingress_gateway,
    transit,
)

from controlplane.clock import CallbackClock
from controlplane.egress import NodeLoad
from controlplane.netdesc import (
    LinkDesc,
    NetworkDescription,
    PortDesc,
    ServiceNodeDesc,
    SiteDesc,
    SwitchDesc,
)
from controlplane.p4rt import P4RuntimeClient
from controlplane.schedulers import ControlView, ServiceView
from controlplane.telemetry import PORT_TX, Telemetry
from p4target.runtime import serve_many
from p4target.switch.clock import WallClock
from traces.packets import aisid_udp_request

LINK_US = 300.0
RATE = 1e6
SITE = 4


def _description(addresses: dict[str, str]) -> NetworkDescription:
    def sw(name, dev, role, ports):
        return SwitchDesc(
            name, dev, addresses[name], role, f"fc00:0:{dev}::/48",
            [PortDesc(n, f"02:00:00:00:0{dev}:{n:02x}", peer) for n, peer in ports],
            topo_node=dev - 1,
        )  # fmt: skip

    switches = [
        sw("igw", 1, "ingress_gateway", [(1, "client"), (2, "t2")]),
        sw("t2", 2, "transit", [(1, "igw"), (2, "t3")]),
        sw("t3", 3, "transit", [(1, "t2"), (2, "egw")]),
        sw("egw", 4, "egress_gateway", [(1, "t3"), (3, "n1")]),
    ]
    links = [
        LinkDesc(a, 2, b, 1, rate_bps=RATE, delay_us=LINK_US)
        for a, b in (("igw", "t2"), ("t2", "t3"), ("t3", "egw"))
    ]
    nodes = [
        ServiceNodeDesc(i, f"n{i}", NODES[i], MAC["node"], "2080ti_1", 10.0 * i, 3) for i in (1, 2)
    ]
    site = SiteDesc(SITE, "site4", "egw", "fd00:4::/64", nodes)
    return NetworkDescription("harness", switches, links, sites=[site])


@pytest.fixture(scope="module")
def wired():
    """The harness network on a wall clock, every switch behind its own P4Runtime server."""
    clock = WallClock()
    igw = ingress_gateway(clock=clock)
    t2 = transit(2, T2_SID, "fc00:0:3::/48", MAC["t3"], clock=clock)
    t3 = transit(3, T3_SID, "fc00:0:4::/48", MAC["egw"], clock=clock)
    egw = egress_gateway(clock=clock)
    igw.ports[2].connect(t2.ports[1], LINK_US)
    t2.ports[2].connect(t3.ports[1], LINK_US)
    t3.ports[2].connect(egw.ports[1], LINK_US)
    sws = {"igw": igw, "t2": t2, "t3": t3, "egw": egw}
    p4info = cpn_compiled().p4info
    servers = serve_many([(s.sw, i + 1) for i, s in enumerate(sws.values())], p4info=p4info)
    addresses = {n: srv.address for n, srv in zip(sws, servers, strict=True)}
    clients = {}
    for i, n in enumerate(sws):
        c = P4RuntimeClient(addresses[n], i + 1)
        c.connect()
        c.use_p4info(p4info)
        clients[n] = c
    yield _description(addresses), sws, clients
    for c in clients.values():
        c.close()
    for s in servers:
        s.stop(0)
    clock.close()


def _send(sws, n: int, sport0: int) -> None:
    """Send ``n`` requests and wait until they all reached the service nodes."""
    done = threading.Event()
    port = sws["egw"].ports[3]
    start = len(port.received)

    def seen(_):
        if len(port.received) - start >= n:
            done.set()

    port.callbacks.append(seen)
    try:
        for i in range(n):
            req = aisid_udp_request(AISID_ADDR, src=CLIENT, sport=sport0 + i, payload=b"x" * 100)
            sws["igw"].ports[1].send(bytes(req))
        assert done.wait(10.0), "requests did not reach the service nodes"
    finally:
        port.callbacks.remove(seen)


def test_counters_become_utilisation_demand_and_node_load(wired):
    net, sws, clients = wired
    t = [100.0]
    tel = Telemetry(net, clients, CallbackClock(lambda: t[0]), history=3, service_ids=[SERVICE])
    first = tel.poll()
    assert first.errors == {} and first.link_utilisation == {}
    tx0 = sws["igw"].sw.counter_read(PORT_TX, 2)[1]
    _send(sws, 5, 43000)
    t[0] += 2.0
    snap = tel.poll()
    tx1 = sws["igw"].sw.counter_read(PORT_TX, 2)[1]
    assert tx1 > tx0 and snap.ports[("igw", 2)].tx_bytes == tx1
    assert snap.interval_s == 2.0
    assert snap.link_utilisation[("igw", "t2")] == pytest.approx((tx1 - tx0) * 8 / 2.0 / RATE)
    assert snap.link_available_bps[("igw", "t2")] == pytest.approx(
        RATE * (1 - snap.link_utilisation[("igw", "t2")])
    )
    assert snap.link_utilisation[("t2", "igw")] == 0.0
    assert snap.demand_pps == {("igw", SERVICE): 2.5}
    assert snap.service_counts[("egw", SERVICE)][1] - first.service_counts[("egw", SERVICE)][1] == 5
    conns = snap.connections
    assert sum(conns.values()) - sum(first.connections.values()) == 5
    assert snap.egw_stats["egw"]["new"] >= 5
    assert snap.node_load[(SITE, 1)].connections == conns[(SITE, 1)]
    assert snap.node_load[(SITE, 1)].utilisation == pytest.approx(min(1.0, conns[(SITE, 1)] / 1.0))
    # A node's own report replaces the estimate; the view for the schedulers carries it.
    tel.report_node_load(SITE, 2, NodeLoad(0.25, 3, 7.0))
    t[0] += 1.0
    snap = tel.poll()
    assert snap.node_load[(SITE, 2)] == NodeLoad(0.25, 3, 7.0)
    view = ControlView.from_snapshot(net, [ServiceView(SERVICE, SITE)], snap)
    assert view.demand_pps == {("igw", SERVICE): 0.0}
    state = snap.to_network_state(net)
    assert [(c.node, c.device) for c in state.compute] == [(3, "2080ti_1")]
    assert state.link_available_mbps[(0, 1)] == pytest.approx(1.0)
    # Bounded history, series for plots, JSON export.
    assert len(tel.history) == 3
    assert [v for _, v in tel.series("demand_pps", ("igw", SERVICE))] == [2.5, 0.0]
    with pytest.raises(KeyError, match="no telemetry quantity"):
        tel.series("nope")
    doc = json.loads(json.dumps(tel.to_json()))
    assert doc["snapshots"][1]["link_utilisation"]["igw>t2"] == pytest.approx(
        (tx1 - tx0) * 8 / 2.0 / RATE
    )


def test_probes_measure_the_path_delay(wired):
    net, sws, clients = wired
    tel = Telemetry(net, clients)
    seqs = tel.probe("igw", SITE, 0, AISID_ADDR)
    assert len(seqs) == 3 and len(set(seqs)) == 3
    assert tel.wait_probes(seqs, timeout_s=10.0)
    res = [tel.results[s] for s in seqs]
    assert all(r.switches == ("igw", "t2", "t3", "egw") for r in res)
    assert all(r.delay_us >= 3 * LINK_US for r in res)
    mean = sum(r.delay_us for r in res) / 3
    assert tel.path_delay() == {("igw", SITE, 0): pytest.approx(mean)}
    snap = tel.poll()
    assert snap.node_path_delay_us == {("igw", "t2", "t3", "egw"): pytest.approx(mean)}
    assert snap.path_delay_us[("igw", SITE, 0)] == pytest.approx(mean)
    # The probes made no egress-gateway flow (they are punted before node selection).
    assert all(r.path_id == 0 and r.site_id == SITE for r in res)
    with pytest.raises(ValueError, match="not an ingress gateway"):
        tel.probe("t2", SITE, 0, AISID_ADDR)


def test_a_switch_that_cannot_be_read_is_reported(wired):
    net, _, clients = wired

    class Down:
        def read_counter(self, *a, **k):
            raise ConnectionError("switch t3 is down")

        read_register = read_counter

    tel = Telemetry(net, {**clients, "t3": Down()})
    snap = tel.poll()
    assert snap.errors == {"t3": "ConnectionError: switch t3 is down"}
    assert ("igw", 2) in snap.ports and ("t3", 1) not in snap.ports
    assert EGW_SID  # the harness's egress gateway SID routes the probes above
