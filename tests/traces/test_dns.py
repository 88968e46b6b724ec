"""The DNS baseline over the in-memory wire: real DNS messages, TTL caching at the stub and the
recursive resolver, round robin / nearest / load-aware answers, failures."""

from __future__ import annotations

import pytest
from scapy.layers.dns import DNS, DNSRROPT, EDNS0ClientSubnet
from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether

from controlplane.netdesc import (
    HostDesc,
    LinkDesc,
    NetworkDescription,
    ServiceNodeDesc,
    SiteDesc,
    SwitchDesc,
)
from traces.client import AisidClient
from traces.dns import (
    AuthoritativeServer,
    LoadAware,
    Nearest,
    NetDistance,
    RecursiveResolver,
    RoundRobin,
    StubResolver,
)
from traces.memnet import MemoryNet
from traces.service import ServiceNode

D = 1000.0
GW = "02:00:00:00:01:00"
AUTH, REC = "fd00:53::1", "fd00:53::2"
C1, C2 = "fd00:1::10", "fd00:2::10"
N1, N2 = "fd01:1::21", "fd01:2::21"  # site1 (near c1), site2 (near c2)
NAME = "svc7.cpn.example"


def small_net() -> NetworkDescription:
    sw = [
        SwitchDesc(n, i + 1, f"127.0.0.1:{50100 + i}", role, f"fc00:0:{i + 1}::/48")
        for i, (n, role) in enumerate(
            [("igw1", "ingress_gateway"), ("igw2", "ingress_gateway"), ("t", "transit"),
             ("egw1", "egress_gateway"), ("egw2", "egress_gateway")]
        )
    ]  # fmt: skip
    links = [
        LinkDesc("igw1", 1, "egw1", 1, delay_us=1000),
        LinkDesc("igw2", 1, "egw2", 1, delay_us=1000),
        LinkDesc("igw1", 2, "t", 1, delay_us=3000),
        LinkDesc("t", 2, "egw2", 2, delay_us=3000),
        LinkDesc("igw2", 2, "t", 3, delay_us=3000),
        LinkDesc("t", 4, "egw1", 2, delay_us=3000),
    ]
    hosts = [
        HostDesc("c1", C1, "02:00:00:01:00:01", "igw1", 9),
        HostDesc("c2", C2, "02:00:00:01:00:02", "igw2", 9),
        HostDesc("dns", AUTH, "02:00:00:01:00:53", "t", 9, kind="dns"),
    ]
    sites = [
        SiteDesc(1, "site1", "egw1", "fd01:1::/64",
                 [ServiceNodeDesc(1, "n1", N1, "02:00:00:02:01:01", "2080ti_1", 100.0, 5)]),
        SiteDesc(2, "site2", "egw2", "fd01:2::/64",
                 [ServiceNodeDesc(1, "n2", N2, "02:00:00:02:02:01", "2080ti_1", 100.0, 5)]),
    ]  # fmt: skip
    return NetworkDescription("dnsnet", sw, links, hosts, sites)


class World:
    def __init__(self, policy=None, ttl_s=30, rec_cache=True, stub_cache=True):
        self.net = MemoryNet(delay_us=D)
        self.nodes = {
            a: ServiceNode(
                self.net.endpoint(a, f"node{i}"),
                f"02:00:00:02:0{i}:01",
                a,
                "2080ti_1",
                100.0,
                GW,
                node_id=1,
            )  # fmt: skip
            for i, a in enumerate((N1, N2), 1)
        }
        self.auth = AuthoritativeServer(
            self.net.endpoint(AUTH, "auth"), "02:00:00:00:53:01", AUTH, GW,
            records={NAME: [N1, N2]}, policy=policy or RoundRobin(), ttl_s=ttl_s,
        )  # fmt: skip
        self.rec = RecursiveResolver(
            self.net.endpoint(REC, "rec"), "02:00:00:00:53:02", REC, GW,
            authorities={"cpn.example": AUTH}, cache=rec_cache,
        )  # fmt: skip
        self.clients = [
            AisidClient(
                self.net.endpoint(a, f"c{i}"),
                f"02:00:00:01:00:0{i}",
                a,
                GW,
                dns_server=REC,
                stub_options={"cache": stub_cache},
            )  # fmt: skip
            for i, a in enumerate((C1, C2), 1)
        ]

    def run(self, dt=None):
        if dt is None:
            self.net.run()
        else:
            self.net.run(until_us=self.net.clock.now() + dt)

    def resolve(self, client, name=NAME):
        res = client.stub.resolve(name)
        self.run(20 * D)
        assert res.done
        return res


def test_request_by_name_resolves_then_connects_with_real_dns_packets():
    w = World()
    c1 = w.clients[0]
    rec = c1.request(NAME, 10_000, "udp", compute_tflop=1.0)
    w.run()
    assert rec.outcome == "ok" and rec.address == N1 and not rec.from_cache
    # stub -> recursive -> authoritative -> recursive -> stub, then REQ -> ACCEPT
    assert rec.resolve_us == 4 * D
    assert rec.initiation_latency_us == 6 * D
    assert rec.completion_latency_us == pytest.approx(4 * D + 2 * D + 1e4)
    dns_frames = [
        Ether(f) for _, _, f in w.net.log if f[54:56] == b"\x00\x35" or f[56:58] == b"\x00\x35"
    ]
    assert len(dns_frames) == 4 and all(p.haslayer(DNS) for p in dns_frames)
    query, upstream, answer, reply = (p[DNS] for p in dns_frames)
    assert query.rd == 1 and query.qd[0].qname == b"svc7.cpn.example." and query.qd[0].qtype == 28
    ecs = [o for o in upstream[DNSRROPT].rdata if isinstance(o, EDNS0ClientSubnet)][0]
    assert (ecs.address, ecs.source_plen) == ("fd00:1::", 64)  # client subnet for the authority
    assert answer.aa == 1 and answer.an[0].ttl == 30
    assert reply.ra == 1 and str(reply.an[0].rdata) == N1 and dns_frames[3][UDP].sport == 53


def test_second_query_served_from_the_stub_cache_until_the_ttl_runs_out():
    w = World(ttl_s=5)
    c1 = w.clients[0]
    first = w.resolve(c1)
    assert first.address == N1 and c1.stub.queries_sent == 1
    w.run(2e6)
    rec = c1.request(NAME, 1000, "udp")
    assert rec.from_cache  # resolved at once, no DNS packet
    w.run(20 * D)
    assert rec.outcome == "ok" and rec.address == N1 and rec.resolve_us == 0
    assert rec.initiation_latency_us == 2 * D
    assert c1.stub.queries_sent == 1 and c1.stub.cache_hits == 1
    w.run(3.5e6)  # past the 5 s TTL
    assert c1.stub.cached(NAME) is None
    again = w.resolve(c1)
    assert c1.stub.queries_sent == 2 and not again.from_cache
    assert w.auth.queries == 2  # the recursive cache (same TTL) expired too


def test_recursive_resolver_caches_for_all_clients():
    w = World(ttl_s=60)
    a = w.resolve(w.clients[0])
    w.run(10e6)
    b = w.resolve(w.clients[1])
    assert w.auth.queries == 1 and w.rec.cache_hits == 1 and w.rec.upstream_queries == 1
    assert a.address == b.address == N1  # round robin answered once, cached
    assert b.ttl_s == 49  # remaining TTL (59.98 s, rounded down) handed down to the stub
    assert b.t_done_us - b.t_start_us == 2 * D


def test_round_robin_rotates_without_caches():
    w = World(rec_cache=False, stub_cache=False)
    got = [w.resolve(w.clients[0]).address for _ in range(4)]
    assert got == [N1, N2, N1, N2] and w.auth.queries == 4


def test_nearest_uses_the_client_subnet_and_caches_per_subnet():
    dist = NetDistance(small_net())
    assert dist(C1, N1) == 1000 and dist(C1, N2) == 6000 and dist(C2, N2) == 1000
    w = World(policy=Nearest(dist))
    assert w.resolve(w.clients[0]).address == N1
    assert w.resolve(w.clients[1]).address == N2  # not c1's cached answer: scope /64
    assert w.auth.queries == 2
    assert [(c, a) for _, _, c, a in w.auth.answers] == [("fd00:1::", N1), ("fd00:2::", N2)]
    with pytest.raises(KeyError, match="no host"):
        dist("fd00:99::1", N1)


def test_load_aware_answers_the_least_loaded_node():
    w = World(rec_cache=False, stub_cache=False)
    w.auth.policy = LoadAware(lambda a: w.nodes[a].load)
    c1 = w.clients[0]
    c1.request(N1, 0, "udp", compute_tflop=100.0)  # keeps node 1 busy for a second
    w.run(10 * D)
    assert w.nodes[N1].load == 1.0
    assert [w.resolve(c1).address for _ in range(3)] == [N2, N2, N2]
    w.run(2e6)
    assert w.nodes[N1].load == 0.0
    assert sorted(w.resolve(c1).address for _ in range(2)) == [N1, N2]  # tie: round robin
    near = LoadAware(lambda a: 0.0, NetDistance(small_net()))
    assert near.choose(NAME, [N1, N2], C2) == N2 and near.scope_len == 64


def test_failures_nxdomain_refused_servfail():
    w = World()
    c1 = w.clients[0]
    bad = c1.request("svc99.cpn.example", 1000)
    other = w.resolve(c1, "www.example.org")
    w.run()
    assert bad.outcome == "unknown" and "NXDOMAIN" in bad.error and bad.address == ""
    assert other.address is None and other.error == "REFUSED"
    w2 = World()
    w2.auth.host.unbind(17, 53)  # the authoritative server is gone
    res = w2.clients[0].stub.resolve(NAME)
    w2.run()
    assert res.error == "SERVFAIL" and w2.rec.upstream_queries == 3  # 3 attempts, 1 s apart
    assert res.t_done_us - res.t_start_us == pytest.approx(3e6 + 2 * D)


def test_stub_times_out_without_a_resolver():
    net = MemoryNet(delay_us=D)
    client = AisidClient(net.endpoint(C1), "02:00:00:01:00:01", C1, GW, dns_server=REC,
                         stub_options={"timeout_us": 5e5, "attempts": 2})  # fmt: skip
    rec = client.request(NAME, 1000)
    net.run()
    assert rec.outcome == "unknown" and rec.error == "DNS: timeout"
    assert client.stub.queries_sent == 2 and rec.resolve_us == 1e6


def test_bad_records_and_settings():
    net = MemoryNet()
    auth = AuthoritativeServer(net.endpoint(AUTH), "02:00:00:00:53:01", AUTH, GW)
    with pytest.raises(ValueError, match="not in zone"):
        auth.set_records("svc1.other.example", [N1])
    with pytest.raises(ValueError):
        auth.set_records("svc1.cpn.example", ["not-an-address"])
    with pytest.raises(ValueError, match="ttl_s"):
        AuthoritativeServer(net.endpoint(REC), "02:00:00:00:53:02", REC, GW, ttl_s=-1)
    auth.set_records("svc1.cpn.example", [N1])
    auth.set_records("svc1.cpn.example", [])
    assert auth.records == {}
    host = AisidClient(net.endpoint(C1), "02:00:00:01:00:01", C1, GW).host
    with pytest.raises(ValueError):
        StubResolver(host, "nope")
