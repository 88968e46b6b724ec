"""The network description: one JSON file that both the controller and the emulated networks read.

It lists the switches (name, device id, P4Runtime address, role, SRv6 locator), the links
between switch ports (rate, delay), the hosts attached to ingress gateways, the compute sites
(egress gateway, service-node prefix, service nodes with address, device kind and capacity),
the AISID prefixes, the SID plan, CQF and the controller's settings. ``load(path)`` reads and
validates a file (:mod:`controlplane.netvalidate` names the offending field);
``NetworkDescription.to_dict()`` writes one back; :mod:`controlplane.netgen` makes one from any
``topo/`` topology.

Roles: ``ingress_gateway`` (clients attach; AISID classification, site choice, SRv6 encap),
``transit`` (SRv6 End, routing), ``egress_gateway`` (End.DT6, service-node balancing).

SID plan: switch ``s`` owns the locator ``s.locator`` (a /48 by default, ``fc00:0:<id>::/48``);
its End SID is locator + ``end_function``, its End.DT6 SID locator + ``dt6_function`` and the
source address of its encapsulations locator + ``src_function``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Role = Literal["ingress_gateway", "transit", "egress_gateway"]
ROLES: tuple[str, ...] = ("ingress_gateway", "transit", "egress_gateway")
FORMAT_VERSION = 1


@dataclass
class PortDesc:
    """A switch port: number, MAC, and what is on the other side (switch, host or node)."""

    number: int
    mac: str
    peer: str  # a switch, host or service-node name
    peer_port: int = 0  # the peer's port number when the peer is a switch
    rate_bps: float = 100e9
    delay_us: float = 5000.0


@dataclass
class SwitchDesc:
    name: str
    device_id: int  # P4Runtime device id; also the telemetry switch_id
    address: str  # P4Runtime server, "host:port"
    role: Role
    locator: str  # SRv6 locator, e.g. "fc00:0:3::/48"
    ports: list[PortDesc] = field(default_factory=list)
    topo_node: int | None = None  # node id in the topology it was generated from
    lat: float | None = None
    lon: float | None = None

    def port(self, number: int) -> PortDesc:
        for p in self.ports:
            if p.number == number:
                return p
        raise KeyError(f"switch {self.name} has no port {number}")

    def port_to(self, peer: str) -> PortDesc:
        for p in self.ports:
            if p.peer == peer:
                return p
        raise KeyError(f"switch {self.name} has no port towards {peer}")


@dataclass
class LinkDesc:
    """A bidirectional switch-to-switch link."""

    a: str
    a_port: int
    b: str
    b_port: int
    rate_bps: float = 100e9
    delay_us: float = 5000.0
    queue_packets: int = 1000


@dataclass
class HostDesc:
    """A client host behind an ingress gateway (or the DNS server of the baseline)."""

    name: str
    address: str  # IPv6
    mac: str
    switch: str
    port: int
    kind: Literal["client", "dns"] = "client"
    prefix: str = ""  # the host's /64, routed to ``switch`` (defaults to address/64)


@dataclass
class ServiceNodeDesc:
    node_id: int  # egw.nodes key, 1..255, unique within the site
    name: str
    address: str  # IPv6, inside the site's node_prefix
    mac: str
    device: str  # an agents.latency device name, e.g. "a100_1" / "2080ti_1"
    capacity_tflops: float
    port: int  # port of the site's egress gateway it hangs off


@dataclass
class SiteDesc:
    site_id: int  # flowlet.service_site / srv6_encap.paths key
    name: str
    egress_gateway: str  # switch name
    node_prefix: str  # IPv6 prefix of the service nodes, e.g. "fd01:4::/64"
    nodes: list[ServiceNodeDesc] = field(default_factory=list)


@dataclass
class SidPlan:
    locator_block: str = "fc00::/32"
    locator_len: int = 48
    end_function: int = 0x100
    dt6_function: int = 0xD6
    src_function: int = 0x1


@dataclass
class CqfDesc:
    cycle_us: int = 256  # T, a power of two (the data plane keeps cycle_shift = log2 T)
    ports: list[tuple[str, int]] = field(default_factory=list)  # (switch, port) pairs
    cycle_bytes: int = 0  # byte budget per cycle; 0: what the port carries in T minus 1500 B


@dataclass
class ServiceDesc:
    """A service registered when the controller starts (more come through the registry API)."""

    name: str
    aisid: str  # full IPv6 AISID (prefix + Object/Function/Method/Performance)
    site: str  # site name
    nodes: list[int] = field(default_factory=list)  # node ids at that site (empty: all)
    traffic_class: int = 0  # 0 best effort, 1 deterministic
    deadline_us: int = 0
    replicas: list[str] = field(default_factory=list)  # other sites that also provide it


@dataclass
class ControllerDesc:
    interval_s: float = 1.0
    k_paths: int = 3  # paths per (ingress gateway, site), at most 4
    max_segments: int = 6
    api_address: str = "127.0.0.1:8080"
    state_dir: str = ""  # where the registry's SQLite file lives ("" = next to the network file)
    flowlet_timeout_us: int = 50_000
    flow_idle_timeout_us: int = 0
    flow_pin_us: int = 0  # a flow keeps its site while idle less than this (0: 1 s)


@dataclass
class NetworkDescription:
    name: str
    switches: list[SwitchDesc]
    links: list[LinkDesc]
    hosts: list[HostDesc] = field(default_factory=list)
    sites: list[SiteDesc] = field(default_factory=list)
    aisid_prefixes: list[str] = field(default_factory=list)
    services: list[ServiceDesc] = field(default_factory=list)
    sid_plan: SidPlan = field(default_factory=SidPlan)
    cqf: CqfDesc = field(default_factory=CqfDesc)
    controller: ControllerDesc = field(default_factory=ControllerDesc)
    topology: dict[str, Any] = field(default_factory=dict)  # where it came from (name, source)
    format_version: int = FORMAT_VERSION

    # -- lookups -------------------------------------------------------------------------------
    def switch(self, name: str) -> SwitchDesc:
        for s in self.switches:
            if s.name == name:
                return s
        raise KeyError(f"no switch named {name!r}")

    def site(self, name_or_id: str | int) -> SiteDesc:
        for s in self.sites:
            if s.name == name_or_id or s.site_id == name_or_id:
                return s
        raise KeyError(f"no site {name_or_id!r}")

    def by_role(self, role: str) -> list[SwitchDesc]:
        return [s for s in self.switches if s.role == role]

    @property
    def ingress_gateways(self) -> list[SwitchDesc]:
        return self.by_role("ingress_gateway")

    @property
    def egress_gateways(self) -> list[SwitchDesc]:
        return self.by_role("egress_gateway")

    # -- SIDs ----------------------------------------------------------------------------------
    def _sid(self, sw: SwitchDesc, function: int) -> str:
        net = ipaddress.IPv6Network(sw.locator, strict=False)
        return str(ipaddress.IPv6Address(int(net.network_address) + function))

    def end_sid(self, sw: SwitchDesc | str) -> str:
        sw = self.switch(sw) if isinstance(sw, str) else sw
        return self._sid(sw, self.sid_plan.end_function)

    def dt6_sid(self, sw: SwitchDesc | str) -> str:
        sw = self.switch(sw) if isinstance(sw, str) else sw
        return self._sid(sw, self.sid_plan.dt6_function)

    def src_address(self, sw: SwitchDesc | str) -> str:
        sw = self.switch(sw) if isinstance(sw, str) else sw
        return self._sid(sw, self.sid_plan.src_function)

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cqf"]["ports"] = [list(p) for p in self.cqf.ports]
        return d

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")


def load(path: str | Path) -> NetworkDescription:
    """Read and validate a network file; errors name the offending field (NetworkFileError)."""
    from controlplane.netvalidate import parse

    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        from controlplane.netvalidate import NetworkFileError

        raise NetworkFileError(f"{p}: not JSON: {e}") from e
    return parse(data, source=str(p))
