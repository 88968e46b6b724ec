"""What a scenario produced: per-request records, utilisation, losses, policy versions.

:func:`collect` reads a :class:`cpn.scenario.Scenario` into a :class:`ScenarioResults`, plain
data that :meth:`ScenarioResults.to_json` writes and :meth:`ScenarioResults.summary` condenses:

- **requests**: one record per request (times in ms from the run's start): initiation and
  completion latency (:class:`traces.client.RequestRecord`), outcome, deadline met, the phase
  (policy version) serving when it started;
- **phases**: one per policy version in force (a swap starts the next at its flip);
- **links**: utilisation of every switch-to-switch link direction, sampled, and its mean per
  phase (accounted bytes x 8 / time / rate); **variance** = population variance over the
  directions of those means (the AISID paper's link bandwidth utilisation variance);
- **nodes**: busy fraction of every service node per phase and per window; variance over nodes;
  ``job_stats`` (:meth:`traces.service.ServiceNode.job_stats`: stray data units with no
  ``REQ``, incomplete and expired jobs), summed in :meth:`ScenarioResults.node_jobs`.
  A phase's utilisation is measured over its part of the steady state
  (:meth:`cpn.scenario.Scenario.steady_window`: warm-up and drain left out), or over the whole
  phase when it has no such part;
- **losses**: ``net.losses()`` (every frame the network lost, ``where/why``), split into the
  part each fault explains and the rest (``unexplained``: 0 in a healthy run);
- **drops by reason**: the network's losses by ``why`` and the data plane's ``drop_reasons``
  counters (telemetry's last poll, summed over switches);
- **versions**: the controller's swap history, the ``active_policy_version`` the ingress
  gateways held at each control interval, and the versions seen;
- **outages**: every stretch a service had no site (``Controller.outages``: from ``t0`` to
  ``t1``, why, packets punted), with the requests that failed while it lasted; a request that
  failed while its service had no site at its gateway has ``no_site`` set.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dump import code_fingerprint
from .observe import node_utilisation_series


@dataclass
class ScenarioResults:
    meta: dict[str, Any]
    requests: list[dict[str, Any]]
    phases: list[dict[str, Any]]
    links: dict[str, Any]
    nodes: dict[str, Any]
    losses: dict[str, int]
    fault_losses: list[dict[str, int]]
    unexplained_losses: dict[str, int]
    drops: dict[str, dict[str, int]]
    versions: dict[str, Any]
    faults: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    flow_tables: dict[str, dict[str, int]] = field(default_factory=dict)
    """Egress gateway ``egw.stats`` at the end, per gateway (``shared``: flow-table slots two
    live flows came to share - the follower keeps the occupant's node, uncounted)."""
    outages: list[dict[str, Any]] = field(default_factory=list)
    """Services without a site (:class:`controlplane.outages.Outage` as a dict, ``t1`` None
    while it lasted to the end), plus ``requests``/``failed``: the workload's requests of the
    service at those gateways whose life overlapped it, and those of them that failed."""
    punts: dict[str, int] = field(default_factory=dict)
    """Packets the ingress gateways punted to the controller, by reason."""

    # -- summaries ------------------------------------------------------------------------------
    def phase_requests(self, i: int) -> list[dict[str, Any]]:
        """The workload's requests that started in phase ``i`` (injected ones left out)."""
        return [r for r in self.requests if r["phase"] == i and not r["injected"]]

    def workload_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if not r["injected"]]

    def node_jobs(self) -> dict[str, int]:
        """The service nodes' ``job_stats`` summed (``held`` left out): stray units and jobs,
        incomplete and expired jobs (all 0 in a healthy run)."""
        keys = ("stray_units", "stray_jobs", "incomplete", "expired")
        per = self.nodes.get("job_stats") or []
        return {k: sum(int(st.get(k, 0)) for st in per) for k in keys}

    def summary(self) -> dict[str, Any]:
        """Per phase: latency percentiles, deadline hits, utilisation variances; overall: losses,
        versions. Plain numbers (JSON-ready)."""
        phases = []
        for i, ph in enumerate(self.phases):
            reqs = self.phase_requests(i)
            phases.append(
                {
                    "policy": ph["policy"],
                    "version": ph["version"],
                    "t0_s": ph["t0"],
                    "t1_s": ph["t1"],
                    **request_stats(reqs),
                    "link_util_mean": _mean(self.links["phase_mean"][i]),
                    "link_util_var": _var(self.links["phase_mean"][i]),
                    "node_util_mean": _mean(self.nodes["phase_mean"][i]),
                    "node_util_var": _var(self.nodes["phase_mean"][i]),
                }
            )
        return {
            "network": self.meta["network"],
            "requests": len(self.workload_requests()),
            "overall": request_stats(self.workload_requests()),
            "phases": phases,
            "lost": sum(self.losses.values()),
            "lost_unexplained": sum(self.unexplained_losses.values()),
            "lost_by_faults": [sum(f.values()) for f in self.fault_losses],
            "node_jobs": self.node_jobs(),
            "versions_seen": self.versions["seen"],
            "swaps": len([s for s in self.versions["swaps"] if s.get("ok")]),
            "outages": [
                {k: o[k] for k in ("service", "service_id", "t0", "t1", "reason", "failed")}
                for o in self.outages
            ],
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["summary"] = self.summary()
        return d

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, default=_jsonable) + "\n")
        return path


def request_stats(reqs: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, outcome mix, initiation/completion latency percentiles (ms, ``ok`` requests),
    deadline hits (of the requests with a deadline; a failed request misses it)."""
    ok = [r for r in reqs if r["outcome"] == "ok"]
    ini = np.array([r["initiation_ms"] for r in reqs if r["initiation_ms"] is not None])
    comp = np.array([r["completion_ms"] for r in ok if r["completion_ms"] is not None])
    with_dl = [r for r in reqs if r["deadline_ms"]]
    met = sum(1 for r in with_dl if r["deadline_met"])
    return {
        "n": len(reqs),
        "ok": len(ok),
        "outcomes": dict(Counter(r["outcome"] for r in reqs)),
        "initiation_ms": _pcts(ini),
        "completion_ms": _pcts(comp),
        "deadline_met": met,
        "deadline_total": len(with_dl),
        "deadline_hit_rate": met / len(with_dl) if with_dl else None,
        "failed_site_moved": sum(1 for r in reqs if r["outcome"] != "ok" and r["site_moved"]),
        "failed_no_site": sum(1 for r in reqs if r["outcome"] != "ok" and r.get("no_site")),
        "site_moved": sum(1 for r in reqs if r["site_moved"]),
    }


def _pcts(a: np.ndarray) -> dict[str, float | None]:
    if not len(a):
        return {"p50": None, "p95": None, "p99": None, "mean": None}
    p = np.percentile(a, [50, 95, 99])
    return {"p50": float(p[0]), "p95": float(p[1]), "p99": float(p[2]), "mean": float(a.mean())}


def _mean(v: list[float]) -> float | None:
    return float(np.mean(v)) if len(v) else None


def _var(v: list[float]) -> float | None:
    return float(np.var(v)) if len(v) else None


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, set | frozenset | tuple):
        return list(o)
    return str(o)


# -- collection -----------------------------------------------------------------------------------
def collect(sc: Any) -> ScenarioResults:
    """Read a scenario (see the module doc)."""
    now = sc.net.now()
    steady = sc.steady_window()
    phases = []
    for p in sc.phases:
        t1 = p.t1 if p.t1 else now
        w0, w1 = max(p.t0, steady[0]), min(t1, steady[1])
        if w1 <= w0:  # the phase lies outside the steady state: its whole span
            w0, w1 = p.t0, t1
        phases.append({"policy": p.policy, "version": p.version, "t0": p.t0, "t1": t1,
                       "window": [w0, w1]})  # fmt: skip
    outages = sc.ctl.outages.report()
    requests = _requests(sc, phases, outages)
    links = _links(sc, phases)
    nodes = _nodes(sc, phases, now)
    losses = sc.net.losses()
    fault_losses, unexplained = _attribute(losses, sc.faults)
    drops = _drops(sc, losses)
    seen = sorted(
        {v for _, vs in sc.versions_seen for v in vs.values()} | {p["version"] for p in phases}
    )
    d = sc.net.description
    meta = {
        "network": d.name,
        "topology": dict(d.topology or {}),
        "switches": len(d.switches),
        "links": len(d.links),
        "ingress_gateways": len(d.ingress_gateways),
        "egress_gateways": len(d.egress_gateways),
        "service_nodes": sum(len(s.nodes) for s in d.sites),
        "seed": sc.seed,
        "requests": len(sc.workload.requests) if sc.workload else 0,
        "mode": sc.mode,
        "policy": sc.policy,
        "interval_s": sc.interval_s,
        "sample_s": sc.sample_s,
        "t_start_s": sc.t_start,
        "steady_window_s": list(steady),
        "t_end_s": now,
        "wall_s": dict(sc.wall_s),
        "command": sc.command,
        "program": sc.net.program.source if sc.net.program else "",
        "code": code_fingerprint(sc.net.program.json_text) if sc.net.program else "",
    }
    return ScenarioResults(
        meta=meta,
        requests=requests,
        phases=phases,
        links=links,
        nodes=nodes,
        losses=losses,
        fault_losses=fault_losses,
        unexplained_losses=unexplained,
        drops=drops,
        versions={
            "swaps": list(sc.swaps),
            "controller_history": list(sc.ctl.swap_history),
            "gateways": [{"t_s": t, "versions": v} for t, v in sc.versions_seen],
            "seen": seen,
            "site_moves": _moves(sc.site_log),
            "telemetry_polls": len(sc.ctl.telemetry.history),
        },
        faults=[f.to_dict() for f in sc.faults],
        events=[(t, e) for t, e in sc.ctl.events[-200:]],
        flow_tables=_flow_tables(sc),
        outages=_outage_requests(outages, requests, sc.t_start),
        punts=dict(sc.ctl.outages.punts),
    )


def _flow_tables(sc: Any) -> dict[str, dict[str, int]]:
    """``egw.stats`` of every egress gateway, read now over P4Runtime (one that cannot be read,
    e.g. a switch being restarted, is left out)."""
    from controlplane.telemetry import EGW_STAT_NAMES, EGW_STATS

    out = {}
    for sw in sc.net.description.egress_gateways:
        client = sc.ctl.telemetry.clients.get(sw.name)
        if client is None:
            continue
        try:
            stats = client.read_counter(EGW_STATS)
        except Exception:  # noqa: BLE001 - a switch that is down has no numbers to give
            continue
        out[sw.name] = {n: stats.get(i, (0, 0))[1] for i, n in enumerate(EGW_STAT_NAMES)}
    return out


def _moves(log: list[tuple[float, dict[Any, Any]]]) -> list[tuple[float, int]]:
    """(time, (gateway, service) pairs sent to another site than before) per decision change
    (a pair that lost or regained its site, :mod:`controlplane.outages`, did not move)."""
    out = []
    for (_, a), (t, b) in zip(log, log[1:], strict=False):
        out.append((t, sum(1 for k in set(a) & set(b) if a[k] != b[k])))
    return out


def _phase_of(t: float, phases: list[dict[str, Any]]) -> int:
    i = 0
    for j, p in enumerate(phases):
        if t >= p["t0"]:
            i = j
    return i


def _site_moved(sc: Any, key: tuple[str, int] | None, t0: float, t1: float) -> bool:
    """Whether the controller sent ``key`` = (ingress gateway, service id) to another site at
    some time in ``(t0, t1]`` than at ``t0``."""
    if key is None:
        return False
    at_start: Any = _ABSENT
    moved = False
    for t, sites in sc.site_log:
        cur = sites.get(key, _ABSENT)
        if t <= t0:
            at_start = cur
        elif t <= t1 and cur is not _ABSENT and at_start is not _ABSENT and cur != at_start:
            moved = True  # (no site at either end: not a move, see ``no_site``)
    return moved


_ABSENT = object()


def _no_site(
    outages: list[dict[str, Any]], igw: str, sid: int | None, t0: float, t1: float
) -> bool:
    """Whether service ``sid`` had no site at ``igw`` at some time in ``[t0, t1]``."""
    return sid is not None and any(
        o["service_id"] == sid
        and igw in o["gateways"]
        and o["t0"] <= t1
        and (o["t1"] is None or o["t1"] >= t0)
        for o in outages
    )


def _outage_requests(
    outages: list[dict[str, Any]], requests: list[dict[str, Any]], t_start: float
) -> list[dict[str, Any]]:
    """Each outage with the workload's requests its service had at its gateways meanwhile."""
    out = []
    for o in outages:
        hit = [
            r
            for r in requests
            if not r["injected"]
            and r["service_id"] == o["service_id"]
            and r["igw"] in o["gateways"]
            and o["t0"] <= t_start + r["t_end_ms"] / 1e3
            and (o["t1"] is None or o["t1"] >= t_start + r["t_start_ms"] / 1e3)
        ]
        failed = sum(1 for r in hit if r["outcome"] != "ok")
        out.append({**o, "requests": len(hit), "failed": failed})
    return out


def _requests(
    sc: Any, phases: list[dict[str, Any]], outages: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    import ipaddress

    out = []
    t0 = sc.t_start
    sid_of = {str(ipaddress.IPv6Address(r.aisid)): r.service_id for r in sc.ctl.registry.services()}
    injected = {(f.target, f.detail.get("request_id")) for f in sc.faults if f.kind == "bad_input"}
    for cname, client in sc.clients.items():
        igw = sc.net.endpoints[cname].switch
        for rec in client.records.values():
            ini, comp = rec.initiation_latency_us, rec.completion_latency_us
            ph = _phase_of(rec.t_start_us / 1e6, phases)
            sid = sid_of.get(_norm(rec.target))
            end = rec.t_end_us if rec.t_end_us is not None else sc.net.now() * 1e6
            moved = _site_moved(
                sc, (igw, sid) if sid is not None else None, rec.t_start_us / 1e6, end / 1e6
            )
            no_site = rec.outcome != "ok" and _no_site(
                outages or [], igw, sid, rec.t_start_us / 1e6, end / 1e6
            )
            out.append(
                {
                    "client": cname,
                    "request_id": rec.request_id,
                    "proto": rec.proto,
                    "service": rec.service,
                    "target": rec.target,
                    "t_start_ms": (rec.t_start_us / 1e6 - t0) * 1e3,
                    "initiation_ms": ini / 1e3 if ini is not None else None,
                    "completion_ms": comp / 1e3 if comp is not None else None,
                    "outcome": rec.outcome,
                    "deadline_ms": rec.deadline_us / 1e3,
                    "deadline_met": rec.deadline_met,
                    "node_id": rec.node_id,
                    "data_bytes": rec.data_bytes,
                    "retransmits": rec.retransmits,
                    "phase": ph,
                    "policy": phases[ph]["policy"],
                    "site_moved": moved,
                    "no_site": no_site,
                    "igw": igw,
                    "service_id": sid,
                    "t_end_ms": (end / 1e6 - t0) * 1e3,
                    "injected": (cname, rec.request_id) in injected,
                    "error": rec.error,
                }
            )
    out.sort(key=lambda r: (r["t_start_ms"], r["client"], r["request_id"]))
    return out


def _norm(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return text


def _links(sc: Any, phases: list[dict[str, Any]]) -> dict[str, Any]:
    ob = sc.observer
    t, u = ob.utilisation_series()
    return {
        "names": ob.names,
        "rate_bps": ob.rates,
        "t": t.tolist(),
        "utilisation": u.tolist(),
        "phase_mean": [ob.mean_utilisation(*p["window"]).tolist() for p in phases],
    }


def _nodes(sc: Any, phases: list[dict[str, Any]], now: float) -> dict[str, Any]:
    names = list(sc.nodes)
    window = max(sc.sample_s, 0.05)
    series_t: list[float] = []
    series = []
    for n in names:
        tt, vals = node_utilisation_series(sc.nodes[n], now, window, sc.t_start)
        series_t = tt.tolist()
        series.append(vals.tolist())
    return {
        "names": names,
        "capacity_tflops": [sc.node_desc[n][1].capacity_tflops for n in names],
        "device": [sc.node_desc[n][1].device for n in names],
        "site": [sc.node_desc[n][0].name for n in names],
        "served": [sc.nodes[n].served for n in names],
        "job_stats": [sc.nodes[n].job_stats() for n in names],
        "t": series_t,
        "utilisation": series,
        "phase_mean": [
            [sc.nodes[n].utilisation(p["window"][0] * 1e6, p["window"][1] * 1e6) for n in names]
            for p in phases
        ],
    }


def _attribute(
    losses: dict[str, int], faults: list[Any]
) -> tuple[list[dict[str, int]], dict[str, int]]:
    """Split losses into those each fault explains (its ``loss_keys``: exact keys or prefixes
    ending in ``/`` or ``-``) and the rest."""
    per = [dict() for _ in faults]  # type: list[dict[str, int]]
    rest: dict[str, int] = {}
    for key, n in losses.items():
        for i, f in enumerate(faults):
            if f.explains(key):
                per[i][key] = n
                break
        else:
            rest[key] = n
    return per, rest


def _drops(sc: Any, losses: dict[str, int]) -> dict[str, dict[str, int]]:
    net: Counter[str] = Counter()
    for key, n in losses.items():
        net[key.rsplit("/", 1)[-1]] += n
    dp: Counter[str] = Counter()
    snap = sc.ctl.telemetry.last
    if snap is not None:
        for per in snap.drops.values():
            for reason, n in per.items():
                dp[reason] += n
    return {"network": dict(net), "data_plane": dict(dp)}


__all__ = ["ScenarioResults", "collect", "request_stats"]
