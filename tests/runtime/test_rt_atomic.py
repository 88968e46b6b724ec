"""A DATAPLANE_ATOMIC batch is never seen half-applied by packets that flow while it runs."""

from __future__ import annotations

import threading
import time

from rt_harness import action, b, fm_exact, frame, table_entry, update

from p4target.protos import p4runtime_pb2

N = 300


def entries(prog, port: int, kind: str):
    return [
        update(
            kind,
            table_entry=table_entry(
                prog.table_id("FIngress.l2"),
                [fm_exact(1, b(0x100 + i))],
                action(prog.action_id("FIngress.fwd"), b(port)),
            ),
        )
        for i in range(N)
    ]


def test_dataplane_atomic_batch_is_never_half_applied(client, switch, rt_prog):
    client.write(*entries(rt_prog, 1, "INSERT"))
    seen: list[tuple[float, int]] = []
    switch.on_transmit(lambda port, data: seen.append((time.monotonic(), port)))
    pkts = [
        frame(dst=f"00:00:00:00:{(0x100 + i) >> 8:02x}:{(0x100 + i) & 0xFF:02x}") for i in range(N)
    ]
    stop = threading.Event()

    def sender():
        i = 0
        while not stop.is_set():
            switch.port(3).send(pkts[i % N])
            i += 1

    def wait_for_packets_after(ts: float, count: int = 20, timeout: float = 10.0) -> None:
        """Block until the sender got ``count`` packets out after ``ts`` (a busy CPU may starve
        the sender thread for a while; fixed sleeps made this test flaky under load)."""
        end = time.monotonic() + timeout
        while sum(1 for t_, _ in seen[-count:] if t_ > ts) < count:
            assert time.monotonic() < end, "the sender thread sent nothing"
            time.sleep(0.005)

    windows = []
    t = threading.Thread(target=sender)
    t.start()
    try:
        wait_for_packets_after(0.0)
        for port in (2, 1, 2):
            t0 = time.monotonic()
            client.write(
                *entries(rt_prog, port, "MODIFY"),
                atomicity=p4runtime_pb2.WriteRequest.DATAPLANE_ATOMIC,
            )
            t1 = time.monotonic()
            windows.append((t0, t1, port))
            wait_for_packets_after(t1)
    finally:
        stop.set()
        t.join()
    assert len(seen) > 60
    # after each batch returns, no packet may still see the old port; before it starts, none
    # may see the new one; within the batch's RPC the port flips exactly once
    for (t0, t1, new), prev in zip(windows, [1, 2, 1], strict=True):
        before = [p for ts, p in seen if ts < t0][-20:]
        during = [p for ts, p in seen if t0 <= ts <= t1]
        after = [p for ts, p in seen if ts > t1][:20]
        assert len(before) == 20 and set(before) == {prev}
        assert len(after) == 20 and set(after) == {new}
        flips = sum(1 for x, y in zip(during, during[1:], strict=False) if x != y)
        assert flips <= 1 and (not during or during[-1] == new or flips == 0), during
