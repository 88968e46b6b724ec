"""Network description files: validation naming the field, the schema, the generator."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from controlplane import netdesc, netgen, netvalidate
from controlplane.netdesc import NetworkDescription
from controlplane.netvalidate import NetworkFileError, json_schema, parse
from topo.abilene import abilene
from topo.graph import from_undirected_links
from topo.synthetic import synthetic_topology
from traces.aisid import AISID

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "controlplane" / "examples"


def _data_dir() -> Path:
    env = os.environ.get("CPN_P4_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data"


@pytest.fixture
def line4() -> dict[str, Any]:
    return json.loads((EXAMPLES / "line4.json").read_text())


@pytest.fixture(scope="module")
def abilene_net() -> NetworkDescription:
    return netgen.generate(abilene(), ingress=3, egress=2, seed=0)


# ------------------------------------------------------------------------------- round trips
def test_line4_round_trip(line4):
    nd = parse(line4, source="line4.json")
    assert nd.to_dict() == line4
    assert parse(json.loads(json.dumps(nd.to_dict()))) == nd
    assert nd.cqf.ports == [("igw", 2), ("t2", 2), ("t3", 2)]  # tuples again


def test_load_reads_and_names_the_file(tmp_path):
    nd = netdesc.load(EXAMPLES / "line4.json")
    assert [s.name for s in nd.switches] == ["igw", "t2", "t3", "egw"]
    bad = tmp_path / "net.json"
    bad.write_text("{ nope")
    with pytest.raises(NetworkFileError, match=r"net\.json: not JSON"):
        netdesc.load(bad)


def test_line4_mirrors_the_dataplane_reference_network():
    import cpn_harness as h

    nd = netdesc.load(EXAMPLES / "line4.json")
    assert nd.src_address("igw") == h.IGW_SID
    assert nd.end_sid("t2") == h.T2_SID and nd.end_sid("t3") == h.T3_SID
    assert nd.dt6_sid("egw") == h.EGW_SID
    assert nd.hosts[0].address == h.CLIENT and nd.hosts[0].mac == h.MAC["client"]
    assert nd.aisid_prefixes == [h.PREFIX]
    site = nd.site(h.SITE)
    assert site.node_prefix == h.NODE_PREFIX
    assert {n.node_id: n.address for n in site.nodes} == {i: h.NODES[i] for i in (1, 2)}
    assert nd.services[0].aisid == h.AISID_ADDR and nd.services[0].deadline_us == 500_000
    assert AISID.from_address(nd.services[1].aisid).performance <= 20
    # client on igw port 1, switches chained port 2 -> port 1, nodes behind egw port 3
    assert (nd.hosts[0].switch, nd.hosts[0].port) == ("igw", 1)
    assert [(lk.a, lk.a_port, lk.b, lk.b_port) for lk in nd.links] == [
        ("igw", 2, "t2", 1),
        ("t2", 2, "t3", 1),
        ("t3", 2, "egw", 1),
    ]
    assert {n.port for n in site.nodes} == {3}


# ------------------------------------------------------------------------------- errors
def _set(path: str, value: Any):
    """A mutation setting the field at a dotted path like ``switches[3].ports[1].mac``."""
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]

    def mutate(d: dict) -> None:
        for k in keys[:-1]:
            d = d[k]
        if value is _DELETE:
            del d[keys[-1]]
        elif isinstance(d, list) and keys[-1] == len(d):
            d.append(value)
        else:
            d[keys[-1]] = value

    return mutate


_DELETE = object()

MUTATIONS = [
    # (mutation, field path named by the error, words in the reason)
    (_set("switches[3].ports[1].mac", "02:zz:00:00:00:01"), "switches[3].ports[1].mac", "'02:zz:00:00:00:01' is not a MAC address"),
    (_set("sites[0].egress_gateway", "egw9"), "sites[0].egress_gateway", "'egw9' is not a switch"),
    (_set("switches[0].rol", "transit"), "switches[0].rol", "unknown field (did you mean 'role'?)"),
    (_set("switches[1].device_id", _DELETE), "switches[1].device_id", "required field missing"),
    (_set("switches[0].device_id", "1"), "switches[0].device_id", "expected an integer, got '1'"),
    (_set("switches", {}), "switches", "expected an array, got an object"),
    (_set("hosts[0].name", "t2"), "hosts[0].name", "name 't2' is already used by switches[1].name"),
    (_set("switches[2].device_id", 2), "switches[2].device_id", "device id 2 is already used by switches[1].device_id"),
    (_set("switches[1].address", "127.0.0.1:50051"), "switches[1].address", "already used by switches[0].address"),
    (_set("switches[0].address", "localhost"), "switches[0].address", "is not a 'host:port' address"),
    (_set("switches[0].ports[1].number", 1), "switches[0].ports[1].number", "port number 1 is already used"),
    (_set("switches[0].ports[0].number", 255), "switches[0].ports[0].number", "reserved (port 255 is the CPU port)"),
    (_set("switches[1].role", "router"), "switches[1].role", "'router' is not one of 'ingress_gateway', 'transit', 'egress_gateway'"),
    (_set("switches[0].ports[1].peer_port", 2), "switches[0].ports[1].peer_port", "t2:2 points at t3:1, not back at igw:2"),
    (_set("switches[1].ports[2]", {"number": 3, "mac": "02:00:00:02:00:03", "peer": "ghost"}), "switches[1].ports[2].peer", "'ghost' is not a switch, host, service node or site"),
    (_set("links[0].b_port", 2), "links[0]", "port igw:2 has peer t2:1, not t2:2"),
    (_set("links[1].a", "t9"), "links[1].a", "'t9' is not a switch"),
    (_set("links[0].rate_bps", 1e9), "links[0].rate_bps", "differs from the rate_bps 100000000000.0 of port igw:2 (switches[0].ports[1])"),
    (_set("links[0].rate_bps", -1), "links[0].rate_bps", "-1.0 must be greater than 0"),
    (_set("hosts[0].switch", "t2"), "hosts[0].switch", "'t2' is a transit, not an ingress_gateway"),
    (_set("hosts[0].address", "fd00:1::zz"), "hosts[0].address", "is not an IPv6 address"),
    (_set("hosts[0].address", "fd00:2::10"), "hosts[0].address", "is not inside its prefix fd00:1::/64"),
    (_set("sites[0].egress_gateway", "t3"), "sites[0].egress_gateway", "'t3' is a transit, not an egress_gateway"),
    (_set("sites[0].nodes[0].port", 7), "sites[0].nodes[0].port", "switch 'egw' has no port 7"),
    (_set("sites[0].nodes[1].node_id", 1), "sites[0].nodes[1].node_id", "node id 1 is already used"),
    (_set("sites[0].nodes[0].node_id", 256), "sites[0].nodes[0].node_id", "256 is out of range 1..255"),
    (_set("sites[0].nodes[1].address", "fd00:5::22"), "sites[0].nodes[1].address", "not inside the site's node_prefix fd00:4::/64"),
    (_set("sites[0].nodes[0].device", "abacus"), "sites[0].nodes[0].device", "is not a device the latency model knows"),
    (_set("sites[0].node_prefix", "fd00:4::1/64"), "sites[0].node_prefix", "is not an IPv6 prefix"),
    (_set("hosts[0].prefix", "fd00::/16"), "sites[0].node_prefix", "fd00:4::/64 overlaps fd00::/16 (hosts[0].prefix)"),
    (_set("switches[0].locator", "fc01:0:1::/48"), "switches[0].locator", "is not inside sid_plan.locator_block fc00::/32"),
    (_set("switches[0].locator", "fc00:0:1::/56"), "switches[0].locator", "is not a /48"),
    (_set("switches[1].locator", "fc00:0:1::/48"), "switches[1].locator", "locator fc00:0:1::/48 is already used by switches[0].locator"),
    (_set("sid_plan.dt6_function", 0x100), "sid_plan.dt6_function", "0x100 is also end_function"),
    (_set("aisid_prefixes[0]", "2001:db8:abcd::/48"), "aisid_prefixes[0]", "is not a /64"),
    (_set("services[0].aisid", "2001:db8:ffff:12:1:2:1:1388"), "services[0].aisid", "is not inside any of aisid_prefixes"),
    (_set("services[1].aisid", "2001:db8:abcd:12:1:2:1:1388"), "services[1].aisid", "already used by services[0]"),
    (_set("services[1].site", "site9"), "services[1].site", "'site9' is not a site"),
    (_set("services[1].nodes", [3]), "services[1].nodes[0]", "site 'site4' has no node 3"),
    (_set("services[0].traffic_class", 2), "services[0].traffic_class", "out of range 0..1"),
    (_set("cqf.cycle_us", 100), "cqf.cycle_us", "100 is not a power of two"),
    (_set("cqf.ports[0]", ["igw", 9]), "cqf.ports[0][1]", "switch 'igw' has no port 9"),
    (_set("controller.k_paths", 5), "controller.k_paths", "5 is out of range 1..4"),
    (_set("controller.max_segments", 7), "controller.max_segments", "7 is out of range 1..6"),
    (_set("controller.interval_s", 0), "controller.interval_s", "0.0 must be greater than 0"),
    (_set("format_version", 2), "format_version", "2 is out of range 1..1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "path", "reason"),
    MUTATIONS,
    ids=[f"{i:02d}-{m[1]}" for i, m in enumerate(MUTATIONS)],
)
def test_errors_name_the_field(line4, mutate, path, reason):
    mutate(line4)
    with pytest.raises(NetworkFileError) as info:
        parse(line4, source="net.json")
    msg = str(info.value)
    assert msg.startswith(f"net.json: {path}: "), msg
    assert reason in msg, msg
    assert info.value.path == path


def test_an_unlinked_switch_port_and_a_disconnected_switch_are_refused(line4):
    del line4["links"][2]
    with pytest.raises(NetworkFileError, match=r"switches\[2\]\.ports\[1\]: faces switch 'egw'"):
        parse(line4)
    line4["switches"][2]["ports"].pop(1)
    line4["switches"][3]["ports"].pop(0)
    line4["cqf"]["ports"] = []
    with pytest.raises(NetworkFileError, match=r"switches\[3\]: switch 'egw' is not connected"):
        parse(line4)


def test_top_level_must_be_an_object():
    with pytest.raises(NetworkFileError, match=r"^f\.json: expected an object"):
        parse([], source="f.json")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- schema
def _schema_ok(schema: dict, node: dict, value: Any, defs: dict) -> bool:
    """A small subset of JSON Schema 2020-12 (what json_schema() emits), for the tests."""
    if "$ref" in node:
        return _schema_ok(schema, defs[node["$ref"].rsplit("/", 1)[1]], value, defs)
    if "anyOf" in node:
        return any(_schema_ok(schema, n, value, defs) for n in node["anyOf"])
    if "enum" in node and value not in node["enum"]:
        return False
    kinds = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
        "integer": int,
        "number": (int, float),
    }
    t = node.get("type")
    if t and (
        not isinstance(value, kinds[t]) or (t in ("integer", "number") and isinstance(value, bool))
    ):
        return False
    if t == "object":
        props = node.get("properties", {})
        if any(k not in value for k in node.get("required", [])):
            return False
        if node.get("additionalProperties") is False and any(k not in props for k in value):
            return False
        return all(_schema_ok(schema, props[k], v, defs) for k, v in value.items() if k in props)
    if t == "array":
        if "prefixItems" in node:
            items = node["prefixItems"]
            return len(value) == len(items) and all(
                _schema_ok(schema, n, v, defs) for n, v in zip(items, value, strict=True)
            )
        return all(_schema_ok(schema, node["items"], v, defs) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in node and value < node["minimum"]:
            return False
        if "maximum" in node and value > node["maximum"]:
            return False
        if "exclusiveMinimum" in node and not value > node["exclusiveMinimum"]:
            return False
        if "not" in node and value == node["not"]["const"]:
            return False
    if isinstance(value, str):
        if "pattern" in node and not re.search(node["pattern"], value):
            return False
        if len(value) < node.get("minLength", 0):
            return False
        if node.get("format") == "ipv6":
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                return False
    return True


def test_schema_is_derived_from_the_dataclasses():
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    classes = {
        c.__name__: c
        for c in vars(netdesc).values()
        if dataclasses.is_dataclass(c) and c.__module__ == "controlplane.netdesc"
    }
    defs = {**schema["$defs"], "NetworkDescription": schema}
    assert set(defs) == set(classes)
    for name, cls in classes.items():
        fields = dataclasses.fields(cls)
        assert list(defs[name]["properties"]) == [f.name for f in fields], name
        required = [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        assert defs[name]["required"] == required, name
        assert defs[name]["additionalProperties"] is False
    k = schema["$defs"]["ControllerDesc"]["properties"]["k_paths"]
    assert (k["type"], k["minimum"], k["maximum"]) == ("integer", 1, 4)
    assert schema["$defs"]["SwitchDesc"]["properties"]["role"] == {"enum": list(netdesc.ROLES)}


@pytest.mark.parametrize("example", ["line4.json", "abilene.json"])
def test_schema_accepts_the_examples(example):
    schema = json_schema()
    data = json.loads((EXAMPLES / example).read_text())
    assert _schema_ok(schema, schema, data, schema["$defs"])


SCHEMA_VISIBLE = {
    "switches[3].ports[1].mac",
    "switches[0].rol",
    "switches[1].device_id",
    "switches[0].device_id",
    "switches[1].role",
    "controller.k_paths",
    "switches[0].ports[0].number",
    "links[0].rate_bps",
}


@pytest.mark.parametrize(
    ("mutate", "path", "reason"),
    [m for m in MUTATIONS if m[1] in SCHEMA_VISIBLE and "differs" not in m[2]],
)
def test_schema_refuses_what_it_can_see(line4, mutate, path, reason):
    schema = json_schema()
    mutate(line4)
    assert not _schema_ok(schema, schema, line4, schema["$defs"])


def test_validate_cli(tmp_path, capsys):
    assert netvalidate.main([str(EXAMPLES / "line4.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and "4 switches (1 ingress, 2 transit, 1 egress), 3 links" in out
    data = json.loads((EXAMPLES / "line4.json").read_text())
    data["controller"]["k_paths"] = 9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert netvalidate.main([str(bad)]) == 1
    assert "bad.json: controller.k_paths: 9 is out of range 1..4" in capsys.readouterr().err
    assert netvalidate.main(["--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "cpn-p4 network description"


# ------------------------------------------------------------------------------- generator
def _check_generated(nd: NetworkDescription, ingress: int, egress: int) -> None:
    assert len(nd.ingress_gateways) == ingress and len(nd.egress_gateways) == egress
    assert len(nd.by_role("transit")) == len(nd.switches) - ingress - egress
    assert len({s.device_id for s in nd.switches}) == len(nd.switches)
    assert len({s.address for s in nd.switches}) == len(nd.switches)
    assert len({s.locator for s in nd.switches}) == len(nd.switches)
    for s in nd.switches:
        assert s.locator == f"fc00:0:{s.device_id:x}::/48" and s.name == f"s{s.device_id}"
        assert [p.number for p in s.ports] == list(range(1, len(s.ports) + 1))
    assert {h.switch for h in nd.hosts} == {s.name for s in nd.ingress_gateways}
    assert sorted(site.egress_gateway for site in nd.sites) == sorted(
        s.name for s in nd.egress_gateways
    )
    total = sum(n.capacity_tflops for s in nd.sites for n in s.nodes)
    assert total == pytest.approx(10000.0, abs=1e-6)
    assert parse(json.loads(json.dumps(nd.to_dict()))) == nd  # round trip, valid


def test_generate_abilene(abilene_net):
    nd = abilene_net
    _check_generated(nd, 3, 2)
    assert (len(nd.switches), len(nd.links), len(nd.hosts)) == (12, 15, 3)
    assert [len(s.nodes) for s in nd.sites] == [4, 4]
    # rates and delays from the topology: Abilene link 1-5 (ATLAng-IPLSng) is 2480 Mbit/s
    g = abilene().graph
    link = next(lk for lk in nd.links if (lk.a, lk.b) == ("s2", "s6"))
    assert link.rate_bps == 2480e6
    assert link.delay_us == round(g.edges[1, 5]["delay_ms"] * 1000, 3)
    s2 = nd.switch("s2")
    assert s2.port(link.a_port).peer == "s6" and s2.port(link.a_port).mac == "02:00:00:02:00:03"
    # services: 10, round robin over the sites, the last one deterministic (<= 2 ms)
    assert [s.site for s in nd.services] == ["site1", "site2"] * 5
    aisids = [AISID.from_address(s.aisid) for s in nd.services]
    assert [a.object for a in aisids] == list(range(1, 11))
    assert aisids[-1].performance <= 20 and nd.services[-1].traffic_class == 1
    assert all(a.performance > 20 for a in aisids[:-1])
    assert nd.cqf.ports == []


def test_abilene_example_is_what_the_cli_writes(abilene_net):
    assert json.loads((EXAMPLES / "abilene.json").read_text()) == abilene_net.to_dict()


def test_generate_is_deterministic_per_seed(abilene_net):
    again = netgen.generate(abilene(), ingress=3, egress=2, seed=0)
    assert again == abilene_net
    other = netgen.generate(abilene(), ingress=3, egress=2, seed=1)
    assert other != abilene_net
    _check_generated(other, 3, 2)


def test_generate_synthetic_with_overrides():
    topo = synthetic_topology(30, 80, seed=3)
    nd = netgen.generate(
        topo,
        ingress=6,
        egress=3,
        nodes_per_site=3,
        hosts_per_ingress=2,
        link_rate_bps=100e9,
        link_delay_us=5000,
        seed=7,
        services=4,
        devices=["2080ti_1", "gold_6240"],
    )
    _check_generated(nd, 6, 3)
    assert (len(nd.links), len(nd.hosts), sum(len(s.nodes) for s in nd.sites)) == (40, 12, 9)
    assert {(lk.rate_bps, lk.delay_us) for lk in nd.links} == {(100e9, 5000.0)}
    assert {n.device for s in nd.sites for n in s.nodes} <= {"2080ti_1", "gold_6240"}
    # ingress gateways at the edge: none has a higher degree than any transit switch
    deg = dict(nx.Graph(topo.graph.to_undirected()).degree())
    d_in = [deg[s.topo_node] for s in nd.ingress_gateways]
    d_tr = [deg[s.topo_node] for s in nd.by_role("transit")]
    assert max(d_in) <= min(d_tr)
    h = [x for x in nd.hosts if x.switch == nd.ingress_gateways[0].name]
    dev = nd.ingress_gateways[0].device_id
    assert [x.prefix for x in h] == [f"fd00:{dev:x}::/64", f"fd00:{dev:x}:1::/64"]


def test_egress_gateways_are_spread_out():
    # hub 10 (degree 5) at the end of a chain, hubs 0 and 4 (degree 4) side by side at the
    # other: after 10, farthest-first takes 4 (5 hops away), not 0 (4 hops, more central)
    links = [(0, 1), (0, 2), (0, 3), (0, 4), (4, 5), (4, 6), (4, 7), (3, 8), (8, 9), (9, 10)]
    links += [(10, 11), (10, 12), (10, 13), (10, 14)]
    attrs = {"capacity_mbps": 1000.0, "delay_ms": 1.0, "weight": 1.0}
    topo = from_undirected_links(15, [(u, v, attrs) for u, v in links], "hubs", "test")
    roles = netgen.assign_roles(topo, ingress=2, egress=2, seed=0)
    assert sorted(v for v, r in roles.items() if r == "egress_gateway") == [4, 10]


def test_generate_refuses_bad_arguments():
    with pytest.raises(ValueError, match="ingress \\+ egress <= 12"):
        netgen.generate(abilene(), ingress=8, egress=5)
    attrs = {"capacity_mbps": 1000.0, "delay_ms": 1.0, "weight": 1.0}
    split = from_undirected_links(4, [(0, 1, attrs), (2, 3, attrs)], "split", "test")
    with pytest.raises(ValueError, match="not connected"):
        netgen.generate(split, ingress=1, egress=1)
    with pytest.raises(ValueError, match="must be a /64"):
        netgen.generate(abilene(), ingress=1, egress=1, aisid_prefix="2001:db8::/48")


def test_netgen_cli(tmp_path, capsys):
    out = tmp_path / "net.json"
    args = ["--topology", "abilene", "--ingress", "3", "--egress", "2", "--seed", "0"]
    assert netgen.main([*args, "-o", str(out)]) == 0
    assert netdesc.load(out) == netgen.generate(abilene(), ingress=3, egress=2, seed=0)
    assert "12 switches (3 ingress, 7 transit, 2 egress)" in capsys.readouterr().err
    assert netgen.main(["--topology", "nowhere", "--ingress", "1", "--egress", "1"]) == 1
    assert "no topology 'nowhere'" in capsys.readouterr().err


def test_generate_chinanet_at_the_aisid_papers_scale():
    path = _data_dir() / "topologies" / "graphml" / "Chinanet.graphml"
    if not path.is_file():
        pytest.skip(f"no Chinanet topology at {path} (set CPN_P4_DATA_DIR)")
    topo = netgen.resolve_topology(str(path))
    nd = netgen.generate(
        topo, ingress=10, egress=4, link_rate_bps=100e9, link_delay_us=5000.0, seed=0
    )
    _check_generated(nd, 10, 4)
    assert (len(nd.switches), len(nd.links)) == (42, 66)
    assert {(lk.rate_bps, lk.delay_us) for lk in nd.links} == {(100e9, 5000.0)}
    labels = nd.topology["labels"]
    assert sorted(labels[s.name] for s in nd.egress_gateways) == [
        "Beijing",
        "Chengdu",
        "Guangzhou",
        "Shanghai",
    ]
    assert len(nd.services) == 10


def test_nodes_on_one_port_may_share_a_mac_and_addresses_may_be_chosen_at_start(line4):
    nodes = line4["sites"][0]["nodes"]
    nodes[1]["mac"] = nodes[0]["mac"]  # one next hop for both nodes behind egw port 3
    for sw in line4["switches"]:
        sw["address"] = "127.0.0.1:0"  # each switch's server picks its own port
    nd = parse(line4)
    assert nd.site("site4").nodes[1].mac == nd.site("site4").nodes[0].mac
    line4["hosts"][0]["mac"] = nodes[0]["mac"]
    with pytest.raises(
        NetworkFileError,
        match=r"sites\[0\]\.nodes\[0\]\.mac: MAC .* already used by hosts\[0\]\.mac",
    ):
        parse(line4)
