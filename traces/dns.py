"""The DNS baseline: stub, recursive and authoritative resolvers speaking real DNS (Scapy).

The traditional way to reach a service: the client's :class:`StubResolver` asks a
:class:`RecursiveResolver` (UDP port 53, RD set) for the AAAA record of a service name such as
``svc7.cpn.example``; the recursive resolver asks the zone's :class:`AuthoritativeServer`
(root and TLD referrals are taken as cached, as they are in steady state, so the resolver knows
the zone's server) and the authoritative server picks one service-node address:

* :class:`RoundRobin`: rotate through the name's addresses (classic DNS load distribution);
* :class:`Nearest`: the node closest to the client (``distance(client, node)``, e.g.
  :class:`NetDistance` over the network description), as geo-DNS does;
* :class:`LoadAware`: the node with the least measured load (``load(node)``, fed by whatever
  measures the nodes), ties broken by distance when given, then round robin: what global server
  load balancers do (the strongest DNS variant).

The client's location reaches the authoritative server as an EDNS Client Subnet option
(RFC 7871, the client's /64) added by the recursive resolver; answers that depend on it carry a
scope of /64 and are cached per client subnet, the others (scope 0) once for all. Both the stub
and the recursive resolver cache positive answers for their TTL (no negative caching). Queries are
retried after ``timeout_us`` up to ``attempts`` times (stub: 5 s x 2, glibc's defaults; recursive:
1 s x 3, so it answers SERVFAIL before the stub gives up when the authoritative server is silent).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRROPT, EDNS0ClientSubnet
from scapy.packet import Packet

from traces.host import UDP, Host, Segment
from traces.packets import aisid_udp_request
from traces.transport import Timer, Transport

DNS_PORT = 53
QTYPE_AAAA = 28
RCODE_OK, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 2, 3, 5
ECS_PREFIX = 64


def _norm(name: str | bytes) -> str:
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    return name.lower().rstrip(".")


def _subnet(address: str, plen: int = ECS_PREFIX) -> str:
    return str(ipaddress.IPv6Network((address, plen), strict=False).network_address)


def _ecs(msg: DNS) -> tuple[str, int, int] | None:
    """(address, source prefix length, scope prefix length) of an ECS option, if any."""
    for rr in msg.ar or []:
        if isinstance(rr, DNSRROPT):
            for opt in rr.rdata or []:
                if isinstance(opt, EDNS0ClientSubnet) and opt.family == 2:
                    return str(opt.address), int(opt.source_plen), int(opt.scope_plen)
    return None


def _send_dns(host: Host, dst: str, sport: int, dport: int, msg: DNS) -> None:
    pkt = aisid_udp_request(
        dst, src=host.address, sport=sport, dport=dport, src_mac=host.mac, dst_mac=host.gateway_mac
    )
    host.send(pkt / msg)


def _parse(seg: Segment) -> DNS | None:
    try:
        msg = DNS(seg.payload)
    except Exception:
        return None
    return msg if msg.qd else None


def _exchange(
    host: Host,
    dst: str,
    dport: int,
    msg: DNS,
    timeout_us: float,
    on_answer: Callable[[DNS], Any],
    on_timeout: Callable[[], Any],
) -> None:
    """Send the query ``msg`` from a fresh ephemeral port; then ``on_answer(reply)`` for the
    first reply with its id, or ``on_timeout()`` after ``timeout_us`` (the port unbound)."""
    qid = msg.id
    sport = host.ephemeral_port(UDP)
    timer: list[Timer] = []

    def on_reply(seg: Segment) -> None:
        reply = _parse(seg)
        if reply is None or reply.id != qid or not reply.qr:
            return
        timer[0].cancel()
        host.unbind(UDP, sport)
        on_answer(reply)

    def expired() -> None:
        host.unbind(UDP, sport)
        on_timeout()

    host.bind(UDP, sport, on_reply)
    timer.append(host.after(timeout_us, expired))
    _send_dns(host, dst, sport, dport, msg)


# -- answer policies -------------------------------------------------------------------------------
class Policy(Protocol):
    scope_len: int

    def choose(self, name: str, candidates: list[str], client: str) -> str: ...


class RoundRobin:
    """Rotate through the candidates, per name."""

    scope_len = 0

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def choose(self, name: str, candidates: list[str], client: str) -> str:
        i = self._next.get(name, 0)
        self._next[name] = i + 1
        return candidates[i % len(candidates)]


class Nearest:
    """The candidate with the smallest ``distance(client, node)``; ties in list order."""

    scope_len = ECS_PREFIX

    def __init__(self, distance: Callable[[str, str], float]) -> None:
        self.distance = distance

    def choose(self, name: str, candidates: list[str], client: str) -> str:
        return min(candidates, key=lambda c: self.distance(client, c))


class LoadAware:
    """The candidate with the least ``load(node)`` (then nearest, then round robin)."""

    def __init__(
        self,
        load: Callable[[str], float],
        distance: Callable[[str, str], float] | None = None,
    ) -> None:
        self.load = load
        self.distance = distance
        self.scope_len = ECS_PREFIX if distance is not None else 0
        self._rr = RoundRobin()

    def choose(self, name: str, candidates: list[str], client: str) -> str:
        loads = {c: self.load(c) for c in candidates}
        best = min(loads.values())
        tied = [c for c in candidates if loads[c] <= best + 1e-12]
        if self.distance is not None and len(tied) > 1:
            d = {c: self.distance(client, c) for c in tied}
            dmin = min(d.values())
            tied = [c for c in tied if d[c] <= dmin + 1e-9]
        return self._rr.choose(name, tied, client)


class NetDistance:
    """``(client address, node address) -> µs``: shortest-path propagation delay between the
    client's switch and the egress gateway of the node's site in a network description."""

    def __init__(self, net: Any) -> None:
        import networkx as nx

        g = nx.Graph()
        for link in net.links:
            g.add_edge(link.a, link.b, delay=float(link.delay_us))
        self._dist = dict(nx.all_pairs_dijkstra_path_length(g, weight="delay"))
        self._hosts = [
            (ipaddress.IPv6Network(h.prefix or (h.address, 64), strict=False), h.switch)
            for h in net.hosts
        ]
        self._nodes = {
            str(ipaddress.IPv6Address(n.address)): s.egress_gateway
            for s in net.sites
            for n in s.nodes
        }

    def switch_of_client(self, client: str) -> str:
        a = ipaddress.IPv6Address(client)
        for net, sw in self._hosts:
            if a in net:
                return sw
        raise KeyError(f"no host of the network description has address {client}")

    def __call__(self, client: str, node: str) -> float:
        sw = self.switch_of_client(client)
        try:
            egw = self._nodes[str(ipaddress.IPv6Address(node))]
        except KeyError:
            raise KeyError(
                f"no service node of the network description has address {node}"
            ) from None
        return self._dist.get(sw, {}).get(egw, math.inf)


# -- stub ------------------------------------------------------------------------------------------
@dataclass
class Resolution:
    """A name being resolved: ``address`` (or ``error``) once ``done``."""

    name: str
    t_start_us: float
    address: str | None = None
    error: str = ""
    done: bool = False
    from_cache: bool = False
    ttl_s: int = 0
    t_done_us: float | None = None
    _callbacks: list[Callable[[Resolution], Any]] = field(default_factory=list, repr=False)

    def add_done_callback(self, fn: Callable[[Resolution], Any]) -> None:
        """Run ``fn(self)`` when done (at once if it already is)."""
        if self.done:
            fn(self)
        else:
            self._callbacks.append(fn)

    def _complete(self, now: float, address: str | None, error: str = "", ttl: int = 0) -> None:
        self.address, self.error, self.ttl_s = address, error, ttl
        self.done, self.t_done_us = True, now
        for fn in self._callbacks:
            fn(self)
        self._callbacks.clear()


class StubResolver:
    """The client's resolver: asks ``server`` (a recursive resolver) and caches by TTL."""

    def __init__(
        self,
        host: Host,
        server: str,
        *,
        port: int = DNS_PORT,
        timeout_us: float = 5e6,
        attempts: int = 2,
        cache: bool = True,
    ) -> None:
        self.host, self.server, self.port = host, str(ipaddress.IPv6Address(server)), port
        self.timeout_us, self.attempts, self.use_cache = timeout_us, attempts, cache
        self._cache: dict[str, tuple[str, float, int]] = {}  # name -> (address, expiry, ttl)
        self._pending: dict[str, Resolution] = {}
        self._next_id = 1
        self.queries_sent = 0
        self.cache_hits = 0

    def cached(self, name: str) -> str | None:
        """The cached address of ``name`` if its TTL has not run out."""
        hit = self._cache.get(_norm(name))
        if hit is None or hit[1] <= self.host.now_us():
            return None
        return hit[0]

    def flush(self) -> None:
        self._cache.clear()

    def resolve(self, name: str, callback: Callable[[Resolution], Any] | None = None) -> Resolution:
        """Resolve ``name`` (AAAA); the result is at once ``done`` when served from the cache."""
        key = _norm(name)
        now = self.host.now_us()
        hit = self._cache.get(key) if self.use_cache else None
        if hit is not None and hit[1] > now:
            self.cache_hits += 1
            res = Resolution(key, now, from_cache=True)
            res._complete(now, hit[0], ttl=math.ceil((hit[1] - now) / 1e6))
        elif key in self._pending:
            res = self._pending[key]
        else:
            res = self._pending[key] = Resolution(key, now)
            self._query(res, 0)
        if callback is not None:
            res.add_done_callback(callback)
        return res

    def _query(self, res: Resolution, attempt: int) -> None:
        qid = self._next_id & 0xFFFF
        self._next_id += 1

        def on_timeout() -> None:
            if attempt + 1 < self.attempts:
                self._query(res, attempt + 1)
            else:
                self._pending.pop(res.name, None)
                res._complete(self.host.now_us(), None, "timeout")

        self.queries_sent += 1
        msg = DNS(id=qid, rd=1, qd=DNSQR(qname=res.name, qtype="AAAA"))
        _exchange(
            self.host,
            self.server,
            self.port,
            msg,
            self.timeout_us,
            lambda reply: self._answer(res, reply),
            on_timeout,
        )

    def _answer(self, res: Resolution, msg: DNS) -> None:
        self._pending.pop(res.name, None)
        now = self.host.now_us()
        aaaa = [rr for rr in (msg.an or []) if getattr(rr, "type", 0) == QTYPE_AAAA]
        if msg.rcode != RCODE_OK or not aaaa:
            err = {RCODE_NXDOMAIN: "NXDOMAIN", RCODE_SERVFAIL: "SERVFAIL", RCODE_REFUSED: "REFUSED"}
            res._complete(now, None, err.get(int(msg.rcode), f"rcode {int(msg.rcode)} / no AAAA"))
            return
        rr = aaaa[0]
        address, ttl = str(rr.rdata), int(rr.ttl)
        if self.use_cache and ttl > 0:
            self._cache[res.name] = (address, now + ttl * 1e6, ttl)
        res._complete(now, address, ttl=ttl)


# -- servers ---------------------------------------------------------------------------------------
class _DnsServer:
    def __init__(
        self, transport: Transport, mac: str, address: str, gateway_mac: str, port: int, name: str
    ) -> None:
        self.host = Host(transport, mac, address, gateway_mac, name)
        self.port = port
        self.queries = 0
        self.host.bind(UDP, port, self._on_query)

    @property
    def address(self) -> str:
        return self.host.address

    def _reply(self, seg: Segment, query: DNS, rcode: int, an: list[Packet], ecs=None) -> None:
        msg = DNS(
            id=query.id, qr=1, aa=int(isinstance(self, AuthoritativeServer)), rd=query.rd,
            ra=int(isinstance(self, RecursiveResolver)), rcode=rcode, qd=query.qd[0],
        )  # fmt: skip
        if an:
            msg.an = an
        if ecs is not None:
            msg.ar = ecs
        _send_dns(self.host, seg.src, self.port, seg.sport, msg)

    def _on_query(self, seg: Segment) -> None:
        raise NotImplementedError


def _ecs_opt(address: str, source: int, scope: int) -> DNSRROPT:
    opt = EDNS0ClientSubnet(source_plen=source, scope_plen=scope, address=_subnet(address, source))
    return DNSRROPT(rclass=1232, z=0, rdata=[opt])


class AuthoritativeServer(_DnsServer):
    """Answers AAAA queries for names of ``zone`` from ``records`` through ``policy``."""

    def __init__(
        self,
        transport: Transport,
        mac: str,
        address: str,
        gateway_mac: str,
        *,
        zone: str = "cpn.example",
        records: dict[str, Iterable[str]] | None = None,
        policy: Policy | None = None,
        ttl_s: int = 30,
        port: int = DNS_PORT,
        name: str = "",
    ) -> None:
        super().__init__(transport, mac, address, gateway_mac, port, name)
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0, got {ttl_s}")
        self.zone = _norm(zone)
        self.policy: Policy = policy or RoundRobin()
        self.ttl_s = ttl_s
        self.records: dict[str, list[str]] = {}
        for n, addrs in (records or {}).items():
            self.set_records(n, addrs)
        self.answers: list[tuple[float, str, str, str]] = []  # (time, name, client, address)

    def set_records(self, name: str, addresses: Iterable[str]) -> None:
        key = _norm(name)
        if not (key == self.zone or key.endswith("." + self.zone)):
            raise ValueError(f"{name!r} is not in zone {self.zone!r}")
        addrs = [str(ipaddress.IPv6Address(a)) for a in addresses]
        if not addrs:
            self.records.pop(key, None)
        else:
            self.records[key] = addrs

    def _on_query(self, seg: Segment) -> None:
        q = _parse(seg)
        if q is None or q.qr:
            return
        self.queries += 1
        qname = _norm(q.qd[0].qname)
        if not (qname == self.zone or qname.endswith("." + self.zone)):
            self._reply(seg, q, RCODE_REFUSED, [])
            return
        addrs = self.records.get(qname)
        if addrs is None:
            self._reply(seg, q, RCODE_NXDOMAIN, [])
            return
        if q.qd[0].qtype != QTYPE_AAAA:
            self._reply(seg, q, RCODE_OK, [])
            return
        ecs = _ecs(q)
        client = ecs[0] if ecs else seg.src
        chosen = self.policy.choose(qname, addrs, client)
        self.answers.append((self.host.now_us(), qname, client, chosen))
        rr = DNSRR(rrname=qname + ".", type="AAAA", ttl=self.ttl_s, rdata=chosen)
        opt = _ecs_opt(ecs[0], ecs[1], min(self.policy.scope_len, ecs[1])) if ecs else None
        self._reply(seg, q, RCODE_OK, [rr], opt)


@dataclass
class _Pending:
    waiting: list[tuple[Segment, DNS]]
    attempt: int = 0


class RecursiveResolver(_DnsServer):
    """Serves stubs: answers from its cache or asks the zone's authoritative server.

    ``authorities`` maps zones to server addresses (longest match wins); queries for other
    names are REFUSED."""

    def __init__(
        self,
        transport: Transport,
        mac: str,
        address: str,
        gateway_mac: str,
        *,
        authorities: dict[str, str],
        port: int = DNS_PORT,
        upstream_port: int = DNS_PORT,
        timeout_us: float = 1e6,
        attempts: int = 3,
        cache: bool = True,
        ecs: bool = True,
        name: str = "",
    ) -> None:
        super().__init__(transport, mac, address, gateway_mac, port, name)
        self.authorities = {_norm(z): str(ipaddress.IPv6Address(a)) for z, a in authorities.items()}
        self.upstream_port = upstream_port
        self.timeout_us, self.attempts = timeout_us, attempts
        self.use_cache, self.ecs = cache, ecs
        # (name, subnet or "") -> (address, expiry µs)
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._next_id = 1
        self.cache_hits = 0
        self.upstream_queries = 0

    def _authority(self, qname: str) -> str | None:
        best = None
        for zone, addr in self.authorities.items():
            if qname == zone or qname.endswith("." + zone):
                if best is None or len(zone) > len(best[0]):
                    best = (zone, addr)
        return best[1] if best else None

    def _on_query(self, seg: Segment) -> None:
        q = _parse(seg)
        if q is None or q.qr:
            return
        self.queries += 1
        qname = _norm(q.qd[0].qname)
        auth = self._authority(qname)
        if auth is None or q.qd[0].qtype != QTYPE_AAAA:
            self._reply(seg, q, RCODE_REFUSED if auth is None else RCODE_OK, [])
            return
        now = self.host.now_us()
        subnet = _subnet(seg.src)
        if self.use_cache:
            for key in ((qname, subnet), (qname, "")):
                hit = self._cache.get(key)
                if hit is not None and hit[1] > now:
                    self.cache_hits += 1
                    ttl = max(0, math.floor((hit[1] - now) / 1e6))
                    rr = DNSRR(rrname=qname + ".", type="AAAA", ttl=ttl, rdata=hit[0])
                    self._reply(seg, q, RCODE_OK, [rr])
                    return
        key = (qname, subnet if self.ecs else "")
        pend = self._pending.get(key)
        if pend is not None:
            pend.waiting.append((seg, q))
            return
        self._pending[key] = _Pending([(seg, q)])
        self._ask(key, auth, seg.src)

    def _ask(self, key: tuple[str, str], auth: str, client: str) -> None:
        pend = self._pending[key]
        qid = self._next_id & 0xFFFF
        self._next_id += 1

        def on_timeout() -> None:
            pend.attempt += 1
            if pend.attempt < self.attempts:
                self._ask(key, auth, client)
            else:
                self._pending.pop(key, None)
                for s, q in pend.waiting:
                    self._reply(s, q, RCODE_SERVFAIL, [])

        self.upstream_queries += 1
        msg = DNS(id=qid, rd=0, qd=DNSQR(qname=key[0], qtype="AAAA"))
        if self.ecs:
            msg.ar = _ecs_opt(client, ECS_PREFIX, 0)
        _exchange(
            self.host,
            auth,
            self.upstream_port,
            msg,
            self.timeout_us,
            lambda reply: self._done(key, reply, client),
            on_timeout,
        )

    def _done(self, key: tuple[str, str], msg: DNS, client: str) -> None:
        pend = self._pending.pop(key, None)
        if pend is None:
            return
        aaaa = [rr for rr in (msg.an or []) if getattr(rr, "type", 0) == QTYPE_AAAA]
        if self.use_cache and msg.rcode == RCODE_OK and aaaa and aaaa[0].ttl > 0:
            ecs = _ecs(msg)
            scoped = ecs is not None and ecs[2] > 0
            ckey = (key[0], _subnet(client) if scoped else "")
            self._cache[ckey] = (str(aaaa[0].rdata), self.host.now_us() + aaaa[0].ttl * 1e6)
        an = [
            DNSRR(rrname=rr.rrname, type="AAAA", ttl=int(rr.ttl), rdata=str(rr.rdata))
            for rr in aaaa
        ]
        for seg, q in pend.waiting:
            self._reply(seg, q, int(msg.rcode), an)


__all__ = [
    "DNS_PORT",
    "AuthoritativeServer",
    "LoadAware",
    "Nearest",
    "NetDistance",
    "Policy",
    "RecursiveResolver",
    "Resolution",
    "RoundRobin",
    "StubResolver",
]
