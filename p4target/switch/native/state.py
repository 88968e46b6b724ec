"""Python views of the native engine's memory: registers, counters and table mirrors.

The control API keeps its Python objects (``Switch.registers`` / ``counters`` / ``tables``);
for the native engine registers and counters are these classes, which read and write the C
arrays, and tables are tracked: any change marks the table dirty and it is re-indexed in native
memory before the next packet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadValueError
from ..matchkeys import Entry
from ..stateful import Meter, RegisterChecks
from ..tables import Table

M64 = (1 << 64) - 1


def split128(v: int) -> tuple[int, int]:
    return v & M64, (v >> 64) & M64


class _RegValues:
    """List-like view of one register array (what ``RegisterArray.values`` is)."""

    def __init__(self, reg: NativeRegisterArray):
        self.reg = reg

    def __len__(self) -> int:
        return self.reg.size

    def __getitem__(self, i: int) -> int:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.reg.size))]
        if i < 0:
            i += self.reg.size
        return self.reg.read(i)

    def __setitem__(self, i: int, v: int) -> None:
        if i < 0:
            i += self.reg.size
        self.reg.write(i, v)

    def __iter__(self) -> Iterator[int]:
        return (self.reg.read(i) for i in range(self.reg.size))


class NativeRegisterArray(RegisterChecks):
    """``RegisterArray``'s interface over a native register array."""

    def __init__(self, engine: Any, index: int, name: str, size: int, bitwidth: int):
        self.engine = engine
        self.index = index
        self.name = name
        self.size = size
        self.bitwidth = bitwidth
        self.mask = (1 << bitwidth) - 1
        self._buf = engine.ffi.new("uint64_t[2]")

    def read(self, idx: int) -> int:
        if not 0 <= idx < self.size:
            return 0
        self.engine.lib.reg_rw(self.engine.ctx, self.index, idx, self._buf, 0)
        return self._buf[0] | (self._buf[1] << 64)

    def write(self, idx: int, value: int) -> None:
        if 0 <= idx < self.size:
            self._buf[0], self._buf[1] = split128(value & self.mask)
            self.engine.lib.reg_rw(self.engine.ctx, self.index, idx, self._buf, 1)

    @property
    def values(self) -> _RegValues:
        return _RegValues(self)

    @values.setter
    def values(self, vals: Any) -> None:
        vals = list(vals)
        if len(vals) != self.size:
            raise BadValueError(f"register {self.name}: {len(vals)} values for {self.size} cells")
        if vals and all(v == vals[0] for v in vals):
            self._buf[0], self._buf[1] = split128(vals[0] & self.mask)
            self.engine.lib.reg_fill(self.engine.ctx, self.index, self._buf)
            return
        for i, v in enumerate(vals):
            self.write(i, v)

    def reset(self) -> None:
        self._buf[0] = self._buf[1] = 0
        self.engine.lib.reg_fill(self.engine.ctx, self.index, self._buf)


class NativeCounterArray:
    """``CounterArray``'s interface over a native counter array (packets and bytes)."""

    direct = False
    binding = None

    def __init__(self, engine: Any, index: int, name: str, size: int):
        self.engine = engine
        self.index = index
        self.name = name
        self.size = size
        self._buf = engine.ffi.new("uint64_t[2]")

    def _check(self, idx: int) -> None:
        if not 0 <= idx < self.size:
            raise BadValueError(f"counter {self.name}: index {idx} out of range [0, {self.size})")

    def read(self, idx: int) -> tuple[int, int]:
        self._check(idx)
        self.engine.lib.cnt_rw(self.engine.ctx, self.index, idx, self._buf, 0)
        return int(self._buf[0]), int(self._buf[1])

    def write(self, idx: int, packets: int, nbytes: int) -> None:
        self._check(idx)
        if packets < 0 or nbytes < 0:
            raise BadValueError("counter values must be non-negative")
        self._buf[0], self._buf[1] = packets & M64, nbytes & M64
        self.engine.lib.cnt_rw(self.engine.ctx, self.index, idx, self._buf, 1)

    def count(self, idx: int, nbytes: int) -> None:
        if 0 <= idx < self.size:
            p, b = self.read(idx)
            self.write(idx, p + 1, b + nbytes)

    @property
    def packets(self) -> list[int]:
        return [self.read(i)[0] for i in range(self.size)]

    @property
    def bytes(self) -> list[int]:
        return [self.read(i)[1] for i in range(self.size)]

    def reset(self) -> None:
        self.engine.lib.cnt_clear(self.engine.ctx, self.index)


class TrackedTable(Table):
    """A :class:`Table` that tells the native engine when its contents change."""

    _native_dirty: set | None = None

    def _mark(self) -> None:
        d = self.__dict__.get("_native_dirty")
        if d is not None:
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
        self._mark()

    def _remove(self, e: Any) -> None:
        super()._remove(e)
        self._mark()

    def modify(self, handle: int, bind: Any) -> None:
        super().modify(handle, bind)
        self._mark()


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


def sync_table(engine: Any, ti: int, table: Table) -> None:
    """Re-index ``table`` (native index ``ti``) in native memory from its Python entries."""
    ffi, lib, ctx = engine.ffi, engine.lib, engine.ctx
    per_entry = table.with_counters or table.support_timeout or table.direct_meter is not None
    if per_entry:
        for e in engine.mapped.pop(ti, []):
            _fold(e)
    entries = list(table.entries.values())
    keys: list[int] = []
    masks: list[int] = []
    kinds: list[int] = []
    data: list[int] = []
    aids, nds = [], []
    m64 = M64
    for e in entries:
        for c in e.match:
            if c[0] == "r":
                lo, hi, kd = c[1], c[2], 1
            else:
                lo, hi, kd = c[0], c[1], 0
            keys += (lo & m64, (lo >> 64) & m64)
            masks += (hi & m64, (hi >> 64) & m64)
            kinds.append(kd)
        a = e.action
        if a is None:
            aids.append(-1)
            nds.append(0)
        else:
            aids.append(a.aid)
            nds.append(len(a.args))
            for v in a.args:
                data += (v & m64, (v >> 64) & m64)
    n = len(entries)
    rc = lib.tbl_load_i(
        ctx,
        ti,
        n,
        ffi.new("uint64_t[]", keys or [0]),
        ffi.new("uint64_t[]", masks or [0]),
        ffi.new("uint8_t[]", kinds or [0]),
        ffi.new("int32_t[]", [e.priority for e in entries] or [0]),
        ffi.new("int32_t[]", [e.handle for e in entries] or [0]),
        ffi.new("int32_t[]", aids or [0]),
        ffi.new("int32_t[]", nds or [0]),
        ffi.new("uint64_t[]", data or [0]),
    )
    if rc != 0:
        raise MemoryError(f"native table {table.name}: out of memory")
    if table.profile is not None:
        for i, e in enumerate(entries):
            if e.member is not None:
                lib.tbl_entry_ref_i(ctx, ti, i, 1, e.member)
            elif e.group is not None:
                lib.tbl_entry_ref_i(ctx, ti, i, 2, e.group)
    if per_entry:
        hits = ffi.new("uint64_t[2]")
        lh = ffi.new("double *")
        nt = ffi.new("int32_t *")
        for i, e in enumerate(entries):
            if type(e) is not NativeEntry:
                e.__class__ = NativeEntry
            lh[0] = float(_SLOT["last_hit"].__get__(e, Entry))
            nt[0] = 1 if _SLOT["idle_notified"].__get__(e, Entry) else 0
            lib.tbl_entry_state_i(ctx, ti, i, hits, lh, nt, 1)
            _LOC[id(e)] = (engine, ti, i)
            if table.direct_meter is not None:
                _push_meter((engine, ti, i), _SLOT["meter"].__get__(e, Entry))
        engine.mapped[ti] = entries
    d = table.default
    if d is None:
        lib.tbl_set_default_i(ctx, ti, -1, 0, ffi.NULL)
    else:
        data = ffi.new("uint64_t[]", [w for v in d.args for w in split128(v)] or [0])
        if lib.tbl_set_default_i(ctx, ti, d.aid, len(d.args), data) != 0:
            raise BadValueError(f"native table {table.name}: default action has > 64 parameters")


def track_meters(engine: Any, arrays: list[Any]) -> None:
    """Make every meter of ``arrays`` (MeterArrays, native index order) report configuration
    changes to ``engine.dirty`` as ``("meter", array, index)``."""
    loc: dict[int, tuple[str, int, int]] = {}

    def _mark(m: Meter) -> None:
        key = loc.get(id(m))
        if key is not None:
            engine.dirty.add(key)

    class TrackedMeter(Meter):
        __slots__ = ()

        def set_rates(self, configs: Any) -> None:
            super().set_rates(configs)
            _mark(self)

        def reset_rates(self) -> None:
            super().reset_rates()
            _mark(self)

    engine.meter_objs = {}
    for ai, arr in enumerate(arrays):
        for mi, m in enumerate(arr.meters):
            m.__class__ = TrackedMeter
            loc[id(m)] = ("meter", ai, mi)
            engine.meter_objs[("meter", ai, mi)] = m


def sync_meter(engine: Any, key: tuple[str, int, int]) -> None:
    """Push one meter's configuration (tokens full, as ``Meter.set_rates`` leaves them)."""
    m = engine.meter_objs[key]
    ffi = engine.ffi
    rates = m.rates if m.configured else []
    r = ffi.new("double[]", [float(x[0]) for x in rates] or [0.0])
    b = ffi.new("int64_t[]", [int(x[1]) for x in rates] or [0])
    c = ffi.new("int32_t[]", [int(x[4]) for x in rates] or [0])
    engine.lib.meter_set(engine.ctx, key[1], key[2], len(rates), r, b, c)


class TrackedSet(set):
    """A parser value set's ``values`` that reports changes (``on_change()``)."""

    def __init__(self, values: Any, on_change: Any):
        super().__init__(values)
        self.on_change = on_change

    def add(self, v: Any) -> None:
        super().add(v)
        self.on_change()

    def discard(self, v: Any) -> None:
        super().discard(v)
        self.on_change()

    def remove(self, v: Any) -> None:
        super().remove(v)
        self.on_change()

    def clear(self) -> None:
        super().clear()
        self.on_change()


def track_vsets(engine: Any, vsets: list[Any]) -> None:
    """Native value sets follow ``vsets`` (ParseValueSets in native index order)."""
    engine.vset_objs = {}
    for i, vs in enumerate(vsets):
        key = ("vset", i, 0)
        engine.vset_objs[key] = vs
        vs.values = TrackedSet(vs.values, lambda key=key: engine.dirty.add(key))
        engine.dirty.add(key)


def sync_vset(engine: Any, key: tuple[str, int, int]) -> None:
    vals = sorted(engine.vset_objs[key].values)
    buf = engine.ffi.new("uint64_t[]", [w for v in vals for w in split128(v)] or [0])
    engine.lib.vset_set(engine.ctx, key[1], len(vals), buf)


def track_profiles(engine: Any, profiles: list[Any]) -> None:
    """Native action profiles follow ``profiles`` (ActionProfiles in native index order)."""
    from ..profiles import ActionProfile

    engine.prof_objs = {}
    index = {id(p): i for i, p in enumerate(profiles)}

    def mark(p: Any) -> None:
        i = index.get(id(p))
        if i is not None:
            engine.dirty.add(("prof", i, 0))

    def wrap(name: str) -> Any:
        base = getattr(ActionProfile, name)

        def fn(self: Any, *a: Any, **kw: Any) -> Any:
            try:
                return base(self, *a, **kw)
            finally:
                mark(self)

        return fn

    names = (
        "add_member",
        "modify_member",
        "delete_member",
        "create_group",
        "delete_group",
        "set_group_members",
    )
    tracked = type("TrackedProfile", (ActionProfile,), {n: wrap(n) for n in names})
    for i, p in enumerate(profiles):
        p.__class__ = tracked
        engine.prof_objs[("prof", i, 0)] = p
        engine.dirty.add(("prof", i, 0))


def sync_profile(engine: Any, key: tuple[str, int, int]) -> None:
    p = engine.prof_objs[key]
    ffi, lib, ctx = engine.ffi, engine.lib, engine.ctx
    members = sorted(p.members.items())
    groups = sorted(p.groups.items())
    if lib.prof_reset_i(ctx, key[1], len(members), len(groups)) != 0:
        raise MemoryError(f"native action profile {p.name}: out of memory")
    for i, (h, call) in enumerate(members):
        data = ffi.new("uint64_t[]", [w for v in call.args for w in split128(v)] or [0])
        lib.prof_member_i(ctx, key[1], i, h, call.aid, len(call.args), data)
    for i, (h, g) in enumerate(groups):
        slots = ffi.new("int64_t[]", list(g.slots) or [0])
        lib.prof_group_i(ctx, key[1], i, h, len(g.slots), slots)
