"""Charged frame sizes: frames that stand for more traffic than they carry.

Emulated networks carry bulk data as fewer, larger *aggregate* frames (one frame standing for
many packets, see :mod:`traces.appproto`); links and queues must charge them for what they
stand for (``Switch.set_frame_size``).  :class:`AggregateFrameRule` describes such frames by
the layout of a header at the start of the L4 payload, so that both engines can apply it: the
Python engine calls it, the native one runs the same rule in C without a Python call per frame.

A frame is an aggregate when it is IPv6 (through extension headers and IPv6-in-IPv6, as SRv6
encapsulation adds), its UDP/TCP payload holds at least ``header_len`` bytes, starts with
``magic`` and has ``type_value`` at ``type_offset``; it is charged
``max(units, 1) * len(frame) + length`` bytes, ``units`` being the big-endian 16-bit field at
``units_offset`` and ``length`` the 32-bit one at ``length_offset``.  Any other frame is
charged its length.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadValueError

ETH_IPV6_END = 54  # Ethernet (14) + IPv6 (40)


def l4_payload_offset(frame: bytes) -> int | None:
    """Offset of the UDP/TCP payload in an Ethernet frame (through SRv6 / IPv6-in-IPv6)."""
    n = len(frame)
    if n < ETH_IPV6_END or frame[12:14] != b"\x86\xdd":
        return None
    off, nh = ETH_IPV6_END, frame[20]
    while True:
        if nh in (0, 43, 60):  # hop-by-hop, routing (SRH), destination options
            if n < off + 2:
                return None
            nh, off = frame[off], off + (frame[off + 1] + 1) * 8
        elif nh == 41:  # encapsulated IPv6
            if n < off + 40:
                return None
            nh, off = frame[off + 6], off + 40
        elif nh == 17:
            return off + 8
        elif nh == 6:
            if n < off + 13:
                return None
            return off + (frame[off + 12] >> 4) * 4
        else:
            return None


@dataclass(frozen=True)
class AggregateFrameRule:
    """Frames with an aggregate header are charged ``max(units, 1) * len + length`` bytes."""

    magic: bytes
    type_offset: int
    type_value: int
    units_offset: int
    length_offset: int
    header_len: int

    def __post_init__(self) -> None:
        if len(self.magic) != 2:
            raise BadValueError(f"aggregate frames: magic must be 2 bytes, got {self.magic!r}")
        if not 0 <= self.type_value <= 255:
            raise BadValueError(f"aggregate frames: type_value {self.type_value} is not a byte")
        for name, width in (("type_offset", 1), ("units_offset", 2), ("length_offset", 4)):
            off = getattr(self, name)
            if off < 2 or off + width > self.header_len:
                raise BadValueError(
                    f"aggregate frames: {name} {off} does not fit a {self.header_len}-byte header"
                )

    def __call__(self, frame: bytes) -> int:
        n = len(frame)
        if n < ETH_IPV6_END + 8 + self.header_len:
            return n
        nh = frame[20]
        if frame[12:14] != b"\x86\xdd":
            return n
        if nh == 17:  # the common cases first: no extension header
            off: int | None = ETH_IPV6_END + 8
        elif nh == 6:
            off = ETH_IPV6_END + (frame[ETH_IPV6_END + 12] >> 4) * 4
        else:
            off = l4_payload_offset(frame)
        if off is None or n < off + self.header_len:
            return n
        if frame[off : off + 2] != self.magic or frame[off + self.type_offset] != self.type_value:
            return n
        uo, lo = off + self.units_offset, off + self.length_offset
        units = (frame[uo] << 8) | frame[uo + 1]
        length = int.from_bytes(frame[lo : lo + 4], "big")
        return max(units, 1) * n + length
