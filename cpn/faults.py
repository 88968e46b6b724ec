"""Faults injected into a running scenario, and what each is allowed to lose.

Each fault is scheduled with :func:`schedule` (or ``Scenario.schedule_fault``) at a virtual time
and leaves a :class:`FaultRecord`: what was done, how the controller reacted, and which loss
counters (``net.losses()`` keys) it explains. Everything the network loses that no fault
explains is reported as unexplained (0 in a healthy run).

- ``kill_node``: the service node stops (its endpoint drops what reaches it, queued and running
  jobs are lost). It stops reporting its load; at the next control interval the controller marks
  it dead, so the egress gateway's weights leave it out; then the gateway's flows pinned to it
  are released (:func:`evict_node_flows`: ``flow_state = 0``, ``connections = 0`` over
  P4Runtime), so a client's retransmitted request lands on a live node. Explains
  ``NODE/node_dead``. When it was the last node a service could use, the controller gives the
  service no site (the ingress gateways punt its requests: ``no_service_site``) and the fault
  also explains the egress gateway's drops of the service's packets still on their way
  (``EGW/ingress_drop``, data plane ``egw_no_node``); ``detail["no_site"]`` names the services.
  ``revive_after_s`` brings the node back (it reports its load again; at the next interval the
  controller weights it and places its services again).
- ``link_down``: the link stops carrying (frames in flight and sent meanwhile are lost); after
  ``detect_s`` the controller recomputes routes and paths without it (``Controller.link_down``).
  Explains that link's ``link_down`` losses. ``up_after_s`` brings it back (``link_up``).
- ``restart_switch``: the switch's links go down for ``downtime_s``; at once the switch is
  replaced by a fresh one with no pipeline and empty state on the same P4Runtime address; the
  run waits (wall time) until the controller has reconnected, pushed the pipeline and
  reconciled the switch, then the links come back. Explains the switch's own drops and its
  links' ``link_down`` / ``switch_restart`` losses.
- ``bad_input``: a client sends a truncated frame (the ingress gateway's parser drops it) and a
  request to an AISID nobody registered (punted to the controller, never answered: the request
  times out). Explains the gateway's drop of the truncated frame.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx

from controlplane.egress import (
    CONNECTIONS,
    FLOW_ACTIVE,
    FLOW_NODE,
    FLOW_SHARED,
    FLOW_STATE,
    FLOW_STATE_MASK,
)
from controlplane.entries import RegisterValue
from traces.aisid import AISID

log = logging.getLogger("cpn.faults")

KINDS = ("kill_node", "link_down", "restart_switch", "bad_input")


@dataclass
class FaultRecord:
    kind: str
    target: str
    t_s: float
    loss_keys: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def explains(self, key: str) -> bool:
        """True for an exact key, or a prefix ending in ``/`` or ``-``."""
        return any(key == k or (k[-1] in "/-" and key.startswith(k)) for k in self.loss_keys)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def schedule(sc: Any, kind: str, t_s: float, target: str | None = None, **kw: Any) -> FaultRecord:
    """Schedule fault ``kind`` at virtual time ``t_s`` on ``target`` (None: chosen then, see
    :func:`pick_node`, :func:`pick_link`, :func:`pick_switch`, first client)."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
    rec = FaultRecord(kind, target or "", float(t_s))
    fn = {"kill_node": _kill_node, "link_down": _link_down,
          "restart_switch": _restart_switch, "bad_input": _bad_input}[kind]  # fmt: skip
    sc.faults.append(rec)

    def run() -> None:
        rec.t_s = sc.net.now()  # later than asked when a swap's drain ran past it
        if rec.t_s > t_s + 1e-9:
            rec.detail["scheduled_s"] = t_s
        try:
            fn(sc, rec, **kw)
        except Exception as e:  # a fault that cannot happen here (no such node, a bridge)
            rec.detail["error"] = f"{type(e).__name__}: {e}"
            log.warning("fault %s not injected: %s", kind, rec.detail["error"])

    sc.at(t_s, run, f"fault {kind} {target or '(auto)'}")
    return rec


# -- choosing targets -----------------------------------------------------------------------------
def pick_node(sc: Any) -> str:
    """The live service node that has received the most frames so far (ties: served, name)."""
    live = [n for n, node in sc.nodes.items() if node.alive]
    if not live:
        raise RuntimeError("no live service node to kill")
    return max(sorted(live), key=lambda n: (sc.net.endpoints[n].rx, sc.nodes[n].served))


def pick_link(sc: Any) -> tuple[str, str]:
    """The busiest up switch-to-switch link (bytes both ways so far) whose loss keeps the
    switches connected."""
    g = nx.Graph()
    g.add_nodes_from(s.name for s in sc.net.description.switches)
    up = [lk for lk in sc.net.links if lk.up]
    for lk in up:
        g.add_edge(*(e.name.rsplit(":", 1)[0] for e in lk.ends))
    bridges = {frozenset(e) for e in nx.bridges(g)}
    best = None
    for lk in sorted(up, key=lambda k: k.name):
        a, b = (e.name.rsplit(":", 1)[0] for e in lk.ends)
        if frozenset((a, b)) in bridges:
            continue
        if best is None or sum(lk.bytes) > sum(best.bytes):
            best = lk
    if best is None:
        raise RuntimeError("every link is a bridge: taking one down would cut the network")
    a, b = (e.name.rsplit(":", 1)[0] for e in best.ends)
    return a, b


def pick_switch(sc: Any) -> str:
    """The transit switch (else any switch) that has forwarded the most bytes so far."""
    d = sc.net.description
    names = [s.name for s in d.switches if s.role == "transit"] or [s.name for s in d.switches]
    sent: dict[str, int] = dict.fromkeys(names, 0)
    for lk in sc.net.links:
        for i, e in enumerate(lk.ends):
            sw = e.name.rsplit(":", 1)[0]
            if sw in sent:
                sent[sw] += lk.bytes[i]
    return max(sorted(sent), key=lambda n: sent[n])


def _links_of(sc: Any, switch: str) -> list[Any]:
    out = [lk for lk in sc.net.links if any(e.name.rsplit(":", 1)[0] == switch for e in lk.ends)]
    out += [hp.link for (sw, _), hp in sc.net.access.items() if sw == switch]
    return out


# -- the faults -----------------------------------------------------------------------------------
def _kill_node(sc: Any, rec: FaultRecord, revive_after_s: float | None = None) -> None:
    name = rec.target = rec.target or pick_node(sc)
    node = sc.nodes[name]
    jobs = node.busy + node.queue_length
    sc.net.kill_node(name)
    node.kill()
    rec.loss_keys = [f"{name}/node_dead"]
    rec.detail.update(jobs_lost=jobs, served_before=node.served)

    def on_dead(dead: str) -> None:
        if dead != name or "t_react_s" in rec.detail:
            return
        site, nd = sc.node_desc[name]
        client = sc.ctl.connections[site.egress_gateway].client
        rec.detail["t_react_s"] = sc.net.now()
        rec.detail["weights_without_node"] = _node_unweighted(client, nd.node_id)
        rec.detail["flows_evicted"] = evict_node_flows(client, nd.node_id)
        lost = sorted(
            o.service
            for o in sc.ctl.outages.open.values()
            if f"{site.name} has no live node" in o.reason
        )
        if lost:
            rec.detail["no_site"] = lost
            rec.loss_keys.append(f"{site.egress_gateway}/ingress_drop")

    sc.on_dead.append(on_dead)
    if revive_after_s is not None:

        def revive() -> None:
            sc.net.revive_node(name)
            node.revive()
            sc.reported_dead.discard(name)
            rec.detail["t_revived_s"] = sc.net.now()

        sc.at(rec.t_s + revive_after_s, revive, f"{name} revived")


def _node_unweighted(client: Any, node_id: int) -> bool:
    """True when no ``service_nodes`` entry of the gateway gives ``node_id`` a weight."""
    from controlplane.egress import SERVICE_NODES, entry_weights

    return not any(
        n == node_id and w for e in client.read_entries(SERVICE_NODES) for n, w in entry_weights(e)
    )


def evict_node_flows(client: Any, node_id: int) -> int:
    """Release every ACTIVE (or SHARED) flow slot the egress gateway keeps on ``node_id``
    (``flow_state = 0``) and zero its ``connections``, so the flows' next packets choose a node
    again; returns the slots released."""
    state = client.read_register(FLOW_STATE)
    active = [s for s, v in state.items() if v & FLOW_STATE_MASK == FLOW_ACTIVE or v & FLOW_SHARED]
    if not active:
        return 0
    node_of = client.read_register(FLOW_NODE)
    slots = sorted(s for s in active if node_of.get(s, 0) == node_id)
    updates: list[tuple[str, RegisterValue]] = [
        ("modify", RegisterValue(FLOW_STATE, s, 0)) for s in slots
    ]
    updates.append(("modify", RegisterValue(CONNECTIONS, node_id, 0)))
    client.write(updates)
    return len(slots)


def _link_down(
    sc: Any, rec: FaultRecord, detect_s: float = 0.0, up_after_s: float | None = None
) -> None:
    if rec.target:
        a, _, b = rec.target.partition("-")
    else:
        a, b = pick_link(sc)
    rec.target = f"{a}-{b}"
    lk = sc.net.link(a, b)
    sc.net.link_down(a, b)
    rec.loss_keys = [f"{lk.name}/link_down"]

    def react() -> None:
        before = sc.ctl.paths()
        rec.detail["t_react_s"] = sc.net.now()
        rec.detail["writes"] = sc.ctl.link_down(a, b)
        sc.log_sites()
        after = sc.ctl.paths()
        rec.detail["paths_changed"] = sorted(k for k in after if after[k] != before.get(k))

    if detect_s > 0:
        sc.at(sc.net.now() + detect_s, react, f"controller: link {a}-{b} down")
    else:
        react()
    if up_after_s is not None:

        def up() -> None:
            sc.net.link_up(a, b)
            rec.detail["t_up_s"] = sc.net.now()
            rec.detail["writes_up"] = sc.ctl.link_up(a, b)
            sc.log_sites()

        sc.at(rec.t_s + up_after_s, up, f"link {a}-{b} up")


def _restart_switch(sc: Any, rec: FaultRecord, downtime_s: float = 0.02) -> None:
    name = rec.target = rec.target or pick_switch(sc)
    links = _links_of(sc, name)
    for lk in links:
        lk.up = False
    rec.loss_keys = [f"{name}/"] + [f"{lk.name}/link_down" for lk in links]
    rec.loss_keys += [f"{lk.name}/switch_restart" for lk in links]
    sc.arm_reinstall(name)
    w = time.perf_counter()
    sc.net.restart_switch(name)
    ok = sc.wait_reinstalled(name)
    rec.detail.update(
        reinstalled=ok,
        reconnect_wall_s=round(time.perf_counter() - w, 3),
        pipeline=sc.ctl.connections[name].last_pipeline,
        reinstall=next(
            (e for _, e in reversed(sc.ctl.events) if e.startswith(f"{name} ready")), ""
        ),
    )
    if not ok:
        log.error("%s was not reinstalled by the controller in time", name)

    def up() -> None:
        for lk in links:
            lk.up = True
        rec.detail["t_up_s"] = sc.net.now()

    sc.at(rec.t_s + downtime_s, up, f"{name} back up")


def _bad_input(sc: Any, rec: FaultRecord) -> None:
    from scapy.layers.l2 import Ether

    cname = rec.target = rec.target or sorted(sc.clients)[0]
    client = sc.clients[cname]
    ep = sc.net.endpoints[cname]
    frame = bytes(Ether(src=ep.mac, dst=ep.gateway_mac, type=0x86DD)) + b"\x60\x00\x00"
    ep.send(frame)  # a truncated IPv6 header
    prefix = sc.net.description.aisid_prefixes[0]
    unknown = AISID.from_fields(prefix, 0xFFFF, 0xFFFF, 0xFFFF, 5000)
    rid = 0xFFFF0000 + len(sc.faults)
    r = client.request(unknown, 1000, "udp", rid, compute_tflop=1.0, timeout_us=3e6)
    rec.loss_keys = [f"{ep.switch}/ingress_drop"]
    rec.detail.update(unknown_aisid=unknown.address, request_id=rid, record=r.target)


__all__ = ["KINDS", "FaultRecord", "evict_node_flows", "pick_link", "pick_node", "pick_switch",
           "schedule"]  # fmt: skip
