"""Scenarios: which topology, placement and background a run uses, and where policies live.

A topology *spec* is a paper topology name (``abilene``, ``ebone``, ... , ``asn``; real file from
the data directory when present, else the seeded stand-in) or a path to a topology file. Every
policy's sidecar records the spec, the topology's fingerprint (its link set), the simulator
settings and the placement seed, so evaluation rebuilds exactly the scenario it was trained in.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.rlmscpn.config import SimConfig, abilene_config
from agents.rlmscpn.sim import ComputeNetworkSim
from topo.catalog import PAPER_TOPOLOGIES, default_data_dir, paper_topology
from topo.graph import Topology
from topo.loaders import load_topology

log = logging.getLogger(__name__)

SHIPPED_POLICY_DIR = Path(__file__).with_name("policies")
ABILENE_TM = "traffic/abilene_tm_train.txt"
#: Median capacity given to topologies whose file has capacities in unknown units.
RELATIVE_CAPACITY_MEDIAN_MBPS = 10_000.0


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cpn-p4" / "rlmscpn"


def resolve_topology(spec: str, data_dir: str | Path | None = None) -> Topology:
    """A topology from a spec; capacities in unknown units rescaled to a 10 Gbit/s median."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if spec.lower() in PAPER_TOPOLOGIES:
        topo = paper_topology(spec, data_dir)
    else:
        path = Path(spec.removeprefix("file:"))
        topo = load_topology(path)
    if topo.capacity_is_relative:
        g = topo.graph.copy()
        caps = np.array([d["capacity_mbps"] for _, _, d in g.edges(data=True)])
        factor = RELATIVE_CAPACITY_MEDIAN_MBPS / float(np.median(caps))
        for _, _, d in g.edges(data=True):
            d["capacity_mbps"] *= factor
        source = f"{topo.source}; capacities x{factor:.4g} (median 10 Gbit/s)"
        topo = Topology(g, topo.name, source, False, dict(topo.meta))
    return topo


def topology_slug(spec: str, topology: Topology) -> str:
    from agents.rlmscpn.policy import topology_fingerprint

    if spec.lower() == "abilene":
        return "abilene"
    return f"{topology.name.lower().replace(' ', '_')}-{topology_fingerprint(topology)[:8]}"


def default_sim_config(spec: str, data_dir: str | Path | None = None) -> SimConfig:
    """Abilene: the paper's Fig. 13 placement and the real traffic matrices when present.
    Other topologies: seeded placement and a gravity-model background."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if spec.lower() == "abilene":
        tm = data_dir / ABILENE_TM if data_dir is not None else None
        return abilene_config(traffic_matrix_file=str(tm) if tm and tm.is_file() else None)
    return SimConfig()


@dataclass
class Scenario:
    spec: str
    topology: Topology
    cfg: SimConfig
    placement_seed: int = 0

    def build(
        self, predictions: str = "tsft", measured_csv: str | None = None
    ) -> ComputeNetworkSim:
        cfg = self.cfg
        if cfg.traffic_matrix_file and not Path(cfg.traffic_matrix_file).is_file():
            log.warning("%s not found: background from the gravity model", cfg.traffic_matrix_file)
            cfg = cfg.replace(traffic_matrix_file=None)
        return ComputeNetworkSim(
            self.topology,
            cfg,
            seed=self.placement_seed,
            predictions=predictions,
            measured_csv=measured_csv,
        )

    def to_json(self) -> dict[str, Any]:
        from agents.rlmscpn.policy import topology_fingerprint
        from agents.rlmscpn.portable import data_ref, portable_text

        data_dir = default_data_dir()
        sim = self.cfg.to_json()
        if sim.get("traffic_matrix_file"):  # named relative to the data folder
            sim["traffic_matrix_file"] = data_ref(sim["traffic_matrix_file"], data_dir)
        return {
            "topology": {
                "spec": self.spec,
                "name": self.topology.name,
                "describe": portable_text(self.topology.describe(), data_dir),
                "fingerprint": topology_fingerprint(self.topology),
            },
            "sim": sim,
            "placement_seed": self.placement_seed,
        }


def make_scenario(
    spec: str,
    data_dir: str | Path | None = None,
    placement_seed: int = 0,
    **sim_changes: Any,
) -> Scenario:
    if spec.lower() not in PAPER_TOPOLOGIES:
        spec = str(Path(spec.removeprefix("file:")).resolve())  # sidecars record where it was
    topo = resolve_topology(spec, data_dir)
    cfg = default_sim_config(spec, data_dir)
    if sim_changes:
        cfg = cfg.replace(**sim_changes)
    return Scenario(spec, topo, cfg, placement_seed)


def scenario_from_sidecar(config: dict[str, Any], data_dir: str | Path | None = None) -> Scenario:
    from agents.rlmscpn.portable import resolve_data_ref

    topo = resolve_topology(config["topology"]["spec"], data_dir)
    sim = dict(config["sim"])
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    sim["traffic_matrix_file"] = resolve_data_ref(sim.get("traffic_matrix_file"), folder)
    return Scenario(
        config["topology"]["spec"],
        topo,
        SimConfig.from_json(sim),
        int(config.get("placement_seed", 0)),
    )
