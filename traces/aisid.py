"""The AI-service identifier (AISID) carried in an IPv6 destination address.

An AISID is a 128-bit IPv6 address: a 64-bit routing prefix (which the CPN announces and the
ingress gateways recognise) followed by a 64-bit suffix of four 16-bit fields::

    | prefix (64) | Object (16) | Function (16) | Method (16) | Performance (16) |

``2001:db8:abcd:12:1:2:1:1388`` is prefix ``2001:db8:abcd:12::/64``, object 1, function 2,
method 1, performance 0x1388 (5000).

Performance unit
----------------
The Performance field is the request's **end-to-end latency budget in units of 100 µs**
(0.1 ms): ``0x1388`` = 5000 units = 500 ms. The range is 1 (100 µs) to 65535 (6.5535 s).
The value 0 means "no latency requirement" (best effort). A smaller non-zero value is a tighter
requirement, so the ingress gateway's classification table matches Performance by *range*
(e.g. 1..20 = at most 2 ms -> deterministic class). The conversion helpers round a budget
*down* to the unit (a 250 µs budget is encoded as 2 = 200 µs), never promising more time than
the client asked for.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

FIELD_BITS = 16
FIELD_MAX = (1 << FIELD_BITS) - 1
PREFIX_BITS = 64
PREFIX_MAX = (1 << PREFIX_BITS) - 1
PERFORMANCE_UNIT_US = 100
"""One Performance unit, in microseconds."""
PERFORMANCE_NONE = 0
"""Performance value meaning "no latency requirement"."""

_FIELDS = ("object", "function", "method", "performance")


class AISIDError(ValueError):
    """An AISID field or address is out of range or malformed."""


def _check_field(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AISIDError(f"AISID {name} must be an int, got {type(value).__name__} {value!r}")
    if not 0 <= value <= FIELD_MAX:
        raise AISIDError(f"AISID {name} must be in 0..{FIELD_MAX} (16 bits), got {value}")
    return value


def _parse_prefix(prefix: int | str | ipaddress.IPv6Network) -> int:
    """A 64-bit prefix from an int, ``"2001:db8:abcd:12::/64"``, ``"2001:db8:abcd:12::"``
    or ``"2001:db8:abcd:12"``."""
    if isinstance(prefix, bool):
        raise AISIDError(f"AISID prefix must be an int or an IPv6 prefix, got {prefix!r}")
    if isinstance(prefix, int):
        if not 0 <= prefix <= PREFIX_MAX:
            raise AISIDError(f"AISID prefix must be in 0..2**64-1 (64 bits), got {prefix:#x}")
        return prefix
    if isinstance(prefix, ipaddress.IPv6Network):
        net = prefix
    elif isinstance(prefix, str):
        text = prefix.strip()
        if "/" not in text and "::" not in text and text.count(":") == 3:
            text += "::"  # "2001:db8:abcd:12" -> the first four groups
        try:
            net = ipaddress.IPv6Network(text if "/" in text else f"{text}/64", strict=True)
        except ValueError as exc:
            raise AISIDError(f"AISID prefix {prefix!r} is not an IPv6 /64 prefix: {exc}") from None
    else:
        raise AISIDError(f"AISID prefix must be an int or an IPv6 prefix, got {prefix!r}")
    if net.prefixlen != PREFIX_BITS:
        raise AISIDError(f"AISID prefix must be a /64, got /{net.prefixlen} ({prefix})")
    return int(net.network_address) >> 64


def performance_from_latency_us(budget_us: float) -> int:
    """The Performance value for a latency budget in µs (rounded down to 100 µs units)."""
    if budget_us < PERFORMANCE_UNIT_US:
        raise AISIDError(
            f"latency budget {budget_us} µs is below one Performance unit ({PERFORMANCE_UNIT_US} µs)"
        )
    units = int(budget_us // PERFORMANCE_UNIT_US)
    if units > FIELD_MAX:
        raise AISIDError(
            f"latency budget {budget_us} µs exceeds the largest encodable "
            f"{FIELD_MAX * PERFORMANCE_UNIT_US} µs"
        )
    return units


@dataclass(frozen=True, order=True)
class AISID:
    """An AI-service identifier: a 64-bit prefix plus Object/Function/Method/Performance."""

    prefix: int
    object: int
    function: int
    method: int
    performance: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", _parse_prefix(self.prefix))
        for name in _FIELDS:
            _check_field(name, getattr(self, name))

    # construction ---------------------------------------------------------------------------
    @classmethod
    def from_fields(
        cls,
        prefix: int | str | ipaddress.IPv6Network,
        object: int,
        function: int,
        method: int,
        performance: int = PERFORMANCE_NONE,
    ) -> AISID:
        """Build from a prefix (int or IPv6 /64 text) and the four 16-bit fields."""
        return cls(prefix, object, function, method, performance)  # type: ignore[arg-type]

    @classmethod
    def with_latency(
        cls,
        prefix: int | str | ipaddress.IPv6Network,
        object: int,
        function: int,
        method: int,
        latency_us: float,
    ) -> AISID:
        """Build with the Performance field encoding a latency budget given in µs."""
        return cls.from_fields(
            prefix, object, function, method, performance_from_latency_us(latency_us)
        )

    @classmethod
    def from_address(cls, address: str | bytes | int | ipaddress.IPv6Address) -> AISID:
        """Parse an IPv6 address (text, 16 packed bytes, 128-bit int or IPv6Address)."""
        try:
            if isinstance(address, ipaddress.IPv6Address):
                value = int(address)
            elif isinstance(address, bytes | bytearray):
                if len(address) != 16:
                    raise AISIDError(f"a packed AISID is 16 bytes, got {len(address)}")
                value = int.from_bytes(address, "big")
            elif isinstance(address, int) and not isinstance(address, bool):
                if not 0 <= address < 1 << 128:
                    raise AISIDError(f"an AISID is a 128-bit value, got {address:#x}")
                value = address
            elif isinstance(address, str):
                value = int(ipaddress.IPv6Address(address.strip()))
            else:
                raise AISIDError(f"cannot parse an AISID from {type(address).__name__}")
        except ipaddress.AddressValueError as exc:
            raise AISIDError(f"{address!r} is not an IPv6 address: {exc}") from None
        return cls(
            value >> 64,
            (value >> 48) & FIELD_MAX,
            (value >> 32) & FIELD_MAX,
            (value >> 16) & FIELD_MAX,
            value & FIELD_MAX,
        )

    # views ----------------------------------------------------------------------------------
    def __int__(self) -> int:
        return (
            (self.prefix << 64)
            | (self.object << 48)
            | (self.function << 32)
            | (self.method << 16)
            | self.performance
        )

    @property
    def address(self) -> str:
        """The compressed IPv6 text form, e.g. ``2001:db8:abcd:12:1:2:1:1388``."""
        return str(ipaddress.IPv6Address(int(self)))

    @property
    def packed(self) -> bytes:
        """The 16 bytes as carried in the IPv6 destination address."""
        return int(self).to_bytes(16, "big")

    @property
    def prefix_network(self) -> ipaddress.IPv6Network:
        """The 64-bit prefix as an ``IPv6Network`` (``/64``)."""
        return ipaddress.IPv6Network((self.prefix << 64, 64))

    @property
    def suffix(self) -> int:
        """The 64-bit suffix (the four fields)."""
        return int(self) & ((1 << 64) - 1)

    @property
    def latency_budget_us(self) -> int | None:
        """The latency budget in µs, or ``None`` when Performance is 0 (no requirement)."""
        if self.performance == PERFORMANCE_NONE:
            return None
        return self.performance * PERFORMANCE_UNIT_US

    def replace(self, **fields: int) -> AISID:
        """A copy with some fields changed (validated)."""
        values = {name: getattr(self, name) for name in ("prefix", *_FIELDS)}
        unknown = set(fields) - set(values)
        if unknown:
            raise AISIDError(f"unknown AISID field(s): {', '.join(sorted(unknown))}")
        values.update(fields)
        return AISID(**values)

    def __str__(self) -> str:
        return self.address
