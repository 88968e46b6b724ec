"""Behaviour 9: the CPU port - packet_out (direct or injected into the pipeline), packet_in."""

from cpn_harness import AISID_ADDR, CLIENT, MAC, PREFIX, CpnSwitch, ingress_gateway
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from traces.aisid import AISID
from traces.constants import CPU_PORT, DropReason, PacketOutMode, PuntReason
from traces.layers import CpuPacketIn, CpuPacketOut
from traces.packets import aisid_udp_request, packet_out
from traces.srv6 import forwarded


def _router() -> CpnSwitch:
    s = CpnSwitch(switch_id=3)
    s.ipv6_route("fd00:9::/64", 2, MAC["t3"], src_mac=MAC["t2"])
    return s


def _frame():
    return (
        Ether(src=MAC["client"], dst=MAC["t2"])
        / IPv6(src=CLIENT, dst="fd00:9::1", hlim=9)
        / UDP(sport=7, dport=8)
        / b"ctl"
    )


def test_packet_out_direct_leaves_the_given_port_untouched():
    s = _router()
    frame = _frame()
    out = s.inject(packet_out(frame, egress_port=4, mode=PacketOutMode.DIRECT))
    assert out == {4: [bytes(frame)]}
    assert s.sw.counter_read("CpnEgress.telemetry.port_tx", 4)[0] == 1
    assert s.sw.counter_read("CpnIngress.telemetry.port_rx", CPU_PORT)[0] == 1


def test_packet_out_inject_runs_the_pipeline():
    s = _router()
    frame = _frame()
    out = s.inject(packet_out(frame, egress_port=4, mode=PacketOutMode.INJECT))
    assert out == {2: [bytes(forwarded(frame, src_mac=MAC["t2"], dst_mac=MAC["t3"]))]}


def test_injected_aisid_request_is_classified_and_encapsulated():
    igw = ingress_gateway()
    req = aisid_udp_request(AISID_ADDR, src=CLIENT, payload=b"hello")
    via_cpu = igw.inject(packet_out(req, mode=PacketOutMode.INJECT))
    igw2 = ingress_gateway()
    via_port = igw2.send(1, req)
    assert list(via_cpu) == [2] and via_cpu == via_port


def test_packet_in_carries_ingress_port_and_reason():
    igw = ingress_gateway()
    unknown = aisid_udp_request(
        AISID.from_fields(PREFIX, 1, 2, 1, 0x1388).replace(object=0xBEEF), src=CLIENT
    )
    igw.sw.table_clear("CpnIngress.aisid.classify")
    igw.classify(PREFIX, service_id=7, object=(1, 0xFFFF))
    out = igw.send(3, unknown)
    assert out == {
        CPU_PORT: [bytes(CpuPacketIn(ingress_port=3, reason=PuntReason.UNKNOWN_AISID) / unknown)]
    }
    out = igw.inject(packet_out(unknown, mode=PacketOutMode.INJECT))
    assert CpuPacketIn(out[CPU_PORT][0]).ingress_port == CPU_PORT
    # A route to the CPU port: packet_in with reason 0, packet already routed (hop limit - 1).
    igw.ipv6_route("fd00:c0::/64", CPU_PORT, "00:00:00:00:00:00", src_mac=MAC["igw"])
    p = Ether() / IPv6(src=CLIENT, dst="fd00:c0::1", hlim=5) / UDP()
    [pin] = igw.send(1, p)[CPU_PORT]
    parsed = CpuPacketIn(pin)
    assert (parsed.ingress_port, parsed.reason, parsed[IPv6].hlim) == (1, 0, 4)


def test_bad_packet_out_is_dropped_and_counted():
    s = _router()
    assert s.inject(bytes(CpuPacketOut(egress_port=2, mode=7) / _frame())) == {}
    assert s.inject(b"\x00\x02") == {}
    assert s.drops() == {DropReason.PACKET_OUT_INVALID: 1, DropReason.PARSER_TRUNCATED: 1}
