"""Abilene (Internet2, 2004), built in: 12 routers, 15 bidirectional links (30 directed).

Node order, link set, OSPF weights and capacities are those of the public Abilene dataset
(the same 0-based ids as its traffic matrices). Propagation delays follow from the routers'
city coordinates along the great circle (light in fibre, 200 km/ms).
"""

from __future__ import annotations

from topo.graph import Topology, from_undirected_links, geo_delay_ms

#: (name, city, latitude, longitude) in the dataset's node order.
ABILENE_NODES: tuple[tuple[str, str, float, float], ...] = (
    ("ATLAM5", "Atlanta", 33.749, -84.388),
    ("ATLAng", "Atlanta", 33.755, -84.390),
    ("CHINng", "Chicago", 41.878, -87.630),
    ("DNVRng", "Denver", 39.739, -104.990),
    ("HSTNng", "Houston", 29.760, -95.370),
    ("IPLSng", "Indianapolis", 39.768, -86.158),
    ("KSCYng", "Kansas City", 39.100, -94.578),
    ("LOSAng", "Los Angeles", 34.052, -118.244),
    ("NYCMng", "New York", 40.713, -74.006),
    ("SNVAng", "Sunnyvale", 37.369, -122.036),
    ("STTLng", "Seattle", 47.606, -122.332),
    ("WASHng", "Washington", 38.907, -77.037),
)

#: (u, v, OSPF weight, capacity in Mbit/s) for each bidirectional link.
ABILENE_LINKS: tuple[tuple[int, int, int, float], ...] = (
    (0, 1, 1, 9920.0),
    (1, 4, 1176, 9920.0),
    (1, 5, 587, 2480.0),
    (1, 11, 846, 9920.0),
    (2, 5, 260, 9920.0),
    (2, 8, 700, 9920.0),
    (3, 6, 639, 9920.0),
    (3, 9, 1295, 9920.0),
    (3, 10, 2095, 9920.0),
    (4, 6, 902, 9920.0),
    (4, 7, 1893, 9920.0),
    (5, 6, 548, 9920.0),
    (7, 9, 366, 9920.0),
    (8, 11, 233, 9920.0),
    (9, 10, 861, 9920.0),
)


def abilene_coordinates() -> dict[int, tuple[float, float]]:
    return {i: (lat, lon) for i, (_, _, lat, lon) in enumerate(ABILENE_NODES)}


def abilene() -> Topology:
    """The built-in Abilene topology (no file needed)."""
    coords = abilene_coordinates()
    links = []
    for u, v, ospf, cap in ABILENE_LINKS:
        delay = geo_delay_ms(*coords[u], *coords[v])
        links.append((u, v, {"capacity_mbps": cap, "delay_ms": delay, "weight": float(ospf)}))
    nodes = {
        i: {"name": name, "city": city, "lat": lat, "lon": lon}
        for i, (name, city, lat, lon) in enumerate(ABILENE_NODES)
    }
    return from_undirected_links(12, links, "Abilene", "built-in", node_attrs=nodes)
