"""Topology loaders on small fixture files, the built-in Abilene, stand-ins and the catalogue."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from topo import (
    TopologyFormatError,
    abilene,
    load_edgelist,
    load_graphml,
    load_nodelink,
    load_topology,
    paper_topology,
    synthetic_topology,
)
from topo.catalog import PAPER_TOPOLOGIES, default_data_dir
from topo.graph import great_circle_km
from topo.loaders import apply_coordinates

FIX = Path(__file__).parent / "fixtures"
DATA = default_data_dir()


def test_edgelist_units_delays_and_links():
    t = load_edgelist(FIX / "tiny.txt", hop_delay_ms=2.0)
    assert (t.n_nodes, t.n_links) == (4, 6)
    assert not t.capacity_is_relative
    assert t.graph.edges[1, 2]["capacity_mbps"] == pytest.approx(2500.0)  # kbps -> Mbit/s
    # delay proportional to the OSPF weight, the median link (weight 20) gets hop_delay_ms
    assert t.graph.edges[0, 1]["delay_ms"] == pytest.approx(1.0)
    assert t.graph.edges[2, 3]["delay_ms"] == pytest.approx(3.0)
    assert t.graph.edges[2, 3]["weight"] == 30.0
    assert t.k_shortest_paths(0, 3, 3) == [[0, 1, 2, 3]]
    assert list(t.path_links([0, 1, 2])) == [t.link_index[(0, 1)], t.link_index[(1, 2)]]
    assert t.path_delay_ms([0, 1, 2, 3]) == pytest.approx(6.0)
    assert "tiny.txt" in t.source


def test_edgelist_errors_name_file_and_line(tmp_path):
    with pytest.raises(TopologyFormatError, match=r"bad_row\.txt:4"):
        load_edgelist(FIX / "bad_row.txt")
    bad = tmp_path / "count.txt"
    bad.write_text((FIX / "tiny.txt").read_text().replace("Edge_num: 6", "Edge_num: 7"))
    with pytest.raises(TopologyFormatError, match="header says 7 links, file has 6"):
        load_edgelist(bad)
    bad.write_text("Nodes 3\nLink_index\tSource\tDestination\tW\tB\n")
    with pytest.raises(TopologyFormatError, match=r"count\.txt:1"):
        load_edgelist(bad)


def test_nodelink_relabels_and_keeps_capacities():
    t = load_nodelink(FIX / "tiny.json", hop_delay_ms=1.5)
    assert (t.n_nodes, t.n_links) == (3, 4)
    assert t.capacity_is_relative
    orig = {n: d["orig_id"] for n, d in t.graph.nodes(data=True)}
    assert orig == {0: 10, 1: 20, 2: 30}  # relabelled in numeric order of the file's ids
    assert t.graph.edges[0, 1]["capacity_mbps"] == 100.0
    assert t.graph.edges[1, 0]["capacity_mbps"] == 50.0
    assert all(d["delay_ms"] == 1.5 for _, _, d in t.graph.edges(data=True))
    assert t.is_connected()


def test_graphml_geo_delays_merge_parallel_and_fill_missing():
    t = load_graphml(FIX / "tiny.graphml", default_capacity_mbps=1000.0)
    assert (t.n_nodes, t.n_links) == (4, 6)  # the parallel 0-1 edge merged, both directions
    one_degree_ms = great_circle_km(0, 0, 0, 1) / 200.0
    assert one_degree_ms == pytest.approx(111.19 / 200.0, rel=1e-3)
    assert t.graph.edges[0, 1]["delay_ms"] == pytest.approx(one_degree_ms)
    assert t.graph.edges[1, 2]["delay_ms"] == pytest.approx(2 * one_degree_ms, rel=1e-3)
    # node 3 has no coordinates: its link takes the median geographic delay
    assert t.graph.edges[2, 3]["delay_ms"] == pytest.approx(
        np.median([one_degree_ms, great_circle_km(0, 1, 0, 3) / 200.0])
    )
    assert t.capacity_is_relative
    assert t.graph.nodes[1]["lat"] == 0.0 and t.graph.nodes[2]["lon"] == 3.0


def test_graphml_malformed_is_a_format_error(tmp_path):
    bad = tmp_path / "broken.graphml"
    bad.write_text("<graphml><graph><node id='0'></graph>")
    with pytest.raises(TopologyFormatError, match="broken.graphml"):
        load_graphml(bad)


def test_load_topology_dispatches_on_suffix():
    assert load_topology(FIX / "tiny.txt").n_links == 6
    assert load_topology(FIX / "tiny.json").n_links == 4
    assert load_topology(FIX / "tiny.graphml").n_links == 6
    with pytest.raises(FileNotFoundError):
        load_topology(FIX / "missing.txt")


def test_builtin_abilene_geography():
    t = abilene()
    assert (t.n_nodes, t.n_links) == (12, 30) and t.is_connected()
    assert t.graph.nodes[8]["name"] == "NYCMng"
    # New York - Washington is about 330 km: ~1.65 ms of fibre
    assert t.graph.edges[8, 11]["delay_ms"] == pytest.approx(1.65, abs=0.1)
    assert t.graph.edges[1, 5]["capacity_mbps"] == 2480.0  # the OC-48 Atlanta-Indianapolis
    assert 15 < t.path_delay_ms(t.shortest_path(8, 9)) < 40  # coast to coast
    assert len(t.k_shortest_paths(8, 9, 3)) == 3


@pytest.mark.skipif(DATA is None, reason="shared data directory not present")
def test_abilene_file_matches_builtin():
    from topo.abilene import abilene_coordinates

    f = load_edgelist(DATA / "topologies/edgelist/Abilene.txt")
    f = apply_coordinates(f, abilene_coordinates())
    b = abilene()
    assert f.links == b.links
    assert np.allclose(f.capacity_mbps, b.capacity_mbps)
    assert np.allclose(f.delay_ms, b.delay_ms)


@pytest.mark.parametrize("name", ["ebone", "sprintlink", "tiscali", "uscarrier"])
def test_synthetic_stand_ins_have_paper_counts(name):
    spec = PAPER_TOPOLOGIES[name]
    t = synthetic_topology(spec.n_nodes, spec.n_links, seed=3)
    assert (t.n_nodes, t.n_links) == (spec.n_nodes, spec.n_links)
    assert t.is_connected()
    assert "synthetic stand-in" in t.source
    again = synthetic_topology(spec.n_nodes, spec.n_links, seed=3)
    assert again.links == t.links and np.array_equal(again.delay_ms, t.delay_ms)
    assert synthetic_topology(spec.n_nodes, spec.n_links, seed=4).links != t.links


def test_synthetic_rejects_impossible_counts():
    with pytest.raises(ValueError):
        synthetic_topology(5, 7)
    with pytest.raises(ValueError):
        synthetic_topology(5, 4)  # 2 undirected links cannot connect 5 nodes


def test_catalog_without_data_uses_stand_ins():
    t = paper_topology("Tiscali", data_dir=None, seed=1)
    assert "synthetic" in t.source and (t.n_nodes, t.n_links) == (49, 172)
    assert paper_topology("abilene").source == "built-in"
    with pytest.raises(KeyError):
        paper_topology("nosuchnet")


@pytest.mark.skipif(DATA is None, reason="shared data directory not present")
@pytest.mark.parametrize("name", ["ebone", "sprintlink", "tiscali", "uscarrier", "kdl", "asn"])
def test_catalog_real_files_have_paper_counts(name):
    spec = PAPER_TOPOLOGIES[name]
    t = paper_topology(name, DATA)
    assert t.source.startswith("file:")
    assert (t.n_nodes, t.n_links) == (spec.n_nodes, spec.n_links)
    assert t.is_connected()
    if name in {"uscarrier", "kdl"}:
        assert "delays from" in t.source  # geography from the GraphML twin
        assert not math.isclose(t.delay_ms.std(), 0.0)
