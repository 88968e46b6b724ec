"""BMv2 JSON structure: the conventions p4c-bm2-ss follows for v1model (names, layouts,
primitives, expression encoding), checked on the STF programs' compiled output."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from p4target.compiler import compile_file

P4 = Path(__file__).resolve().parents[1] / "p4"
PROGRAMS = sorted(p.stem for p in P4.glob("*.p4"))


@pytest.fixture(scope="module")
def compiled():
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = compile_file(P4 / f"{name}.p4").json
        return cache[name]

    return get


def walk(obj):
    yield obj
    if isinstance(obj, dict):
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def prims(j, op=None):
    return [p for a in j["actions"] for p in a["primitives"] if op is None or p["op"] == op]


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_program_is_well_formed(compiled, name):
    j = compiled(name)
    assert j["__meta__"]["version"] == [2, 23]
    json.dumps(j)  # serialisable
    headers = {h["name"] for h in j["headers"]}
    htypes = {t["name"]: t for t in j["header_types"]}
    for h in j["headers"]:
        assert h["header_type"] in htypes
    for kind in (
        "header_types",
        "headers",
        "actions",
        "parse_vsets",
        "counter_arrays",
        "meter_arrays",
        "register_arrays",
        "calculations",
        "checksums",
    ):
        ids = [x["id"] for x in j[kind]]
        assert len(ids) == len(set(ids)), kind
    tables = [t for p in j["pipelines"] for t in p["tables"]]
    conds = [c for p in j["pipelines"] for c in p["conditionals"]]
    nodes = {t["name"] for t in tables} | {c["name"] for c in conds}
    assert len(nodes) == len(tables) + len(conds)
    assert len({t["id"] for t in tables}) == len(tables)
    action_ids = {a["id"]: a for a in j["actions"]}
    for p in j["pipelines"]:
        assert p["init_table"] is None or p["init_table"] in nodes
        for t in p["tables"]:
            for nxt in list(t["next_tables"].values()) + [t["base_default_next"]]:
                assert nxt is None or nxt in nodes
            assert [action_ids[i]["name"] for i in t["action_ids"]] == t["actions"]
            if "default_entry" in t:
                assert t["default_entry"]["action_id"] in t["action_ids"]
        for c in p["conditionals"]:
            assert c["true_next"] is None or c["true_next"] in nodes
            assert c["false_next"] is None or c["false_next"] in nodes
    for node in walk(j):
        if isinstance(node, dict) and node.get("type") == "field":
            h, f = node["value"]
            assert h in headers
            fields = [
                x[0]
                for x in htypes[next(x["header_type"] for x in j["headers"] if x["name"] == h)][
                    "fields"
                ]
            ]
            assert f in fields or f == "$valid$", (h, f)
    for node in walk(j):  # inside expressions, action data is "local", never "runtime_data"
        if isinstance(node, dict) and "op" in node and "left" in node:
            for k in ("left", "right", "cond"):
                child = node.get(k)
                assert not (isinstance(child, dict) and child.get("type") == "runtime_data")
    for a in j["actions"]:
        n = len(a["primitives"])
        for pr in a["primitives"]:
            if pr["op"] in ("_jump", "_jump_if_zero"):
                assert 0 <= int(pr["parameters"][-1]["value"], 16) <= n


def test_standard_metadata_layout_and_aliases(compiled):
    j = compiled("std_metadata")
    sm = next(t for t in j["header_types"] if t["name"] == "standard_metadata")
    assert sm["fields"] == [
        ["ingress_port", 9, False],
        ["egress_spec", 9, False],
        ["egress_port", 9, False],
        ["instance_type", 32, False],
        ["packet_length", 32, False],
        ["enq_timestamp", 32, False],
        ["enq_qdepth", 19, False],
        ["deq_timedelta", 32, False],
        ["deq_qdepth", 19, False],
        ["ingress_global_timestamp", 48, False],
        ["egress_global_timestamp", 48, False],
        ["mcast_grp", 16, False],
        ["egress_rid", 16, False],
        ["checksum_error", 1, False],
        ["parser_error", 32, False],
        ["priority", 3, False],
        ["_padding", 3, False],
    ]
    assert j["headers"][0] == {
        "name": "scalars",
        "id": 0,
        "header_type": "scalars_0",
        "metadata": True,
        "pi_omit": True,
    }
    assert j["headers"][1]["name"] == "standard_metadata"
    assert j["errors"][:7] == [
        ["NoError", 1],
        ["PacketTooShort", 2],
        ["NoMatch", 3],
        ["StackOutOfBounds", 4],
        ["HeaderTooShort", 5],
        ["ParserTimeout", 6],
        ["ParserInvalidArgument", 7],
    ]
    aliases = dict((a, tuple(b)) for a, b in j["field_aliases"])
    assert aliases["queueing_metadata.enq_timestamp"] == ("standard_metadata", "enq_timestamp")
    assert aliases["intrinsic_metadata.mcast_grp"] == ("standard_metadata", "mcast_grp")
    assert aliases["intrinsic_metadata.priority"] == ("standard_metadata", "priority")
    scal = [f[0] for f in j["header_types"][0]["fields"]]
    assert "userMetadata.ingress_port" in scal
    assert sum(f[1] for f in j["header_types"][0]["fields"]) % 8 == 0


def test_control_body_code_goes_to_hidden_tables(compiled):
    j = compiled("expressions")
    ingress = j["pipelines"][0]
    synth = [t for t in ingress["tables"] if t["name"].startswith("tbl_")]
    assert synth and all(t["key"] == [] for t in synth)
    for t in synth:
        assert t["default_entry"]["action_const"] and t["default_entry"]["action_entry_const"]
    assert any(a["name"].startswith("expressionsl") for a in j["actions"])


def test_expression_encoding(compiled):
    j = compiled("expressions")
    text = json.dumps(j)
    for op in ("two_comp_mod", "usat_cast", "sat_cast", "b2d", "d2b", "?", "<<", ">>", "/", "%"):
        assert f'"op": "{op}"' in text, op
    # primitive parameters that are expressions are wrapped twice (BMv2 builds from "value")
    for pr in prims(j, "assign"):
        src = pr["parameters"][1]
        if src["type"] == "expression":
            assert src["value"]["type"] == "expression"
    # 8-bit sums compared are masked back to 8 bits
    assert '"right": {"type": "hexstr", "value": "0xff"}' in text


def test_table_conventions(compiled):
    j = compiled("table_match")
    tables = {t["name"]: t for t in j["pipelines"][0]["tables"]}
    assert (
        tables["Ing.t_exact"]["match_type"] == "exact" and tables["Ing.t_exact"]["max_size"] == 64
    )
    assert tables["Ing.t_lpm"]["match_type"] == "lpm"
    assert tables["Ing.t_ternary"]["match_type"] == "ternary"
    assert tables["Ing.t_range"]["match_type"] == "range"
    opt = tables["Ing.t_optional"]
    assert opt["match_type"] == "ternary" and opt["key"][0]["match_type"] == "ternary"
    assert tables["Ing.t_ternary"]["default_entry"]["action_const"] is True
    assert tables["Ing.t_exact"]["default_entry"]["action_const"] is False
    assert tables["Ing.t_exact"]["default_entry"]["action_data"] == ["0xee"]
    complex_keys = tables["Ing.t_complex"]["key"]
    assert complex_keys[0] == {
        "match_type": "exact",
        "name": "a_high",
        "target": ["h", "a"],
        "mask": "0xf0",
    }
    assert complex_keys[2]["target"] == ["h", "$valid$"]
    assert complex_keys[1]["target"][0] == "scalars"  # the slice goes through a temporary
    lpm = tables["Ing.t_lpm"]
    assert "NoAction" in lpm["actions"] and lpm["default_entry"]["action_const"] is False


def test_const_entries_and_priorities(compiled):
    j = compiled("table_entries")
    tables = {t["name"]: t for t in j["pipelines"][0]["tables"]}
    ordered = tables["Ing.ordered"]["entries"]
    assert [e["priority"] for e in ordered] == [1, 2, 3, 4]
    assert ordered[0]["match_key"] == [
        {"match_type": "ternary", "key": "0x01", "mask": "0xff"},
        {"match_type": "range", "start": "0x0000", "end": "0x00ff"},
    ]
    assert ordered[3]["match_key"][0] == {"match_type": "ternary", "key": "0x00", "mask": "0x00"}
    prio = tables["Ing.prioritized"]["entries"]
    # P4 `priority = 20` beats 10; BMv2 wants the smaller number for the higher priority
    assert [e["priority"] for e in prio] == [11, 1, 16]
    routes = tables["Ing.routes"]["entries"]
    assert routes[0]["match_key"] == [{"match_type": "lpm", "key": "0x1200", "prefix_length": 8}]


def test_control_flow_nodes(compiled):
    j = compiled("control_flow")
    tables = {t["name"]: t for t in j["pipelines"][0]["tables"]}
    assert set(tables["Ing.probe"]["next_tables"]) == {"__HIT__", "__MISS__"}
    sel = tables["Ing.sel"]["next_tables"]
    assert set(sel) == {"Ing.a1", "Ing.a2", "Ing.a3", "Ing.a4"}
    assert sel["Ing.a1"] == sel["Ing.a2"] != sel["Ing.a3"]
    assert any(p["op"] == "exit" for p in prims(j))


def test_parser_conventions(compiled):
    j = compiled("parser_select")
    states = {s["name"]: s for s in j["parsers"][0]["parse_states"]}
    assert states["start"]["transition_key"] == [{"type": "lookahead", "value": [0, 8]}]
    # the if statement in parse_a splits it: a 1-bit temporary selects parse_a_true/_false
    assert states["parse_a"]["transition_key"][0]["value"][0] == "scalars"
    pa = states["parse_a_true"]
    masked = [t for t in pa["transitions"] if t["next_state"] == "masked"]
    assert masked == [
        {"type": "hexstr", "value": "0x1000", "mask": "0xf000", "next_state": "masked"}
    ]
    ranged = [t for t in pa["transitions"] if t["next_state"] == "ranged"]
    assert len(ranged) == 1 and ranged[0]["value"] == "0x2001" and ranged[0]["mask"] == "0xf0ff"
    assert states["fail"]["transitions"][0]["next_state"] is None  # explicit reject, as p4c
    assert states["vset"]["transitions"][0] == {
        "type": "parse_vset",
        "value": "P.special",
        "mask": None,
        "next_state": "in_set",
    }
    assert j["parse_vsets"] == [
        {
            "name": "P.special",
            "id": 0,
            "source_info": j["parse_vsets"][0]["source_info"],
            "compressed_bitwidth": 8,
        }
    ]
    assert any(op["op"] == "advance" for op in states["skip2"]["parser_ops"])
    assert any(op["op"] == "verify" for op in states["check"]["parser_ops"])
    vb = compiled("varbit")
    ops = vb["parsers"][0]["parse_states"][0]["parser_ops"]
    assert [o["op"] for o in ops] == ["extract", "verify", "extract_VL"]
    opt_t = next(t for t in vb["header_types"] if t["name"] == "ipv4_options_t")
    assert opt_t["fields"] == [["options", "*"]] and opt_t["max_length"] == 40


def test_externs_primitives(compiled):
    rep = compiled("replication")
    ops = Counter(p["op"] for p in prims(rep))
    for op in (
        "clone_ingress_pkt_to_egress",
        "clone_egress_pkt_to_egress",
        "resubmit",
        "recirculate",
    ):
        assert ops[op] >= 1, op
    fl1 = next(f for f in rep["field_lists"] if f["name"] == "field_list1")
    assert fl1["elements"] == [{"type": "field", "value": ["scalars", "userMetadata.kept"]}]
    clone_fl = next(
        p
        for p in prims(rep, "clone_ingress_pkt_to_egress")
        if int(p["parameters"][1]["value"], 16) == fl1["id"]
    )
    assert clone_fl
    misc = compiled("misc_externs")
    assert (
        misc["learn_lists"][0]["name"] == "learn_t" and len(misc["learn_lists"][0]["elements"]) == 3
    )
    mops = Counter(p["op"] for p in prims(misc))
    for op in ("mark_to_drop", "truncate", "assert", "assume", "generate_digest"):
        assert mops[op] == 1, op
    logs = prims(misc, "log_msg")
    assert [p["parameters"][0] for p in logs] == [
        {"type": "string", "value": "mode {} a {}"},
        {"type": "string", "value": "no arguments"},
    ]
    assert [len(p["parameters"][1]["value"]) for p in logs] == [2, 0]
    h = compiled("hash")
    assert sorted(c["algo"] for c in h["calculations"]) == [
        "crc16",
        "crc16",
        "crc32",
        "csum16",
        "identity",
        "xor16",
    ]
    const_in = [i for c in h["calculations"] for i in c["input"] if i["type"] == "hexstr"]
    assert const_in == [{"type": "hexstr", "value": "0x0102", "bitwidth": 16}]
    assert Counter(p["op"] for p in prims(h))["modify_field_rng_uniform"] == 2


def test_stateful_externs(compiled):
    j = compiled("stateful")
    regs = {r["name"]: r for r in j["register_arrays"]}
    assert regs["Ing.seen"]["size"] == 8 and regs["Ing.seen"]["bitwidth"] == 32
    ctrs = {c["name"]: c for c in j["counter_arrays"]}
    assert ctrs["Ing.per_idx"]["is_direct"] is False and ctrs["Ing.hits"] == {
        **ctrs["Ing.hits"],
        "is_direct": True,
        "binding": "Ing.classify",
    }
    meters = {m["name"]: m for m in j["meter_arrays"]}
    assert meters["Ing.limiter"]["type"] == "packets" and meters["Ing.limiter"]["rate_count"] == 2
    pol = meters["Ing.policer"]
    assert pol["is_direct"] and pol["binding"] == "Ing.classify"
    assert pol["result_target"] == ["scalars", "userMetadata.dcolor"]
    classify = next(t for t in j["pipelines"][0]["tables"] if t["name"] == "Ing.classify")
    assert classify["with_counters"] and classify["direct_meters"] == "Ing.policer"
    ops = Counter(p["op"] for p in prims(j))
    assert (
        ops["register_read"] == ops["register_write"] == ops["count"] == ops["execute_meter"] == 1
    )
    prof = compiled("action_profile")
    aps = {a["name"]: a for a in prof["pipelines"][0]["action_profiles"]}
    assert aps["Ing.ecmp"]["selector"] == {
        "algo": "crc16",
        "input": [{"type": "field", "value": ["h", "flow"]}],
    }
    assert "selector" not in aps["Ing.shared"]
    types = {t["name"]: t["type"] for t in prof["pipelines"][0]["tables"]}
    assert types["Ing.t1"] == types["Ing.t2"] == "indirect" and types["Ing.fwd"] == "indirect_ws"


def test_checksums(compiled):
    j = compiled("checksums")
    cks = j["checksums"]
    assert [(c["verify"], c["update"]) for c in cks] == [
        (False, True),
        (False, True),
        (True, False),
        (True, False),
    ]
    calcs = {c["name"]: c for c in j["calculations"]}
    with_payload = [c for c in cks if calcs[c["calculation"]]["input"][-1]["type"] == "payload"]
    assert len(with_payload) == 2
    assert all(c["target"] in (["ipv4", "checksum"], ["udp", "checksum"]) for c in cks)


def test_unions_and_stacks(compiled):
    j = compiled("header_union")
    assert j["header_union_types"][0]["headers"] == [["a", "a_t"], ["b", "b_t"]]
    u = j["header_unions"][0]
    assert u["name"] == "u" and [h["name"] for h in j["headers"] if h["id"] in u["header_ids"]] == [
        "u.a",
        "u.b",
    ]
    assert '"op": "valid_union"' in json.dumps(j)
