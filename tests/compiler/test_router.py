"""End-to-end: p4src/router.p4 compiles to BMv2 JSON and P4Info with p4c's conventions."""

from pathlib import Path

import pytest

from p4target.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def router():
    return compile_file(ROOT / "p4src" / "router.p4")


def test_router_json_top_level(router):
    j = router.json
    assert j["__meta__"]["version"] == [2, 23]
    for key in (
        "header_types", "headers", "header_stacks", "header_union_types", "header_unions",
        "header_union_stacks", "field_lists", "errors", "enums", "parsers", "parse_vsets",
        "deparsers", "meter_arrays", "counter_arrays", "register_arrays", "calculations",
        "learn_lists", "actions", "pipelines", "checksums", "force_arith", "extern_instances",
        "field_aliases", "program",
    ):  # fmt: skip
        assert key in j, key
    assert [h["name"] for h in j["headers"]][:2] == ["scalars", "standard_metadata"]
    assert j["header_types"][0]["name"] == "scalars_0"
    assert [p["name"] for p in j["pipelines"]] == ["ingress", "egress"]
    assert j["deparsers"][0]["order"] == ["ethernet", "ipv4", "ipv6"]
    assert ["intrinsic_metadata.priority", ["standard_metadata", "priority"]] in j["field_aliases"]


def test_router_tables_and_checksum(router):
    ingress = router.json["pipelines"][0]
    tables = {t["name"]: t for t in ingress["tables"]}
    lpm = tables["RouterIngress.ipv4_lpm"]
    assert lpm["match_type"] == "lpm"
    assert lpm["key"] == [
        {
            "match_type": "lpm",
            "name": "hdr.ipv4.dst_addr",
            "target": ["ipv4", "dst_addr"],
            "mask": None,
        }
    ]
    assert lpm["max_size"] == 16384
    assert lpm["next_tables"] == {
        "RouterIngress.set_nexthop": "RouterIngress.nexthop",
        "RouterIngress.drop": "RouterIngress.nexthop",
    }
    cks = router.json["checksums"]
    assert {c["verify"] for c in cks} == {True, False}
    assert all(c["target"] == ["ipv4", "hdr_checksum"] for c in cks)


def test_router_p4info(router):
    info = router.p4info
    names = {t.preamble.name for t in info.tables}
    assert names == {"RouterIngress.ipv4_lpm", "RouterIngress.ipv6_lpm", "RouterIngress.nexthop"}
    assert all(t.preamble.id >> 24 == 0x02 for t in info.tables)
    assert [c.preamble.name for c in info.counters] == ["RouterIngress.port_counter"]
    assert info.pkg_info.arch == "v1model"
