"""The controller: one network description in, every switch's tables kept as its intent says.

What a switch should hold is composed from three parts:

- **static**: routes, local SIDs, AISID prefixes, service-node addresses, CQF ports
  (:mod:`controlplane.routing`) and the registers the controller owns (telemetry switch id,
  flowlet and idle timeouts);
- **versioned** (every entry keyed by ``policy_version``): AISID classification
  (:mod:`controlplane.registry`) and the scheduler's decisions (:mod:`controlplane.schedulers`:
  site per service, path split, SRv6 paths, service-node weights, CQF offsets);
- ``active_policy_version[0]`` on every ingress gateway.

Every control interval (:meth:`Controller.step`) telemetry becomes the policy's view, the policy
decides, and only the entries that changed are written. A (re)connected switch is reconciled
against the whole intent (read, diff, write the difference), so a switch restart or a controller
restart reinstalls nothing that is already there. :meth:`Controller.swap` changes policy without
losing a packet (:mod:`controlplane.swap`). A service no site can serve (its nodes dead, its sites
unreachable) gets no site entry: the ingress gateways punt its requests, the other services go
on, and :attr:`Controller.outages` (:mod:`controlplane.outages`) records when and why. A policy
that fails to decide keeps the previous decisions in force (the step says why).

Swaps and recovery are :class:`~controlplane.controller_swap.SwapMixin`; link faults and the
AISID lifecycle (register, decommission, migrate) are
:class:`~controlplane.controller_changes.ChangesMixin`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.clock import Clock, WallClock
from controlplane.connection import SwitchConnection
from controlplane.controller_changes import ChangesMixin
from controlplane.controller_swap import SwapMixin
from controlplane.entries import Diff, RegisterValue, SwitchIntent, TableEntry, diff
from controlplane.netdesc import NetworkDescription
from controlplane.outages import ServiceOutages
from controlplane.program import Program, load_program
from controlplane.store import ControllerStore
from controlplane.swap import VERSION_REGISTER, SwapError

log = logging.getLogger("controlplane")

VERSIONED_TABLES = (
    "CpnIngress.aisid.classify",
    "CpnIngress.flowlet.service_site",
    "CpnIngress.flowlet.path_split",
    "CpnIngress.srv6_encap.paths",
    "CpnIngress.egw.service_nodes",
    "CpnIngress.cqf.flow_offsets",
)


@dataclass
class StepReport:
    """What one control interval did."""

    time: float
    written: int = 0
    per_switch: dict[str, int] = field(default_factory=dict)
    decide_s: float = 0.0
    total_s: float = 0.0
    skipped: str = ""


class Controller(SwapMixin, ChangesMixin):
    """Runs one network from one policy; see the module docstring."""

    def __init__(
        self,
        net: NetworkDescription,
        *,
        policy: str = "base1",
        program: Program | None = None,
        clock: Clock | None = None,
        state_dir: str | Path | None = None,
        election_id: int = 1,
        connect_timeout_s: float = 30.0,
    ) -> None:
        from controlplane.registry import AisidRegistry
        from controlplane.routing import RoutingPlan

        self.net = net
        self.program = program or load_program()
        self.clock: Clock = clock or WallClock()
        self.state_dir = Path(state_dir or net.controller.state_dir or ".cpn-state")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = ControllerStore(self.state_dir / "controller.sqlite")
        self.registry = AisidRegistry(self.state_dir / "registry.sqlite", net)
        self.down_links: set[frozenset[str]] = set()
        self.plan = RoutingPlan(net)
        self.lock = threading.RLock()
        self.connect_timeout_s = connect_timeout_s
        self.version: int = int(self.store.get("version", 1))  # type: ignore[arg-type]
        self.policy_name: str = str(self.store.get("policy", policy))
        if self.store.get("policy") is None:
            self.policy_name = policy
        self.adapter = self._load_policy(self.policy_name)
        self.connections: dict[str, SwitchConnection] = {
            s.name: SwitchConnection(s, self.program, election_id=election_id, clock=self.clock)
            for s in net.switches
        }
        self.held: dict[str, SwitchIntent] = {}
        self.decisions: Any = None
        self._versioned: dict[str, list[TableEntry]] = {}
        self._swapping = False
        self.swap_threads = 1  # >1: prepare that many switches at once (hitless_swap threads)
        self.swap_history: list[dict[str, Any]] = []
        self.steps: list[StepReport] = []
        self.telemetry = self._make_telemetry()
        self.events: list[tuple[float, str]] = []
        self.outages = ServiceOutages()
        for gw in self.ingress_gateways:
            self.connections[gw].client.on_packet_in(self.outages.on_packet_in)

    # -- helpers ---------------------------------------------------------------------------
    def _event(self, msg: str, *args: Any) -> None:
        text = msg % args if args else msg
        log.info(text)
        self.events.append((self.clock.now(), text))
        del self.events[:-500]

    def _load_policy(self, name: str):
        from controlplane.schedulers import load_policy

        return load_policy(name, self.net)

    def _make_telemetry(self):
        from controlplane.telemetry import Telemetry

        return Telemetry(self.net, {n: c.client for n, c in self.connections.items()}, self.clock)

    @property
    def ingress_gateways(self) -> list[str]:
        return [s.name for s in self.net.ingress_gateways]

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, wait: bool = True) -> None:
        """Connect to every switch (pipeline push or reconcile), recover an interrupted swap,
        register the network file's services and install the whole intent."""
        for c in self.connections.values():
            c.on_ready(self._on_ready)
        for c in self.connections.values():
            c.start()
        if wait:
            self.wait_ready(self.connect_timeout_s)
        self._register_initial_services()
        self.recover()
        rep = self.step(force=True)
        self.store.set(policy=self.policy_name, version=self.version)
        per = ", ".join(
            f"{n} {c.state} pipeline {c.last_pipeline or '-'} {rep.per_switch.get(n, 0)} writes"
            for n, c in self.connections.items()
        )
        kept = all(c.last_pipeline == "kept" for c in self.connections.values())
        what = (
            "reconciled with the switches' state, nothing written"
            if kept and not rep.written
            else f"{rep.written} writes"
        )
        self._event(
            "started: policy %s version %d, %s (%s)", self.policy_name, self.version, what, per
        )

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(c.state == "ready" for c in self.connections.values()):
                return
            time.sleep(0.01)
        down = [
            f"{n} at {c.desc.address} ({c.state}: {c.last_error or 'no answer'})"
            for n, c in self.connections.items()
            if c.state != "ready"
        ]
        raise TimeoutError(f"switches not ready after {timeout_s} s: {'; '.join(down)}")

    def stop(self) -> None:
        for c in self.connections.values():
            c.stop()
        self.store.close()

    def _register_initial_services(self) -> None:
        for rec in self.registry.register_configured():
            self._event("registered %s (%s) at %s", rec.name, rec.aisid, rec.site)

    def _on_ready(self, conn: SwitchConnection) -> None:
        """A switch (re)connected: reconcile it against the whole intent."""
        with self.lock:
            if not self._versioned:
                return  # start() installs everything once the first decisions exist
            intent = self.intent_for(conn.name)
            d = conn.sync(intent)
            self.held[conn.name] = intent
            self._event("%s ready: reconciled, %d writes", conn.name, len(d))

    # -- intent ----------------------------------------------------------------------------
    def static_intent(self, name: str) -> SwitchIntent:
        sw = self.net.switch(name)
        it = SwitchIntent()
        it.extend(self.plan.base_entries(name))
        it.add(RegisterValue("CpnEgress.telemetry.switch_id", 0, sw.device_id))
        it.add(
            RegisterValue(
                "CpnIngress.flowlet.timeout_us", 0, self.net.controller.flowlet_timeout_us
            )
        )
        it.add(
            RegisterValue(
                "CpnIngress.egw.flow_idle_timeout_us", 0, self.net.controller.flow_idle_timeout_us
            )
        )
        it.add(RegisterValue("CpnIngress.flowlet.pin_us", 0, self.net.controller.flow_pin_us))
        return it

    def versioned_entries(self, version: int, decisions: Any) -> dict[str, list[TableEntry]]:
        """Classification and scheduler entries of ``version`` for every switch."""
        from controlplane.schedulers import decisions_to_entries

        out: dict[str, list[TableEntry]] = {s.name: [] for s in self.net.switches}
        for s in self.net.switches:
            if s.role in ("ingress_gateway", "egress_gateway"):
                out[s.name].extend(self.registry.classify_entries(version, s.name))
        for name, entries in decisions_to_entries(version, decisions, self.plan, self.net).items():
            out[name].extend(entries)
        self._draining_sites(out, version)
        return out

    def _draining_sites(self, out: dict[str, list[TableEntry]], version: int) -> None:
        """Node weights at the site a migrating service is leaving: the ingress gateways keep
        active flows on their site, so the old site serves them until the migration ends."""
        from controlplane.egress import NodeLoad, service_nodes_entry, wlc_weights

        snap = self.telemetry.last
        loads = dict(snap.node_load) if snap is not None else {}
        for rec in self.registry.services():
            if rec.state != "migrating" or not rec.previous_site or rec.previous_site in rec.sites:
                continue
            site = self.net.site(rec.previous_site)
            keep = set(rec.previous_nodes or ())
            nodes = [n for n in site.nodes if not keep or n.node_id in keep]
            w = wlc_weights(
                nodes, {n.node_id: loads.get((site.site_id, n.node_id), NodeLoad()) for n in nodes}
            )
            if w:
                out[site.egress_gateway].append(service_nodes_entry(version, rec.service_id, w))

    def pin_seconds(self) -> float:
        """How long an idle flow keeps its site at the ingress gateways."""
        from traces.constants import FLOW_PIN_DEFAULT_US

        return (self.net.controller.flow_pin_us or FLOW_PIN_DEFAULT_US) / 1e6

    def intent_for(self, name: str) -> SwitchIntent:
        it = self.static_intent(name)
        it.extend(self._versioned.get(name, []))
        if self.net.switch(name).role == "ingress_gateway":
            it.add(RegisterValue(VERSION_REGISTER, 0, self.version))
        return it

    # -- the control interval --------------------------------------------------------------
    def view(self) -> Any:
        """What the policy sees: the registered services and the last telemetry snapshot.

        A service is registered at its home site (where transport-only policies and a rejected
        orchestration keep it) and may be provided at other sites too (``replicas``):
        site-choosing policies pick among those sites."""
        from controlplane.schedulers import ControlView, ServiceView

        services = [
            ServiceView(
                service_id=r.service_id,
                site_id=r.site_id,
                nodes=tuple(r.nodes),
                name=r.name,
                traffic_class=r.traffic_class,
                deadline_us=r.deadline_us,
                sites=tuple(self.net.site(x).site_id for x in r.sites),
            )
            for r in self.registry.services()
        ]
        snap = self.telemetry.last
        view = (
            ControlView(self.net, services)
            if snap is None
            else ControlView.from_snapshot(self.net, services, snap)
        )
        view.flows = self.deterministic_flows(services)
        view.unreachable = {
            (gw.name, site.site_id)
            for gw in self.net.ingress_gateways
            for site in self.net.sites
            if site.egress_gateway != gw.name and not self.plan.paths(gw.name, site.site_id, 1)
        }
        return view

    def deterministic_flows(self, services: list[Any]) -> list[Any]:
        """The deterministic traffic whose CQF cycle offset the transport policy decides: one
        aggregate per (ingress gateway, deterministic service), keyed as the CQF switches see it
        (the outer header: the gateway's encapsulation source, any flow label)."""
        from controlplane.schedulers import DetFlow

        if not self.net.cqf.ports:
            return []
        return [
            DetFlow(
                src_prefix=f"{self.net.src_address(gw)}/128",
                igw=gw.name,
                service_id=svc.service_id,
                deadline_us=float(svc.deadline_us),
            )
            for gw in self.net.ingress_gateways
            for svc in services
            if svc.traffic_class == 1
        ]

    def decide(self, adapter: Any = None) -> Any:
        return (adapter or self.adapter).decide(self.view())

    def _in_force(self, decisions: Any) -> None:
        """``decisions`` now serve: note the services that lost or regained every site."""
        self.decisions = decisions
        recs = self.registry.services()
        events = self.outages.update(
            self.clock.now(),
            getattr(decisions, "unserved", {}) or {},
            {r.service_id: r.name for r in recs},
            {r.aisid: r.service_id for r in recs},
        )
        for e in events:
            self._event("%s", e)

    def step(self, *, force: bool = False) -> StepReport:
        """One control interval: telemetry, decisions, write what changed."""
        rep = StepReport(time=self.clock.now())
        if not self._acquire_unless_swapping(force):
            rep.skipped = "swap in progress"
            return rep
        try:
            if self._swapping and not force:  # a swap of this thread (its drain runs the net)
                rep.skipped = "swap in progress"
                return rep
            t0 = time.perf_counter()
            try:
                self.telemetry.set_service_ids(r.service_id for r in self.registry.services())
                self.telemetry.poll()
            except Exception as e:  # a switch down mid-poll: decide on what we have
                log.warning("telemetry: %s", e)
            t1 = time.perf_counter()
            try:
                decisions = self.decide()
                versioned = self.versioned_entries(self.version, decisions)
            except Exception as e:  # noqa: BLE001 - the decisions in force keep serving
                if not self._versioned:
                    raise  # nothing in force yet (start): the caller must know
                log.exception("decide failed")
                rep.skipped = f"decide failed: {type(e).__name__}: {e}"
                self._event("%s; the decisions in force stay", rep.skipped)
                self.steps.append(rep)
                return rep
            rep.decide_s = time.perf_counter() - t1
            self._versioned = versioned
            self._in_force(decisions)
            rep.written, rep.per_switch = self._push_all()
            rep.total_s = time.perf_counter() - t0
        finally:
            self.lock.release()
        self.steps.append(rep)
        del self.steps[:-1000]
        return rep

    def _acquire_unless_swapping(self, force: bool) -> bool:
        """Take the lock; False (not taken) when a swap of another thread holds it. A swap's
        drain waits for the clock, and with a virtual clock the thread that moves the clock on
        may be the one calling :meth:`step` from a network callback: blocking here would
        deadlock, so the interval is skipped (the swap installs fresh decisions anyway)."""
        if force:
            self.lock.acquire()
            return True
        while not self.lock.acquire(timeout=0.05):
            if self._swapping:
                return False
        return True

    def refresh(self) -> int:
        """Decide again on the last telemetry (the registry or routing changed: a new service
        needs its site and nodes, a decommissioned one loses them), recompose the intent and
        write the difference now, without waiting for the next interval."""
        with self.lock:
            decisions = self.decide()
            self._versioned = self.versioned_entries(self.version, decisions)
            self._in_force(decisions)
            n, _ = self._push_all()
            return n

    def _push_all(self) -> tuple[int, dict[str, int]]:
        total, per = 0, {}
        for name, conn in self.connections.items():
            if conn.state != "ready":
                continue
            want = self.intent_for(name)
            held = self.held.get(name)
            if held is None:
                d = conn.sync(want)
            else:
                d = diff(held.entries, want.entries, _reg_values(held), want.registers)
                if len(d):
                    conn.write_diff(d)
            self.held[name] = want
            per[name] = len(d)
            total += len(d)
        return total, per

    def paths(self) -> dict[str, Any]:
        """Per (ingress gateway, site): the SRv6 paths and the split in force."""
        out: dict[str, Any] = {}
        from controlplane.schedulers import resolve_paths

        splits = getattr(self.decisions, "path_split", {}) or {}
        for (gw, site_id), choice in sorted(splits.items()):
            used, paths = resolve_paths(self.plan, gw, site_id, choice)
            out[f"{gw}->{self.net.site(site_id).name}"] = {
                "paths": [p.to_dict() for p in paths],
                "split": list(used.ratios),
            }
        return out

    # -- status ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        switches = {}
        for name, c in self.connections.items():
            held = self.held.get(name)
            switches[name] = {
                "role": self.net.switch(name).role,
                "address": self.net.switch(name).address,
                "state": c.state,
                "entries": held.tables() if held else {},
            }
        return {
            "network": self.net.name,
            "policy": self.policy_name,
            "version": self.version,
            "swaps": len(self.swap_history),
            "switches": switches,
            "down_links": sorted(sorted(x) for x in self.down_links),
            "outages": self.outages.report(),
        }


def _reg_values(it: SwitchIntent) -> dict[tuple[str, int], int]:
    return {k: r.value for k, r in it.registers.items()}


__all__ = ["Controller", "StepReport", "SwapError", "Diff"]
