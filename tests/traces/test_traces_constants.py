"""traces.constants mirrors p4src/include/defines.p4 (and headers.p4) value for value."""

import re
from pathlib import Path

from traces import constants, flowhash
from traces.constants import DropReason, PacketOutMode, PuntReason, TrafficClass

P4_INCLUDE = Path(__file__).resolve().parents[2] / "p4src" / "include"


def _defines() -> dict[str, int]:
    values = {}
    for name in ("defines.p4", "headers.p4"):
        for m in re.finditer(
            r"^#define\s+(\w+)\s+(0x[0-9a-fA-F]+|\d+)\s*$", (P4_INCLUDE / name).read_text(), re.M
        ):
            values[m.group(1)] = int(m.group(2), 0)
    return values


def test_plain_constants_match():
    defs = _defines()
    names = [
        "CPU_PORT",
        "DROP_PORT",
        "PROBE_UDP_PORT",
        "MAX_SRH_SEGMENTS",
        "MAX_SRH_TLV_WORDS",
        "MAX_PROBE_HOPS",
        "MAX_PATHS",
        "MAX_EGW_NODES",
        "SPLIT_SCALE",
        "SRV6_OUTER_HOP_LIMIT",
        "DSCP_DETERMINISTIC",
        "FLOWLET_DEFAULT_TIMEOUT_US",
        "CQF_PRIORITY_BASE",
        "BEST_EFFORT_PRIORITY",
        "DROP_REASON_COUNTER_SIZE",
    ]
    for name in names:
        assert getattr(constants, name) == defs[name], name
    assert flowhash.FLOWLET_SLOTS == defs["FLOWLET_SLOTS"]
    assert flowhash.EGW_FLOW_SLOTS == defs["EGW_FLOW_SLOTS"]
    assert flowhash.SPLIT_SCALE == defs["SPLIT_SCALE"]


def test_enums_match_and_are_complete():
    defs = _defines()
    for enum, prefix in [
        (DropReason, "DROP_"),
        (PuntReason, "PUNT_"),
        (PacketOutMode, "PACKET_OUT_"),
        (TrafficClass, "TC_"),
    ]:
        p4 = {
            k[len(prefix) :]: v
            for k, v in defs.items()
            if k.startswith(prefix) and k != "DROP_PORT"
        }
        if enum is DropReason:
            p4.pop("REASON_COUNTER_SIZE")
        assert {m.name: m.value for m in enum} == p4, enum.__name__
