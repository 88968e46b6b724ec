"""P4Runtime byte strings (spec section "Bytestrings").

A received value may carry any number of leading zero bytes (sign bytes for ``int<W>``): the
server checks the *value* fits the P4Info bitwidth, never the string length.  An empty string
or a value that does not fit is refused with ``OUT_OF_RANGE``.  Everything the server sends
back is canonical: the shortest string holding the value (one byte for zero).
"""

from __future__ import annotations

from .errors import Code, P4RTError


def decode_uint(data: bytes, width: int, what: str) -> int:
    """Value of an unsigned byte string that must fit in ``width`` bits."""
    if not data:
        raise P4RTError(Code.OUT_OF_RANGE, f"{what}: empty byte string")
    v = int.from_bytes(data, "big")
    if width and v >> width:
        raise P4RTError(Code.OUT_OF_RANGE, f"{what}: value {v:#x} does not fit in {width} bits")
    return v


def decode_sint(data: bytes, width: int, what: str) -> int:
    """Value of a two's complement byte string that must fit in ``int<width>``."""
    if not data:
        raise P4RTError(Code.OUT_OF_RANGE, f"{what}: empty byte string")
    v = int.from_bytes(data, "big", signed=True)
    if width and not -(1 << (width - 1)) <= v < (1 << (width - 1)):
        raise P4RTError(Code.OUT_OF_RANGE, f"{what}: value {v} does not fit in int<{width}>")
    return v


def encode_uint(v: int) -> bytes:
    """Canonical byte string of a non-negative value."""
    return v.to_bytes((v.bit_length() + 7) // 8 or 1, "big")


def encode_sint(v: int) -> bytes:
    """Canonical two's complement byte string of a signed value."""
    n = (v.bit_length() + 8) // 8  # room for the sign bit
    return v.to_bytes(n, "big", signed=True)


def canonical(data: bytes) -> bytes:
    """Canonical form of an unsigned byte string (leading zero bytes removed)."""
    stripped = data.lstrip(b"\x00")
    return stripped or b"\x00"
