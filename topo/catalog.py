"""The seven topologies of the RLMS-CPN paper: real files when present, stand-ins otherwise.

``paper_topology("ebone", data_dir)`` loads the real graph from ``data_dir/topologies/...``
when the file is there, else returns a seeded synthetic stand-in with the paper's node and link
counts. The returned topology's ``source`` says which one it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from topo.abilene import abilene
from topo.graph import Topology
from topo.loaders import load_edgelist, load_graphml, load_nodelink
from topo.synthetic import synthetic_topology

#: Environment variable naming a data directory laid out like ``shared/data``.
DATA_DIR_ENV = "CPN_P4_DATA_DIR"


@dataclass(frozen=True)
class PaperTopology:
    name: str
    n_nodes: int
    n_links: int
    file: str | None  # relative to <data_dir>/topologies
    coords_file: str | None = None  # GraphML with the same node ids, for geographic delays


PAPER_TOPOLOGIES: dict[str, PaperTopology] = {
    t.name.lower(): t
    for t in (
        PaperTopology("Abilene", 12, 30, "edgelist/Abilene.txt"),
        PaperTopology("EBONE", 23, 76, "edgelist/Ebone.txt"),
        PaperTopology("Sprintlink", 44, 166, "edgelist/Sprintlink.txt"),
        PaperTopology("Tiscali", 49, 172, "edgelist/Tiscali.txt"),
        PaperTopology(
            "UsCarrier", 158, 378, "nodelink/UsCarrier.json", "graphml/UsCarrier.graphml"
        ),
        PaperTopology("Kdl", 754, 1790, "nodelink/Kdl.json", "graphml/Kdl.graphml"),
        PaperTopology("ASN", 1739, 8558, "nodelink/ASN2k.json"),
    )
}


def default_data_dir() -> Path | None:
    """``$CPN_P4_DATA_DIR`` if set, else a ``shared/data`` beside the checkout, if present."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    guess = Path(__file__).resolve().parents[2] / "shared" / "data"
    return guess if guess.is_dir() else None


def paper_topology(name: str, data_dir: str | Path | None = None, seed: int = 0) -> Topology:
    """One of the paper's topologies by (case-insensitive) name."""
    key = name.lower()
    if key not in PAPER_TOPOLOGIES:
        raise KeyError(f"unknown topology {name!r}; known: {', '.join(PAPER_TOPOLOGIES)}")
    spec = PAPER_TOPOLOGIES[key]
    if key == "abilene":
        return abilene()
    root = Path(data_dir) / "topologies" if data_dir is not None else None
    if root is not None and spec.file and (root / spec.file).is_file():
        path = root / spec.file
        if path.suffix == ".json":
            topo = load_nodelink(path, name=spec.name)
            if spec.coords_file and (root / spec.coords_file).is_file():
                topo = _with_geo_delays(topo, load_graphml(root / spec.coords_file))
        else:
            topo = load_edgelist(path, name=spec.name)
        if (topo.n_nodes, topo.n_links) != (spec.n_nodes, spec.n_links):
            raise ValueError(
                f"{path}: {topo.n_nodes} nodes / {topo.n_links} links, "
                f"the paper's {spec.name} has {spec.n_nodes} / {spec.n_links}"
            )
        return topo
    return synthetic_topology(spec.n_nodes, spec.n_links, seed=seed, name=spec.name)


def _with_geo_delays(topo: Topology, geo: Topology) -> Topology:
    """Take link delays (and routing weights) from a GraphML twin with the same node ids."""
    if geo.n_nodes != topo.n_nodes:
        return topo
    g = topo.graph.copy()
    for u, v, d in g.edges(data=True):
        gu = _node_by_orig(geo, g.nodes[u].get("orig_id", u))
        gv = _node_by_orig(geo, g.nodes[v].get("orig_id", v))
        if gu is None or gv is None or not geo.graph.has_edge(gu, gv):
            return topo  # not the same graph: keep the file's own delays
        d["delay_ms"] = geo.graph.edges[gu, gv]["delay_ms"]
        d["weight"] = geo.graph.edges[gu, gv]["weight"]
    for n in g.nodes:
        gn = _node_by_orig(geo, g.nodes[n].get("orig_id", n))
        if gn is not None and "lat" in geo.graph.nodes[gn]:
            g.nodes[n]["lat"] = geo.graph.nodes[gn]["lat"]
            g.nodes[n]["lon"] = geo.graph.nodes[gn]["lon"]
    source = f"{topo.source} (delays from {geo.source.removeprefix('file:')})"
    return Topology(g, topo.name, source, topo.capacity_is_relative, topo.meta)


def _node_by_orig(topo: Topology, orig: object) -> int | None:
    index = topo.meta.setdefault(
        "_orig_index", {str(d.get("orig_id", n)): n for n, d in topo.graph.nodes(data=True)}
    )
    return index.get(str(orig))
