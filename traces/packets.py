"""Scapy builders for AISID requests (UDP, TCP), path probes and controller packets."""

from __future__ import annotations

from collections.abc import Iterable

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from traces.aisid import AISID
from traces.constants import PROBE_UDP_PORT, PacketOutMode
from traces.layers import PROBE_FLAG_PINNED_PATH, CpuPacketIn, CpuPacketOut, Probe, ProbeHop

CLIENT_MAC = "02:00:00:00:00:01"
GATEWAY_MAC = "02:00:00:00:01:00"
CLIENT_ADDR = "fd00:1::10"


def _dst(aisid: AISID | str) -> str:
    return aisid.address if isinstance(aisid, AISID) else str(aisid)


def _ipv6(
    dst: AISID | str,
    src: str,
    *,
    hop_limit: int,
    traffic_class: int,
    flow_label: int,
    src_mac: str | None,
    dst_mac: str | None,
) -> Packet:
    ip = IPv6(src=src, dst=_dst(dst), hlim=hop_limit, tc=traffic_class, fl=flow_label)
    if src_mac is None and dst_mac is None:
        return ip
    return Ether(src=src_mac or CLIENT_MAC, dst=dst_mac or GATEWAY_MAC) / ip


def aisid_udp_request(
    aisid: AISID | str,
    *,
    src: str = CLIENT_ADDR,
    sport: int = 40000,
    dport: int = 8080,
    payload: bytes = b"",
    hop_limit: int = 64,
    traffic_class: int = 0,
    flow_label: int = 0,
    src_mac: str | None = CLIENT_MAC,
    dst_mac: str | None = GATEWAY_MAC,
) -> Packet:
    """An AISID request over UDP: ``Ether/IPv6(dst=AISID)/UDP/payload``.

    Pass ``src_mac=None, dst_mac=None`` for a packet without the Ethernet header (e.g. the
    inner packet of an SRv6 encapsulation)."""
    ip = _ipv6(
        aisid,
        src,
        hop_limit=hop_limit,
        traffic_class=traffic_class,
        flow_label=flow_label,
        src_mac=src_mac,
        dst_mac=dst_mac,
    )
    pkt = ip / UDP(sport=sport, dport=dport)
    return pkt / Raw(payload) if payload else pkt


def aisid_tcp_request(
    aisid: AISID | str,
    *,
    src: str = CLIENT_ADDR,
    sport: int = 40000,
    dport: int = 8080,
    flags: str = "S",
    seq: int = 1000,
    ack: int = 0,
    payload: bytes = b"",
    hop_limit: int = 64,
    traffic_class: int = 0,
    flow_label: int = 0,
    src_mac: str | None = CLIENT_MAC,
    dst_mac: str | None = GATEWAY_MAC,
) -> Packet:
    """An AISID request over TCP (``flags`` as Scapy spells them: ``"S"``, ``"A"``, ``"FA"``...)."""
    ip = _ipv6(
        aisid,
        src,
        hop_limit=hop_limit,
        traffic_class=traffic_class,
        flow_label=flow_label,
        src_mac=src_mac,
        dst_mac=dst_mac,
    )
    pkt = ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65535)
    return pkt / Raw(payload) if payload else pkt


def tcp_connection(
    aisid: AISID | str,
    *,
    src: str = CLIENT_ADDR,
    sport: int = 40000,
    dport: int = 8080,
    data_segments: int = 1,
    payload: bytes = b"request",
    close: str = "FA",
    **kw,
) -> list[Packet]:
    """The client side of one TCP connection: SYN, ``data_segments`` data segments, then a
    ``close`` segment (``"FA"`` for FIN, ``"R"`` for RST)."""
    pkts = [aisid_tcp_request(aisid, src=src, sport=sport, dport=dport, flags="S", seq=1000, **kw)]
    seq = 1001
    for _ in range(data_segments):
        pkts.append(
            aisid_tcp_request(
                aisid,
                src=src,
                sport=sport,
                dport=dport,
                flags="PA",
                seq=seq,
                ack=1,
                payload=payload,
                **kw,
            )
        )
        seq += len(payload)
    pkts.append(
        aisid_tcp_request(
            aisid, src=src, sport=sport, dport=dport, flags=close, seq=seq, ack=1, **kw
        )
    )
    return pkts


def probe_request(
    aisid: AISID | str,
    *,
    seq: int = 0,
    path_id: int | None = None,
    hops: Iterable[ProbeHop] = (),
    src: str = CLIENT_ADDR,
    sport: int = PROBE_UDP_PORT,
    hop_limit: int = 64,
    src_mac: str | None = CLIENT_MAC,
    dst_mac: str | None = GATEWAY_MAC,
) -> Packet:
    """A path probe towards an AISID: ``Ether/IPv6/UDP(dport=PROBE_UDP_PORT)/Probe``.

    With ``path_id`` set, the probe is pinned to that path of the flowlet split (the ingress
    gateway does not choose one). The UDP checksum is computed; every switch that stamps a hop
    record updates it incrementally, so a returned probe still carries a valid checksum."""
    ip = _ipv6(
        aisid,
        src,
        hop_limit=hop_limit,
        traffic_class=0,
        flow_label=0,
        src_mac=src_mac,
        dst_mac=dst_mac,
    )
    probe = Probe(
        seq=seq,
        flags=PROBE_FLAG_PINNED_PATH if path_id is not None else 0,
        path_id=path_id or 0,
        hops=list(hops),
    )
    return ip / UDP(sport=sport, dport=PROBE_UDP_PORT) / probe


def packet_out(
    pkt: Packet, egress_port: int = 0, mode: PacketOutMode = PacketOutMode.DIRECT
) -> Packet:
    """A controller packet for the CPU port: ``CpuPacketOut/pkt``."""
    return CpuPacketOut(egress_port=egress_port, mode=int(mode)) / pkt


def packet_in(pkt: Packet, ingress_port: int, reason: int) -> Packet:
    """What the switch sends the controller: ``CpuPacketIn/pkt``."""
    return CpuPacketIn(ingress_port=ingress_port, reason=int(reason)) / pkt
