"""Seeded synthetic stand-ins for real topologies, for users without the data files.

A stand-in has exactly the requested node and directed-link counts: nodes are scattered over a
continent-sized box, a Euclidean minimum spanning tree makes the graph connected, and further
links are drawn with the Waxman rule (short links likelier), each added in both directions.
Delays come from the geography; capacities are drawn from common backbone rates.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree

from topo.graph import Topology, from_undirected_links, geo_delay_ms

#: Backbone link rates (Mbit/s) a stand-in draws from, with their probabilities.
CAPACITY_CHOICES_MBPS = (2_500.0, 10_000.0, 40_000.0)
CAPACITY_PROBS = (0.3, 0.5, 0.2)
#: Latitude/longitude box (roughly the contiguous United States).
LAT_RANGE = (25.0, 49.0)
LON_RANGE = (-124.0, -67.0)


def synthetic_topology(
    n_nodes: int, n_links: int, seed: int = 0, name: str | None = None, waxman_alpha: float = 0.15
) -> Topology:
    """A connected stand-in with ``n_nodes`` nodes and ``n_links`` directed links (even)."""
    if n_links % 2:
        raise ValueError("n_links counts directed links of bidirectional pairs: must be even")
    n_undirected = n_links // 2
    max_links = n_nodes * (n_nodes - 1) // 2
    if not n_nodes - 1 <= n_undirected <= max_links:
        raise ValueError(f"{n_nodes} nodes cannot be connected by {n_undirected} links")
    rng = np.random.default_rng(seed)
    lat = rng.uniform(*LAT_RANGE, n_nodes)
    lon = rng.uniform(*LON_RANGE, n_nodes)
    # Planar approximation for choosing links; delays use the exact great-circle distance.
    x = np.radians(lon) * np.cos(np.radians(lat.mean())) * 6371.0
    y = np.radians(lat) * 6371.0
    dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    tree = minimum_spanning_tree(dist + 1e-9).tocoo()
    in_tree = np.zeros((n_nodes, n_nodes), dtype=bool)
    in_tree[tree.row, tree.col] = in_tree[tree.col, tree.row] = True
    chosen = {(int(min(u, v)), int(max(u, v))) for u, v in zip(tree.row, tree.col, strict=True)}
    iu, ju = np.triu_indices(n_nodes, k=1)
    free = ~in_tree[iu, ju]
    iu, ju = iu[free], ju[free]
    extra = n_undirected - len(chosen)
    if extra > 0:
        p = np.exp(-dist[iu, ju] / (waxman_alpha * dist.max()))
        pick = rng.choice(len(iu), size=extra, replace=False, p=p / p.sum())
        chosen.update(zip(iu[pick].tolist(), ju[pick].tolist(), strict=True))
    links = []
    for u, v in sorted(chosen):
        delay = geo_delay_ms(lat[u], lon[u], lat[v], lon[v])
        cap = float(rng.choice(CAPACITY_CHOICES_MBPS, p=CAPACITY_PROBS))
        links.append((u, v, {"capacity_mbps": cap, "delay_ms": delay, "weight": delay}))
    nodes = {i: {"lat": float(lat[i]), "lon": float(lon[i])} for i in range(n_nodes)}
    label = name or f"synthetic-{n_nodes}-{n_links}"
    source = f"synthetic stand-in ({n_nodes} nodes, {n_links} links, seed={seed})"
    return from_undirected_links(n_nodes, links, label, source, node_attrs=nodes)
