"""Egress-gateway load logic: weighted-least-connections weights, draining, idle-flow aging.

The data plane balances a service's new flows over up to 8 (node, weight) candidates of
``egw.service_nodes`` (fewest ``connections[n] / weight``); a flow keeps its node while it lives,
whatever the weights say later. The controller steers it three ways:

* **weights** (:func:`wlc_weights`): weight ∝ capacity × (1 − utilisation), scaled so the
  largest candidate gets :data:`WEIGHT_SCALE` and quantised to the 16-bit field; a live node
  never falls to 0 (at least 1, so it still takes new flows when it is the least loaded) unless
  it is draining. Utilisation is clipped to ``1 - MIN_HEADROOM`` so a saturated node keeps a
  small weight instead of vanishing.
* **draining** (:func:`drain`): weight 0 for new flows (the slot stays listed, so the entry shows
  the node is drained), while its existing flows finish where they are; :func:`node_drained`
  says when its connection count has reached 0 (then the node can be migrated or removed).
* **idle-flow aging**: either the data plane does it (:func:`set_idle_timeout` writes
  ``egw.flow_idle_timeout_us``: an idle flow is replaced or rescheduled by the next packet), or
  the controller does (:func:`age_idle_flows`: reads ``flow_state``/``flow_last_seen``/
  ``flow_node``, writes ``flow_state[slot] = 0`` and decrements ``connections[node]``). The
  controller's sweep races with packets (a flow whose packet arrives between the read and the
  write is aged although it just woke up: its next packet is a new flow and may go to another
  node); the register timeout has no such race and is the default recommendation.
  The flow table is one array of slots, each with its own owner; with two-choice hashing a
  flow lives in either of its two candidate slots (``traces.flowhash.egw_flow_slots``), so
  the sweep works slot by slot and never needs to know which flow hashes where.

Functions that touch a switch take a :class:`controlplane.p4rt.P4RuntimeClient` (anything with
``read_entries``, ``read_register`` and ``write``) and return what they changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controlplane.entries import Exact, RegisterValue, TableEntry, entry
from controlplane.netdesc import ServiceNodeDesc

SERVICE_NODES = "CpnIngress.egw.service_nodes"
SET_NODES = "CpnIngress.egw.set_nodes"
CONNECTIONS = "CpnIngress.egw.connections"
FLOW_STATE = "CpnIngress.egw.flow_state"
FLOW_NODE = "CpnIngress.egw.flow_node"
FLOW_LAST_SEEN = "CpnIngress.egw.flow_last_seen"
FLOW_IDLE_TIMEOUT = "CpnIngress.egw.flow_idle_timeout_us"
FLOW_ACTIVE = 1
FLOW_STATE_MASK = 3  # flow_state's owner state (EMPTY 0 / ACTIVE 1 / CLOSED 2) ...
FLOW_SHARED = 4  # ... plus this flag while another flow follows the slot's node
MAX_NODES = 8
WEIGHT_MAX = 0xFFFF
WEIGHT_SCALE = 10_000
MIN_HEADROOM = 0.01


@dataclass(frozen=True)
class NodeLoad:
    """What telemetry knows of one service node."""

    utilisation: float = 0.0  # 0..1 of its compute capacity
    connections: int = 0  # egw.connections[node]
    backlog_ms: float = 0.0  # work queued ahead of a new task
    alive: bool = True  # False: left out of the candidates altogether


def wlc_weights(
    nodes: Sequence[ServiceNodeDesc],
    loads: Mapping[int, NodeLoad] | None = None,
    draining: Iterable[int] = (),
) -> list[tuple[int, int]]:
    """(node id, weight) candidates for ``egw.set_nodes``, sorted by node id, at most 8.

    Dead nodes are left out; draining nodes stay listed with weight 0. With more than 8 live
    nodes, the 8 with the largest weight are kept.
    """
    loads = loads or {}
    drain = set(draining)
    raw: dict[int, float] = {}
    for n in nodes:
        load = loads.get(n.node_id, NodeLoad())
        if not load.alive:
            continue
        if n.capacity_tflops <= 0:
            raise ValueError(f"node {n.name}: capacity_tflops must be positive")
        u = min(max(load.utilisation, 0.0), 1.0 - MIN_HEADROOM)
        raw[n.node_id] = 0.0 if n.node_id in drain else n.capacity_tflops * (1.0 - u)
    top = max(raw.values(), default=0.0)
    weights: dict[int, int] = {}
    for nid, r in raw.items():
        if nid in drain or top <= 0:
            weights[nid] = 0
        else:
            weights[nid] = min(WEIGHT_MAX, max(1, round(r / top * WEIGHT_SCALE)))
    if len(weights) > MAX_NODES:
        keep = sorted(weights, key=lambda k: (-weights[k], k))[:MAX_NODES]
        weights = {k: weights[k] for k in keep}
    return sorted(weights.items())


def service_nodes_entry(
    version: int, service_id: int, weights: Sequence[tuple[int, int]]
) -> TableEntry:
    """The ``egw.service_nodes`` entry for up to 8 (node id, weight) pairs."""
    if len(weights) > MAX_NODES:
        raise ValueError(f"service {service_id}: {len(weights)} nodes, at most {MAX_NODES}")
    params: dict[str, int] = {}
    padded = list(weights) + [(0, 0)] * (MAX_NODES - len(weights))
    for i, (node, weight) in enumerate(padded):
        if not (0 <= node <= 255 and 0 <= weight <= WEIGHT_MAX):
            raise ValueError(f"service {service_id}: bad candidate (node {node}, weight {weight})")
        params[f"node_{i}"], params[f"weight_{i}"] = node, weight
    return entry(
        SERVICE_NODES, {"policy_version": version, "service_id": service_id}, SET_NODES, params
    )


def entry_weights(e: TableEntry) -> list[tuple[int, int]]:
    """(node, weight) pairs of a ``service_nodes`` entry (unused slots left out)."""
    p = e.params_dict
    out = []
    for i in range(MAX_NODES):
        node, weight = p.get(f"node_{i}", 0), p.get(f"weight_{i}", 0)
        if node or weight:
            out.append((node, weight))
    return out


def drain(client: Any, node_id: int, version: int | None = None) -> list[TableEntry]:
    """Weight 0 for ``node_id`` in every ``service_nodes`` entry (of ``version``, or all) that
    lists it; existing flows stay on the node. Returns the entries written (MODIFY).

    Refused (nothing written) when a service would be left without a node of nonzero weight.
    """
    changed: list[TableEntry] = []
    for e in client.read_entries(SERVICE_NODES):
        if version is not None and e.version() != version:
            continue
        pairs = entry_weights(e)
        if not any(n == node_id and w for n, w in pairs):
            continue
        new = [(n, 0 if n == node_id else w) for n, w in pairs]
        if not any(w for _, w in new):
            sid = e.match_dict["service_id"]
            raise ValueError(
                f"draining node {node_id} would leave service "
                f"{sid.value if isinstance(sid, Exact) else sid} (version {e.version()}) "
                "with no node: add or undrain another node first"
            )
        sid = e.match_dict["service_id"]
        assert isinstance(sid, Exact)
        changed.append(service_nodes_entry(e.version() or 0, sid.value, new))
    if changed:
        client.write([("modify", e) for e in changed])
    return changed


def read_connections(client: Any, node_ids: Iterable[int] | None = None) -> dict[int, int]:
    """``egw.connections`` per node id (only the given ids, or every nonzero one)."""
    if node_ids is None:
        return {i: v for i, v in client.read_register(CONNECTIONS).items() if v}
    out = {}
    for n in node_ids:
        out[n] = client.read_register(CONNECTIONS, n).get(n, 0)
    return out


def node_drained(client: Any, node_id: int) -> bool:
    """True once a (draining) node has no active connection left."""
    return read_connections(client, [node_id])[node_id] == 0


def set_idle_timeout(client: Any, idle_us: int) -> RegisterValue:
    """Let the data plane age flows idle for ``idle_us`` (0 = never). Returns the value written."""
    if not 0 <= idle_us < 2**32:
        raise ValueError(f"idle timeout {idle_us} µs does not fit the 32-bit register")
    rv = RegisterValue(FLOW_IDLE_TIMEOUT, 0, int(idle_us))
    client.write([("modify", rv)])
    return rv


@dataclass
class AgedFlows:
    """What :func:`age_idle_flows` changed."""

    slots: list[int] = field(default_factory=list)  # flow slots set to EMPTY
    connections: dict[int, tuple[int, int]] = field(default_factory=dict)  # node: (before, after)

    def __len__(self) -> int:
        return len(self.slots)


def age_idle_flows(client: Any, now_us: float, idle_us: float) -> AgedFlows:
    """Close ACTIVE flows idle for more than ``idle_us`` (switch time ``now_us``): write
    ``flow_state[slot] = 0`` and decrement ``connections[node]`` (never below 0). Idle SHARED
    slots whose owner has closed are emptied too (nothing to decrement)."""
    if idle_us <= 0:
        raise ValueError("idle_us must be positive")
    state = client.read_register(FLOW_STATE)
    live = [s for s, v in state.items() if v & FLOW_STATE_MASK == FLOW_ACTIVE or v & FLOW_SHARED]
    if not live:
        return AgedFlows()
    last = client.read_register(FLOW_LAST_SEEN)
    idle = sorted(s for s in live if now_us - last.get(s, 0) > idle_us)
    if not idle:
        return AgedFlows()
    node_of = client.read_register(FLOW_NODE)
    per_node: dict[int, int] = {}
    for s in idle:
        if state[s] & FLOW_STATE_MASK != FLOW_ACTIVE:
            continue
        per_node[node_of.get(s, 0)] = per_node.get(node_of.get(s, 0), 0) + 1
    conns = read_connections(client, per_node)
    result = AgedFlows(slots=idle)
    updates: list[tuple[str, TableEntry | RegisterValue]] = [
        ("modify", RegisterValue(FLOW_STATE, s, 0)) for s in idle
    ]
    for n, k in sorted(per_node.items()):
        after = max(0, conns[n] - k)
        result.connections[n] = (conns[n], after)
        updates.append(("modify", RegisterValue(CONNECTIONS, n, after)))
    client.write(updates)
    return result
