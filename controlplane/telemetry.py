"""Telemetry: counters and registers read every interval, path probes, a bounded time series.

``Telemetry(net, clients, clock)`` holds one P4Runtime client per switch (by name). ``poll()``
reads, from every switch it can reach (the others are listed in ``Snapshot.errors``):
``port_rx``/``port_tx`` (bytes and packets per port), ``queue_depth``/``queue_delay_us`` per port,
``drop_reasons``, ``service_packets`` (per tracked service id: :meth:`Telemetry.set_service_ids`;
without any, the whole 65536-cell counter, about 0.5 s per gateway), and at egress gateways
``egw.stats`` and ``egw.connections`` per service node. From the differences with the previous
poll it derives the utilisation of every link direction (bytes sent by ``a``'s port towards
``b`` × 8 / interval / link rate; ``b``'s received bytes when ``a`` cannot be read), the
available bandwidth, and the demand in packets/s per (ingress gateway, service). A counter
that went down (the switch restarted) counts from 0.

Node load: ``connections`` per node; utilisation = connections / (capacity_tflops ×
``connections_per_tflops``) clipped to 1, backlog = utilisation × ``backlog_full_ms``, unless the
nodes report their own (:meth:`Telemetry.report_node_load`, kept until replaced).

Probes (README "Probes"): :meth:`Telemetry.probe` sends 3 back-to-back probes to the ingress
gateway by packet-out (mode INJECT, so they run its pipeline) towards an AISID whose service the
gateway sends to the site, pinned to ``path_id``; the site's egress gateway returns them by
packet-in (reason PROBE). They are matched by sequence number; a probe's one-way delay is the
last hop's egress timestamp minus the first hop's ingress timestamp (switch clocks, µs), and the
path's delay the mean over the probes of a round that came back (:meth:`wait_probes` waits for
them). Results are kept by (ingress gateway, site, path id) and by the switch path the hop
records name.

Determinism (virtual clock): :meth:`probe` ends with a stream barrier on the ingress gateway's
session (:meth:`~controlplane.p4rt.P4RuntimeClient.barrier`), so the probes are in the switch
at the clock time of the call, whatever the load of the machine. Packet-ins are only queued as
they arrive; :meth:`collect` (run by :meth:`poll`, :meth:`wait_probes`, :meth:`expire_probes`)
first takes a barrier on every egress gateway's session while probes are out, then handles
what came back in a fixed order (egress gateways by name, each in arrival order). Results thus
change only at those calls, and called from a network callback they hold exactly the probes
the switches returned before that virtual time.

Snapshots go into a deque of ``history`` entries: :meth:`Telemetry.series` gives one quantity's
time series for plots, :meth:`Telemetry.to_json` the whole history.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controlplane.clock import Clock, WallClock
from controlplane.egress import NodeLoad
from controlplane.netdesc import NetworkDescription
from traces.constants import DropReason, PacketOutMode, PuntReason

log = logging.getLogger("controlplane.telemetry")

PORT_RX = "CpnIngress.telemetry.port_rx"
PORT_TX = "CpnEgress.telemetry.port_tx"
QUEUE_DEPTH = "CpnEgress.telemetry.queue_depth"
QUEUE_DELAY = "CpnEgress.telemetry.queue_delay_us"
SERVICE_PACKETS = "CpnIngress.telemetry.service_packets"
DROP_REASONS = "CpnIngress.telemetry.drop_reasons"
EGW_STATS = "CpnIngress.egw.stats"
CONNECTIONS = "CpnIngress.egw.connections"
EGW_STAT_NAMES = (
    "new",
    "closed",
    "collision",
    "aged",
    "reply_rewritten",
    "reply_unknown",
    "shared",
    "reply_overwritten",
)
PROBES_PER_ROUND = 3
FEW_CELLS = 8  # up to this many cells are read one by one, more by one wildcard read


@dataclass(frozen=True)
class PortStats:
    rx_bytes: int = 0
    rx_packets: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    queue_depth: int = 0
    queue_delay_us: int = 0


@dataclass(frozen=True)
class ProbeResult:
    seq: int
    igw: str
    site_id: int
    path_id: int
    delay_us: float
    switches: tuple[str, ...]  # the hop records' switches, ingress gateway first
    ingress_ts_us: int = 0  # the first hop's ingress timestamp (switch clock)
    egress_ts_us: int = 0  # the last hop's egress timestamp (switch clock)
    sent_s: float = 0.0  # controller clock at :meth:`Telemetry.probe`
    collected_s: float = 0.0  # controller clock when :meth:`Telemetry.collect` handled it


@dataclass
class Snapshot:
    """One poll. Keys: (switch, port), directed (switch, switch) links, (switch, service id),
    (site id, node id), (ingress gateway, site id, path id), switch-name paths."""

    t: float
    interval_s: float = 0.0  # since the previous poll (0 on the first)
    ports: dict[tuple[str, int], PortStats] = field(default_factory=dict)
    link_utilisation: dict[tuple[str, str], float] = field(default_factory=dict)
    link_available_bps: dict[tuple[str, str], float] = field(default_factory=dict)
    service_counts: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    demand_pps: dict[tuple[str, int], float] = field(default_factory=dict)
    drops: dict[str, dict[str, int]] = field(default_factory=dict)
    egw_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    connections: dict[tuple[int, int], int] = field(default_factory=dict)
    node_load: dict[tuple[int, int], NodeLoad] = field(default_factory=dict)
    path_delay_us: dict[tuple[str, int, int], float] = field(default_factory=dict)
    node_path_delay_us: dict[tuple[str, ...], float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_network_state(self, net: NetworkDescription) -> Any:
        """An :class:`agents.rlmscpn.policy.NetworkState` for the policies (sites at their
        egress gateways' topology nodes, link values keyed by topology links)."""
        from agents.rlmscpn.policy import ComputeNodeState, NetworkState
        from controlplane.schedulers import TopoMap

        tm = TopoMap(net)
        compute, seen = [], set()
        for site in net.sites:
            node = tm.node_of.get(site.egress_gateway)
            live = [
                n
                for n in site.nodes
                if self.node_load.get((site.site_id, n.node_id), NodeLoad()).alive
            ]
            if node is None or node in seen or not live:
                continue
            seen.add(node)
            best = max(live, key=lambda n: (n.capacity_tflops, -n.node_id))
            lag = min(
                self.node_load.get((site.site_id, n.node_id), NodeLoad()).backlog_ms for n in live
            )
            compute.append(ComputeNodeState(node, best.device, lag))

        def topo(d: Mapping[tuple[str, str], float], f) -> dict[tuple[int, int], float]:
            return {
                (tm.node_of[a], tm.node_of[b]): f(a, b, v)
                for (a, b), v in d.items()
                if a in tm.node_of and b in tm.node_of
            }

        rate = {(lk.a, lk.b): lk.rate_bps for lk in net.links}
        rate |= {(lk.b, lk.a): lk.rate_bps for lk in net.links}
        return NetworkState(
            compute=compute,
            link_available_mbps=topo(self.link_available_bps, lambda a, b, v: v / 1e6),
            link_load_mbps=topo(self.link_utilisation, lambda a, b, v: v * rate[(a, b)] / 1e6),
            path_delay_ms={
                tm.nodes(p): v / 1000.0
                for p, v in self.node_path_delay_us.items()
                if all(s in tm.node_of for s in p)
            },
        )

    def to_dict(self) -> dict[str, Any]:
        def k(key: Any) -> str:
            return ">".join(map(str, key)) if isinstance(key, tuple) else str(key)

        def conv(v: Any) -> Any:
            if isinstance(v, dict):
                return {k(a): conv(b) for a, b in v.items()}
            if isinstance(v, PortStats | NodeLoad):
                return dict(v.__dict__)
            if isinstance(v, tuple):
                return list(v)
            return v

        return {name: conv(getattr(self, name)) for name in self.__dataclass_fields__}


class Telemetry:
    """Polls the switches' counters and registers and runs path probes (see module doc)."""

    def __init__(
        self,
        net: NetworkDescription,
        clients: Mapping[str, Any],
        clock: Clock | None = None,
        *,
        history: int = 600,
        service_ids: Iterable[int] = (),
        connections_per_tflops: float = 0.1,
        backlog_full_ms: float = 100.0,
    ) -> None:
        self.net = net
        self.clients = dict(clients)
        self.clock = clock or WallClock()
        self.history: deque[Snapshot] = deque(maxlen=history)
        self.service_ids = sorted(set(service_ids))
        self.connections_per_tflops = connections_per_tflops
        self.backlog_full_ms = backlog_full_ms
        self.reported: dict[tuple[int, int], NodeLoad] = {}
        self._by_device = {s.device_id: s.name for s in net.switches}
        self._seq = itertools.count(1)
        self._cond = threading.Condition()
        self._pending: dict[int, tuple[str, int, int, float]] = {}
        self._rounds: dict[tuple[str, int, int], list[int]] = {}
        self.results: dict[int, ProbeResult] = {}
        self.path_delay_us: dict[tuple[str, int, int], float] = {}
        self.node_path_delay_us: dict[tuple[str, ...], float] = {}
        self.lost_probes = 0
        self._inbox: dict[str, list[bytes]] = {}  # returned probes, by egress gateway
        for sw in net.egress_gateways:
            if sw.name in self.clients:
                self._inbox[sw.name] = []
                self.clients[sw.name].on_packet_in(
                    lambda payload, meta, name=sw.name: self._on_packet_in(name, payload, meta)
                )

    # ------------------------------------------------------------------------------ polling
    def set_service_ids(self, ids: Iterable[int]) -> None:
        """Service ids whose ``service_packets`` are read (none: the whole counter)."""
        self.service_ids = sorted(set(ids))

    def report_node_load(self, site_id: int, node_id: int, load: NodeLoad) -> None:
        """A node's own load report; it replaces the estimate from connections."""
        self.reported[(site_id, node_id)] = load

    def _read_switch(self, name: str, client: Any, snap: Snapshot) -> None:
        sw = self.net.switch(name)
        numbers = {p.number for p in sw.ports}
        rx = _cells(client.read_counter, PORT_RX, numbers)
        tx = _cells(client.read_counter, PORT_TX, numbers)
        depth = _cells(client.read_register, QUEUE_DEPTH, numbers)
        delay = _cells(client.read_register, QUEUE_DELAY, numbers)
        for n in sorted(numbers):
            rb, rp = rx.get(n, (0, 0))
            tb, tp = tx.get(n, (0, 0))
            snap.ports[(name, n)] = PortStats(rb, rp, tb, tp, depth.get(n, 0), delay.get(n, 0))
        drops = client.read_counter(DROP_REASONS)
        snap.drops[name] = {_reason(i): p for i, (_, p) in sorted(drops.items()) if p}
        if sw.role in ("ingress_gateway", "egress_gateway"):
            if self.service_ids:
                counts: dict[int, tuple[int, int]] = {}
                for sid in self.service_ids:
                    counts |= client.read_counter(SERVICE_PACKETS, sid)
            else:
                counts = client.read_counter(SERVICE_PACKETS)
            for sid, (b, p) in counts.items():
                if p or sid in self.service_ids:
                    snap.service_counts[(name, sid)] = (b, p)
        if sw.role == "egress_gateway":
            stats = client.read_counter(EGW_STATS)
            snap.egw_stats[name] = {
                n: stats.get(i, (0, 0))[1] for i, n in enumerate(EGW_STAT_NAMES)
            }
            ids = {
                n.node_id for st in self.net.sites if st.egress_gateway == name for n in st.nodes
            }
            conns = _cells(client.read_register, CONNECTIONS, ids)
            for site in self.net.sites:
                if site.egress_gateway == name:
                    for node in site.nodes:
                        snap.connections[(site.site_id, node.node_id)] = conns.get(node.node_id, 0)

    def poll(self) -> Snapshot:
        """Read every switch once and derive rates from the previous snapshot."""
        self.collect()
        now = self.clock.now()
        prev = self.history[-1] if self.history else None
        snap = Snapshot(t=now, interval_s=(now - prev.t) if prev else 0.0)
        for name, client in self.clients.items():
            try:
                self._read_switch(name, client, snap)
            except Exception as e:  # noqa: BLE001 - a switch that is down is reported, not fatal
                snap.errors[name] = f"{type(e).__name__}: {e}"
        self._derive(snap, prev)
        with self._cond:
            snap.path_delay_us = dict(self.path_delay_us)
            snap.node_path_delay_us = dict(self.node_path_delay_us)
        self.history.append(snap)
        return snap

    def _derive(self, snap: Snapshot, prev: Snapshot | None) -> None:
        for site in self.net.sites:
            for node in site.nodes:
                key = (site.site_id, node.node_id)
                if key in self.reported:
                    snap.node_load[key] = self.reported[key]
                    continue
                if key not in snap.connections:
                    continue
                c = snap.connections[key]
                cap = max(node.capacity_tflops * self.connections_per_tflops, 1e-9)
                u = min(1.0, c / cap)
                snap.node_load[key] = NodeLoad(u, c, u * self.backlog_full_ms)
        if prev is None or snap.interval_s <= 0:
            return
        dt = snap.interval_s

        def delta(now: int, before: int) -> int:
            return now - before if now >= before else now  # a restart counts from 0

        for lk in self.net.links:
            for a, ap, b, bp in (
                (lk.a, lk.a_port, lk.b, lk.b_port),
                (lk.b, lk.b_port, lk.a, lk.a_port),
            ):
                if (a, ap) in snap.ports and (a, ap) in prev.ports:
                    sent = delta(snap.ports[(a, ap)].tx_bytes, prev.ports[(a, ap)].tx_bytes)
                elif (b, bp) in snap.ports and (b, bp) in prev.ports:
                    sent = delta(snap.ports[(b, bp)].rx_bytes, prev.ports[(b, bp)].rx_bytes)
                else:
                    continue
                u = sent * 8.0 / dt / lk.rate_bps
                snap.link_utilisation[(a, b)] = u
                snap.link_available_bps[(a, b)] = max(0.0, lk.rate_bps * (1.0 - u))
        igws = {s.name for s in self.net.ingress_gateways}
        for (sw, sid), (_, p) in snap.service_counts.items():
            if sw in igws:
                before = prev.service_counts.get((sw, sid), (0, 0))[1]
                snap.demand_pps[(sw, sid)] = delta(p, before) / dt

    # ------------------------------------------------------------------------------ probes
    def probe(self, igw: str, site_id: int, path_id: int, aisid: str) -> list[int]:
        """Send 3 probes for ``aisid`` (a service ``igw`` sends to ``site_id``) pinned to
        ``path_id``; returns their sequence numbers. Returns once the switch has them (stream
        barrier): from a network callback they enter at the callback's virtual time."""
        from traces.packets import probe_request

        if igw not in self.clients:
            raise KeyError(f"no P4Runtime client for {igw!r}")
        if self.net.switch(igw).role != "ingress_gateway":
            raise ValueError(f"{igw} is not an ingress gateway")
        egw = self.net.site(site_id).egress_gateway
        if egw not in self.clients:
            raise KeyError(f"no P4Runtime client for {egw!r}: its packet-ins would be lost")
        if not 0 <= path_id < 4:
            raise ValueError(f"path_id must be 0..3, got {path_id}")
        src = self.net.src_address(igw)
        seqs = [next(self._seq) & 0xFFFFFFFF for _ in range(PROBES_PER_ROUND)]
        now = self.clock.now()
        with self._cond:
            for s in seqs:
                self._pending[s] = (igw, site_id, path_id, now)
            self._rounds[(igw, site_id, path_id)] = seqs
        client = self.clients[igw]
        for s in seqs:
            pkt = probe_request(aisid, seq=s, path_id=path_id, src=src)
            client.packet_out(bytes(pkt), egress_port=0, mode=int(PacketOutMode.INJECT))
        barrier = getattr(client, "barrier", None)
        if barrier is not None:
            barrier()  # the probes are in the switch now, at this clock time
        return seqs

    def wait_probes(self, seqs: Iterable[int], timeout_s: float = 1.0) -> bool:
        """Wait (real time) until every probe in ``seqs`` came back; False on timeout. Another
        thread (or the switches' own clock) must move the packets meanwhile."""
        want = set(seqs)
        end = time.monotonic() + timeout_s
        while True:
            self.collect()
            with self._cond:
                if want <= self.results.keys():
                    return True
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait_for(lambda: any(self._inbox.values()), left)

    def collect(self) -> int:
        """Handle the probes that came back (module doc): a stream barrier on every egress
        gateway's session while probes are out, then the queued packet-ins in a fixed order.
        Returns the number of new results."""
        with self._cond:
            out = bool(self._pending)
        if out:
            for name in sorted(self._inbox):
                barrier = getattr(self.clients[name], "barrier", None)
                if barrier is None:
                    continue
                try:
                    barrier()
                except Exception as e:  # noqa: BLE001 - a switch that is down returns nothing
                    log.debug("probe barrier on %s: %s", name, e)
        now = self.clock.now()
        n = 0
        with self._cond:
            for name in sorted(self._inbox):
                queued, self._inbox[name] = self._inbox[name], []
                for payload in queued:
                    n += self._handle(payload, now)
            if n:
                self._cond.notify_all()
        return n

    def _on_packet_in(self, switch: str, payload: bytes, metadata: Mapping[str, int]) -> None:
        """Stream thread: queue a returned probe for :meth:`collect`."""
        if metadata.get("reason") != PuntReason.PROBE:
            return
        with self._cond:
            self._inbox[switch].append(payload)
            self._cond.notify_all()

    def _handle(self, payload: bytes, now: float) -> int:
        """One returned probe (``_cond`` held): 1 when it made a result."""
        from scapy.layers.l2 import Ether

        from traces.layers import Probe

        try:
            probe = Ether(payload)[Probe]
        except (IndexError, ValueError):
            return 0
        pend = self._pending.pop(int(probe.seq), None)
        if pend is None or not probe.hops:
            return 0
        igw, site_id, path_id, sent = pend
        hops = list(probe.hops)  # newest first
        first, last = hops[-1], hops[0]
        res = ProbeResult(
            int(probe.seq),
            igw,
            site_id,
            path_id,
            float(last.egress_ts - first.ingress_ts),
            tuple(self._by_device.get(h.switch_id, str(h.switch_id)) for h in reversed(hops)),
            int(first.ingress_ts),
            int(last.egress_ts),
            sent,
            now,
        )
        self.results[res.seq] = res
        if len(self.results) > 4096:
            for old in sorted(self.results)[:1024]:
                del self.results[old]
        key = (igw, site_id, path_id)
        got = [self.results[s] for s in self._rounds.get(key, ()) if s in self.results]
        if got:
            mean = sum(r.delay_us for r in got) / len(got)
            self.path_delay_us[key] = mean
            self.node_path_delay_us[got[-1].switches] = mean
        return 1

    def expire_probes(self, older_than_s: float) -> int:
        """Forget probes sent more than ``older_than_s`` ago (lost, once :meth:`collect` has
        taken what came back); returns how many."""
        self.collect()
        cut = self.clock.now() - older_than_s
        with self._cond:
            gone = [s for s, p in self._pending.items() if p[3] < cut]
            for s in gone:
                del self._pending[s]
            self.lost_probes += len(gone)
        return len(gone)

    # ------------------------------------------------------------------------------ views
    @property
    def last(self) -> Snapshot | None:
        return self.history[-1] if self.history else None

    def link_utilisation(self) -> dict[tuple[str, str], float]:
        return dict(self.last.link_utilisation) if self.last else {}

    def path_delay(self) -> dict[tuple[str, int, int], float]:
        with self._cond:
            return dict(self.path_delay_us)

    def series(self, name: str, key: Any = None) -> list[tuple[float, Any]]:
        """(time, value) of a snapshot field (``key`` picks one element of a dict field)."""
        if name not in Snapshot.__dataclass_fields__:
            raise KeyError(
                f"no telemetry quantity {name!r}; known: {', '.join(Snapshot.__dataclass_fields__)}"
            )
        out = []
        for s in self.history:
            v = getattr(s, name)
            if key is not None:
                if key not in v:
                    continue
                v = v[key]
            out.append((s.t, v))
        return out

    def to_json(self, last: int | None = None) -> dict[str, Any]:
        snaps = list(self.history)[-last:] if last else list(self.history)
        return {
            "network": self.net.name,
            "lost_probes": self.lost_probes,
            "snapshots": [s.to_dict() for s in snaps],
        }

    def save_json(self, path: str | Path, last: int | None = None) -> None:
        Path(path).write_text(json.dumps(self.to_json(last), indent=1) + "\n")


def _cells(read: Any, name: str, indices: Iterable[int]) -> dict[int, Any]:
    """A few cells one by one (cheap), many in one wildcard read."""
    idx = sorted(set(indices))
    if len(idx) > FEW_CELLS:
        return read(name)
    out: dict[int, Any] = {}
    for i in idx:
        out |= read(name, i)
    return out


def _reason(i: int) -> str:
    try:
        return DropReason(i).name.lower()
    except ValueError:
        return str(i)
