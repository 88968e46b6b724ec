"""The native engine's queues in C against the Python traffic manager: random traffic through
shaped, rate-limited, CQF-gated and priority ports on both engines with the same virtual clock
must give the same frames, at the same times, and the same counters."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sw_jsonlib import const, fld, op
from test_tm import prog as tm_prog

from p4target.switch import Switch
from p4target.switch.native import native_available

pytestmark = pytest.mark.skipif(not native_available(), reason="no C compiler / cffi")

SM = "standard_metadata"


def prog() -> dict:
    """test_tm's program, but the egress port is ``(seq & 3) + 1`` (ports 1..4)."""
    return tm_prog(op("+", op("&", fld("h", "seq"), const(3)), const(1)))


def charged(frame: bytes) -> int:
    """A custom frame size (not one the native queues know): a Python call per frame."""
    return len(frame) * (1 + frame[-1] % 3)


def run(engine: str, seed: int, frame_size: Any = None) -> dict[str, Any]:
    rng = random.Random(seed)
    sw = Switch(prog(), priority_queues=4, engine=engine)
    assert sw.engine_name == engine
    ports = {n: sw.add_port(n) for n in range(1, 5)}
    if frame_size is not None:
        sw.set_frame_size(frame_size)
    sw.set_link_rate(1, 8e6)  # port 1: 1 µs per byte, 30 µs away, short queues
    sw.set_port_delay(1, 30.0)
    sw.set_queue_depth(1, 5)
    sw.set_queue_rate(2, 20000, priority=0)  # port 2: queue 0 limited to 1 per 50 µs
    sw.set_queue_rate(2, 50000, priority=2)
    sw.set_queue_depth(2, 3, priority=0)
    sw.set_cqf(3, 100.0, t0_us=7.0, queues=(2, 3))  # port 3: CQF + link rate (4 queues)
    sw.set_link_rate(3, 16e6)
    # port 4: direct unless a burst finds it busy (no constraints)
    for _ in range(800):
        sw.advance(rng.choice([0, 0, 1, 5, 20, 60, 150]))
        burst = [
            (0, bytes([rng.randrange(8), rng.randrange(256)]) + bytes(24) + rng.randbytes(rng.randrange(4, 300)))
            for _ in range(rng.choice([1, 1, 1, 2, 5, 12]))
        ]  # fmt: skip
        if len(burst) == 1 and rng.random() < 0.5:
            sw.receive(*burst[0])
        else:
            sw.receive_batch(burst)
        if rng.random() < 0.05:
            sw.set_link_rate(1, rng.choice([4e6, 8e6, 32e6]))
        if rng.random() < 0.02:
            assert sw.queue_depth(1) == sum(sw.queue_depth(1, q) for q in range(4))
    depths = [sw.queue_depth(p) for p in range(1, 5)]
    sw.run_until_idle()
    st = sw.stats()
    return {
        "frames": {n: list(zip(p.received, p.received_at, strict=True)) for n, p in ports.items()},
        "stats": st,
        "tx_bytes": {n: ep.tx_bytes for n, ep in sw.tm.ports.items()},
        "depths": depths,
    }


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_native_queues_match_python(seed: int) -> None:
    py, nat = run("python", seed), run("native", seed)
    for n in range(1, 5):
        assert nat["frames"][n] == py["frames"][n], f"port {n}"
    assert nat["stats"] == py["stats"]
    assert nat["tx_bytes"] == py["tx_bytes"]
    assert nat["depths"] == py["depths"] and any(nat["depths"])
    drops = py["stats"]["drops"]
    assert drops["queue_full"] > 0 and drops["priority_out_of_range"] > 0
    assert py["stats"]["queues"][3]["cqf_overruns"] > 0 and len(py["frames"][3]) > 10


def test_native_queues_match_python_with_a_custom_frame_size() -> None:
    py, nat = run("python", 3, charged), run("native", 3, charged)
    assert nat == py
    assert sum(nat["tx_bytes"].values()) > sum(
        len(d) for fr in nat["frames"].values() for d, _t in fr
    )


def _bulk_frames(rng: random.Random) -> list[bytes]:
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrRouting
    from scapy.layers.l2 import Ether

    from traces.appproto import AppType, CpnApp

    out = []
    for i in range(60):
        app = CpnApp(
            type=rng.choice([AppType.BULK, AppType.DATA, AppType.BULK]),
            units=rng.choice([0, 1, 7, 300]),
            length=rng.randrange(1 << 20),
        )
        l4 = UDP(sport=1, dport=2) if i % 3 else TCP(sport=1, dport=2)
        ip: Any = IPv6(src="2001:db8::1", dst="2001:db8::2")
        if i % 4 == 1:
            ip = ip / IPv6ExtHdrRouting(addresses=["2001:db8::3"])
        if i % 5 == 2:
            ip = IPv6(src="2001:db8::9", dst="2001:db8::8") / ip
        eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        f = bytes(eth / ip / l4 / app / rng.randbytes(rng.randrange(0, 40)))
        if i % 7 == 3:
            f = f[: rng.randrange(len(f))]  # truncated
        out.append(f)
    return out


def test_native_bulk_rule_is_accounted_size() -> None:
    from p4target.switch.native.tmq import acct_mode
    from traces.appproto import accounted_size as rule

    assert acct_mode(rule) == 1 and acct_mode(None) == 0 and acct_mode(charged) == 2
    sw = Switch(prog(), engine="native")
    sw.set_frame_size(rule)
    q = sw._native.queues
    assert q.sync_acct() == 1
    frames = _bulk_frames(random.Random(5))
    assert sum(rule(f) != len(f) for f in frames) >= 10
    for f in frames:
        assert q.lib.tmq_acct_size(q.t, f, len(f)) == rule(f)


def test_aggregate_rule_rejects_a_layout_that_does_not_fit() -> None:
    from p4target.switch.errors import BadValueError
    from p4target.switch.framesize import AggregateFrameRule
    from traces.appproto import accounted_size as rule

    with pytest.raises(BadValueError, match="length_offset 42"):
        AggregateFrameRule(**{**rule.__dict__, "length_offset": 42})
    with pytest.raises(BadValueError, match="magic"):
        AggregateFrameRule(**{**rule.__dict__, "magic": b"\xc1"})
