"""Match-key values of table entries, and the action call an entry executes.

Priority convention (used by every table API of this switch): for ternary, range and optional
tables **a larger priority value wins**, as in P4Runtime and in p4c's STF files.  (BMv2's own
runtime and the ``priority`` of const entries in BMv2 JSON use the opposite order: smaller wins.
The switch converts JSON const-entry priorities on load; a P4Runtime server passes P4Runtime
priorities through unchanged.)  Among entries of equal priority the one added first wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def as_int(value: int | bytes | bytearray, what: str = "value") -> int:
    """Ints pass through; bytes are read big-endian (P4Runtime's canonical byte strings)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "big")
    raise TypeError(f"{what} must be an int or bytes, got {type(value).__name__}")


@dataclass(frozen=True)
class Exact:
    value: int

    def __post_init__(self) -> None:
        if type(self.value) is not int:  # ints are kept as they are (what as_int returns)
            object.__setattr__(self, "value", as_int(self.value))


@dataclass(frozen=True)
class LPM:
    value: int
    prefix_len: int

    def __post_init__(self) -> None:
        if type(self.value) is not int:
            object.__setattr__(self, "value", as_int(self.value))


@dataclass(frozen=True)
class Ternary:
    value: int
    mask: int

    def __post_init__(self) -> None:
        if type(self.value) is not int:
            object.__setattr__(self, "value", as_int(self.value))
        if type(self.mask) is not int:
            object.__setattr__(self, "mask", as_int(self.mask, "mask"))


@dataclass(frozen=True)
class Range:
    lo: int
    hi: int

    def __post_init__(self) -> None:
        if type(self.lo) is not int:
            object.__setattr__(self, "lo", as_int(self.lo, "lo"))
        if type(self.hi) is not int:
            object.__setattr__(self, "hi", as_int(self.hi, "hi"))


@dataclass(frozen=True)
class Optional:
    """Optional match: ``Optional(v)`` matches exactly ``v``; ``Optional(None)`` matches all."""

    value: int | None = None

    def __post_init__(self) -> None:
        if self.value is not None:
            object.__setattr__(self, "value", as_int(self.value))


MatchValue = Exact | LPM | Ternary | Range | Optional


@dataclass
class KeySpec:
    """One field of a table key."""

    name: str  # the key's name in the JSON ("hdr.ipv4.dstAddr")
    target: str  # "ipv4.dstAddr" or "ipv4.$valid$"
    match_type: str  # exact, lpm, ternary, range, optional, valid
    width: int
    mask: int | None = None  # static mask from the JSON


class ActionCall:
    """An action bound to its data: what a table entry, default entry or member executes."""

    __slots__ = ("fn", "args", "aid", "name", "next")

    def __init__(self, fn: Any, args: tuple[int, ...], aid: int, name: str, next_node: Any = None):
        self.fn = fn
        self.args = args
        self.aid = aid
        self.name = name
        self.next = next_node

    def __repr__(self) -> str:
        return f"ActionCall({self.name}, {list(self.args)})"


class Entry:
    """A table entry; ``handle`` identifies it for modify/delete/read."""

    __slots__ = (
        "handle",
        "key",
        "match",
        "priority",
        "action",
        "member",
        "group",
        "packets",
        "bytes",
        "meter",
        "ttl_us",
        "last_hit",
        "idle_notified",
        "const",
    )

    def __init__(self, handle: int, key: tuple[MatchValue, ...], match: tuple, priority: int):
        self.handle = handle
        self.key = key
        self.match = match
        self.priority = priority
        self.action: ActionCall | None = None
        self.member: int | None = None
        self.group: int | None = None
        self.packets = 0
        self.bytes = 0
        self.meter: Any = None
        self.ttl_us: float | None = None
        self.last_hit = 0.0
        self.idle_notified = False
        self.const = False

    def info(self) -> dict[str, Any]:
        """A plain description (what ``Switch.table_entries`` returns)."""
        d: dict[str, Any] = {
            "handle": self.handle,
            "key": list(self.key),
            "priority": self.priority,
            "packets": self.packets,
            "bytes": self.bytes,
        }
        if self.action is not None:
            d["action"] = self.action.name
            d["params"] = list(self.action.args)
        if self.member is not None:
            d["member"] = self.member
        if self.group is not None:
            d["group"] = self.group
        if self.ttl_us is not None:
            d["ttl_us"] = self.ttl_us
        if self.const:
            d["const"] = True
        return d
