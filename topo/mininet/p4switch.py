"""Mininet node classes: :class:`P4Switch` (a P4Runtime switch process on Mininet interfaces)
and :class:`HubSegment` (a Linux bridge in hub mode for service nodes sharing a switch port).

:class:`P4Switch` starts ``simple_switch_grpc`` when it is on PATH and
``python -m p4target.switch`` with the same flags otherwise: ``-i PORT@INTF`` per port,
``--device-id``, ``--no-p4`` (the controller pushes the pipeline), and ``--grpc-server-addr``,
``--cpu-port 255``, ``--priority-queues 8`` (after ``--`` for BMv2, whose target options they
are). The embedded switch also gets ``--port-delay PORT@US`` and ``--link-rate PORT@BPS`` per
port (``tc netem`` is missing on these kernels: link delay comes from the port model; see
:mod:`topo.mininet.plan`), ``--cqf PORT@CYCLE:6,7`` on CQF ports and ``--queue-depth``; BMv2
gets ``--thrift-port`` (gRPC port + 10000) so that several switches do not collide. Switches
run in the root namespace; their interfaces carry no IPv6 (``disable_ipv6=1``), so the kernel
neither answers nor sends on them. Output goes to ``<log_dir>/<name>.log``; ``start`` returns
once the process runs and :meth:`P4Switch.batchStartup` waits until every gRPC port answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from topo.mininet.mn import import_mininet
from topo.mininet.plan import switch_argv

import_mininet()
from mininet.node import Switch  # noqa: E402

BMV2 = "simple_switch_grpc"


def die_with_parent(argv: list[str]) -> list[str]:
    """``argv`` under ``setpriv --pdeathsig TERM`` (util-linux) when available: the process gets
    SIGTERM if the one that started it dies, so a killed run leaves no switch or program."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *argv] if setpriv else list(argv)


def grpc_ready(address: str, timeout_s: float) -> bool:
    """True once a gRPC channel to ``address`` is ready (within ``timeout_s``)."""
    import grpc

    ch = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(ch).result(timeout=timeout_s)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        ch.close()


def _disable_ipv6(intf: str) -> None:
    path = Path(f"/proc/sys/net/ipv6/conf/{intf}/disable_ipv6")
    if path.exists():
        path.write_text("1\n")


class P4Switch(Switch):
    """A P4Runtime switch on Mininet interfaces; see the module doc.

    Parameters: ``device_id``, ``grpc_address`` (``127.0.0.1:PORT``), ``port_delay_us``,
    ``link_rate_bps``, ``cqf`` (port -> cycle µs), ``queue_depth``, ``log_dir``, ``binary``
    (``"auto"``: simple_switch_grpc if on PATH; ``None``: the embedded switch; or a path),
    ``start_timeout_s``.
    """

    def __init__(
        self,
        name: str,
        *,
        device_id: int,
        grpc_address: str,
        port_delay_us: dict[int, float] | None = None,
        link_rate_bps: dict[int, float] | None = None,
        cqf: dict[int, int] | None = None,
        queue_depth: int | None = None,
        log_dir: str | os.PathLike[str] = "/tmp",
        binary: str | None = "auto",
        start_timeout_s: float = 30.0,
        **params: Any,
    ) -> None:
        params.setdefault("dpid", f"{device_id:x}")
        params["inNamespace"] = False
        super().__init__(name, **params)
        self.device_id = device_id
        self.grpc_address = grpc_address
        self.port_delay_us = dict(port_delay_us or {})
        self.link_rate_bps = dict(link_rate_bps or {})
        self.cqf = dict(cqf or {})
        self.queue_depth = queue_depth
        self.log_path = Path(log_dir) / f"{name}.log"
        self.binary = shutil.which(BMV2) if binary == "auto" else binary
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def kind(self) -> str:
        return "simple_switch_grpc" if self.binary else "p4target.switch"

    def data_intfs(self) -> dict[int, str]:
        """Port number -> interface name, without the control interface (lo, port 0)."""
        return {p: i.name for p, i in self.intfs.items() if p > 0 and i.name != "lo"}

    def argv(self) -> list[str]:
        return switch_argv(
            device_id=self.device_id,
            intfs=self.data_intfs(),
            grpc_address=self.grpc_address,
            binary=self.binary,
            port_delay_us=self.port_delay_us,
            link_rate_bps=self.link_rate_bps,
            cqf=self.cqf,
            queue_depth=self.queue_depth,
        )

    def start(self, controllers: list[Any]) -> None:  # noqa: ARG002 - P4Runtime, not OpenFlow
        """Start the switch process (interfaces up, no IPv6 on them); see batchStartup."""
        for name in self.data_intfs().values():
            _disable_ipv6(name)
            self.cmd("ip link set dev", name, "up")
        argv = self.argv()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log.write(f"$ {' '.join(argv)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            die_with_parent(argv),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Block until the gRPC port answers; RuntimeError (with the log's tail) if the
        process exits or ``timeout_s`` passes first."""
        deadline = time.monotonic() + (timeout_s or self.start_timeout_s)
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"switch {self.name} exited at start:\n{self.log_tail()}")
            if grpc_ready(self.grpc_address, 0.25):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"switch {self.name}: no gRPC on {self.grpc_address} after "
                    f"{timeout_s or self.start_timeout_s:g} s:\n{self.log_tail()}"
                )

    @classmethod
    def batchStartup(cls, switches: tuple[P4Switch, ...]) -> tuple[P4Switch, ...]:  # noqa: N802
        for sw in switches:
            sw.wait_ready()
        return switches

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop_process(self, timeout_s: float = 5.0) -> None:
        """SIGTERM the switch process (SIGKILL after ``timeout_s``)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, deleteIntfs: bool = True) -> None:  # noqa: N803 - Mininet's signature
        self.stop_process()
        super().stop(deleteIntfs)

    def deleteIntfs(self, checkName: bool = True) -> None:  # noqa: N802, N803
        """Delete this switch's interfaces, never the root namespace's loopback."""
        for intf in list(self.intfs.values()):
            if intf.name != "lo" and (self.name in intf.name or not checkName):
                intf.delete()


class HubSegment(Switch):
    """A Linux bridge (``ip link add NAME type bridge``) that floods every frame (ageing
    time 0, no learning): service nodes sharing one switch port, as one L2 segment."""

    def __init__(self, name: str, **params: Any) -> None:
        params.setdefault("dpid", "1")
        params["inNamespace"] = False
        super().__init__(name, **params)

    def data_intfs(self) -> list[str]:
        return [i.name for p, i in sorted(self.intfs.items()) if p >= 0 and i.name != "lo"]

    def start(self, controllers: list[Any]) -> None:  # noqa: ARG002
        out = self.cmd(f"ip link add name {self.name} type bridge ageing_time 0 stp_state 0")
        if "rror" in out:
            raise RuntimeError(f"{self.name}: cannot create a bridge: {out.strip()}")
        _disable_ipv6(self.name)
        for name in self.data_intfs():
            _disable_ipv6(name)
            self.cmd(f"ip link set dev {name} master {self.name} up")
        self.cmd(f"ip link set dev {self.name} up")

    def stop(self, deleteIntfs: bool = True) -> None:  # noqa: N803
        self.cmd(f"ip link del dev {self.name}")
        super().stop(deleteIntfs)

    def deleteIntfs(self, checkName: bool = True) -> None:  # noqa: N802, N803
        for intf in list(self.intfs.values()):
            if intf.name != "lo" and (self.name in intf.name or not checkName):
                intf.delete()


__all__ = ["HubSegment", "P4Switch", "die_with_parent", "grpc_ready", "switch_argv"]
