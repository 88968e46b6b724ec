"""The in-process network: one :class:`~controlplane.netdesc.NetworkDescription` run as embedded
switches on in-memory ports, each with its own P4Runtime server, on one virtual clock.

Every switch is a :class:`p4target.switch.Switch` (CPU port 255, 8 priority queues, the
description's device id) that, like ``simple_switch_grpc --no-p4``, waits for the controller's
pipeline push (``preload_pipeline=True`` loads cpn.p4 and serves it as the committed pipeline,
for tests). The network never fills tables or registers: the controller does, over P4Runtime,
including ``CpnEgress.telemetry.switch_id`` (write the device id there).

Links: a switch port's sending side is the switch's traffic manager (finite queue of
``LinkDesc.queue_packets`` per priority, serialisation at ``rate_bps``); the link adds the
propagation delay and counts what it drops (:mod:`.links`). Hosts and service nodes are
:class:`~topo.emunet.hosts.Endpoint` objects behind access links built from the switch's
``PortDesc`` (rate, delay). CQF ports of the description get the switch's CQF gate (cycle T,
queues 6/7), as the data plane expects.

Time: nothing moves until :meth:`InProcessNetwork.run_for` / :meth:`run_until` (seconds of
virtual time). Callbacks (:meth:`every`, :meth:`at`) run between packet events with no lock
held, so a controller stepping from ``every`` may call the servers over gRPC. P4Runtime writes
from any thread are applied atomically between packets (``Switch.batch``); packet-outs enter the
switch through the clock, at the virtual time the server receives them, and packet-ins leave on
the server's stream threads: a controller that sends or reads them from a callback makes their
virtual times exact with a stream barrier (``P4RuntimeClient.barrier``; telemetry's probes do).

Threads: gRPC server threads take the device lock, then the switch lock; the thread running the
network takes the clock lock, then a switch lock per event, and runs callbacks with neither.
Any thread may run the network, one at a time: ``run_for``/``run_until`` from a second thread
wait until the first returns (from a callback they raise); the controller clock's ``sleep``
waits for the clock to move on while another thread runs the network (:meth:`sleep`).
"""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controlplane.clock import CallbackClock
from controlplane.netdesc import NetworkDescription, PortDesc, SwitchDesc
from controlplane.program import Program, load_program
from p4target.runtime import RuntimeServer, serve
from p4target.switch import Switch, VirtualClock
from traces.appproto import accounted_size

from .capture import Capture
from .hosts import Endpoint, HostPort
from .links import Link, LinkPort, SwitchEnd
from .timeline import Timeline, Timer

log = logging.getLogger("topo.emunet")

CPU_PORT = 255
PRIORITY_QUEUES = 8
CQF_QUEUES = (6, 7)
CQF_RECIRCULATE_DELAY_US = 1.0  # one pipeline pass of a packet held for its CQF cycle
ACCESS_QUEUE_PACKETS = 1000


class EmuSwitch(Switch):
    """A Switch whose packet-outs (from P4Runtime server threads) enter through the clock and
    whose ports charge BULK units for the packets they stand for (:mod:`.links`)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.set_frame_size(accounted_size)

    def inject(self, data: bytes, port: int | None = None) -> None:
        p = self.cpu_port if port is None else port
        self.clock.call_later(0.0, Switch.receive, self, p, bytes(data))


class InProcessNetwork:
    """Run ``net`` in this process; see the module docstring.

    ``description`` is the caller's description copied, with the servers' real addresses.
    ``switches[name]``, ``servers[name]``, ``endpoints[name]`` (hosts and service nodes),
    ``links`` (switch-to-switch :class:`Link` objects), ``access`` (host-side ports).
    """

    def __init__(
        self,
        net: NetworkDescription,
        program: Program | None = None,
        *,
        seed: int = 0,
        start_servers: bool = True,
        preload_pipeline: bool = False,
        access_queue_packets: int = ACCESS_QUEUE_PACKETS,
    ) -> None:
        self.description = copy.deepcopy(net)
        self.seed = seed
        self.preload_pipeline = preload_pipeline
        self.access_queue_packets = access_queue_packets
        self.program = program if program is not None or not preload_pipeline else load_program()
        self._json = json.loads(self.program.json_text) if preload_pipeline else None
        self.clock = VirtualClock(0.0)
        self.timeline = Timeline(self.clock)
        self.switches: dict[str, Switch] = {}
        self.servers: dict[str, RuntimeServer] = {}
        self.links: list[Link] = []
        self.access: dict[tuple[str, int], HostPort] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.captures: list[Capture] = []
        self.restarts: Counter[str] = Counter()
        self._ends: dict[tuple[str, int], tuple[Link, SwitchEnd]] = {}
        self._retired: Counter[str] = Counter()  # losses counted by switches since replaced
        self._stopped = False
        _check(self.description)
        for sd in self.description.switches:
            self.switches[sd.name] = self._new_switch(sd, preload_pipeline)
        self._build_links()
        self._build_access()
        for name in self.switches:
            self._attach_ports(name)
        if start_servers:
            try:
                for sd in self.description.switches:
                    self._serve(sd)
            except BaseException:
                self.stop()
                raise

    # -- building ------------------------------------------------------------------------------
    def _new_switch(self, sd: SwitchDesc, preload: bool) -> Switch:
        return EmuSwitch(
            self._json if preload else None,
            device_id=sd.device_id,
            clock=self.clock,
            cpu_port=CPU_PORT,
            priority_queues=PRIORITY_QUEUES,
            seed=self.seed * 1_000_003 + sd.device_id,
            name=sd.name,
        )

    def _build_links(self) -> None:
        for ld in self.description.links:
            ea, eb = SwitchEnd(ld.a, ld.a_port), SwitchEnd(ld.b, ld.b_port)
            link = Link(
                self.clock,
                f"{ea.name}-{eb.name}",
                (ea, eb),
                rate_bps=ld.rate_bps,
                delay_us=ld.delay_us,
                queue_packets=ld.queue_packets,
            )
            self.links.append(link)
            self._ends[(ld.a, ld.a_port)] = (link, ea)
            self._ends[(ld.b, ld.b_port)] = (link, eb)

    def _build_access(self) -> None:
        d = self.description
        attach: list[tuple[Endpoint, str, int]] = []
        for h in d.hosts:
            attach.append((Endpoint(h.name, h.mac, h.address, h.kind), h.switch, h.port))
        for site in d.sites:
            for n in site.nodes:
                ep = Endpoint(n.name, n.mac, n.address, "service")
                attach.append((ep, site.egress_gateway, n.port))
        for ep, sw, port in attach:
            if ep.name in self.endpoints or ep.name in self.switches:
                raise ValueError(f"host/service node name {ep.name!r} is used twice")
            if (sw, port) in self._ends and self._ends[(sw, port)][0] in self.links:
                raise ValueError(f"{ep.name}: port {sw}:{port} already joins a switch link")
            hp = self.access.get((sw, port))
            if hp is None:
                pd = _port_desc(d.switch(sw), port)
                hp = HostPort(sw, port, pd.mac)
                end = SwitchEnd(sw, port)
                hp.link = Link(
                    self.clock,
                    f"{end.name}-{ep.name}",
                    (end, hp),
                    rate_bps=pd.rate_bps,
                    delay_us=pd.delay_us,
                    queue_packets=self.access_queue_packets,
                )
                self.access[(sw, port)] = hp
                self._ends[(sw, port)] = (hp.link, end)
            hp.attach(ep)
            self.endpoints[ep.name] = ep

    def _attach_ports(self, name: str) -> None:
        """Give switch ``name`` its link ports, rates, queue depths and CQF gates."""
        sw = self.switches[name]
        for (sname, number), (link, end) in self._ends.items():
            if sname != name:
                continue
            port = LinkPort(link, link.ends.index(end), f"{name}-p{number}")
            sw.add_port(number, port)
            end.port = port
            if link.rate_bps:
                sw.set_link_rate(number, link.rate_bps)
            sw.set_queue_depth(number, link.queue_packets)
        cqf = self.description.cqf
        for sname, number in cqf.ports:
            if sname == name:
                sw.set_cqf(number, cqf.cycle_us, queues=CQF_QUEUES)
                # a packet held for its cycle (offset 1) loops through the pipeline: each pass
                # takes 1 µs of virtual time, as on a real switch, so the loop waits for the
                # cycle instead of spinning at one instant
                sw.set_recirculate_delay(CQF_RECIRCULATE_DELAY_US)

    def _serve(self, sd: SwitchDesc) -> None:
        p4info = self.program.p4info if self.preload_pipeline else None
        sw = self.switches[sd.name]
        host, port = _split_address(sd.address)
        srv = None
        if port:
            try:
                srv = serve(sw, sd.address, sd.device_id, p4info, max_workers=16)
            except (OSError, RuntimeError) as exc:
                log.info("%s: %s is taken (%s); picking a free port", sd.name, sd.address, exc)
        if srv is None:
            srv = serve(sw, f"{host}:0", sd.device_id, p4info, max_workers=16)
        self.servers[sd.name] = srv
        sd.address = srv.address

    # -- time ----------------------------------------------------------------------------------
    def now(self) -> float:
        """Virtual time in seconds."""
        return self.clock.now() / 1e6

    def run_for(self, seconds: float) -> int:
        """Run the network for ``seconds`` of virtual time; returns the events processed."""
        if seconds < 0:
            raise ValueError(f"run_for: negative duration {seconds}")
        return self.timeline.run_for(seconds)

    def run_until(self, t_s: float) -> int:
        """Run the network until virtual time ``t_s`` (seconds)."""
        return self.timeline.run_until(t_s)

    def every(
        self, interval_s: float, fn: Callable[..., Any], *args: Any, start_s: float | None = None
    ) -> Timer:
        """Call ``fn(*args)`` every ``interval_s`` of virtual time (a controller's step)."""
        return self.timeline.every(interval_s, fn, *args, start_s=start_s)

    def at(self, t_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Call ``fn(*args)`` once at virtual time ``t_s`` (a fault, a workload event)."""
        return self.timeline.at(t_s, fn, *args)

    def sleep(self, seconds: float) -> int:
        """Let ``seconds`` of virtual time pass, from any thread: run the network here when no
        thread runs it, else wait while the thread that runs it moves the clock on (e.g. a
        policy swap's drain asked through the controller's HTTP API while the main thread runs
        the network). Inside a callback of the network it raises RuntimeError."""
        if seconds < 0:
            raise ValueError(f"sleep: negative duration {seconds}")
        return self.timeline.wait_until(self.now() + seconds)

    def controller_clock(self) -> CallbackClock:
        """A :mod:`controlplane.clock` clock: ``now()`` is virtual, ``sleep`` lets the network
        run (:meth:`sleep`)."""
        return CallbackClock(self.now, self.sleep)

    # -- faults --------------------------------------------------------------------------------
    def link(self, a: str, b: str) -> Link:
        """The switch-to-switch link between ``a`` and ``b`` (names, or ``"name:port"``)."""
        found = [lk for lk in self.links if _matches(lk, a, b)]
        if not found:
            raise KeyError(f"no link between {a} and {b}")
        if len(found) > 1:
            raise KeyError(f"several links join {a} and {b}: name the ports ('{a}:PORT')")
        return found[0]

    def link_down(self, a: str, b: str) -> None:
        """Take the link down: frames sent or in flight are dropped and counted."""
        self.link(a, b).up = False

    def link_up(self, a: str, b: str) -> None:
        self.link(a, b).up = True

    def restart_switch(self, name: str) -> Switch:
        """Replace switch ``name`` by a fresh one (no pipeline, empty state, same ports, device
        id and server address), as a real restart: streams end, the controller must reconnect
        and reinstall. Frames the old switch still had queued are counted as lost."""
        old = self.switches[name]
        sd = self.description.switch(name)
        srv = self.servers.pop(name, None)
        if srv is not None:
            srv.stop(0)
        with old.lock:
            for p in old.ports.values():
                if isinstance(p, LinkPort):
                    p.retired = True
            for reason, n in old.stats()["drops"].items():
                self._retired[f"{name}/{reason}"] += n
            queued = sum(ep.size() for ep in old.tm.ports.values())
            self._retired[f"{name}/switch_restart"] += queued
            old.tm.reset()
        self.switches[name] = self._new_switch(sd, False)
        self._attach_ports(name)
        self.restarts[name] += 1
        if srv is not None:
            try:
                self.servers[name] = serve(self.switches[name], sd.address, sd.device_id)
            except (OSError, RuntimeError) as exc:
                raise RuntimeError(
                    f"restart_switch({name}): cannot serve {sd.address} again: {exc}"
                ) from exc
        return self.switches[name]

    def kill_node(self, name: str) -> None:
        """Service node (or host) ``name`` stops answering: it neither receives nor sends."""
        self._endpoint(name).alive = False

    def revive_node(self, name: str) -> None:
        self._endpoint(name).alive = True

    def _endpoint(self, name: str) -> Endpoint:
        try:
            return self.endpoints[name]
        except KeyError:
            raise KeyError(f"no host or service node named {name!r}") from None

    # -- observation ---------------------------------------------------------------------------
    def capture(self, port_spec: str | tuple[str, int], path: str | Path) -> Capture:
        """Capture what crosses a port (``"s1:2"``, ``("s1", 2)`` or a host/node name) into
        the pcap ``path``; written on ``Capture.close()`` or :meth:`stop`."""
        link, side = self._port(port_spec)
        cap = Capture(link, side, path)
        self.captures.append(cap)
        return cap

    def _port(self, spec: str | tuple[str, int]) -> tuple[Link, int]:
        if isinstance(spec, str) and spec in self.endpoints:
            hp = self.endpoints[spec].host_port
            assert hp is not None
            return hp.link, hp.side
        if isinstance(spec, str):
            sw, _, num = spec.rpartition(":")
            if not sw or not num.isdigit():
                raise ValueError(f"bad port {spec!r}: want 'switch:port' or a host name")
            spec = (sw, int(num))
        found = self._ends.get((spec[0], int(spec[1])))
        if found is None:
            raise KeyError(f"no connected port {spec[0]}:{spec[1]}")
        link, end = found
        return link, link.ends.index(end)

    def link_stats(self) -> list[dict[str, Any]]:
        """Per switch-to-switch link: frames/bytes per sending end, drops while down, drops of
        a restart, and queue overflows at each end's egress queue."""
        out = []
        for lk in self.links:
            st = lk.stats()
            st["queue_drops"] = {e.name: self._queue_drops(e) for e in lk.ends}
            out.append(st)
        return out

    def _queue_drops(self, end: Any) -> int:
        sw = self.switches.get(getattr(end, "switch", ""))
        ep = sw.tm.ports.get(end.number) if sw is not None else None
        return ep.drops if ep is not None else 0

    def losses(self) -> dict[str, int]:
        """Every frame the network lost, by ``where/why``: ``LINK/link_down``,
        ``LINK/switch_restart``, ``SWITCH/<drop reason>`` (queue_full, no_pipeline,
        ingress_drop, ...), ``SWITCH:PORT/unclaimed`` (no host with that MAC), ``NODE/node_dead``.
        Empty when nothing was lost."""
        out: Counter[str] = Counter(self._retired)
        for lk in [*self.links, *(hp.link for hp in self.access.values())]:
            out[f"{lk.name}/link_down"] += lk.down_drops
            out[f"{lk.name}/switch_restart"] += lk.restart_drops
        for name, sw in self.switches.items():
            for reason, n in sw.stats()["drops"].items():
                out[f"{name}/{reason}"] += n
        for (sw_name, port), hp in self.access.items():
            out[f"{sw_name}:{port}/unclaimed"] += hp.unclaimed
        for ep in self.endpoints.values():
            out[f"{ep.name}/node_dead"] += ep.dead_drops
        return {k: v for k, v in sorted(out.items()) if v}

    def lost(self) -> int:
        return sum(self.losses().values())

    # -- lifecycle -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the servers and write the open captures (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        for srv in self.servers.values():
            srv.stop(0)
        for cap in self.captures:
            cap.close()

    def __enter__(self) -> InProcessNetwork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- helpers ---------------------------------------------------------------------------------------
def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bad P4Runtime address {address!r}: want 'host:port'")
    return host or "127.0.0.1", int(port)


def _port_desc(sd: SwitchDesc, number: int) -> PortDesc:
    try:
        return sd.port(number)
    except KeyError:
        return PortDesc(number=number, mac="02:00:00:00:00:00", peer="")


def _matches(link: Link, a: str, b: str) -> bool:
    ends = [e.name for e in link.ends]
    names = [e.name.rsplit(":", 1)[0] for e in link.ends]

    def hit(x: str, i: int) -> bool:
        return x == ends[i] or x == names[i]

    return (hit(a, 0) and hit(b, 1)) or (hit(a, 1) and hit(b, 0))


def _check(d: NetworkDescription) -> None:
    """Refuse a description the network cannot build, naming what is wrong."""
    names: set[str] = set()
    ids: set[int] = set()
    for s in d.switches:
        if s.name in names:
            raise ValueError(f"switch name {s.name!r} is used twice")
        if s.device_id in ids:
            raise ValueError(f"switch {s.name}: device_id {s.device_id} is used twice")
        names.add(s.name)
        ids.add(s.device_id)
        _split_address(s.address)
    used: set[tuple[str, int]] = set()
    for i, ld in enumerate(d.links):
        for sw, port in ((ld.a, ld.a_port), (ld.b, ld.b_port)):
            if sw not in names:
                raise ValueError(f"links[{i}]: unknown switch {sw!r}")
            if not 0 <= port < 511 or port == CPU_PORT:
                raise ValueError(f"links[{i}]: {sw} port {port} is not a usable port number")
            if (sw, port) in used:
                raise ValueError(f"links[{i}]: port {sw}:{port} is already used by another link")
            used.add((sw, port))
    for h in d.hosts:
        if h.switch not in names:
            raise ValueError(f"host {h.name}: unknown switch {h.switch!r}")
        if not 0 <= h.port < 511 or h.port == CPU_PORT:
            raise ValueError(f"host {h.name}: {h.switch} port {h.port} is not a usable port")
    for site in d.sites:
        if site.egress_gateway not in names:
            raise ValueError(f"site {site.name}: unknown egress gateway {site.egress_gateway!r}")
        for n in site.nodes:
            if not 0 <= n.port < 511 or n.port == CPU_PORT:
                raise ValueError(f"service node {n.name}: port {n.port} is not a usable port")
