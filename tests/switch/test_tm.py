"""Traffic manager: strict priorities, queue depth and rate, link serialisation, CQF gates,
queueing metadata and timestamps, linked switches on a shared virtual clock."""

from __future__ import annotations

from typing import Any

from sw_jsonlib import action_prog, assign, const, fld, op

from p4target.switch import MemoryPort, Switch, VirtualClock

SM = "standard_metadata"
FIELDS = [
    ("prio", 8),
    ("seq", 8),
    ("ets", 32),
    ("edepth", 16),
    ("dtd", 32),
    ("ddepth", 16),
    ("igts", 48),
    ("egts", 48),
]


def prog(egress_spec: Any = None) -> dict:
    """Priority from ``h.prio``, out of port 1 (or ``egress_spec``); egress stamps the queue
    metadata into the header."""
    ingress = [
        assign(fld(SM, "priority"), op("&", fld("h", "prio"), const(7))),
        assign(fld(SM, "egress_spec"), const(1) if egress_spec is None else egress_spec),
    ]
    egress = [
        assign(fld("h", "ets"), fld(SM, "enq_timestamp")),
        assign(fld("h", "edepth"), op("&", fld(SM, "enq_qdepth"), const(0xFFFF))),
        assign(fld("h", "dtd"), fld(SM, "deq_timedelta")),
        assign(fld("h", "ddepth"), op("&", fld(SM, "deq_qdepth"), const(0xFFFF))),
        assign(fld("h", "igts"), fld(SM, "ingress_global_timestamp")),
        assign(fld("h", "egts"), fld(SM, "egress_global_timestamp")),
    ]
    return action_prog(FIELDS, ingress, egress).json()


def pkt(prio: int, seq: int) -> bytes:
    return bytes([prio, seq]) + bytes(24) + bytes(74)  # 100 bytes


def decode(data: bytes) -> dict[str, int]:
    out, pos = {}, 0
    x = int.from_bytes(data[:26], "big")
    for name, w in reversed(FIELDS):
        out[name] = (x >> pos) & ((1 << w) - 1)
        pos += w
    return out


def test_strict_priority_larger_first() -> None:
    sw = Switch(prog(), priority_queues=8)
    port = sw.add_port(1)
    sw.set_link_rate(1, 8e6)  # 100 bytes take 100 µs
    for seq, prio in enumerate([0, 1, 7, 3, 7]):
        sw.receive(0, pkt(prio, seq))
    sw.run_until_idle()
    order = [decode(d)["seq"] for d in port.take()]
    assert order == [0, 2, 4, 3, 1]  # the first went out at once; then 7, 7, 3, 1


def test_priority_beyond_queues_is_dropped() -> None:
    sw = Switch(prog())  # one queue, as simple_switch without --priority-queues
    port = sw.add_port(1)
    sw.receive(0, pkt(1, 0))
    sw.receive(0, pkt(0, 1))
    assert [decode(d)["seq"] for d in port.take()] == [1]
    assert sw.stats()["drops"]["priority_out_of_range"] == 1


def test_queue_depth_limit_and_queueing_metadata() -> None:
    sw = Switch(prog())
    port = sw.add_port(1)
    sw.set_link_rate(1, 8e6)
    sw.set_queue_depth(1, 2)
    sw.advance(1000)
    for seq in range(5):
        sw.receive(0, pkt(0, seq))
    assert sw.queue_depth(1) == 2
    sw.run_until_idle()
    times = list(port.received_at)
    got = [decode(d) for d in port.take()]
    assert [g["seq"] for g in got] == [0, 1, 2]
    assert sw.stats()["drops"]["queue_full"] == 2
    assert [g["edepth"] for g in got] == [0, 0, 1]
    assert [g["dtd"] for g in got] == [0, 100, 200]
    assert [g["ddepth"] for g in got] == [0, 1, 0]
    assert all(g["ets"] == 1000 and g["igts"] == 1000 for g in got)
    assert [g["egts"] for g in got] == [1000, 1100, 1200]
    assert times == [1100.0, 1200.0, 1300.0]  # serialised on the wire


def test_queue_rate_limit_spaces_departures() -> None:
    sw = Switch(prog())
    port = sw.add_port(1)
    sw.set_queue_rate(1, 1000)  # 1000 packets/s: one per ms
    for seq in range(3):
        sw.receive(0, pkt(0, seq))
    sw.run_until_idle()
    assert list(port.received_at) == [0.0, 1000.0, 2000.0]


def test_cqf_gates_alternate_queues() -> None:
    sw = Switch(prog(), priority_queues=2)
    port = sw.add_port(1)
    sw.set_cqf(1, 100.0)
    sw.advance(10)  # cycle 0: queue 0 open
    sw.receive(0, pkt(1, 1))  # queue 1 waits for cycle 1
    sw.receive(0, pkt(0, 0))  # goes now
    sw.run_until_idle()
    assert [
        (decode(d)["seq"], t) for d, t in zip(port.received, port.received_at, strict=True)
    ] == [(0, 10.0), (1, 100.0)]
    assert sw.stats()["queues"][1]["cqf_overruns"] == 0


def test_cqf_counts_overruns_when_the_window_is_too_short() -> None:
    sw = Switch(prog(), priority_queues=2)
    port = sw.add_port(1)
    sw.set_cqf(1, 250.0)
    sw.set_link_rate(1, 8e6)  # 100 µs per packet: 3 fit in a 250 µs window
    for seq in range(4):
        sw.receive(0, pkt(1, seq))  # cycle 0: queue 1 opens at 250
    sw.run_until_idle()
    times = list(port.received_at)
    assert times[:3] == [350.0, 450.0, 550.0]
    assert times[3] == 850.0  # waited for the next window of queue 1 (750..1000)
    assert sw.stats()["queues"][1]["cqf_overruns"] == 1
    assert sw.stats()["events"]["cqf_overrun"] == 1


def test_two_switches_over_a_delayed_link() -> None:
    clock = VirtualClock()
    a, b = Switch(prog(), clock=clock, name="a"), Switch(prog(), clock=clock, name="b")
    a_out = a.add_port(1)
    b_in = b.add_port(0)
    b_out = b.add_port(1)
    a_out.connect(b_in, delay_us=50.0)
    assert isinstance(b_out, MemoryPort)
    clock.advance(5)
    a.receive(0, pkt(0, 9))
    clock.run_until_idle()
    (d,) = b_out.take()
    assert decode(d)["igts"] == 55 and list(b_out.received_at) in ([], [55.0])


def test_cqf_on_a_queue_pair_leaves_other_queues_ungated() -> None:
    sw = Switch(prog(), priority_queues=8)
    port = sw.add_port(1)
    sw.set_cqf(1, 100.0, queues=(6, 7))
    sw.advance(10)  # cycle 0: queue 6 open, 7 closed
    sw.receive(0, pkt(7, 1))
    sw.receive(0, pkt(6, 2))
    sw.receive(0, pkt(0, 3))  # best effort: not gated
    sw.run_until_idle()
    got = [(decode(d)["seq"], t) for d, t in zip(port.received, port.received_at, strict=True)]
    assert got == [(2, 10.0), (3, 10.0), (1, 100.0)]


def test_port_delay_after_serialisation() -> None:
    sw = Switch(prog())
    port = sw.add_port(1)
    sw.set_link_rate(1, 8e6)  # 100 µs per 100-byte packet
    sw.set_port_delay(1, 1000.0)
    for seq in range(2):
        sw.receive(0, pkt(0, seq))
    sw.run_until_idle()
    assert list(port.received_at) == [1100.0, 1200.0]
    assert [decode(d)["egts"] for d in port.received] == [0, 100]
