"""The :class:`Switch`: one simple_switch instance (program, ports, clock, traffic manager)."""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .clock import Clock, VirtualClock
from .codegen import CompiledProgram, compile_program, compile_prologues
from .control import ControlMixin
from .datapath import DatapathMixin, Pkt
from .digests import DigestEngine
from .errors import ConfigError, NoPipelineError
from .matchkeys import KeySpec
from .ports import MemoryPort, Port, make_port
from .pre import PRE
from .profiles import ActionProfile
from .program import PKT_INSTANCE_TYPE_NORMAL, STD_FIELDS, Program, hexstr
from .runtime import build_helpers
from .stateful import CounterArray, MeterArray, ParseValueSet, RegisterArray
from .tables import Journal, Table
from .tm import TrafficManager

log = logging.getLogger("p4target.switch")

DROP_PORT = 511
# JSON const entries give "priority" with BMv2's order (smaller wins); the switch API uses
# P4Runtime's (larger wins).  A const entry of JSON priority p gets CONST_PRIORITY_BASE - p.
CONST_PRIORITY_BASE = 1 << 24


ENGINES = ("python", "native", "auto")


def resolve_engine(engine: str | None) -> str:
    """``engine`` or ``$CPN_P4_ENGINE`` or "auto", checked."""
    import os

    name = engine or os.environ.get("CPN_P4_ENGINE") or "auto"
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r} (one of {', '.join(ENGINES)})")
    return name


class Switch(DatapathMixin, ControlMixin):
    """A v1model software switch executing BMv2 JSON.

    ``config`` is a BMv2 JSON (dict or path) or None (no program yet: packets are dropped
    and counted until :meth:`load_config`).  ``clock`` defaults to a fresh
    :class:`VirtualClock`; pass a :class:`WallClock` for real time or a shared virtual clock
    for a network of switches.  ``priority_queues`` is simple_switch's ``--priority-queues``.
    ``engine``: ``"python"`` (the reference), ``"native"`` (generated C, :mod:`.native`; a
    program it cannot run raises :class:`ConfigError`), ``"auto"`` (native when a C compiler
    and cffi are present and the program is supported, else python); default
    ``$CPN_P4_ENGINE`` or auto.  ``engine_name`` says which one runs the loaded program.
    """

    def __init__(
        self,
        config: dict[str, Any] | str | Path | None = None,
        *,
        device_id: int = 0,
        clock: Clock | None = None,
        cpu_port: int | None = None,
        drop_port: int = DROP_PORT,
        priority_queues: int = 1,
        log_console: bool = False,
        seed: int | None = None,
        name: str = "",
        recirculate_delay_us: float = 0.0,
        engine: str | None = None,
    ):
        self.name = name or f"s{device_id}"
        self.device_id = device_id
        self.clock = clock if clock is not None else VirtualClock()
        self.lock = threading.RLock()
        self.cpu_port = cpu_port
        self.drop_port = drop_port
        self.recirculate_delay_us = float(recirculate_delay_us)
        self.log_console = log_console
        self.rng = random.Random(seed)
        self.ports: dict[int, Port] = {}
        self.tx_callbacks: list[Callable[[int, bytes], None]] = []
        self.packet_in_callbacks: list[Callable[[bytes], None]] = []
        self.idle_callbacks: list[Callable[[str, dict[str, Any]], None]] = []
        self.log_messages: collections.deque[str] = collections.deque(maxlen=1000)
        self.journal = Journal()
        self.pre = PRE(self.journal)
        self.tm = TrafficManager(
            self.clock, self._egress, self._transmit, self._count, priority_queues, self.lock
        )
        self._counts: collections.Counter[str] = collections.Counter()
        self._parser_errors: collections.Counter[str] = collections.Counter()
        self._rx: dict[int, list[int]] = {}
        self._tx: dict[int, list[int]] = {}
        self._compiled: CompiledProgram | None = None
        self.program: Program | None = None
        self.digests = DigestEngine(self.clock, {}, self.lock)
        self._idle_armed = False
        self.frame_size: Callable[[bytes], int] | None = None  # see set_frame_size
        self.engine = resolve_engine(engine)
        self.engine_name = "python"
        self._native: Any = None
        if config is not None:
            self.load_config(config)

    # -- program ---------------------------------------------------------------------------------

    def load_config(self, config: dict[str, Any] | str | Path) -> None:
        """Load (or replace) the program; all P4 state, PRE and clone sessions are reset.

        Raises :class:`ConfigError` (nothing changes) if the JSON cannot be compiled.
        """
        prog = Program.load(config)
        objects, state = self._build_objects(prog)
        helpers = build_helpers(prog, self.rng, self._log_sink)
        compiled = compile_program(prog, objects, helpers)
        native = self._make_native(prog)
        with self.lock:
            saved = dict(self.__dict__)
            try:
                self.program = prog
                self._compiled = compiled
                if native is not None:
                    native.attach_state(state)
                self._native = native
                self.engine_name = "native" if native is not None else "python"
                self.__dict__.update(state)
                self._init_layout(prog)
                self._install_defaults(prog)
            except Exception:
                self.__dict__.clear()
                self.__dict__.update(saved)
                raise
            callbacks = self.digests.callbacks
            self.digests = DigestEngine(self.clock, prog.learn_lists, self.lock)
            self.digests.callbacks = callbacks
            self.pre.reset()
            self.tm.reset()
            self.tm.set_backend(native.queues if native is not None else None)
            self.journal.commit()

    def _make_native(self, prog: Program) -> Any:
        """The native engine for ``prog`` (None for the python engine or an "auto" fallback)."""
        if self.engine == "python":
            return None
        from .native import NativeUnsupported, native_available
        from .native.engine import NativeEngine

        if not native_available():
            if self.engine == "native":
                raise ConfigError("native engine: no C compiler or cffi available")
            return None
        try:
            return NativeEngine(self, prog)
        except NativeUnsupported as exc:
            if self.engine == "native":
                raise ConfigError(f"native engine cannot run this program: {exc}") from exc
            log.info("%s: native engine refused the program (%s); using python", self.name, exc)
            return None
        except (ConfigError, OSError, MemoryError) as exc:  # compiler or loader failure
            if self.engine == "native":
                raise ConfigError(f"native engine: {exc}") from exc
            log.warning("%s: native engine unavailable (%s); using python", self.name, exc)
            return None

    def _build_objects(self, prog: Program) -> tuple[dict[str, Any], dict[str, Any]]:
        journal = self.journal
        bindings: dict[str, Any] = {"_now": self.clock.now, "_DROP_PORT": self.drop_port}
        registers: dict[str, RegisterArray] = {}
        reg_index: dict[str, int] = {}
        for i, r in enumerate(prog.register_arrays):
            registers[r["name"]] = RegisterArray(r["name"], int(r["size"]), int(r["bitwidth"]))
            reg_index[r["name"]] = i
            bindings[f"R{i}"] = registers[r["name"]]
        counters: dict[str, CounterArray] = {}
        counter_index: dict[str, int] = {}
        for i, c in enumerate(prog.counter_arrays):
            counters[c["name"]] = CounterArray(
                c["name"], int(c.get("size", 0)), bool(c.get("is_direct")), c.get("binding")
            )
            counter_index[c["name"]] = i
            bindings[f"C{i}"] = counters[c["name"]]
        meters: dict[str, MeterArray] = {}
        meter_index: dict[str, int] = {}
        for i, m in enumerate(prog.meter_arrays):
            rt = m.get("result_target")
            meters[m["name"]] = MeterArray(
                m["name"],
                int(m.get("size", 0)),
                m.get("type", "bytes") == "packets",
                int(m.get("rate_count", 2)),
                self.clock.now,
                bool(m.get("is_direct")),
                m.get("binding"),
                prog.field(rt).index if rt else None,
            )
            meter_index[m["name"]] = i
            bindings[f"M{i}"] = meters[m["name"]]
        vsets: dict[str, ParseValueSet] = {}
        vset_index: dict[str, int] = {}
        for i, v in enumerate(prog.parse_vsets):
            vsets[v["name"]] = ParseValueSet(
                v["name"], int(v.get("compressed_bitwidth", 0)), int(v.get("max_size", 0) or 0)
            )
            vset_index[v["name"]] = i
            bindings[f"VS{i}"] = vsets[v["name"]]
        profiles: dict[str, ActionProfile] = {}
        tables: dict[tuple[str, str], Table] = {}
        for pipe in prog.pipelines:
            for ap in pipe.get("action_profiles", []):
                prof = ActionProfile(
                    ap["name"],
                    int(ap.get("max_size", 1024)),
                    journal,
                    selector=(lambda *a: 0) if ap.get("selector") else None,
                )
                profiles[ap["name"]] = prof
            for t in pipe.get("tables", []):
                keys = []
                for k in t.get("key", []):
                    target = k.get("target")
                    mt = k.get("match_type", "exact")
                    if mt == "valid" or isinstance(target, str) or target[1] == "$valid$":
                        tname = target if isinstance(target, str) else target[0]
                        keys.append(
                            KeySpec(
                                k.get("name") or f"{tname}.$valid$",
                                f"{tname}.$valid$",
                                "exact" if mt == "valid" else mt,
                                1,
                            )
                        )
                        continue
                    f = prog.field(target)
                    mask = hexstr(k["mask"]) if k.get("mask") not in (None, "") else None
                    keys.append(
                        KeySpec(
                            k.get("name") or ".".join(target), ".".join(target), mt, f.width, mask
                        )
                    )
                dm = t.get("direct_meters")
                table = Table(
                    t["name"],
                    int(t["id"]),
                    keys,
                    [int(a) for a in t.get("action_ids", [])],
                    int(t.get("max_size", 1024)),
                    journal,
                    with_counters=bool(t.get("with_counters")),
                    support_timeout=bool(t.get("support_timeout")),
                    kind=t.get("type", "simple"),
                    profile=profiles.get(t.get("action_profile"))
                    if t.get("action_profile")
                    else None,
                    direct_meter=meters.get(dm) if dm else None,
                )
                if table.kind != "simple" and table.profile is None:
                    raise ConfigError(f"table {t['name']}: unknown action profile")
                if table.profile is not None:
                    table.profile.action_ids.update(table.action_ids)
                table.pipeline = pipe["name"]  # type: ignore[attr-defined]
                table.json = t  # type: ignore[attr-defined]
                tables[(pipe["name"], t["name"])] = table
                bindings[f"T{table.id}"] = table
        objects = {
            "tables": tables,
            "profiles": profiles,
            "reg_index": reg_index,
            "counter_index": counter_index,
            "meter_index": meter_index,
            "vset_index": vset_index,
            "bindings": bindings,
        }
        by_name: dict[str, Table] = {}
        for (_p, n), tbl in tables.items():
            by_name[n] = tbl
        state = {
            "registers": registers,
            "counters": counters,
            "meters": meters,
            "vsets": vsets,
            "profiles": profiles,
            "tables": by_name,
        }
        return objects, state

    def _init_layout(self, prog: Program) -> None:
        self._F0 = [0] * len(prog.fields)
        self._V0 = [h.metadata for h in prog.headers]
        self._S0 = [0] * (len(prog.stacks) + len(prog.union_stacks))
        self._masks = [f.mask if not f.vl else -1 for f in prog.fields]
        ranges = []
        for h in prog.headers:
            if h.metadata and h.fields:
                ranges.append((h.fields[0].index, h.fields[-1].index + 1))
        self._meta_ranges = ranges
        self._zeros = [0] * max((b - a for a, b in ranges), default=0)
        sf = {}
        for name in STD_FIELDS:
            f = prog.intrinsic(name)
            sf[name] = f.index if f is not None else None
        self._sf = SimpleNamespace(**sf)
        self._with_qmeta = all(
            sf[n] is not None
            for n in ("enq_timestamp", "enq_qdepth", "deq_timedelta", "deq_qdepth")
        )
        self._no_error = prog.errors["NoError"]
        self.error_names = {v: k for k, v in prog.errors.items()}
        cp = self._compiled
        self._pro = compile_prologues(prog, self._sf, self._with_qmeta, self.drop_port)
        self._fn_parse, self._fn_verify = cp.parse, cp.verify_checksums
        self._fn_ingress, self._fn_egress = cp.ingress, cp.egress
        self._fn_update, self._fn_deparse = cp.update_checksums, cp.deparse

    def _install_defaults(self, prog: Program) -> None:
        for table in self.tables.values():
            t = table.json  # type: ignore[attr-defined]
            de = t.get("default_entry")
            if de is not None and "action_id" in de:
                aid = int(de["action_id"])
                data = tuple(hexstr(x) for x in de.get("action_data", []))
                if aid in prog.actions and len(data) == len(
                    prog.actions[aid].get("runtime_data", [])
                ):
                    table.default = self._make_call(table, aid, data)
                    table.json_default = (aid, data)
                elif aid in prog.actions:
                    # default action without data in the JSON: zeros, as BMv2 would need them set
                    n = len(prog.actions[aid].get("runtime_data", []))
                    table.default = self._make_call(table, aid, (0,) * n)
                    table.json_default = (aid, (0,) * n)
                table.default_const = bool(de.get("action_const", False))
                table.default_entry_const = bool(de.get("action_entry_const", False)) and (
                    "action_data" in de
                )
            for ent in t.get("entries", []) or []:
                self._add_json_entry(table, ent)
            if t.get("entries"):
                table.has_const_entries = True

    def _add_json_entry(self, table: Table, ent: dict[str, Any]) -> None:
        from .matchkeys import LPM, Exact, Optional, Range, Ternary

        key: list[Any] = []
        for mk, spec in zip(ent.get("match_key", []), table.keys, strict=False):
            mt = mk.get("match_type", spec.match_type)
            if mt in ("exact", "valid"):
                v = mk.get("key")
                key.append(Exact(int(bool(v)) if isinstance(v, bool) else hexstr(v)))
            elif mt == "lpm":
                key.append(LPM(hexstr(mk["key"]), int(mk["prefix_length"])))
            elif mt == "ternary":
                key.append(Ternary(hexstr(mk["key"]), hexstr(mk["mask"])))
            elif mt == "range":
                key.append(Range(hexstr(mk["start"]), hexstr(mk["end"])))
            elif mt == "optional":
                key.append(
                    Ternary(hexstr(mk["key"]), hexstr(mk.get("mask", "0x0")))
                    if spec.match_type == "ternary"
                    else Optional(hexstr(mk["key"]))
                )
            else:
                raise ConfigError(f"table {table.name}: bad const entry match type {mt!r}")
        ae = ent.get("action_entry", {})
        aid = int(ae["action_id"])
        data = tuple(hexstr(x) for x in ae.get("action_data", []))
        prio = ent.get("priority")
        prio = (
            CONST_PRIORITY_BASE - int(prio)
            if prio is not None and table.prioritized
            else (CONST_PRIORITY_BASE if table.prioritized else None)
        )
        call = self._make_call(table, aid, data)
        e = table.add(key, prio, lambda e: setattr(e, "action", call), const=True)
        e.const = True

    def _log_sink(self, msg: str) -> None:
        self.log_messages.append(msg)
        if self.log_console:
            log.info("%s: %s", self.name, msg)

    @property
    def generated_source(self) -> str:
        """The Python source the program was compiled to (for debugging)."""
        return self._compiled.source if self._compiled else ""

    # -- ports -----------------------------------------------------------------------------------

    def add_port(self, number: int, port: Port | str | None = None) -> Port:
        """Attach a port under ``number`` (a :class:`Port`, an interface name, or a new
        :class:`MemoryPort` when None)."""
        p = make_port(port) if port is not None else MemoryPort(f"{self.name}-p{number}")
        with self.lock:
            old = self.ports.get(number)
            if old is not None:
                old.close()
            self.ports[number] = p
            p.attach(self, number)
        return p

    def remove_port(self, number: int) -> None:
        with self.lock:
            p = self.ports.pop(number, None)
        if p is not None:
            p.close()

    def port(self, number: int) -> Port:
        return self.ports[number]

    def close(self) -> None:
        for n in list(self.ports):
            self.remove_port(n)

    # -- packet entry points ---------------------------------------------------------------------

    def receive(self, port: int, data: bytes) -> None:
        """A packet arrives on ``port`` (called by ports; also usable directly)."""
        with self.lock:
            st = self._rx.setdefault(port, [0, 0])
            st[0] += 1
            st[1] += len(data)
            if self._compiled is None:
                self._count("no_pipeline")
                return
            if self._native is not None:
                self._native.receive_one(port, bytes(data))
                if self.clock.virtual:
                    self.clock.run_due()  # type: ignore[attr-defined]
                return
            P = Pkt(bytes(data), port)
            if self.frame_size is not None:
                P.ilen = self.frame_size(P.data)
            self._ingress(P, PKT_INSTANCE_TYPE_NORMAL, None)
            if self.clock.virtual:
                self.clock.run_due()  # type: ignore[attr-defined]

    def receive_batch(self, frames: list[tuple[int, bytes]]) -> None:
        """Packets ``(port, data)`` arriving in this order, processed as one batch.

        Same results as calling :meth:`receive` for each; on the native engine the frames go
        to the generated code in one call (what makes it fast), and timers due at the current
        time run after the batch rather than after each packet."""
        with self.lock:
            for port, data in frames:
                st = self._rx.setdefault(port, [0, 0])
                st[0] += 1
                st[1] += len(data)
            if self._compiled is None:
                self._counts["no_pipeline"] += len(frames)
                return
            if self._native is not None:
                self._native.receive_batch(frames)
                if self.clock.virtual:
                    self.clock.run_due()  # type: ignore[attr-defined]
                return
            for port, data in frames:  # python engine: what receive() does per packet
                P = Pkt(bytes(data), port)
                if self.frame_size is not None:
                    P.ilen = self.frame_size(P.data)
                self._ingress(P, PKT_INSTANCE_TYPE_NORMAL, None)
                if self.clock.virtual:
                    self.clock.run_due()  # type: ignore[attr-defined]

    def inject(self, data: bytes, port: int | None = None) -> None:
        """Packet-out: inject ``data`` as if received on ``port`` (default: the CPU port)."""
        p = self.cpu_port if port is None else port
        if p is None:
            raise NoPipelineError("no CPU port configured (cpu_port)")
        self.receive(p, data)

    def on_transmit(self, cb: Callable[[int, bytes], None]) -> None:
        """``cb(port, data)`` for every packet the switch sends out, including packets to
        port numbers with no port attached (which are then dropped, as simple_switch does)."""
        self.tx_callbacks.append(cb)

    def on_packet_in(self, cb: Callable[[bytes], None]) -> None:
        self.packet_in_callbacks.append(cb)

    def off_transmit(self, cb: Callable[[int, bytes], None]) -> None:
        """Stop calling ``cb`` (registered with :meth:`on_transmit`); unknown ``cb`` is a no-op."""
        if cb in self.tx_callbacks:
            self.tx_callbacks.remove(cb)

    def off_packet_in(self, cb: Callable[[bytes], None]) -> None:
        """Stop calling ``cb`` (registered with :meth:`on_packet_in`); unknown ``cb`` is a no-op."""
        if cb in self.packet_in_callbacks:
            self.packet_in_callbacks.remove(cb)

    def run_until_idle(self, limit_us: float | None = None) -> int:
        """Virtual clock only: process every pending event (queues drain, timers fire)."""
        if not self.clock.virtual:
            raise RuntimeError("run_until_idle needs a VirtualClock")
        return self.clock.run_until_idle(limit_us)  # type: ignore[attr-defined]

    def advance(self, dt_us: float) -> int:
        """Virtual clock only: move time forward by ``dt_us`` microseconds."""
        if not self.clock.virtual:
            raise RuntimeError("advance needs a VirtualClock")
        return self.clock.advance(dt_us)  # type: ignore[attr-defined]

    # -- statistics ------------------------------------------------------------------------------

    def _count(self, what: str) -> None:
        self._counts[what] += 1

    def _count_parser_error(self, code: int) -> None:
        self._counts["parser_error"] += 1
        self._parser_errors[self.error_names.get(code, str(code))] += 1

    def stats(self) -> dict[str, Any]:
        """Counters: ``rx``/``tx`` per port ({port: {"packets", "bytes"}}), ``drops`` by
        reason, ``parser_errors`` by error name, ``events`` (clones, resubmits, ...), and the
        traffic manager's per-port queue figures."""
        with self.lock:
            drop_keys = (
                "ingress_drop",
                "egress_drop",
                "queue_full",
                "priority_out_of_range",
                "tx_no_port",
                "tx_error",
                "no_pipeline",
                "assert_failed",
                "internal_error",
                "clone_no_session",
                "multicast_empty",
            )
            drops = {k: self._counts[k] for k in drop_keys if self._counts[k]}
            events = {k: v for k, v in self._counts.items() if k not in drop_keys}
            return {
                "rx": {p: {"packets": s[0], "bytes": s[1]} for p, s in self._rx.items()},
                "tx": {p: {"packets": s[0], "bytes": s[1]} for p, s in self._tx.items()},
                "drops": drops,
                "parser_errors": dict(self._parser_errors),
                "events": events,
                "queues": {
                    n: {
                        "depth": ep.size(),
                        "drops": ep.drops,
                        "cqf_overruns": ep.cqf_overruns,
                        "tx_packets": ep.tx_packets,
                        "cqf": None
                        if ep.cqf is None
                        else {"cycle_us": ep.cqf[0], "t0_us": ep.cqf[1], "queues": ep.cqf[2:]},
                    }
                    for n, ep in self.tm.ports.items()
                },
                "digests": {"sent": self.digests.sent, "filtered": self.digests.filtered},
            }

    def reset_stats(self) -> None:
        with self.lock:
            self._counts.clear()
            self._parser_errors.clear()
            self._rx.clear()
            self._tx.clear()

    # -- atomic batches --------------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Control writes inside are atomic for packets and undone together on an error.

        No packet is processed while the block runs (the switch lock is held); if the block
        raises, every write made in it is rolled back and the exception propagates.
        """
        with self.lock:
            if self.journal.active:  # nested: the outer batch owns the journal
                yield
                return
            self.journal.begin()
            try:
                yield
            except BaseException:
                self.journal.rollback()
                if self._native is not None:
                    self._native.mark_all_dirty()
                raise
            else:
                self.journal.commit()

    def _require_program(self) -> Program:
        if self.program is None:
            raise NoPipelineError("no P4 program loaded")
        return self.program
