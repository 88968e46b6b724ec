"""The request/reply protocol hosts speak over UDP or TCP, and how bulk data is accounted.

Every application segment starts with a 44-byte ``CpnApp`` header (big-endian)::

    magic (16) = 0xC1A0 | version (8) = 1 | type (8) | flags (8) | node_id (8) | units (16)
    request_id (32) | offset (64) | length (32) | total (32)
    reply_bytes (32) | compute_mflop (32) | service (16) | cell (16) | deadline_us (32)

Types: ``REQ`` (client: opens a request; ``total`` = request data bytes, ``reply_bytes``,
``compute_mflop`` = compute demand in MFLOP, ``service`` = service type, ``cell`` = NB201 cell
index or 0xFFFF, ``deadline_us``), ``ACCEPT`` (service node: request taken, ``node_id`` says
which node), ``DATA`` (``length`` bytes of the message at ``offset``, carried as real zero bytes
after the header), ``BULK`` (stands for ``length`` bytes in ``units`` packets, carries none),
``REFUSE`` (service not provided here, or the queue is full). ``flags`` bit 0 (``LAST``) marks
the unit that completes a message; ``total`` always holds the message's size.

**Bulk accounting.** A request of tens of megabytes is sent as its first few packets for real
(``DATA``, at most ``mss`` bytes each) and the rest as ``BULK`` frames of up to ``bulk_bytes``.
A BULK frame crosses the same switches (same 5-tuple, so the same flowlet path and service node)
but a link must charge it for the packets it stands for: :func:`accounted_size` is
``units * len(frame) + length`` for a BULK frame (each of the ``units`` packets would have had
these headers, the encapsulation included, plus ``length`` data bytes spread over them) and
``len(frame)`` for anything else. A paced sender hands a unit covering message bytes
``[a, b)`` to the network when byte ``b`` is produced (``t0 + 8 b / rate``), exactly when the
last packet it replaces would have left, so the last byte of a message is handed over at the same
instant in both modes. What differs is store and forward: a link of rate C serialises a whole
unit before the next hop sees it, so each hop adds at most ``8 (accounted - len(last packet)) / C``
(256 KiB at 100 Gbit/s: 21 µs a hop), and a queue holds the same bytes in both modes.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from scapy.fields import (
    ByteEnumField,
    ByteField,
    FlagsField,
    IntField,
    LongField,
    ShortField,
    XShortField,
)
from scapy.layers.inet import TCP, UDP
from scapy.packet import Packet

from p4target.switch.framesize import AggregateFrameRule

APP_MAGIC = 0xC1A0
APP_VERSION = 1
APP_HEADER_LEN = 44
SERVICE_PORT = 8080
"""UDP/TCP port service nodes listen on."""
NO_CELL = 0xFFFF
FLAG_LAST = 0x01
MFLOP_PER_TFLOP = 1_000_000

_HDR = struct.Struct("!HBBBBHIQIIIIHHI")
assert _HDR.size == APP_HEADER_LEN


class AppType(IntEnum):
    REQ = 1
    ACCEPT = 2
    DATA = 3
    BULK = 4
    REFUSE = 5


class CpnApp(Packet):
    """The application header of requests, replies and bulk units (see the module doc)."""

    name = "CPN app"
    fields_desc = [
        XShortField("magic", APP_MAGIC),
        ByteField("version", APP_VERSION),
        ByteEnumField("type", AppType.REQ, {t.value: t.name for t in AppType}),
        FlagsField("flags", 0, 8, ["last"]),
        ByteField("node_id", 0),
        ShortField("units", 0),
        IntField("request_id", 0),
        LongField("offset", 0),
        IntField("length", 0),
        IntField("total", 0),
        IntField("reply_bytes", 0),
        IntField("compute_mflop", 0),
        ShortField("service", 0),
        ShortField("cell", NO_CELL),
        IntField("deadline_us", 0),
    ]


class AppHeader:
    """A decoded ``CpnApp`` header (fast path: ``struct``, no Scapy)."""

    __slots__ = (
        "type",
        "flags",
        "units",
        "node_id",
        "request_id",
        "offset",
        "length",
        "total",
        "reply_bytes",
        "compute_mflop",
        "service",
        "cell",
        "deadline_us",
    )

    def __init__(self, payload: bytes) -> None:
        (
            magic,
            version,
            self.type,
            self.flags,
            self.node_id,
            self.units,
            self.request_id,
            self.offset,
            self.length,
            self.total,
            self.reply_bytes,
            self.compute_mflop,
            self.service,
            self.cell,
            self.deadline_us,
        ) = _HDR.unpack_from(payload)
        if magic != APP_MAGIC or version != APP_VERSION:
            raise ValueError(f"not a CpnApp v{APP_VERSION} header (magic {magic:#x})")

    @property
    def last(self) -> bool:
        return bool(self.flags & FLAG_LAST)


def app_bytes(
    type: int,
    *,
    flags: int = 0,
    node_id: int = 0,
    units: int = 0,
    request_id: int = 0,
    offset: int = 0,
    length: int = 0,
    total: int = 0,
    reply_bytes: int = 0,
    compute_mflop: int = 0,
    service: int = 0,
    cell: int = NO_CELL,
    deadline_us: int = 0,
) -> bytes:
    """The bytes of ``CpnApp(...)`` with the same fields (defaults as the layer's), by
    ``struct``: what hosts send on their fast path."""
    return _HDR.pack(
        APP_MAGIC,
        APP_VERSION,
        type,
        flags,
        node_id,
        units,
        request_id,
        offset,
        length,
        total,
        reply_bytes,
        compute_mflop,
        service,
        cell,
        deadline_us,
    )


def parse_app(payload: bytes) -> AppHeader | None:
    """The header at the start of an L4 payload, or ``None`` if there is none."""
    if len(payload) < APP_HEADER_LEN:
        return None
    try:
        return AppHeader(payload)
    except ValueError:
        return None


def app_of(pkt: Packet) -> CpnApp | None:
    """The ``CpnApp`` header of a decoded Scapy packet (UDP or TCP payload), or ``None``.

    The layer is deliberately not bound to port 8080 (binding is global in Scapy and would change
    how every other port-8080 packet decodes)."""
    for l4 in (UDP, TCP):
        if pkt.haslayer(l4):
            raw = bytes(pkt[l4].payload)
            return CpnApp(raw) if parse_app(raw) is not None else None
    return None


#: Bytes a link charges for a frame: what a BULK unit stands for (``units`` packets of the
#: unit's size plus the payload it carries), else its length. An
#: :class:`~p4target.switch.framesize.AggregateFrameRule`, so the native engine applies it in C.
accounted_size = AggregateFrameRule(
    magic=APP_MAGIC.to_bytes(2, "big"),
    type_offset=3,
    type_value=int(AppType.BULK),
    units_offset=6,
    length_offset=20,
    header_len=APP_HEADER_LEN,
)


def split_units(total: int, mss: int, real_packets: int, bulk_bytes: int) -> list[tuple[int, int]]:
    """``(offset, length)`` of the units of a ``total``-byte message: ``real_packets`` DATA
    packets of up to ``mss`` bytes, then BULK units of up to ``bulk_bytes`` (``bulk_bytes <= 0``:
    every packet real). Lengths of ``mss`` or less are DATA units, longer ones BULK units; a
    BULK unit is a whole number of ``mss`` packets (but the last), so a message is accounted
    the same packets in both modes."""
    if mss <= 0:
        raise ValueError(f"mss must be positive, got {mss}")
    units: list[tuple[int, int]] = []
    off = 0
    while off < total and (len(units) < real_packets or bulk_bytes <= 0):
        n = min(mss, total - off)
        units.append((off, n))
        off += n
    step = max(bulk_bytes // mss, 2) * mss  # whole packets, so packet counts match exactly
    while off < total:
        n = min(step, total - off)
        units.append((off, n))
        off += n
    return units


__all__ = [
    "APP_HEADER_LEN",
    "FLAG_LAST",
    "MFLOP_PER_TFLOP",
    "NO_CELL",
    "SERVICE_PORT",
    "AppHeader",
    "AppType",
    "CpnApp",
    "accounted_size",
    "app_bytes",
    "app_of",
    "parse_app",
    "split_units",
]
