"""Routing and SIDs: what every switch needs to forward, and SRv6 segment lists for k paths.

Pure functions over a :class:`~controlplane.netdesc.NetworkDescription` (no P4Runtime):
:class:`RoutingPlan` builds a graph of the switches (edge weight = link delay, links marked
down left out) and produces

* :meth:`RoutingPlan.base_entries`: the entries a switch holds whatever the policy: IPv6 LPM
  routes towards every other switch's locator, every host prefix and every site's node prefix
  (next hop on the shortest path by delay), the local routes to attached hosts and service
  nodes, ``my_sid`` End (every switch) and End.DT6 (egress gateways), ``aisid.prefixes``
  (gateways), ``egw.nodes`` / ``egw.node_replies`` (egress gateways) and ``cqf.ports``;
* :meth:`RoutingPlan.paths`: the k shortest simple paths from an ingress gateway to a site's
  egress gateway, each compressed into a loose source route (:class:`SrPath`);
* :meth:`RoutingPlan.encap_entries`: ``srv6_encap.paths`` entries (``h_encaps_<n>``).

Compression: a stretch of the path from segment endpoint ``u`` to a later node ``v`` needs no
segment when the routes this plan installs carry a packet addressed to ``v``'s locator from
``u`` along exactly that stretch (routes follow shortest paths by delay; where two paths tie,
the one the routes chose). Greedily, the segment endpoint moves to the farthest node it can
reach that way; each stop becomes that switch's End SID, the last one the egress gateway's
End.DT6 SID. A path with a hop that the routes never take (a direct link slower than another
way round: End SIDs cannot pin a link) or that needs more than ``max_segments`` segments is
dropped (logged) and the next shortest path taken.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

import networkx as nx

from controlplane.entries import Exact, Lpm, TableEntry, entry, ip6, ip6_prefix, mac
from controlplane.netdesc import NetworkDescription, SwitchDesc

log = logging.getLogger("controlplane.routing")

IPV6_ROUTES = "CpnIngress.routing.ipv6_routes"
ROUTE = "CpnIngress.routing.route"
MY_SID = "CpnIngress.srv6.my_sid"
END = "CpnIngress.srv6.end"
END_DT6 = "CpnIngress.srv6.end_dt6"
AISID_PREFIXES = "CpnIngress.aisid.prefixes"
AISID_PREFIX = "CpnIngress.aisid.aisid_prefix"
EGW_NODES = "CpnIngress.egw.nodes"
SET_NODE_ADDRESS = "CpnIngress.egw.set_node_address"
EGW_NODE_REPLIES = "CpnIngress.egw.node_replies"
REPLY_FROM_NODE = "CpnIngress.egw.reply_from_node"
CQF_PORTS = "CpnIngress.cqf.ports"
CQF_ENABLE = "CpnIngress.cqf.enable"
SRV6_PATHS = "CpnIngress.srv6_encap.paths"
H_ENCAPS = "CpnIngress.srv6_encap.h_encaps_{}"

MAX_PATHS = 4  # srv6_encap.paths path_id 0..3 (traces.constants.MAX_PATHS)
MAX_ENCAP_SEGMENTS = 6  # h_encaps_1 .. h_encaps_6
MAX_FRAME_BYTES = 1500  # CQF budget: one best-effort frame may be in flight (non-preemptive)
GATEWAYS = ("ingress_gateway", "egress_gateway")


@dataclass
class SrPath:
    """One path from an ingress gateway to a site: its switches, SIDs and one-way link delay."""

    nodes: list[str]  # switch names, ingress gateway first, the site's egress gateway last
    segments: list[str]  # SIDs in visiting order; the last is the egress gateway's End.DT6 SID
    delay_us: float

    def to_dict(self) -> dict:
        return {
            "nodes": list(self.nodes),
            "segments": list(self.segments),
            "delay_us": self.delay_us,
        }


@dataclass(frozen=True)
class NextHop:
    switch: str  # the neighbour
    port: int  # own port towards it
    src_mac: int  # own port's MAC
    dst_mac: int  # the neighbour's port MAC


@dataclass
class _Tree:
    """Shortest paths from one switch: distances (ns) and the paths themselves."""

    dist: dict[str, int]
    paths: dict[str, list[str]] = field(default_factory=dict)


def _weight(delay_us: float) -> int:
    """Edge weight: delay in integer ns (exact sums, so ties are ties), at least 1."""
    return max(1, round(delay_us * 1000))


class RoutingPlan:
    """Routes, SIDs and SRv6 paths of a network, with ``down_links`` out of service."""

    def __init__(
        self, net: NetworkDescription, down_links: Iterable[frozenset[str]] = frozenset()
    ) -> None:
        self.net = net
        self._switches: dict[str, SwitchDesc] = {s.name: s for s in net.switches}
        self.down_links: frozenset[frozenset[str]] = frozenset(frozenset(d) for d in down_links)
        self._check_down_links()
        self.graph = self._build_graph()
        self._trees: dict[str, _Tree] = {}
        self._paths: dict[tuple[str, int, int], list[SrPath]] = {}

    # -- the graph -----------------------------------------------------------------------------
    def _check_down_links(self) -> None:
        pairs = {frozenset((ln.a, ln.b)) for ln in self.net.links}
        for d in self.down_links:
            if len(d) != 2:
                raise ValueError(f"down link {sorted(d)} must name two switches")
            for name in d:
                if name not in self._switches:
                    raise KeyError(f"down link {'-'.join(sorted(d))}: no switch named {name!r}")
            if d not in pairs:
                raise ValueError(f"down link {'-'.join(sorted(d))}: no such link in the network")

    def _build_graph(self) -> nx.Graph:
        g = nx.Graph()
        g.add_nodes_from(sorted(self._switches))
        for ln in sorted(self.net.links, key=lambda x: (x.a, x.b, x.a_port, x.b_port)):
            if frozenset((ln.a, ln.b)) in self.down_links:
                continue
            w = _weight(ln.delay_us)
            old = g.get_edge_data(ln.a, ln.b)
            if old is not None and old["weight"] <= w:
                continue  # parallel links: the faster one carries the routes
            g.add_edge(
                ln.a, ln.b, weight=w, delay_us=ln.delay_us, ports={ln.a: ln.a_port, ln.b: ln.b_port}
            )
        return g

    def switch(self, name: str) -> SwitchDesc:
        try:
            return self._switches[name]
        except KeyError:
            raise KeyError(
                f"unknown switch {name!r} (the network has {', '.join(sorted(self._switches))})"
            ) from None

    def _tree(self, src: str) -> _Tree:
        t = self._trees.get(src)
        if t is None:
            dist, paths = nx.single_source_dijkstra(self.graph, src, weight="weight")
            t = self._trees[src] = _Tree(dist, paths)
        return t

    def next_hop(self, src: str, dst: str) -> NextHop | None:
        """Where ``src`` sends packets for switch ``dst`` (None: itself or unreachable)."""
        self.switch(src)
        self.switch(dst)
        path = self._tree(src).paths.get(dst)
        if path is None or len(path) < 2:
            return None
        nb = path[1]
        port = self.graph.edges[src, nb]["ports"]
        own, peer = port[src], port[nb]
        return NextHop(
            nb,
            own,
            mac(self._switches[src].port(own).mac),
            mac(self._switches[nb].port(peer).mac),
        )

    def route_path(self, src: str, dst: str) -> list[str] | None:
        """The switches a packet for ``dst``'s locator crosses from ``src``, hop by hop through
        the routes this plan installs (None when unreachable)."""
        out = [src]
        while out[-1] != dst:
            nh = self.next_hop(out[-1], dst)
            if nh is None or len(out) > len(self._switches):
                return None
            out.append(nh.switch)
        return out

    def delay_us(self, nodes: list[str]) -> float:
        return sum(self.graph.edges[a, b]["delay_us"] for a, b in itertools.pairwise(nodes))

    # -- base entries --------------------------------------------------------------------------
    def _route(self, prefix: str, port: int, src_mac: str | int, dst_mac: str | int) -> TableEntry:
        value, plen = ip6_prefix(prefix)
        return entry(
            IPV6_ROUTES,
            {"dst_addr": Lpm(value, plen)},
            ROUTE,
            {"port": port, "src_mac": mac(src_mac), "dst_mac": mac(dst_mac)},
        )

    def _remote(self, sw: str, dst_switch: str, prefix: str) -> TableEntry | None:
        nh = self.next_hop(sw, dst_switch)
        if nh is None:
            if dst_switch != sw:
                log.info("%s: no route to %s (%s unreachable)", sw, prefix, dst_switch)
            return None
        return self._route(prefix, nh.port, nh.src_mac, nh.dst_mac)

    def _attached(
        self, sw: SwitchDesc, prefix: str, members: list[tuple[str, str, int, str]]
    ) -> list[TableEntry]:
        """Routes out of ``sw`` to attached (name, address, port, mac) members of ``prefix``:
        the prefix when they share one port and MAC, else one /128 per member."""
        if len({(p, m) for _, _, p, m in members}) == 1:
            _, _, port, dmac = members[0]
            return [self._route(prefix, port, sw.port(port).mac, dmac)]
        return [self._route(f"{a}/128", p, sw.port(p).mac, m) for _, a, p, m in members]

    def base_entries(self, switch_name: str) -> list[TableEntry]:
        """Every policy-independent entry of ``switch_name`` (see the module docstring)."""
        sw = self.switch(switch_name)
        name = sw.name
        out: list[TableEntry] = []
        # Routes to the other switches' locators (and so to their SIDs).
        for other in sorted(self._switches):
            if other != name:
                e = self._remote(name, other, self._switches[other].locator)
                if e is not None:
                    out.append(e)
        # Hosts: their prefix (or /128s where a prefix spans switches, ports or MACs).
        by_prefix: dict[str, list] = {}
        for h in self.net.hosts:
            prefix = h.prefix or str(ipaddress.IPv6Network(f"{h.address}/64", strict=False))
            by_prefix.setdefault(prefix, []).append(h)
        for prefix, hosts in sorted(by_prefix.items()):
            where = {h.switch for h in hosts}
            if len(where) == 1:
                [at] = where
                if at == name:
                    out += self._attached(
                        sw, prefix, [(h.name, h.address, h.port, h.mac) for h in hosts]
                    )
                else:
                    e = self._remote(name, at, prefix)
                    out += [e] if e else []
                continue
            for h in hosts:
                if h.switch == name:
                    out += self._attached(
                        sw, f"{h.address}/128", [(h.name, h.address, h.port, h.mac)]
                    )
                else:
                    e = self._remote(name, h.switch, f"{h.address}/128")
                    out += [e] if e else []
        # Sites: node prefix towards the egress gateway; there, out of the nodes' ports.
        for site in sorted(self.net.sites, key=lambda s: s.site_id):
            if site.egress_gateway != name:
                e = self._remote(name, site.egress_gateway, site.node_prefix)
                out += [e] if e else []
            elif site.nodes:
                members = [(n.name, n.address, n.port, n.mac) for n in site.nodes]
                out += self._attached(sw, site.node_prefix, members)
        # Local SIDs.
        out.append(entry(MY_SID, {"sid": Lpm(ip6(self.net.end_sid(sw)), 128)}, END))
        if sw.role == "egress_gateway":
            out.append(entry(MY_SID, {"sid": Lpm(ip6(self.net.dt6_sid(sw)), 128)}, END_DT6))
        # AISID prefixes at the gateways.
        if sw.role in GATEWAYS:
            for p in self.net.aisid_prefixes:
                value, plen = ip6_prefix(p)
                if plen > 64:
                    raise ValueError(f"aisid_prefixes: {p} is longer than /64")
                out.append(entry(AISID_PREFIXES, {"prefix": Lpm(value >> 64, plen)}, AISID_PREFIX))
        # Service nodes of the sites this switch is the egress gateway of.
        if sw.role == "egress_gateway":
            for site in self.net.sites:
                if site.egress_gateway != name:
                    continue
                for n in site.nodes:
                    out.append(
                        entry(
                            EGW_NODES,
                            {"node_id": Exact(n.node_id)},
                            SET_NODE_ADDRESS,
                            {"address": ip6(n.address)},
                        )
                    )
                value, plen = ip6_prefix(site.node_prefix)
                out.append(entry(EGW_NODE_REPLIES, {"src_addr": Lpm(value, plen)}, REPLY_FROM_NODE))
        out += self._cqf_entries(sw)
        return _unique(out, name)

    def _cqf_entries(self, sw: SwitchDesc) -> list[TableEntry]:
        cqf = self.net.cqf
        ports = sorted({p for s, p in cqf.ports if s == sw.name})
        if not ports:
            return []
        t = cqf.cycle_us
        if t < 1 or t & (t - 1):
            raise ValueError(f"cqf.cycle_us must be a power of two, got {t}")
        shift = int(math.log2(t))
        out = []
        for p in ports:
            if cqf.cycle_bytes:
                budget = cqf.cycle_bytes
            else:
                budget = max(0, int(sw.port(p).rate_bps * t / 8e6) - MAX_FRAME_BYTES)
            out.append(
                entry(
                    CQF_PORTS,
                    {"port": Exact(p)},
                    CQF_ENABLE,
                    {"cycle_shift": shift, "cycle_bytes": budget},
                )
            )
        return out

    def all_base_entries(self) -> dict[str, list[TableEntry]]:
        return {n: self.base_entries(n) for n in sorted(self._switches)}

    # -- SRv6 paths ----------------------------------------------------------------------------
    def compress(self, nodes: list[str]) -> list[str] | None:
        """The shortest loose source route (SIDs) that makes the routes carry a packet along
        ``nodes``; None when a hop is one the routes never take."""
        if len(nodes) < 2:
            return None
        segs: list[str] = []
        i = 0
        last = len(nodes) - 1
        while True:
            j = i
            while j < last and self.route_path(nodes[i], nodes[j + 1]) == nodes[i : j + 2]:
                j += 1
            if j == i:
                return None  # nodes[i] -> nodes[i+1]: the routes go another way
            if j == last:
                segs.append(self.net.dt6_sid(nodes[last]))
                return segs
            segs.append(self.net.end_sid(nodes[j]))
            i = j

    def paths(self, igw: str, site: str | int, k: int | None = None) -> list[SrPath]:
        """Up to ``k`` (default: the network's ``k_paths``) distinct shortest simple paths from
        ``igw`` to ``site``'s egress gateway, by delay, as segment lists of at most
        ``max_segments`` SIDs (an empty list when the site is unreachable or local)."""
        k = self.net.controller.k_paths if k is None else k
        if not 1 <= k <= MAX_PATHS:
            raise ValueError(f"k must be in 1..{MAX_PATHS}, got {k}")
        max_seg = self.net.controller.max_segments
        if not 1 <= max_seg <= MAX_ENCAP_SEGMENTS:
            raise ValueError(
                f"controller.max_segments must be in 1..{MAX_ENCAP_SEGMENTS}, got {max_seg}"
            )
        src = self.switch(igw).name
        site_desc = self.net.site(site)
        key = (src, site_desc.site_id, k)
        if key not in self._paths:
            self._paths[key] = self._k_paths(src, site_desc.egress_gateway, k, max_seg)
        return [SrPath(list(p.nodes), list(p.segments), p.delay_us) for p in self._paths[key]]

    def _k_paths(self, src: str, dst: str, k: int, max_seg: int) -> list[SrPath]:
        self.switch(dst)
        if src == dst or not nx.has_path(self.graph, src, dst):
            if src != dst:
                log.warning("no path from %s to egress gateway %s", src, dst)
            return []
        out: list[SrPath] = []
        seen: set[tuple[str, ...]] = set()
        budget = 16 * MAX_PATHS  # candidates looked at before giving up on more paths
        for nodes in islice(
            nx.shortest_simple_paths(self.graph, src, dst, weight="weight"), budget
        ):
            segs = self.compress(nodes)
            if segs is None:
                log.info(
                    "path %s skipped: a hop the routes never take (needs an adjacency SID)",
                    "-".join(nodes),
                )
                continue
            if len(segs) > max_seg:
                log.info(
                    "path %s skipped: needs %d segments > max_segments %d",
                    "-".join(nodes),
                    len(segs),
                    max_seg,
                )
                continue
            if tuple(segs) in seen:
                continue
            seen.add(tuple(segs))
            out.append(SrPath(list(nodes), segs, self.delay_us(nodes)))
            if len(out) == k:
                break
        return out

    def all_paths(self, k: int | None = None) -> dict[tuple[str, int], list[SrPath]]:
        """Paths of every (ingress gateway, site id)."""
        return {
            (g.name, s.site_id): self.paths(g.name, s.site_id, k)
            for g in self.net.ingress_gateways
            for s in self.net.sites
        }

    def encap_entries(
        self, version: int, igw: str, site_id: int | str, paths: list[SrPath]
    ) -> list[TableEntry]:
        """``srv6_encap.paths`` entries (path_id = index in ``paths``) of one (igw, site)."""
        return encap_entries(self.net, version, igw, site_id, paths)


def encap_entries(
    net: NetworkDescription, version: int, igw: str, site_id: int | str, paths: list[SrPath]
) -> list[TableEntry]:
    """``srv6_encap.paths`` entries: ``h_encaps_<n>(src = igw's source address, s1..sn)``."""
    if len(paths) > MAX_PATHS:
        raise ValueError(f"at most {MAX_PATHS} paths per (ingress gateway, site), got {len(paths)}")
    sid = net.site(site_id).site_id
    src = ip6(net.src_address(net.switch(igw)))
    out = []
    for i, p in enumerate(paths):
        n = len(p.segments)
        if not 1 <= n <= MAX_ENCAP_SEGMENTS:
            raise ValueError(f"path {i} has {n} segments; h_encaps takes 1..{MAX_ENCAP_SEGMENTS}")
        params = {"src": src, **{f"s{j + 1}": ip6(s) for j, s in enumerate(p.segments)}}
        out.append(
            entry(
                SRV6_PATHS,
                {"policy_version": Exact(version), "site_id": Exact(sid), "path_id": Exact(i)},
                H_ENCAPS.format(n),
                params,
            )
        )
    return out


def changed_switches(old: RoutingPlan, new: RoutingPlan) -> set[str]:
    """Switches whose base entries differ between two plans (e.g. before/after a link down)."""
    names = set(old._switches) | set(new._switches)
    out = set()
    for n in names:
        a = set(old.base_entries(n)) if n in old._switches else set()
        b = set(new.base_entries(n)) if n in new._switches else set()
        if a != b:
            out.add(n)
    return out


def _unique(entries: list[TableEntry], switch: str) -> list[TableEntry]:
    """Drop exact duplicates; two different entries with one key are a network-file error."""
    seen: dict[tuple, TableEntry] = {}
    for e in entries:
        old = seen.get(e.key())
        if old is not None and old != e:
            raise ValueError(
                f"switch {switch}: conflicting {e.table} entries for {dict(e.match)}: "
                f"{old.action}{dict(old.params)} vs {e.action}{dict(e.params)}"
            )
        seen[e.key()] = e
    return list(seen.values())
