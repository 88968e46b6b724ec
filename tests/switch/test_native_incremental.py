"""Incremental native table writes (``native/tablesync.py``, ``tbl_insert`` / ``tbl_delete`` /
``tbl_modify`` in ``tables_rt.c``): after random inserts, modifies, deletes, rolled-back batches,
default changes and clears, every key's native lookup is the Python engine's; per-entry state
survives a modify; single writes into a 10,000-entry table never re-index it wholesale."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sw_jsonlib import table_prog
from test_tables import _selector_prog

from p4target.switch import LPM, DuplicateEntryError, Exact, Optional, Range, Switch, Ternary
from p4target.switch.native import native_available, tablesync
from p4target.switch.native.state import table_stats

pytestmark = pytest.mark.skipif(not native_available(), reason="no C compiler / cffi")

# key layouts; every key of the (small) space is probed after each write
LAYOUTS = {
    "exact": [("exact", 6), ("exact", 3)],
    "lpm": [("lpm", 8), ("exact", 2)],
    "ternary": [("ternary", 6), ("optional", 3)],
    "range": [("range", 6), ("ternary", 3)],
}
PRIORITIZED = {"ternary", "range"}
PORTS = 8


def make_key(kind: str, a: int, b: int, c: int) -> list:
    if kind == "exact":
        return [Exact(a & 63), Exact(b & 7)]
    if kind == "lpm":
        plen = c % 9
        mask = (0xFF << (8 - plen)) & 0xFF
        return [LPM((a * 37) & mask, plen), Exact(b & 3)]
    if kind == "ternary":
        m = (c * 11) & 63
        return [Ternary(a & m, m), Optional(None if c % 3 == 0 else b & 7)]
    lo, hi = sorted((a & 63, (a + c * 5) & 63))
    m = c & 7
    return [Range(lo, hi), Ternary(b & m, m)]


def probes(kind: str) -> list[tuple[int, int]]:
    w0, w1 = LAYOUTS[kind][0][1], LAYOUTS[kind][1][1]
    return [(x, y) for x in range(1 << w0) for y in range(1 << w1)]


def native_find(sw: Switch, name: str, keys: list[tuple[int, ...]]) -> list[int | None]:
    """Handles the native index returns for ``keys`` (None: miss)."""
    eng = sw._native
    eng.sync()
    ti = eng.tindex[id(sw.table(name))]
    out = []
    for k in keys:
        buf = eng.ffi.new("uint64_t[]", [w for v in k for w in (v, 0)])
        h = eng.lib.tbl_find_i(eng.ctx, ti, buf)
        assert h >= -1
        out.append(None if h < 0 else h)
    return out


def frame(kind: str, key: tuple[int, int]) -> bytes:
    (_m0, w0), (_m1, w1) = LAYOUTS[kind]
    total = w0 + w1
    pad = (-total) % 8
    return (((key[0] << w1) | key[1]) << pad).to_bytes((total + pad) // 8, "big")


class _Rollback(Exception):
    pass


OPS = st.lists(
    st.tuples(
        st.integers(0, 11),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=30,
)


def _pair(kind: str) -> tuple[Switch, Switch]:
    prog = table_prog(LAYOUTS[kind], size=4096).json()
    sws = Switch(prog, engine="python"), Switch(prog, engine="native")
    for sw in sws:
        for p in range(PORTS):
            sw.add_port(p)
    return sws


def _check(py: Switch, nat: Switch, kind: str, keys: list[tuple[int, int]]) -> None:
    t = py.table("t")
    want = [(e.handle if (e := t.lookup(k)) is not None else None) for k in keys]
    assert native_find(nat, "t", keys) == want


def _run(kind: str, ops: list[tuple[int, int, int, int, int]]) -> None:
    py, nat = _pair(kind)
    keys = probes(kind)
    prio_of = (lambda p: p) if kind in PRIORITIZED else (lambda p: None)
    live: list[int] = []
    clears = 0

    def both(fn) -> list:  # noqa: ANN001
        res = []
        for sw in (py, nat):
            try:
                res.append(("ok", fn(sw)))
            except DuplicateEntryError:
                res.append(("dup", None))
        assert res[0] == res[1]
        return res[0]

    def add(a: int, b: int, c: int, prio: int) -> None:
        key = make_key(kind, a, b, c)
        st_, h = both(
            lambda sw: sw.table_add("t", key, "fwd", [(a + b) % PORTS], priority=prio_of(prio))
        )
        if st_ == "ok":
            live.append(h)

    for op, a, b, c, prio in ops:
        if op <= 3:
            add(a, b, c, prio)
        elif op <= 5 and live:
            h = live[a % len(live)]
            if b % 4:
                both(lambda sw, h=h, b=b: sw.table_modify("t", h, "fwd", [b % PORTS]))
            else:
                both(lambda sw, h=h: sw.table_modify("t", h, "drop", []))
        elif op <= 7 and live:
            h = live.pop(a % len(live))
            both(lambda sw, h=h: sw.table_delete("t", h))
        elif op == 8:
            for sw in (py, nat):  # insert, modify, delete, all undone
                with pytest.raises((_Rollback, DuplicateEntryError)), sw.batch():
                    sw.table_add("t", make_key(kind, a, b, c), "fwd", [1], priority=prio_of(prio))
                    if live:
                        sw.table_modify("t", live[b % len(live)], "fwd", [c % PORTS])
                        sw.table_delete("t", live[c % len(live)])
                    raise _Rollback
        elif op == 9:
            both(lambda sw, a=a: sw.table_set_default("t", "fwd", [a % PORTS]))
        elif op == 10 and len(live) > 12:
            both(lambda sw: sw.table_clear("t"))
            live.clear()
            clears += 1
        else:
            add(b, c, a, 3 - prio)
        _check(py, nat, kind, keys)
    # the packets take the same actions (action data, default) on both engines
    sample = keys[:: max(1, len(keys) // 64)]
    outs = []
    for sw in (py, nat):
        sw.receive_batch([(0, frame(kind, k)) for k in sample])
        outs.append({p: port.take() for p, port in sw.ports.items()})
    assert outs[0] == outs[1]
    stats = table_stats(nat._native, nat._native.tindex[id(nat.table("t"))])
    assert stats["entries"] == len(py.table("t").entries)
    assert stats["builds"] <= 1 + clears  # the first sync, then one per clear at most


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ops=OPS)
def test_exact_lookups_match_python_under_writes(ops) -> None:  # noqa: ANN001
    _run("exact", ops)


@SETTINGS
@given(ops=OPS)
def test_lpm_lookups_match_python_under_writes(ops) -> None:  # noqa: ANN001
    _run("lpm", ops)


@SETTINGS
@given(ops=OPS)
def test_ternary_lookups_match_python_under_writes(ops) -> None:  # noqa: ANN001
    _run("ternary", ops)


@SETTINGS
@given(ops=OPS)
def test_range_lookups_match_python_under_writes(ops) -> None:  # noqa: ANN001
    _run("range", ops)


def test_many_groups_and_priorities_in_tuple_space() -> None:
    """Hundreds of mask groups and priorities: group order and per-group best priority
    follow inserts and deletes in every order."""
    py, nat = _pair("ternary")
    keys = probes("ternary")
    handles = []
    for i in range(600):
        m = (i * 7) & 63
        key = [Ternary((i * 13) & m, m), Optional(None if i % 4 else i & 7)]
        try:
            hs = [
                sw.table_add("t", key, "fwd", [i % PORTS], priority=(i * 31) % 97)
                for sw in (py, nat)
            ]
        except DuplicateEntryError:
            continue
        assert hs[0] == hs[1]
        handles.append(hs[0])
    _check(py, nat, "ternary", keys)
    for h in sorted(handles, key=lambda h: -py.table("t").entries[h].priority)[::2]:
        for sw in (py, nat):
            sw.table_delete("t", h)
    _check(py, nat, "ternary", keys)


@pytest.mark.parametrize("keep", [5, 1500])
@pytest.mark.parametrize("kind", ["exact", "ternary", "lpm"])
def test_churn_of_inserts_and_deletes(kind: str, keep: int) -> None:
    """Hash tables grow, empty by backward-shift deletion (clusters wrapping around the end of
    a small slot array included) and chain equal keys: 3000 random inserts, each followed by
    the delete of a random entry once ``keep`` are live; written keys are looked up on both
    engines as the writes go."""
    rnd = random.Random(keep)
    prog = table_prog([(kind, 16)], size=8192).json()
    py, nat = Switch(prog, engine="python"), Switch(prog, engine="native")
    t = py.table("t")
    live: list[int] = []
    seen: set[int] = set()
    every = 1 if keep < 100 else 500
    for step in range(3000):
        v = rnd.randrange(1 << 16) if keep > 100 else rnd.randrange(64) * 997
        if kind == "ternary":
            key, prio = [Ternary(v & 0xFFF0, 0xFFF0 if v & 1 else 0xFFFF)], rnd.randrange(4)
        elif kind == "lpm":
            plen = rnd.choice((8, 12, 16))
            key, prio = [LPM(v & (0xFFFF << (16 - plen)) & 0xFFFF, plen)], None
        else:
            key, prio = [Exact(v)], None
        try:
            hs = [sw.table_add("t", key, "fwd", [1], priority=prio) for sw in (py, nat)]
            live.append(hs[0])
            seen.add(v)
        except DuplicateEntryError:
            pass
        if len(live) > keep:
            h = live.pop(rnd.randrange(len(live)))
            for sw in (py, nat):
                sw.table_delete("t", h)
        if step % every == 0:
            keys = [(x,) for x in sorted(seen)]
            want = [(e.handle if (e := t.lookup(k)) is not None else None) for k in keys]
            assert native_find(nat, "t", keys) == want
    assert table_stats(nat._native, 0)["builds"] == 1


def _counted_prog() -> dict:
    prog = table_prog([("ternary", 8)])
    t = prog.pipelines["ingress"]["tables"][0]
    t["with_counters"] = True
    t["support_timeout"] = True
    prog.counters.append(
        {"name": "MyIngress.dc", "id": 0, "is_direct": True, "binding": "MyIngress.t"}
    )
    return prog.json()


def test_entry_state_kept_across_modify_delete_and_rollback() -> None:
    sws = [Switch(_counted_prog(), engine=e) for e in ("python", "native")]
    for sw in sws:
        for p in range(PORTS):
            sw.add_port(p)
    results = []
    for sw in sws:
        h1 = sw.table_add("t", [Ternary(0x10, 0xF0)], "fwd", [1], priority=1)
        h2 = sw.table_add("t", [Ternary(0x11, 0xFF)], "fwd", [2], priority=5)
        sw.receive_batch([(0, bytes([0x12]) + bytes(9))] * 3 + [(0, bytes([0x11]))] * 2)
        sw.advance(100)
        sw.table_modify("t", h1, "fwd", [3])  # counters, idle stamp stay
        sw.table_add("t", [Ternary(0x20, 0xF0)], "fwd", [4], priority=1)  # other writes
        sw.receive(0, bytes([0x13]) + bytes(4))
        c1 = sw.table_entry_counter("t", h1)
        with pytest.raises(_Rollback), sw.batch():  # deleted and restored: counts kept
            sw.table_delete("t", h1)
            sw.table_modify("t", h2, "drop", [])
            raise _Rollback
        sw.receive(0, bytes([0x14]))
        sw.receive(0, bytes([0x11]))
        results.append(
            (
                c1,
                sw.table_entry_counter("t", h1),
                sw.table_entry_counter("t", h2),
                sw.table_entry_idle_time("t", h1),
                {p: port.take() for p, port in sw.ports.items()},
            )
        )
    assert results[0] == results[1]
    assert results[1][0] == (4, 35) and results[1][1] == (5, 36) and results[1][2] == (3, 3)
    assert [len(v) for p, v in sorted(results[1][4].items())] == [0, 3, 3, 2, 0, 0, 0, 0]


def test_indirect_table_modify_switches_member_and_group() -> None:
    sw = Switch(_selector_prog(), engine="native")
    for p in range(PORTS):
        sw.add_port(p)
    m = [sw.profile_add_member("as", "fwd", [p]) for p in (1, 2)]
    g = sw.profile_create_group("as")
    sw.profile_set_group_members("as", g, {m[1]: 1})
    h = sw.table_add("t", [Exact(1)], member=m[0])

    def port() -> int:
        sw.receive(0, bytes([1, 9]))
        got = [p for p, x in sw.ports.items() if x.take()]
        return got[0] if got else -1

    assert port() == 1
    sw.table_modify("t", h, group=g)
    assert port() == 2
    sw.table_modify("t", h, member=m[0])
    assert port() == 1
    assert table_stats(sw._native, 0)["builds"] == 1


def test_one_write_into_10k_entries_does_no_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    sw = Switch(table_prog([("exact", 16)], size=20000).json(), engine="native")
    for p in range(PORTS):
        sw.add_port(p)
    for i in range(10000):
        sw.table_add("t", [Exact(i)], "fwd", [i % 7])
    sw.receive(0, (5).to_bytes(2, "big"))  # first sync: one wholesale build
    assert sw.ports[5].take() == [(5).to_bytes(2, "big")]
    ti = sw._native.tindex[id(sw.table("t"))]
    s0 = table_stats(sw._native, ti)
    assert s0["builds"] == 1 and s0["entries"] == 10000

    h = sw.table_add("t", [Exact(10001)], "fwd", [7])
    sw.receive(0, (10001).to_bytes(2, "big"))
    assert sw.ports[7].take() == [(10001).to_bytes(2, "big")]
    sw.table_modify("t", h, "fwd", [6])
    sw.table_delete("t", sw.table_find("t", [Exact(3)]))
    sw.receive(0, (10001).to_bytes(2, "big"))
    sw.receive(0, (3).to_bytes(2, "big"))  # deleted: default drop
    assert sw.ports[6].take() == [(10001).to_bytes(2, "big")]
    assert not any(p.take() for p in sw.ports.values())
    s1 = table_stats(sw._native, ti)
    assert s1["builds"] == 1 and s1["writes"] == 3 and s1["entries"] == 10000

    sw.table_clear("t")  # clear: wholesale (of nothing)
    sw.receive(0, (5).to_bytes(2, "big"))
    assert table_stats(sw._native, ti) == {"builds": 2, "writes": 3, "entries": 0, "groups": 0}

    monkeypatch.setattr(tablesync, "incremental", False)  # the wholesale baseline
    sw.table_add("t", [Exact(1)], "fwd", [1])
    sw.receive(0, (1).to_bytes(2, "big"))
    assert table_stats(sw._native, ti)["builds"] == 3
    assert sw.ports[1].take() == [(1).to_bytes(2, "big")]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CPN_P4_NATIVE_SANITIZE") == "1", reason="already sanitized")
def test_this_file_under_sanitizers() -> None:
    """Every test above again, on an AddressSanitizer + UndefinedBehaviorSanitizer build."""
    from p4target.switch.native.build import sanitizer_env

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
        + [__file__],
        env=sanitizer_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
