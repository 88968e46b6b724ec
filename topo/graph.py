"""The graph model every topology shares: a directed networkx graph with link capacity and delay.

Nodes are the integers ``0..n-1`` (loaders relabel and keep the file's id as ``orig_id``; nodes
may carry ``name``, ``lat`` and ``lon``). Every directed link carries ``capacity_mbps``,
``delay_ms`` (propagation) and ``weight`` (the routing weight shortest paths use: the file's
OSPF weight where it has one, else the propagation delay). ``links`` fixes one order of the
directed links so simulators can keep per-link state in numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice

import networkx as nx
import numpy as np

#: Light in fibre travels about 200 km per millisecond.
FIBRE_KM_PER_MS = 200.0
EARTH_RADIUS_KM = 6371.0


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def geo_delay_ms(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """One-way propagation delay of a fibre laid along the great circle (floor 0.05 ms)."""
    return max(0.05, great_circle_km(lat1, lon1, lat2, lon2) / FIBRE_KM_PER_MS)


@dataclass
class Topology:
    """A network: directed graph plus where it came from.

    ``source`` says which graph this is (``"built-in"``, ``"file:PATH"`` or ``"synthetic
    stand-in ..."``) so every report can name the graph it ran on. ``capacity_is_relative`` is
    true when the file gives capacities in unknown units (RocketFuel bandwidths, Topology Zoo
    node-link exports): simulators may rescale them.
    """

    graph: nx.DiGraph
    name: str
    source: str
    capacity_is_relative: bool = False
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        g = self.graph
        if not isinstance(g, nx.DiGraph) or g.is_multigraph():
            raise TypeError("Topology.graph must be a networkx DiGraph (not a multigraph)")
        n = g.number_of_nodes()
        if sorted(g.nodes) != list(range(n)):
            raise ValueError("topology nodes must be the integers 0..n-1")
        for u, v, d in g.edges(data=True):
            for key in ("capacity_mbps", "delay_ms", "weight"):
                if key not in d:
                    raise ValueError(f"link {u}->{v} lacks {key!r}")
            if not d["capacity_mbps"] > 0 or d["delay_ms"] < 0 or not d["weight"] > 0:
                raise ValueError(
                    f"link {u}->{v} has a non-positive capacity/weight or negative delay"
                )

    # ------------------------------------------------------------------ sizes and arrays
    @property
    def n_nodes(self) -> int:
        return self.graph.number_of_nodes()

    @property
    def n_links(self) -> int:
        return self.graph.number_of_edges()

    @cached_property
    def links(self) -> list[tuple[int, int]]:
        """Directed links in a fixed (sorted) order; index i is link i in every array."""
        return sorted(self.graph.edges)

    @cached_property
    def link_index(self) -> dict[tuple[int, int], int]:
        return {e: i for i, e in enumerate(self.links)}

    @cached_property
    def capacity_mbps(self) -> np.ndarray:
        return np.array([self.graph.edges[e]["capacity_mbps"] for e in self.links], dtype=float)

    @cached_property
    def delay_ms(self) -> np.ndarray:
        return np.array([self.graph.edges[e]["delay_ms"] for e in self.links], dtype=float)

    def describe(self) -> str:
        return f"{self.name} ({self.n_nodes} nodes, {self.n_links} directed links; {self.source})"

    # ------------------------------------------------------------------ paths
    def hop_counts(self, source: int) -> dict[int, int]:
        """Hop count of the shortest path from ``source`` to every reachable node."""
        return nx.single_source_shortest_path_length(self.graph, source)

    def shortest_path(self, source: int, target: int) -> list[int]:
        return nx.shortest_path(self.graph, source, target, weight="weight")

    def k_shortest_paths(self, source: int, target: int, k: int) -> list[list[int]]:
        """Up to ``k`` loop-free paths in order of routing weight (Yen's algorithm)."""
        if source == target:
            return [[source]]
        gen = nx.shortest_simple_paths(self.graph, source, target, weight="weight")
        try:
            return [list(p) for p in islice(gen, k)]
        except nx.NetworkXNoPath:
            return []

    def path_links(self, path: Sequence[int]) -> np.ndarray:
        """Link indices along a node path."""
        idx = self.link_index
        return np.array([idx[(u, v)] for u, v in zip(path[:-1], path[1:], strict=True)], dtype=int)

    def path_delay_ms(self, path: Sequence[int]) -> float:
        return float(self.delay_ms[self.path_links(path)].sum()) if len(path) > 1 else 0.0

    def is_connected(self) -> bool:
        return self.n_nodes > 0 and nx.is_strongly_connected(self.graph)


def from_undirected_links(
    n_nodes: int,
    links: Iterable[tuple[int, int, dict]],
    name: str,
    source: str,
    *,
    capacity_is_relative: bool = False,
    node_attrs: dict[int, dict] | None = None,
) -> Topology:
    """Build a topology with each undirected link ``(u, v, attrs)`` as two directed links."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n_nodes))
    for node, attrs in (node_attrs or {}).items():
        g.nodes[node].update(attrs)
    for u, v, attrs in links:
        g.add_edge(u, v, **attrs)
        g.add_edge(v, u, **attrs)
    return Topology(g, name, source, capacity_is_relative)
