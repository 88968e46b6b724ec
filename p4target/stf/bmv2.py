"""Run an STF test on real BMv2 (``simple_switch`` + ``simple_switch_CLI``), when installed.

Like p4c's ``bmv2stf.py``: the switch reads and writes pcap files (``--use-files``), input
files are FIFOs fed while the commands run, control commands go through
``simple_switch_CLI`` (a second apart from packets so they take effect first).  STF
priorities (larger wins) become BMv2 CLI priorities (smaller wins) as ``10000 - p``.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from p4target.switch import LPM, Exact, Optional, Range, Ternary, VirtualClock
from p4target.switch.switch import Switch

from .parser import Command
from .runner import EmbeddedRunner, StfResult, action_params, resolve_action
from .values import StfError, default_key_value, key_value, resolve_key, resolve_name

PRIORITY_BASE = 10000


def bmv2_available() -> str | None:
    """None when simple_switch and simple_switch_CLI are on PATH, else why not."""
    missing = [b for b in ("simple_switch", "simple_switch_CLI") if shutil.which(b) is None]
    if missing:
        return f"{' and '.join(missing)} not found on PATH (BMv2 is not installed)"
    return None


def _cli_key(v: Any) -> str:
    if isinstance(v, Exact):
        return str(v.value)
    if isinstance(v, LPM):
        return f"{v.value}/{v.prefix_len}"
    if isinstance(v, Ternary):
        return f"{v.value}&&&{v.mask}"
    if isinstance(v, Range):
        return f"{v.lo}->{v.hi}"
    if isinstance(v, Optional):
        return "0&&&0" if v.value is None else f"{v.value}&&&{(1 << 128) - 1}"
    raise StfError(f"cannot express {v!r} for simple_switch_CLI")


def _open_writer(cls: Any, path: Path, out: list[Any]) -> None:
    out.append(cls(str(path), linktype=1, sync=True))  # blocks until the switch opens the FIFO


class Bmv2Runner:
    """Drives simple_switch with the commands of an STF file."""

    def __init__(
        self,
        json_path: str | Path,
        json_program: dict[str, Any],
        verbose: bool = False,
        echo: Any = print,
    ):
        self.json_path = Path(json_path).resolve()
        self.names = Switch(json_program, clock=VirtualClock())  # name and key resolution only
        self.verbose = verbose
        self.echo = echo
        self.entry_ids: dict[str, tuple[str, int]] = {}

    def translate(self, c: Command) -> str | None:
        """The simple_switch_CLI line for a control command (None: not a CLI command)."""
        sw = self.names
        if c.name == "add":
            tname = resolve_name("table", c.table, sw.table_names())
            t = sw.table(tname)
            key = [default_key_value(k) for k in t.keys]
            for kname, ktext in c.keys:
                i = resolve_key(kname, t.keys)
                key[i] = key_value(ktext, t.keys[i])
            aname = resolve_action(sw, t, c.action)
            params = action_params(sw, aname, c)
            line = f"table_add {tname} {aname} {' '.join(_cli_key(k) for k in key)} => {' '.join(map(str, params))}"
            if t.prioritized:
                line += f" {PRIORITY_BASE - (c.priority if c.priority is not None else 1)}"
            return line
        if c.name == "setdefault":
            tname = resolve_name("table", c.table, sw.table_names())
            aname = resolve_action(sw, sw.table(tname), c.action)
            params = action_params(sw, aname, c)
            return f"table_set_default {tname} {aname} {' '.join(map(str, params))}".rstrip()
        if c.name == "register_read":
            return f"register_read {c.counter} {c.index}"
        if c.name in (
            "mirroring_add",
            "mirroring_add_mc",
            "mirroring_delete",
            "mirroring_get",
            "mc_mgrp_create",
            "mc_mgrp_destroy",
            "mc_node_create",
            "mc_node_update",
            "mc_node_destroy",
            "mc_node_associate",
            "mc_node_dissociate",
            "counter_read",
            "counter_write",
            "counter_reset",
            "register_write",
            "register_reset",
            "meter_set_rates",
            "meter_array_set_rates",
            "meter_get_rates",
        ):
            return c.text
        return None

    def run(self, cmds: list[Command]) -> StfResult:
        why = bmv2_available()
        if why:
            raise StfError(why)
        from scapy.utils import PcapWriter, rdpcap

        ports = sorted(
            {c.port for c in cmds if c.name in ("packet", "expect") and c.port is not None}
        )
        tmp = Path(tempfile.mkdtemp(prefix="stf-bmv2-"))
        thrift = 9090 + random.randint(1, 2000)
        for p in ports:
            os.mkfifo(tmp / f"pcap{p}_in.pcap")
        args = [
            "simple_switch",
            "--log-file",
            "switch.log",
            "--log-flush",
            "--use-files",
            "0",
            "--thrift-port",
            str(thrift),
            "--device-id",
            str(random.randint(1, 1000)),
        ]
        for p in ports:
            args += ["-i", f"{p}@pcap{p}"]
        args.append(str(self.json_path))
        sw = subprocess.Popen(args, cwd=tmp)
        writers: dict[int, Any] = {}
        failures: list[str] = []
        runner = EmbeddedRunner.__new__(EmbeddedRunner)
        runner.expects, runner.any_ports, runner.outputs = [], set(), {}
        try:
            for p in ports:  # BMv2 opens the FIFOs in port order
                opened: list[Any] = []
                t = threading.Thread(
                    target=_open_writer, args=(PcapWriter, tmp / f"pcap{p}_in.pcap", opened)
                )
                t.start()
                t.join(60)
                if not opened:
                    raise StfError("simple_switch did not open its input files")
                writers[p] = opened[0]
            deadline = time.time() + 60
            while True:
                if sw.poll() is not None:
                    raise StfError("simple_switch exited early (see switch.log)")
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", thrift)) == 0:
                        break
                if time.time() > deadline:
                    raise StfError("simple_switch thrift server did not start")
                time.sleep(0.2)
            cli = subprocess.Popen(
                ["simple_switch_CLI", "--thrift-port", str(thrift)],
                cwd=tmp,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            )
            delay = 0.0
            from .runner import Expectation

            for c in cmds:
                line = self.translate(c)
                if line is not None:
                    cli.stdin.write(line + "\n")
                    cli.stdin.flush()
                    delay = 1.0
                elif c.name == "packet":
                    time.sleep(delay)
                    delay = 0.0
                    writers[c.port].write(bytes.fromhex(c.data or ""))
                elif c.name == "expect":
                    if c.data is None:
                        runner.any_ports.add(c.port)
                    else:
                        runner.expects.append(Expectation(c.port, c.data, c.exact_len, c.line))
                elif c.name == "wait":
                    time.sleep(1.0)
                elif c.name == "check_counter":
                    self.echo(f"line {c.line}: check_counter is not checked on the bmv2 target")
            cli.stdin.close()
            for w in writers.values():
                w.close()
            time.sleep(2.0)
            cli.terminate()
        except StfError as exc:
            failures.append(str(exc))
        finally:
            sw.terminate()
            try:
                sw.wait(10)
            except subprocess.TimeoutExpired:
                sw.kill()
        for p in ports:
            f = tmp / f"pcap{p}_out.pcap"
            if f.exists() and f.stat().st_size > 0:
                runner.outputs[p] = [bytes(x) for x in rdpcap(str(f))]
        mismatches = failures + runner.compare()
        if not self.verbose:
            shutil.rmtree(tmp, ignore_errors=True)
        return StfResult(not mismatches, mismatches, [], runner.outputs)
