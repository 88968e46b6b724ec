"""The RLMS-CPN policy interface: a task at an access point + network state -> a decision.

The control plane fills plain dataclasses from its telemetry (node ids, device names, numbers):

>>> policy = RlmsCpnPolicy.load("agents/rlmscpn/policies/abilene")
>>> state = NetworkState(compute=[ComputeNodeState(1, "1080ti_1", backlog_ms=3.0), ...],
...                      link_available_mbps={(7, 4): 8000.0, ...}, link_delay_ms={...})
>>> d = policy.decide(TaskRequest(access_point=7, arch="|nor_conv_3x3~0|+|...|", data_mb=2.0), state)
>>> d.node, d.paths, d.split        # 3, [[7, 9, 3], [7, 4, 6, 3]], [0.7, 0.3]

Decisions are deterministic (the actors' modes). Candidate filtering, paths and features are the
simulator's own code, so the policy sees in deployment what it saw in training. The paper's
baselines answer through the same interface (:class:`BaselinePolicy`), so a controller can swap
schedulers without changing anything else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

import numpy as np
import torch

from agents.common.checkpoint import load_checkpoint
from agents.latency.devices import device_kind
from agents.latency.nb201 import Cell, parse_arch
from agents.rlmscpn.baselines import distinct_mask, ecmp_split, min_max_utilisation_split
from agents.rlmscpn.compute import _predicted_table
from agents.rlmscpn.features import Snapshot, filter_candidates, snapshot_features
from agents.rlmscpn.model import ActorCritic, ModelConfig, NumpySyncGNNActor
from topo.graph import Topology

POLICY_DIR = Path(__file__).with_name("policies")


# ---------------------------------------------------------------------------- dataclasses
@dataclass
class TaskRequest:
    """An AI task arriving at an access point (a switch node id)."""

    access_point: int
    arch: str | Sequence[int]  # NB201 arch string, or 6 op indices
    data_mb: float
    rounds: int = 1  # number of transfers of ``data_mb`` (IO-bound tasks)
    task_id: int | None = None


@dataclass
class ComputeNodeState:
    node: int
    device: str  # a device name of agents.latency.devices (e.g. "2080ti_1")
    backlog_ms: float = 0.0  # work queued ahead of a new task


@dataclass
class NetworkState:
    """Telemetry. Link values are dicts keyed by (u, v) or arrays in ``Topology.links`` order;
    missing links default to their capacity (available) and propagation delay (delay)."""

    compute: list[ComputeNodeState]
    link_available_mbps: Mapping[tuple[int, int], float] | np.ndarray | None = None
    link_delay_ms: Mapping[tuple[int, int], float] | np.ndarray | None = None
    path_delay_ms: Mapping[tuple[int, ...], float] | None = None  # probe results per node path
    link_load_mbps: Mapping[tuple[int, int], float] | np.ndarray | None = None  # for LP baselines


@dataclass
class SchedulingDecision:
    node: int
    device: str
    paths: list[list[int]]  # node paths from the access point, each used with share > 0
    split: list[float]  # one ratio per path, summing to 1
    candidates: list[int] = field(default_factory=list)
    predicted_compute_ms: float = float("nan")


# ---------------------------------------------------------------------------- shared logic
def topology_fingerprint(topology: Topology) -> str:
    h = hashlib.sha256(json.dumps(topology.links).encode()).hexdigest()
    return h[:16]


def _link_array(
    topology: Topology, values: Mapping | np.ndarray | None, default: np.ndarray
) -> np.ndarray:
    if values is None:
        return default
    if isinstance(values, np.ndarray):
        if values.shape != default.shape:
            raise ValueError(f"link array has shape {values.shape}, expected {default.shape}")
        return values.astype(float)
    out = default.copy()
    index = topology.link_index
    for link, v in values.items():
        key = (int(link[0]), int(link[1]))
        if key not in index:
            raise KeyError(f"no link {key} in {topology.name}")
        out[index[key]] = float(v)
    return out


@lru_cache(maxsize=4096)
def _arch_code(arch: str) -> int:
    return parse_arch(arch).code


@lru_cache(maxsize=256)
def _kind(device: str) -> str:
    return device_kind(device)


def _cell_code(arch: str | Sequence[int]) -> int:
    if isinstance(arch, str):
        return _arch_code(arch)
    return Cell(tuple(int(o) for o in arch)).code


@lru_cache(maxsize=8)
def _prediction_matrix(devices: tuple[str, ...]) -> np.ndarray:
    """Predicted latency [cells, nodes] for a list of node devices (one table per device)."""
    return np.stack([_predicted_table(d)[0] for d in devices], axis=1).astype(np.float64)


class _Scheduler:
    """Topology-bound helpers shared by learned and baseline policies."""

    def __init__(self, topology: Topology, n_candidates: int, k_paths: int, min_split: float):
        self.topology = topology
        self.n_candidates, self.k_paths, self.min_split = n_candidates, k_paths, min_split
        self._dist: dict[int, tuple[dict[int, int], dict[int, float]]] = {}
        self._paths: dict[tuple[int, int], tuple[list[list[int]], list[np.ndarray]]] = {}

    def distances(self, ap: int) -> tuple[dict[int, int], dict[int, float]]:
        if ap not in self._dist:
            import networkx as nx

            if ap not in self.topology.graph:
                raise KeyError(f"access point {ap} is not a node of {self.topology.name}")
            g = self.topology.graph
            self._dist[ap] = (
                nx.single_source_shortest_path_length(g, ap),
                nx.single_source_dijkstra_path_length(g, ap, weight="delay_ms"),
            )
        return self._dist[ap]

    def paths(self, ap: int, node: int) -> tuple[list[list[int]], list[np.ndarray]]:
        key = (ap, node)
        if key not in self._paths:
            ps = self.topology.k_shortest_paths(ap, node, self.k_paths) if ap != node else [[ap]]
            if not ps:
                raise ValueError(f"no path from {ap} to {node}")
            while len(ps) < self.k_paths:
                ps.append(list(ps[-1]))
            self._paths[key] = (ps, [self.topology.path_links(p) for p in ps])
        return self._paths[key]

    def predicted(self, code: int, devices: Sequence[str]) -> np.ndarray:
        return _prediction_matrix(tuple(devices))[code]

    def node_arrays(self, request: TaskRequest, state: NetworkState):
        if not state.compute:
            raise ValueError("network state lists no compute nodes")
        code = _cell_code(request.arch)
        nodes = np.array([c.node for c in state.compute], dtype=np.int64)
        devices = [c.device for c in state.compute]
        pred = self.predicted(code, devices)
        backlog = np.array([max(0.0, c.backlog_ms) for c in state.compute])
        hops_d, dist_d = self.distances(request.access_point)
        missing = [int(v) for v in nodes if int(v) not in hops_d]
        if missing:
            raise KeyError(f"compute nodes {missing} unreachable from {request.access_point}")
        hops = np.array([hops_d[int(v)] for v in nodes], dtype=float)
        dist = np.array([dist_d[int(v)] for v in nodes], dtype=float)
        return nodes, devices, pred, backlog, hops, dist

    def normalise(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        x = np.where(np.isfinite(x) & (x > 0), x, 0.0)
        total = x.sum()
        x = x / total if total > 0 else np.full(len(x), 1.0 / len(x))
        keep = x >= self.min_split
        if not keep.any():
            keep[np.argmax(x)] = True
        x = np.where(keep, x, 0.0)
        return x / x.sum()

    def decision(self, ap, node, device, split, candidates, pred) -> SchedulingDecision:
        node_paths, _ = self.paths(ap, node)
        x = self.normalise(split)
        merged: dict[tuple[int, ...], float] = {}
        for p, share in zip(node_paths, x.tolist(), strict=True):
            if share > 0:
                merged[tuple(p)] = merged.get(tuple(p), 0.0) + share
        return SchedulingDecision(
            node=int(node),
            device=device,
            paths=[list(p) for p in merged],
            split=list(merged.values()),
            candidates=[int(c) for c in candidates],
            predicted_compute_ms=float(pred),
        )


def build_snapshot(
    s: _Scheduler, request: TaskRequest, state: NetworkState
) -> tuple[Snapshot, list[str]]:
    """What a scheduler sees of one task: filtered candidates, predictions, probed paths."""
    nodes, devices, pred, backlog, hops, dist = s.node_arrays(request, state)
    kinds = np.array([_kind(d) for d in devices])
    idx = filter_candidates(nodes, kinds, pred, hops, dist, s.n_candidates)
    if len(idx) < s.n_candidates:
        idx = np.concatenate([idx, np.repeat(idx[-1:], s.n_candidates - len(idx))])
    topo = s.topology
    avail = _link_array(topo, state.link_available_mbps, topo.capacity_mbps)
    delay = _link_array(topo, state.link_delay_ms, topo.delay_ms)
    k = s.k_paths
    p_delay = np.zeros((len(idx), k))
    p_avail = np.zeros((len(idx), k))
    p_hops = np.zeros((len(idx), k))
    probes = state.path_delay_ms or {}
    for r, i in enumerate(idx.tolist()):
        node_paths, links = s.paths(request.access_point, int(nodes[i]))
        for j, (p, lk) in enumerate(zip(node_paths, links, strict=True)):
            p_hops[r, j] = len(lk)
            probed = probes.get(tuple(p))
            p_delay[r, j] = float(probed) if probed is not None else float(delay[lk].sum())
            p_avail[r, j] = float(avail[lk].min()) if len(lk) else float(avail.max())
    snap = Snapshot(
        access_point=request.access_point,
        candidates=nodes[idx],
        pred_ms=pred[idx],
        backlog_ms=backlog[idx],
        node_hops=hops[idx],
        path_delay_ms=p_delay,
        path_available_mbps=p_avail,
        path_hops=p_hops,
        data_mb=float(request.data_mb),
        rounds=int(request.rounds),
    )
    return snap, [devices[i] for i in idx.tolist()]


# ---------------------------------------------------------------------------- learned policy
class RlmsCpnPolicy:
    """A trained SyncGNN (or MLP-ablation) actor-critic bound to its topology."""

    name = "rlmscpn"

    def __init__(
        self,
        model: ActorCritic,
        topology: Topology,
        min_split: float = 0.05,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.model = model.eval()
        self.meta = dict(meta or {})
        cfg = model.cfg
        self.sched = _Scheduler(topology, cfg.n_candidates, cfg.k_paths, min_split)
        self.name = f"rlmscpn-{cfg.encoder}"
        self._fast = NumpySyncGNNActor(model) if cfg.encoder == "syncgnn" else None

    @property
    def topology(self) -> Topology:
        return self.sched.topology

    @classmethod
    def load(
        cls, path: str | Path, topology: Topology | None = None, data_dir: str | Path | None = None
    ) -> Self:
        """Load a checkpoint written by ``python -m agents.rlmscpn train``.

        Without ``topology`` the one recorded in the sidecar is rebuilt (built-in or paper
        topology, or the recorded file); either way its link set must match the training one.
        """
        state_dict, meta = load_checkpoint(path)
        config = meta["config"]
        mc = ModelConfig(**config["model"])
        model = ActorCritic(mc)
        model.load_state_dict(state_dict)
        if topology is None:
            from agents.rlmscpn.scenario import resolve_topology

            topology = resolve_topology(config["topology"]["spec"], data_dir)
        want = config["topology"].get("fingerprint")
        if want and topology_fingerprint(topology) != want:
            raise ValueError(
                f"{path}: trained on {config['topology'].get('describe')}, "
                f"not on {topology.describe()}"
            )
        return cls(model, topology, config["sim"].get("min_split", 0.05), meta)

    def snapshot(self, request: TaskRequest, state: NetworkState) -> tuple[Snapshot, list[str]]:
        return build_snapshot(self.sched, request, state)

    def decide_snapshot(self, snap: Snapshot) -> tuple[int, np.ndarray]:
        """(candidate index, split over its k paths) for a prepared snapshot."""
        node_x, path_x = snapshot_features(snap)
        if self._fast is not None:
            i, split, _ = self._fast.decide(node_x.astype(np.float64), path_x.astype(np.float64))
            return i, split
        with torch.inference_mode():
            logits, conc, _ = self.model(
                torch.from_numpy(node_x)[None], torch.from_numpy(path_x)[None]
            )
        i = int(logits[0].argmax())
        alpha = conc[0, i].numpy().astype(float)
        return i, alpha / alpha.sum()

    def decide(self, request: TaskRequest, state: NetworkState) -> SchedulingDecision:
        if request.data_mb <= 0 or request.rounds < 1:
            raise ValueError("data_mb must be positive and rounds at least 1")
        snap, devices = self.snapshot(request, state)
        i, split = self.decide_snapshot(snap)
        return self.sched.decision(
            request.access_point,
            int(snap.candidates[i]),
            devices[i],
            split,
            snap.candidates,
            snap.pred_ms[i],
        )


# ---------------------------------------------------------------------------- baselines
class BaselinePolicy:
    """Base1-4 of the paper through the same interface (no checkpoint needed)."""

    RULES = {
        "Base1": ("fastest", "ecmp"),
        "Base2": ("nearest", "ecmp"),
        "Base3": ("fastest", "lp"),
        "Base4": ("nearest", "lp"),
    }

    def __init__(
        self,
        name: str,
        topology: Topology,
        k_paths: int = 3,
        lp_window_ms: float = 20.0,
        min_split: float = 0.05,
    ) -> None:
        if name not in self.RULES:
            raise KeyError(f"unknown baseline {name!r}; known: {', '.join(self.RULES)}")
        self.name = name
        self.node_rule, self.split_rule = self.RULES[name]
        self.lp_window_ms = lp_window_ms
        self.sched = _Scheduler(topology, 1, k_paths, min_split)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """``path`` is a JSON file ``{"name": "Base3", "topology": SPEC, "lp_window_ms": 20}``."""
        from agents.rlmscpn.scenario import resolve_topology

        d = json.loads(Path(path).read_text())
        topo = resolve_topology(d["topology"])
        return cls(d["name"], topo, d.get("k_paths", 3), d.get("lp_window_ms", 20.0))

    def decide(self, request: TaskRequest, state: NetworkState) -> SchedulingDecision:
        s = self.sched
        nodes, devices, pred, backlog, hops, dist = s.node_arrays(request, state)
        if self.node_rule == "fastest":
            i = int(np.lexsort((nodes, pred + backlog))[0])
        else:
            i = int(np.lexsort((nodes, hops, dist))[0])
        node_paths, links = s.paths(request.access_point, int(nodes[i]))
        if self.split_rule == "ecmp":
            split = ecmp_split(node_paths)
        else:
            topo = s.topology
            if state.link_load_mbps is not None:
                load = _link_array(topo, state.link_load_mbps, np.zeros(topo.n_links))
            else:
                avail = _link_array(topo, state.link_available_mbps, topo.capacity_mbps)
                load = np.maximum(topo.capacity_mbps - avail, 0.0)
            demand = request.data_mb * 8.0 / (self.lp_window_ms / 1000.0)
            split, _ = min_max_utilisation_split(links, topo.capacity_mbps, load, demand)
        split = np.where(distinct_mask(node_paths), split, 0.0)
        return s.decision(
            request.access_point, int(nodes[i]), devices[i], split, [nodes[i]], pred[i]
        )


class PredictAndPickPolicy:
    """The information-matched heuristic (:class:`agents.rlmscpn.baselines.PredictAndPick`)
    through the same interface: RLMS-CPN's candidates and features, the LP split per
    candidate, the lowest predicted response time."""

    name = "predict-and-pick"

    def __init__(
        self,
        topology: Topology,
        n_candidates: int = 5,
        k_paths: int = 3,
        lp_window_ms: float = 20.0,
        min_split: float = 0.05,
    ) -> None:
        self.lp_window_ms = lp_window_ms
        self.sched = _Scheduler(topology, n_candidates, k_paths, min_split)

    def decide(self, request: TaskRequest, state: NetworkState) -> SchedulingDecision:
        from agents.rlmscpn.baselines import pick

        if request.data_mb <= 0 or request.rounds < 1:
            raise ValueError("data_mb must be positive and rounds at least 1")
        s, topo = self.sched, self.sched.topology
        snap, devices = build_snapshot(s, request, state)
        if state.link_load_mbps is not None:
            load = _link_array(topo, state.link_load_mbps, np.zeros(topo.n_links))
        else:
            avail = _link_array(topo, state.link_available_mbps, topo.capacity_mbps)
            load = np.maximum(topo.capacity_mbps - avail, 0.0)
        demand = request.data_mb * 8.0 / (self.lp_window_ms / 1000.0)
        splits = np.stack(
            [
                s.normalise(
                    min_max_utilisation_split(
                        s.paths(request.access_point, int(v))[1], topo.capacity_mbps, load, demand
                    )[0]
                )
                for v in snap.candidates.tolist()
            ]
        )
        i = pick(snap, splits)
        return s.decision(
            request.access_point,
            int(snap.candidates[i]),
            devices[i],
            splits[i],
            snap.candidates,
            snap.pred_ms[i],
        )
