"""The AISID paper's Table 3 workload: ranges, seeds, the trace file, replay on clients."""

from __future__ import annotations

import json

import numpy as np
import pytest

from controlplane.netdesc import (
    HostDesc,
    NetworkDescription,
    ServiceDesc,
    ServiceNodeDesc,
    SiteDesc,
    SwitchDesc,
)
from traces.aisid import AISID
from traces.client import AisidClient
from traces.memnet import MemoryNet
from traces.service import ServiceNode
from traces.workload import FORMAT, Workload, WorkloadParams

GW = "02:00:00:00:01:00"


def table3_net(n_clients: int = 10, n_sites: int = 4) -> NetworkDescription:
    """10 ingress gateways with a client each, 4 egress gateways with a site of 2 nodes each."""
    sw = [SwitchDesc(f"igw{i}", i, "", "ingress_gateway", f"fc00:0:{i}::/48")
          for i in range(1, n_clients + 1)]  # fmt: skip
    sw += [SwitchDesc(f"egw{i}", 100 + i, "", "egress_gateway", f"fc00:1:{i}::/48")
           for i in range(1, n_sites + 1)]  # fmt: skip
    hosts = [HostDesc(f"c{i}", f"fd00:{i:x}::10", f"02:00:00:01:00:{i:02x}", f"igw{i}", 9)
             for i in range(1, n_clients + 1)]  # fmt: skip
    hosts.append(HostDesc("dns", "fd00:53::1", "02:00:00:01:00:53", "igw1", 10, kind="dns"))
    sites = [
        SiteDesc(s, f"site{s}", f"egw{s}", f"fd01:{s:x}::/64", [
            ServiceNodeDesc(k, f"n{s}_{k}", f"fd01:{s:x}::{k + 0x20:x}",
                            f"02:00:00:02:{s:02x}:{k:02x}", "a100_1", 1250.0, k)
            for k in (1, 2)
        ])
        for s in range(1, n_sites + 1)
    ]  # fmt: skip
    return NetworkDescription("table3", sw, [], hosts, sites, ["2001:db8:abcd:12::/64"])


@pytest.fixture(scope="module")
def net():
    return table3_net()


@pytest.fixture(scope="module")
def wl(net):
    return Workload.generate(net, 3000, seed=7)


def test_matches_table3_ranges(net, wl):
    assert len(wl.requests) == 3000 and len(wl.catalog) == 20
    for site in net.sites:  # each provider offers 10 of the 20 types
        assert sum(site.name in st.sites for st in wl.catalog) == 10
    assert all(st.sites for st in wl.catalog)  # every requestable type is provided somewhere
    assert sum(len(n.nodes) * n.nodes[0].capacity_tflops for n in net.sites) == 10_000
    r = wl.requests
    assert all(20e6 <= q.rate_bps <= 100e6 for q in r)
    assert all(1.0 <= q.compute_tflop <= 10.0 for q in r)
    assert all(0.2 <= q.data_bytes * 8 / q.rate_bps <= 1.0 + 1e-6 for q in r)
    assert {q.client for q in r} == {f"c{i}" for i in range(1, 11)}  # never the DNS host
    assert {q.service for q in r} == set(range(1, 21)) and {q.proto for q in r} == {"udp", "tcp"}
    for q in r[:50]:
        st = wl.service_type(q.service)
        a = AISID.from_address(q.aisid)
        assert q.aisid == st.aisid and a.object == q.service and a.prefix_network.prefixlen == 64
        assert q.deadline_us == a.latency_budget_us == st.deadline_us
        assert q.dns_name == f"svc{q.service}.cpn.example"
    times = [q.t_us for q in r]
    assert times == sorted(times) and times[0] == 0
    # Poisson arrivals at 500 / mean duration (0.6 s): ~833 per second
    rate = (len(r) - 1) / (times[-1] / 1e6)
    assert 760 < rate < 910
    gaps = np.diff(times)
    assert 0.85 < gaps.std() / gaps.mean() < 1.15  # exponential gaps: CV about 1


def test_keeps_about_500_requests_in_flight(wl):
    conc = wl.concurrency()
    steady = conc[1000:]  # after the first holding times
    assert 440 < steady.mean() < 560 and conc[0] == 1


def test_identical_for_a_seed_and_different_for_another(net, wl):
    again = Workload.generate(net, 3000, seed=7)
    assert again == wl
    other = Workload.generate(net, 3000, seed=8)
    assert other.requests != wl.requests


def test_trace_file_round_trip(tmp_path, net, wl):
    path = wl.save(tmp_path / "wl.jsonl")
    lines = path.read_text().splitlines()
    head = json.loads(lines[0])
    assert head["format"] == FORMAT and head["seed"] == 7 and head["count"] == 3000
    assert head["command"] == "Workload.generate(net='table3', requests=3000, seed=7)"
    assert head["network"] == "table3" and len(head["catalog"]) == 20
    assert head["params"]["concurrent"] == 500
    first = json.loads(lines[1])
    assert list(first) == [
        "index", "t_us", "client", "client_address", "service", "aisid", "dns_name", "proto",
        "data_bytes", "rate_bps", "compute_tflop", "reply_bytes", "deadline_us",
    ]  # fmt: skip
    assert Workload.load(path) == wl
    assert Workload.load(wl.save(tmp_path / "again.jsonl")).save(tmp_path / "b.jsonl").read_bytes() \
        == path.read_bytes()  # fmt: skip


def test_bad_trace_files_name_the_problem(tmp_path, wl):
    p = tmp_path / "x.jsonl"
    p.write_text('{"format": "other/1"}\n')
    with pytest.raises(ValueError, match="not a cpn-p4-workload/1 file"):
        Workload.load(p)
    good = wl.save(tmp_path / "g.jsonl").read_text().splitlines()
    p.write_text("\n".join(good[:3] + ['{"index": 1}']) + "\n")
    with pytest.raises(ValueError, match=r"x.jsonl:4: bad request line"):
        Workload.load(p)
    p.write_text("\n".join(good[:3]) + "\n")
    with pytest.raises(ValueError, match="header says 3000 requests, found 2"):
        Workload.load(p)
    p.write_text("")
    with pytest.raises(ValueError, match="empty"):
        Workload.load(p)


def test_bad_parameters_and_networks(net):
    with pytest.raises(ValueError, match="no hosts of kind 'client'"):
        Workload.generate(NetworkDescription("empty", [], [], [], net.sites), 10, 0)
    with pytest.raises(ValueError, match="cannot provide"):
        Workload.generate(table3_net(n_sites=1), 10, 0)
    with pytest.raises(ValueError, match="rate_bps"):
        Workload.generate(net, 10, 0, WorkloadParams(rate_bps=(100e6, 20e6)))
    with pytest.raises(ValueError, match="tcp_share"):
        Workload.generate(net, 10, 0, WorkloadParams(tcp_share=2))


def test_services_of_the_network_description_define_the_types(net):
    nd = table3_net()
    nd.services = [
        ServiceDesc("detect", "2001:db8:abcd:12:1:2:1:1388", "site1", deadline_us=500_000),
        ServiceDesc("detect", "2001:db8:abcd:12:1:2:1:1388", "site3", deadline_us=500_000),
        ServiceDesc("speech", "2001:db8:abcd:12:5:1:1:2710", "site2"),
    ]
    w = Workload.generate(nd, 200, seed=1)
    assert [(st.type_id, st.name, st.sites, st.deadline_us) for st in w.catalog] == [
        (1, "detect", ("site1", "site3"), 500_000),
        (2, "speech", ("site2",), 1_000_000),
    ]
    recs = w.dns_records(nd)
    assert recs["detect.cpn.example"] == ["fd01:1::21", "fd01:1::22", "fd01:3::21", "fd01:3::22"]
    descs = Workload.generate(net, 1, seed=1).service_descs()
    assert len(descs) == 40 and all(isinstance(d, ServiceDesc) for d in descs)


def test_replay_drives_clients_identically():
    nd = table3_net(n_clients=2, n_sites=2)
    params = WorkloadParams(service_types=4, types_per_site=2, concurrent=5,
                            duration_s=(0.01, 0.02), tcp_share=0.5)  # fmt: skip
    w = Workload.generate(nd, 12, seed=3, params=params)
    outcomes = []
    for _ in range(2):
        net = MemoryNet(delay_us=500)
        for site in nd.sites:
            for n in site.nodes:
                ServiceNode(net.endpoint(n.address), n.mac, n.address, n.device,
                            n.capacity_tflops, GW, node_id=n.node_id)  # fmt: skip
        first = {st.aisid: nd.site(st.sites[0]).nodes[0].address for st in w.catalog}
        for aisid, node in first.items():
            net.alias(aisid, node)
        clients = {h.name: AisidClient(net.endpoint(h.address), h.mac, h.address, GW)
                   for h in nd.hosts if h.kind == "client"}  # fmt: skip
        w.drive(clients, "aisid")
        net.run()
        recs = sorted((r for c in clients.values() for r in c.records.values()),
                      key=lambda r: r.request_id)  # fmt: skip
        outcomes.append([(r.request_id, r.outcome, r.t_start_us, r.completion_latency_us)
                         for r in recs])  # fmt: skip
    assert outcomes[0] == outcomes[1]
    assert [o[0] for o in outcomes[0]] == list(range(12))
    assert all(o[1] == "ok" for o in outcomes[0])
    assert [o[2] for o in outcomes[0]] == [r.t_us for r in w.requests]
    with pytest.raises(KeyError, match="no client program"):
        w.drive({}, "aisid")
    with pytest.raises(ValueError, match="mode"):
        w.drive(clients, "anycast")
