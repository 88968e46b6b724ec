"""Behaviour 2: AISID classification at the ingress gateway (prefix lpm, Object/Function/Method
ternary, Performance range, priorities), unknown AISIDs punted to the controller."""

import pytest
from cpn_harness import CLIENT, IGW_SID, MAC, CpnSwitch
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.aisid import AISID
from traces.constants import CPU_PORT, DSCP_DETERMINISTIC, PuntReason
from traces.layers import CpuPacketIn
from traces.packets import aisid_udp_request

P64 = "2001:db8:abcd:12::/64"
P48 = "2001:db8:abcd::/48"
# service -> (site, out port)
SERVICES = {10: (1, 2), 11: (2, 3), 12: (3, 4), 13: (5, 4)}


@pytest.fixture
def igw() -> CpnSwitch:
    s = CpnSwitch(switch_id=1, ports=(1, 2, 3, 4))
    s.aisid_prefix(P48)
    # object 1 / function 2, tight budget (<= 2 ms) -> deterministic service 10
    s.classify(
        P64,
        service_id=10,
        traffic_class=1,
        deadline_us=2000,
        object=(1, 0xFFFF),
        function=(2, 0xFFFF),
        performance=(1, 20),
        priority=30,
    )
    # object 1 / function 2, any budget -> best-effort service 11
    s.classify(P64, service_id=11, object=(1, 0xFFFF), function=(2, 0xFFFF), priority=20)
    # object 1, any function, methods 0x10-0x1f -> service 12
    s.classify(P64, service_id=12, object=(1, 0xFFFF), method=(0x10, 0xFFF0), priority=10)
    # anything else under the /48 with object 3 -> service 13 (shorter prefix)
    s.classify(P48, service_id=13, object=(3, 0xFFFF), priority=5)
    for service, (site, port) in SERVICES.items():
        s.service_site(service, site)
        sid = f"fc00:0:{site}::100"
        s.srv6_path(site, 0, IGW_SID, [sid, "fc00:0:99::d6"])
        s.ipv6_route(f"fc00:0:{site}::/48", port, MAC["t2"], src_mac=MAC["igw"])
    return s


def _service_of(igw, aisid, sport=40000):
    out = igw.send(1, aisid_udp_request(aisid, src=CLIENT, sport=sport))
    assert len(out) == 1, out
    [(port, [pkt])] = out.items()
    outer = Ether(pkt)[IPv6]
    service = next(s for s, (site, _) in SERVICES.items() if outer.dst == f"fc00:0:{site}::100")
    assert SERVICES[service][1] == port
    return service, outer


@pytest.mark.parametrize(
    "fields,service",
    [
        ((1, 2, 1, 20), 10),  # 2.0 ms budget: deterministic entry
        ((1, 2, 1, 1), 10),
        ((1, 2, 1, 21), 11),  # 2.1 ms: outside the range, next priority
        ((1, 2, 1, 0), 11),  # 0 = no requirement
        ((1, 2, 0x15, 0x1388), 11),  # both 11 and 12 match: priority 20 beats 10
        ((1, 7, 0x15, 0x1388), 12),  # method 0x10..0x1f
        ((1, 7, 0x25, 0x1388), None),  # object 1 but nothing matches -> unknown
        ((3, 9, 9, 9), 13),
    ],
)
def test_classification_matrix(igw, fields, service):
    aisid = AISID.from_fields(P64, *fields)
    if service is None:
        out = igw.send(1, aisid_udp_request(aisid, src=CLIENT))
        assert list(out) == [CPU_PORT]
        return
    got, outer = _service_of(igw, aisid)
    assert got == service
    det = service == 10
    assert outer.tc >> 2 == (DSCP_DETERMINISTIC if det else 0)
    assert igw.sw.counter_read("CpnIngress.telemetry.service_packets", service)[0] == 1


def test_shorter_prefix_and_other_64s_under_the_48(igw):
    got, _ = _service_of(igw, AISID.from_fields("2001:db8:abcd:99::/64", 3, 1, 1, 1))
    assert got == 13


def test_unknown_aisid_is_punted_with_reason_and_not_forwarded(igw):
    req = aisid_udp_request(AISID.from_fields(P64, 9, 9, 9, 9), src=CLIENT, payload=b"?")
    out = igw.send(1, req)
    assert list(out) == [CPU_PORT]
    [pin] = out[CPU_PORT]
    # packet_in header {ingress_port=1, reason=UNKNOWN_AISID} + the request exactly as received
    assert pin == bytes(CpuPacketIn(ingress_port=1, reason=PuntReason.UNKNOWN_AISID)) + bytes(req)
    assert igw.drops() == {}


def test_addresses_outside_aisid_prefixes_are_routed_not_classified(igw):
    igw.ipv6_route("2001:db8:ffff::/48", 3, MAC["t3"], src_mac=MAC["igw"])
    req = aisid_udp_request("2001:db8:ffff::1:2:1:1", src=CLIENT)
    out = igw.send(1, req)
    assert list(out) == [3]
    p = Ether(out[3][0])
    assert p[IPv6].dst == "2001:db8:ffff:0:1:2:1:1" and p[IPv6].hlim == 63 and p[IPv6].nh == 17


def test_classification_follows_the_policy_version(igw):
    # Version 1 sends object 1 / function 2 to service 12 only; the version 0 entries stay.
    igw.classify(P64, service_id=12, object=(1, 0xFFFF), version=1, priority=1)
    site, _ = SERVICES[12]
    igw.service_site(12, site, version=1)
    igw.srv6_path(site, 0, IGW_SID, [f"fc00:0:{site}::100", "fc00:0:99::d6"], version=1)
    aisid = AISID.from_fields(P64, 1, 2, 1, 5)
    assert _service_of(igw, aisid)[0] == 10
    igw.set_policy_version(1)
    got, outer = _service_of(igw, aisid, sport=40001)  # a new flow (a flow keeps its site)
    assert got == 12 and outer[1].tag == 1  # SRH tag = the version the packet used
    # Version 1 has no service 11: its requests are punted, never served by version 0 entries.
    out = igw.send(1, aisid_udp_request(AISID.from_fields(P64, 3, 1, 1, 1), src=CLIENT))
    assert list(out) == [CPU_PORT]
    assert CpuPacketIn(out[CPU_PORT][0]).reason == PuntReason.UNKNOWN_AISID
