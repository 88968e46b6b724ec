"""Generate a network description from any ``topo/`` topology.

``generate(topology, ingress=N, egress=M, seed=S)`` turns every topology node into a switch and
every (undirected) topology link into a switch-to-switch link, then decides roles, hosts, sites
and services. The same topology, arguments and seed always give the same file.

Role assignment (``U`` = the undirected topology, hop counts as distances):

1. **Egress gateways (sites)** sit where the network is well connected and spread out. Nodes are
   ranked by degree (high first), then hop-count betweenness (high first), then a seeded random
   tie-break. The candidate pool is the first ``max(2M, n/4)`` of that ranking; the first
   gateway is the top-ranked node, each next one the pool node farthest (in hops) from the
   gateways chosen so far (greedy farthest-first; ties to the better rank).
2. **Ingress gateways** sit at the edge, where clients are: the ``N`` remaining nodes of lowest
   degree (then lowest betweenness, then the seeded tie-break).
3. Every other node is **transit**.

Numbering: node ``v`` becomes switch ``s<v+1>`` with device id ``v+1``, P4Runtime address
``host:base_port+v`` and locator ``fc00:0:<device id in hex>::/48``. Ports are numbered from 1,
one per neighbour in neighbour order, then hosts (ingress gateways) or service nodes (egress
gateways); port 255 (CPU) is skipped. MACs are locally administered: switch port
``02:00:<device id>:<port>``, host ``02:01:<device id>:00:<k>``, service node
``02:02:<site id>:00:<node id>`` (16-bit numbers as two bytes each).

Hosts: ``hosts_per_ingress`` clients per ingress gateway, host ``k`` (from 1) named
``h<id>_<k>`` with prefix ``fd00:<id>:<k-1>::/64`` and address ``...::10``. Access ports run at
``link_rate_bps`` (100 Gbit/s when not given) with no propagation delay.

Sites: one per egress gateway, in device-id order, ``site<k>`` (site id ``k``), node prefix
``fd01:<k>::/64``, ``nodes_per_site`` nodes ``n<k>_<j>`` at ``fd01:<k>::<0x20+j>``. Each
node's device is drawn (seeded) from ``devices`` (default: the GPU and CPU batch-1 devices of
:mod:`agents.latency.devices`); capacities are proportional to each device's speed in the
shipped latency model (``2 / (min_ms + max_ms)``) and add up to ``tflops_total``.

Links take rate and delay from the topology (``capacity_mbps``, ``delay_ms``; the smaller rate
and the larger delay when the two directions differ) unless ``link_rate_bps`` /
``link_delay_us`` override them (the AISID paper: 100 Gbit/s, 5 ms).

Services: ``services`` AISIDs in ``aisid_prefix``, service ``i`` (from 1) named ``svc<i>`` with
Object ``i``, Function ``1 + (i-1) % 4``, Method 1 and a Performance (latency budget) drawn from
100 ms, 200 ms, 500 ms and 1 s; with two or more services the last one is deterministic
(Performance 20 = 2 ms, traffic class 1). Services go to sites round robin (the home site), and
each is also provided by the next ``sites_per_service - 1`` sites (replicas), so that
site-choosing schedulers have a choice. CQF is on no port.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

import networkx as nx
import numpy as np

from controlplane.netdesc import (
    HostDesc,
    LinkDesc,
    NetworkDescription,
    PortDesc,
    ServiceDesc,
    ServiceNodeDesc,
    SiteDesc,
    SwitchDesc,
)
from controlplane.netvalidate import MAX_PORT, parse, summary
from topo.graph import Topology
from traces.aisid import AISID, performance_from_latency_us
from traces.constants import CPU_PORT, TrafficClass

ACCESS_RATE_BPS = 100e9
ACCESS_DELAY_US = 0.0
PERFORMANCE_CHOICES_MS = (100, 200, 500, 1000)
DETERMINISTIC_PERFORMANCE = 20  # 2 ms, inside the deterministic range 1..20


def default_devices() -> list[str]:
    """GPU and CPU devices of the shipped latency model, batch size 1 (``*_32``/``*_256`` left out)."""
    from agents.latency.devices import DeviceLatencyModel

    model = DeviceLatencyModel.default()
    return [
        d
        for d in model.devices
        if model.kind(d) in ("gpu", "cpu") and not d.endswith(("_32", "_256"))
    ]


def _device_speeds(devices: list[str]) -> dict[str, float]:
    """Relative speed ``2 / (min_ms + max_ms)``; devices outside the model get their kind's mean."""
    from agents.latency.devices import DeviceLatencyModel, device_kind

    model = DeviceLatencyModel.default()
    speed = {d: 2.0 / (f.min_ms + f.max_ms) for d, f in model.fits.items()}
    out = {}
    for d in devices:
        if d in speed:
            out[d] = speed[d]
        else:
            kind = device_kind(d)
            same = [s for n, s in speed.items() if model.kind(n) == kind] or list(speed.values())
            out[d] = float(np.mean(same))
    return out


def assign_roles(topology: Topology, ingress: int, egress: int, seed: int = 0) -> dict[int, str]:
    """Role of every node (see the module docstring)."""
    n = topology.n_nodes
    if ingress < 1 or egress < 1 or ingress + egress > n:
        raise ValueError(
            f"need 1 <= ingress, 1 <= egress and ingress + egress <= {n} nodes; "
            f"got ingress={ingress}, egress={egress}"
        )
    u = nx.Graph(topology.graph.to_undirected(as_view=True))
    if not nx.is_connected(u):
        raise ValueError(f"topology {topology.name} is not connected")
    deg = dict(u.degree())
    btw = nx.betweenness_centrality(u)
    tie = np.random.default_rng(seed).permutation(n)
    rank = sorted(u.nodes, key=lambda v: (-deg[v], -btw[v], tie[v]))
    pool = rank[: min(n, max(2 * egress, n // 4))]
    order = {v: i for i, v in enumerate(pool)}
    chosen = [pool[0]]
    mindist = dict(nx.single_source_shortest_path_length(u, pool[0]))
    while len(chosen) < egress:
        free = [v for v in pool if v not in chosen]
        nxt = min(free, key=lambda v: (-mindist[v], order[v]))
        chosen.append(nxt)
        for v, d in nx.single_source_shortest_path_length(u, nxt).items():
            mindist[v] = min(mindist[v], d)
    rest = sorted(set(u.nodes) - set(chosen), key=lambda v: (deg[v], btw[v], tie[v]))
    roles = dict.fromkeys(range(n), "transit")
    roles.update(dict.fromkeys(chosen, "egress_gateway"))
    roles.update(dict.fromkeys(rest[:ingress], "ingress_gateway"))
    return roles


def _mac(kind: int, a: int, b: int) -> str:
    octets = [0x02, kind, a >> 8, a & 0xFF, b >> 8, b & 0xFF]
    return ":".join(f"{o:02x}" for o in octets)


class _Ports:
    """Port numbers of one switch: from 1, skipping the CPU port."""

    def __init__(self, sw: SwitchDesc) -> None:
        self.sw, self.next = sw, 1

    def add(self, peer: str, peer_port: int, rate: float, delay: float) -> int:
        if self.next == CPU_PORT:
            self.next += 1
        if self.next > MAX_PORT:
            raise ValueError(f"switch {self.sw.name} would need more than {MAX_PORT - 1} ports")
        number, self.next = self.next, self.next + 1
        mac = _mac(0, self.sw.device_id, number)
        self.sw.ports.append(PortDesc(number, mac, peer, peer_port, rate, delay))
        return number


def generate(
    topology: Topology,
    *,
    ingress: int,
    egress: int,
    nodes_per_site: int = 4,
    seed: int = 0,
    base_port: int = 50051,
    host: str = "127.0.0.1",
    hosts_per_ingress: int = 1,
    link_rate_bps: float | None = None,
    link_delay_us: float | None = None,
    tflops_total: float = 10000.0,
    devices: list[str] | None = None,
    aisid_prefix: str = "2001:db8:a15::/64",
    services: int = 10,
    sites_per_service: int = 2,
) -> NetworkDescription:
    """A validated network description of ``topology`` (see the module docstring)."""
    if not 1 <= nodes_per_site <= 255:
        raise ValueError(f"nodes_per_site must be in 1..255, got {nodes_per_site}")
    if hosts_per_ingress < 0 or services < 0 or not tflops_total > 0:
        raise ValueError("hosts_per_ingress and services must be >= 0, tflops_total > 0")
    if topology.n_nodes > 65535 or base_port + topology.n_nodes - 1 > 65535:
        raise ValueError("too many nodes for 16-bit device ids / TCP ports from base_port")
    prefix = AISID.from_fields(aisid_prefix, 0, 0, 0).prefix_network
    devices = list(devices) if devices is not None else default_devices()
    if not devices:
        raise ValueError("devices must name at least one device")
    speeds = _device_speeds(devices)
    roles = assign_roles(topology, ingress, egress, seed)
    rng = np.random.default_rng([seed, 1])
    g = topology.graph
    hostpart = f"[{host}]" if ":" in host else host

    switches, ports = [], []
    for v in range(topology.n_nodes):
        dev = v + 1
        attrs = g.nodes[v]
        sw = SwitchDesc(
            name=f"s{dev}",
            device_id=dev,
            address=f"{hostpart}:{base_port + v}",
            role=roles[v],  # type: ignore[arg-type]
            locator=f"fc00:0:{dev:x}::/48",
            topo_node=v,
            lat=float(attrs["lat"]) if "lat" in attrs else None,
            lon=float(attrs["lon"]) if "lon" in attrs else None,
        )
        switches.append(sw)
        ports.append(_Ports(sw))

    # switch-to-switch links: ports per neighbour in neighbour order, then the links
    def attrs_of(a: int, b: int) -> tuple[float, float]:
        ds = [g.edges[e] for e in ((a, b), (b, a)) if g.has_edge(*e)]
        rate = link_rate_bps if link_rate_bps else min(d["capacity_mbps"] for d in ds) * 1e6
        if link_delay_us is not None:
            delay = link_delay_us
        else:
            delay = max(d["delay_ms"] for d in ds) * 1e3
        return float(rate), round(float(delay), 3)

    nbrs = {v: sorted(set(g.successors(v)) | set(g.predecessors(v))) for v in g.nodes}
    port_of: dict[tuple[int, int], int] = {}
    for v in range(topology.n_nodes):
        for w in nbrs[v]:
            port_of[v, w] = ports[v].add(f"s{w + 1}", 0, *attrs_of(v, w))
    for (v, w), number in port_of.items():
        switches[v].ports[number - 1 - (number > CPU_PORT)].peer_port = port_of[w, v]
    links = []
    for a, b in sorted({(min(e), max(e)) for e in g.edges}):
        rate, delay = attrs_of(a, b)
        links.append(LinkDesc(f"s{a + 1}", port_of[a, b], f"s{b + 1}", port_of[b, a], rate, delay))

    access_rate = float(link_rate_bps or ACCESS_RATE_BPS)
    hosts = []
    for sw, pa in zip(switches, ports, strict=True):
        if sw.role != "ingress_gateway":
            continue
        for k in range(1, hosts_per_ingress + 1):
            name = f"h{sw.device_id}_{k}"
            net = ipaddress.IPv6Network(f"fd00:{sw.device_id:x}:{k - 1:x}::/64")
            port = pa.add(name, 0, access_rate, ACCESS_DELAY_US)
            hosts.append(
                HostDesc(
                    name=name,
                    address=str(net.network_address + 0x10),
                    mac=_mac(1, sw.device_id, k),
                    switch=sw.name,
                    port=port,
                    prefix=str(net),
                )
            )

    egws = [(sw, pa) for sw, pa in zip(switches, ports, strict=True) if sw.role == "egress_gateway"]
    n_nodes = len(egws) * nodes_per_site
    kinds = [devices[i] for i in rng.integers(0, len(devices), size=n_nodes)]
    weight = np.array([speeds[d] for d in kinds])
    caps = [round(float(c), 3) for c in tflops_total * weight / weight.sum()]
    caps[-1] = round(tflops_total - sum(caps[:-1]), 3)
    sites = []
    for k, (sw, pa) in enumerate(egws, start=1):
        net = ipaddress.IPv6Network(f"fd01:{k:x}::/64")
        site = SiteDesc(k, f"site{k}", sw.name, str(net))
        for j in range(1, nodes_per_site + 1):
            name, i = f"n{k}_{j}", (k - 1) * nodes_per_site + j - 1
            port = pa.add(name, 0, access_rate, ACCESS_DELAY_US)
            addr = str(net.network_address + 0x20 + j)
            site.nodes.append(
                ServiceNodeDesc(j, name, addr, _mac(2, k, j), kinds[i], caps[i], port)
            )
        sites.append(site)

    svcs = []
    budgets = rng.choice(PERFORMANCE_CHOICES_MS, size=services)
    for i in range(1, services + 1):
        det = services >= 2 and i == services
        perf = (
            DETERMINISTIC_PERFORMANCE
            if det
            else performance_from_latency_us(float(budgets[i - 1]) * 1000)
        )
        aisid = AISID.from_fields(prefix, i, 1 + (i - 1) % 4, 1, perf)
        svcs.append(
            ServiceDesc(
                name=f"svc{i}",
                aisid=aisid.address,
                site=sites[(i - 1) % len(sites)].name,
                replicas=[
                    sites[(i - 1 + k) % len(sites)].name
                    for k in range(1, min(max(sites_per_service, 1), len(sites)))
                ],
                traffic_class=int(TrafficClass.DETERMINISTIC if det else TrafficClass.BEST_EFFORT),
                deadline_us=aisid.latency_budget_us or 0,
            )
        )

    labels = {
        f"s{v + 1}": str(g.nodes[v].get("name") or g.nodes[v]["label"])
        for v in g.nodes
        if g.nodes[v].get("name") or g.nodes[v].get("label")
    }
    nd = NetworkDescription(
        name=topology.name,
        switches=switches,
        links=links,
        hosts=hosts,
        sites=sites,
        aisid_prefixes=[str(prefix)],
        services=svcs,
        topology={
            "name": topology.name,
            "source": topology.source,
            "generator": "controlplane.netgen",
            "seed": seed,
            "ingress": ingress,
            "egress": egress,
            "labels": labels,
        },
    )
    return parse(nd.to_dict(), source=f"generated from {topology.name}")


# ------------------------------------------------------------------------------------- CLI
def resolve_topology(spec: str, data_dir: str | Path | None = None, seed: int = 0) -> Topology:
    """A topology by name or path: an existing file (GraphML, edge list, node-link JSON),
    ``abilene`` (built in), a name of :data:`topo.catalog.PAPER_TOPOLOGIES`, a file of that
    name under ``DATA_DIR/topologies/*/`` (e.g. ``chinanet``), or ``synthetic:NODES:LINKS``."""
    from topo.abilene import abilene
    from topo.catalog import PAPER_TOPOLOGIES, default_data_dir, paper_topology
    from topo.loaders import load_topology
    from topo.synthetic import synthetic_topology

    if Path(spec).is_file():
        return load_topology(spec)
    key = spec.lower()
    if key == "abilene":
        return abilene()
    if key.startswith("synthetic:"):
        _, n, links = key.split(":")
        return synthetic_topology(int(n), int(links), seed=seed)
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if key in PAPER_TOPOLOGIES:
        return paper_topology(key, root, seed=seed)
    if root is not None:
        for sub in ("graphml", "nodelink", "edgelist"):
            for f in sorted((root / "topologies" / sub).glob("*")):
                if f.stem.lower() == key:
                    return load_topology(f)
    raise FileNotFoundError(
        f"no topology {spec!r}: not a file, not 'abilene' or 'synthetic:N:L', not one of "
        f"{', '.join(PAPER_TOPOLOGIES)}, and no such file under "
        f"{(root / 'topologies') if root else '$CPN_P4_DATA_DIR/topologies'}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m controlplane.netgen",
        description="Write a network description (JSON) generated from a topology.",
    )
    ap.add_argument("--topology", required=True, help="abilene | NAME | PATH | synthetic:N:L")
    ap.add_argument("--data-dir", type=Path, help="data folder (default $CPN_P4_DATA_DIR)")
    ap.add_argument("--ingress", type=int, required=True, help="ingress gateways")
    ap.add_argument("--egress", type=int, required=True, help="egress gateways (sites)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nodes-per-site", type=int, default=4)
    ap.add_argument("--hosts-per-ingress", type=int, default=1)
    ap.add_argument("--services", type=int, default=10)
    ap.add_argument(
        "--sites-per-service", type=int, default=2, help="sites providing each service (>= 1)"
    )
    ap.add_argument("--tflops-total", type=float, default=10000.0)
    ap.add_argument("--link-rate-bps", type=float, help="override every link's rate")
    ap.add_argument("--link-delay-us", type=float, help="override every link's delay")
    ap.add_argument("--devices", nargs="+", help="device names nodes are drawn from")
    ap.add_argument("--aisid-prefix", default="2001:db8:a15::/64")
    ap.add_argument("--host", default="127.0.0.1", help="P4Runtime host of every switch")
    ap.add_argument("--base-port", type=int, default=50051)
    ap.add_argument("-o", "--output", default="-", help="output file ('-': stdout)")
    args = ap.parse_args(argv)
    try:
        topo = resolve_topology(args.topology, args.data_dir, args.seed)
        nd = generate(
            topo,
            ingress=args.ingress,
            egress=args.egress,
            nodes_per_site=args.nodes_per_site,
            seed=args.seed,
            base_port=args.base_port,
            host=args.host,
            hosts_per_ingress=args.hosts_per_ingress,
            link_rate_bps=args.link_rate_bps,
            link_delay_us=args.link_delay_us,
            tflops_total=args.tflops_total,
            devices=args.devices,
            aisid_prefix=args.aisid_prefix,
            services=args.services,
            sites_per_service=args.sites_per_service,
        )
    except (ValueError, OSError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.output == "-":
        import json

        print(json.dumps(nd.to_dict(), indent=1))
    else:
        nd.save(args.output)
    print(f"wrote {args.output}: {summary(nd)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
