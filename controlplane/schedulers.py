"""Schedulers to tables: the learned policies behind one adapter that fills the scheduler tables.

``load_policy(name_or_path, net, topology)`` gives a :class:`SchedulerAdapter`; every control
interval ``adapter.decide(view)`` turns what the controller knows (:class:`ControlView`: the
network, the registered services, telemetry, demand) into :class:`Decisions`, and
:func:`decisions_to_entries` turns those into the entries of one policy version:
``flowlet.service_site`` and ``flowlet.path_split`` + ``srv6_encap.paths`` at ingress gateways,
``egw.service_nodes`` at egress gateways, ``cqf.flow_offsets`` at the CQF switches.

Names: ``rlmscpn`` (and ``rlmscpn-mlp``), ``base1``..``base4``, ``gnn-dqn`` (joint site + split,
:mod:`agents.rlmscpn.policy`), ``mappo``, ``ippo``, ``greedy`` (orchestration: the site of each
service), ``d3qn``, ``dqn``, ``ddqn``, ``sa`` (transport: deterministic flows' cycle offsets), a
``+`` pair such as ``rlmscpn+d3qn`` (sites from the first, offsets from the second), or a
checkpoint path (its sidecar says which kind).

**Per task -> per table.** The policies decide per task; the tables are per (ingress gateway,
service) (site), per (ingress gateway, site) (paths and split) and per (site, service) (node
weights). Each interval the adapter makes one *representative task* per (ingress gateway,
service): the service's mean data size and model (``ServiceView.data_mb``/``arch``), arriving at
the gateway's topology node, decided once against the current telemetry. The chosen compute node
picks the site (node -> the site at that node's egress gateway) and the split over its k paths
becomes the (gateway, site) split; when several services of one gateway pick the same site their
splits are merged, weighted by demand (+1 so idle services count), keeping the 4 largest paths.
Services are decided in falling demand order and each decision adds its predicted compute time
to the chosen site's backlog, so later ones see it. Fidelity lost: per-task variation inside an
interval (task size, model, the instantaneous backlog) is not seen, a gateway's services share
one split per site, and the data plane realises ratios per flowlet (new flowlets re-draw within
the ratios, so short-term shares deviate from them); node choice inside a site is the egress
gateway's weighted least connections (:mod:`controlplane.egress`), not the policy's.

**Topologies.** Policies work on a :class:`topo.graph.Topology` with integer nodes; the network
keeps ``topo_node`` per switch. RLMS-CPN checkpoints (and GNN+DQN) are trained per topology: the
network's link set must have the checkpoint's fingerprint, else loading fails with a message
naming both and the way out (a baseline, or ``python -m agents.rlmscpn train``). Base1-4 and the
orchestrators work on any network. RLMS-CPN's compute nodes are the topology nodes of the sites'
egress gateways; each site is one :class:`~agents.rlmscpn.policy.ComputeNodeState` with the device
of its largest live node and the smallest backlog of its live nodes.

**Orchestration** (MAPPO/greedy) sees the sites as computing domains (capacity: the site's
TFLOPS as cores, 200 TB storage, its egress gateway's link rate as bandwidth; use: node
utilisation and link utilisation) and each (gateway, service) as a task (cores =
``ServiceView.cores``, bandwidth = measured demand); the chosen domain is the site, reached over
the shortest path. MAPPO was trained with 5 domains: a network with another number of sites is
refused at load time. A rejected task keeps the service's registered site (while it is live).

**No live site.** A site is a candidate for a (gateway, service) while it has a live node the
service may use (its node reports ``alive``, not draining) and the routing plan has a path to it
from the gateway (:attr:`ControlView.unreachable`). When no site is, every adapter leaves the
pair out of ``service_site`` and notes why in :attr:`Decisions.unserved`: the gateway finds no
site for the service's requests and punts them to the controller (``NO_SERVICE_SITE``), the
other services go on, and the interval after a site comes back the pair is placed again.

**Transport** (D3QN/DQN/DDQN: :class:`agents.detcom.transport.policy.TransportPolicy`) decides a
cycle offset per deterministic flow (:class:`DetFlow`); its 5 TSN-5G domains are mapped by index
(ingress gateway i -> domain i mod 5, site j -> domain j mod 5), the CQF queue room from the
view. ``sa`` is a controller-side simulated annealing (seeded, deterministic) that spreads the
flows' bytes over the two CQF queues of the ports they share, within their deadlines; the agents'
SA (an offline plan over the transport simulator) has no controller interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from controlplane.egress import NodeLoad, service_nodes_entry, wlc_weights
from controlplane.entries import Exact, TableEntry, Ternary, entry, ip6_prefix
from controlplane.netdesc import NetworkDescription, SiteDesc
from topo.graph import Topology

SERVICE_SITE = "CpnIngress.flowlet.service_site"
PATH_SPLIT = "CpnIngress.flowlet.path_split"
FLOW_OFFSETS = "CpnIngress.cqf.flow_offsets"
SPLIT_SCALE = 10_000
MAX_PATHS = 4
DEFAULT_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SITE_POLICIES = ("rlmscpn", "rlmscpn-mlp", "base1", "base2", "base3", "base4", "gnn-dqn")
ORCHESTRATORS = ("mappo", "ippo", "greedy")
TRANSPORT = ("d3qn", "dqn", "ddqn", "sa")
NAMES = (*SITE_POLICIES, *ORCHESTRATORS, *TRANSPORT)


# --------------------------------------------------------------------------------- the view
@dataclass(frozen=True)
class ServiceView:
    """A registered service as the scheduler sees it."""

    service_id: int
    site_id: int  # where the registry placed it
    nodes: tuple[int, ...] = ()  # node ids at that site (empty: all)
    name: str = ""
    traffic_class: int = 0
    deadline_us: int = 0
    sites: tuple[int, ...] = ()  # sites that may serve it (empty: every site)
    data_mb: float = 1.0  # representative task: mean request size
    arch: str = DEFAULT_ARCH  # representative task: NB201 model
    cores: float = 10.0  # representative task for the orchestrators


@dataclass(frozen=True)
class DetFlow:
    """A deterministic flow whose CQF cycle offset is decided (``cqf.flow_offsets`` key)."""

    src_prefix: str  # the OUTER source the CQF switches see: the ingress gateway's encap source
    igw: str
    service_id: int
    flow_label: int | None = None  # None: any
    deadline_us: float = 0.0  # 0: the service's
    bytes_per_cycle: int = 1500
    phase: int = 0  # arrival cycle parity


@dataclass
class ControlView:
    """What the controller knows at one interval. Link keys are directed switch-name pairs,
    path keys switch-name tuples, node keys (site id, node id)."""

    net: NetworkDescription
    services: list[ServiceView]
    link_available_bps: dict[tuple[str, str], float] = field(default_factory=dict)
    link_utilisation: dict[tuple[str, str], float] = field(default_factory=dict)
    path_delay_us: dict[tuple[str, ...], float] = field(default_factory=dict)
    node_load: dict[tuple[int, int], NodeLoad] = field(default_factory=dict)
    demand_pps: dict[tuple[str, int], float] = field(default_factory=dict)  # (igw, service)
    draining: set[tuple[int, int]] = field(default_factory=set)  # (site, node)
    flows: list[DetFlow] = field(default_factory=list)
    cqf_free_frames: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    paths: dict[tuple[str, int], list[tuple[str, ...]]] = field(default_factory=dict)
    unreachable: set[tuple[str, int]] = field(default_factory=set)  # (igw, site): no path

    @classmethod
    def from_snapshot(cls, net: NetworkDescription, services: list[ServiceView], snap: Any, **kw):
        """A view from a :class:`controlplane.telemetry.Snapshot` (+ any field as keyword)."""
        return cls(
            net,
            services,
            link_available_bps=dict(snap.link_available_bps),
            link_utilisation=dict(snap.link_utilisation),
            path_delay_us=dict(snap.node_path_delay_us),
            node_load=dict(snap.node_load),
            demand_pps=dict(snap.demand_pps),
            **kw,
        )


@dataclass(frozen=True)
class PathChoice:
    paths: tuple[tuple[str, ...], ...]  # switch-name paths, igw ... egress gateway
    ratios: tuple[float, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.paths) <= MAX_PATHS or len(self.paths) != len(self.ratios):
            raise ValueError(f"1..{MAX_PATHS} paths with one ratio each, got {self}")
        if any(r < 0 for r in self.ratios) or abs(sum(self.ratios) - 1.0) > 1e-6:
            raise ValueError(f"split ratios must be >= 0 and sum to 1, got {self.ratios}")


@dataclass
class Decisions:
    """One interval's decisions (``None`` site = served at the gateway's own site)."""

    service_site: dict[tuple[str, int], int | None] = field(default_factory=dict)
    path_split: dict[tuple[str, int], PathChoice] = field(default_factory=dict)
    service_nodes: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)
    flow_offsets: dict[tuple[str, int | None], int] = field(default_factory=dict)
    policy: str = ""
    unserved: dict[tuple[str, int], str] = field(default_factory=dict)
    """(ingress gateway, service) pairs with no site this interval, and why: no
    ``service_site`` entry, so the gateway punts their requests (``NO_SERVICE_SITE``)."""


def thresholds(ratios: Sequence[float]) -> tuple[int, int, int]:
    """Split ratios over paths 0..n-1 (n <= 4) -> ``set_split`` cumulative thresholds of 10000."""
    if not 1 <= len(ratios) <= MAX_PATHS:
        raise ValueError(f"1..{MAX_PATHS} ratios, got {len(ratios)}")
    cum = [
        min(SPLIT_SCALE, round(sum(ratios[: i + 1]) * SPLIT_SCALE)) if i < len(ratios) else 10000
        for i in range(3)
    ]
    return cum[0], cum[1], cum[2]


# --------------------------------------------------------------------------- topology mapping
def topo_nodes(net: NetworkDescription) -> dict[str, int]:
    """Switch name -> topology node: ``topo_node``, or file order when no switch has one."""
    node_of = {s.name: s.topo_node for s in net.switches if s.topo_node is not None}
    return node_of or {s.name: i for i, s in enumerate(net.switches)}


def net_topology(net: NetworkDescription) -> Topology:
    """The topology a network was made from: switches with ``topo_node`` (or, when no switch
    has one, numbered in file order), links between them (capacity from the rate, delay and
    routing weight from the link delay)."""
    node_of = topo_nodes(net)
    ids = sorted(set(node_of.values()))
    if ids != list(range(len(ids))):
        raise ValueError(f"network {net.name!r}: topo_node values must be 0..n-1, got {ids}")
    g = nx.DiGraph()
    g.add_nodes_from(ids)
    for lk in net.links:
        if lk.a in node_of and lk.b in node_of:
            u, v = node_of[lk.a], node_of[lk.b]
            d = {
                "capacity_mbps": lk.rate_bps / 1e6,
                "delay_ms": lk.delay_us / 1000.0,
                "weight": max(lk.delay_us, 1.0),
            }
            g.add_edge(u, v, **d)
            g.add_edge(v, u, **d)
    name = str(net.topology.get("name") or net.name)
    return Topology(g, name, f"network description {net.name}")


class TopoMap:
    """Switch names <-> topology nodes, sites at nodes."""

    def __init__(self, net: NetworkDescription) -> None:
        self.net = net
        self.node_of = topo_nodes(net)
        self.switch_at = {n: s for s, n in self.node_of.items()}
        self.sites_at: dict[int, list[SiteDesc]] = {}
        for site in net.sites:
            n = self.node_of.get(site.egress_gateway)
            if n is not None:
                self.sites_at.setdefault(n, []).append(site)

    def node(self, switch: str) -> int:
        try:
            return self.node_of[switch]
        except KeyError:
            raise KeyError(f"switch {switch!r} has no topo_node") from None

    def names(self, path: Iterable[int]) -> tuple[str, ...]:
        return tuple(self.switch_at[int(n)] for n in path)

    def nodes(self, path: Iterable[str]) -> tuple[int, ...]:
        return tuple(self.node_of[s] for s in path)


def _check_topology(net: NetworkDescription, topology: Topology) -> None:
    missing = [
        s.name for s in net.switches if s.topo_node is not None and s.topo_node >= topology.n_nodes
    ]
    if missing:
        raise ValueError(f"switches {missing} have topo_node outside {topology.describe()}")


# ------------------------------------------------------------------------------ the adapters
class SchedulerAdapter:
    """Base: every service stays at its registered site (while that has no live node, the
    first live one of its replicas; none: unserved), over the shortest path; WLC weights."""

    name = "static"

    def __init__(self, net: NetworkDescription, topology: Topology | None = None) -> None:
        self.net = net
        self.topology = topology
        self.tmap = TopoMap(net)
        self._sp: dict[tuple[str, str], tuple[str, ...]] = {}

    # -- pieces subclasses reuse --------------------------------------------------------------
    def candidate_sites(
        self, view: ControlView, svc: ServiceView, igw: str | None = None
    ) -> list[SiteDesc]:
        """The sites that may serve ``svc`` now: live nodes for it, and (with ``igw``) a path
        from that ingress gateway."""
        ids = set(svc.sites) if svc.sites else {s.site_id for s in view.net.sites}
        out = []
        for site in view.net.sites:
            if site.site_id not in ids or (igw, site.site_id) in view.unreachable:
                continue
            if self._live_nodes(view, site, svc):
                out.append(site)
        return out

    def unserve(self, view: ControlView, d: Decisions, igw: str, svc: ServiceView) -> None:
        """No site for (``igw``, ``svc``) this interval: no ``service_site`` entry, and why."""
        ids = set(svc.sites) if svc.sites else {s.site_id for s in view.net.sites}
        why = []
        for site in view.net.sites:
            if site.site_id not in ids:
                continue
            if not self._live_nodes(view, site, svc):
                why.append(f"{site.name} has no live node")
            elif (igw, site.site_id) in view.unreachable:
                why.append(f"{site.name} unreachable")
        d.service_site.pop((igw, svc.service_id), None)
        d.unserved[(igw, svc.service_id)] = "no live site" + (f" ({'; '.join(why)})" if why else "")

    def _live_nodes(self, view: ControlView, site: SiteDesc, svc: ServiceView):
        allowed = set(svc.nodes) if svc.nodes and site.site_id == svc.site_id else None
        return [
            n
            for n in site.nodes
            if (allowed is None or n.node_id in allowed)
            and view.node_load.get((site.site_id, n.node_id), NodeLoad()).alive
            and (site.site_id, n.node_id) not in view.draining
        ]

    def shortest_path(self, igw: str, egw: str) -> tuple[str, ...]:
        key = (igw, egw)
        if key not in self._sp:
            g = nx.Graph()
            for lk in self.net.links:
                g.add_edge(lk.a, lk.b, weight=max(lk.delay_us, 1e-3))
            try:
                self._sp[key] = tuple(nx.shortest_path(g, igw, egw, weight="weight"))
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                raise ValueError(f"no path from {igw} to {egw} in {self.net.name}") from None
        return self._sp[key]

    def route(self, view: ControlView, igw: str, site: SiteDesc) -> PathChoice:
        cands = view.paths.get((igw, site.site_id))
        path = cands[0] if cands else self.shortest_path(igw, site.egress_gateway)
        return PathChoice((tuple(path),), (1.0,))

    def place(self, view: ControlView, d: Decisions, igw: str, svc: ServiceView, site_id: int):
        site = view.net.site(site_id)
        if site.egress_gateway == igw:
            d.service_site[(igw, svc.service_id)] = None
            return None
        d.service_site[(igw, svc.service_id)] = site_id
        return site

    def node_weights(self, view: ControlView, d: Decisions) -> None:
        """WLC weights for every (site, service) that may receive the service's requests: every
        site that may serve it, chosen this interval or not, so that a site change between two
        intervals leaves requests already on their way to the old site a node to go to."""
        for svc in view.services:
            sites = {svc.site_id} | (set(svc.sites) or {s.site_id for s in view.net.sites})
            for (sw, sid), site_id in d.service_site.items():
                if sid != svc.service_id:
                    continue
                if site_id is None:
                    sites |= {s.site_id for s in view.net.sites if s.egress_gateway == sw}
                else:
                    sites.add(site_id)
            for site_id in sorted(sites):
                site = view.net.site(site_id)
                allowed = set(svc.nodes) if svc.nodes and site_id == svc.site_id else None
                nodes = [n for n in site.nodes if allowed is None or n.node_id in allowed]
                loads = {
                    n.node_id: view.node_load.get((site_id, n.node_id), NodeLoad()) for n in nodes
                }
                drain = [n for (s, n) in view.draining if s == site_id]
                w = wlc_weights(nodes, loads, drain)
                if w:
                    d.service_nodes[(site_id, svc.service_id)] = w

    # -- the interval ------------------------------------------------------------------------
    def decide_sites(self, view: ControlView, d: Decisions) -> None:
        splits: dict[tuple[str, int], list[tuple[PathChoice, float]]] = {}
        for igw in view.net.ingress_gateways:
            for svc in view.services:
                own = {svc.site_id, *svc.sites}
                cands = [
                    s.site_id for s in self.candidate_sites(view, svc, igw.name) if s.site_id in own
                ]
                if not cands:
                    self.unserve(view, d, igw.name, svc)
                    continue
                site_id = svc.site_id if svc.site_id in cands else cands[0]
                site = self.place(view, d, igw.name, svc, site_id)
                if site is not None:
                    splits.setdefault((igw.name, site.site_id), []).append(
                        (self.route(view, igw.name, site), 1.0)
                    )
        d.path_split.update(merge_splits(splits))

    def decide_offsets(self, view: ControlView, d: Decisions) -> None:
        return None

    def decide(self, view: ControlView) -> Decisions:
        d = Decisions(policy=self.name)
        self.decide_sites(view, d)
        self.node_weights(view, d)
        self.decide_offsets(view, d)
        return d


def merge_splits(
    splits: Mapping[tuple[str, int], list[tuple[PathChoice, float]]],
    order: Mapping[tuple[str, int], Sequence[tuple[str, ...]]] | None = None,
) -> dict[tuple[str, int], PathChoice]:
    """Demand-weighted mean of several services' splits towards one site; the 4 largest paths
    kept, in candidate order (``order``), else by hop count."""
    out = {}
    for key, items in splits.items():
        acc: dict[tuple[str, ...], float] = {}
        total = sum(w for _, w in items)
        for pc, w in items:
            for p, r in zip(pc.paths, pc.ratios, strict=True):
                acc[p] = acc.get(p, 0.0) + r * w / total
        top = sorted(acc, key=lambda p: (-acc[p], len(p), p))[:MAX_PATHS]
        top = [p for p in top if acc[p] > 0] or top[:1]
        cands = list((order or {}).get(key, ()))
        top.sort(key=lambda p: (cands.index(p) if p in cands else len(cands), len(p), p))
        s = sum(acc[p] for p in top)
        out[key] = PathChoice(tuple(top), tuple(acc[p] / s for p in top))
    return out


def load_policy(
    name_or_path: str | Path, net: NetworkDescription, topology: Topology | None = None
) -> SchedulerAdapter:
    """The adapter for a policy name (:data:`NAMES`, or ``SITES+TRANSPORT``) or checkpoint."""
    from controlplane.policy_adapters import (
        OrchestrationAdapter,
        RlmsAdapter,
        TransportAdapter,
        _find_rlms,
        _load_rlms,
        _sidecar,
    )

    spec = str(name_or_path)
    if "+" in spec and not Path(spec).exists():
        a, b = spec.split("+", 1)
        sites = load_policy(a, net, topology)
        tr = load_policy(b, net, topology)
        if not isinstance(tr, TransportAdapter) or isinstance(sites, TransportAdapter):
            raise ValueError(f"{spec!r}: the form is SITE_POLICY+TRANSPORT_POLICY")
        return TransportAdapter(tr.policy, net, f"{sites.name}+{tr.name}", sites)
    key = spec.lower()
    if key in ("base1", "base2", "base3", "base4"):
        from agents.rlmscpn.policy import BaselinePolicy

        topo = topology or net_topology(net)
        pol = BaselinePolicy(key.capitalize(), topo, k_paths=min(net.controller.k_paths, MAX_PATHS))
        return RlmsAdapter(pol, net, topo, key)
    if key in ("rlmscpn", "rlmscpn-mlp", "gnn-dqn"):
        kind = "dqn" if key == "gnn-dqn" else "actor-critic"
        enc = {"rlmscpn": "syncgnn", "rlmscpn-mlp": "mlp"}.get(key)
        stem = _find_rlms(kind, enc, topology or net_topology(net))
        return _load_rlms(stem, _sidecar(stem)[1], net, topology, key)
    if key in ("mappo", "ippo"):
        from agents.detcom.orchestration.policy import MAPPOPolicy, shipped_policy

        return OrchestrationAdapter(MAPPOPolicy.load(shipped_policy(key)), net, key)
    if key == "greedy":
        from agents.detcom.orchestration.policy import GreedyPolicy

        return OrchestrationAdapter(GreedyPolicy(), net, key)
    if key in ("d3qn", "dqn", "ddqn"):
        from agents.detcom.transport.policy import TransportPolicy

        return TransportAdapter(TransportPolicy.default(60, key), net, key)
    if key == "sa":
        return TransportAdapter(None, net, "sa")
    path = Path(spec)
    if not (path.exists() or path.with_suffix(".json").exists()):
        raise ValueError(
            f"unknown policy {spec!r}: names are {', '.join(NAMES)}, or a checkpoint path"
        )
    stem, meta = _sidecar(path)
    cfg = meta.get("config", meta)
    if "name" in meta and str(meta["name"]).lower() in ("base1", "base2", "base3", "base4"):
        from agents.rlmscpn.policy import BaselinePolicy

        topo = topology or net_topology(net)
        pol = BaselinePolicy(
            meta["name"], topo, meta.get("k_paths", 3), meta.get("lp_window_ms", 20.0)
        )
        return RlmsAdapter(pol, net, topo, str(meta["name"]).lower())
    if cfg.get("kind") in ("actor-critic", "dqn"):
        return _load_rlms(stem, meta, net, topology, stem.name)
    if cfg.get("kind") == "detcom-orchestration-actor":
        from agents.detcom.orchestration.policy import MAPPOPolicy

        return OrchestrationAdapter(MAPPOPolicy.load(stem), net, stem.name)
    if "method" in cfg and "transport" in cfg:
        from agents.detcom.transport.policy import TransportPolicy

        return TransportAdapter(TransportPolicy.load(stem), net, stem.name)
    raise ValueError(
        f"{path}: not a checkpoint of a known scheduler (sidecar kind {cfg.get('kind')!r})"
    )


# ------------------------------------------------------------------------- entries
def decisions_to_entries(
    version: int, decisions: Decisions, plan: Any, net: NetworkDescription | None = None
) -> dict[str, list[TableEntry]]:
    """The scheduler tables' entries of ``version`` for every switch (by name).

    ``plan`` is a :class:`controlplane.routing.RoutingPlan`: decided paths become its SR paths
    (:func:`resolve_paths`) and ``plan.encap_entries`` makes their ``srv6_encap.paths``
    entries (path id = position in the split).

    Every (ingress gateway, site) pair gets all :data:`MAX_PATHS` path ids: where a split uses
    fewer, its paths repeated in order (the split never draws the extra ids); where no split
    goes, the plan's shortest paths (no ``path_split`` entry: path 0). The data plane keeps a
    flow on its site and a flowlet on its path id while they are active, so a flow started
    under another decision or version must still find its (site, path id) here.
    """
    net = net or plan.net
    out: dict[str, list[TableEntry]] = {s.name: [] for s in net.switches}
    v = {"policy_version": version}
    for (igw, sid), site in sorted(decisions.service_site.items(), key=lambda kv: kv[0]):
        if site is None:
            e = entry(SERVICE_SITE, {**v, "service_id": sid}, "CpnIngress.flowlet.local_site")
        else:
            e = entry(
                SERVICE_SITE,
                {**v, "service_id": sid},
                "CpnIngress.flowlet.set_site",
                {"site_id": site},
            )
        out[igw].append(e)
    for (igw, site_id), pc in sorted(decisions.path_split.items(), key=lambda kv: kv[0]):
        pc, sr_paths = resolve_paths(plan, igw, site_id, pc)
        s0, s1, s2 = thresholds(pc.ratios)
        out[igw].append(
            entry(
                PATH_SPLIT,
                {**v, "site_id": site_id},
                "CpnIngress.flowlet.set_split",
                {"split_0": s0, "split_1": s1, "split_2": s2},
            )
        )
        out[igw].extend(plan.encap_entries(version, igw, site_id, sr_paths))
    _pad_paths(out, version, decisions, plan, net)
    for (site_id, sid), weights in sorted(decisions.service_nodes.items()):
        out[net.site(site_id).egress_gateway].append(service_nodes_entry(version, sid, weights))
    cqf_switches = sorted({sw for sw, _ in net.cqf.ports})
    for (src, label), off in sorted(
        decisions.flow_offsets.items(), key=lambda kv: (kv[0][0], kv[0][1] or -1)
    ):
        if off not in (0, 1):
            raise ValueError(f"flow {src}: cycle offset must be 0 or 1, got {off}")
        value, plen = ip6_prefix(src)
        mask = ((1 << plen) - 1) << (128 - plen) if plen else 0
        fl = Ternary(label, 0xFFFFF) if label is not None else Ternary(0, 0)
        e = entry(
            FLOW_OFFSETS,
            {"policy_version": Exact(version), "src_addr": Ternary(value, mask), "flow_label": fl},
            "CpnIngress.cqf.set_offset",
            {"offset": off},
            priority=plen + (21 if label is not None else 1),
        )
        for sw in cqf_switches:
            out[sw].append(e)
    return out


def _pad_paths(
    out: dict[str, list[TableEntry]], version: int, decisions: Decisions, plan: Any, net: Any
) -> None:
    """The path ids a split does not use, for every (ingress gateway, site) pair."""
    for gw in net.ingress_gateways:
        for site in net.sites:
            if site.egress_gateway == gw.name:
                continue
            pc = decisions.path_split.get((gw.name, site.site_id))
            if pc is not None:
                _, sr = resolve_paths(plan, gw.name, site.site_id, pc)
            else:
                sr = plan.paths(gw.name, site.site_id, MAX_PATHS)
            if not sr or (pc is not None and len(sr) >= MAX_PATHS):
                continue
            padded = [sr[i % len(sr)] for i in range(MAX_PATHS)]
            entries = plan.encap_entries(version, gw.name, site.site_id, padded)
            out[gw.name].extend(entries[len(sr) :] if pc is not None else entries)


def resolve_paths(plan: Any, igw: str, site_id: int, pc: PathChoice) -> tuple[PathChoice, list]:
    """The decided paths as the plan's :class:`~controlplane.routing.SrPath` objects.

    A path among ``plan.paths(igw, site, 4)`` is taken as is; another one is encoded with
    ``plan.compress`` when the routes can carry it within ``max_segments``, else replaced by the
    plan path sharing the most links with it (ratios of paths that end up the same are added).
    """
    known = plan.paths(igw, site_id, MAX_PATHS)
    if not known:
        raise ValueError(f"the routing plan has no path from {igw} to site {site_id}")
    by_nodes = {tuple(p.nodes): p for p in known}
    max_seg = plan.net.controller.max_segments if hasattr(plan, "net") else 6
    acc: dict[tuple[str, ...], float] = {}
    made: dict[tuple[str, ...], Any] = {}
    for p, r in zip(pc.paths, pc.ratios, strict=True):
        if p in by_nodes:
            made[p] = by_nodes[p]
        else:
            segs = plan.compress(list(p)) if hasattr(plan, "compress") else None
            if segs is not None and len(segs) <= max_seg:
                made[p] = type(known[0])(list(p), segs, plan.delay_us(list(p)))
            else:
                links = set(zip(p, p[1:], strict=False))
                near = max(
                    known,
                    key=lambda k: len(links & set(zip(k.nodes, k.nodes[1:], strict=False))),
                )
                p = tuple(near.nodes)
                made[p] = near
        acc[p] = acc.get(p, 0.0) + r
    paths = tuple(acc)
    return PathChoice(paths, tuple(acc[p] for p in paths)), [made[p] for p in paths]
