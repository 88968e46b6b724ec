"""A scenario: one network description run in process with its controller, hosts and workload.

:class:`Scenario` joins the pieces of the main job:

- the in-process network (:class:`topo.emunet.InProcessNetwork`: embedded cpn.p4 switches behind
  P4Runtime servers, links, endpoints, one virtual clock);
- the controller (:class:`controlplane.controller.Controller` on ``net.controller_clock()``), its
  control interval driven by ``net.every(interval_s, ...)``; before each interval every live
  service node reports its load (utilisation, backlog, alive: :meth:`Scenario.report_loads`), as
  CPN service nodes do, so a killed node drops out of the egress gateways' weights;
- a :class:`traces.service.ServiceNode` on every site node endpoint and a
  :class:`traces.client.AisidClient` on every client host, through
  :meth:`traces.transport.ClockTransport.for_endpoint`;
- a workload (:meth:`traces.workload.Workload.generate`, the AISID paper's Table 3), its service
  types registered through the controller's registry where the catalogue provides them (the
  first providing site as home, the others as replicas: the sites a policy may choose) unless
  the description lists its own services, replayed with ``Workload.drive``; a node serves the
  types its site provides.

Time only moves in :meth:`Scenario.run_for` / :meth:`run_until` / :meth:`run`. Actions scheduled
with :meth:`Scenario.at` (policy swaps, faults, anything of an extension) run on the calling
thread *between* run chunks, at their virtual time, so they may themselves let time pass (a
swap's drain) or wait for the controller (a switch restart). :meth:`Scenario.results` collects
what happened (:class:`cpn.results.ScenarioResults`).

Extending it (the DNS experiment, Mininet): pass ``mode="dns"`` (clients resolve the DNS names;
no AISID is registered, so the controller installs only routes: give a description without
``services``) and ``client_options`` (e.g. ``dns_server``), override :meth:`make_client` / :meth:`make_node`, or add ``on_built`` hooks
(called with the scenario once hosts exist, before the workload is scheduled).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.controller import Controller
from controlplane.egress import NodeLoad
from controlplane.netdesc import HostDesc, NetworkDescription, ServiceNodeDesc, SiteDesc
from controlplane.program import Program, load_program
from controlplane.swap import VERSION_REGISTER
from topo.emunet import Endpoint, InProcessNetwork
from traces.client import AisidClient
from traces.service import ServiceNode
from traces.transport import ClockTransport
from traces.workload import Workload, WorkloadParams

from .observe import Observer

log = logging.getLogger("cpn")

CHUNK_S = 0.02  # virtual seconds per run chunk (progress bar granularity)
SETTLE_S = 0.5  # virtual seconds run after the last request has an outcome


@dataclass(order=True)
class Action:
    """Something done on the main thread at virtual time ``t_s`` (see :meth:`Scenario.at`)."""

    t_s: float
    seq: int
    label: str = field(compare=False)
    fn: Callable[[], Any] = field(compare=False)
    done: bool = field(default=False, compare=False)
    error: str = field(default="", compare=False)


@dataclass
class Phase:
    """A stretch of the run served by one policy version (a swap starts the next one)."""

    policy: str
    version: int
    t0: float
    t1: float | None = None


class Scenario:
    """Network + controller + service nodes + clients + workload; see the module doc."""

    def __init__(
        self,
        net: NetworkDescription,
        *,
        policy: str = "base1",
        seed: int = 0,
        requests: int = 100,
        workload: Workload | None = None,
        params: WorkloadParams | None = None,
        mode: str = "aisid",
        interval_s: float | None = None,
        sample_s: float = 0.05,
        program: Program | None = None,
        state_dir: str | Path | None = None,
        node_reports: bool = True,
        flow_idle_timeout_us: int | None = 1_000_000,
        client_options: dict[str, Any] | None = None,
        node_options: dict[str, Any] | None = None,
        free_ports: bool = True,
        progress: bool = False,
        command: str = "",
    ) -> None:
        if mode not in ("aisid", "dns"):
            raise ValueError(f"mode must be 'aisid' or 'dns', got {mode!r}")
        if requests < 0:
            raise ValueError(f"requests must be >= 0, got {requests}")
        if not sample_s > 0:
            raise ValueError(f"sample_s must be positive, got {sample_s}")
        self.desc = copy.deepcopy(net)
        if free_ports:
            for s in self.desc.switches:
                s.address = f"{s.address.rpartition(':')[0] or '127.0.0.1'}:0"
        if flow_idle_timeout_us is not None and not self.desc.controller.flow_idle_timeout_us:
            self.desc.controller.flow_idle_timeout_us = int(flow_idle_timeout_us)
        self.interval_s = float(interval_s or self.desc.controller.interval_s)
        if not self.interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {self.interval_s}")
        self.policy = policy
        self.seed = seed
        self.requests = requests
        self.params = params
        self.workload = workload
        self.mode = mode
        self.sample_s = sample_s
        self.program = program
        self.node_reports = node_reports
        self.client_options = dict(client_options or {})
        self.node_options = dict(node_options or {})
        self.progress = progress
        self.command = command
        self._own_state = state_dir is None
        self.state_dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="cpn-"))
        self.on_built: list[Callable[[Scenario], Any]] = []
        self.net: InProcessNetwork = None  # type: ignore[assignment]  # set by start()
        self.ctl: Controller = None  # type: ignore[assignment]
        self.clients: dict[str, AisidClient] = {}
        self.nodes: dict[str, ServiceNode] = {}
        self.node_desc: dict[str, tuple[SiteDesc, ServiceNodeDesc]] = {}
        self.phases: list[Phase] = []
        self.actions: list[Action] = []
        self.history: list[Action] = []
        self.faults: list[Any] = []  # cpn.faults.FaultRecord
        self.swaps: list[dict[str, Any]] = []
        self.versions_seen: list[tuple[float, dict[str, int]]] = []
        self.site_log: list[tuple[float, dict[tuple[str, int], int | None]]] = []
        self.reported_dead: set[str] = set()
        self.on_dead: list[Callable[[str], Any]] = []
        self.t_start = 0.0
        self.wall_s = {"build": 0.0, "controller_start": 0.0, "run": 0.0}
        self._seq = itertools.count()
        self._bar: Any = None
        self._ready_events: dict[str, threading.Event] = {}
        self.observer: Observer | None = None
        self._started = False
        self._stopped = False

    # -- building ---------------------------------------------------------------------------------
    def start(self) -> Scenario:
        """Build the network, start the controller, register the services, start the hosts and
        schedule the workload (from the current virtual time)."""
        if self._started:
            raise RuntimeError("scenario already started")
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        t = time.perf_counter()
        program = self.program or load_program()
        self.net = InProcessNetwork(self.desc, program, seed=self.seed)
        desc = self.net.description  # with the servers' real addresses
        if self.workload is None:
            self.workload = Workload.generate(
                desc, self.requests, self.seed, self.params, command=self.command
            )
        self.wall_s["build"] = time.perf_counter() - t
        t = time.perf_counter()
        self.ctl = Controller(
            desc,
            policy=self.policy,
            program=program,
            clock=self.net.controller_clock(),
            state_dir=self.state_dir,
        )
        # register the workload's service types where they are provided; in DNS mode none: the
        # controller then installs only routes (no AISID classification, no site choice, no
        # egress-gateway node weights), as a network without AISID routing has
        if not desc.services and self.mode == "aisid":
            for st in self.workload.catalog:
                self.ctl.registry.register(
                    st.name, st.aisid, st.sites[0], deadline_us=st.deadline_us or None,
                    replicas=st.sites[1:],
                )  # fmt: skip
        self.ctl.start()
        for name, conn in self.ctl.connections.items():  # after the controller's own callback
            ev = self._ready_events[name] = threading.Event()
            conn.on_ready(lambda _c, ev=ev: ev.set())
        self.wall_s["controller_start"] = time.perf_counter() - t
        self.phases.append(Phase(self.ctl.policy_name, self.ctl.version, self.net.now()))
        self.log_sites()
        self.read_versions()
        for site in desc.sites:
            for nd in site.nodes:
                ep = self.net.endpoints[nd.name]
                self.nodes[nd.name] = self.make_node(ep, site, nd)
                self.node_desc[nd.name] = (site, nd)
        for h in desc.hosts:
            if h.kind == "client":
                self.clients[h.name] = self.make_client(self.net.endpoints[h.name], h)
        self.observer = Observer(self)
        for hook in self.on_built:
            hook(self)
        self.t_start = self.net.now()
        self.workload.drive(self.clients, self.mode, start_us=self.t_start * 1e6)  # type: ignore[arg-type]
        self.net.every(self.sample_s, self.observer.sample)
        self.net.every(self.interval_s, self._control_tick)

    def make_node(self, ep: Endpoint, site: SiteDesc, nd: ServiceNodeDesc) -> ServiceNode:
        """The service node program on ``ep``: it serves the service types its site provides
        (the workload's catalogue) and refuses others."""
        provided = {st.type_id for st in self.workload.catalog if site.name in st.sites}
        opts: dict[str, Any] = {
            "noise_seed": self.seed * 1000 + site.site_id * 64 + nd.node_id,
            "services": provided,
        }
        opts.update(self.node_options)
        return ServiceNode(
            ClockTransport.for_endpoint(ep),
            ep.mac,
            ep.address,
            nd.device,
            nd.capacity_tflops,
            ep.gateway_mac,
            node_id=nd.node_id,
            name=nd.name,
            **opts,
        )

    def make_client(self, ep: Endpoint, host: HostDesc) -> AisidClient:
        """The client program on host ``ep``."""
        return AisidClient(
            ClockTransport.for_endpoint(ep),
            ep.mac,
            ep.address,
            ep.gateway_mac,
            name=host.name,
            **self.client_options,
        )

    # -- the control interval -----------------------------------------------------------------------
    def report_loads(self) -> None:
        """Every service node's load report: utilisation over the last interval, backlog (jobs
        waiting or running x its compute time for the workload's mean demand), alive. A killed
        node reports nothing: the controller marks it dead (``alive=False``)."""
        now_us = self.net.now() * 1e6
        t0 = max(0.0, now_us - self.interval_s * 1e6)
        mean_tflop = _mean_demand(self.workload)
        for name, node in self.nodes.items():
            site, nd = self.node_desc[name]
            if not node.alive or not self.net.endpoints[name].alive:
                load = NodeLoad(1.0, 0, 0.0, False)
                if name not in self.reported_dead:
                    self.reported_dead.add(name)
            else:
                jobs = node.busy + node.queue_length
                per_job_ms = node.compute.compute_us(mean_tflop) / 1000.0
                backlog = jobs / node.servers * per_job_ms
                load = NodeLoad(node.utilisation(t0, now_us), jobs, backlog, True)
            self.ctl.telemetry.report_node_load(site.site_id, nd.node_id, load)

    def _control_tick(self) -> None:
        newly_dead = set()
        if self.node_reports:
            before = set(self.reported_dead)
            self.report_loads()
            newly_dead = self.reported_dead - before
        rep = self.ctl.step()
        if rep.skipped:
            return
        self.log_sites()
        for name in sorted(newly_dead):
            for fn in self.on_dead:
                fn(name)
        self.read_versions()

    def log_sites(self) -> None:
        """Remember the site the controller sends each (ingress gateway, service) to now (a
        request whose service moves while it is under way reaches two sites)."""
        dec = self.ctl.decisions
        sites = dict(getattr(dec, "service_site", {}) or {})
        if not self.site_log or self.site_log[-1][1] != sites:
            self.site_log.append((self.net.now(), sites))

    def read_versions(self) -> dict[str, int]:
        """``active_policy_version`` of every ingress gateway, read over P4Runtime."""
        seen = {}
        for gw in self.ctl.ingress_gateways:
            conn = self.ctl.connections[gw]
            if conn.state != "ready":
                continue
            try:
                seen[gw] = int(conn.client.read_register(VERSION_REGISTER, 0).get(0, 0))
            except Exception as e:  # noqa: BLE001 - a switch going away mid-read
                log.debug("version read %s: %s", gw, e)
        self.versions_seen.append((self.net.now(), seen))
        return seen

    # -- actions ------------------------------------------------------------------------------------
    def at(self, t_s: float, fn: Callable[[], Any], label: str = "") -> Action:
        """Run ``fn()`` on the running thread once virtual time reaches ``t_s`` (between run
        chunks: no network lock is held and ``fn`` may let time pass)."""
        a = Action(float(t_s), next(self._seq), label or getattr(fn, "__name__", "action"), fn)
        heapq.heappush(self.actions, a)
        return a

    def schedule_swap(self, t_s: float, policy: str) -> Action:
        """Swap to ``policy`` at virtual time ``t_s`` (hitless; see :meth:`swap`)."""
        return self.at(t_s, lambda: self.swap(policy), f"swap to {policy}")

    def swap(self, policy: str) -> dict[str, Any]:
        """Swap the controller to ``policy`` now; the next phase starts at the flip."""
        t0 = self.net.now()
        old = self.phases[-1]
        try:
            rep = self.ctl.swap(policy)
        except Exception as e:
            rec = {"t_s": t0, "policy": policy, "ok": False, "error": f"{type(e).__name__}: {e}"}
            self.swaps.append(rec)
            log.warning("swap to %s failed: %s", policy, e)
            return rec
        old.t1 = t0
        self.phases.append(Phase(policy, rep.new_version, t0))
        rec = {
            "t_s": t0,
            "t_done_s": self.net.now(),
            "policy": policy,
            "from_policy": old.policy,
            "ok": True,
            "from_version": rep.old_version,
            "to_version": rep.new_version,
            "entries_written": rep.entries_written,
            "entries_deleted": rep.entries_deleted,
            "stages": list(rep.stages),
            "wall_s": rep.seconds,
        }
        self.swaps.append(rec)
        self.log_sites()
        self.read_versions()
        return rec

    def schedule_fault(self, kind: str, t_s: float, target: str | None = None, **kw: Any) -> Any:
        """Inject fault ``kind`` at ``t_s`` (:mod:`cpn.faults`: kill_node, link_down,
        restart_switch, bad_input); returns its :class:`cpn.faults.FaultRecord`."""
        from .faults import schedule

        return schedule(self, kind, t_s, target, **kw)

    def wait_reinstalled(self, switch: str, timeout_s: float = 60.0) -> bool:
        """Block (wall time) until the controller has reconnected to ``switch`` and reconciled
        it (the event is armed by :meth:`arm_reinstall`)."""
        return self._ready_events[switch].wait(timeout_s)

    def arm_reinstall(self, switch: str) -> None:
        self._ready_events[switch].clear()

    # -- running ------------------------------------------------------------------------------------
    def run_until(self, t_s: float) -> None:
        """Run to virtual time ``t_s``, doing the actions due on the way."""
        if not self._started:
            raise RuntimeError("start() the scenario first")
        w = time.perf_counter()
        try:
            while True:
                nxt = self.actions[0].t_s if self.actions else float("inf")
                if nxt > t_s:
                    self._advance(t_s)
                    return
                self._advance(nxt)
                a = heapq.heappop(self.actions)
                log.info("t=%.3f s: %s", self.net.now(), a.label)
                try:
                    a.fn()
                except Exception as e:
                    a.error = f"{type(e).__name__}: {e}"
                    log.exception("action %s failed", a.label)
                a.done = True
                self.history.append(a)
        finally:
            self.wall_s["run"] += time.perf_counter() - w

    def run_for(self, seconds: float) -> None:
        self.run_until(self.net.now() + seconds)

    def _advance(self, t_s: float) -> None:
        while self.net.now() < t_s - 1e-12:
            step_to = min(t_s, self.net.now() + CHUNK_S)
            self.net.run_until(step_to)
            bar = self._bar
            if bar is not None:
                bar.set_postfix_str(self._progress_text(), refresh=False)
                bar.update(round(min(self.net.now(), bar.total), 3) - bar.n)  # mininterval

    def _progress_text(self) -> str:
        done = sum(
            1 for c in self.clients.values() for r in c.records.values() if r.outcome != "pending"
        )
        return f"{done}/{len(self.workload.requests) if self.workload else 0} requests done"

    def pending(self) -> int:
        """Requests of the workload without an outcome yet (not yet started ones included)."""
        started = sum(len(c.records) for c in self.clients.values())
        active = sum(c.pending() for c in self.clients.values())
        return active + max(0, len(self.workload.requests) - started) if self.workload else active

    def end_estimate(self) -> float:
        """When the workload should be over: the last arrival plus the longest transfer."""
        if not self.workload or not self.workload.requests:
            return self.t_start + SETTLE_S
        last = max(r.t_us for r in self.workload.requests) / 1e6
        longest = max(r.data_bytes * 8 / r.rate_bps for r in self.workload.requests)
        return self.t_start + last + longest + SETTLE_S

    def steady_window(self) -> tuple[float, float]:
        """Virtual times between which the workload is in steady state: from the start plus
        the mean transfer time (Little's law: by then about ``concurrent`` requests are in
        flight) to the last arrival (then the load drains)."""
        reqs = self.workload.requests if self.workload else []
        if not reqs:
            return self.t_start, self.t_start
        warm = sum(r.data_bytes * 8 / r.rate_bps for r in reqs) / len(reqs)
        last = max(r.t_us for r in reqs) / 1e6
        return self.t_start + min(warm, last), self.t_start + last

    def run(self, max_s: float | None = None) -> None:
        """Run until every request of the workload has an outcome (and :data:`SETTLE_S` more),
        or ``max_s`` virtual seconds after the start; pending actions due by then run too."""
        timeout = self.client_options.get("timeout_us", 10e6) / 1e6
        hard = self.t_start + (max_s if max_s is not None else self.end_estimate() + timeout + 5)
        total = min(hard, self.end_estimate())
        if self.progress:
            from tqdm import tqdm

            self._bar = tqdm(
                total=round(total, 3), unit="vs", desc="virtual time", dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} s [{elapsed}<{remaining}] {postfix}",
            )  # fmt: skip
        try:
            self.run_until(min(total, hard))
            while self.net.now() < hard and (self.pending() or self.actions):
                if self._bar is not None and self.net.now() >= self._bar.total:
                    self._bar.total = round(min(hard, self.net.now() + 1.0), 3)
                nxt = self.actions[0].t_s if self.actions else hard
                self.run_until(min(hard, self.net.now() + 0.25, max(nxt, self.net.now())))
            self.run_until(min(hard, self.net.now() + SETTLE_S))
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        if self.phases and self.phases[-1].t1 is None:
            self.phases[-1].t1 = self.net.now()

    # -- results and lifecycle ----------------------------------------------------------------------
    def results(self) -> Any:
        """What happened so far (:class:`cpn.results.ScenarioResults`)."""
        from .results import collect

        return collect(self)

    def stop(self) -> None:
        """Stop the controller and the network; remove the temporary state directory."""
        if self._stopped:
            return
        self._stopped = True
        if self.ctl is not None:
            try:
                self.ctl.stop()
            except Exception as e:  # noqa: BLE001 - stopping must finish
                log.warning("controller stop: %s", e)
        if self.net is not None:
            self.net.stop()
        if self._own_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Scenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mean_demand(w: Workload | None) -> float:
    if not w or not w.requests:
        return 1.0
    return sum(r.compute_tflop for r in w.requests) / len(w.requests)


__all__ = ["Action", "Phase", "Scenario"]
