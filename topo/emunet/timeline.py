"""The network's own callbacks (``at``/``every``) and the loop that runs the virtual clock.

Packet events (queues, links, pipelines) live on the shared :class:`VirtualClock`; callbacks
scheduled with :meth:`Timeline.at` / :meth:`Timeline.every` (a controller's interval, a
fault at a given time, a workload step) live here and run *between* clock segments: every
packet event due at or before a callback's time has run, and no clock or switch lock is held,
so a callback may call a P4Runtime server of the network over gRPC (its threads need the
switch locks) without deadlocking. Same seed, same callbacks: same event order and times.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from p4target.switch import VirtualClock


class Timer:
    """A scheduled callback; :meth:`cancel` stops it (a periodic one stops repeating)."""

    __slots__ = ("due_us", "interval_us", "fn", "args", "cancelled", "calls")

    def __init__(
        self, due_us: float, interval_us: float, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        self.due_us = due_us
        self.interval_us = interval_us
        self.fn = fn
        self.args = args
        self.cancelled = False
        self.calls = 0

    def cancel(self) -> None:
        self.cancelled = True


class Timeline:
    """Callbacks in seconds of virtual time, and ``run_until`` over the clock and them."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._running = threading.Lock()
        self._owner: int | None = None  # thread id of the thread running the network
        self.events = 0  # clock events processed by run_until

    def now(self) -> float:
        return self.clock.now() / 1e6

    def at(self, t_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` once at virtual time ``t_s`` (now if that has passed)."""
        return self._push(Timer(max(t_s * 1e6, self.clock.now()), 0.0, fn, args))

    def every(
        self, interval_s: float, fn: Callable[..., Any], *args: Any, start_s: float | None = None
    ) -> Timer:
        """Run ``fn(*args)`` every ``interval_s`` from ``start_s`` (default: now + interval)."""
        if not interval_s > 0 or not math.isfinite(interval_s):
            raise ValueError(f"every(): interval_s must be a positive number, got {interval_s}")
        first = self.clock.now() + interval_s * 1e6 if start_s is None else start_s * 1e6
        return self._push(Timer(max(first, self.clock.now()), interval_s * 1e6, fn, args))

    def _push(self, timer: Timer) -> Timer:
        heapq.heappush(self._heap, (timer.due_us, next(self._seq), timer))
        return timer

    def run_until(self, t_s: float) -> int:
        """Process packet events and callbacks up to virtual time ``t_s``; returns events run.
        While another thread runs the network this waits for it to finish first; from a
        callback or event of the network (this thread runs it) it raises RuntimeError."""
        self._acquire()
        return self._run_owned(t_s)

    def run_for(self, seconds: float) -> int:
        """Run ``seconds`` of virtual time, counted from when this thread gets to run the
        network (see :meth:`run_until`)."""
        self._acquire()
        return self._run_owned(self.now() + seconds)

    def _acquire(self) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError(
                "the network is already running (run_for/run_until called from a callback or "
                "an event)"
            )
        self._running.acquire()

    def wait_until(self, t_s: float, poll_s: float = 0.0005) -> int:
        """Let virtual time reach ``t_s``, from any thread: run the network here while no other
        thread runs it; while one does, wait (wall time, polling every ``poll_s``) for it to move
        the clock on, and take over if it stops first. Returns the events run here. Inside a
        callback or event of this network (this thread runs it) time cannot move on: raises
        RuntimeError."""
        while True:
            if self._running.acquire(blocking=False):
                return self._run_owned(t_s)
            if self._owner == threading.get_ident():
                raise RuntimeError(
                    "cannot wait for virtual time inside a callback or event of the network "
                    "(the thread that must move the clock on is this one)"
                )
            if self.now() >= t_s:
                return 0
            time.sleep(poll_s)

    def _run_owned(self, t_s: float) -> int:
        """The loop of :meth:`run_until`, with ``_running`` already acquired (released here)."""
        self._owner = threading.get_ident()
        try:
            end = t_s * 1e6
            n = 0
            heap = self._heap
            while True:
                while heap and heap[0][2].cancelled:
                    heapq.heappop(heap)
                nxt = heap[0][0] if heap else math.inf
                if nxt > end:
                    n += self.clock.run_until(max(end, self.clock.now()))
                    break
                n += self.clock.run_until(nxt)
                _due, _seq, timer = heapq.heappop(heap)
                if timer.interval_us:
                    timer.due_us += timer.interval_us
                    self._push(timer)
                timer.calls += 1
                timer.fn(*timer.args)
            self.events += n
            return n
        finally:
            self._owner = None
            self._running.release()
