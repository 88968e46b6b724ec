"""The Python copies of the pipeline's hashes use BMv2's algorithms."""

import zlib

from traces import flowhash


def test_crc_check_values():
    # Standard check values for "123456789": CRC-32 and CRC-16/ARC.
    assert flowhash.crc32(b"123456789") == 0xCBF43926
    assert flowhash.crc16(b"123456789") == 0xBB3D


def test_tuple_layout_and_derived_values():
    data = flowhash.tuple_bytes("fd00:1::10", "2001:db8::1", 17, 40000, 8080)
    assert len(data) == 37
    assert data[32] == 17 and data[33:35] == (40000).to_bytes(2, "big")
    h = flowhash.flow_hash("fd00:1::10", "2001:db8::1", 17, 40000, 8080)
    assert h == zlib.crc32(data) & 0xFFFFF
    assert flowhash.flowlet_slot("fd00:1::10", "2001:db8::1", 17, 40000, 8080) == h % 16384
    p = flowhash.split_point("fd00:1::10", "2001:db8::1", 17, 40000, 8080, 123456)
    assert 0 <= p < flowhash.SPLIT_SCALE
    assert p == zlib.crc32(data + (123456).to_bytes(6, "big")) % 10000
