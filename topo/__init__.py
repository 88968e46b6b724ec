"""Topologies: graph models, loaders for real networks, Mininet and in-process networks.

The graph part (this package's top level) is pure networkx/numpy: :class:`Topology`, the built-in
Abilene, loaders for edge-list / node-link JSON / GraphML files, seeded synthetic stand-ins, the
paper topologies catalogue and traffic matrices. Emulated networks live in their own modules.
"""

from topo.abilene import abilene
from topo.catalog import PAPER_TOPOLOGIES, default_data_dir, paper_topology
from topo.graph import Topology
from topo.loaders import (
    TopologyFormatError,
    load_edgelist,
    load_graphml,
    load_nodelink,
    load_topology,
)
from topo.synthetic import synthetic_topology
from topo.traffic import gravity_tm, load_abilene_tm

__all__ = [
    "PAPER_TOPOLOGIES",
    "Topology",
    "TopologyFormatError",
    "abilene",
    "default_data_dir",
    "gravity_tm",
    "load_abilene_tm",
    "load_edgelist",
    "load_graphml",
    "load_nodelink",
    "load_topology",
    "paper_topology",
    "synthetic_topology",
]
