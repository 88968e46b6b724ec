"""SRv6 with Scapy's ``IPv6ExtHdrSegmentRouting``: what a CPN switch is expected to emit.

Conventions (RFC 8754 / RFC 8986):

* A *path* is the list of SIDs in the order the packet visits them: ``[S1, S2, ..., Sn]``
  where ``Sn`` is the egress gateway's End.DT6 SID.
* The SRH *segment list* is stored in reverse: ``Segment List[0] = Sn`` (last segment) ...
  ``Segment List[n-1] = S1`` (first segment). ``last_entry = n - 1``; H.Encaps sets
  ``segments_left = n - 1`` and the outer destination to ``Segment List[segments_left] = S1``.
* ``Hdr Ext Len = 2 * n`` (8-octet units, not counting the first 8 octets) when there are no
  TLVs; the SRH's next header is 41 (IPv6) after H.Encaps; the outer next header is 43.
* End: ``segments_left -= 1``; destination = ``Segment List[segments_left]``; hop limit - 1.
* End.DT6 (``segments_left == 0``): remove the outer IPv6 header and its extension headers and
  forward the inner packet (whose hop limit is then decremented as any forwarded packet).
"""

from __future__ import annotations

from collections.abc import Sequence

from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from traces.constants import SRV6_OUTER_HOP_LIMIT

IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
SRH_ROUTING_TYPE = 4


class SRv6Error(ValueError):
    """An SRv6 operation that the packet does not allow (e.g. End with segments_left 0)."""


def segment_list(path: Sequence[str]) -> list[str]:
    """The SRH segment list (RFC 8754 order: last segment first) for a visiting-order path."""
    if not path:
        raise SRv6Error("an SRv6 path needs at least one segment")
    return list(reversed(list(path)))


def srh(
    path: Sequence[str],
    *,
    segments_left: int | None = None,
    tag: int = 0,
    nh: int = IPPROTO_IPV6,
) -> IPv6ExtHdrSegmentRouting:
    """An SRH for ``path`` with explicit lengths: ``last_entry = len(path) - 1``,
    ``segments_left`` (default ``last_entry``), ``hdr_ext_len = 2 * len(path)``."""
    segs = segment_list(path)
    last = len(segs) - 1
    return IPv6ExtHdrSegmentRouting(
        nh=nh,
        len=2 * len(segs),
        type=SRH_ROUTING_TYPE,
        segleft=last if segments_left is None else segments_left,
        lastentry=last,
        tag=tag,
        addresses=segs,
    )


def strip_ether(pkt: Packet) -> Packet:
    """The IPv6 packet inside ``pkt`` (a copy), dropping an Ethernet header if present."""
    inner = pkt[IPv6] if pkt.haslayer(IPv6) else pkt
    return inner.copy()


def h_encaps(
    inner: Packet,
    *,
    src: str,
    path: Sequence[str],
    tag: int = 0,
    hop_limit: int = SRV6_OUTER_HOP_LIMIT,
    traffic_class: int = 0,
    flow_label: int = 0,
    src_mac: str | None = None,
    dst_mac: str | None = None,
) -> Packet:
    """H.Encaps (RFC 8986 §5.1): push an outer IPv6 header (``src`` -> first segment) and an
    SRH with ``path``'s segment list in front of the inner IPv6 packet."""
    body = strip_ether(inner)
    outer = IPv6(
        src=src, dst=path[0], nh=IPPROTO_ROUTING, hlim=hop_limit, tc=traffic_class, fl=flow_label
    )
    pkt = outer / srh(path, tag=tag) / body
    if src_mac is not None or dst_mac is not None:
        pkt = Ether(src=src_mac, dst=dst_mac) / pkt
    return type(pkt)(bytes(pkt))


def _outer(pkt: Packet) -> tuple[IPv6, IPv6ExtHdrSegmentRouting]:
    ip = pkt[IPv6]
    if not ip.haslayer(IPv6ExtHdrSegmentRouting):
        raise SRv6Error("packet has no SRH")
    return ip, ip[IPv6ExtHdrSegmentRouting]


def end(pkt: Packet) -> Packet:
    """SRv6 End (RFC 8986 §4.1) applied to a copy of ``pkt``."""
    out = pkt.copy()
    ip, rh = _outer(out)
    if rh.segleft == 0:
        raise SRv6Error("End with segments_left 0")
    if rh.segleft > rh.lastentry + 1:
        raise SRv6Error("segments_left > last_entry + 1")
    if ip.hlim <= 1:
        raise SRv6Error("hop limit exhausted")
    rh.segleft -= 1
    ip.dst = rh.addresses[rh.segleft]
    ip.hlim -= 1
    return type(out)(bytes(out))


def end_dt6(pkt: Packet) -> Packet:
    """SRv6 End.DT6 (RFC 8986 §4.6) decapsulation: the inner IPv6 packet (before forwarding)."""
    ip = pkt[IPv6]
    payload = ip.payload
    if isinstance(payload, IPv6ExtHdrSegmentRouting):
        if payload.segleft != 0:
            raise SRv6Error("End.DT6 with segments_left > 0")
        payload = payload.payload
    if not isinstance(payload, IPv6):
        raise SRv6Error("no inner IPv6 packet")
    return IPv6(bytes(payload))


def forwarded(pkt: Packet, *, src_mac: str, dst_mac: str, hop_limit_decrement: int = 1) -> Packet:
    """``pkt`` as an IPv6 router forwards it: new MACs, outer hop limit decremented.

    ``pkt`` may be a bare IPv6 packet (an Ethernet header is added)."""
    body = pkt[IPv6].copy() if pkt.haslayer(IPv6) else pkt.copy()
    body.hlim -= hop_limit_decrement
    if body.hlim < 0:
        raise SRv6Error("hop limit exhausted")
    out = Ether(src=src_mac, dst=dst_mac) / body
    return Ether(bytes(out))
