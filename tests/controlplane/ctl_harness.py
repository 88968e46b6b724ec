"""Helpers of the controller's end-to-end tests: an in-process network driven by a
:class:`~controlplane.controller.Controller` on the network's virtual clock, UDP responders on
every service node, a per-switch log of what the switches accepted, and a fast parser of the
requests crossing the links (SRH tag, segment list, request id)."""

from __future__ import annotations

import ipaddress
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import routing_nets
from routing_nets import build_net

from controlplane import netgen
from controlplane.controller import Controller
from controlplane.entries import RegisterValue, TableEntry
from controlplane.netdesc import NetworkDescription, ServiceDesc, load
from topo.abilene import abilene
from topo.emunet import InProcessNetwork, UdpResponder
from traces.packets import aisid_udp_request

REPO = Path(__file__).resolve().parents[2]
LINE4 = REPO / "controlplane" / "examples" / "line4.json"
VERSION_REGISTER = "CpnIngress.active_policy_version"
VERSIONED = (
    "CpnIngress.aisid.classify",
    "CpnIngress.flowlet.service_site",
    "CpnIngress.flowlet.path_split",
    "CpnIngress.srv6_encap.paths",
    "CpnIngress.egw.service_nodes",
    "CpnIngress.cqf.flow_offsets",
)


# ------------------------------------------------------------------------------ descriptions
def local(desc: NetworkDescription) -> NetworkDescription:
    """Every switch on 127.0.0.1, a free port each."""
    for s in desc.switches:
        s.address = "127.0.0.1:0"
    return desc


def line4() -> NetworkDescription:
    """``controlplane/examples/line4.json``: client - igw - t2 - t3 - egw - {node1, node2}."""
    return local(load(LINE4))


def abilene_net(seed: int = 0) -> NetworkDescription:
    """Abilene generated with 3 ingress and 2 egress gateways (12 switches, 10 services)."""
    return local(netgen.generate(abilene(), ingress=3, egress=2, seed=seed))


def diamond(k_paths: int = 1) -> NetworkDescription:
    """igw-a-c-egw (300 µs), igw-b-d-egw (350 µs), a-d (200 µs); two nodes, one service."""
    d = routing_nets.diamond(sites=[("egw", 7, (0, 1))])
    d.services = [ServiceDesc("svc", "2001:db8:abcd:12:1:2:1:1388", "site7")]
    for n in d.sites[0].nodes:
        n.device = "2080ti_1"  # a device the latency model knows
    d.controller.k_paths = k_paths
    return local(d)


def two_gateways() -> NetworkDescription:
    """c1 - igw1 - t - egw and c2 - igw2 - t: two ingress gateways, one site, 10 µs links."""
    d = build_net(
        "two_gateways",
        [
            ("igw1", "ingress_gateway"),
            ("igw2", "ingress_gateway"),
            ("t", "transit"),
            ("egw", "egress_gateway"),
        ],
        [("igw1", "t", 10.0), ("igw2", "t", 10.0), ("t", "egw", 10.0)],
        sites=[("egw", 7, (0, 1))],
        hosts=(("c1", "igw1"), ("c2", "igw2")),
    )
    d.services = [ServiceDesc("svc", "2001:db8:abcd:12:1:2:1:1388", "site7")]
    for n in d.sites[0].nodes:
        n.device = "2080ti_1"
    return local(d)


# ------------------------------------------------------------------------------ what switches took
@dataclass
class WriteLog:
    """Every update a switch acknowledged, stamped with the network's virtual time (the network
    does not move while the controller writes, so the stamp is when the packets see it)."""

    now: Callable[[], float]
    records: list[tuple[float, str, str, Any]] = field(default_factory=list)  # (t, sw, op, ent)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, name: str, client: Any) -> None:
        """Log what ``client`` (a P4RuntimeClient of switch ``name``) writes successfully."""
        if getattr(client, "_ctl_log_wrapped", False):
            return
        original = client.write

        def write(updates, *, atomicity: str = "CONTINUE_ON_ERROR") -> None:
            ups = list(updates)
            try:
                original(ups, atomicity=atomicity)
            except Exception as exc:
                ok = _accepted(ups, exc, atomicity)
                self._add(name, ok)
                raise
            self._add(name, ups)

        client.write = write
        client._ctl_log_wrapped = True

    def _add(self, name: str, ups: Iterable[tuple[str, Any]]) -> None:
        t = self.now()
        with self.lock:
            self.records.extend((t, name, op, ent) for op, ent in ups)

    def count(self, since: int = 0) -> int:
        return len(self.records) - since

    def lifetimes(self) -> dict[int, dict[str, list[float]]]:
        """{version: {switch: [first insert time, first delete time (inf: still there)]}} of the
        versioned entries each switch acknowledged."""
        out: dict[int, dict[str, list[float]]] = {}
        for t, sw, op, ent in self.records:
            v = ent.version() if isinstance(ent, TableEntry) else None
            if v is None:
                continue
            span = out.setdefault(v, {}).setdefault(sw, [float("inf"), float("inf")])
            if op == "insert":
                span[0] = min(span[0], t)
            elif op == "delete":
                span[1] = min(span[1], t)
        return out

    def register_history(self, switch: str) -> list[tuple[float, int]]:
        """(time, value) of every ``active_policy_version`` write ``switch`` acknowledged."""
        return [
            (t, ent.value)
            for t, sw, op, ent in self.records
            if sw == switch and isinstance(ent, RegisterValue) and ent.register == VERSION_REGISTER
        ]

    def entries(self, version: int, switch: str, table: str) -> list[TableEntry]:
        """The ``table`` entries of ``version`` inserted (or modified) on ``switch``."""
        return [
            ent
            for _t, sw, op, ent in self.records
            if sw == switch
            and op in ("insert", "modify")
            and isinstance(ent, TableEntry)
            and ent.table == table
            and ent.version() == version
        ]


def _accepted(ups: list[tuple[str, Any]], exc: Exception, atomicity: str) -> list:
    """The updates a failed write still applied: none for an atomic batch; with
    CONTINUE_ON_ERROR those not listed as failed."""
    errors = getattr(exc, "errors", None)
    if atomicity != "CONTINUE_ON_ERROR" or errors is None:
        return []
    bad = {i for i, _code, _msg in errors}
    return [u for i, u in enumerate(ups) if i not in bad]


# ------------------------------------------------------------------------------ the rig
class Rig:
    """An :class:`InProcessNetwork` of ``desc``, a controller on its clock (``state_dir``),
    a :class:`UdpResponder` on every service node, and a :class:`WriteLog` of every client."""

    def __init__(
        self,
        desc: NetworkDescription,
        state_dir: Path,
        *,
        policy: str = "base1",
        seed: int = 1,
        compute_delay_s: float = 0.0005,
    ) -> None:
        self.net = InProcessNetwork(desc, seed=seed)
        self.state_dir = state_dir
        self.policy = policy
        self.log = WriteLog(self.net.now)
        self._templates: dict[tuple[str, str, int], bytes] = {}
        self.responders = {
            n.name: UdpResponder(self.net.endpoints[n.name], compute_delay_s=compute_delay_s)
            for site in self.net.description.sites
            for n in site.nodes
        }
        self.ctl = self.new_controller()

    @property
    def desc(self) -> NetworkDescription:
        return self.net.description

    def new_controller(self, policy: str | None = None) -> Controller:
        ctl = Controller(
            self.net.description,
            policy=policy or self.policy,
            clock=self.net.controller_clock(),
            state_dir=self.state_dir,
            connect_timeout_s=20.0,
        )
        for name, conn in ctl.connections.items():
            self.log.wrap(name, conn.client)
        self.ctl = ctl
        return ctl

    def host(self, name: str | None = None):
        return self.net.endpoints[name or self.desc.hosts[0].name]

    def send(self, host: Any, aisid: str, sport: int, payload: bytes = b"") -> None:
        """A UDP request from ``host`` to ``aisid`` (port 8080) with ``payload``."""
        key = (host.name, aisid, len(payload))
        tpl = self._templates.get(key)
        if tpl is None:
            tpl = self._templates[key] = bytes(
                aisid_udp_request(
                    aisid,
                    src=host.address,
                    sport=0,
                    payload=bytes(len(payload)),
                    src_mac=host.mac,
                    dst_mac=host.gateway_mac,
                )
            )
        host.send(udp_frame(tpl, sport, payload))

    def served_by(self) -> dict[tuple[int, bytes], str]:
        """{(source port, payload): node name} of every request a node received."""
        out = {}
        for name, r in self.responders.items():
            for _t, _src, sport, payload in r.requests:
                out[(sport, payload)] = name
        return out

    def table(self, switch: str, table: str) -> list[TableEntry]:
        """Read back ``table`` from ``switch`` over P4Runtime."""
        return self.ctl.connections[switch].client.read_entries(table)

    def versions_held(self, switch: str) -> set[int]:
        """The policy versions of the versioned entries ``switch`` holds (read back)."""
        out = set()
        for e in self.ctl.connections[switch].client.read_entries():
            v = e.version()
            if v is not None:
                out.add(v)
        return out

    def register(self, switch: str) -> int:
        return self.ctl.connections[switch].client.read_register(VERSION_REGISTER, 0)[0]

    def close(self) -> None:
        try:
            self.ctl.stop()
        finally:
            self.net.stop()


def udp_frame(template: bytes, sport: int, payload: bytes) -> bytes:
    """``template`` (Ether/IPv6/UDP, payload of the same length) with another source port and
    payload, and the UDP checksum computed again."""
    f = bytearray(template)
    struct.pack_into("!H", f, 54, sport)
    f[62:] = payload
    f[60:62] = b"\0\0"
    length = len(f) - 54
    data = bytes(f[22:54]) + struct.pack("!IxxxB", length, 17) + bytes(f[54:])
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", f, 60, (~total & 0xFFFF) or 0xFFFF)
    return bytes(f)


def wait_for(pred: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
    """Poll ``pred`` (real time: background gRPC threads) until true; fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or pred}")
        time.sleep(0.005)


# ------------------------------------------------------------------------------ frames
@dataclass(frozen=True)
class Request:
    """An AISID request as seen on a wire: outer SRH tag and segments (None/() without SRH),
    the request's (inner) source, destination, UDP source port and payload."""

    tag: int | None
    segments: tuple[str, ...]  # in the order they are visited (s1 first)
    src: str
    dst: str
    sport: int
    payload: bytes


def parse_request(frame: bytes, aisid_net: ipaddress.IPv6Network) -> Request | None:
    """The AISID request in an Ethernet frame (plain or SRv6-encapsulated), else None."""
    if len(frame) < 62 or frame[12:14] != b"\x86\xdd":
        return None
    off, nh = 14, frame[20]
    tag, segs = None, ()
    if nh == 43:  # SRH
        srh = 54
        nh2, ext_len, rtype, _left, last = frame[srh : srh + 5]
        if rtype != 4:
            return None
        tag = struct.unpack_from("!H", frame, srh + 6)[0]
        segs = tuple(
            str(ipaddress.IPv6Address(frame[srh + 8 + 16 * i : srh + 24 + 16 * i]))
            for i in range(last, -1, -1)
        )
        off, nh = srh + 8 + 8 * ext_len, nh2
        if nh != 41:
            return None
        nh = frame[off + 6]
    if nh != 17 or len(frame) < off + 48:
        return None
    dst = ipaddress.IPv6Address(frame[off + 24 : off + 40])
    if dst not in aisid_net:
        return None
    src = str(ipaddress.IPv6Address(frame[off + 8 : off + 24]))
    sport = struct.unpack_from("!H", frame, off + 40)[0]
    return Request(tag, segs, src, str(dst), sport, bytes(frame[off + 48 :]))


class HopRecorder:
    """Taps every switch-to-switch link and access link: for each request (keyed by its
    payload) the (time s, switch, Request) of every arrival at a switch."""

    def __init__(self, net: InProcessNetwork) -> None:
        self.net = net
        self.aisid_nets = [ipaddress.IPv6Network(p) for p in net.description.aisid_prefixes]
        self.hops: dict[bytes, list[tuple[float, str, Request]]] = {}
        links = list(net.links) + [hp.link for hp in net.access.values()]
        for lk in links:
            for side, end in enumerate(lk.ends):
                if hasattr(end, "switch") and hasattr(end, "number"):
                    lk.taps.append(self._tap(side, end.switch))

    def _tap(self, want_side: int, switch: str):
        def tap(side: int, data: bytes, t_us: float, outgoing: bool) -> None:
            if outgoing or side != want_side:
                return
            for an in self.aisid_nets:
                r = parse_request(data, an)
                if r is not None:
                    self.hops.setdefault(r.payload, []).append((t_us / 1e6, switch, r))
                    return

        return tap
