"""The DNS baseline on a scenario: DNS hosts in the network description, answer policies, servers.

:func:`with_dns_hosts` adds a recursive resolver and the zone's authoritative server to a
network description as hosts of kind ``dns`` (each on its own /64 behind a new port of one
switch, routed like every host prefix); :func:`start_dns` runs :class:`traces.dns.RecursiveResolver`
and :class:`traces.dns.AuthoritativeServer` on their endpoints of a running
:class:`cpn.scenario.Scenario` (an ``on_built`` hook) with the answer policy of a method:

- ``dns-rr``: :class:`traces.dns.RoundRobin` over the nodes of every providing site (answers
  are the same for every client, so the resolver caches one per name for all of them);
- ``dns-nearest``: :class:`NearestInTurn`, geo-DNS: the nodes of the site nearest the client
  (EDNS Client Subnet; distance :class:`traces.dns.NetDistance`), in turn;
- ``dns-load``: :class:`CountingLoadAware`, a global server load balancer: the node with the
  least load per TFLOPS, load = running + queued jobs as measured every control interval
  (:class:`GslbLoad`; the same figures the nodes report to the controller) plus the answers
  given for the node since; ties to the nearest, then in turn.
"""

from __future__ import annotations

import copy
import ipaddress
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from controlplane.netdesc import HostDesc, NetworkDescription, PortDesc
from traces.dns import AuthoritativeServer, LoadAware, NetDistance, RecursiveResolver, RoundRobin
from traces.transport import ClockTransport

from .scenario import Scenario

RESOLVER, AUTHORITY = "dns-resolver", "dns-auth"
DNS_PREFIXES = ("fd0d:1::/64", "fd0d:2::/64")
DNS_METHODS = ("dns-rr", "dns-nearest", "dns-load")


@dataclass
class DnsPlacement:
    """Where the DNS servers are: host names, switches, addresses, and why there."""

    resolver: str
    resolver_switch: str
    resolver_address: str
    authority: str
    authority_switch: str
    authority_address: str
    why: str


def _central(dist: dict[str, dict[str, float]], switches: list[str], to: list[str]) -> str:
    """The switch with the least mean delay to ``to`` (ties: the first by name)."""
    return min(sorted(switches), key=lambda s: sum(dist[s].get(t, math.inf) for t in to))


def with_dns_hosts(desc: NetworkDescription) -> tuple[NetworkDescription, DnsPlacement]:
    """A copy of ``desc`` with a recursive resolver and an authoritative server (hosts of kind
    ``dns``); a description that has two ``dns`` hosts already keeps them (first: resolver)."""
    import networkx as nx

    from controlplane.netgen import _mac
    from controlplane.netvalidate import parse
    from traces.constants import CPU_PORT

    d = copy.deepcopy(desc)
    have = [h for h in d.hosts if h.kind == "dns"]
    if len(have) >= 2:
        r, a = have[0], have[1]
        why = f"the description's dns hosts {r.name} (resolver) and {a.name} (authoritative)"
        return d, DnsPlacement(r.name, r.switch, r.address, a.name, a.switch, a.address, why)
    g = nx.Graph()
    g.add_nodes_from(s.name for s in d.switches)
    g.add_weighted_edges_from((lk.a, lk.b, float(lk.delay_us)) for lk in d.links)
    dist = dict(nx.all_pairs_dijkstra_path_length(g))
    names = [s.name for s in d.switches]
    clients = [h.switch for h in d.hosts if h.kind == "client"]
    egws = [s.egress_gateway for s in d.sites]
    if not clients or not egws:
        raise ValueError(f"network {d.name!r} needs client hosts and sites for the DNS baseline")
    at = (_central(dist, names, clients), _central(dist, names, egws))
    c0 = next(h for h in d.hosts if h.kind == "client")
    access = next(p for p in d.switch(c0.switch).ports if p.number == c0.port)
    added = []
    for k, (name, sw_name, prefix) in enumerate(
        zip((RESOLVER, AUTHORITY), at, DNS_PREFIXES, strict=True), 1
    ):
        if any(h.name == name for h in d.hosts):
            raise ValueError(f"network {d.name!r} already has a host named {name!r}")
        sw = d.switch(sw_name)
        used = {p.number for p in sw.ports}
        number = next(n for n in range(1, 512) if n not in used and n != CPU_PORT)
        sw.ports.append(
            PortDesc(number, _mac(0, sw.device_id, number), name, 0, access.rate_bps,
                     access.delay_us)
        )  # fmt: skip
        net = ipaddress.IPv6Network(prefix)
        host = HostDesc(name, str(net.network_address + 0x53), _mac(3, 0xD5, k), sw_name, number,
                        "dns", str(net))  # fmt: skip
        d.hosts.append(host)
        added.append(host)
    d = parse(d.to_dict(), source=f"{d.name} with DNS hosts")
    r, a = added
    mean = [sum(dist[s][t] for t in to) / len(to) / 1e3
            for s, to in zip(at, (clients, egws), strict=True)]  # fmt: skip
    why = (f"resolver {r.name} at {at[0]} (least mean delay to the client hosts' switches, "
           f"{mean[0]:.1f} ms), authoritative {a.name} at {at[1]} (least mean delay to the "
           f"sites' egress gateways, {mean[1]:.1f} ms)")  # fmt: skip
    return d, DnsPlacement(r.name, at[0], r.address, a.name, at[1], a.address, why)


# -- answer policies ------------------------------------------------------------------------------
class NearestInTurn:
    """Geo-DNS: the candidates nearest the client (the nodes of its nearest site), in turn."""

    scope_len = 64

    def __init__(self, distance: Callable[[str, str], float]) -> None:
        self.distance = distance
        self._rr = RoundRobin()

    def choose(self, name: str, candidates: list[str], client: str) -> str:
        d = {c: self.distance(client, c) for c in candidates}
        best = min(d.values())
        return self._rr.choose(name, [c for c in candidates if d[c] <= best + 1e-9], client)


class GslbLoad:
    """The load-aware DNS's view of the nodes: every control interval each node's running and
    queued jobs (what the nodes report to the controller too), plus the answers the server has
    given for it since, per TFLOPS of the node."""

    def __init__(self, sc: Scenario) -> None:
        self.sc = sc
        self.capacity = {}
        self.addr_node = {}
        for name, (_site, nd) in sc.node_desc.items():
            a = str(ipaddress.IPv6Address(nd.address))
            self.capacity[a] = nd.capacity_tflops
            self.addr_node[a] = name
        self.jobs: dict[str, float] = dict.fromkeys(self.capacity, 0.0)
        self.given: Counter[str] = Counter()
        self.measurements = 0

    def measure(self) -> None:
        for a, name in self.addr_node.items():
            node = self.sc.nodes[name]
            self.jobs[a] = node.busy + node.queue_length if node.alive else math.inf
        self.given.clear()
        self.measurements += 1

    def __call__(self, address: str) -> float:
        return (self.jobs.get(address, math.inf) + self.given[address]) / self.capacity.get(
            address, 1.0
        )


class CountingLoadAware(LoadAware):
    """:class:`traces.dns.LoadAware` that counts its answers into the :class:`GslbLoad`."""

    def __init__(self, load: GslbLoad, distance: Callable[[str, str], float] | None) -> None:
        super().__init__(load, distance)
        self.gslb = load

    def choose(self, name: str, candidates: list[str], client: str) -> str:
        c = super().choose(name, candidates, client)
        self.gslb.given[c] += 1
        return c


@dataclass
class DnsServers:
    resolver: RecursiveResolver
    authority: AuthoritativeServer
    gslb: GslbLoad | None = None


def start_dns(
    sc: Scenario, method: str, placement: DnsPlacement, ttl_s: int, interval_s: float
) -> DnsServers:
    """The resolver and the authoritative server of ``method`` on their endpoints."""
    d = sc.net.description
    w = sc.workload
    assert w is not None
    dist = NetDistance(d)
    gslb = None
    if method == "dns-rr":
        policy: Any = RoundRobin()
    elif method == "dns-nearest":
        policy = NearestInTurn(dist)
    elif method == "dns-load":
        gslb = GslbLoad(sc)
        policy = CountingLoadAware(gslb, dist)
        sc.net.every(interval_s, gslb.measure)
    else:
        raise ValueError(f"not a DNS method: {method!r}")
    ea, er = sc.net.endpoints[placement.authority], sc.net.endpoints[placement.resolver]
    zone = w.params.zone
    auth = AuthoritativeServer(
        ClockTransport.for_endpoint(ea), ea.mac, ea.address, ea.gateway_mac, zone=zone,
        records=w.dns_records(d), policy=policy, ttl_s=ttl_s, name=placement.authority,
    )  # fmt: skip
    rec = RecursiveResolver(
        ClockTransport.for_endpoint(er), er.mac, er.address, er.gateway_mac,
        authorities={zone: ea.address}, name=placement.resolver,
    )  # fmt: skip
    return DnsServers(rec, auth, gslb)


__all__ = [
    "AUTHORITY",
    "DNS_METHODS",
    "RESOLVER",
    "CountingLoadAware",
    "DnsPlacement",
    "DnsServers",
    "GslbLoad",
    "NearestInTurn",
    "start_dns",
    "with_dns_hosts",
]
