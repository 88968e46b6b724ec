"""Byte templates for a flow's frames: Scapy builds a flow's first frame, later ones patch it.

A host's frames on one flow (``Ether/IPv6/UDP`` or ``Ether/IPv6/TCP`` without options, same MACs,
addresses and ports) differ only in the IPv6 payload length, the L4 length/sequence/flags fields,
the payload and the L4 checksum. :class:`FlowTemplate` keeps the constant bytes of a frame Scapy
built (:meth:`FlowTemplate.from_frame`) and the one's-complement sum of its pseudo-header
addresses, and writes later frames with ``struct`` and one big-integer checksum: the same bytes
Scapy would build (``tests/traces/test_fastframe.py`` compares them), about 50 times cheaper.

The checksum: the 16-bit one's-complement sum of the words of ``data`` is congruent to
``int.from_bytes(data) mod 0xFFFF`` (``2**16 = 1 mod 0xFFFF``), and the pseudo-header's next
header field makes every sum non-zero, so the folded sum is that residue, or ``0xFFFF`` for 0.
"""

from __future__ import annotations

import struct

ETH_IPV6_LEN = 54
"""Ethernet (14) + IPv6 (40) header bytes."""
UDP, TCP = 17, 6
TCP_WINDOW = 65535
"""The window every host segment advertises (as :func:`traces.packets.aisid_tcp_request`)."""

_UDP_HDR = struct.Struct("!HHHH")
_TCP_HDR = struct.Struct("!HHIIBBHHH")
_PLEN = struct.Struct("!H")


def ones_sum(data: bytes) -> int:
    """``sum of the big-endian 16-bit words of data`` mod ``0xFFFF`` (odd length: zero-padded)."""
    v = int.from_bytes(data, "big")
    return (v << 8 if len(data) & 1 else v) % 0xFFFF


def l4_checksum(pseudo_sum: int, segment: bytes) -> int:
    """The L4 checksum of ``segment`` (its checksum field zero) for an IPv6 pseudo-header whose
    addresses and next header sum to ``pseudo_sum``: ``~fold(sum)``, not yet mapped 0 -> 0xFFFF."""
    s = (pseudo_sum + len(segment) + ones_sum(segment)) % 0xFFFF
    return 0xFFFF - (s or 0xFFFF)


class FlowTemplate:
    """The constant bytes of one flow's frames (``Ether/IPv6/UDP|TCP``, no extension headers)."""

    __slots__ = ("proto", "sport", "dport", "_eth_ip", "_ip_rest", "_pseudo")

    def __init__(self, eth_ip: bytes, proto: int, sport: int, dport: int) -> None:
        if len(eth_ip) != ETH_IPV6_LEN or eth_ip[12:14] != b"\x86\xdd" or eth_ip[20] != proto:
            raise ValueError("a flow template needs Ether/IPv6 headers with next header = proto")
        if proto not in (UDP, TCP):
            raise ValueError(f"flow templates are UDP (17) or TCP (6), not {proto}")
        self.proto, self.sport, self.dport = proto, sport, dport
        self._eth_ip = eth_ip[:18]  # Ethernet + IPv6 up to the payload length field
        self._ip_rest = eth_ip[20:]  # next header, hop limit, source, destination
        self._pseudo = (ones_sum(eth_ip[22:54]) + proto) % 0xFFFF

    @classmethod
    def from_frame(cls, frame: bytes) -> FlowTemplate:
        """Cut the template from a frame of the flow (e.g. the Scapy-built first one)."""
        if len(frame) < ETH_IPV6_LEN + 8 or frame[12:14] != b"\x86\xdd":
            raise ValueError("not an Ether/IPv6 frame")
        proto = frame[20]
        if proto == TCP and (len(frame) < ETH_IPV6_LEN + 20 or frame[ETH_IPV6_LEN + 12] != 0x50):
            raise ValueError("a TCP flow template needs a 20-byte TCP header (no options)")
        sport, dport = struct.unpack_from("!HH", frame, ETH_IPV6_LEN)
        return cls(frame[:ETH_IPV6_LEN], proto, sport, dport)

    def udp(self, payload: bytes) -> bytes:
        """``Ether/IPv6/UDP/payload`` with length and checksum as Scapy computes them."""
        n = 8 + len(payload)
        hdr = _UDP_HDR.pack(self.sport, self.dport, n, 0)
        ck = l4_checksum(self._pseudo, hdr + payload) or 0xFFFF  # RFC 2460: 0 is sent as 0xFFFF
        return b"".join(
            (
                self._eth_ip,
                _PLEN.pack(n),
                self._ip_rest,
                _UDP_HDR.pack(self.sport, self.dport, n, ck),
                payload,
            )
        )

    def tcp(self, flags: int, seq: int, ack: int, payload: bytes = b"") -> bytes:
        """``Ether/IPv6/TCP/payload`` (data offset 5, window ``TCP_WINDOW``) with its checksum."""
        seg = _TCP_HDR.pack(self.sport, self.dport, seq, ack, 0x50, flags, TCP_WINDOW, 0, 0)
        ck = l4_checksum(self._pseudo, seg + payload)
        return b"".join(
            (
                self._eth_ip,
                _PLEN.pack(20 + len(payload)),
                self._ip_rest,
                _TCP_HDR.pack(self.sport, self.dport, seq, ack, 0x50, flags, TCP_WINDOW, ck, 0),
                payload,
            )
        )


__all__ = ["FlowTemplate", "l4_checksum", "ones_sum"]
