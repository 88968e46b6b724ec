"""The AISID paper's workload (Table 3), seeded, saved as a trace file and replayed.

Table 3 of the AISID paper: 20 service types users can request, 10 service types a provider
offers, bandwidth demand 20-100 Mbit/s, compute demand 1-10 TFLOPS, 500 concurrent requests
(on 42-node Chinanet, 100 Gbit/s links of 5 ms, 10,000 TFLOPS of service nodes: the network
description's business). How it is read here:

* **Service types**: ``service_types`` (20) AISIDs under the network's first AISID prefix
  (Object = type id, Function = Method = 1, Performance = the type's deadline in 100 µs units),
  DNS names ``svc<id>.<zone>``. Each compute site provides ``types_per_site`` (10) of them: type
  ``i`` goes to site ``i mod S`` first (every type is provided somewhere), then each site is
  filled up with a seeded choice of the others. A network description that lists ``services``
  defines the types instead (one per distinct AISID, provided at the listed sites and their
  ``replicas``).
* **Per request** (independent, uniform): client host (hosts of kind ``client``), service type,
  bandwidth demand ``rate_bps`` in [20, 100] Mbit/s, transfer duration in ``duration_s``
  ([0.2, 1.0] s) so ``data_bytes = rate * duration / 8``, compute demand in [1, 10]: Table 3
  gives TFLOPS; a request carries that many TFLOP of work (one second at that rate), which a node
  of capacity C computes in ``demand / C`` s; reply size in ``reply_bytes``; transport TCP with
  probability ``tcp_share``; deadline = the service type's (AISID Performance).
* **Arrivals**: Poisson with rate ``concurrent / hold_s`` (Little's law; ``hold_s`` defaults
  to the mean transfer duration), so about ``concurrent`` requests are in flight once the first
  ``hold_s`` has passed.

**Trace file** (JSON lines): line 1 is the header ``{"format": "cpn-p4-workload/1", "seed",
"command", "network", "params", "catalog": [service types], "count"}``; then one request per
line ``{"index", "t_us", "client", "client_address", "service", "aisid", "dns_name", "proto",
"data_bytes", "rate_bps", "compute_tflop", "reply_bytes", "deadline_us"}`` in arrival order.
Times are integer µs from the start of the run; :meth:`Workload.load` gives back an equal
workload, and :meth:`Workload.drive` replays it on clients.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from traces.aisid import AISID, performance_from_latency_us

FORMAT = "cpn-p4-workload/1"
DEFAULT_PREFIX = "2001:db8:abcd:12::/64"


@dataclass(frozen=True)
class ServiceType:
    type_id: int
    name: str
    aisid: str
    dns_name: str
    sites: tuple[str, ...]
    deadline_us: int


@dataclass(frozen=True)
class WorkloadRequest:
    index: int
    t_us: int
    client: str
    client_address: str
    service: int
    aisid: str
    dns_name: str
    proto: str
    data_bytes: int
    rate_bps: int
    compute_tflop: float
    reply_bytes: int
    deadline_us: int


@dataclass
class WorkloadParams:
    """Generation parameters (defaults: the AISID paper's Table 3, see the module doc)."""

    service_types: int = 20
    types_per_site: int = 10
    concurrent: int = 500
    rate_bps: tuple[float, float] = (20e6, 100e6)
    compute_tflop: tuple[float, float] = (1.0, 10.0)
    duration_s: tuple[float, float] = (0.2, 1.0)
    reply_bytes: tuple[int, int] = (1_000, 64_000)
    deadline_slack_s: tuple[float, float] = (0.5, 1.5)
    tcp_share: float = 0.5
    hold_s: float | None = None
    zone: str = "cpn.example"

    def check(self) -> None:
        for name in ("rate_bps", "compute_tflop", "duration_s", "reply_bytes", "deadline_slack_s"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"workload {name} must be a range 0 < lo <= hi, got {(lo, hi)}")
        if self.service_types < 1 or self.types_per_site < 1 or self.concurrent < 1:
            raise ValueError("service_types, types_per_site and concurrent must be >= 1")
        if self.types_per_site > self.service_types:
            raise ValueError(
                f"types_per_site {self.types_per_site} > service_types {self.service_types}"
            )
        if not 0 <= self.tcp_share <= 1:
            raise ValueError(f"tcp_share must be in [0, 1], got {self.tcp_share}")
        if self.hold_s is not None and self.hold_s <= 0:
            raise ValueError(f"hold_s must be positive, got {self.hold_s}")
        if self.duration_s[1] + self.deadline_slack_s[1] > 6.5535:
            raise ValueError("duration + slack must fit the AISID Performance field (6.5535 s)")


def _catalog(net: Any, p: WorkloadParams, rng: np.random.Generator) -> list[ServiceType]:
    if net.services:
        by_aisid: dict[str, list[Any]] = {}
        for s in net.services:
            by_aisid.setdefault(str(ipaddress.IPv6Address(s.aisid)), []).append(s)
        out = []
        for i, (aisid, descs) in enumerate(by_aisid.items(), 1):
            budget = AISID.from_address(aisid).latency_budget_us or 0
            deadline = max([d.deadline_us for d in descs] + [budget])
            sites = tuple(dict.fromkeys(s for d in descs for s in (d.site, *d.replicas)))
            out.append(ServiceType(i, descs[0].name, aisid, f"{descs[0].name}.{p.zone}", sites,
                                   deadline))  # fmt: skip
        return out
    sites = [s.name for s in net.sites]
    if not sites:
        raise ValueError(f"network {net.name!r} has no compute sites to provide services")
    if len(sites) * p.types_per_site < p.service_types:
        raise ValueError(
            f"{len(sites)} sites x {p.types_per_site} types per site cannot provide "
            f"{p.service_types} service types; lower service_types or raise types_per_site"
        )
    provided: dict[str, set[int]] = {s: set() for s in sites}
    for t in range(1, p.service_types + 1):
        provided[sites[(t - 1) % len(sites)]].add(t)
    for s in sites:
        others = [t for t in range(1, p.service_types + 1) if t not in provided[s]]
        extra = p.types_per_site - len(provided[s])
        if extra > 0:
            provided[s].update(int(t) for t in rng.choice(others, size=extra, replace=False))
    prefix = net.aisid_prefixes[0] if net.aisid_prefixes else DEFAULT_PREFIX
    out = []
    for t in range(1, p.service_types + 1):
        slack = rng.uniform(*p.deadline_slack_s)
        perf = performance_from_latency_us((p.duration_s[1] + slack) * 1e6)
        aisid = AISID.from_fields(prefix, t, 1, 1, perf)
        sites_t = tuple(s for s in sites if t in provided[s])
        out.append(
            ServiceType(t, f"svc{t}", aisid.address, f"svc{t}.{p.zone}", sites_t, perf * 100)
        )
    return out


@dataclass
class Workload:
    """A list of timed requests plus the service catalogue they draw from."""

    requests: list[WorkloadRequest]
    catalog: list[ServiceType]
    seed: int
    params: WorkloadParams = field(default_factory=WorkloadParams)
    network: str = ""
    command: str = ""

    # -- generation -----------------------------------------------------------------------------
    @classmethod
    def generate(
        cls,
        net: Any,
        requests: int,
        seed: int,
        params: WorkloadParams | None = None,
        command: str = "",
    ) -> Workload:
        """``requests`` seeded requests over the client hosts of ``net`` (a
        :class:`controlplane.netdesc.NetworkDescription`)."""
        p = params or WorkloadParams()
        p.check()
        if requests < 0:
            raise ValueError(f"requests must be >= 0, got {requests}")
        clients = [h for h in net.hosts if h.kind == "client"]
        if not clients:
            raise ValueError(f"network {net.name!r} has no hosts of kind 'client'")
        rng = np.random.default_rng(seed)
        catalog = _catalog(net, p, rng)
        hold = p.hold_s or sum(p.duration_s) / 2
        gaps = rng.exponential(hold / p.concurrent, size=requests)
        t = np.cumsum(gaps) - (gaps[0] if requests else 0)  # the first request at t = 0
        out = []
        for i in range(requests):
            host = clients[int(rng.integers(len(clients)))]
            st = catalog[int(rng.integers(len(catalog)))]
            rate = int(rng.uniform(*p.rate_bps))
            duration = float(rng.uniform(*p.duration_s))
            out.append(
                WorkloadRequest(
                    index=i,
                    t_us=int(round(t[i] * 1e6)),
                    client=host.name,
                    client_address=host.address,
                    service=st.type_id,
                    aisid=st.aisid,
                    dns_name=st.dns_name,
                    proto="tcp" if rng.random() < p.tcp_share else "udp",
                    data_bytes=max(1, int(rate * duration / 8)),
                    rate_bps=rate,
                    compute_tflop=round(float(rng.uniform(*p.compute_tflop)), 3),
                    reply_bytes=int(rng.integers(p.reply_bytes[0], p.reply_bytes[1] + 1)),
                    deadline_us=st.deadline_us,
                )
            )
        cmd = command or f"Workload.generate(net={net.name!r}, requests={requests}, seed={seed})"
        return cls(out, catalog, seed, p, net.name, cmd)

    # -- views ----------------------------------------------------------------------------------
    def service_type(self, type_id: int) -> ServiceType:
        for st in self.catalog:
            if st.type_id == type_id:
                return st
        raise KeyError(f"no service type {type_id}")

    def dns_records(self, net: Any) -> dict[str, list[str]]:
        """``{dns name: [addresses of the nodes of every site providing it]}``."""
        nodes = {s.name: [n.address for n in s.nodes] for s in net.sites}
        return {st.dns_name: [a for s in st.sites for a in nodes.get(s, [])] for st in self.catalog}

    def service_descs(self) -> list[Any]:
        """One :class:`controlplane.netdesc.ServiceDesc` per (service type, site)."""
        from controlplane.netdesc import ServiceDesc

        return [
            ServiceDesc(name=st.name, aisid=st.aisid, site=s, deadline_us=st.deadline_us)
            for st in self.catalog
            for s in st.sites
        ]

    def concurrency(self, hold_s: float | None = None) -> np.ndarray:
        """Requests in flight at each arrival if each lasts its transfer time (or ``hold_s``)."""
        starts = np.array([r.t_us for r in self.requests], dtype=np.float64)
        ends = starts + np.array(
            [hold_s * 1e6 if hold_s else r.data_bytes * 8 / r.rate_bps * 1e6 for r in self.requests]
        )
        return np.array([np.sum((starts <= s) & (ends > s)) for s in starts])

    # -- replay ---------------------------------------------------------------------------------
    def drive(
        self,
        clients: Mapping[str, Any],
        mode: Literal["aisid", "dns"] = "aisid",
        start_us: float | None = None,
    ) -> None:
        """Schedule every request on its client (``{host name: AisidClient}``) at
        ``start_us + t_us`` (default: now); ``mode`` picks the AISID or the DNS name."""
        if mode not in ("aisid", "dns"):
            raise ValueError(f"mode must be 'aisid' or 'dns', got {mode!r}")
        missing = sorted({r.client for r in self.requests} - set(clients))
        if missing:
            raise KeyError(f"no client program for host(s) {', '.join(missing)}")
        for r in self.requests:
            c = clients[r.client]
            t0 = c.host.now_us() if start_us is None else start_us
            c.host.at(t0 + r.t_us, lambda r=r, c=c: self._issue(c, r, mode))

    @staticmethod
    def _issue(client: Any, r: WorkloadRequest, mode: str) -> None:
        client.request(
            AISID.from_address(r.aisid) if mode == "aisid" else r.dns_name,
            r.data_bytes,
            r.proto,
            r.index,
            rate_bps=r.rate_bps,
            compute_tflop=r.compute_tflop,
            reply_bytes=r.reply_bytes,
            service=r.service,
            deadline_us=r.deadline_us,
        )

    # -- file -----------------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "seed": self.seed,
            "command": self.command,
            "network": self.network,
            "params": asdict(self.params),
            "catalog": [asdict(st) for st in self.catalog],
            "count": len(self.requests),
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(self.header())]
        lines += [json.dumps(asdict(r)) for r in self.requests]
        path.write_text("\n".join(lines) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Workload:
        path = Path(path)
        lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
        if not lines:
            raise ValueError(f"{path}: empty workload file")
        try:
            head = json.loads(lines[0])
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:1: header is not JSON: {e}") from None
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            got = head.get("format") if isinstance(head, dict) else head
            raise ValueError(f"{path}:1: not a {FORMAT} file (format={got!r})")
        names = [f.name for f in fields(WorkloadRequest)]
        reqs = []
        for n, line in enumerate(lines[1:], 2):
            try:
                d = json.loads(line)
                reqs.append(WorkloadRequest(**{k: d[k] for k in names}))
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(f"{path}:{n}: bad request line: {e!r}") from None
        if head.get("count") != len(reqs):
            raise ValueError(f"{path}: header says {head.get('count')} requests, found {len(reqs)}")
        pd = dict(head.get("params", {}))
        for k, v in pd.items():
            if isinstance(v, list):
                pd[k] = tuple(v)
        catalog = [ServiceType(**{**c, "sites": tuple(c["sites"])}) for c in head["catalog"]]
        return cls(
            reqs, catalog, head["seed"], WorkloadParams(**pd), head.get("network", ""),
            head.get("command", ""),
        )  # fmt: skip


__all__ = ["FORMAT", "ServiceType", "Workload", "WorkloadParams", "WorkloadRequest"]
