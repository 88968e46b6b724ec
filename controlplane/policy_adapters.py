"""The policy adapters behind :func:`controlplane.schedulers.load_policy` (how each family maps
onto the tables is in :mod:`controlplane.schedulers`' docstring): RLMS-CPN and its baselines
(:class:`RlmsAdapter`, with :class:`GnnDqnPolicy` giving GNN+DQN the RLMS-CPN policy
interface), the orchestrators (:class:`OrchestrationAdapter`) and the transport policies
(:class:`TransportAdapter`), and the loading of RLMS-CPN checkpoints for a network."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from controlplane.egress import NodeLoad
from controlplane.netdesc import NetworkDescription, SiteDesc
from controlplane.schedulers import (
    ControlView,
    Decisions,
    DetFlow,
    PathChoice,
    SchedulerAdapter,
    ServiceView,
    _check_topology,
    merge_splits,
    net_topology,
)
from topo.graph import Topology


def _by_demand(view: ControlView) -> list[tuple[str, ServiceView]]:
    """Every (ingress gateway, service) pair, highest demand first, then by name and id."""
    pairs = [(igw.name, svc) for igw in view.net.ingress_gateways for svc in view.services]
    pairs.sort(
        key=lambda p: (
            -view.demand_pps.get((p[0], p[1].service_id), 0.0),
            p[0],
            p[1].service_id,
        )
    )
    return pairs


class RlmsAdapter(SchedulerAdapter):
    """RLMS-CPN, its MLP ablation, Base1-4 and GNN+DQN: joint site and split."""

    def __init__(self, policy: Any, net: NetworkDescription, topology: Topology, name: str):
        super().__init__(net, topology)
        self.policy = policy
        self.name = name
        _check_topology(net, topology)
        self._check_devices()

    def _check_devices(self) -> None:
        from agents.latency.devices import device_names

        known = set(device_names())
        bad = [
            f"{s.name}/{n.name}: {n.device}"
            for s in self.net.sites
            for n in s.nodes
            if n.device not in known
        ]
        if bad:
            raise ValueError(
                f"{self.name}: the latency model knows no device of {', '.join(bad)}; "
                f"known: {', '.join(sorted(known))}"
            )

    def network_state(
        self,
        view: ControlView,
        svc: ServiceView,
        backlog: Mapping[int, float],
        igw: str | None = None,
    ):
        """The policy's view of the candidate sites of ``svc`` (from ``igw``); no compute node
        when none is live and reachable."""
        from agents.rlmscpn.policy import ComputeNodeState, NetworkState

        compute, seen = [], set()
        for site in self.candidate_sites(view, svc, igw):
            node = self.tmap.node_of.get(site.egress_gateway)
            if node is None or node in seen:
                continue
            live = self._live_nodes(view, site, svc)
            best = max(live, key=lambda n: (n.capacity_tflops, -n.node_id))
            lag = min(
                view.node_load.get((site.site_id, n.node_id), NodeLoad()).backlog_ms for n in live
            )
            seen.add(node)
            compute.append(
                ComputeNodeState(node, best.device, lag + backlog.get(site.site_id, 0.0))
            )
        return NetworkState(
            compute=compute,
            link_available_mbps=self._links(view.link_available_bps, 1e-6),
            link_load_mbps=self._load(view),
            path_delay_ms={
                self.tmap.nodes(p): v / 1000.0
                for p, v in view.path_delay_us.items()
                if all(s in self.tmap.node_of for s in p)
            },
        )

    def _links(self, values: Mapping[tuple[str, str], float], scale: float) -> dict | None:
        out = {}
        links = set(self.topology.link_index)
        for (a, b), v in values.items():
            key = (self.tmap.node_of.get(a), self.tmap.node_of.get(b))
            if key in links:
                out[key] = v * scale
        return out or None

    def _load(self, view: ControlView) -> dict | None:
        out = {}
        links = set(self.topology.link_index)
        for (a, b), u in view.link_utilisation.items():
            key = (self.tmap.node_of.get(a), self.tmap.node_of.get(b))
            if key in links:
                out[key] = u * float(self.topology.graph.edges[key]["capacity_mbps"])
        return out or None

    def decide_sites(self, view: ControlView, d: Decisions) -> None:
        from agents.rlmscpn.policy import TaskRequest

        backlog: dict[int, float] = {}
        splits: dict[tuple[str, int], list[tuple[PathChoice, float]]] = {}
        for igw, svc in _by_demand(view):
            state = self.network_state(view, svc, backlog, igw)
            if not state.compute:
                self.unserve(view, d, igw, svc)
                continue
            task = TaskRequest(self.tmap.node(igw), svc.arch, svc.data_mb)
            dec = self.policy.decide(task, state)
            cands = self.candidate_sites(view, svc, igw)
            site = next(s for s in self.tmap.sites_at[dec.node] if s in cands)
            if not math.isnan(dec.predicted_compute_ms):
                backlog[site.site_id] = backlog.get(site.site_id, 0.0) + dec.predicted_compute_ms
            if self.place(view, d, igw, svc, site.site_id) is None:
                continue
            pc = PathChoice(
                tuple(self.tmap.names(p) for p in dec.paths), tuple(float(x) for x in dec.split)
            )
            w = view.demand_pps.get((igw, svc.service_id), 0.0) + 1.0
            splits.setdefault((igw, site.site_id), []).append((pc, w))
        d.path_split.update(merge_splits(splits, view.paths))


class GnnDqnPolicy:
    """GNN+DQN through the RLMS-CPN policy interface (the Q-network's greedy action)."""

    name = "GNN+DQN"

    def __init__(self, net: Any, topology: Topology, min_split: float = 0.05) -> None:
        from agents.rlmscpn.policy import _Scheduler

        self.net = net.eval()
        cfg = net.cfg
        self.sched = _Scheduler(topology, cfg.n_candidates, cfg.k_paths, min_split)

    def decide(self, request: Any, state: Any) -> Any:
        import torch

        from agents.rlmscpn.baselines import distinct_mask
        from agents.rlmscpn.features import snapshot_features
        from agents.rlmscpn.policy import RlmsCpnPolicy

        snap, devices = RlmsCpnPolicy.snapshot(self, request, state)  # type: ignore[arg-type]
        nodes, paths = snapshot_features(snap)
        with torch.inference_mode():
            q = self.net(torch.from_numpy(nodes)[None], torch.from_numpy(paths)[None])[0]
        i, mode = divmod(int(q.reshape(-1).argmax()), q.shape[1])
        node = int(snap.candidates[i])
        node_paths, _ = self.sched.paths(request.access_point, node)
        k = len(node_paths)
        if mode < k:
            split = np.eye(k)[mode]
        else:
            m = distinct_mask(node_paths).astype(float)
            split = m / m.sum()
        return self.sched.decision(
            request.access_point, node, devices[i], split, snap.candidates, snap.pred_ms[i]
        )


class OrchestrationAdapter(SchedulerAdapter):
    """MAPPO / IPPO / greedy: the site (computing domain) that serves each (gateway, service).

    A policy trained for ``n`` domains sees site ``j`` in domain ``j mod n``; a domain without a
    site is shown full (it never fits a task), one with several sums them and hands the task to
    its least-utilised candidate site."""

    STORAGE_TB = 200.0

    def __init__(self, policy: Any, net: NetworkDescription, name: str) -> None:
        super().__init__(net)
        self.policy = policy
        self.name = name
        if not net.sites:
            raise ValueError(f"{name}: network {net.name!r} has no site")
        n = getattr(getattr(policy, "config", None), "n_domains", None) or len(net.sites)
        self.groups = [[s for i, s in enumerate(net.sites) if i % n == j] for j in range(n)]

    def _site_state(self, view: ControlView, site: SiteDesc) -> tuple[np.ndarray, np.ndarray]:
        cores = max(sum(n.capacity_tflops for n in site.nodes), 1e-6)
        util = [
            view.node_load.get((site.site_id, n.node_id), NodeLoad()).utilisation
            for n in site.nodes
        ]
        egw = site.egress_gateway
        rate = sum(lk.rate_bps for lk in view.net.links if egw in (lk.a, lk.b)) / 1e9 or 1.0
        busy = [u for (_, b), u in view.link_utilisation.items() if b == egw]
        cap = np.array([cores, self.STORAGE_TB, rate])
        use = np.array(
            [
                cores * (float(np.mean(util)) if util else 0.0),
                0.0,
                rate * (float(np.mean(busy)) if busy else 0.0),
            ]
        )
        return cap, use

    def _cluster(self, view: ControlView, used: dict[int, np.ndarray]):
        from agents.detcom.orchestration.policy import ClusterState, DomainState

        states = {s.site_id: self._site_state(view, s) for s in view.net.sites}
        mean_cap = np.mean([c for c, _ in states.values()], axis=0)
        doms = []
        for group in self.groups:
            if not group:
                doms.append(DomainState(tuple(mean_cap), flow_used=tuple(mean_cap)))
                continue
            cap = sum(states[s.site_id][0] for s in group)
            use = sum(states[s.site_id][1] + used.get(s.site_id, 0.0) for s in group)
            doms.append(DomainState(tuple(cap), flow_used=tuple(np.minimum(use, cap))))
        return ClusterState(tuple(doms))

    def decide_sites(self, view: ControlView, d: Decisions) -> None:
        from agents.detcom.orchestration.policy import TaskRequest

        used: dict[int, np.ndarray] = {}
        splits: dict[tuple[str, int], list[tuple[PathChoice, float]]] = {}
        for igw, svc in _by_demand(view):
            pps = view.demand_pps.get((igw, svc.service_id), 0.0)
            task = TaskRequest(
                cores=svc.cores,
                storage_tb=1.0,
                bandwidth_gbps=max(pps * svc.data_mb * 8e-3, 1e-3),
                duration_slots=10.0,
                tolerance_slots=20.0,
                stage="inference",
            )
            live = self.candidate_sites(view, svc, igw)
            if not live:
                self.unserve(view, d, igw, svc)
                continue
            dec = self.policy.decide(task, self._cluster(view, used))
            cands = {s.site_id for s in live}
            site_id = svc.site_id if svc.site_id in cands else live[0].site_id
            if dec.domain is not None:
                members = [s for s in self.groups[dec.domain] if s.site_id in cands]
                if members:
                    pick = min(members, key=lambda s: (self._site_state(view, s)[1][0], s.site_id))
                    site_id = pick.site_id
                    grant = np.array([dec.cores, dec.storage_tb, dec.bandwidth_gbps])
                    used[site_id] = used.get(site_id, 0.0) + grant
            site = self.place(view, d, igw, svc, site_id)
            if site is not None:
                splits.setdefault((igw, site_id), []).append((self.route(view, igw, site), 1.0))
        d.path_split.update(merge_splits(splits, view.paths))


class TransportAdapter(SchedulerAdapter):
    """D3QN / DQN / DDQN / SA: a cycle offset per deterministic flow (sites: ``sites`` adapter's,
    or the registered ones)."""

    def __init__(
        self, policy: Any, net: NetworkDescription, name: str, sites: SchedulerAdapter | None = None
    ):
        super().__init__(net, sites.topology if sites else None)
        self.policy, self.name, self.sites = policy, name, sites

    def decide_sites(self, view: ControlView, d: Decisions) -> None:
        (self.sites or SchedulerAdapter(self.net)).decide_sites(view, d)

    def _deadline(self, view: ControlView, f: DetFlow) -> float:
        if f.deadline_us > 0:
            return f.deadline_us
        svc = next((s for s in view.services if s.service_id == f.service_id), None)
        return float(svc.deadline_us) if svc and svc.deadline_us else 0.0

    def _dst_site(self, view: ControlView, d: Decisions, f: DetFlow) -> int:
        site = d.service_site.get((f.igw, f.service_id))
        if site is None:
            local = [s.site_id for s in view.net.sites if s.egress_gateway == f.igw]
            svc = next((s for s in view.services if s.service_id == f.service_id), None)
            return local[0] if local else (svc.site_id if svc else 0)
        return site

    def decide_offsets(self, view: ControlView, d: Decisions) -> None:
        if not view.flows:
            return
        if self.policy is None:
            d.flow_offsets.update(self._anneal(view, d))
            return
        from agents.detcom.transport.policy import FlowRequest, TransportState

        n = self.policy.cfg.n_domains
        igws = [s.name for s in view.net.ingress_gateways]
        sites = [s.site_id for s in view.net.sites]
        reqs, states = [], []
        for i, f in enumerate(view.flows):
            site = self._dst_site(view, d, f)
            dl = self._deadline(view, f) or 10 * self.policy.model.T_us
            util = [ld.utilisation for (s, _), ld in view.node_load.items() if s == site]
            reqs.append(
                FlowRequest(
                    src=igws.index(f.igw) % n if f.igw in igws else 0,
                    dst=sites.index(site) % n if site in sites else 0,
                    deadline_us=dl,
                    utilisation=float(min(1.0, max(0.0, np.mean(util)))) if util else 0.0,
                )
            )
            states.append(
                TransportState(
                    queue_frames=view.cqf_free_frames.get((f.igw, site), (10.0, 10.0)),
                    pending=len(view.flows) - i - 1,
                )
            )
        for f, dec in zip(view.flows, self.policy.decide_batch(reqs, states), strict=True):
            d.flow_offsets[(f.src_prefix, f.flow_label)] = int(dec.cycle_offset)

    def _anneal(self, view: ControlView, d: Decisions, sweeps: int = 200, seed: int = 0):
        """Seeded SA over offsets: minimise, over the CQF ports the flows cross, the imbalance
        of bytes between the two queues, plus a large penalty for a missed deadline."""
        cqf = set(map(tuple, view.net.cqf.ports))
        cycle = max(1, view.net.cqf.cycle_us)
        flows = view.flows
        ports: list[list[tuple[str, int]]] = []
        slack: list[int] = []
        for f in flows:
            site = view.net.site(self._dst_site(view, d, f))
            pc = d.path_split.get((f.igw, site.site_id))
            path = pc.paths[0] if pc else (f.igw,)
            hops = [
                (a, view.net.switch(a).port_to(b).number)
                for a, b in zip(path, path[1:], strict=False)
            ]
            ports.append([h for h in hops if h in cqf])
            dl = self._deadline(view, f)
            slack.append(int(dl // cycle) - (len(ports[-1]) + 1) if dl else 1)

        def cost(x: list[int]) -> float:
            load: dict[tuple[tuple[str, int], int], float] = {}
            for i, f in enumerate(flows):
                par = (f.phase + 1 + x[i]) % 2
                for p in ports[i]:
                    load[(p, par)] = load.get((p, par), 0.0) + f.bytes_per_cycle
            imb = sum(
                abs(load.get((p, 0), 0.0) - load.get((p, 1), 0.0)) for p in {p for p, _ in load}
            )
            late = sum(1 for i in range(len(flows)) if x[i] > max(slack[i], 0))
            return imb + 1e9 * late

        rng = random.Random(seed)
        x = [0] * len(flows)
        cur = best = cost(x)
        best_x = list(x)
        t0 = max(1.0, float(max((f.bytes_per_cycle for f in flows), default=1)))
        for step in range(sweeps * len(flows)):
            temp = t0 * (1e-3 ** (step / max(1, sweeps * len(flows) - 1)))
            i = rng.randrange(len(flows))
            x[i] ^= 1
            c = cost(x)
            if c <= cur or rng.random() < math.exp((cur - c) / temp):
                cur = c
                if c < best:
                    best, best_x = c, list(x)
            else:
                x[i] ^= 1
        return {(f.src_prefix, f.flow_label): best_x[i] for i, f in enumerate(flows)}


# -------------------------------------------------------------------------------- loading
def _sidecar(path: Path) -> tuple[Path, dict]:
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    side = stem.with_suffix(".json")
    if not side.is_file():
        raise FileNotFoundError(f"no checkpoint sidecar {side}")
    return stem, json.loads(side.read_text())


def _find_rlms(kind: str, encoder: str | None, net_topo: Topology) -> Path:
    from agents.rlmscpn.policy import topology_fingerprint
    from agents.rlmscpn.scenario import SHIPPED_POLICY_DIR, cache_dir

    fp = topology_fingerprint(net_topo)
    seen = []
    for d in (SHIPPED_POLICY_DIR, cache_dir()):
        for side in sorted(d.glob("*.json")) if d.is_dir() else []:
            try:
                cfg = json.loads(side.read_text())["config"]
            except (ValueError, KeyError):
                continue
            if cfg.get("kind") != kind or (encoder and cfg["model"].get("encoder") != encoder):
                continue
            if cfg.get("variant") not in (None, "syncgnn", "mlp", "dqn"):
                continue
            topo = cfg.get("topology", {})
            seen.append(f"{side.stem} ({topo.get('describe')})")
            if topo.get("fingerprint") == fp and side.with_suffix(".safetensors").is_file():
                return side.with_suffix("")
    raise ValueError(
        f"no trained {kind} policy for {net_topo.describe()} (fingerprint {fp}); found: "
        f"{', '.join(seen) or 'none'}. Use a baseline (base1..base4) on this network, or train "
        "one: python -m agents.rlmscpn train --topology FILE"
    )


def _rlms_topology(
    meta: dict, net: NetworkDescription, topology: Topology | None, path: Path
) -> Topology:
    """The checkpoint's own topology when the network has its link set, else a clear error."""
    from agents.rlmscpn.policy import topology_fingerprint
    from agents.rlmscpn.scenario import resolve_topology

    net_topo = topology or net_topology(net)
    want = meta["config"]["topology"]
    if topology_fingerprint(net_topo) != want.get("fingerprint"):
        raise ValueError(
            f"{path.name}: trained on {want.get('describe')}, but network {net.name!r} is "
            f"{net_topo.describe()}: a different topology. Use a baseline (base1..base4), or "
            "train a policy for it (python -m agents.rlmscpn train --topology FILE)"
        )
    if topology is not None:
        return topology
    try:
        return resolve_topology(want["spec"])
    except (OSError, ValueError, KeyError):
        return net_topo


def _load_rlms(
    stem: Path, meta: dict, net: NetworkDescription, topology: Topology | None, name: str
) -> RlmsAdapter:
    from agents.common.checkpoint import load_checkpoint
    from agents.rlmscpn.policy import RlmsCpnPolicy

    topo = _rlms_topology(meta, net, topology, stem)
    if meta["config"].get("kind") == "dqn":
        from agents.rlmscpn.dqn import GnnQNetwork
        from agents.rlmscpn.model import ModelConfig

        state, _ = load_checkpoint(stem)
        qnet = GnnQNetwork(ModelConfig(**meta["config"]["model"]))
        qnet.load_state_dict(state)
        pol: Any = GnnDqnPolicy(qnet, topo, meta["config"]["sim"].get("min_split", 0.05))
    else:
        pol = RlmsCpnPolicy.load(stem, topology=topo)
    return RlmsAdapter(pol, net, topo, name)
