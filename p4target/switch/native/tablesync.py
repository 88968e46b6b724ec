"""Match-action tables in native memory: change tracking, incremental and wholesale sync.

The Python :class:`~p4target.switch.tables.Table` stays the source of truth of the control API.
On the native engine it is a :class:`TrackedTable`, which records the handles of the entries a
write touched; before the next packet :func:`sync_table` applies just those to the native index
(``tbl_insert`` / ``tbl_delete`` / ``tbl_modify``: hash insert/remove in the entry's tuple,
sorted insert in a priority scan), or re-indexes the whole table (``tbl_load``) on the first
sync, after a clear, when a native write fails, or when :data:`incremental` is off
(``CPN_P4_NATIVE_TABLES=rebuild``, the baseline of ``bench/table_writes.py``).

Per-entry state (direct counter hits, idle stamps, direct meters) lives in C while the entry is
there: :class:`NativeEntry` reads it through, and a deleted entry's state is folded back into
its Python slots (a rolled-back delete re-inserts it with its counts).
"""

from __future__ import annotations

import os
from array import array
from typing import Any

from ..errors import BadValueError
from ..matchkeys import Entry
from ..tables import Table

M64 = (1 << 64) - 1
M128 = (1 << 128) - 1

#: False: every sync re-indexes the whole table (the wholesale path; for baselines and tests)
incremental = os.environ.get("CPN_P4_NATIVE_TABLES", "incremental") != "rebuild"


def split128(v: int) -> tuple[int, int]:
    return v & M64, (v >> 64) & M64


class TrackedTable(Table):
    """A :class:`Table` that tells the native engine which entries changed.

    ``_nat_slots`` (handle -> native slot) is what native memory holds (``_nat_objs``: the
    entries, for tables with per-entry state), ``_nat_pending`` the handles written since the
    last sync, ``_nat_full`` asks for a wholesale re-index; they appear at the first sync."""

    _native_dirty: set | None = None

    def _mark(self) -> None:
        d = self.__dict__.get("_native_dirty")
        if d is not None:
            d.add(self)

    def _touch(self, handle: int) -> None:
        dd = self.__dict__
        d = dd.get("_native_dirty")
        if d is not None:
            p = dd.get("_nat_pending")
            if p is not None:
                p.add(handle)
            d.add(self)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name == "default":
            self._mark()

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def _insert(self, e: Any) -> None:
        super()._insert(e)
        self._touch(e.handle)

    def _remove(self, e: Any) -> None:
        super()._remove(e)
        self._touch(e.handle)

    def modify(self, handle: int, bind: Any) -> None:
        super().modify(handle, bind)
        self._touch(handle)
        # the undo restores the action (or member / group) behind our back: look again then
        self.journal.record(lambda: self._touch(handle))

    def clear(self) -> None:
        super().clear()
        if "_nat_slots" in self.__dict__:
            self.__dict__["_nat_full"] = True


_SLOT = {n: Entry.__dict__[n] for n in ("packets", "bytes", "last_hit", "idle_notified", "meter")}
# id(entry) -> (engine, native table, native entry index) for entries of tracked tables
_LOC: dict[int, tuple[Any, int, int]] = {}


def _state(e: Entry) -> tuple[Any, Any] | None:
    """(hits[2], last_hit, notified) cdata of ``e``'s native entry, or None."""
    loc = _LOC.get(id(e))
    if loc is None:
        return None
    eng, ti, ci = loc
    hits = eng.ffi.new("uint64_t[2]")
    lh = eng.ffi.new("double *")
    nt = eng.ffi.new("int32_t *")
    if eng.lib.tbl_entry_state_i(eng.ctx, ti, ci, hits, lh, nt, 0) != 0:
        return None
    return (hits, lh, nt), loc


def _write(loc: tuple[Any, int, int], hits: Any, lh: Any, nt: Any) -> None:
    eng, ti, ci = loc
    eng.lib.tbl_entry_state_i(eng.ctx, ti, ci, hits, lh, nt, 1)


class NativeEntry(Entry):
    """An entry of a table with direct counters or idle timeouts on the native engine: hits
    are counted in C; these properties add them to the Python values (``Entry``'s slots)."""

    __slots__ = ()

    @property
    def packets(self) -> int:
        st = _state(self)
        base = _SLOT["packets"].__get__(self, Entry)
        return base + (int(st[0][0][0]) if st else 0)

    @packets.setter
    def packets(self, v: int) -> None:
        _SLOT["packets"].__set__(self, v)
        st = _state(self)
        if st:
            (hits, lh, nt), loc = st
            hits[0] = 0
            _write(loc, hits, lh, nt)

    @property
    def bytes(self) -> int:
        st = _state(self)
        base = _SLOT["bytes"].__get__(self, Entry)
        return base + (int(st[0][0][1]) if st else 0)

    @bytes.setter
    def bytes(self, v: int) -> None:
        _SLOT["bytes"].__set__(self, v)
        st = _state(self)
        if st:
            (hits, lh, nt), loc = st
            hits[1] = 0
            _write(loc, hits, lh, nt)

    @property
    def last_hit(self) -> float:
        st = _state(self)
        return float(st[0][1][0]) if st else _SLOT["last_hit"].__get__(self, Entry)

    @last_hit.setter
    def last_hit(self, v: float) -> None:
        _SLOT["last_hit"].__set__(self, v)
        st = _state(self)
        if st:
            (hits, lh, nt), loc = st
            lh[0] = float(v)
            _write(loc, hits, lh, nt)

    @property
    def idle_notified(self) -> bool:
        st = _state(self)
        return bool(st[0][2][0]) if st else _SLOT["idle_notified"].__get__(self, Entry)

    @idle_notified.setter
    def idle_notified(self, v: bool) -> None:
        _SLOT["idle_notified"].__set__(self, v)
        st = _state(self)
        if st:
            (hits, lh, nt), loc = st
            nt[0] = 1 if v else 0
            _write(loc, hits, lh, nt)

    @property
    def meter(self) -> Any:
        return _SLOT["meter"].__get__(self, Entry)

    @meter.setter
    def meter(self, m: Any) -> None:
        _SLOT["meter"].__set__(self, m)
        loc = _LOC.get(id(self))
        if loc is not None:
            _push_meter(loc, m)


def _push_meter(loc: tuple[Any, int, int], m: Any) -> None:
    """Configure the native entry's direct meter from Meter ``m`` (its token state too)."""
    eng, ti, ci = loc
    ffi = eng.ffi
    rates = m.rates if (m is not None and m.configured) else []
    n = ffi.new("int32_t *", len(rates))
    eng.lib.tbl_entry_meter_i(
        eng.ctx,
        ti,
        ci,
        n,
        ffi.new("double[4]", [float(r[0]) for r in rates]),
        ffi.new("int64_t[4]", [int(r[1]) for r in rates]),
        ffi.new("int64_t[4]", [int(r[2]) for r in rates]),
        ffi.new("int64_t[4]", [int(r[3]) for r in rates]),
        ffi.new("int32_t[4]", [int(r[4]) for r in rates]),
        1,
    )


def _pull_meter(loc: tuple[Any, int, int], m: Any) -> None:
    """Copy the native token state back into Meter ``m`` (before a table is re-indexed)."""
    if m is None or not m.configured:
        return
    eng, ti, ci = loc
    ffi = eng.ffi
    n = ffi.new("int32_t *")
    tokens, last = ffi.new("int64_t[4]"), ffi.new("int64_t[4]")
    eng.lib.tbl_entry_meter_i(
        eng.ctx,
        ti,
        ci,
        n,
        ffi.new("double[4]"),
        ffi.new("int64_t[4]"),
        tokens,
        last,
        ffi.new("int32_t[4]"),
        0,
    )
    for k, r in enumerate(m.rates[: n[0]]):
        r[2], r[3] = int(tokens[k]), int(last[k])


def _fold(e: Entry) -> None:
    """Move ``e``'s native per-entry state into its Python slots and forget the mapping."""
    st = _state(e)
    if st is None:
        return
    (hits, lh, nt), loc = st
    _pull_meter(loc, _SLOT["meter"].__get__(e, Entry))
    _SLOT["packets"].__set__(e, _SLOT["packets"].__get__(e, Entry) + int(hits[0]))
    _SLOT["bytes"].__set__(e, _SLOT["bytes"].__get__(e, Entry) + int(hits[1]))
    _SLOT["last_hit"].__set__(e, float(lh[0]))
    _SLOT["idle_notified"].__set__(e, bool(nt[0]))
    del _LOC[id(e)]


class _Fallback(Exception):
    """A native single-entry write failed: re-index the whole table."""


def _marshal(ffi: Any, entries: list[Entry]) -> list[Any]:
    """``tbl_load`` / ``tbl_insert``'s arrays for ``entries``: keys, masks, kinds, priorities,
    handles, action ids, data counts, data (128-bit values as two little-endian words)."""
    kb = bytearray()
    mb = bytearray()
    kinds = bytearray()
    db = bytearray()
    aids = array("i")
    nds = array("i")
    m128 = M128
    for e in entries:
        for c in e.match:
            if c[0] == "r":
                kb += c[1].to_bytes(16, "little")
                mb += c[2].to_bytes(16, "little")
                kinds.append(1)
            else:
                kb += c[0].to_bytes(16, "little")
                mb += c[1].to_bytes(16, "little")
                kinds.append(0)
        a = e.action
        if a is None:
            aids.append(-1)
            nds.append(0)
        else:
            aids.append(a.aid)
            args = a.args
            nds.append(len(args))
            for v in args:
                db += (v & m128).to_bytes(16, "little")
    buf = ffi.from_buffer
    return [
        buf("uint64_t[]", kb or bytes(16)),
        buf("uint64_t[]", mb or bytes(16)),
        buf("uint8_t[]", kinds or b"\0"),
        buf("int32_t[]", array("i", [e.priority for e in entries] or [0])),
        buf("int32_t[]", array("i", [e.handle for e in entries] or [0])),
        buf("int32_t[]", aids or array("i", [0])),
        buf("int32_t[]", nds or array("i", [0])),
        buf("uint64_t[]", db or bytes(16)),
    ]


def _per_entry(table: Table) -> bool:
    return table.with_counters or table.support_timeout or table.direct_meter is not None


def _refs(engine: Any, ti: int, placed: list[tuple[int, Entry]], table: Table) -> None:
    """Member / group references of entries of an indirect table."""
    if table.profile is None:
        return
    lib, ctx = engine.lib, engine.ctx
    for i, e in placed:
        if e.member is not None:
            lib.tbl_entry_ref_i(ctx, ti, i, 1, e.member)
        elif e.group is not None:
            lib.tbl_entry_ref_i(ctx, ti, i, 2, e.group)


def _attach(engine: Any, ti: int, placed: list[tuple[int, Entry]], table: Table) -> None:
    """References and per-entry state of entries just placed in native memory."""
    _refs(engine, ti, placed, table)
    if not _per_entry(table):
        return
    lib, ctx, ffi = engine.lib, engine.ctx, engine.ffi
    hits = ffi.new("uint64_t[2]")
    lh = ffi.new("double *")
    nt = ffi.new("int32_t *")
    meters = table.direct_meter is not None
    for i, e in placed:
        if type(e) is not NativeEntry:
            e.__class__ = NativeEntry
        lh[0] = float(_SLOT["last_hit"].__get__(e, Entry))
        nt[0] = 1 if _SLOT["idle_notified"].__get__(e, Entry) else 0
        lib.tbl_entry_state_i(ctx, ti, i, hits, lh, nt, 1)
        _LOC[id(e)] = (engine, ti, i)
        if meters:
            _push_meter((engine, ti, i), _SLOT["meter"].__get__(e, Entry))


def _rebuild(engine: Any, ti: int, table: Table) -> None:
    """Re-index ``table`` (native index ``ti``) wholesale from its Python entries."""
    d = table.__dict__
    per_entry = _per_entry(table)
    if per_entry:
        for e in d.get("_nat_objs", {}).values():
            _fold(e)
    entries = list(table.entries.values())
    d["_nat_slots"] = {}
    d["_nat_objs"] = {}
    d["_nat_pending"] = set()
    d["_nat_full"] = True  # until the load below succeeds
    if engine.lib.tbl_load_i(engine.ctx, ti, len(entries), *_marshal(engine.ffi, entries)) != 0:
        raise MemoryError(f"native table {table.name}: out of memory")
    if per_entry or table.profile is not None:
        _attach(engine, ti, list(enumerate(entries)), table)
    d["_nat_slots"] = dict(zip(table.entries, range(len(entries)), strict=True))  # by handle
    if per_entry:
        d["_nat_objs"] = dict(table.entries)
    d["_nat_full"] = False


def _apply(engine: Any, ti: int, table: Table, pending: set[int]) -> None:
    """Apply the writes of the ``pending`` handles one entry at a time (a handle names one
    entry object for good: a rolled-back delete re-inserts the same object)."""
    ffi, lib, ctx = engine.ffi, engine.lib, engine.ctx
    d = table.__dict__
    nat: dict[int, int] = d["_nat_slots"]
    objs: dict[int, Entry] = d["_nat_objs"]
    entries = table.entries
    gone: list[int] = []
    ins: list[Entry] = []
    mods: list[tuple[int, Entry]] = []
    for h in pending:
        cur = entries.get(h)
        i = nat.get(h)
        if i is None:
            if cur is not None:
                ins.append(cur)
        elif cur is None:
            gone.append(h)
        else:
            mods.append((i, cur))
    pending.clear()
    if gone:
        slots = [nat.pop(h) for h in gone]
        if _per_entry(table):
            for h in gone:
                _fold(objs.pop(h))
        if lib.tbl_delete_i(ctx, ti, len(slots), ffi.new("int32_t[]", slots)) != 0:
            raise _Fallback
    for i, e in mods:
        a = e.action
        args = a.args if a is not None else ()
        data = ffi.new("uint64_t[]", [w for v in args for w in split128(v)] or [0])
        if lib.tbl_modify_i(ctx, ti, i, a.aid if a is not None else -1, len(args), data) != 0:
            raise _Fallback
    if mods:
        _refs(engine, ti, mods, table)
    if ins:
        slots = ffi.new("int32_t[]", len(ins))
        rc = lib.tbl_insert_i(ctx, ti, len(ins), *_marshal(ffi, ins), slots)
        placed = [(i, e) for i, e in zip(ffi.unpack(slots, len(ins)), ins, strict=True) if i >= 0]
        for i, e in placed:
            nat[e.handle] = i
        if rc != 0:
            raise _Fallback
        _attach(engine, ti, placed, table)
        if _per_entry(table):
            for _i, e in placed:
                objs[e.handle] = e


def sync_table(engine: Any, ti: int, table: Table) -> None:
    """Bring native table ``ti`` up to date with ``table``: the entries written since the last
    sync one by one, or the whole table (first sync, clear, failure, :data:`incremental` off)."""
    d = table.__dict__
    pending = d.get("_nat_pending")
    if d.get("_nat_slots") is None or d.get("_nat_full") or not incremental:
        _rebuild(engine, ti, table)
    elif pending:
        try:
            _apply(engine, ti, table, pending)
        except _Fallback:
            _rebuild(engine, ti, table)
    ffi, lib = engine.ffi, engine.lib
    dflt = table.default
    if dflt is None:
        lib.tbl_set_default_i(engine.ctx, ti, -1, 0, ffi.NULL)
    else:
        data = ffi.new("uint64_t[]", [w for v in dflt.args for w in split128(v)] or [0])
        if lib.tbl_set_default_i(engine.ctx, ti, dflt.aid, len(dflt.args), data) != 0:
            raise BadValueError(f"native table {table.name}: default action has > 64 parameters")


def table_stats(engine: Any, ti: int) -> dict[str, int]:
    """Native counters of table ``ti``: wholesale builds, single-entry writes, entries, groups."""
    out = engine.ffi.new("int64_t[4]")
    engine.lib.tbl_stats_i(engine.ctx, ti, out)
    return dict(zip(("builds", "writes", "entries", "groups"), map(int, out), strict=True))
