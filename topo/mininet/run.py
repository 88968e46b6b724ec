"""One network description run on Mininet: switches, the controller, host programs, a workload.

:class:`MininetRun` builds the network (:func:`topo.mininet.network.build_mininet`), starts the
switches, starts the controller in this process (:class:`controlplane.controller.Controller` on
the wall clock, stepping every ``controller.interval_s`` in a thread; it pushes the pipeline
and fills the tables over P4Runtime), then the host programs as real processes in the hosts'
namespaces (:mod:`traces.hostprog`): a service node per node of the file, an authoritative DNS
server on each ``dns`` host (AAAA records ``<service>.cpn.example`` -> the service's nodes), a
client per client host fed requests as JSON lines. :meth:`MininetRun.run_workload` sends a
seeded small workload (:func:`make_requests`), swaps the policy half-way with requests in
flight, and returns a :class:`RunSummary`. :meth:`MininetRun.stop` tears everything down (also
on errors and Ctrl-C) and checks that no interface of the run is left.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from controlplane.netdesc import NetworkDescription
from topo.mininet.network import build_mininet, leftovers, stop_mininet, with_free_grpc_ports
from topo.mininet.p4switch import P4Switch, die_with_parent
from topo.mininet.plan import HostPlan, MininetPlan
from topo.mininet.workload import DNS_ZONE, make_requests

log = logging.getLogger("topo.mininet")


class HostProgram:
    """A :mod:`traces.hostprog` process on a Mininet host, its JSON lines parsed by a thread."""

    def __init__(
        self,
        node: Any,
        plan: HostPlan,
        argv: list[str],
        log_path: Path,
        cond: threading.Condition | None = None,
    ) -> None:
        self.name, self.kind, self.plan = plan.name, plan.kind, plan
        self.log_path = log_path
        self._err: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = node.popen(
            die_with_parent(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err
        )
        self.ready = threading.Event()
        self.records: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.stats: dict[str, Any] | None = None
        self.cond = cond or threading.Condition()  # notified at every message
        self._reader = threading.Thread(target=self._read, name=f"prog-{self.name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except json.JSONDecodeError:
                continue
            ev = msg.get("event")
            with self.cond:
                if ev == "ready":
                    self.ready.set()
                elif ev == "record":
                    self.records.append(msg)
                elif ev == "error":
                    self.errors.append(msg)
                elif ev == "stats":
                    self.stats = msg
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.kind} program on {self.name} did not start:\n{tail}")

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Clients finish their requests in flight (``quit``); servers get SIGTERM."""
        if self.proc.poll() is None:
            try:
                if self.kind == "client":
                    self.send({"op": "quit"})
                    self.proc.stdin.close()  # type: ignore[union-attr]
                else:
                    self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout_s)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._reader.join(2)
        self._err.close()


@dataclass
class RunSummary:
    network: str
    switch_kind: str
    switches: int
    hosts: int
    policy: str
    swap_to: str | None
    requests: int
    outcomes: dict[str, int]
    phases: dict[str, dict[str, Any]]
    modes: dict[str, dict[str, Any]]
    served_by: dict[str, int]
    swap: dict[str, Any] | None
    swap_error: str
    controller: dict[str, Any]
    nodes: dict[str, Any]
    dns: dict[str, Any]
    link_delays: list[str]
    start_s: float
    wall_s: float
    leftovers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [
            f"Mininet run of {self.network}: {self.switches} P4 switches ({self.switch_kind}), "
            f"{self.hosts} hosts; up in {self.start_s:.1f} s, workload {self.wall_s:.1f} s",
            f"requests: {self.requests} sent, "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())),
        ]
        for name, ph in self.phases.items():
            if ph["requests"]:
                lines.append(
                    f"  {name:<13} {ph['requests']:3d} requests, {ph['ok']:3d} ok; initiation "
                    f"p50 {_ms(ph['initiation_p50_us'])} p95 {_ms(ph['initiation_p95_us'])}; "
                    f"completion p50 {_ms(ph['completion_p50_us'])} "
                    f"p95 {_ms(ph['completion_p95_us'])}"
                )
        if all(m["requests"] for m in self.modes.values()):
            for name, ph in self.modes.items():
                lines.append(
                    f"  {'via ' + name:<13} {ph['requests']:3d} requests, {ph['ok']:3d} ok; "
                    f"initiation p50 {_ms(ph['initiation_p50_us'])} "
                    f"p95 {_ms(ph['initiation_p95_us'])}"
                )
        if self.swap_error:
            lines.append(f"swap to {self.swap_to} FAILED (old version kept): {self.swap_error}")
        if self.swap:
            s = self.swap
            lines.append(
                f"swap {self.policy} -> {self.swap_to}: version {s['old_version']} -> "
                f"{s['new_version']}, {s['entries_written']} entries, prepare+flip "
                f"{s['prepare_s'] + s['flip_s']:.3f} s ({s['atomicity']})"
            )
        lines.append(
            "served by: " + ", ".join(f"{k} {v}" for k, v in sorted(self.served_by.items()))
        )
        lines.append("link delays (switch port model):")
        lines += [f"  {d}" for d in self.link_delays]
        lines.append(
            "teardown: " + ("no interface left" if not self.leftovers else f"LEFT {self.leftovers}")
        )
        return "\n".join(lines)


def _ms(us: float | None) -> str:
    return "-" if us is None else f"{us / 1e3:.2f} ms"


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(q / 100 * (len(v) - 1))))]


class MininetRun:
    """See the module doc. Use as a context manager (``stop`` runs whatever happens)."""

    def __init__(
        self,
        net: NetworkDescription,
        *,
        policy: str = "base1",
        log_dir: str | Path | None = None,
        state_dir: str | Path | None = None,
        binary: str | None = "auto",
        request_timeout_s: float = 5.0,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.net = with_free_grpc_ports(net)
        self.policy = policy
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="cpn-mininet-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if state_dir is None:  # a fresh controller for fresh switches
            state_dir = self.log_dir / "controller-state"
            shutil.rmtree(state_dir, ignore_errors=True)
        self.state_dir = Path(state_dir)
        self.binary = binary
        self.request_timeout_s = request_timeout_s
        self.start_timeout_s = start_timeout_s
        self.mn: Any = None
        self.plan: MininetPlan | None = None
        self.ctl: Any = None
        self.programs: dict[str, HostProgram] = {}
        self.swap_report: Any = None
        self.swap_window: tuple[float, float] | None = None  # monotonic µs
        self.swap_error = ""
        self.start_s = 0.0
        self._stepper: threading.Thread | None = None
        self._stop = threading.Event()
        self.step_errors: list[str] = []
        self.left: list[str] = []
        self.host_netns: dict[str, int] = {}  # host name -> netns inode (for leak checks)
        self.cond = threading.Condition()  # notified by every program message

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> MininetRun:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        from controlplane.controller import Controller

        t0 = time.monotonic()
        self.mn = build_mininet(
            self.net, log_dir=self.log_dir, binary=self.binary, start_timeout_s=self.start_timeout_s
        )
        self.plan = self.mn.plan
        for h in self.plan.hosts:
            self.host_netns[h.name] = _netns_inode(self.mn[h.name].pid)
        self.mn.start()
        log.info("switches up in %.1f s", time.monotonic() - t0)
        self.ctl = Controller(self.net, policy=self.policy, state_dir=self.state_dir)
        self.ctl.start()
        log.info("controller ready in %.1f s: %s", time.monotonic() - t0, self.ctl.policy_name)
        self._stepper = threading.Thread(target=self._step_loop, name="ctl-step", daemon=True)
        self._stepper.start()
        for h in self.plan.hosts:
            if h.kind == "service":
                self._start_program(h, self._service_argv(h))
        for h in self.plan.hosts:
            if h.kind == "dns":
                self._start_program(h, self._dns_argv(h))
        for h in self.plan.hosts:
            if h.kind == "client":
                self._start_program(h, self._client_argv(h))
        for p in self.programs.values():
            p.wait_ready(self.start_timeout_s)
        self.start_s = time.monotonic() - t0
        log.info("network, controller and %d programs up in %.1f s", len(self.programs),
                 self.start_s)  # fmt: skip

    def _step_loop(self) -> None:
        interval = self.net.controller.interval_s
        while not self._stop.wait(interval):
            try:
                self.ctl.step()
            except Exception as exc:  # noqa: BLE001 - the next interval retries
                self.step_errors.append(repr(exc))
                log.warning("controller step failed: %s", exc)

    def stop(self) -> None:
        """Stop programs, controller and network; idempotent; records :attr:`left`."""
        self._stop.set()
        for p in self.programs.values():
            try:
                p.stop(self.request_timeout_s + 5)
            except Exception as exc:  # noqa: BLE001 - keep tearing down
                log.warning("stopping %s: %s", p.name, exc)
        if self._stepper is not None:
            self._stepper.join(self.net.controller.interval_s + 30)
            self._stepper = None
        if self.ctl is not None:
            try:
                self.ctl.stop()
            except Exception as exc:  # noqa: BLE001
                log.warning("stopping the controller: %s", exc)
            self.ctl = None
        if self.mn is not None:
            stop_mininet(self.mn)
            self.left = leftovers(self.mn.plan)
            self.mn = None

    # -- programs -------------------------------------------------------------------------------
    def _base_argv(self, program: str, h: HostPlan) -> list[str]:
        return [
            sys.executable, "-m", "traces.hostprog", program, "--ifname", h.intf, "--mac", h.mac,
            "--address", h.address, "--gateway-mac", h.gateway_mac, "--name", h.name,
        ]  # fmt: skip

    def _service_argv(self, h: HostPlan) -> list[str]:
        return self._base_argv("service", h) + [
            "--device", h.device, "--capacity-tflops", f"{h.capacity_tflops:g}",
            "--node-id", str(h.node_id),
        ]  # fmt: skip

    def _dns_argv(self, h: HostPlan) -> list[str]:
        argv = self._base_argv("dns", h) + ["--zone", DNS_ZONE]
        for svc in self.net.services:
            site = self.net.site(svc.site)
            addrs = [n.address for n in site.nodes if not svc.nodes or n.node_id in svc.nodes]
            argv += ["--record", f"{svc.name}.{DNS_ZONE}={','.join(addrs)}"]
        return argv

    def _client_argv(self, h: HostPlan) -> list[str]:
        argv = self._base_argv("client", h) + [
            "--stdin",
            "--timeout-s",
            f"{self.request_timeout_s:g}",
        ]
        dns = [x for x in self.net.hosts if x.kind == "dns"]
        if dns:
            argv += ["--dns-server", dns[0].address]
        return argv

    def _start_program(self, h: HostPlan, argv: list[str]) -> None:
        self.programs[h.name] = HostProgram(
            self.mn[h.name], h, argv, self.log_dir / f"{h.name}.log", self.cond
        )

    # -- traffic --------------------------------------------------------------------------------
    def submit(self, client: str, spec: dict[str, Any]) -> None:
        self.programs[client].send(spec)

    def records(self) -> list[dict[str, Any]]:
        return [r for p in self.programs.values() for r in p.records]

    def wait_records(self, n: int, timeout_s: float) -> bool:
        """Wait until ``n`` request records (and errors) have come back since the start."""
        deadline = time.monotonic() + timeout_s
        clients = [p for p in self.programs.values() if p.kind == "client"]
        with self.cond:
            return self.cond.wait_for(
                lambda: (
                    sum(len(p.records) + len(p.errors) for p in clients) >= n
                    or all(p.proc.poll() is not None for p in clients)
                ),
                max(0.0, deadline - time.monotonic()),
            )

    def swap(self, policy: str) -> Any:
        t0 = time.monotonic() * 1e6
        self.swap_report = self.ctl.swap(policy)
        self.swap_window = (t0, time.monotonic() * 1e6)
        return self.swap_report

    def run_workload(
        self,
        requests: int = 20,
        *,
        seed: int = 0,
        interval_s: float = 0.05,
        swap_to: str | None = "base2",
        mode: str = "aisid",
    ) -> RunSummary:
        """Send ``requests`` (:func:`make_requests`) ``interval_s`` apart; start a swap to
        ``swap_to`` once half of them are sent (requests keep flowing during it; the last
        quarter waits for it to end); wait for every record."""
        t0 = time.monotonic()
        work = make_requests(self.net, requests, seed, mode=mode)
        base = len(self.records()) + sum(len(p.errors) for p in self.programs.values())
        half = len(work) // 2
        swapper: threading.Thread | None = None
        swap_error: list[BaseException] = []

        def do_swap() -> None:
            try:
                self.swap(swap_to)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - reported in the summary
                swap_error.append(exc)

        for i, (client, spec) in enumerate(work):
            if i == half and swap_to:
                swapper = threading.Thread(target=do_swap, name="swap", daemon=True)
                swapper.start()
            if i == half + max(1, (len(work) - half) // 2) and swapper is not None:
                swapper.join(120)  # the last quarter goes out under the new version
            self.submit(client, spec)
            time.sleep(interval_s)  # pacing of the workload, not synchronisation
        if swapper is not None:
            swapper.join(120)
            if swap_error:
                self.swap_error = f"{type(swap_error[0]).__name__}: {swap_error[0]}"
                log.error("swap to %s failed: %s", swap_to, self.swap_error)
        self.wait_records(base + len(work), self.request_timeout_s * 3 + 10)
        self.collect_node_stats()
        return self.summary(swap_to, time.monotonic() - t0)

    def summary(self, swap_to: str | None, wall_s: float) -> RunSummary:
        recs = self.records()
        outcomes: dict[str, int] = {}
        for r in recs:
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        w = self.swap_window
        phases: dict[str, list[dict[str, Any]]] = {
            "before swap": [],
            "during swap": [],
            "after swap": [],
        }
        for r in recs:
            if w is None or r["t_start_us"] < w[0]:
                phases["before swap"].append(r)
            elif r["t_start_us"] <= w[1]:
                phases["during swap"].append(r)
            else:
                phases["after swap"].append(r)
        if w is None:
            phases = {"all": phases["before swap"]}
        served: dict[str, int] = {}
        for r in recs:
            if r["outcome"] == "ok":
                node = self._node_of(r)
                served[node] = served.get(node, 0) + 1
        status = self.ctl.status() if self.ctl else {}
        return RunSummary(
            network=self.net.name,
            switch_kind=next((s.kind for s in self.mn.switches if isinstance(s, P4Switch)), "-"),
            switches=len(self.plan.switches),
            hosts=len(self.plan.hosts),
            policy=self.policy,
            swap_to=swap_to,
            requests=len(recs),
            outcomes=outcomes,
            phases={k: _phase(v) for k, v in phases.items()},
            modes={
                "aisid": _phase([r for r in recs if _is_ip(r["target"])]),
                "dns": _phase([r for r in recs if not _is_ip(r["target"])]),
            },
            served_by=served,
            swap=asdict(self.swap_report) if self.swap_report is not None else None,
            swap_error=self.swap_error,
            controller={
                "policy": status.get("policy"),
                "version": status.get("version"),
                "entries": {
                    n: sum(s["entries"].values()) for n, s in status.get("switches", {}).items()
                },
                "step_errors": len(self.step_errors),
            },
            nodes={p.name: (p.stats or {}) for p in self.programs.values() if p.kind == "service"},
            dns={p.name: (p.stats or {}) for p in self.programs.values() if p.kind == "dns"},
            link_delays=self.plan.delay_table(),
            start_s=self.start_s,
            wall_s=wall_s,
        )

    def _node_of(self, r: dict[str, Any]) -> str:
        """The node that answered a request: by node address (DNS baseline), else by the
        node id its replies carry at the AISID's site."""
        nodes = [h for h in self.plan.hosts if h.kind == "service"]
        for h in nodes:
            if _ip(h.address) == _ip(r.get("address", "")):
                return h.name
        svc = [s for s in self.net.services if _ip(s.aisid) == _ip(r["target"])]
        site = self.net.site(svc[0].site).name if svc else ""
        for h in nodes:
            if h.site == site and h.node_id == r.get("node_id"):
                return h.name
        return f"node id {r.get('node_id')}"

    def collect_node_stats(self) -> None:
        """Stop the service programs (their final stats land in ``programs[...].stats``)."""
        for p in self.programs.values():
            if p.kind in ("service", "dns"):
                p.stop()


def _is_ip(text: str) -> bool:
    return _ip(text) != text or ":" in text


def _ip(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return text


def _phase(recs: list[dict[str, Any]]) -> dict[str, Any]:
    ini = [r["initiation_latency_us"] for r in recs if r.get("initiation_latency_us") is not None]
    com = [r["completion_latency_us"] for r in recs if r["outcome"] == "ok"]
    return {
        "requests": len(recs),
        "ok": sum(r["outcome"] == "ok" for r in recs),
        "initiation_p50_us": _pct(ini, 50),
        "initiation_p95_us": _pct(ini, 95),
        "completion_p50_us": _pct(com, 50),
        "completion_p95_us": _pct(com, 95),
    }


def _netns_inode(pid: int) -> int:
    import os

    return os.stat(f"/proc/{pid}/ns/net").st_ino


def netns_alive(inode: int) -> bool:
    """Whether any process still lives in the network namespace ``inode``."""
    import os

    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino == inode:
                    return True
            except OSError:
                continue
    return False


__all__ = ["HostProgram", "MininetRun", "RunSummary", "netns_alive"]
