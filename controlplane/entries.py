"""The controller's intent: table entries and register values as plain, hashable values.

Every module that decides what a switch should hold (routing, registry, schedulers, egress
load, policy swap) produces :class:`TableEntry` and :class:`RegisterValue` objects named by
their P4Info names; :mod:`controlplane.p4info` turns them into P4Runtime messages and back, and
:mod:`controlplane.connection` diffs what a switch holds against what the intent says.

Values are integers (addresses and MACs as ints): :func:`ip6`, :func:`mac` convert text.
A table entry's identity (what P4Runtime uses to find it) is ``(table, match, priority)``:
:meth:`TableEntry.key`. Two entries with the same key and other actions differ in content, so
a reconcile MODIFYs rather than re-INSERTs them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


# ------------------------------------------------------------------------------- field matches
@dataclass(frozen=True, order=True)
class Exact:
    value: int


@dataclass(frozen=True, order=True)
class Lpm:
    value: int
    prefix_len: int


@dataclass(frozen=True, order=True)
class Ternary:
    value: int
    mask: int


@dataclass(frozen=True, order=True)
class Range:
    low: int
    high: int


FieldMatch = Exact | Lpm | Ternary | Range


def _canonical(m: FieldMatch, bitwidth: int | None = None) -> FieldMatch:
    """Mask LPM/ternary values the way P4Runtime reads them back (bits outside the mask 0)."""
    if isinstance(m, Lpm) and bitwidth is not None:
        mask = ((1 << m.prefix_len) - 1) << (bitwidth - m.prefix_len) if m.prefix_len else 0
        return Lpm(m.value & mask, m.prefix_len)
    if isinstance(m, Ternary):
        return Ternary(m.value & m.mask, m.mask)
    return m


# ---------------------------------------------------------------------------------- entities
@dataclass(frozen=True)
class TableEntry:
    """One entry: ``match`` and ``params`` are (name, value) pairs, sorted by name.

    Build with :func:`entry` (which sorts and canonicalises); wildcard matches (ternary mask 0,
    LPM length 0, a range covering the whole field) may be left out, as P4Runtime says.
    """

    table: str
    match: tuple[tuple[str, FieldMatch], ...]
    action: str
    params: tuple[tuple[str, int], ...] = ()
    priority: int = 0

    def key(self) -> tuple:
        """P4Runtime identity of the entry: table, match and priority."""
        return (self.table, self.match, self.priority)

    @property
    def match_dict(self) -> dict[str, FieldMatch]:
        return dict(self.match)

    @property
    def params_dict(self) -> dict[str, int]:
        return dict(self.params)

    def version(self) -> int | None:
        """The ``policy_version`` key of a scheduler-filled table's entry (None elsewhere)."""
        m = self.match_dict.get("policy_version")
        return m.value if isinstance(m, Exact) else None


def entry(
    table: str,
    match: Mapping[str, FieldMatch | int],
    action: str,
    params: Mapping[str, int] | None = None,
    priority: int = 0,
) -> TableEntry:
    """A :class:`TableEntry` from dicts; a plain int in ``match`` means :class:`Exact`."""
    ms = tuple(
        sorted(
            ((k, _canonical(v if not isinstance(v, int) else Exact(v))) for k, v in match.items()),
            key=lambda kv: kv[0],
        )
    )
    ps = tuple(sorted((params or {}).items()))
    return TableEntry(table, ms, action, ps, priority)


@dataclass(frozen=True)
class RegisterValue:
    """One register cell the controller owns (e.g. ``active_policy_version[0]``)."""

    register: str
    index: int
    value: int

    def key(self) -> tuple[str, int]:
        return (self.register, self.index)


@dataclass
class SwitchIntent:
    """What one switch should hold: entries by key, owned register cells by (name, index)."""

    entries: dict[tuple, TableEntry] = field(default_factory=dict)
    registers: dict[tuple[str, int], RegisterValue] = field(default_factory=dict)

    def add(self, *items: TableEntry | RegisterValue) -> None:
        for it in items:
            if isinstance(it, TableEntry):
                self.entries[it.key()] = it
            else:
                self.registers[it.key()] = it

    def extend(self, items: Iterable[TableEntry | RegisterValue]) -> None:
        self.add(*items)

    def remove_where(self, pred) -> list[TableEntry]:
        """Drop (and return) the entries for which ``pred(entry)`` is true."""
        gone = [e for e in self.entries.values() if pred(e)]
        for e in gone:
            del self.entries[e.key()]
        return gone

    def copy(self) -> SwitchIntent:
        return SwitchIntent(dict(self.entries), dict(self.registers))

    def tables(self) -> dict[str, int]:
        """Entries per table."""
        out: dict[str, int] = {}
        for e in self.entries.values():
            out[e.table] = out.get(e.table, 0) + 1
        return out


@dataclass(frozen=True)
class Diff:
    """What to write to go from what a switch holds to the intent."""

    insert: tuple[TableEntry, ...] = ()
    modify: tuple[TableEntry, ...] = ()
    delete: tuple[TableEntry, ...] = ()
    registers: tuple[RegisterValue, ...] = ()

    def __len__(self) -> int:
        return len(self.insert) + len(self.modify) + len(self.delete) + len(self.registers)


def diff(
    held: Mapping[tuple, TableEntry],
    want: Mapping[tuple, TableEntry],
    held_registers: Mapping[tuple[str, int], int] | None = None,
    want_registers: Mapping[tuple[str, int], RegisterValue] | None = None,
) -> Diff:
    """Entries to insert, modify and delete (and registers to write) to turn held into want."""
    ins = tuple(e for k, e in want.items() if k not in held)
    mod = tuple(e for k, e in want.items() if k in held and held[k] != e)
    dele = tuple(e for k, e in held.items() if k not in want)
    regs: tuple[RegisterValue, ...] = ()
    if want_registers:
        hr = held_registers or {}
        regs = tuple(r for k, r in want_registers.items() if hr.get(k) != r.value)
    return Diff(ins, mod, dele, regs)


# ------------------------------------------------------------------------------------- values
def ip6(a: str | int | ipaddress.IPv6Address) -> int:
    """An IPv6 address as an int."""
    return a if isinstance(a, int) else int(ipaddress.IPv6Address(a))


def ip6_prefix(p: str) -> tuple[int, int]:
    """``"fd00:1::/64"`` -> (network address as int, prefix length)."""
    net = ipaddress.IPv6Network(p, strict=False)
    return int(net.network_address), net.prefixlen


def mac(m: str | int) -> int:
    """A MAC address (``"02:00:00:00:00:01"``) as an int."""
    return m if isinstance(m, int) else int(m.replace(":", "").replace("-", ""), 16)
