"""Hash algorithms of BMv2 (``calculations.cpp``), computed over a byte string.

Names are those a BMv2 JSON uses in ``calculations[].algo`` and action-selector ``algo``:
``crc16``, ``crc32``, ``crcCCITT``, ``csum16``/``cksum16``, ``identity``, ``xor16``/``xor32``,
``crc8_custom``/``crc16_custom``/``crc32_custom``/``crc64_custom``, ``xxh64``, ``toeplitz``,
``round_robin``, ``round_robin_consistent``.  Every function maps ``bytes`` to a non-negative int.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UnsupportedError

HashFn = Callable[[bytes], int]


def _reflect(value: int, nbits: int) -> int:
    out = 0
    for _ in range(nbits):
        out = (out << 1) | (value & 1)
        value >>= 1
    return out


@dataclass
class CrcConfig:
    """A CRC of ``width`` bits (BMv2's ``crc_config_t``)."""

    width: int
    polynomial: int
    initial_remainder: int
    final_xor_value: int
    data_reflected: bool
    remainder_reflected: bool


class Crc:
    """Table-driven CRC with BMv2's parameterisation (MSB-first table, optional reflection)."""

    def __init__(self, config: CrcConfig):
        self.configure(config)

    def configure(self, config: CrcConfig) -> None:
        w = config.width
        mask = (1 << w) - 1
        top = 1 << (w - 1)
        table = []
        for dividend in range(256):
            rem = (dividend << (w - 8)) & mask
            for _ in range(8):
                rem = ((rem << 1) ^ config.polynomial) & mask if rem & top else (rem << 1) & mask
            table.append(rem)
        self.config = config
        self._table = table
        self._mask = mask
        self._refl8 = [_reflect(b, 8) for b in range(256)]
        # reflected in and out: the LSB-first table gives the same result without reflecting
        self._rtable = None
        if config.data_reflected and config.remainder_reflected:
            rpoly = _reflect(config.polynomial, w)
            rt = []
            for b in range(256):
                rem = b
                for _ in range(8):
                    rem = (rem >> 1) ^ rpoly if rem & 1 else rem >> 1
                rt.append(rem)
            self._rtable = rt
            self._rinit = _reflect(config.initial_remainder & mask, w)

    def __call__(self, data: bytes) -> int:
        rt = self._rtable
        if rt is not None:
            rem = self._rinit
            for b in data:
                rem = rt[(rem ^ b) & 0xFF] ^ (rem >> 8)
            return (rem ^ self.config.final_xor_value) & self._mask
        c = self.config
        w = c.width
        mask = self._mask
        table = self._table
        rem = c.initial_remainder & mask
        shift = w - 8
        if c.data_reflected:
            refl = self._refl8
            for b in data:
                rem = table[(refl[b] ^ (rem >> shift)) & 0xFF] ^ ((rem << 8) & mask)
        else:
            for b in data:
                rem = table[(b ^ (rem >> shift)) & 0xFF] ^ ((rem << 8) & mask)
        if c.remainder_reflected:
            rem = _reflect(rem, w)
        return (rem ^ c.final_xor_value) & mask


CRC16 = CrcConfig(16, 0x8005, 0x0000, 0x0000, True, True)  # BMv2 "crc16" (CRC-16/ARC)
CRC8_CUSTOM = CrcConfig(8, 0x07, 0x00, 0x00, False, False)
CRC16_CUSTOM = CrcConfig(16, 0x8005, 0x0000, 0x0000, True, True)
CRC32_CUSTOM = CrcConfig(32, 0x04C11DB7, 0xFFFFFFFF, 0xFFFFFFFF, True, True)
CRC64_CUSTOM = CrcConfig(64, 0x1B, 0, 0, True, True)

_crc16 = Crc(CRC16)


def crc16(data: bytes) -> int:
    return _crc16(data)


def crc32(data: bytes) -> int:
    """BMv2 "crc32": reflected CRC-32, init and final xor 0xFFFFFFFF (zlib's CRC-32)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def crc_ccitt(data: bytes) -> int:
    """BMv2 "crcCCITT": polynomial 0x1021, init 0xFFFF, not reflected."""
    return binascii.crc_hqx(data, 0xFFFF)


def csum16(data: bytes) -> int:
    """Internet checksum (RFC 1071) of ``data``, zero-padded to an even length."""
    n = len(data)
    x = int.from_bytes(data, "big")
    if n & 1:
        x <<= 8
    return csum16_of_int(x)


def csum16_of_int(x: int) -> int:
    """Internet checksum of the 16-bit big-endian words of the non-negative integer ``x``.

    Ones'-complement addition of 16-bit words is addition modulo 0xFFFF (2**16 == 1), with 0xFFFF
    standing for a non-zero multiple; the result is its complement.
    """
    r = x % 0xFFFF
    if r == 0 and x:
        r = 0xFFFF
    return (~r) & 0xFFFF


def identity(data: bytes) -> int:
    return int.from_bytes(data[:8], "big")


def _xor_words(nbytes: int) -> HashFn:
    def h(data: bytes) -> int:
        out = 0
        n = len(data)
        i = 0
        while i + nbytes <= n:
            out ^= int.from_bytes(data[i : i + nbytes], "big")
            i += nbytes
        if i < n:
            tail = data[i:]
            out ^= int.from_bytes(tail, "big") << (8 * (nbytes - len(tail)))
        return out

    return h


xor16 = _xor_words(2)
xor32 = _xor_words(4)

_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5
_M64 = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _M64
    return (_rotl(acc, 31) * _P1) & _M64


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 (the algorithm of the xxHash library), seed 0 as BMv2 uses it."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M64
        v2 = (seed + _P2) & _M64
        v3 = seed & _M64
        v4 = (seed - _P1) & _M64
        while i + 32 <= n:
            v1 = _round(v1, int.from_bytes(data[i : i + 8], "little"))
            v2 = _round(v2, int.from_bytes(data[i + 8 : i + 16], "little"))
            v3 = _round(v3, int.from_bytes(data[i + 16 : i + 24], "little"))
            v4 = _round(v4, int.from_bytes(data[i + 24 : i + 32], "little"))
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M64
        for v in (v1, v2, v3, v4):
            h ^= _round(0, v)
            h = (h * _P1 + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i : i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i : i + 4], "little") * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h


class Toeplitz:
    """BMv2 "toeplitz" hash with a configurable key (default four zero bytes)."""

    def __init__(self, key: bytes = b"\x00" * 4):
        self.set_key(key)

    def set_key(self, key: bytes) -> None:
        if len(key) < 4 or len(key) % 4:
            raise ValueError("toeplitz key must be a non-empty multiple of 4 bytes")
        self.words = [int.from_bytes(key[i : i + 4], "big") for i in range(0, len(key), 4)]

    def __call__(self, data: bytes) -> int:
        n = len(data)
        words = [int.from_bytes(data[i : i + 4], "big") for i in range(0, n - n % 4, 4)]
        if n % 4:
            tail = data[n - n % 4 :]
            words.append(int.from_bytes(tail, "big") << (8 * (4 - len(tail))))
        out = 0
        kl = len(self.words)
        for i, w in enumerate(words):
            left = self.words[i % kl]
            right = self.words[(i + 1) % kl]
            for bit in range(32):
                if w & (1 << (31 - bit)):
                    out ^= ((left << bit) | (right >> (32 - bit) if bit else 0)) & 0xFFFFFFFF
        return out


class RoundRobin:
    """BMv2 "round_robin": returns 0, 1, 2, ... on successive calls."""

    def __init__(self) -> None:
        self.idx = 0

    def __call__(self, data: bytes) -> int:
        v = self.idx
        self.idx += 1
        return v


class RoundRobinConsistent:
    """BMv2 "round_robin_consistent": a new index per distinct input, stable afterwards."""

    def __init__(self) -> None:
        self.seen: dict[bytes, int] = {}

    def __call__(self, data: bytes) -> int:
        return self.seen.setdefault(bytes(data), len(self.seen))


_STATELESS: dict[str, HashFn] = {
    "crc16": crc16,
    "crc32": crc32,
    "crcCCITT": crc_ccitt,
    "csum16": csum16,
    "cksum16": csum16,
    "identity": identity,
    "xor16": xor16,
    "xor32": xor32,
    "xxh64": xxh64,
}

_CUSTOM = {
    "crc8_custom": CRC8_CUSTOM,
    "crc16_custom": CRC16_CUSTOM,
    "crc32_custom": CRC32_CUSTOM,
    "crc64_custom": CRC64_CUSTOM,
}

ALGORITHMS = (
    tuple(_STATELESS)
    + tuple(_CUSTOM)
    + (
        "toeplitz",
        "round_robin",
        "round_robin_consistent",
    )
)


def make_hash(algo: str) -> HashFn:
    """A hash function for ``algo``; stateful algorithms get a fresh instance."""
    if algo in _STATELESS:
        return _STATELESS[algo]
    if algo in _CUSTOM:
        return Crc(_CUSTOM[algo])
    if algo == "toeplitz":
        return Toeplitz()
    if algo == "round_robin":
        return RoundRobin()
    if algo == "round_robin_consistent":
        return RoundRobinConsistent()
    raise UnsupportedError(f"hash algorithm {algo!r} is not supported (known: {ALGORITHMS})")
