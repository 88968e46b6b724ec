"""The in-process network charges BULK units for the packets they stand for: serialisation,
link byte counters and the switches' P4 byte counters (what telemetry reads) are the same
whether a request's data crosses as every packet or as bulk units."""

from __future__ import annotations

import pytest
from emunet_helpers import AISID, fill_direct, line, line_entries

from controlplane.program import load_program
from topo.emunet import InProcessNetwork
from traces.client import AisidClient
from traces.service import ServiceNode
from traces.transport import ClockTransport

PORT_TX = "CpnEgress.telemetry.port_tx"
UNIT = 64 * 1024


@pytest.fixture(scope="module")
def program():
    return load_program()


def _run(program, bulk: int, paced: float | None):
    net = InProcessNetwork(line(3, rate_bps=1e9, delay_us=100.0, queue_packets=1000), program,
                           start_servers=False, preload_pipeline=True)  # fmt: skip
    for name, ents in line_entries(net.description).items():
        fill_direct(net.switches[name], ents, program)
    for n in ("n1", "n2"):
        ep = net.endpoints[n]
        ServiceNode(ClockTransport.for_endpoint(ep), ep.mac, ep.address, "2080ti_1", 100.0,
                    ep.gateway_mac, bulk_bytes=bulk, node_id=int(n[1:]))  # fmt: skip
    h = net.endpoints["h1"]
    client = AisidClient(ClockTransport.for_endpoint(h), h.mac, h.address, h.gateway_mac,
                         bulk_bytes=bulk)  # fmt: skip
    rec = client.request(AISID, 300_000, "udp", rate_bps=paced, reply_bytes=100_000,
                         compute_tflop=0.1)  # fmt: skip
    net.run_for(1.0)
    assert rec.outcome == "ok" and net.losses() == {}
    links = {lk.name: (tuple(lk.bytes), sum(lk.frames)) for lk in net.links}
    tx = {n: sw.counter_read(PORT_TX, 2)[1] for n, sw in net.switches.items() if n != "s3"}
    net.stop()
    return rec, links, tx


@pytest.mark.parametrize("paced", [None, 50e6])
def test_bulk_units_cost_what_the_packets_cost(program, paced):
    pk, pk_links, pk_tx = _run(program, 0, paced)
    bu, bu_links, bu_tx = _run(program, UNIT, paced)
    assert pk_links.keys() == bu_links.keys()
    for name in pk_links:
        assert bu_links[name][0] == pk_links[name][0]  # the same bytes, both directions
        assert bu_links[name][1] < pk_links[name][1] / 10  # in far fewer frames
    assert bu_tx == pk_tx  # the P4 port_tx byte counters agree too
    assert bu.initiation_latency_us == pytest.approx(pk.initiation_latency_us)
    # store and forward of one unit instead of one packet, on each of the 4 links per way
    slack = 2 * 4 * (UNIT + 200 * 90) * 8 / 1e9 * 1e6
    assert 0 <= bu.completion_latency_us - pk.completion_latency_us <= slack
    if paced is None:  # back to back on FIFO links: the unit costs its bytes' serialisation
        assert bu.completion_latency_us - pk.completion_latency_us < slack / 2
