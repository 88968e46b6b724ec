"""Run an STF test against the embedded switch and compare what came out."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from p4target.switch import Switch, SwitchError, VirtualClock
from p4target.switch.matchkeys import MatchValue

from .parser import Command
from .values import StfError, default_key_value, key_value, parse_number, resolve_key, resolve_name

_CMP: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass
class Expectation:
    port: int
    data: str | None  # hex nibbles with '*'; None = any packet
    exact_len: bool
    line: int


@dataclass
class StfResult:
    ok: bool
    mismatches: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    outputs: dict[int, list[bytes]] = field(default_factory=dict)

    def report(self) -> str:
        if self.ok:
            return "PASS"
        return "FAIL\n" + "\n".join(self.mismatches)


def packet_matches(expected: str, received: bytes, exact_len: bool) -> int | None:
    """None if ``received`` matches ``expected`` (hex with '*' nibbles), else the first
    differing nibble index (len(expected) when lengths differ)."""
    got = received.hex()
    if len(got) < len(expected) or (exact_len and len(got) != len(expected)):
        n = min(len(got), len(expected))
        for i in range(n):
            if expected[i] != "*" and expected[i] != got[i]:
                return i
        return n
    for i, ch in enumerate(expected):
        if ch != "*" and ch != got[i]:
            return i
    return None


def _summary(data: bytes) -> str:
    try:
        from scapy.layers.l2 import Ether

        return Ether(data).summary()
    except Exception:  # noqa: BLE001 - a summary is a nicety
        return f"{len(data)} bytes"


def hex_diff(expected: str, received: bytes, first: int) -> list[str]:
    """Side-by-side hex lines with '^' under the differing nibbles."""
    got = received.hex()
    width = 64  # nibbles per line
    out = []
    n = max(len(expected), len(got))
    for start in range(0, n, width):
        e = expected[start : start + width]
        g = got[start : start + width]
        marks = "".join(
            "^"
            if i + start >= first and (i >= len(e) or i >= len(g) or (e[i] != "*" and e[i] != g[i]))
            else " "
            for i in range(max(len(e), len(g)))
        )
        if "^" in marks or start <= first < start + width:
            out.append(f"    expected {start // 2:4d}: {e}")
            out.append(f"    received {start // 2:4d}: {g}")
            out.append(f"                    {marks.rstrip()}")
    return out


def resolve_action(sw: Switch, table: Any, name: str) -> str:
    """The JSON name of the action STF calls ``name`` among ``table``'s actions."""
    prog = sw.program
    names = [prog.action_name(a) for a in table.action_ids]
    return resolve_name(f"action of {table.name}", name, names)


def action_params(sw: Switch, action_name: str, c: Command) -> list[int]:
    """Action data in declaration order from the ``NAME:VALUE`` arguments of ``c``."""
    prog = sw.program
    aid = next(a for a, j in prog.actions.items() if j["name"] == action_name)
    specs = prog.actions[aid].get("runtime_data", [])
    given = dict(c.params)
    names = [s["name"] for s in specs]
    for k in given:
        if k not in names:
            raise StfError(f"action {action_name} has no parameter {k!r} (has {names})")
    missing = [n for n in names if n not in given]
    if missing:
        raise StfError(f"action {action_name}: missing parameters {missing}")
    return [parse_number(given[s["name"]]) & ((1 << int(s["bitwidth"])) - 1) for s in specs]


class EmbeddedRunner:
    """Executes STF commands on a fresh embedded :class:`Switch`."""

    def __init__(
        self,
        json_program: dict[str, Any],
        verbose: bool = False,
        echo: Callable[[str], None] | None = None,
    ):
        self.sw = Switch(json_program, clock=VirtualClock(), name="stf")
        self.verbose = verbose
        self.echo = echo or (lambda s: None)
        self.outputs: dict[int, list[bytes]] = {}
        self.expects: list[Expectation] = []
        self.any_ports: set[int] = set()
        # like p4c's STF driver, the switch only has the ports the test names in
        # ``packet``/``expect``; what goes to any other port is dropped unseen
        self.ports: set[int] = set()
        self.entry_ids: dict[str, tuple[str, int]] = {}
        self.log: list[str] = []
        self.failures: list[str] = []
        self.sw.on_transmit(lambda port, data: self.outputs.setdefault(port, []).append(data))

    def say(self, msg: str) -> None:
        self.log.append(msg)
        if self.verbose:
            self.echo(msg)

    # -- commands --------------------------------------------------------------------------------

    def run(self, cmds: list[Command]) -> StfResult:
        for c in cmds:
            try:
                self.execute(c)
            except (StfError, SwitchError, ValueError, KeyError, TypeError) as exc:
                self.failures.append(f"line {c.line}: {c.text}\n    error: {exc}")
        self.sw.run_until_idle()
        mismatches = self.failures + self.compare()
        return StfResult(not mismatches, mismatches, self.log, dict(self.outputs))

    def execute(self, c: Command) -> None:
        sw = self.sw
        if self.verbose:
            self.say(f"STF: {c.text}")
        n = c.name
        if n == "add":
            self._add(c)
        elif n == "setdefault":
            tname = resolve_name("table", c.table, sw.table_names())
            t = sw.table(tname)
            aname = resolve_action(self.sw, t, c.action)
            sw.table_set_default(tname, aname, action_params(self.sw, aname, c))
        elif n == "packet":
            self.ports.add(c.port)
            sw.receive(c.port, bytes.fromhex(c.data or ""))
        elif n == "expect":
            self.ports.add(c.port)
            if c.data is None:
                self.any_ports.add(c.port)
            else:
                self.expects.append(Expectation(c.port, c.data, c.exact_len, c.line))
        elif n == "wait":
            sw.run_until_idle()
        elif n == "no_packet":
            pass
        elif n == "remove":
            if c.args[:1] != ["all"]:
                raise StfError("only 'remove all' is supported")
            for tname in sw.table_names():
                if not sw.table(tname).has_const_entries:
                    sw.table_clear(tname)
        elif n == "check_counter":
            self._check_counter(c)
        elif n == "mirroring_add":
            sw.mirroring_add(int(c.args[0]), port=int(c.args[1]))
        elif n == "mirroring_add_mc":
            sw.mirroring_add(int(c.args[0]), mgid=int(c.args[1]))
        elif n == "mirroring_delete":
            sw.mirroring_delete(int(c.args[0]))
        elif n == "mirroring_get":
            self.say(f"mirroring session {c.args[0]}: {sw.mirroring_get(int(c.args[0]))}")
        elif n == "mc_mgrp_create":
            sw.mc_group_create(int(c.args[0]))
        elif n == "mc_mgrp_destroy":
            sw.mc_group_destroy(int(c.args[0]))
        elif n == "mc_node_create":
            ports = [int(x) for x in c.args[1:] if x != "|"]
            h = sw.mc_node_create(int(c.args[0]), ports)
            self.say(f"multicast node created with handle {h}")
        elif n == "mc_node_update":
            sw.mc_node_update(int(c.args[0]), [int(x) for x in c.args[1:] if x != "|"])
        elif n == "mc_node_destroy":
            sw.mc_node_destroy(int(c.args[0]))
        elif n == "mc_node_associate":
            sw.mc_node_associate(int(c.args[0]), int(c.args[1]))
        elif n == "mc_node_dissociate":
            sw.mc_node_dissociate(int(c.args[0]), int(c.args[1]))
        elif n == "counter_read":
            name = resolve_name("counter", c.args[0], list(sw.counters))
            self.say(f"{name}[{c.args[1]}] = {sw.counter_read(name, int(c.args[1]))}")
        elif n == "counter_write":
            name = resolve_name("counter", c.args[0], list(sw.counters))
            sw.counter_write(name, int(c.args[1]), parse_number(c.args[2]), parse_number(c.args[3]))
        elif n == "counter_reset":
            sw.counter_reset(resolve_name("counter", c.args[0], list(sw.counters)))
        elif n == "register_read":
            name = resolve_name("register", c.counter, list(sw.registers))
            sw.run_until_idle()
            v = sw.register_read(name, int(c.index))
            self.say(f"{name}[{c.index}] = {v}")
            if c.cmp is not None and not _CMP[c.cmp](v, parse_number(c.value or "0")):
                self.failures.append(
                    f"line {c.line}: {c.text}\n    register {name}[{c.index}] is {v} ({v:#x})"
                )
        elif n == "register_write":
            name = resolve_name("register", c.args[0], list(sw.registers))
            sw.register_write(name, int(c.args[1]), parse_number(c.args[2]))
        elif n == "register_reset":
            sw.register_reset(resolve_name("register", c.args[0], list(sw.registers)))
        elif n in ("meter_set_rates", "meter_array_set_rates"):
            name = resolve_name("meter", c.args[0], list(sw.meters))
            idx = int(c.args[1]) if n == "meter_set_rates" else None
            specs = c.args[2:] if n == "meter_set_rates" else c.args[1:]
            rates = []
            for s in specs:
                r, b = s.split(":")
                rates.append((float(r), int(b)))
            sw.meter_set_rates(name, idx, rates)
        elif n == "meter_get_rates":
            name = resolve_name("meter", c.args[0], list(sw.meters))
            self.say(f"{name}[{c.args[1]}] rates: {sw.meter_get_rates(name, int(c.args[1]))}")
        else:
            raise StfError(f"command {n!r} is not supported by the embedded target")

    def _add(self, c: Command) -> None:
        sw = self.sw
        tname = resolve_name("table", c.table, sw.table_names())
        t = sw.table(tname)
        key: list[MatchValue | None] = [None] * len(t.keys)
        for kname, ktext in c.keys:
            i = resolve_key(kname, t.keys)
            key[i] = key_value(ktext, t.keys[i])
        full = [k if k is not None else default_key_value(t.keys[i]) for i, k in enumerate(key)]
        aname = resolve_action(self.sw, t, c.action)
        params = action_params(self.sw, aname, c)
        prio = c.priority if c.priority is not None else (1 if t.prioritized else None)
        if t.profile is not None:  # indirect table: one member per entry
            mid = sw.profile_add_member(t.profile.name, aname, params)
            h = sw.table_add(tname, full, member=mid, priority=prio)
        else:
            h = sw.table_add(tname, full, aname, params, prio)
        if c.entry_id:
            self.entry_ids[c.entry_id] = (tname, h)

    def _check_counter(self, c: Command) -> None:
        sw = self.sw
        idx_txt = c.index.strip()
        if idx_txt.startswith("$"):
            eid = idx_txt[1:]
            if eid not in self.entry_ids:
                raise StfError(f"unknown entry id {idx_txt}")
            tname, handle = self.entry_ids[eid]
            pk, by = sw.table_entry_counter(tname, handle)
            what = f"{c.counter}({idx_txt})"
        else:
            name = resolve_name("counter", c.counter, list(sw.counters))
            pk, by = sw.counter_read(name, parse_number(idx_txt))
            what = f"{name}[{idx_txt}]"
        sw.run_until_idle()
        self.say(f"{what}: {pk} packets, {by} bytes")
        if c.cmp is None:
            return
        val = by if c.count_type == "bytes" else pk
        if not _CMP[c.cmp](val, parse_number(c.value or "0")):
            self.failures.append(
                f"line {c.line}: {c.text}\n    counter {what} has {pk} packets, {by} bytes"
            )

    # -- comparison ------------------------------------------------------------------------------

    def compare(self) -> list[str]:
        problems: list[str] = []
        by_port: dict[int, list[Expectation]] = {}
        for e in self.expects:
            by_port.setdefault(e.port, []).append(e)
        ports = sorted(set(by_port) | set(self.outputs))
        for port in ports:
            if port not in self.ports:
                n = len(self.outputs.get(port, []))
                self.say(f"port {port} is not part of the test: {n} packet(s) there ignored")
                continue
            exp = by_port.get(port, [])
            got = self.outputs.get(port, [])
            if port in self.any_ports and not exp:
                continue
            for i in range(max(len(exp), len(got))):
                if i >= len(got):
                    problems.append(
                        f"port {port}: expected packet #{i} (line {exp[i].line}) was not received\n"
                        f"    expected: {exp[i].data}{'$' if exp[i].exact_len else ''}"
                    )
                    continue
                if i >= len(exp):
                    problems.append(
                        f"port {port}: unexpected packet #{i} ({len(got[i])} bytes): "
                        f"{_summary(got[i])}\n    received: {got[i].hex()}"
                    )
                    continue
                e = exp[i]
                if e.data is None:
                    continue
                bad = packet_matches(e.data, got[i], e.exact_len)
                if bad is not None:
                    why = (
                        "lengths differ"
                        if bad >= min(len(e.data), len(got[i]) * 2)
                        else f"differs at byte {bad // 2}"
                    )
                    lines = [
                        f"port {port}: packet #{i} (line {e.line}) {why} "
                        f"(expected {len(e.data) / 2:g} bytes{' exactly' if e.exact_len else ''}, "
                        f"received {len(got[i])}): {_summary(got[i])}"
                    ]
                    lines += hex_diff(e.data, got[i], bad)
                    problems.append("\n".join(lines))
        return problems
