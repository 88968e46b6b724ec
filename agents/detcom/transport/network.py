"""The case study's TSN–5G converged network: computing domains, TSN switches and the 5GS bridge.

Five computing domains (m1..m5, 1000 cores / 1000 TFLOPS each) are joined by three TSN switches
of different port rates and by a 5G system that the draft treats as one logical TSN bridge
(DS-TT on the UE side, NW-TT on the core side)::

    m1 ─┐               ┌── 5GS ──┐
        TSN1 (1 Gb/s) ──┘         └── TSN2 (100 Mb/s) ── m2
    m3 ─┘ │
          └── TSN3 (10 Gb/s) ── m4, m5

so m1↔m2 (the case study's 3000 tasks) crosses TSN1, the 5GS and TSN2: three CQF bridges with
one TSN→5G and one 5G→TSN hop. The graph is a :class:`topo.graph.Topology` (shared with the
other schedulers); every directed link leaving a bridge is a CQF egress *port* with its own pair
of queues. Routes are the fewest-bridge paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from topo.graph import Topology, from_undirected_links

DOMAIN_NAMES: tuple[str, ...] = ("m1", "m2", "m3", "m4", "m5")
#: Port rate (Mb/s) of each TSN switch: "different bandwidth resources on each TSN switch".
TSN_RATES_MBPS: dict[str, float] = {"TSN1": 1000.0, "TSN2": 100.0, "TSN3": 10000.0}
#: Undirected links of the case study (the 5GS takes the rate of the switch it attaches to).
CASE_STUDY_LINKS: tuple[tuple[str, str], ...] = (
    ("m1", "TSN1"),
    ("m3", "TSN1"),
    ("TSN1", "5GS"),
    ("5GS", "TSN2"),
    ("TSN2", "m2"),
    ("TSN1", "TSN3"),
    ("TSN3", "m4"),
    ("TSN3", "m5"),
)


@dataclass(frozen=True)
class Route:
    """A domain-to-domain path: the bridges it crosses and the egress port each one uses."""

    src: int
    dst: int
    nodes: tuple[int, ...]
    ports: tuple[int, ...]  # egress port index of each bridge on the path, in path order
    fivegs_hop: int  # index into ``ports`` of the 5GS bridge, or -1

    @property
    def n_bridges(self) -> int:
        return len(self.ports)


class TransportNetwork:
    """Domains, bridges, ports and routes as numpy arrays for the vectorised simulator."""

    def __init__(
        self,
        tsn_rates_mbps: dict[str, float] | None = None,
        links: tuple[tuple[str, str], ...] = CASE_STUDY_LINKS,
        domain_cores: float = 1000.0,
        domain_tflops: float = 1000.0,
        n_domains: int = 5,
        propagation_us: float = 0.5,
    ) -> None:
        rates = dict(TSN_RATES_MBPS if tsn_rates_mbps is None else tsn_rates_mbps)
        domains = [f"m{i + 1}" for i in range(n_domains)]
        names = [*domains, *sorted(rates), "5GS"]
        index = {n: i for i, n in enumerate(names)}
        for u, v in links:
            if u not in index or v not in index:
                raise ValueError(f"link {u}-{v} names an unknown node (known: {names})")

        def link_rate(u: str, v: str) -> float:
            sw = [rates[x] for x in (u, v) if x in rates]
            if not sw:
                raise ValueError(f"link {u}-{v} joins no TSN switch")
            return min(sw)

        attrs = {}
        for n in names:
            kind = "domain" if n in domains else ("5gs" if n == "5GS" else "tsn")
            a: dict = {"name": n, "kind": kind}
            if kind == "domain":
                a.update(cores=domain_cores, tflops=domain_tflops)
            attrs[index[n]] = a
        ulinks = [
            (
                index[u],
                index[v],
                {
                    "capacity_mbps": link_rate(u, v),
                    "delay_ms": propagation_us / 1000,
                    "weight": 1.0,
                },
            )
            for u, v in links
        ]
        self.topology: Topology = from_undirected_links(
            len(names), ulinks, "detcom-tsn5g", "built-in (Det(Com)² case study)", node_attrs=attrs
        )
        self.names = names
        self.n_domains = n_domains
        self.domain_names = tuple(domains)
        self.fivegs = index["5GS"]
        self.propagation_us = propagation_us
        g = self.topology.graph
        #: Egress ports: directed links whose tail is a bridge (TSN switch or 5GS).
        self.port_links: list[tuple[int, int]] = [
            e for e in self.topology.links if g.nodes[e[0]]["kind"] != "domain"
        ]
        self.port_index = {e: i for i, e in enumerate(self.port_links)}
        self.port_rate_mbps = np.array([g.edges[e]["capacity_mbps"] for e in self.port_links])
        self.port_is_5gs = np.array([e[0] == self.fivegs for e in self.port_links])

    @property
    def n_ports(self) -> int:
        return len(self.port_links)

    def node_kind(self, node: int) -> str:
        return self.topology.graph.nodes[node]["kind"]

    def port_name(self, port: int) -> str:
        u, v = self.port_links[port]
        return f"{self.names[u]}->{self.names[v]}"

    def route(self, src: int, dst: int) -> Route:
        if not (0 <= src < self.n_domains and 0 <= dst < self.n_domains):
            raise ValueError(f"domains are 0..{self.n_domains - 1}, got {src}->{dst}")
        if src == dst:
            return Route(src, dst, (src,), (), -1)
        nodes = tuple(self.topology.shortest_path(src, dst))
        ports = tuple(self.port_index[(u, v)] for u, v in zip(nodes[1:-1], nodes[2:], strict=True))
        bridges = nodes[1:-1]
        hop5 = bridges.index(self.fivegs) if self.fivegs in bridges else -1
        return Route(src, dst, nodes, ports, hop5)

    @cached_property
    def routes(self) -> list[Route]:
        """All ordered domain pairs, index ``src * n_domains + dst``."""
        return [self.route(s, d) for s in range(self.n_domains) for d in range(self.n_domains)]

    @cached_property
    def max_bridges(self) -> int:
        return max(r.n_bridges for r in self.routes)

    def route_arrays(self) -> dict[str, np.ndarray]:
        """Padded route table: ports [R, H] (-1 pad), n_bridges [R], fivegs_hop [R]."""
        h = max(1, self.max_bridges)
        ports = np.full((len(self.routes), h), -1, dtype=np.int64)
        for i, r in enumerate(self.routes):
            ports[i, : r.n_bridges] = r.ports
        return {
            "ports": ports,
            "n_bridges": np.array([r.n_bridges for r in self.routes], dtype=np.int64),
            "fivegs_hop": np.array([r.fivegs_hop for r in self.routes], dtype=np.int64),
        }

    def hop_kind(self, port: int) -> str:
        """The draft's hop kind of an egress port (a domain end counts as a TSN end station)."""
        u, v = self.port_links[port]
        a = "5g" if u == self.fivegs else "tsn"
        b = "5g" if v == self.fivegs else "tsn"
        return f"{a}-{b}"

    def hop_times_us(self, frame_bits: float, processing_us: float = 2.0) -> dict[str, float]:
        """Slowest hop of each kind: serialisation + propagation + processing, in µs."""
        out: dict[str, float] = {}
        for p in range(self.n_ports):
            t = frame_bits / self.port_rate_mbps[p] + self.propagation_us + processing_us
            k = self.hop_kind(p)
            out[k] = max(out.get(k, 0.0), float(t))
        return out
