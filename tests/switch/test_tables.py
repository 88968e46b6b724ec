"""Match-action tables: lookup semantics, control API errors, const entries, batches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sw_jsonlib import table_prog

from p4target.switch import (
    LPM,
    BadValueError,
    ConstTableError,
    DuplicateEntryError,
    EntryNotFoundError,
    Exact,
    Optional,
    Range,
    Switch,
    TableFullError,
    Ternary,
    UnknownNameError,
)


def send(sw: Switch, *values: int, widths: tuple[int, ...]) -> int | None:
    """Send a packet whose header carries ``values``; return the egress port or None."""
    x, total = 0, 0
    for v, w in zip(values, widths, strict=True):
        x = (x << w) | v
        total += w
    pad = (-total) % 8
    data = (x << pad).to_bytes((total + pad) // 8, "big")
    seen: list[int] = []
    sw.tx_callbacks[:] = [lambda port, _d: seen.append(port)]
    sw.receive(0, data)
    return seen[0] if seen else None


def test_exact_add_modify_delete_and_errors() -> None:
    sw = Switch(table_prog([("exact", 8), ("exact", 16)]).json())
    h = sw.table_add("t", [Exact(1), Exact(0x0800)], "fwd", [5])
    assert send(sw, 1, 0x0800, widths=(8, 16)) == 5
    assert send(sw, 1, 0x0801, widths=(8, 16)) is None
    with pytest.raises(DuplicateEntryError):
        sw.table_add("t", [1, 0x0800], "fwd", [6])
    sw.table_modify("MyIngress.t", h, "fwd", [7])
    assert send(sw, 1, 0x0800, widths=(8, 16)) == 7
    assert sw.table_find("t", [1, 0x0800]) == h
    assert sw.table_entries("t") == [
        {
            "handle": h,
            "key": [Exact(1), Exact(0x800)],
            "priority": 0,
            "packets": 0,
            "bytes": 0,
            "action": "MyIngress.fwd",
            "params": [7],
        }
    ]
    sw.table_delete("t", h)
    assert send(sw, 1, 0x0800, widths=(8, 16)) is None
    with pytest.raises(EntryNotFoundError):
        sw.table_delete("t", h)
    with pytest.raises(BadValueError):
        sw.table_add("t", [Exact(256), Exact(1)], "fwd", [1])  # does not fit 8 bits
    with pytest.raises(BadValueError):
        sw.table_add("t", [Exact(1)], "fwd", [1])  # wrong key length
    with pytest.raises(BadValueError):
        sw.table_add("t", [1, 2], "fwd", [512])  # port is 9 bits
    with pytest.raises(BadValueError):
        sw.table_add("t", [1, 2], "fwd", [])  # missing parameter
    with pytest.raises(UnknownNameError):
        sw.table_add("t", [1, 2], "nosuch", [])
    with pytest.raises(UnknownNameError):
        sw.table_add("nosuch", [1, 2], "fwd", [1])
    assert sw.table_entries("t") == []


def test_lpm_with_exact_field_prefers_longest() -> None:
    sw = Switch(table_prog([("exact", 8), ("lpm", 32)]).json())
    sw.table_add("t", [Exact(1), LPM(0x0A000000, 8)], "fwd", [1])
    sw.table_add("t", [Exact(1), LPM(0x0A010000, 16)], "fwd", [2])
    sw.table_add("t", [Exact(2), LPM(0, 0)], "fwd", [3])
    w = (8, 32)
    assert send(sw, 1, 0x0A010203, widths=w) == 2
    assert send(sw, 1, 0x0A020203, widths=w) == 1
    assert send(sw, 2, 0x0B000000, widths=w) == 3
    assert send(sw, 3, 0x0A010203, widths=w) is None
    with pytest.raises(BadValueError):  # bits beyond the prefix
        sw.table_add("t", [Exact(1), LPM(0x0A000001, 8)], "fwd", [1])


def test_ternary_larger_priority_wins_and_ties_go_to_first() -> None:
    sw = Switch(table_prog([("ternary", 16)]).json())
    sw.table_add("t", [Ternary(0x0800, 0xFF00)], "fwd", [1], priority=10)
    sw.table_add("t", [Ternary(0x0806, 0xFFFF)], "fwd", [2], priority=20)
    sw.table_add("t", [Ternary(0x0000, 0x0000)], "fwd", [3], priority=10)
    assert send(sw, 0x0806, widths=(16,)) == 2
    assert send(sw, 0x08AA, widths=(16,)) == 1  # priority 10 tie: added first wins
    assert send(sw, 0x1234, widths=(16,)) == 3
    with pytest.raises(BadValueError):
        sw.table_add("t", [Ternary(1, 1)], "fwd", [1])  # priority required
    # same key, different priority: two entries
    sw.table_add("t", [Ternary(0x0806, 0xFFFF)], "fwd", [4], priority=30)
    assert send(sw, 0x0806, widths=(16,)) == 4


def test_range_and_optional() -> None:
    sw = Switch(table_prog([("range", 16), ("optional", 8)]).json())
    sw.table_add("t", [Range(100, 200), Optional(None)], "fwd", [1], priority=1)
    sw.table_add("t", [Range(150, 160), Optional(7)], "fwd", [2], priority=5)
    w = (16, 8)
    assert send(sw, 155, 7, widths=w) == 2
    assert send(sw, 155, 8, widths=w) == 1
    assert send(sw, 99, 7, widths=w) is None
    assert send(sw, 200, 0, widths=w) == 1
    with pytest.raises(BadValueError):
        sw.table_add("t", [Range(5, 4), Optional(None)], "fwd", [1], priority=1)


def test_table_full() -> None:
    sw = Switch(table_prog([("exact", 8)], size=2).json())
    sw.table_add("t", [1], "fwd", [1])
    sw.table_add("t", [2], "fwd", [1])
    with pytest.raises(TableFullError):
        sw.table_add("t", [3], "fwd", [1])


def test_const_entries_first_listed_wins_and_cannot_change() -> None:
    entries = [
        {
            "match_key": [{"match_type": "ternary", "key": "0x08", "mask": "0xff"}],
            "action_entry": {"action_id": 0, "action_data": ["0x1"]},
            "priority": 1,
        },
        {
            "match_key": [{"match_type": "ternary", "key": "0x00", "mask": "0x00"}],
            "action_entry": {"action_id": 0, "action_data": ["0x2"]},
            "priority": 2,
        },
    ]
    sw = Switch(table_prog([("ternary", 8)], const_entries=entries, default_const=True).json())
    assert send(sw, 0x08, widths=(8,)) == 1
    assert send(sw, 0x09, widths=(8,)) == 2
    assert all(e["const"] for e in sw.table_entries("t"))
    with pytest.raises(ConstTableError):
        sw.table_add("t", [Ternary(1, 1)], "fwd", [3], priority=1)
    with pytest.raises(ConstTableError):
        sw.table_delete("t", 0)
    with pytest.raises(ConstTableError):
        sw.table_set_default("t", "fwd", [1])


def test_default_action_set_and_reset() -> None:
    sw = Switch(table_prog([("exact", 8)]).json())
    assert sw.table_get_default("t")["action"] == "MyIngress.drop"
    sw.table_set_default("t", "fwd", [9])
    assert send(sw, 1, widths=(8,)) == 9
    sw.table_reset_default("t")
    assert send(sw, 1, widths=(8,)) is None


def test_batch_is_rolled_back_on_error() -> None:
    sw = Switch(table_prog([("exact", 8)]).json())
    keep = sw.table_add("t", [1], "fwd", [1])
    with pytest.raises(DuplicateEntryError):
        with sw.batch():
            sw.table_add("t", [2], "fwd", [2])
            sw.table_delete("t", keep)
            sw.table_set_default("t", "fwd", [3])
            sw.table_add("t", [2], "fwd", [2])  # duplicate: the whole batch is undone
    assert [e["handle"] for e in sw.table_entries("t")] == [keep]
    assert send(sw, 1, widths=(8,)) == 1
    assert send(sw, 2, widths=(8,)) is None  # default is drop again
    with sw.batch():
        sw.table_add("t", [2], "fwd", [2])
    assert send(sw, 2, widths=(8,)) == 2


ENTRY = st.tuples(
    st.integers(0, 255),
    st.integers(0, 255),  # ternary value/mask
    st.integers(0, 255),
    st.integers(0, 255),  # range bounds
    st.integers(0, 8),  # lpm prefix length of field 3
    st.integers(0, 255),
    st.integers(0, 3),  # priority (small: many ties)
)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(ENTRY, max_size=12),
    probes=st.lists(
        st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
        min_size=1,
        max_size=10,
    ),
)
def test_lookup_matches_brute_force(entries, probes) -> None:  # noqa: ANN001
    """Ternary + range + lpm table against a direct reading of the match semantics."""
    sw = Switch(table_prog([("ternary", 8), ("range", 8), ("lpm", 8)]).json())
    t = sw.table("t")
    added = []
    for tv, tm, a, b, plen, lv, prio in entries:
        lo, hi = min(a, b), max(a, b)
        mask = 0xFF ^ ((1 << (8 - plen)) - 1)
        key = [Ternary(tv & tm, tm), Range(lo, hi), LPM(lv & mask, plen)]
        try:
            h = sw.table_add("t", key, "fwd", [len(added)], priority=prio)
        except DuplicateEntryError:
            continue
        added.append((h, tv & tm, tm, lo, hi, lv & mask, mask, prio))
    for x, y, z in probes:
        want = None
        for h, tv, tm, lo, hi, lv, mask, prio in added:
            if x & tm == tv and lo <= y <= hi and z & mask == lv:
                if want is None or prio > want[1] or (prio == want[1] and h < want[0]):
                    want = (h, prio)
        got = t.lookup((x, y, z))
        assert (got.handle if got else None) == (want[0] if want else None)


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(
        st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 3)), max_size=15
    ),
    probes=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255)), min_size=1, max_size=10),
)
def test_tuple_space_lookup_matches_brute_force(entries, probes) -> None:  # noqa: ANN001
    sw = Switch(table_prog([("ternary", 8), ("optional", 8)]).json())
    t = sw.table("t")
    added = []
    for v, m, prio in entries:
        opt = None if v % 3 == 0 else v
        try:
            h = sw.table_add("t", [Ternary(v & m, m), Optional(opt)], "fwd", [1], priority=prio)
        except DuplicateEntryError:
            continue
        added.append((h, v & m, m, opt, prio))
    for x, y in probes:
        want = None
        for h, v, m, opt, prio in added:
            if x & m == v and (opt is None or opt == y):
                if want is None or prio > want[1] or (prio == want[1] and h < want[0]):
                    want = (h, prio)
        got = t.lookup((x, y))
        assert (got.handle if got else None) == (want[0] if want else None)


def _selector_prog() -> dict:
    prog = table_prog([("exact", 8), ("exact", 8)])
    t = prog.pipelines["ingress"]["tables"][0]
    t["key"] = t["key"][:1]
    t["type"] = "indirect_ws"
    t["action_profile"] = "MyIngress.as"
    prog.pipelines["ingress"]["action_profiles"].append(
        {
            "name": "MyIngress.as",
            "id": 0,
            "max_size": 16,
            "selector": {"algo": "crc16", "input": [{"type": "field", "value": ["h", "k1"]}]},
        }
    )
    return prog.json()


def test_action_selector_weighted_groups() -> None:
    from p4target.switch import InUseError
    from p4target.switch.hashes import crc16

    sw = Switch(_selector_prog())
    m = [sw.profile_add_member("as", "fwd", [p]) for p in (1, 2, 3)]
    g = sw.profile_create_group("as")
    sw.profile_set_group_members("as", g, {m[0]: 1, m[1]: 3})
    sw.table_add("t", [Exact(1)], group=g)
    sw.table_add("t", [Exact(2)], member=m[2])
    slots = [1, 2, 2, 2]
    for flow in range(40):
        assert send(sw, 1, flow, widths=(8, 8)) == slots[crc16(bytes([flow])) % 4]
    assert send(sw, 2, 7, widths=(8, 8)) == 3
    with pytest.raises(InUseError):
        sw.profile_delete_member("as", m[0])
    with pytest.raises(BadValueError):
        sw.table_add("t", [Exact(3)], "fwd", [1])  # indirect table: member/group only
    sw.profile_set_group_members("as", g, {})
    assert send(sw, 1, 5, widths=(8, 8)) is None  # empty group: default action (drop)
    assert sw.profile_groups("as") == {g: {}}
    sw.profile_modify_member("as", m[2], "fwd", [9])
    assert send(sw, 2, 7, widths=(8, 8)) == 9


def test_idle_timeout_notifies_once_per_idle_period() -> None:
    prog = table_prog([("exact", 8)])
    prog.pipelines["ingress"]["tables"][0]["support_timeout"] = True
    sw = Switch(prog.json())
    expired = []
    sw.on_idle_timeout(lambda table, info: expired.append((table, info["handle"], sw.clock.now())))
    h = sw.table_add("t", [1], "fwd", [1], ttl_us=1000)
    sw.advance(500)
    send(sw, 1, widths=(8,))  # hit at t=500
    sw.advance(900)
    assert expired == [] and sw.table_entry_idle_time("t", h) == 900
    sw.advance(200)
    assert expired == [("MyIngress.t", h, 1500.0)]
    sw.advance(5000)
    assert len(expired) == 1  # once per idle period
    send(sw, 1, widths=(8,))  # hit again: a new period starts
    sw.advance(1000)
    assert len(expired) == 2
    with pytest.raises(BadValueError):
        Switch(table_prog([("exact", 8)]).json()).table_add("t", [1], "fwd", [1], ttl_us=10)


def test_batch_rolls_back_every_kind_of_write() -> None:
    from sw_jsonlib import action_prog

    def setup(p):  # noqa: ANN001
        p.registers.append({"name": "r", "id": 0, "size": 2, "bitwidth": 8})
        p.counters.append({"name": "c", "id": 0, "size": 2, "is_direct": False})
        p.meters.append(
            {
                "name": "m",
                "id": 0,
                "type": "packets",
                "rate_count": 2,
                "size": 1,
                "is_direct": False,
            }
        )

    sw = Switch(action_prog([("a", 8)], [], setup=setup).json())
    sw.register_write("r", 0, 1)
    sw.mc_set_group(1, [(1, 1)])
    with pytest.raises(BadValueError):
        with sw.batch():
            sw.register_write("r", 0, 9)
            sw.register_write("r", None, 7)
            sw.counter_write("c", 1, 5, 50)
            sw.meter_set_rates("m", 0, [(1.0, 10), (2.0, 20)])
            sw.mc_set_group(1, [(2, 2), (3, 3)])
            sw.mc_set_group(2, [(4, 4)])
            sw.mirroring_add(3, port=4)
            sw.register_write("r", 1, 300)  # does not fit 8 bits
    assert sw.register_read("r") == [1, 0]
    assert sw.counter_read("c", 1) == (0, 0)
    assert sw.meter_get_rates("m", 0) == []
    assert sw.mc_groups() == {1: [(1, 1)]}
    with pytest.raises(EntryNotFoundError):
        sw.mirroring_get(3)


def test_failed_load_keeps_the_running_program_and_no_program_drops() -> None:
    from p4target.switch import ConfigError, NoPipelineError

    sw = Switch()
    sw.receive(0, b"\x01")
    assert sw.stats()["drops"] == {"no_pipeline": 1}
    with pytest.raises(NoPipelineError):
        sw.table_add("t", [1], "fwd", [1])
    sw.load_config(table_prog([("exact", 8)]).json())
    sw.table_add("t", [1], "fwd", [3])
    bad = table_prog([("exact", 8)]).json()
    bad["actions"][0]["primitives"].append({"op": "frobnicate", "parameters": []})
    with pytest.raises(ConfigError, match="frobnicate"):
        sw.load_config(bad)
    assert send(sw, 1, widths=(8,)) == 3  # still the old program, entries kept
    sw.load_config(table_prog([("exact", 8)]).json())
    assert sw.table_entries("t") == []  # a new program starts empty
