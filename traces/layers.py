"""Scapy layers for the headers the CPN pipeline defines (see ``p4src/include/headers.p4``).

* ``Probe`` (8 bytes) + ``ProbeHop`` records (20 bytes each), carried over UDP destination port
  ``PROBE_UDP_PORT``. Each switch on the path pushes one hop record at the *front* of the list,
  so ``hops[0]`` is the most recent switch. Timestamps are the switch clock in µs (48 bits).
* ``CpuPacketIn`` (3 bytes): what the pipeline prepends to a packet it sends to the controller
  (``--cpu-port``); ``CpuPacketOut`` (3 bytes): what the controller prepends to a packet it
  injects on the CPU port. Both are followed by Ethernet.

Importing this module binds the layers, so ``Ether(raw_bytes)`` decodes probes and
``CpuPacketIn(raw_bytes)`` decodes a packet-in with its Ethernet frame.
"""

from __future__ import annotations

from scapy.fields import (
    BitField,
    ByteEnumField,
    ByteField,
    FieldLenField,
    FlagsField,
    IntField,
    PacketListField,
    ShortField,
)
from scapy.layers.inet import UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, bind_layers

from traces.constants import PROBE_UDP_PORT, PacketOutMode, PuntReason

PROBE_FLAG_PINNED_PATH = 0x01
"""The probe takes path ``path_id`` instead of the flowlet's choice."""
PROBE_FLAG_OVERFLOW = 0x02
"""A switch found the hop list full and did not stamp."""


class ProbeHop(Packet):
    """One switch's stamp in a probe."""

    name = "CPN probe hop"
    fields_desc = [
        ShortField("switch_id", 0),
        ShortField("ingress_port", 0),
        ShortField("egress_port", 0),
        ShortField("queue_depth", 0),
        BitField("ingress_ts", 0, 48),
        BitField("egress_ts", 0, 48),
    ]

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        return b"", s


class Probe(Packet):
    """Path probe: sequence number, flags, pinned path id and the hop records."""

    name = "CPN probe"
    fields_desc = [
        IntField("seq", 0),
        FlagsField("flags", 0, 8, ["pinned_path", "overflow"]),
        ByteField("path_id", 0),
        FieldLenField("hop_count", None, count_of="hops", fmt="B"),
        ByteField("reserved", 0),
        PacketListField("hops", [], ProbeHop, count_from=lambda pkt: pkt.hop_count),
    ]


class CpuPacketIn(Packet):
    """Controller header on packets the switch sends to the CPU port."""

    name = "CPN packet_in"
    fields_desc = [
        ShortField("ingress_port", 0),
        ByteEnumField("reason", 0, {r.value: r.name.lower() for r in PuntReason}),
    ]


class CpuPacketOut(Packet):
    """Controller header on packets the controller injects on the CPU port."""

    name = "CPN packet_out"
    fields_desc = [
        ShortField("egress_port", 0),
        ByteEnumField("mode", 0, {m.value: m.name.lower() for m in PacketOutMode}),
    ]


bind_layers(UDP, Probe, dport=PROBE_UDP_PORT)
bind_layers(CpuPacketIn, Ether)
bind_layers(CpuPacketOut, Ether)

__all__ = [
    "PROBE_FLAG_OVERFLOW",
    "PROBE_FLAG_PINNED_PATH",
    "CpuPacketIn",
    "CpuPacketOut",
    "Probe",
    "ProbeHop",
]
