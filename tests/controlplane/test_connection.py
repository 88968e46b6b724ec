"""SwitchConnection against embedded switches behind real P4Runtime servers: pipeline push,
sync (read, diff, write only the difference), a restarted controller that reconciles instead
of wiping, a restarted switch that gets its pipeline and intent back by itself, backup and
reclaim, refused writes."""

from __future__ import annotations

import threading

import pytest
from embedded_switch import free_address, policy_register, route, sample_entries, start_switch

from controlplane.connection import SwitchConnection
from controlplane.entries import Diff, SwitchIntent
from controlplane.netdesc import SwitchDesc
from controlplane.p4rt import NotPrimary, P4RuntimeClient, SwitchUnavailable, WriteError

FAST = (0.02, 0.3)  # backoff (first, max) for tests


def desc(address: str, device_id: int = 1) -> SwitchDesc:
    return SwitchDesc(f"s{device_id}", device_id, address, "transit", f"fc00:0:{device_id}::/48")


def intent_of(*items) -> SwitchIntent:
    it = SwitchIntent()
    it.extend(items)
    return it


@pytest.fixture
def conn(served, cpn_program):
    c = SwitchConnection(desc(served.address), cpn_program, backoff_s=FAST)
    yield c
    c.stop()


def held(c: SwitchConnection) -> list:
    return sorted(c.client.read_entries(), key=repr)


def canon(c: SwitchConnection, entries) -> list:
    return sorted((c.client.index.canonical(e) for e in entries), key=repr)


def test_start_pushes_the_pipeline_and_fires_on_ready(conn, served):
    seen = []
    states = []
    conn.on_ready(lambda c: seen.append((c.state, c.last_pipeline)))
    conn.on_state(lambda c, s: states.append(s))
    conn.start()
    assert conn.state == "ready" and seen == [("ready", "pushed")]
    assert states == ["connecting", "ready"]
    assert conn.client.pipeline_cookie() == conn.cookie
    conn.stop()
    assert conn.state == "down" and not conn.client.connected


def test_sync_writes_only_the_difference_and_a_restarted_controller_keeps_state(
    conn, served, cpn_program
):
    es = sample_entries()
    want = intent_of(*es, policy_register(1))
    conn.start()
    d = conn.sync(want)
    assert len(d.insert) == len(es) and d.registers == (policy_register(1),)
    assert not d.modify and not d.delete
    assert held(conn) == canon(conn, es)
    assert conn.client.read_register("CpnIngress.active_policy_version") == {0: 1}
    n = conn.client.updates_written
    assert conn.sync(want) == Diff() and conn.client.updates_written == n  # nothing to do
    conn.stop()

    # the controller restarts: same program (same cookie), the switch's state is kept
    again = SwitchConnection(desc(served.address), cpn_program, backoff_s=FAST)
    readies = []
    again.on_ready(lambda c: readies.append(c.last_pipeline))
    try:
        again.start()
        assert again.wait_ready(5) and readies == ["kept"]
        assert held(again) == canon(again, es)
        assert again.sync(want) == Diff() and again.client.updates_written == 0
        # a changed intent: one modified, one removed, one added, the register flipped
        moved = route("fd00:1::/64", 3)
        added = route("fd00:77::/64", 2)
        changed = want.copy()
        changed.add(moved, added, policy_register(2))
        gone = changed.remove_where(lambda e: e.table == "CpnIngress.flowlet.path_split")
        assert len(gone) == 1
        d = again.sync(changed)
        assert (d.insert, d.modify, d.registers) == ((added,), (moved,), (policy_register(2),))
        assert [e.table for e in d.delete] == ["CpnIngress.flowlet.path_split"]
        assert again.client.updates_written == 4
        assert held(again) == canon(again, changed.entries.values())
        assert again.client.read_register("CpnIngress.active_policy_version") == {0: 2}
    finally:
        again.stop()


def test_sync_deletes_entries_the_intent_no_longer_has_after_writing_the_new_ones(conn):
    conn.start()
    old = route("fd00:1::/64", 1)
    conn.sync(intent_of(old, policy_register(1)))
    calls = []
    real = conn.client.write
    conn.client.write = lambda ups, **kw: (calls.append([(op, type(x).__name__) for op, x in ups]), real(ups, **kw))[1]  # fmt: skip
    new = route("fd00:2::/64", 1)
    d = conn.sync(intent_of(new, policy_register(2)))
    assert (d.insert, d.delete) == ((new,), (old,))
    # the new route is in before the old one goes; the register in between
    assert calls == [
        [("insert", "TableEntry")],
        [("modify", "RegisterValue")],
        [("delete", "TableEntry")],
    ]
    assert held(conn) == [new]


def test_a_refused_write_raises_and_leaves_the_switch_unchanged(conn):
    conn.start()
    es = sample_entries()
    conn.sync(intent_of(*es))
    before = held(conn)
    bad = route("fd00:5::/64", 1000)  # port is bit<9>
    with pytest.raises(WriteError, match="OUT_OF_RANGE") as exc:
        conn.write_diff(Diff(insert=(route("fd00:6::/64", 1), bad)))  # ROLLBACK_ON_ERROR
    assert [(i, c) for i, c, _ in exc.value.errors] == [(0, "ABORTED"), (1, "OUT_OF_RANGE")]
    assert held(conn) == before
    with pytest.raises(WriteError, match="ALREADY_EXISTS"):
        conn.write_diff(Diff(insert=(es[1],)))
    assert held(conn) == before


def test_switch_restart_reconnects_pushes_the_pipeline_and_resyncs(cpn_program):
    address = free_address()
    first = start_switch(address)
    conn = SwitchConnection(desc(address), cpn_program, backoff_s=FAST, seed=3)
    want = intent_of(*sample_entries()[:4], policy_register(4))
    ready = threading.Event()
    pushes = []

    def resync(c: SwitchConnection) -> None:
        pushes.append(c.last_pipeline)
        c.sync(want)
        ready.set()

    conn.on_ready(resync)
    second = None
    try:
        conn.start()
        assert ready.wait(5) and pushes == ["pushed"]
        ready.clear()
        first.stop()  # the switch goes away ...
        assert conn.wait_state("down", "connecting", timeout=5)
        with pytest.raises(SwitchUnavailable):
            conn.sync(want)
        second = start_switch(address)  # ... and comes back empty on the same address
        assert ready.wait(10), conn.last_error
        assert pushes == ["pushed", "pushed"] and conn.state == "ready"
        assert conn.client.pipeline_cookie() == conn.cookie
        assert held(conn) == canon(conn, want.entries.values())
        assert conn.client.read_register("CpnIngress.active_policy_version") == {0: 4}
        assert conn.ready_count == 2
    finally:
        conn.stop()
        if second is not None:
            second.stop()


def test_a_switch_down_at_start_is_retried_until_it_comes_up(cpn_program):
    address = free_address()
    conn = SwitchConnection(desc(address), cpn_program, backoff_s=FAST)
    served = None
    try:
        conn.start()  # nothing listens yet: down, retried in the background
        assert conn.state in ("down", "connecting") and "cannot connect" in conn.last_error
        served = start_switch(address)
        assert conn.wait_ready(10) and conn.last_pipeline == "pushed"
    finally:
        conn.stop()
        if served is not None:
            served.stop()


def test_backup_when_another_controller_takes_over_then_reclaim(conn, served):
    readies = []
    conn.on_ready(lambda c: readies.append(c.last_pipeline))
    conn.start()
    conn.sync(intent_of(route("fd00:1::/64", 1)))
    other = P4RuntimeClient(served.address, 1, election_id=10, timeout_s=3)
    other.connect()  # a higher election id: it becomes primary
    try:
        assert conn.wait_state("backup", timeout=5)
        with pytest.raises(NotPrimary, match="backup"):
            conn.sync(intent_of())
        assert len(conn.client.read_entries()) == 1  # nothing was deleted
    finally:
        other.close()
    assert conn.state == "backup"  # the other one left: still not primary until reclaimed
    assert conn.reclaim(timeout=5)
    assert conn.client.election_id == 11 and readies == ["pushed", "kept"]
    assert conn.sync(intent_of()).delete  # writes again


def test_bad_backoff_is_refused(cpn_program):
    with pytest.raises(ValueError, match="backoff_s"):
        SwitchConnection(desc("127.0.0.1:1"), cpn_program, backoff_s=(1.0, 0.5))
