"""The compute-network simulator: tasks, compute nodes, links; one decision per task.

A :class:`ComputeNetworkSim` places 2-4 access points and heterogeneous compute nodes on a
topology, generates a seeded task sequence (Poisson arrivals at the access points, a uniformly
drawn NB201 cell, a log-uniform data size), and for each task answers:

- ``snapshot()``: candidate filtering, predicted latencies, backlogs, probed paths;
- ``execute(node, split)``: the task's response latency = transfer time (largest over the paths
  it was split across, with the links' background and task traffic) + waiting behind earlier
  tasks on the node + its true compute latency; the network then moves on to the next arrival.

The same ``seed`` gives the same tasks, arrival times, compute-noise draws and background
timeline whatever the decisions, so every method is scored on the same task set.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from agents.latency.nb201 import N_CELLS, params
from agents.rlmscpn.compute import ComputeLatency
from agents.rlmscpn.config import SimConfig
from agents.rlmscpn.features import Snapshot, filter_candidates
from agents.rlmscpn.network import LinkNetwork, PathBundle
from topo.graph import Topology
from topo.traffic import gravity_tm, load_abilene_tm


@dataclass
class Task:
    index: int
    arrival_ms: float
    access_point: int
    cell: int  # NB201 cell code (agents.latency.nb201.Cell.code)
    data_mb: float
    rounds: int = 1
    noise_z: float = 0.0  # standard-normal draw for compute measurement noise


@dataclass
class Outcome:
    response_ms: float
    transfer_ms: float
    wait_ms: float
    compute_ms: float
    node: int
    split: np.ndarray
    path_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _kind_order(kinds: dict[str, float]) -> list[str]:
    return sorted(kinds)


class ComputeNetworkSim:
    """Simulated compute network on one topology (see module docstring)."""

    def __init__(
        self,
        topology: Topology,
        cfg: SimConfig | None = None,
        seed: int = 0,
        *,
        measured_csv: str | Path | None = None,
        predictions: str = "tsft",
    ) -> None:
        self.topology = topology
        self.cfg = cfg or SimConfig()
        if not topology.is_connected():
            raise ValueError(f"{topology.describe()} is not strongly connected")
        self.placement_seed = seed
        rng = np.random.default_rng([seed, 0])
        self._place(rng)
        self.compute = ComputeLatency(
            self.device_names,
            measured_csv=measured_csv,
            noise=self.cfg.compute_noise,
            predictions=predictions,
        )
        self._build_links(rng)
        self._paths: dict[tuple[int, int], tuple[list[list[int]], list[np.ndarray]]] = {}
        self._ap_info = {ap: self._distances(ap) for ap in self.access_points}
        self.tasks: list[Task] = []
        self.reset(seed)

    # ------------------------------------------------------------------ set-up
    def _place(self, rng: np.random.Generator) -> None:
        cfg, n = self.cfg, self.topology.n_nodes
        if cfg.access_points is not None:
            aps = list(cfg.access_points)
        else:
            n_ap = int(rng.integers(cfg.n_access_min, cfg.n_access_max + 1))
            aps = sorted(rng.choice(n, size=min(n_ap, n - 1), replace=False).tolist())
        if any(not 0 <= a < n for a in aps):
            raise ValueError(f"access points {aps} outside 0..{n - 1}")
        self.access_points = tuple(int(a) for a in aps)
        if cfg.devices is not None:
            devices = {int(k): v for k, v in cfg.devices.items()}
        else:
            others = [v for v in range(n) if v not in self.access_points]
            if len(others) > cfg.max_compute_nodes:
                others = sorted(rng.choice(others, cfg.max_compute_nodes, replace=False).tolist())
            kinds = _kind_order(cfg.kind_mix)
            probs = np.array([cfg.kind_mix[k] for k in kinds], dtype=float)
            devices = {}
            for v in others:
                kind = kinds[int(rng.choice(len(kinds), p=probs / probs.sum()))]
                pool = cfg.device_pool[kind]
                devices[int(v)] = str(pool[int(rng.integers(len(pool)))])
        if not devices:
            raise ValueError("no compute nodes")
        self.compute_nodes = np.array(sorted(devices), dtype=np.int64)
        self.device_names = tuple(sorted(set(devices.values())))
        self.node_device = np.array(
            [self.device_names.index(devices[v]) for v in self.compute_nodes], dtype=np.int64
        )
        self.devices = devices

    def _build_links(self, rng: np.random.Generator) -> None:
        topo, cfg = self.topology, self.cfg
        cap = topo.capacity_mbps.copy()
        if topo.capacity_is_relative:
            cap *= cfg.relative_capacity_median_mbps / float(np.median(cap))
        tm, endpoints = self._traffic_matrices(rng)
        routing = self._routing_matrix(endpoints)
        n_e = len(endpoints)
        flat = tm.reshape(len(tm), n_e * n_e)
        loads = (
            np.asarray((sp.csr_matrix(flat) @ routing).todense())
            if sp.issparse(routing)
            else flat @ routing
        )
        mlu = float((loads / cap).max(axis=1).mean())
        scale = cfg.background_mlu / mlu if mlu > 0 else 0.0
        self.background_scale = scale
        self.network = LinkNetwork(cap, topo.delay_ms, (loads * scale).astype(np.float32), cfg)

    def _traffic_matrices(self, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
        cfg, topo = self.cfg, self.topology
        if cfg.traffic_matrix_file:
            tm = load_abilene_tm(cfg.traffic_matrix_file, n_nodes=topo.n_nodes)
            self.background_source = f"traffic matrices {Path(cfg.traffic_matrix_file).name}"
            return tm, list(range(topo.n_nodes))
        seed = int(rng.integers(2**31))
        full = gravity_tm(topo, cfg.gravity_intervals, seed=seed, total_mbps=1.0)
        n = topo.n_nodes
        if n > cfg.max_background_endpoints:
            weight = full.mean(axis=0).sum(axis=1)
            p = weight / weight.sum()
            picked = rng.choice(n, size=cfg.max_background_endpoints, replace=False, p=p)
            endpoints = sorted(picked.tolist())
            full = full[:, endpoints][:, :, endpoints]
        else:
            endpoints = list(range(n))
        self.background_source = f"gravity model (seed {seed}, {len(endpoints)} endpoints)"
        return full, endpoints

    def _routing_matrix(self, endpoints: list[int]) -> sp.csr_matrix:
        topo = self.topology
        n_e = len(endpoints)
        rows, cols = [], []
        for a, s in enumerate(endpoints):
            paths = nx.single_source_dijkstra_path(topo.graph, s, weight="weight")
            for b, d in enumerate(endpoints):
                if s == d or d not in paths:
                    continue
                links = topo.path_links(paths[d])
                rows.extend([a * n_e + b] * len(links))
                cols.extend(links.tolist())
        data = np.ones(len(rows))
        return sp.csr_matrix((data, (rows, cols)), shape=(n_e * n_e, topo.n_links))

    def _distances(self, ap: int) -> tuple[np.ndarray, np.ndarray]:
        """(hop count, propagation ms) of the shortest path from ``ap`` to each compute node."""
        hops = nx.single_source_shortest_path_length(self.topology.graph, ap)
        dist = nx.single_source_dijkstra_path_length(self.topology.graph, ap, weight="delay_ms")
        h = np.array([hops[v] for v in self.compute_nodes.tolist()], dtype=float)
        d = np.array([dist[v] for v in self.compute_nodes.tolist()], dtype=float)
        return h, d

    # ------------------------------------------------------------------ paths
    def paths(self, ap: int, node: int) -> tuple[list[list[int]], list[np.ndarray]]:
        """The k candidate paths (node lists, link arrays) from ``ap`` to ``node``.

        The k shortest loop-free paths by routing weight; when fewer exist the last one repeats
        (splitting over copies of a path gains nothing, as it should).
        """
        key = (ap, node)
        if key not in self._paths:
            k = self.cfg.k_paths
            node_paths = self.topology.k_shortest_paths(ap, node, k) if ap != node else [[ap]]
            while len(node_paths) < k:
                node_paths.append(list(node_paths[-1]))
            links = [self.topology.path_links(p) for p in node_paths]
            self._paths[key] = (node_paths, links)
        return self._paths[key]

    def bundle(self, ap: int, nodes: np.ndarray) -> PathBundle:
        links = [lk for v in nodes.tolist() for lk in self.paths(ap, v)[1]]
        return PathBundle.from_lists(links)

    # ------------------------------------------------------------------ episodes
    def reset(self, seed: int, n_tasks: int | None = None, task_kind: str = "mixed", **kw) -> None:
        """Start an episode: fresh queues and flows, a new seeded task sequence."""
        self.episode_seed = seed
        self.tasks = self.generate_tasks(seed, n_tasks or self.cfg.episode_tasks, task_kind, **kw)
        trng = np.random.default_rng([seed, 7])
        span = len(self.network.background_series) * self.cfg.tm_interval_ms
        self.network.reset(float(trng.uniform(0, span)))
        self.busy_until = np.zeros(len(self.compute_nodes))
        self.probe_rng = np.random.default_rng([seed, 3])
        self.cursor = 0
        self.network.advance(self.tasks[0].arrival_ms)

    def generate_tasks(
        self,
        seed: int,
        n: int,
        task_kind: str = "mixed",
        io_data_mb: float = 1.0,
        io_rounds: int = 10,
        compute_quantile: float = 0.8,
    ) -> list[Task]:
        """A seeded task sequence: ``mixed`` (default), ``io`` or ``compute``-bound tasks."""
        cfg = self.cfg
        rng = np.random.default_rng([seed, 1])
        gaps = rng.exponential(cfg.interarrival_ms / len(self.access_points), size=n)
        arrivals = np.cumsum(gaps)
        aps = rng.choice(np.array(self.access_points), size=n)
        if task_kind == "compute":
            heavy = np.nonzero(_cell_params() >= np.quantile(_cell_params(), compute_quantile))[0]
            cells = rng.choice(heavy, size=n)
        else:
            cells = rng.integers(0, N_CELLS, size=n)
        lo, hi = np.log(cfg.data_mb_min), np.log(cfg.data_mb_max)
        data = np.exp(rng.uniform(lo, hi, size=n))
        rounds = np.ones(n, dtype=int)
        if task_kind == "io":
            data[:] = io_data_mb
            rounds[:] = io_rounds
        elif task_kind not in {"mixed", "compute"}:
            raise ValueError(f"task_kind must be mixed, io or compute, got {task_kind!r}")
        z = rng.standard_normal(n)
        return [
            Task(
                i,
                float(arrivals[i]),
                int(aps[i]),
                int(cells[i]),
                float(data[i]),
                int(rounds[i]),
                float(z[i]),
            )
            for i in range(n)
        ]

    @property
    def done(self) -> bool:
        return self.cursor >= len(self.tasks)

    @property
    def task(self) -> Task:
        return self.tasks[self.cursor]

    @property
    def now(self) -> float:
        return self.network.now

    # ------------------------------------------------------------------ state views
    def predicted_ms(self, task: Task) -> np.ndarray:
        """Predicted compute latency of ``task`` on every compute node [n_compute]."""
        return self.compute.predicted[task.cell][self.node_device].astype(float)

    def backlog_ms(self) -> np.ndarray:
        return np.maximum(self.busy_until - self.now, 0.0)

    def node_kinds(self) -> np.ndarray:
        return np.array([self.compute.kinds[d] for d in self.node_device.tolist()])

    def candidates(self, task: Task | None = None) -> np.ndarray:
        """Indices (into ``compute_nodes``) of the task's filtered candidates, padded to N."""
        task = task or self.task
        hops, dist = self._ap_info[task.access_point]
        idx = filter_candidates(
            self.compute_nodes,
            self.node_kinds(),
            self.predicted_ms(task),
            hops,
            dist,
            self.cfg.n_candidates,
        )
        if len(idx) < self.cfg.n_candidates:
            idx = np.concatenate([idx, np.repeat(idx[-1:], self.cfg.n_candidates - len(idx))])
        return idx

    def snapshot(self, cand: np.ndarray | None = None) -> Snapshot:
        """What the scheduler observes for the current task (probes consume probe noise)."""
        task = self.task
        cand = self.candidates(task) if cand is None else cand
        nodes = self.compute_nodes[cand]
        bundle = self.bundle(task.access_point, nodes)
        k = self.cfg.k_paths
        delay = self.network.probe_ms(bundle, self.probe_rng).reshape(len(cand), k)
        avail = self.network.path_available_mbps(bundle, self.probe_rng).reshape(len(cand), k)
        hops, _ = self._ap_info[task.access_point]
        return Snapshot(
            access_point=task.access_point,
            candidates=nodes,
            pred_ms=self.predicted_ms(task)[cand],
            backlog_ms=self.backlog_ms()[cand],
            node_hops=hops[cand],
            path_delay_ms=delay,
            path_available_mbps=avail,
            path_hops=bundle.hops.reshape(len(cand), k).astype(float),
            data_mb=task.data_mb,
            rounds=task.rounds,
        )

    # ------------------------------------------------------------------ acting
    def normalise_split(self, split: np.ndarray) -> np.ndarray:
        x = np.clip(np.nan_to_num(np.asarray(split, dtype=float), nan=0.0), 0.0, None)
        if x.sum() <= 0:
            x = np.ones_like(x)
        x = x / x.sum()
        keep = x >= self.cfg.min_split
        if not keep.any():
            keep[np.argmax(x)] = True
        x = np.where(keep, x, 0.0)
        return x / x.sum()

    def evaluate(self, node_idx: int, split: np.ndarray) -> Outcome:
        """The outcome of a decision without committing it (for diagnostics and oracles)."""
        return self._run(node_idx, split, commit=False)

    def execute(self, node_idx: int, split: np.ndarray) -> Outcome:
        """Carry out a decision for the current task and move to the next arrival."""
        out = self._run(node_idx, split, commit=True)
        self.cursor += 1
        if not self.done:
            self.network.advance(self.tasks[self.cursor].arrival_ms)
        return out

    def _run(self, node_idx: int, split: np.ndarray, commit: bool) -> Outcome:
        task = self.task
        node = int(self.compute_nodes[node_idx])
        _, links = self.paths(task.access_point, node)
        x = self.normalise_split(split)
        transfer, per_path = self.network.transfer_ms(
            links, x, task.data_mb, task.rounds, commit=commit
        )
        dev = int(self.node_device[node_idx])
        exec_ms = float(self.compute.true_table[task.cell, dev])
        std = float(self.compute.noise_std[dev])
        exec_ms = max(exec_ms + std * task.noise_z, float(self.compute.floor[dev]))
        arrive = self.now + transfer
        start = max(arrive, float(self.busy_until[node_idx]))
        if commit:
            self.busy_until[node_idx] = start + exec_ms
        wait = start - arrive
        return Outcome(transfer + wait + exec_ms, transfer, wait, exec_ms, node, x, per_path)

    def clone(self) -> ComputeNetworkSim:
        """An independent copy for a parallel episode; immutable parts (topology, latency tables,
        background series, path cache) are shared, per-episode state is copied."""
        twin = copy.copy(self)
        twin.network = copy.deepcopy(self.network)
        twin.busy_until = self.busy_until.copy()
        twin.tasks = list(self.tasks)
        twin.probe_rng = copy.deepcopy(self.probe_rng)
        return twin

    def node_index(self, node: int) -> int:
        hits = np.nonzero(self.compute_nodes == node)[0]
        if not len(hits):
            raise KeyError(f"node {node} has no compute")
        return int(hits[0])

    def describe(self) -> dict:
        return {
            "topology": self.topology.describe(),
            "access_points": list(self.access_points),
            "compute_nodes": {int(v): self.devices[int(v)] for v in self.compute_nodes},
            "background": self.background_source,
            "background_scale": round(self.background_scale, 4),
            "compute_truth": self.compute.truth_source,
            "predictions": self.compute.prediction_source,
        }


_PARAMS_CACHE: list[np.ndarray] = []


def _cell_params() -> np.ndarray:
    if not _PARAMS_CACHE:
        from agents.latency.nb201 import all_ops

        _PARAMS_CACHE.append(params(all_ops()))
    return _PARAMS_CACHE[0]
