"""A live web view of the running network, served by the controller's HTTP API.

:func:`mount_web` adds to the API app (:func:`controlplane.api.make_app` calls it):

- ``GET /``: the page (``controlplane/webstatic/``: plain SVG and JavaScript, nothing fetched
  from elsewhere); ``GET /webstatic/...`` its files.
- ``GET /web/topology``: switches by role, sites, service nodes, hosts and links, with
  positions (latitude/longitude when every switch has them, else a Kamada-Kawai layout).
- ``GET /web/frame``: the live state in one object (policy, version, switch states, measured
  link utilisation per direction, node load, drops by reason, probe delays, losses, the
  services without a live site: ``outages`` = {active: [...], ended: N}, see
  :func:`outage_view`);
  ``GET /web/stream``: the same as server-sent events (``event: frame``), about once a second.
- ``GET /web/history?last=N``: the telemetry history as series (node utilisation, drops by
  reason, per-path probe delay).
- ``GET /web/switch/{name}``: a switch's tables (entries per table as read back over
  P4Runtime, next to the controller's intent, a few entries), counters and registers.
- ``GET /web/policies``: the policy names a swap accepts.
- ``GET /metrics/requests``: per-service request latency (p50/p95) and deadline hits per time
  bucket; ``POST /metrics/requests`` {records: [...]} adds records (see :func:`record_requests`).

Optional hooks a driver sets on the controller: ``ctl.extra_status = lambda: {...}`` (its
result goes into every frame as ``extra``; a ``losses`` mapping there, e.g. the in-process
network's ``losses()``, is the page's loss counter, else the switches' drop counters are) and
request records through :func:`record_requests` (:mod:`controlplane.reqmetrics`). The page reads only these routes and the API's own (``/swap``,
``/swaps``, ``/aisid/...``, ``/events``), so the CLI and the page act on the same state.

:func:`serve_web` starts the API (and so the page) in a background thread.
``python -m controlplane.web`` runs a demo network with traffic behind it
(:mod:`controlplane.webdemo`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Request

from controlplane.api import ApiServer
from controlplane.entries import Exact, Lpm, Range, TableEntry, Ternary
from controlplane.netdesc import NetworkDescription
from controlplane.reqmetrics import RequestMetrics, record_requests, request_metrics
from controlplane.telemetry import (
    CONNECTIONS,
    DROP_REASONS,
    EGW_STAT_NAMES,
    EGW_STATS,
    PORT_RX,
    PORT_TX,
    QUEUE_DEPTH,
    SERVICE_PACKETS,
)

log = logging.getLogger("controlplane.web")

__all__ = [
    "RequestMetrics",
    "WebServer",
    "frame",
    "history",
    "layout",
    "mount_web",
    "outage_view",
    "record_requests",
    "request_metrics",
    "serve_web",
    "switch_view",
    "topology",
]

STATIC = Path(__file__).with_name("webstatic")
DEFAULT_WEB = "127.0.0.1:8080"
STREAM_MAX_S = 4.0  # a stream ends after this long and the browser reconnects (quick shutdown)
ENTRIES_SHOWN = 5
WIDTH = 1000.0  # layout units of the page's topology
VERSION_REGISTER = "CpnIngress.active_policy_version"


# ------------------------------------------------------------------------------ topology
def layout(net: NetworkDescription) -> tuple[dict[str, tuple[float, float]], bool]:
    """Switch positions in page units (x right, y down) and whether they are geographic."""
    names = [s.name for s in net.switches]
    if not names:
        return {}, False
    geo = all(s.lat is not None and s.lon is not None for s in net.switches)
    if geo:
        lat0 = float(np.mean([s.lat for s in net.switches]))
        xy = np.array(
            [[s.lon * math.cos(math.radians(lat0)), -s.lat] for s in net.switches], dtype=float
        )
    else:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(names)
        g.add_edges_from((lk.a, lk.b) for lk in net.links)
        if len(names) == 1:
            pos = {names[0]: (0.0, 0.0)}
        elif nx.is_connected(g) and len(names) <= 200:
            pos = nx.kamada_kawai_layout(g)
        else:
            pos = nx.spring_layout(g, seed=0)
        xy = np.array([pos[n] for n in names], dtype=float)
        if len(names) > 1:  # principal axes: the widest spread across the page
            c = xy - xy.mean(axis=0)
            _, _, vt = np.linalg.svd(c, full_matrices=False)
            xy = c @ vt.T
            xy *= np.where(xy[np.argmax(np.abs(xy), axis=0), [0, 1]] < 0, -1.0, 1.0)
    xy = xy - xy.min(axis=0)
    span = max(float(xy.max()), 1e-9)
    xy = xy * (WIDTH / span)
    xy = _separate(xy, WIDTH * 0.05)
    return {
        n: (round(float(x), 1), round(float(y), 1)) for n, (x, y) in zip(names, xy, strict=True)
    }, geo


def _separate(xy: np.ndarray, dmin: float, rounds: int = 200) -> np.ndarray:
    """Push apart points closer than ``dmin`` (two cities' switches on one spot)."""
    xy = xy.copy()
    n = len(xy)
    for _ in range(rounds):
        d = xy[:, None, :] - xy[None, :, :]
        dist = np.sqrt((d**2).sum(-1)) + np.eye(n) * 1e9
        close = dist < dmin
        if not close.any():
            break
        for i, j in zip(*np.nonzero(np.triu(close)), strict=True):
            v = xy[i] - xy[j]
            norm = float(np.hypot(*v))
            v = v / norm if norm > 1e-9 else np.array([math.cos(i), math.sin(i)])
            push = (dmin - min(norm, dmin)) / 2 + 0.5
            xy[i] += v * push
            xy[j] -= v * push
    return xy


def topology(net: NetworkDescription) -> dict[str, Any]:
    """What ``GET /web/topology`` answers (see the module docstring)."""
    pos, geo = layout(net)
    nbrs: dict[str, list[str]] = {s.name: [] for s in net.switches}
    for lk in net.links:
        nbrs[lk.a].append(lk.b)
        nbrs[lk.b].append(lk.a)
    centre = np.mean(np.array(list(pos.values())), axis=0) if pos else np.zeros(2)

    def outward(name: str) -> np.ndarray:
        p = np.array(pos[name])
        ref = np.mean([pos[n] for n in nbrs[name]], axis=0) if nbrs[name] else centre
        v = p - ref
        if np.hypot(*v) < 1e-6:
            v = p - centre
        norm = float(np.hypot(*v))
        return v / norm if norm > 1e-6 else np.array([0.0, -1.0])

    def around(p: np.ndarray, v: np.ndarray, k: int, m: int, r: float, step: float) -> list:
        a = math.atan2(v[1], v[0]) + (k - (m - 1) / 2) * step
        return [round(float(p[0] + r * math.cos(a)), 1), round(float(p[1] + r * math.sin(a)), 1)]

    nodes: list[dict[str, Any]] = []
    attach: list[list[str]] = []
    for s in net.switches:
        x, y = pos[s.name]
        nodes.append(
            {"id": f"sw:{s.name}", "kind": "switch", "name": s.name, "role": s.role,
             "device_id": s.device_id, "lat": s.lat, "lon": s.lon, "x": x, "y": y}
        )  # fmt: skip
    for s in net.switches:
        sats = [("host", h) for h in net.hosts if h.switch == s.name]
        sats += [("site", st) for st in net.sites if st.egress_gateway == s.name]
        p, v = np.array(pos[s.name]), outward(s.name)
        for k, (kind, obj) in enumerate(sats):
            xy = around(p, v, k, len(sats), 75.0, 0.55)
            if kind == "host":
                nodes.append(
                    {"id": f"host:{obj.name}", "kind": "host", "name": obj.name,
                     "switch": s.name, "address": obj.address, "host_kind": obj.kind,
                     "x": xy[0], "y": xy[1]}
                )  # fmt: skip
                attach.append([f"sw:{s.name}", f"host:{obj.name}"])
                continue
            sid = f"site:{obj.name}"
            nodes.append(
                {"id": sid, "kind": "site", "name": obj.name, "site_id": obj.site_id,
                 "switch": s.name, "x": xy[0], "y": xy[1]}
            )  # fmt: skip
            attach.append([f"sw:{s.name}", sid])
            sp = np.array(xy)
            for j, nd in enumerate(obj.nodes):
                nxy = around(sp, v, j, len(obj.nodes), 50.0, 0.75)
                nid = f"node:{obj.site_id}/{nd.node_id}"
                nodes.append(
                    {"id": nid, "kind": "node", "name": nd.name, "site_id": obj.site_id,
                     "node_id": nd.node_id, "device": nd.device,
                     "capacity_tflops": nd.capacity_tflops, "address": nd.address,
                     "x": nxy[0], "y": nxy[1]}
                )  # fmt: skip
                attach.append([sid, nid])
    links = [
        {"id": i, "a": lk.a, "b": lk.b, "a_port": lk.a_port, "b_port": lk.b_port,
         "rate_bps": lk.rate_bps, "delay_us": lk.delay_us}
        for i, lk in enumerate(net.links)
    ]  # fmt: skip
    return {
        "network": net.name,
        "geo": geo,
        "nodes": nodes,
        "links": links,
        "attach": attach,
        "sites": {str(s.site_id): s.name for s in net.sites},
    }


# ------------------------------------------------------------------------------ live state
def _key(k: Any) -> str:
    return ">".join(map(str, k)) if isinstance(k, tuple) else str(k)


def snapshot_view(snap: Any) -> dict[str, Any]:
    """The per-snapshot part of a frame: node load, drops by reason, probe delays."""
    if snap is None:
        return {"telemetry_t": None, "node_util": {}, "drops": {}, "path_delay_us": {}}
    drops: dict[str, int] = {}
    for per in snap.drops.values():
        for reason, n in per.items():
            drops[reason] = drops.get(reason, 0) + int(n)
    return {
        "telemetry_t": snap.t,
        "node_util": {_key(k): v.utilisation for k, v in sorted(snap.node_load.items())},
        "drops": dict(sorted(drops.items())),
        "path_delay_us": {_key(k): v for k, v in sorted(snap.path_delay_us.items())},
    }


def outage_view(report: list[Mapping[str, Any]], services: Any = ()) -> dict[str, Any]:
    """The ``outages`` part of a frame: the services without a live site now (``active``:
    service, id, reason, ingress gateways that punt its requests, the sites it has, ``since``
    on the controller's clock, packets punted so far) and how many such stretches ``ended``.
    ``report``: :meth:`controlplane.outages.ServiceOutages.report`; ``services``: registry
    records (for the sites)."""
    # a decommissioned service's id may be in use again: the live record's sites win
    live_last = sorted(services, key=lambda r: getattr(r, "state", "") != "decommissioned")
    sites = {r.service_id: list(r.sites) for r in live_last}
    active = [
        {
            "service": o["service"],
            "service_id": o["service_id"],
            "reason": o["reason"],
            "gateways": list(o["gateways"]),
            "sites": sites.get(o["service_id"], []),
            "since": o["t0"],
            "punted": o["punted"],
        }
        for o in report
        if o.get("t1") is None
    ]
    return {"active": active, "ended": len(report) - len(active)}


def frame(ctl: Any) -> dict[str, Any]:
    """The live state the page shows (``GET /web/frame``, one SSE event)."""
    st = ctl.status()
    snap = ctl.telemetry.last
    util = snap.link_utilisation if snap is not None else {}
    down = {frozenset(x) for x in st.get("down_links", [])}
    links = [
        {
            "id": i,
            "ab": util.get((lk.a, lk.b)),
            "ba": util.get((lk.b, lk.a)),
            "down": frozenset((lk.a, lk.b)) in down,
        }
        for i, lk in enumerate(ctl.net.links)
    ]
    extra: dict[str, Any] = {}
    hook = getattr(ctl, "extra_status", None)
    if callable(hook):
        try:
            extra = dict(hook())
        except Exception as e:  # noqa: BLE001 - a driver's hook must not break the page
            extra = {"error": f"{type(e).__name__}: {e}"}
    sv = snapshot_view(snap)
    net_losses = extra.get("losses") if isinstance(extra.get("losses"), Mapping) else None
    services = ctl.registry.services(active_only=False)
    m = getattr(ctl, "request_metrics", None)
    return {
        "t": ctl.clock.now(),
        "network": st["network"],
        "policy": st["policy"],
        "version": st["version"],
        "swapping": bool(getattr(ctl, "_swapping", False)),
        "swaps": st["swaps"],
        "switches": {
            n: {"state": s["state"], "entries": sum(s["entries"].values())}
            for n, s in st["switches"].items()
        },
        "links": links,
        **sv,
        "node_load": {
            _key(k): {
                "utilisation": v.utilisation,
                "connections": v.connections,
                "backlog_ms": v.backlog_ms,
                "alive": v.alive,
            }
            for k, v in sorted((snap.node_load if snap is not None else {}).items())
        },  # fmt: skip
        "drops_total": sum(sv["drops"].values()),
        # the driver's count of every frame lost (switch drops included), when it gives one
        "losses_total": None if net_losses is None else sum(int(v) for v in net_losses.values()),
        "telemetry_errors": dict(snap.errors) if snap is not None else {},
        "events": len(ctl.events),
        "registry": f"{len(services)}/{sum(r.version for r in services)}",
        "requests": m.revision if m is not None else 0,
        "outages": outage_view(st.get("outages", []), services),
        "extra": extra,
    }


def history(ctl: Any, last: int = 300) -> dict[str, Any]:
    """The last ``last`` telemetry snapshots as series keyed like the frames."""
    snaps = list(ctl.telemetry.history)[-last:] if last > 0 else []
    views = [snapshot_view(s) for s in snaps]
    out: dict[str, Any] = {"t": [v["telemetry_t"] for v in views]}
    for part in ("node_util", "drops", "path_delay_us"):
        keys = sorted({k for v in views for k in v[part]})
        missing = 0 if part == "drops" else None  # drop counters: absent means none yet
        out[part] = {k: [v[part].get(k, missing) for v in views] for k in keys}
    return out


# ------------------------------------------------------------------------------ one switch
def _value(v: int, width: int) -> str:
    if width == 128:
        return str(ipaddress.IPv6Address(v))
    if width == 48:
        return ":".join(f"{b:02x}" for b in v.to_bytes(6, "big"))
    return str(v) if v < 1 << 20 else hex(v)


def format_entry(e: TableEntry, idx: Any) -> str:
    """One entry as ``field=value ... -> action(param=value, ...)``."""
    ti = idx.tables.get(e.table)
    width = {f.name: f.bitwidth for f in ti.fields} if ti is not None else {}
    parts = []
    for name, m in e.match:
        w = width.get(name, 0)
        if isinstance(m, Exact):
            parts.append(f"{name}={_value(m.value, w)}")
        elif isinstance(m, Lpm):
            parts.append(f"{name}={_value(m.value, w)}/{m.prefix_len}")
        elif isinstance(m, Ternary):
            parts.append(f"{name}={_value(m.value, w)}&&&{_value(m.mask, w)}")
        elif isinstance(m, Range):
            parts.append(f"{name}={m.low}..{m.high}")
    ai = idx.actions.get(e.action)
    pw = {p[1]: p[2] for p in ai.params} if ai is not None else {}
    params = ", ".join(f"{k}={_value(v, pw.get(k, 0))}" for k, v in e.params)
    prio = f" prio {e.priority}" if e.priority else ""
    return f"{' '.join(parts)} -> {e.action.rsplit('.', 1)[-1]}({params}){prio}"


def switch_view(ctl: Any, name: str) -> dict[str, Any]:
    """A switch's tables, counters and registers, read over its P4Runtime connection."""
    from traces.constants import DropReason

    conn = ctl.connections[name]
    sw = ctl.net.switch(name)
    if conn.state != "ready":
        raise RuntimeError(f"{name} is {conn.state}, not ready")
    client = conn.client
    idx = client.p4info_index()
    held = ctl.held.get(name)
    intent = held.tables() if held is not None else {}
    read: dict[str, list[TableEntry]] = {}
    for e in client.read_entries():
        read.setdefault(e.table, []).append(e)
    tables = {
        t: {
            "entries": len(read.get(t, [])),
            "intent": intent.get(t, 0),
            "sample": [format_entry(e, idx) for e in sorted(read.get(t, []), key=repr)][
                :ENTRIES_SHOWN
            ],
        }
        for t in sorted(set(read) | set(intent))
    }
    ports = []
    for p in sorted(sw.ports, key=lambda p: p.number):
        rb, rp = client.read_counter(PORT_RX, p.number).get(p.number, (0, 0))
        tb, tp = client.read_counter(PORT_TX, p.number).get(p.number, (0, 0))
        depth = client.read_register(QUEUE_DEPTH, p.number).get(p.number, 0)
        ports.append(
            {"port": p.number, "peer": p.peer, "rx_bytes": rb, "rx_packets": rp,
             "tx_bytes": tb, "tx_packets": tp, "queue_depth": depth}
        )  # fmt: skip
    drops = {}
    for i, (_, pkts) in sorted(client.read_counter(DROP_REASONS).items()):
        if pkts:
            try:
                drops[DropReason(i).name.lower()] = pkts
            except ValueError:
                drops[str(i)] = pkts
    counters: dict[str, Any] = {"drop_reasons": drops}
    registers: dict[str, Any] = {}
    if sw.role in ("ingress_gateway", "egress_gateway"):
        counters["service_packets"] = {
            r.name: client.read_counter(SERVICE_PACKETS, r.service_id).get(r.service_id, (0, 0))[1]
            for r in ctl.registry.services()
        }
    if sw.role == "ingress_gateway":
        registers["active_policy_version"] = client.read_register(VERSION_REGISTER, 0).get(0)
    if sw.role == "egress_gateway":
        stats = client.read_counter(EGW_STATS)
        counters["egw_stats"] = {n: stats.get(i, (0, 0))[1] for i, n in enumerate(EGW_STAT_NAMES)}
        ids = sorted(
            {n.node_id for st in ctl.net.sites if st.egress_gateway == name for n in st.nodes}
        )
        registers["connections"] = {
            str(i): client.read_register(CONNECTIONS, i).get(i, 0) for i in ids
        }
    return {
        "name": name,
        "role": sw.role,
        "device_id": sw.device_id,
        "address": sw.address,
        "state": conn.state,
        "tables": tables,
        "ports": ports,
        "counters": counters,
        "registers": registers,
    }


# ------------------------------------------------------------------------------ routes
def mount_web(app: Any, ctl: Any) -> None:
    """Add the page, its static files, the live stream and its read-only routes to ``app``."""
    from fastapi import HTTPException
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
    from fastapi.staticfiles import StaticFiles

    from controlplane.schedulers import NAMES

    stop = threading.Event()
    app.state.web_stop = stop
    topo_cache: dict[str, Any] = {}
    app.mount("/webstatic", StaticFiles(directory=str(STATIC)), name="webstatic")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/web", include_in_schema=False)
    def web_redirect() -> RedirectResponse:
        return RedirectResponse("/")

    @app.get("/web/topology")
    def web_topology() -> dict[str, Any]:
        if "t" not in topo_cache:
            topo_cache["t"] = topology(ctl.net)
        return topo_cache["t"]

    @app.get("/web/frame")
    def web_frame() -> dict[str, Any]:
        return frame(ctl)

    @app.get("/web/history")
    def web_history(last: int = 300) -> dict[str, Any]:
        return history(ctl, last)

    @app.get("/web/policies")
    def web_policies() -> dict[str, Any]:
        return {"policies": list(NAMES), "active": ctl.policy_name}

    @app.get("/web/switch/{name}")
    def web_switch(name: str) -> dict[str, Any]:
        if name not in ctl.connections:
            raise HTTPException(status_code=404, detail={"error": f"no switch {name!r}"})
        try:
            return switch_view(ctl, name)
        except Exception as e:  # noqa: BLE001 - a switch down mid-read
            raise HTTPException(status_code=409, detail={"error": str(e)}) from e

    @app.get("/web/stream")
    async def web_stream(request: Request, interval: float = 1.0) -> StreamingResponse:
        step = min(max(interval, 0.05), 10.0)

        async def events():
            yield "retry: 500\n\n"
            waited = 0.0
            while not stop.is_set():
                data = await run_in_threadpool(lambda: json.dumps(frame(ctl), default=str))
                yield f"event: frame\ndata: {data}\n\n"
                if waited >= STREAM_MAX_S:
                    return  # the browser reconnects; a server shutting down is not held up
                t = 0.0
                while t < step and not stop.is_set():
                    if await request.is_disconnected():
                        return
                    await asyncio.sleep(min(0.1, step - t))
                    t += 0.1
                waited += step

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/metrics/requests")
    def metrics_get() -> dict[str, Any]:
        return request_metrics(ctl).summary()

    @app.post("/metrics/requests")
    def metrics_post(body: dict[str, Any]) -> dict[str, Any]:
        recs = body.get("records")
        if not isinstance(recs, list) or not all(isinstance(r, dict) for r in recs):
            raise HTTPException(
                status_code=400, detail={"error": "want {records: [{service, t, latency_us}]}"}
            )
        try:
            n = record_requests(ctl, recs)
        except ValueError as e:
            raise HTTPException(status_code=400, detail={"error": str(e)}) from e
        return {"added": n, "revision": request_metrics(ctl).revision}


class WebServer(ApiServer):
    """An :class:`~controlplane.api.ApiServer` whose ``stop`` also ends the live streams."""

    def stop(self) -> None:
        ev = getattr(self.config.app.state, "web_stop", None)
        if ev is not None:
            ev.set()
        super().stop()


def is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]") or "127.0.0.1"
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_web(ctl: Any, address: str = DEFAULT_WEB) -> WebServer:
    """Start the controller's API with the page on ``address`` (port 0: a free one) in a
    background thread; ``.address`` is where it listens, ``.stop()`` ends it. A non-loopback
    address is allowed but logged: the page can swap policies and change the registry."""
    if not is_loopback(address):
        log.warning(
            "web view on %s: reachable from other machines, with no authentication", address
        )
    srv = WebServer(ctl, address)
    srv.start()
    log.info("web view on http://%s/", srv.address)
    return srv


if __name__ == "__main__":
    from controlplane.webdemo import main

    raise SystemExit(main())
