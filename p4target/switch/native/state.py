"""Python views of the native engine's memory: registers, counters and table mirrors.

The control API keeps its Python objects (``Switch.registers`` / ``counters`` / ``tables``);
for the native engine registers and counters are these classes, which read and write the C
arrays; tables are tracked (:mod:`.tablesync`): the entries a write touched are re-indexed in
native memory before the next packet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadValueError
from ..stateful import Meter, RegisterChecks
from .tablesync import NativeEntry, TrackedTable, split128, sync_table, table_stats

M64 = (1 << 64) - 1

__all__ = ["NativeEntry", "TrackedTable", "split128", "sync_table", "table_stats"]


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
