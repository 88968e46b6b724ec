"""Hitless policy swap: version v+1 beside v, one register flip per ingress gateway, then delete v.

Every scheduler-filled table of cpn.p4 has ``policy_version`` as its first key; an ingress gateway
stamps ``active_policy_version[0]`` into the SRH tag of each new request and every later hop uses
the tag. So a swap is:

1. **prepare**: write the new version's entries on every switch (inserts only, batched;
   ``DATAPLANE_ATOMIC`` per batch where the target has it, else ``ROLLBACK_ON_ERROR``). Any
   failure deletes what was written and raises :class:`SwapError`: version v keeps serving.
2. **flip**: write ``active_policy_version[0] = v+1`` on every ingress gateway. A failed flip
   writes v back on the gateways already flipped, waits ``drain_s`` for the requests they
   stamped v+1 meanwhile, and removes v+1 (both versions were complete everywhere, so packets
   of either version were handled by one version end to end).
3. **drain**: wait until no packet can carry v: the longest path's propagation, transmission and
   queueing time (``drain_s``), measured on the controller's clock (a virtual clock lets the
   emulated network run meanwhile).
4. **clean up**: delete version v's entries.

The journal (:class:`controlplane.store.ControllerStore`) records each stage, so a controller
killed mid-swap can finish or undo it (:func:`recover`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from controlplane.entries import RegisterValue, TableEntry
from controlplane.p4rt import P4RuntimeClient, SwitchUnavailable, WriteError

log = logging.getLogger(__name__)

VERSION_REGISTER = "CpnIngress.active_policy_version"
VERSION_BITS = 16


def next_version(v: int) -> int:
    """The version after ``v`` (16-bit, 0 skipped so that 0 always means 'never configured')."""
    n = (v + 1) % (1 << VERSION_BITS)
    return n or 1


class SwapError(RuntimeError):
    """A swap that could not complete; the network still serves the old version."""


@dataclass
class SwapReport:
    old_version: int
    new_version: int
    entries_written: int = 0
    entries_deleted: int = 0
    prepare_s: float = 0.0
    flip_s: float = 0.0
    drain_s: float = 0.0
    cleanup_s: float = 0.0
    atomicity: str = ""
    stages: list[str] = field(default_factory=list)
    cleanup_failed: list[str] = field(default_factory=list)  # switches that kept some of v

    @property
    def seconds(self) -> float:
        """Time from the start until the new version serves every new request (prepare + flip)."""
        return self.prepare_s + self.flip_s

    @property
    def total_s(self) -> float:
        return self.prepare_s + self.flip_s + self.drain_s + self.cleanup_s


def write_batched(
    client: P4RuntimeClient,
    op: str,
    entries: Sequence[TableEntry],
    *,
    atomicity: str,
) -> str:
    """Write ``entries`` with ``op``; DATAPLANE_ATOMIC falls back to ROLLBACK_ON_ERROR on
    targets without it. Returns the atomicity used."""
    if not entries:
        return atomicity
    updates = [(op, e) for e in entries]
    try:
        client.write(updates, atomicity=atomicity)
        return atomicity
    except WriteError as e:
        if atomicity == "DATAPLANE_ATOMIC" and _unsupported(e):
            client.write(updates, atomicity="ROLLBACK_ON_ERROR")
            return "ROLLBACK_ON_ERROR"
        raise


def _unsupported(e: WriteError) -> bool:
    codes = {code for _, code, _ in getattr(e, "errors", [])} | {str(getattr(e, "code", ""))}
    return bool(codes & {"UNIMPLEMENTED", "StatusCode.UNIMPLEMENTED"})


def hitless_swap(
    clients: Mapping[str, P4RuntimeClient],
    ingress_gateways: Sequence[str],
    old_entries: Mapping[str, Sequence[TableEntry]],
    new_entries: Mapping[str, Sequence[TableEntry]],
    old_version: int,
    new_version: int,
    *,
    drain_s: float,
    sleep: Callable[[float], None] = time.sleep,
    on_stage: Callable[[str], None] | None = None,
    atomicity: str = "DATAPLANE_ATOMIC",
    now: Callable[[], float] = time.perf_counter,
    threads: int = 1,
) -> SwapReport:
    """Run the four stages above; raises :class:`SwapError` (after undoing) on a failure
    before the flip completes. ``on_stage`` is called with "prepared", "flipped", "done".
    ``threads`` > 1 prepares that many switches at once (one batch per switch each)."""
    rep = SwapReport(old_version, new_version)
    stage = on_stage or (lambda s: None)

    # 1. prepare --------------------------------------------------------------------------
    t0 = now()
    written: dict[str, Sequence[TableEntry]] = {}
    name = ""
    try:
        for name, entries in new_entries.items():  # nothing is written unless all are right
            _check_version(entries, new_version)
            if name not in clients:
                raise KeyError(f"no P4Runtime client for switch {name}")
        if threads > 1 and len(new_entries) > 1:
            rep.atomicity = _prepare_parallel(clients, new_entries, atomicity, threads, written)
        else:
            for name, entries in new_entries.items():
                written[name] = entries  # before the write: a split batch may land in part
                rep.atomicity = write_batched(clients[name], "insert", entries, atomicity=atomicity)
        rep.entries_written = sum(len(e) for e in new_entries.values())
    except _PrepareFailed as e:
        _undo(clients, written)
        raise SwapError(f"preparing version {new_version} failed on {e.name}: {e.cause}") from (
            e.cause
        )
    except (WriteError, SwitchUnavailable, KeyError, ValueError) as e:
        _undo(clients, written)
        raise SwapError(f"preparing version {new_version} failed on {name}: {e}") from e
    rep.prepare_s = now() - t0
    rep.stages.append("prepared")
    stage("prepared")

    # 2. flip -----------------------------------------------------------------------------
    t1 = now()
    flipped: list[str] = []
    try:
        for gw in ingress_gateways:
            clients[gw].write(
                [("modify", RegisterValue(VERSION_REGISTER, 0, new_version))],
                atomicity="CONTINUE_ON_ERROR",
            )
            flipped.append(gw)
    except (WriteError, SwitchUnavailable) as e:
        for back in flipped:
            try:
                clients[back].write([("modify", RegisterValue(VERSION_REGISTER, 0, old_version))])
            except (WriteError, SwitchUnavailable) as e2:  # pragma: no cover - double fault
                log.error("could not write version %d back on %s: %s", old_version, back, e2)
        if flipped:
            sleep(drain_s)  # requests the flipped gateways stamped v+1 are still on their way
        _undo(clients, written)
        raise SwapError(f"flipping to version {new_version} failed on {gw}: {e}") from e
    rep.flip_s = now() - t1
    rep.stages.append("flipped")
    stage("flipped")

    # 3. drain ----------------------------------------------------------------------------
    t2 = now()
    sleep(drain_s)
    rep.drain_s = now() - t2

    # 4. clean up -------------------------------------------------------------------------
    t3 = now()
    for name, entries in old_entries.items():
        try:
            write_batched(clients[name], "delete", entries, atomicity="CONTINUE_ON_ERROR")
            rep.entries_deleted += len(entries)
        except (WriteError, SwitchUnavailable) as e:
            # Leftover v entries are harmless (no packet carries v); the caller re-syncs the
            # switches named in cleanup_failed (read, diff, delete what is left).
            rep.cleanup_failed.append(name)
            log.warning("deleting version %d on %s: %s", old_version, name, e)
    rep.cleanup_s = now() - t3
    rep.stages.append("done")
    stage("done")
    return rep


class _PrepareFailed(Exception):
    def __init__(self, name: str, cause: BaseException) -> None:
        super().__init__(name)
        self.name, self.cause = name, cause


def _prepare_parallel(
    clients: Mapping[str, P4RuntimeClient],
    new_entries: Mapping[str, Sequence[TableEntry]],
    atomicity: str,
    threads: int,
    written: dict[str, Sequence[TableEntry]],
) -> str:
    """Write every switch's batch from a pool of ``threads``; every switch tried is recorded in
    ``written`` (for the undo); the first failure, in switch order, raises _PrepareFailed."""
    from concurrent.futures import ThreadPoolExecutor

    written.update(new_entries)
    with ThreadPoolExecutor(max_workers=min(threads, len(new_entries))) as pool:
        futures = {
            n: pool.submit(write_batched, clients[n], "insert", e, atomicity=atomicity)
            for n, e in new_entries.items()
        }
    used = atomicity
    for n, f in futures.items():
        exc = f.exception()
        if exc is not None:
            if isinstance(exc, WriteError | SwitchUnavailable | ValueError):
                raise _PrepareFailed(n, exc)
            raise exc
        used = f.result()
    return used


def _check_version(entries: Sequence[TableEntry], version: int) -> None:
    for e in entries:
        v = e.version()
        if v is not None and v != version:
            raise ValueError(f"entry of {e.table} has version {v}, expected {version}")


def _undo(clients: Mapping[str, P4RuntimeClient], written: Mapping[str, Sequence[TableEntry]]):
    for name, entries in written.items():
        try:
            write_batched(clients[name], "delete", entries, atomicity="CONTINUE_ON_ERROR")
        except WriteError as e:
            left = [m for _, code, m in e.errors if "NOT_FOUND" not in code]
            if left:
                log.warning("rollback on %s left entries behind: %s", name, left[:3])
        except SwitchUnavailable as e:
            log.warning("rollback on %s left entries behind: %s", name, e)
