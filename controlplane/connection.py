"""One switch's session as the controller sees it: connect, pipeline, reconnect, reconcile.

:class:`SwitchConnection` wraps a :class:`~controlplane.p4rt.P4RuntimeClient` in a state
machine::

    down --connect--> connecting --primary--> ready      (writes allowed)
                          |       --backup---> backup     (another controller is primary)
                          +--refused/unreachable--> down  (retry after a backoff)
    ready --stream lost / RPC UNAVAILABLE--> down --...--> connecting --> ready
    ready --a higher election id arrives--> backup --reclaim()--> ready

A background thread retries while the switch is down, with exponential backoff bounded by
``backoff_s = (first, max)`` and jittered by a seeded RNG (deterministic runs). Each time the
session becomes primary the pipeline is checked: when the switch's cookie is this program's
(:func:`~controlplane.p4rt.program_cookie`) its state is kept (a restarted controller
reconciles instead of wiping), otherwise the program is pushed with VERIFY_AND_COMMIT. Then
the ``on_ready`` callbacks run, and the controller re-syncs its intent with :meth:`sync`:
read what the switch holds, diff against the intent, write only the difference.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping

from .clock import Clock, WallClock
from .entries import Diff, SwitchIntent, TableEntry, diff
from .netdesc import SwitchDesc
from .p4rt import (
    NotPrimary,
    P4RuntimeClient,
    P4RuntimeError,
    SwitchUnavailable,
    Update,
    program_cookie,
)
from .program import Program

log = logging.getLogger("controlplane.connection")
STATES = ("down", "connecting", "ready", "backup")


class SwitchConnection:
    """One per switch: the session, its pipeline, and reconciling the switch with an intent."""

    def __init__(
        self,
        sw: SwitchDesc,
        program: Program,
        *,
        election_id: int = 1,
        clock: Clock | None = None,
        backoff_s: tuple[float, float] = (0.1, 5.0),
        seed: int | None = None,
        timeout_s: float = 5.0,
    ):
        first, most = backoff_s
        if not 0 < first <= most:
            raise ValueError(f"backoff_s must be (first, max) with 0 < first <= max: {backoff_s}")
        self.name = sw.name
        self.desc = sw
        self.program = program
        self.cookie = program_cookie(program)
        self.clock = clock or WallClock()
        self.backoff_s = (first, most)
        self.client = P4RuntimeClient(sw.address, sw.device_id, election_id, timeout_s=timeout_s)
        self.client.use_p4info(program.p4info)
        self.state = "down"
        self.since = self.clock.now()  # when the state last changed (clock seconds)
        self.last_error = ""
        self.last_pipeline = ""  # "pushed" or "kept" at the last setup
        self.ready_count = 0  # times the session became ready (first connect included)
        self._rng = random.Random(sw.device_id if seed is None else seed)
        self._attempt = 0
        self._need_setup = True
        self._ready_cbs: list[Callable[[SwitchConnection], None]] = []
        self._state_cbs: list[Callable[[SwitchConnection, str], None]] = []
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.client.on_disconnect(self._on_disconnect)
        self.client.on_arbitration(self._on_arbitration)

    def __repr__(self) -> str:
        return f"SwitchConnection({self.name} @ {self.desc.address}, {self.state})"

    # ------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Connect now (one try), then keep the session in a background thread: retry with
        backoff while the switch is down, set the pipeline up on every (re)connect."""
        if self._thread is not None:
            return
        self._stop.clear()
        delay = self._step()
        self._thread = threading.Thread(
            target=self._run, args=(delay,), name=f"p4rt-conn-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """End the session and the background thread."""
        self._stop.set()
        self._wake.set()
        t, self._thread = self._thread, None
        if t is not None and t is not threading.current_thread():
            t.join(timeout=10)
        self.client.close()
        self._set_state("down")

    def on_ready(self, callback: Callable[[SwitchConnection], None]) -> None:
        """``callback(conn)`` each time the session becomes ready (after connect, reconnect or
        reclaim, the pipeline set up): the controller re-syncs its intent there."""
        self._ready_cbs.append(callback)

    def on_state(self, callback: Callable[[SwitchConnection, str], None]) -> None:
        """``callback(conn, state)`` on every state change."""
        self._state_cbs.append(callback)

    def wait_state(self, *states: str, timeout: float | None = None) -> bool:
        """Wait until the state is one of ``states`` (default "ready"); False on timeout."""
        want = states or ("ready",)
        with self._cond:
            return self._cond.wait_for(lambda: self.state in want, timeout)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self.wait_state("ready", timeout=timeout)

    def reclaim(self, timeout: float | None = None) -> bool:
        """Take primacy back after another controller took it; True once ready again."""
        self.client.reclaim()
        self._wake.set()
        return self.wait_ready(timeout if timeout is not None else self.client.timeout_s)

    # ---------------------------------------------------------------------- state machine
    def _set_state(self, state: str) -> None:
        with self._cond:
            if state == self.state:
                return
            old, self.state = self.state, state
            self.since = self.clock.now()
            self._cond.notify_all()
        log.info("%s: %s -> %s", self.name, old, state)
        for cb in list(self._state_cbs):
            _safe(cb, self, state)

    def _on_disconnect(self) -> None:
        self.last_error = "session lost"
        self._need_setup = True
        if not self._stop.is_set():
            self._set_state("down")
        self._wake.set()

    def _on_arbitration(self, primary: bool) -> None:
        self._need_setup = True
        if not primary:
            self._set_state("backup")  # stop writing at once
        self._wake.set()

    def _backoff(self) -> float:
        first, most = self.backoff_s
        d = min(most, first * (2**self._attempt))
        self._attempt += 1
        return d * (0.5 + 0.5 * self._rng.random())

    def _run(self, delay: float | None) -> None:
        while not self._stop.is_set():
            self._wake.wait(delay)
            if self._stop.is_set():
                break
            self._wake.clear()
            delay = self._step()

    def _step(self) -> float | None:
        """One move of the state machine; the delay before the next try (None: wait for an
        event)."""
        c = self.client
        if not c.connected:
            self._set_state("connecting")
            try:
                c.connect()
            except SwitchUnavailable as exc:
                self.last_error = str(exc)
                self._set_state("down")
                return self._backoff()
            self._attempt = 0
            self._need_setup = True
        if not c.is_primary:
            self._need_setup = True
            self._set_state("backup")
            return None
        if not self._need_setup:
            self._set_state("ready")
            return None
        try:
            self._setup_pipeline()
        except NotPrimary:
            self._set_state("backup")
            return None
        except (SwitchUnavailable, P4RuntimeError) as exc:
            self.last_error = str(exc)
            log.error("%s: pipeline setup failed: %s", self.name, exc)
            c.close()
            self._set_state("down")
            return self._backoff()
        self._need_setup = False
        self.ready_count += 1
        self._set_state("ready")
        for cb in list(self._ready_cbs):
            _safe(cb, self)
        return None

    def _setup_pipeline(self) -> None:
        cookie = self.client.pipeline_cookie()
        if cookie == self.cookie:
            self.client.use_p4info(self.program.p4info)
            self.last_pipeline = "kept"
            log.info(
                "%s: pipeline cookie %#x matches, keeping the switch's state", self.name, cookie
            )
        else:
            self.client.set_pipeline(self.program, cookie=self.cookie)
            self.last_pipeline = "pushed"

    # -------------------------------------------------------------------------- reconcile
    def _require_ready(self) -> None:
        if self.state == "backup":
            raise NotPrimary(f"{self.name}: backup (another controller is primary)")
        if self.state != "ready":
            raise SwitchUnavailable(f"{self.name}: {self.state} ({self.last_error or 'not ready'})")

    def held_registers(self, cells: Mapping[tuple[str, int], object]) -> dict[tuple[str, int], int]:
        """Current values of the register cells named by ``cells``' keys."""
        by_name: dict[str, list[int]] = {}
        for name, i in cells:
            by_name.setdefault(name, []).append(i)
        out: dict[tuple[str, int], int] = {}
        for name, idxs in by_name.items():
            if len(idxs) == 1:
                vals = self.client.read_register(name, idxs[0])
            else:
                vals = self.client.read_register(name)
            out.update({(name, i): vals[i] for i in idxs if i in vals})
        return out

    def sync(self, intent: SwitchIntent, *, atomicity: str = "CONTINUE_ON_ERROR") -> Diff:
        """Make the switch hold ``intent``: read every table's entries (const and default
        entries aside) and the intent's register cells, diff, write only the difference
        (entries the intent does not have are deleted). Returns the :class:`Diff` written."""
        self._require_ready()
        idx = self.client.p4info_index()
        want: dict[tuple, TableEntry] = {}
        for e in intent.entries.values():
            ce = idx.canonical(e)
            want[ce.key()] = ce
        held_list = self.client.read_entries()
        held = {e.key(): e for e in held_list}
        held_regs = self.held_registers(intent.registers)
        d = diff(held, want, held_regs, intent.registers)
        if len(d):
            counts = Counter(e.table for e in held_list)
            ins = Counter(e.table for e in d.insert)
            full = {
                t for t, n in ins.items() if idx.table(t).size and counts[t] + n > idx.table(t).size
            }
            self._write(d, atomicity, full)
            log.info(
                "%s: synced: %d inserted, %d modified, %d deleted, %d registers",
                self.name,
                len(d.insert),
                len(d.modify),
                len(d.delete),
                len(d.registers),
            )
        return d

    def write_diff(self, d: Diff, *, atomicity: str = "ROLLBACK_ON_ERROR") -> None:
        """Write a :class:`Diff`: inserts and modifies, then registers, then deletes (a route
        is never missing in between); the first phase that fails raises
        :class:`~controlplane.p4rt.WriteError` and later phases are not written."""
        self._require_ready()
        self._write(d, atomicity, set())

    def _write(self, d: Diff, atomicity: str, deletes_first: set[str]) -> None:
        """``deletes_first``: tables that would overflow if the inserts came first."""
        phases: list[list[Update]] = [
            [("delete", e) for e in d.delete if e.table in deletes_first],
            [("modify", e) for e in d.modify] + [("insert", e) for e in d.insert],
            [("modify", r) for r in d.registers],
            [("delete", e) for e in d.delete if e.table not in deletes_first],
        ]
        for ups in phases:
            if ups:
                self.client.write(ups, atomicity=atomicity)


def _safe(cb: Callable[..., object], *args: object) -> None:
    try:
        cb(*args)
    except Exception:  # noqa: BLE001 - a callback must not stop the session thread
        log.exception("connection callback %r failed", cb)
