"""Numbers shared by the P4 pipeline (``p4src/include/defines.p4``) and the Python side.

``tests/traces/test_constants.py`` checks every value here against the ``#define`` of the same
name in the P4 source, so the two cannot drift apart.
"""

from __future__ import annotations

from enum import IntEnum

CPU_PORT = 255
"""The port simple_switch is started with as ``--cpu-port``: packet-in/packet-out."""
DROP_PORT = 511
PROBE_UDP_PORT = 50000
"""UDP destination port that carries the path-probe header."""
MAX_SRH_SEGMENTS = 8
"""Longest SRH segment list the parser accepts (RFC 8754 allows more; longer ones are dropped)."""
MAX_SRH_TLV_WORDS = 4
"""SRH TLV area the parser can skip, in 8-octet words (longer TLV areas are dropped)."""
MAX_PROBE_HOPS = 8
"""Hop records a probe can carry; later switches set the overflow flag instead of stamping."""
MAX_PATHS = 4
"""Paths per (policy version, site) that flowlets are split over."""
MAX_EGW_NODES = 8
"""Service nodes per service at an egress gateway."""
SPLIT_SCALE = 10000
"""Split ratios are cumulative thresholds out of 10000 (0.01% granularity)."""
SRV6_OUTER_HOP_LIMIT = 64
"""Hop limit of the outer IPv6 header pushed by H.Encaps."""
DSCP_DETERMINISTIC = 46
"""Outer IPv6 DSCP an ingress gateway stamps on deterministic (CQF) traffic."""
FLOWLET_DEFAULT_TIMEOUT_US = 50000
"""Flowlet idle gap used while the ``flowlet_timeout_us`` register holds 0."""
FLOW_PIN_DEFAULT_US = 1_000_000
"""Idle gap after which a flow's site is no longer kept, while ``flowlet.pin_us`` holds 0."""
FLOW_SITE_LOCAL = 0xFFFF
"""``flowlet.site`` value of a flow served at the ingress gateway's own site."""
CQF_PRIORITY_BASE = 6
"""CQF queue pair = priorities 6 (even cycles) and 7 (odd cycles); best effort uses 0."""
BEST_EFFORT_PRIORITY = 0


class PacketOutMode(IntEnum):
    """``packet_out.mode``: what the switch does with a controller packet."""

    DIRECT = 0
    """Send it out ``packet_out.egress_port`` untouched."""
    INJECT = 1
    """Run it through the ingress pipeline as if it had arrived on the CPU port."""


class PuntReason(IntEnum):
    """``packet_in.reason``: why the pipeline sent a packet to the controller."""

    UNKNOWN_AISID = 1
    """AISID prefix is served here but no classification entry matched (lifecycle: query)."""
    PROBE = 2
    """A finished path probe, stamped by every switch on the path."""
    NO_SERVICE_SITE = 3
    """A classified request whose service has no target site in the active policy."""


class TrafficClass(IntEnum):
    """Traffic class yielded by AISID classification."""

    BEST_EFFORT = 0
    DETERMINISTIC = 1


class DropReason(IntEnum):
    """Index into the ``drop_reasons`` counter of the pipeline."""

    NONE = 0
    PARSER_TRUNCATED = 1
    """A header ran past the end of the packet (``error.PacketTooShort``)."""
    PARSER_ERROR = 2
    """Any other parser error (e.g. stack overflow, bad header)."""
    IP_BAD_VERSION = 3
    """IPv4 header without version 4 / IHL < 5, or IPv6 header without version 6."""
    SRH_SEGMENTS_LEFT_INVALID = 4
    """SRH ``segments_left`` > ``last_entry`` + 1 (RFC 8754 §4.3.1.1)."""
    SRH_LENGTH_INVALID = 5
    """SRH ``hdr_ext_len`` too small for ``last_entry`` + 1 segments, or odd TLV area."""
    SRH_TOO_MANY_SEGMENTS = 6
    SRH_TLV_TOO_LONG = 7
    ROUTING_TYPE_UNSUPPORTED = 8
    """A routing header that is not an SRH (type 4) with segments left."""
    PROBE_MALFORMED = 9
    IPV4_BAD_CHECKSUM = 10
    IPV4_OPTIONS_UNSUPPORTED = 11
    HOP_LIMIT_EXCEEDED = 12
    """IPv6 hop limit (or IPv4 TTL) would reach 0 on forwarding."""
    NO_ROUTE = 13
    SRV6_SID_INVALID = 14
    """SID behaviour not applicable: End with segments_left 0, End.DT6 with segments_left > 0,
    or an End.DT6 without an inner IPv6 packet."""
    NO_SRV6_PATH = 15
    """No encapsulation entry for the chosen (version, site, path)."""
    CQF_OVERFLOW = 16
    """A deterministic packet that does not fit in its cycle's byte budget."""
    EGW_NO_NODE = 17
    """Egress gateway: no service node with a non-zero weight and an address."""
    NOT_IP = 18
    """Neither IPv4 nor IPv6 (nothing to route on)."""
    PACKET_OUT_INVALID = 19
    """A packet from the CPU port without a valid packet_out header, or an unknown mode."""


DROP_REASON_COUNTER_SIZE = 64
