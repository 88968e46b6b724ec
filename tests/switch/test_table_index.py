"""The incremental lookup indices of ternary / optional / range tables (bisect insertion,
per-group priority counts, group order rebuilt lazily) against a brute-force reading of the
match semantics, under interleaved inserts, deletes, rolled-back batches, clears and lookups."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sw_jsonlib import table_prog

from p4target.switch import DuplicateEntryError, Optional, Range, Switch, Ternary
from p4target.switch.tables import Table

# (op, a, b, c, prio): op 0-4 insert, 5-6 delete the a-th live entry, 7 lookup (a, b),
# 8 a batch of two inserts that is rolled back, 9 delete then re-add in a rolled-back batch
OPS = st.lists(
    st.tuples(
        st.integers(0, 9),
        st.integers(0, 15),
        st.integers(0, 15),
        st.integers(0, 15),
        st.integers(0, 3),
    ),
    max_size=40,
)


class _Rollback(Exception):
    pass


def _want(live: dict[int, tuple], matches, probe: tuple[int, int]) -> int | None:  # noqa: ANN001
    best = None
    for h, (fields, prio) in live.items():
        if matches(fields, probe) and (
            best is None or prio > best[1] or (prio == best[1] and h < best[0])
        ):
            best = (h, prio)
    return best[0] if best else None


def _run(sw: Switch, ops, make_key, matches) -> None:  # noqa: ANN001
    """Apply ``ops``; after every step every probe of a small grid must agree with the
    brute-force answer."""
    t = sw.table("t")
    live: dict[int, tuple] = {}

    def add(a: int, b: int, c: int, prio: int) -> None:
        fields = make_key(a, b, c)
        try:
            h = sw.table_add("t", fields[0], "fwd", [1], priority=prio)
        except DuplicateEntryError:
            return
        live[h] = (fields[1], prio)

    for op, a, b, c, prio in ops:
        if op <= 4:
            add(a, b, c, prio)
        elif op <= 6 and live:
            h = sorted(live)[a % len(live)]
            sw.table_delete("t", h)
            del live[h]
        elif op == 8:
            before = dict(live)
            with pytest.raises(_Rollback), sw.batch():
                add(a, b, c, prio)
                add(b, c, a, 3 - prio)
                raise _Rollback
            live = before
        elif op == 9 and live:
            h = sorted(live)[a % len(live)]
            with pytest.raises((_Rollback, DuplicateEntryError)), sw.batch():
                sw.table_delete("t", h)
                sw.table_add("t", make_key(a, b, c)[0], "fwd", [2], priority=prio)
                raise _Rollback
        elif op == 3 and len(live) > 30:
            sw.table_clear("t")
            live.clear()
        for x in range(0, 16, 3):
            for y in range(0, 16, 5):
                got = t.lookup((x, y))
                assert (got.handle if got else None) == _want(live, matches, (x, y))
    assert {e["handle"] for e in sw.table_entries("t")} == set(live)


@settings(max_examples=80, deadline=None)
@given(ops=OPS)
def test_tuple_space_index_under_writes(ops) -> None:  # noqa: ANN001
    sw = Switch(table_prog([("ternary", 4), ("optional", 4)]).json())

    def make_key(a: int, b: int, c: int):  # noqa: ANN202
        opt = None if c % 3 == 0 else b
        return [Ternary(a & c, c), Optional(opt)], (a & c, c, opt)

    def matches(f, p) -> bool:  # noqa: ANN001
        v, m, opt = f
        return p[0] & m == v and (opt is None or opt == p[1])

    _run(sw, ops, make_key, matches)


@settings(max_examples=80, deadline=None)
@given(ops=OPS)
def test_priority_scan_index_under_writes(ops) -> None:  # noqa: ANN001
    sw = Switch(table_prog([("ternary", 4), ("range", 4)]).json())

    def make_key(a: int, b: int, c: int):  # noqa: ANN202
        lo, hi = min(b, c), max(b, c)
        return [Ternary(a & 0xC, 0xC), Range(lo, hi)], (a & 0xC, lo, hi)

    def matches(f, p) -> bool:  # noqa: ANN001
        v, lo, hi = f
        return p[0] & 0xC == v and lo <= p[1] <= hi

    _run(sw, ops, make_key, matches)


def test_group_order_rebuilt_once_per_burst_of_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes that change the best priority of a group do not re-sort anything; the first
    lookup afterwards rebuilds the group order once, later lookups use it as it is."""
    calls = []
    real = Table._rebuild_group_order

    def counting(self: Table) -> None:
        calls.append(self.name)
        real(self)

    monkeypatch.setattr(Table, "_rebuild_group_order", counting)
    sw = Switch(table_prog([("ternary", 16)], size=4096).json())
    t = sw.table("t")
    for i in range(2000):  # each one raises the best priority of one of two mask groups
        key = Ternary(i, 0xFFFF) if i % 2 else Ternary(i << 4, 0xFFF0)
        sw.table_add("t", [key], "fwd", [1], priority=i)
    assert calls == []
    assert t.lookup((1999,)).priority == 1999  # beats 124 << 4 of the other group
    assert t.lookup((6 << 4,)).priority == 6
    assert calls == ["MyIngress.t"]
    sw.table_delete("t", sw.table_find("t", [Ternary(1999, 0xFFFF)], 1999))
    assert t.lookup((1999,)).priority == 124  # 124 << 4 = 1984, the other group's
    assert t.lookup((1997,)).priority == 1997
    assert len(calls) == 2


def test_raising_a_groups_best_priority_reorders_the_groups() -> None:
    """Group A (exact mask) starts below group B (wildcard); an entry of A above B's best
    must win at once, and after it is deleted B's entry must win again."""
    sw = Switch(table_prog([("ternary", 8)]).json())
    t = sw.table("t")
    sw.table_add("t", [Ternary(7, 0xFF)], "fwd", [1], priority=1)  # group A
    sw.table_add("t", [Ternary(0, 0)], "fwd", [2], priority=5)  # group B
    assert t.lookup((7,)).priority == 5
    h = sw.table_add("t", [Ternary(8, 0xFF)], "fwd", [3], priority=9)  # A's best: 1 -> 9
    assert t.lookup((8,)).priority == 9
    assert t.lookup((7,)).priority == 5
    sw.table_delete("t", h)  # A's best back to 1
    assert t.lookup((8,)).priority == 5
    h2 = sw.table_add("t", [Ternary(7, 0xFF)], "fwd", [4], priority=5)  # a tie with B
    assert t.lookup((7,)).handle < h2  # equal priority: the entry added first wins
