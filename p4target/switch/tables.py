"""Match-action tables: entry storage, validation and fast lookup.

Lookup structures by table kind:

* exact keys only: one dict from the key tuple to the entry;
* one LPM field (other fields exact): one dict per prefix length, longest first;
* ternary/optional/LPM without range fields: tuple-space search (one dict per distinct mask
  tuple, groups visited by decreasing best priority, stopping once no group can win);
* any range field: entries sorted by priority, scanned in order.

Writes keep these structures in order incrementally (bisect insertion and removal, a priority
count per tuple-space group), so a write costs O(log n) comparisons plus a list shift rather
than a re-sort; the group visiting order is rebuilt on the first lookup after a write that
changed a group's best priority (or the set of groups).  Among entries of equal priority the
one with the smaller handle (added first) wins, whatever the write order.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable
from operator import and_
from typing import Any

from .errors import (
    BadValueError,
    ConstTableError,
    DuplicateEntryError,
    EntryNotFoundError,
    TableFullError,
)
from .matchkeys import LPM, ActionCall, Entry, Exact, KeySpec, MatchValue, Optional, Range, Ternary

_EXACT, _LPM, _TERNARY, _RANGE, _OPTIONAL, _OTHER = range(6)
_MATCH_CODES = {
    "exact": _EXACT,
    "valid": _EXACT,
    "lpm": _LPM,
    "ternary": _TERNARY,
    "range": _RANGE,
    "optional": _OPTIONAL,
}


def _entry_rank(e: Entry) -> tuple[int, int]:
    """Lookup preference: larger priority first, then the entry added first."""
    return (-e.priority, e.handle)


def _scan_rank(x: tuple[Entry, tuple]) -> tuple[int, int]:
    return (-x[0].priority, x[0].handle)


class Journal:
    """Undo log of the control writes made inside ``Switch.batch()``."""

    def __init__(self) -> None:
        self.active = False
        self.undo: list[Callable[[], None]] = []

    def record(self, fn: Callable[[], None]) -> None:
        if self.active:
            self.undo.append(fn)

    def begin(self) -> None:
        self.active = True
        self.undo = []

    def commit(self) -> None:
        self.active = False
        self.undo = []

    def rollback(self) -> None:
        self.active = False
        undo, self.undo = self.undo, []
        for fn in reversed(undo):
            fn()


class Table:
    """One match-action table of a pipeline."""

    def __init__(
        self,
        name: str,
        tid: int,
        keys: list[KeySpec],
        action_ids: list[int],
        max_size: int,
        journal: Journal,
        *,
        with_counters: bool = False,
        support_timeout: bool = False,
        kind: str = "simple",
        profile: Any = None,
        direct_meter: Any = None,
    ):
        self.name = name
        self.id = tid
        self.keys = keys
        self.action_ids = list(action_ids)
        self.max_size = max_size
        self.journal = journal
        self.with_counters = with_counters
        self.support_timeout = support_timeout
        self.kind = kind  # simple, indirect, indirect_ws
        self.profile = profile
        self.direct_meter = direct_meter
        self.entries: dict[int, Entry] = {}
        self.by_key: dict[tuple, int] = {}
        self.next_handle = 0
        self.has_const_entries = False
        self.default: ActionCall | None = None
        self.default_const = False  # action function cannot change
        self.default_entry_const = False  # action function and data cannot change
        self.json_default: tuple[int, tuple[int, ...]] | None = None
        self.next_by_aid: dict[int, Any] = {}
        self.hit_next: Any = None
        self.miss_next: Any = None
        self.hit_miss = False
        self.base_next: Any = None
        self.on_rehit: Callable[[], None] | None = None
        types = [k.match_type for k in keys]
        self.prioritized = any(t in ("ternary", "range", "optional") for t in types)
        self.lpm_pos = types.index("lpm") if "lpm" in types else None
        if not keys:
            self.mode = "empty"
        elif all(t in ("exact", "valid") for t in types):
            self.mode = "exact"
        elif "range" in types:
            self.mode = "scan"
        elif self.prioritized:
            self.mode = "tuple"
        else:
            self.mode = "lpm"
        self._exact: dict[tuple, Entry] = {}
        self._lpm: dict[int, dict[tuple, Entry]] = {}
        self._lpm_order: list[tuple[int, tuple[int, ...]]] = []
        self._groups: dict[tuple, dict[tuple, list[Entry]]] = {}
        self._group_prios: dict[tuple, dict[int, int]] = {}  # masks -> {priority: entries}
        self._group_top: dict[tuple, int] = {}  # masks -> best priority in the group
        self._group_order: list[tuple[int, tuple]] = []
        self._order_stale = False
        self._scan: list[tuple[Entry, tuple]] = []
        self._norm_fields = tuple(
            (_MATCH_CODES.get(k.match_type, _OTHER), k.width, (1 << k.width) - 1) for k in keys
        )
        self.lookup: Callable[[tuple], Entry | None] = self._choose_lookup()

    # -- lookup ----------------------------------------------------------------------------------

    def _choose_lookup(self) -> Callable[[tuple], Entry | None]:
        if self.mode == "exact":
            return self._exact.get
        if self.mode == "lpm":
            return self._lookup_lpm
        if self.mode == "tuple":
            return self._lookup_tuple
        if self.mode == "scan":
            return self._lookup_scan
        return lambda key: None

    def _lookup_lpm(self, key: tuple) -> Entry | None:
        groups = self._lpm
        for plen, masks in self._lpm_order:
            e = groups[plen].get(tuple(map(and_, key, masks)))
            if e is not None:
                return e
        return None

    def _lookup_tuple_stale(self, key: tuple) -> Entry | None:
        """The first lookup after a write that changed the group order: rebuild it, then look
        up (later lookups go straight to :meth:`_lookup_tuple`)."""
        self._rebuild_group_order()
        return self._lookup_tuple(key)

    def _lookup_tuple(self, key: tuple) -> Entry | None:
        best: Entry | None = None
        for top, masks in self._group_order:
            if best is not None and top < best.priority:
                break
            cands = self._groups[masks].get(tuple(map(and_, key, masks)))
            if cands:
                e = cands[0]
                if (
                    best is None
                    or e.priority > best.priority
                    or (e.priority == best.priority and e.handle < best.handle)
                ):
                    best = e
        return best

    def _lookup_scan(self, key: tuple) -> Entry | None:
        for e, ms in self._scan:
            for k, m in zip(key, ms, strict=False):
                kind = m[0]
                if kind == 0:  # value & mask
                    if (k & m[2]) != m[1]:
                        break
                elif not m[1] <= k <= m[2]:  # range
                    break
            else:
                return e
        return None

    # -- key normalisation -----------------------------------------------------------------------

    def normalize(self, key: list[MatchValue] | tuple[MatchValue, ...]) -> tuple[tuple, tuple]:
        """Validate a key; return (canonical key values, per-field masks) for the index."""
        fast = self._normalize_fast(key)
        if fast is not None:
            return fast
        return self._normalize_checked(key)

    def _normalize_fast(self, key: list[MatchValue] | tuple[MatchValue, ...]) -> tuple | None:
        """:meth:`normalize` for the common case: every field given as the match kind's own
        value class (what the P4Runtime server passes), every value valid. None for anything
        else: :meth:`_normalize_checked` then converts, or raises the exact error."""
        fields = self._norm_fields
        if len(key) != len(fields):
            return None
        canon: list[tuple] = []
        masks: list[int | None] = []
        for (code, width, full), mv in zip(fields, key, strict=True):
            t = type(mv)
            if code == _EXACT:
                if t is not Exact:
                    return None
                v = mv.value
                if not 0 <= v <= full:
                    return None
                canon.append((v, full))
                masks.append(full)
            elif code == _TERNARY:
                if t is not Ternary:
                    return None
                v, m = mv.value, mv.mask
                if not (0 <= v <= full and 0 <= m <= full):
                    return None
                canon.append((v & m, m))
                masks.append(m)
            elif code == _LPM:
                if t is not LPM:
                    return None
                v, plen = mv.value, mv.prefix_len
                if type(plen) is not int or not (0 <= plen <= width and 0 <= v <= full):
                    return None
                m = full ^ ((1 << (width - plen)) - 1)
                if v & ~m:
                    return None
                canon.append((v, m))
                masks.append(m)
            elif code == _RANGE:
                if t is not Range:
                    return None
                lo, hi = mv.lo, mv.hi
                if not 0 <= lo <= hi <= full:
                    return None
                canon.append(("r", lo, hi))
                masks.append(None)
            elif code == _OPTIONAL:
                if t is not Optional:
                    return None
                v = mv.value
                if v is None:
                    canon.append((0, 0))
                    masks.append(0)
                else:
                    if not 0 <= v <= full:
                        return None
                    canon.append((v, full))
                    masks.append(full)
            else:
                return None
        return tuple(canon), tuple(masks)

    def _normalize_checked(
        self, key: list[MatchValue] | tuple[MatchValue, ...]
    ) -> tuple[tuple, tuple]:
        if len(key) != len(self.keys):
            raise BadValueError(
                f"table {self.name}: key has {len(key)} fields, expected {len(self.keys)}"
            )
        canon: list[Any] = []
        for spec, mv in zip(self.keys, key, strict=True):
            full = (1 << spec.width) - 1
            t = spec.match_type
            if isinstance(mv, int) and not isinstance(mv, bool):
                mv = Exact(mv)
            if t in ("exact", "valid"):
                if not isinstance(mv, Exact):
                    raise BadValueError(f"{self.name}.{spec.name}: exact key needs Exact()")
                self._fits(spec, mv.value)
                canon.append((mv.value, full))
            elif t == "lpm":
                if isinstance(mv, Exact):
                    mv = LPM(mv.value, spec.width)
                if not isinstance(mv, LPM):
                    raise BadValueError(f"{self.name}.{spec.name}: lpm key needs LPM()")
                if not 0 <= mv.prefix_len <= spec.width:
                    raise BadValueError(
                        f"{self.name}.{spec.name}: prefix length {mv.prefix_len} not in "
                        f"[0, {spec.width}]"
                    )
                self._fits(spec, mv.value)
                mask = full ^ ((1 << (spec.width - mv.prefix_len)) - 1)
                if mv.value & ~mask:
                    raise BadValueError(
                        f"{self.name}.{spec.name}: {mv.value:#x}/{mv.prefix_len} has bits set "
                        "beyond the prefix"
                    )
                canon.append((mv.value, mask))
            elif t == "ternary":
                if isinstance(mv, Exact):
                    mv = Ternary(mv.value, full)
                if not isinstance(mv, Ternary):
                    raise BadValueError(f"{self.name}.{spec.name}: ternary key needs Ternary()")
                self._fits(spec, mv.value)
                self._fits(spec, mv.mask)
                canon.append((mv.value & mv.mask, mv.mask))
            elif t == "optional":
                if isinstance(mv, Exact):
                    mv = Optional(mv.value)
                if not isinstance(mv, Optional):
                    raise BadValueError(f"{self.name}.{spec.name}: optional key needs Optional()")
                if mv.value is None:
                    canon.append((0, 0))
                else:
                    self._fits(spec, mv.value)
                    canon.append((mv.value, full))
            elif t == "range":
                if isinstance(mv, Exact):
                    mv = Range(mv.value, mv.value)
                if not isinstance(mv, Range):
                    raise BadValueError(f"{self.name}.{spec.name}: range key needs Range()")
                self._fits(spec, mv.lo)
                self._fits(spec, mv.hi)
                if mv.lo > mv.hi:
                    raise BadValueError(f"{self.name}.{spec.name}: range {mv.lo}..{mv.hi} empty")
                canon.append(("r", mv.lo, mv.hi))
            else:
                raise BadValueError(f"{self.name}: unsupported match type {t!r}")
        return tuple(canon), tuple(c[1] if c[0] != "r" else None for c in canon)

    def _fits(self, spec: KeySpec, v: int) -> None:
        if not 0 <= v < (1 << spec.width):
            raise BadValueError(
                f"table {self.name}: key {spec.name} value {v:#x} does not fit in {spec.width} bits"
            )

    def key_id(self, canon: tuple, priority: int) -> tuple:
        return (canon, priority if self.prioritized else 0)

    # -- insertion / removal (no validation, no journaling) ----------------------------------

    def _insert(self, e: Entry) -> None:
        self.entries[e.handle] = e
        canon = e.match
        self.by_key[self.key_id(canon, e.priority)] = e.handle
        if self.mode == "exact":
            self._exact[tuple(c[0] for c in canon)] = e
        elif self.mode == "lpm":
            plen = e.priority
            masks = tuple(c[1] for c in canon)
            if plen not in self._lpm:
                self._lpm[plen] = {}
                self._lpm_order.append((plen, masks))
                self._lpm_order.sort(key=lambda x: -x[0])
            self._lpm[plen][tuple(c[0] for c in canon)] = e
        elif self.mode == "tuple":
            masks = tuple(c[1] for c in canon)
            k = tuple(c[0] for c in canon)
            prio = e.priority
            grp = self._groups.get(masks)
            if grp is None:
                grp = self._groups[masks] = {}
                self._group_prios[masks] = {}
                self._group_top[masks] = prio
                self._order_changed()
            lst = grp.get(k)
            if lst is None:
                grp[k] = [e]
            else:
                insort(lst, e, key=_entry_rank)
            prios = self._group_prios[masks]
            prios[prio] = prios.get(prio, 0) + 1
            if prio > self._group_top[masks]:
                self._group_top[masks] = prio
                self._order_changed()
        elif self.mode == "scan":
            ms = tuple((1, c[1], c[2]) if c[0] == "r" else (0, c[0], c[1]) for c in canon)
            insort(self._scan, (e, ms), key=_scan_rank)

    def _remove(self, e: Entry) -> None:
        del self.entries[e.handle]
        canon = e.match
        del self.by_key[self.key_id(canon, e.priority)]
        if self.mode == "exact":
            del self._exact[tuple(c[0] for c in canon)]
        elif self.mode == "lpm":
            grp = self._lpm[e.priority]
            del grp[tuple(c[0] for c in canon)]
            if not grp:
                del self._lpm[e.priority]
                self._lpm_order = [x for x in self._lpm_order if x[0] != e.priority]
        elif self.mode == "tuple":
            masks = tuple(c[1] for c in canon)
            grp = self._groups[masks]
            k = tuple(c[0] for c in canon)
            lst = grp[k]
            lst.remove(e)
            if not lst:
                del grp[k]
            prio = e.priority
            prios = self._group_prios[masks]
            left = prios[prio] - 1
            if left:
                prios[prio] = left
            else:
                del prios[prio]
                if not grp:
                    del self._groups[masks], self._group_prios[masks], self._group_top[masks]
                    self._order_changed()
                elif prio == self._group_top[masks]:
                    self._group_top[masks] = max(prios)
                    self._order_changed()
        elif self.mode == "scan":
            scan = self._scan
            i = bisect_left(scan, (-e.priority, e.handle), key=_scan_rank)
            if i == len(scan) or scan[i][0] is not e:  # pragma: no cover - index corrupted
                raise RuntimeError(f"table {self.name}: entry {e.handle} missing from its index")
            del scan[i]

    def _order_changed(self) -> None:
        """A group's best priority (or the set of groups) changed: the next lookup rebuilds
        the group visiting order."""
        if not self._order_stale:
            self._order_stale = True
            self.lookup = self._lookup_tuple_stale

    def _rebuild_group_order(self) -> None:
        order = [(top, masks) for masks, top in self._group_top.items()]
        order.sort(key=lambda x: -x[0])
        self._group_order = order
        self._order_stale = False
        self.lookup = self._lookup_tuple

    # -- control API -----------------------------------------------------------------------------

    def _check_mutable(self) -> None:
        if self.has_const_entries:
            raise ConstTableError(f"table {self.name} has const entries and cannot be modified")

    def check_priority(self, priority: int | None) -> int:
        if self.prioritized:
            if priority is None:
                raise BadValueError(
                    f"table {self.name}: ternary/range/optional entries need a priority"
                )
            if priority < 0:
                raise BadValueError(f"table {self.name}: priority must be non-negative")
            return int(priority)
        return 0

    def add(
        self,
        key: list[MatchValue],
        priority: int | None,
        bind: Callable[[Entry], None],
        const: bool = False,
    ) -> Entry:
        """Insert an entry; ``bind`` attaches its action (or member/group) before insertion."""
        if not const:
            self._check_mutable()
        prio = self.check_priority(priority)
        canon, _masks = self.normalize(key)
        if self.mode == "lpm":
            pos = self.lpm_pos
            mask = canon[pos][1]
            prio = bin(mask).count("1")
        if self.key_id(canon, prio) in self.by_key:
            raise DuplicateEntryError(f"table {self.name}: an entry with this key already exists")
        if len(self.entries) >= self.max_size:
            raise TableFullError(f"table {self.name} is full ({self.max_size} entries)")
        e = Entry(self.next_handle, tuple(key), canon, prio)
        e.const = const
        bind(e)
        if self.direct_meter is not None:
            e.meter = self.direct_meter.new_meter()
        self.next_handle += 1
        self._insert(e)
        self.journal.record(lambda: self._remove(e))
        return e

    def get(self, handle: int) -> Entry:
        e = self.entries.get(handle)
        if e is None:
            raise EntryNotFoundError(f"table {self.name}: no entry with handle {handle}")
        return e

    def find(self, key: list[MatchValue], priority: int | None = None) -> Entry:
        prio = self.check_priority(priority) if self.prioritized else 0
        canon, _ = self.normalize(key)
        if self.mode == "lpm":
            prio = bin(canon[self.lpm_pos][1]).count("1")
        h = self.by_key.get(self.key_id(canon, prio))
        if h is None:
            raise EntryNotFoundError(f"table {self.name}: no entry with this key")
        return self.entries[h]

    def delete(self, handle: int) -> None:
        self._check_mutable()
        e = self.get(handle)
        self._remove(e)
        self.journal.record(lambda: self._insert(e))

    def modify(self, handle: int, bind: Callable[[Entry], None]) -> None:
        self._check_mutable()
        e = self.get(handle)
        old = (e.action, e.member, e.group)
        bind(e)

        def undo() -> None:
            e.action, e.member, e.group = old

        self.journal.record(undo)

    def clear(self) -> None:
        self._check_mutable()
        old = list(self.entries.values())
        for e in old:
            self._remove(e)

        def undo() -> None:
            for e in old:
                self._insert(e)

        self.journal.record(undo)

    def set_default(self, call: ActionCall) -> None:
        if self.default_entry_const:
            raise ConstTableError(f"table {self.name}: the default entry is const")
        if self.default_const and self.default is not None and call.aid != self.default.aid:
            raise ConstTableError(
                f"table {self.name}: the default action is const ({self.default.name})"
            )
        old = self.default
        self.default = call
        self.journal.record(lambda: setattr(self, "default", old))
