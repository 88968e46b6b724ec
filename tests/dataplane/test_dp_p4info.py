"""The program's control-plane surface: one P4Info for every role, guessable names, a
policy-version key on every scheduler-filled table (behaviour 7), both builds compile."""

import pytest
from cpn_harness import cpn_compiled

SCHEDULER_TABLES = {
    "CpnIngress.aisid.classify": [
        "policy_version",
        "prefix",
        "object",
        "function",
        "method",
        "performance",
    ],
    "CpnIngress.flowlet.service_site": ["policy_version", "service_id"],
    "CpnIngress.flowlet.path_split": ["policy_version", "site_id"],
    "CpnIngress.srv6_encap.paths": ["policy_version", "site_id", "path_id"],
    "CpnIngress.egw.service_nodes": ["policy_version", "service_id"],
    "CpnIngress.cqf.flow_offsets": ["policy_version", "src_addr", "flow_label"],
}
CONFIG_TABLES = {
    "CpnIngress.aisid.prefixes": ["prefix"],
    "CpnIngress.srv6.my_sid": ["sid"],
    "CpnIngress.egw.nodes": ["node_id"],
    "CpnIngress.egw.node_replies": ["src_addr"],
    "CpnIngress.routing.ipv6_routes": ["dst_addr"],
    "CpnIngress.routing.ipv4_routes": ["dst_addr"],
    "CpnIngress.cqf.ports": ["port"],
}


@pytest.fixture(scope="module")
def p4info():
    return cpn_compiled().p4info


def test_tables_and_keys(p4info):
    tables = {t.preamble.name: [m.name for m in t.match_fields] for t in p4info.tables}
    assert tables == {**SCHEDULER_TABLES, **CONFIG_TABLES}
    # Aliases are the short names a P4Runtime user types.
    aliases = {t.preamble.alias for t in p4info.tables}
    assert {"classify", "service_site", "path_split", "paths", "service_nodes", "my_sid"} <= aliases


def test_match_kinds_of_classification(p4info):
    [t] = [t for t in p4info.tables if t.preamble.name == "CpnIngress.aisid.classify"]
    kinds = [m.match_type for m in t.match_fields]
    E, LPM, T, R = 2, 3, 4, 5  # p4info MatchField.MatchType
    assert kinds == [E, LPM, T, T, T, R]
    assert [m.bitwidth for m in t.match_fields] == [16, 64, 16, 16, 16, 16]


def test_registers_counters_and_controller_headers(p4info):
    registers = {r.preamble.name for r in p4info.registers}
    assert {
        "CpnIngress.active_policy_version",
        "CpnIngress.flowlet.timeout_us",
        "CpnIngress.egw.connections",
        "CpnIngress.egw.flow_state",
        "CpnEgress.telemetry.queue_depth",
        "CpnEgress.telemetry.switch_id",
    } <= registers
    counters = {c.preamble.name for c in p4info.counters}
    assert {
        "CpnIngress.telemetry.drop_reasons",
        "CpnIngress.telemetry.service_packets",
        "CpnIngress.telemetry.port_rx",
        "CpnEgress.telemetry.port_tx",
    } <= counters
    meta = {
        m.preamble.name: [(x.name, x.bitwidth) for x in m.metadata]
        for m in p4info.controller_packet_metadata
    }
    assert meta == {
        "packet_in": [("ingress_port", 16), ("reason", 8)],
        "packet_out": [("egress_port", 16), ("mode", 8)],
    }


def test_recirculate_build_has_the_same_p4info():
    plain = cpn_compiled()
    recirc = cpn_compiled(CQF_RECIRCULATE="1")
    assert plain.p4info == recirc.p4info
    assert plain.json != recirc.json
