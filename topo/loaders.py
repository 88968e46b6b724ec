"""Loaders for the three topology formats of public network data sets.

- tab-separated edge lists (``Node_num: N<TAB>Edge_num: E``, a column header, then
  ``index source destination weight capacity`` per directed link, 0-based ids), as the
  Abilene/RocketFuel files are distributed;
- networkx node-link JSON (``nodes``/``links``, links with ``capacity`` and optionally ``delay``
  or ``weight``), as Topology Zoo graphs are often exported;
- Topology Zoo GraphML (undirected, possibly with parallel edges, nodes with
  ``Latitude``/``Longitude``): delays come from geography, parallel edges are merged.

Every loader returns a :class:`topo.graph.Topology` with nodes relabelled ``0..n-1`` (the file's
id kept as ``orig_id``) and raises :class:`TopologyFormatError` naming the file and line on bad
input. Where a file gives no geography, a link's propagation delay is proportional to its
routing weight, scaled so the median link has ``hop_delay_ms``; without weights every link gets
``hop_delay_ms``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from topo.graph import Topology, geo_delay_ms

DEFAULT_HOP_DELAY_MS = 2.0
DEFAULT_CAPACITY_MBPS = 10_000.0

_UNIT_TO_MBPS = {"bps": 1e-6, "kbps": 1e-3, "mbps": 1.0, "gbps": 1e3}


class TopologyFormatError(ValueError):
    """A topology file that does not follow its format."""


def _capacity_unit(header: str) -> float | None:
    """Mbit/s per unit from a column header like ``Capacity(kbps)``; None when unknown."""
    m = re.search(r"\(\s*([kmg]?bps)\s*\)", header, re.IGNORECASE)
    return _UNIT_TO_MBPS[m.group(1).lower()] if m else None


def _weight_delays(weights: np.ndarray, hop_delay_ms: float) -> np.ndarray:
    if len(weights) == 0:
        return weights
    med = float(np.median(weights))
    return hop_delay_ms * weights / med if med > 0 else np.full_like(weights, hop_delay_ms)


def _relabel(g: nx.DiGraph) -> nx.DiGraph:
    """Relabel nodes to 0..n-1 in the order of their original ids (numeric ids numerically)."""
    nodes = list(g.nodes)

    def key(x: Any) -> tuple:
        try:
            return (0, float(x), "")
        except (TypeError, ValueError):
            return (1, 0.0, str(x))

    mapping = {old: new for new, old in enumerate(sorted(nodes, key=key))}
    out = nx.relabel_nodes(g, mapping, copy=True)
    for old, new in mapping.items():
        out.nodes[new]["orig_id"] = old
    return out


def apply_coordinates(topology: Topology, coords: dict[int, tuple[float, float]]) -> Topology:
    """Set node lat/lon and replace link delays by great-circle delays where both ends are known."""
    g = topology.graph.copy()
    for node, (lat, lon) in coords.items():
        if node in g:
            g.nodes[node]["lat"], g.nodes[node]["lon"] = lat, lon
    for u, v, d in g.edges(data=True):
        if u in coords and v in coords:
            d["delay_ms"] = geo_delay_ms(*coords[u], *coords[v])
    return Topology(g, topology.name, topology.source, topology.capacity_is_relative, topology.meta)


# ---------------------------------------------------------------------------- edge lists
def load_edgelist(
    path: str | Path, *, name: str | None = None, hop_delay_ms: float = DEFAULT_HOP_DELAY_MS
) -> Topology:
    """Read a tab-separated edge list (Abilene/RocketFuel layout)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise TopologyFormatError(f"{path}: expected a count line and a column header")
    m = re.match(r"\s*Node_num:\s*(\d+)\s+Edge_num:\s*(\d+)\s*$", lines[0])
    if not m:
        raise TopologyFormatError(f"{path}:1: expected 'Node_num: N<TAB>Edge_num: E'")
    n_nodes, n_edges = int(m.group(1)), int(m.group(2))
    header = lines[1].split("\t")
    if len(header) < 5:
        raise TopologyFormatError(f"{path}:2: expected 5 tab-separated column names")
    unit = _capacity_unit(header[4])
    rows: list[tuple[int, int, float, float]] = []
    for lineno, line in enumerate(lines[2:], start=3):
        if not line.strip():
            continue
        cols = line.split()
        if len(cols) < 5:
            raise TopologyFormatError(f"{path}:{lineno}: expected 5 columns, got {len(cols)}")
        try:
            u, v = int(cols[1]), int(cols[2])
            weight, cap = float(cols[3]), float(cols[4])
        except ValueError as exc:
            raise TopologyFormatError(f"{path}:{lineno}: {exc}") from None
        if not (0 <= u < n_nodes and 0 <= v < n_nodes) or u == v:
            raise TopologyFormatError(f"{path}:{lineno}: bad link {u}->{v} for {n_nodes} nodes")
        if weight <= 0 or cap <= 0:
            raise TopologyFormatError(f"{path}:{lineno}: weight and capacity must be positive")
        rows.append((u, v, weight, cap))
    if len(rows) != n_edges:
        raise TopologyFormatError(f"{path}: header says {n_edges} links, file has {len(rows)}")
    delays = _weight_delays(np.array([r[2] for r in rows]), hop_delay_ms)
    g = nx.DiGraph()
    g.add_nodes_from(range(n_nodes))
    for (u, v, weight, cap), delay in zip(rows, delays, strict=True):
        if g.has_edge(u, v):
            raise TopologyFormatError(f"{path}: link {u}->{v} listed twice")
        g.add_edge(
            u, v, capacity_mbps=cap * (unit or 1.0), delay_ms=float(delay), weight=float(weight)
        )
    for node in g.nodes:
        g.nodes[node]["orig_id"] = node
    return Topology(g, name or path.stem, f"file:{path}", capacity_is_relative=unit is None)


# ---------------------------------------------------------------------------- node-link JSON
def load_nodelink(
    path: str | Path,
    *,
    name: str | None = None,
    hop_delay_ms: float = DEFAULT_HOP_DELAY_MS,
    default_capacity_mbps: float = DEFAULT_CAPACITY_MBPS,
) -> Topology:
    """Read networkx node-link JSON (links under ``links`` or ``edges``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise TopologyFormatError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict) or "nodes" not in data:
        raise TopologyFormatError(f"{path}: not node-link JSON (no 'nodes')")
    edges_key = "links" if "links" in data else "edges"
    if edges_key not in data:
        raise TopologyFormatError(f"{path}: not node-link JSON (no 'links' or 'edges')")
    try:
        raw = nx.node_link_graph(data, edges=edges_key)
    except (KeyError, TypeError, nx.NetworkXError) as exc:
        raise TopologyFormatError(f"{path}: {exc}") from None
    if raw.is_multigraph():
        raw = _merge_parallel(raw)
    directed = raw.to_directed() if not raw.is_directed() else nx.DiGraph(raw)
    g = _relabel(directed)
    g.remove_edges_from(nx.selfloop_edges(g))
    edges = list(g.edges(data=True))
    has_delay = bool(edges) and all("delay" in d or "delay_ms" in d for _, _, d in edges)
    has_weight = bool(edges) and all("weight" in d for _, _, d in edges)
    weights = np.array([float(d.get("weight", 1.0)) for _, _, d in edges])
    fallback = _weight_delays(weights, hop_delay_ms)
    for (_, _, d), w, delay in zip(edges, weights, fallback, strict=True):
        cap = float(d.get("capacity", d.get("bandwidth", default_capacity_mbps)))
        d_ms = float(d.get("delay_ms", d.get("delay", delay))) if has_delay else float(delay)
        if cap <= 0 or w <= 0 or d_ms < 0:
            raise TopologyFormatError(f"{path}: capacities and weights must be positive")
        d.clear()
        d.update(
            capacity_mbps=cap, delay_ms=d_ms, weight=float(w) if has_weight else max(d_ms, 1e-3)
        )
    return Topology(g, name or path.stem, f"file:{path}", capacity_is_relative=True)


def _merge_parallel(mg: nx.MultiGraph | nx.MultiDiGraph) -> nx.Graph | nx.DiGraph:
    """Collapse parallel edges: capacities add up, other attributes come from the first edge."""
    g = nx.DiGraph() if mg.is_directed() else nx.Graph()
    g.add_nodes_from(mg.nodes(data=True))
    for u, v, d in mg.edges(data=True):
        if g.has_edge(u, v):
            if "capacity" in d and "capacity" in g.edges[u, v]:
                g.edges[u, v]["capacity"] += d["capacity"]
            g.edges[u, v]["parallel"] = g.edges[u, v].get("parallel", 1) + 1
        else:
            g.add_edge(u, v, **d)
    return g


# ---------------------------------------------------------------------------- GraphML
def load_graphml(
    path: str | Path,
    *,
    name: str | None = None,
    hop_delay_ms: float = DEFAULT_HOP_DELAY_MS,
    default_capacity_mbps: float = DEFAULT_CAPACITY_MBPS,
) -> Topology:
    """Read a Topology Zoo GraphML file; delays from node Latitude/Longitude.

    Links whose ends lack coordinates get the median geographic delay. Capacities come from
    ``LinkSpeedRaw`` (bit/s) where present, else ``default_capacity_mbps`` (marked relative).
    Parallel edges are merged (their capacities add up).
    """
    path = Path(path)
    try:
        raw = nx.read_graphml(path)
    except (nx.NetworkXError, ValueError, KeyError) as exc:
        raise TopologyFormatError(f"{path}: {exc}") from None
    except Exception as exc:  # xml.etree.ElementTree.ParseError carries a position
        pos = getattr(exc, "position", None)
        where = f"{path}:{pos[0]}:{pos[1]}" if pos else str(path)
        raise TopologyFormatError(f"{where}: {exc}") from None
    for _, _, d in raw.edges(data=True):
        if "LinkSpeedRaw" in d:
            d["capacity"] = float(d["LinkSpeedRaw"]) / 1e6
    if raw.is_multigraph():
        raw = _merge_parallel(raw)
    raw.remove_edges_from(list(nx.selfloop_edges(raw)))
    directed = raw.to_directed() if not raw.is_directed() else nx.DiGraph(raw)
    g = _relabel(directed)
    coords = {
        n: (float(d["Latitude"]), float(d["Longitude"]))
        for n, d in g.nodes(data=True)
        if "Latitude" in d and "Longitude" in d
    }
    geo = {
        (u, v): geo_delay_ms(*coords[u], *coords[v])
        for u, v in g.edges
        if u in coords and v in coords
    }
    fill = float(np.median(list(geo.values()))) if geo else hop_delay_ms
    has_caps = all("capacity" in d for _, _, d in g.edges(data=True))
    for u, v, d in g.edges(data=True):
        delay = geo.get((u, v), fill)
        cap = float(d.get("capacity", default_capacity_mbps))
        d.clear()
        d.update(capacity_mbps=cap, delay_ms=delay, weight=max(delay, 1e-3))
    for n, (lat, lon) in coords.items():
        g.nodes[n]["lat"], g.nodes[n]["lon"] = lat, lon
    return Topology(g, name or path.stem, f"file:{path}", capacity_is_relative=not has_caps)


# ---------------------------------------------------------------------------- dispatch
def load_topology(path: str | Path, **kwargs: Any) -> Topology:
    """Load any supported file, choosing the format from its suffix (or its first bytes)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no topology file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".graphml" or suffix == ".xml":
        return load_graphml(path, **kwargs)
    if suffix == ".json":
        return load_nodelink(path, **kwargs)
    if suffix in {".txt", ".tsv", ".edgelist"}:
        kwargs.pop("default_capacity_mbps", None)
        return load_edgelist(path, **kwargs)
    head = path.read_text(errors="replace")[:200].lstrip()
    if head.startswith("<"):
        return load_graphml(path, **kwargs)
    if head.startswith("{"):
        return load_nodelink(path, **kwargs)
    kwargs.pop("default_capacity_mbps", None)
    return load_edgelist(path, **kwargs)
