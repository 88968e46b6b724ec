"""The pipeline's flow hashes, computed in Python.

The P4 program hashes the 5-tuple ``{src (128), dst (128), next header (8), source port (16),
destination port (16)}`` (37 bytes, big-endian, concatenated as BMv2 builds a field list) with
BMv2's ``crc32`` (the standard reflected CRC-32, as ``zlib.crc32``) and ``crc16`` (CRC-16/ARC:
polynomial 0x8005 reflected, initial value 0). ``hash(out, algo, base, data, max)`` yields
``base + H % max``. A controller uses these to find a flow's register cells (e.g. to age an
egress-gateway flow), and tests use them to predict the outer flow label and flowlet choices.
"""

from __future__ import annotations

import ipaddress
import zlib

FLOW_LABEL_BITS = 20
FLOWLET_SLOTS = 16384
EGW_FLOW_SLOTS = 16384
SPLIT_SCALE = 10000


def _addr(a: str | int | bytes) -> bytes:
    if isinstance(a, bytes):
        return a
    if isinstance(a, int):
        return a.to_bytes(16, "big")
    return ipaddress.IPv6Address(a).packed


def tuple_bytes(
    src: str | int | bytes, dst: str | int | bytes, proto: int, sport: int, dport: int
) -> bytes:
    """The 37-byte hash input of a flow."""
    return (
        _addr(src)
        + _addr(dst)
        + bytes([proto])
        + sport.to_bytes(2, "big")
        + dport.to_bytes(2, "big")
    )


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC16 = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC (BMv2 ``crc16``)."""
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ _CRC16[(crc ^ b) & 0xFF]
    return crc


def flow_hash(src, dst, proto: int, sport: int, dport: int) -> int:
    """``meta.flow_hash``: crc32 of the 5-tuple modulo 2**20; it is also the outer IPv6 flow
    label H.Encaps writes, and its low bits index the flowlet and egress-gateway registers."""
    return crc32(tuple_bytes(src, dst, proto, sport, dport)) % (1 << FLOW_LABEL_BITS)


def flow_signature(src, dst, proto: int, sport: int, dport: int) -> int:
    """``meta.flow_sig``: crc16 of the 5-tuple, stored to tell flows sharing a slot apart."""
    return crc16(tuple_bytes(src, dst, proto, sport, dport))


def flowlet_slot(src, dst, proto: int, sport: int, dport: int) -> int:
    """Index of the flow's cells in ``flowlet_last_seen`` / ``flowlet_path``."""
    return flow_hash(src, dst, proto, sport, dport) % FLOWLET_SLOTS


def flowlet_pin_slots(src, dst, proto: int, sport: int, dport: int) -> tuple[int, int]:
    """The flow's two candidate slots for its site pin in ``flowlet.site/site_sig/site_seen``:
    bits 0.. and bits 16.. of the 5-tuple's crc32, each modulo ``FLOWLET_SLOTS`` (the first is
    :func:`flowlet_slot`)."""
    h = crc32(tuple_bytes(src, dst, proto, sport, dport))
    return h % FLOWLET_SLOTS, (h >> 16) % FLOWLET_SLOTS


def egw_flow_slot(src, dst, proto: int, sport: int, dport: int) -> int:
    """Index of a request flow's cells in the egress gateway's ``egw_flow_*`` registers
    (hashed on the tuple as the gateway receives it, destination = the AISID)."""
    return flow_hash(src, dst, proto, sport, dport) % EGW_FLOW_SLOTS


def egw_flow_slots(src, dst, proto: int, sport: int, dport: int) -> tuple[int, int]:
    """The flow's two candidate slots in the egress gateway's flow table: bits 0.. and bits
    16.. of the 5-tuple's crc32, each modulo ``EGW_FLOW_SLOTS`` (the first is
    :func:`egw_flow_slot`)."""
    h = crc32(tuple_bytes(src, dst, proto, sport, dport))
    return h % EGW_FLOW_SLOTS, (h >> 16) % EGW_FLOW_SLOTS


def reply_slot(client, node, proto: int, client_port: int, server_port: int) -> int:
    """Index in ``egw_reply_aisid``: crc32 of ``{client, node, proto, client port, server
    port}`` modulo ``EGW_FLOW_SLOTS`` (the same cells from the request and the reply side).
    This is the first of :func:`reply_slots`."""
    return crc32(tuple_bytes(client, node, proto, client_port, server_port)) % EGW_FLOW_SLOTS


def reply_slots(client, node, proto: int, client_port: int, server_port: int) -> tuple[int, int]:
    """The two candidate cells of a flow in ``egw.reply_aisid/reply_sig/reply_last_seen``:
    bits 0.. and 16.. of the crc32 of :func:`reply_slot`'s tuple, modulo ``EGW_FLOW_SLOTS``."""
    h = crc32(tuple_bytes(client, node, proto, client_port, server_port))
    return h % EGW_FLOW_SLOTS, (h >> 16) % EGW_FLOW_SLOTS


def reply_signature(client, node, proto: int, client_port: int, server_port: int) -> int:
    """``egw.reply_sig``: crc16 of :func:`reply_slot`'s tuple."""
    return crc16(tuple_bytes(client, node, proto, client_port, server_port))


def split_point(src, dst, proto: int, sport: int, dport: int, timestamp_us: int) -> int:
    """The value in ``[0, SPLIT_SCALE)`` a new flowlet compares with the cumulative split
    thresholds: crc32 of the 5-tuple followed by the 48-bit ingress timestamp."""
    data = tuple_bytes(src, dst, proto, sport, dport) + (timestamp_us & (2**48 - 1)).to_bytes(
        6, "big"
    )
    return crc32(data) % SPLIT_SCALE
