"""Where the controller's time comes from: the wall clock, or an emulated network's clock.

The controller only asks ``now()`` (seconds) and, to run its control interval, whoever drives it
calls :meth:`controlplane.controller.Controller.step` every ``interval_s``: a thread with
:class:`WallClock`, the in-process network's event loop with a virtual clock
(:class:`CallbackClock` wraps any ``() -> seconds`` function, e.g. a ``VirtualClock`` in µs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, monotonic."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a virtual clock lets its network run meanwhile)."""
        ...


class WallClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class CallbackClock:
    """A clock read through ``now_fn`` (seconds); ``sleep_fn`` advances it (default: no wait)."""

    def __init__(
        self, now_fn: Callable[[], float], sleep_fn: Callable[[float], None] | None = None
    ) -> None:
        self._now = now_fn
        self._sleep = sleep_fn

    def now(self) -> float:
        return self._now()

    def sleep(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
