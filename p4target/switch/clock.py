"""Clocks and event scheduling, in microseconds.

* :class:`VirtualClock`: time moves only when told (``advance``, ``run_until``,
  ``run_until_idle``); events run in time order, ties in scheduling order.  Several switches
  (and links between them) can share one virtual clock: that is how an in-process network
  stays deterministic.
* :class:`WallClock`: time is the monotonic clock since creation; a background thread runs
  the events when they are due.

Both offer ``now()`` and ``call_at(t, fn, *args)`` / ``call_later(dt, fn, *args)``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any


class Clock:
    """Interface shared by both clocks."""

    virtual = False

    def now(self) -> float:
        raise NotImplementedError

    def call_at(self, t: float, fn: Callable[..., Any], *args: Any) -> None:
        raise NotImplementedError

    def call_later(self, dt: float, fn: Callable[..., Any], *args: Any) -> None:
        self.call_at(self.now() + dt, fn, *args)

    def close(self) -> None:
        pass


class VirtualClock(Clock):
    """Deterministic simulated time."""

    virtual = True

    def __init__(self, start_us: float = 0.0):
        self._now = float(start_us)
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._running = False
        self.lock = threading.RLock()

    def now(self) -> float:
        return self._now

    def call_at(self, t: float, fn: Callable[..., Any], *args: Any) -> None:
        if t < self._now:
            t = self._now
        heapq.heappush(self._heap, (t, next(self._seq), fn, args))

    def pending(self) -> int:
        return len(self._heap)

    def next_event_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_due(self) -> int:
        """Run every event due at or before the current time; return how many ran."""
        heap = self._heap
        if not heap or heap[0][0] > self._now:
            return 0
        return self.run_until(self._now)

    def run_until(self, t: float) -> int:
        """Run events up to time ``t`` (inclusive) and leave the clock at ``t``."""
        n = 0
        with self.lock:
            if self._running:  # re-entrant call from an event: the outer loop handles it
                return 0
            self._running = True
            try:
                heap = self._heap
                while heap and heap[0][0] <= t:
                    et, _seq, fn, args = heapq.heappop(heap)
                    if et > self._now:
                        self._now = et
                    fn(*args)
                    n += 1
                if t > self._now:
                    self._now = t
            finally:
                self._running = False
        return n

    def advance(self, dt: float) -> int:
        """Move time forward by ``dt`` µs, running the events that fall due."""
        return self.run_until(self._now + dt)

    def run_until_idle(self, limit_us: float | None = None, max_events: int = 10_000_000) -> int:
        """Run events until none is left (or time would pass ``now + limit_us``)."""
        end = None if limit_us is None else self._now + limit_us
        n = 0
        while self._heap and n < max_events:
            t = self._heap[0][0]
            if end is not None and t > end:
                break
            n += self.run_until(t)
        if end is not None and self._now < end and not self._heap:
            pass
        return n


class WallClock(Clock):
    """Real time since creation; events run on a daemon thread."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="p4switch-clock", daemon=True)
        self._thread.start()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * 1e6

    def call_at(self, t: float, fn: Callable[..., Any], *args: Any) -> None:
        with self._cv:
            heapq.heappush(self._heap, (t, next(self._seq), fn, args))
            self._cv.notify()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._stop:
                    if self._heap:
                        delay = (self._heap[0][0] - self.now()) / 1e6
                        if delay <= 0:
                            break
                        self._cv.wait(min(delay, 0.5))
                    else:
                        self._cv.wait(0.5)
                if self._stop:
                    return
                _t, _s, fn, args = heapq.heappop(self._heap)
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - an event must not kill the clock
                import logging

                logging.getLogger("p4target.switch").exception("event failed")

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
