"""A network description translated into what Mininet has to build (pure: no root, no Mininet).

:func:`plan_network` turns a :class:`~controlplane.netdesc.NetworkDescription` into a
:class:`MininetPlan`: one P4 switch per switch (interfaces ``<switch>-eth<port>``, ports
numbered as in the file, port MACs from the file), one Mininet host per client/DNS host and per
service node (interface ``<host>-eth0``, the file's MAC and IPv6 address), veth links, and an
L2 segment (a Linux bridge in hub mode) where several service nodes share one switch port.

Link delay and rate: ``tc netem`` is missing on these kernels, so delay and rate come from the
switch's port model (``--port-delay PORT@US``, ``--link-rate PORT@BPS`` of
``python -m p4target.switch``). A switch-to-switch link of delay ``d`` gets ``d`` on the port
at each end, so each direction is delayed once by ``d``; an access port (host, DNS or service
node) gets its ``PortDesc.delay_us`` in the switch-to-host direction only (hosts send without
delay). :meth:`MininetPlan.delay_table` lists it.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from dataclasses import dataclass, field

from controlplane.netdesc import NetworkDescription

IFNAMSIZ = 15  # longest Linux interface name
CPU_PORT = 255
PRIORITY_QUEUES = 8
CQF_QUEUES = "6,7"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class PlanError(ValueError):
    """The description cannot be built on Mininet (names, ports)."""


@dataclass
class SwitchPlan:
    name: str
    device_id: int
    grpc_host: str
    grpc_port: int
    intfs: dict[int, str] = field(default_factory=dict)  # port -> interface name
    macs: dict[int, str] = field(default_factory=dict)  # port -> MAC
    port_delay_us: dict[int, float] = field(default_factory=dict)
    link_rate_bps: dict[int, float] = field(default_factory=dict)
    cqf: dict[int, int] = field(default_factory=dict)  # port -> cycle µs
    queue_depth: int | None = None

    @property
    def grpc_address(self) -> str:
        return f"{self.grpc_host}:{self.grpc_port}"

    def argv(self, binary: str | None = None, python: str = sys.executable) -> list[str]:
        """The switch's command line (see :func:`switch_argv`)."""
        return switch_argv(
            device_id=self.device_id, intfs=self.intfs, grpc_address=self.grpc_address,
            binary=binary, python=python, port_delay_us=self.port_delay_us,
            link_rate_bps=self.link_rate_bps, cqf=self.cqf, queue_depth=self.queue_depth,
        )  # fmt: skip


@dataclass
class HostPlan:
    """A Mininet host: a client or DNS host of the file, or a service node (``kind`` service)."""

    name: str
    kind: str  # client | dns | service
    address: str
    prefix_len: int
    mac: str
    switch: str
    port: int
    gateway_mac: str
    site: str = ""
    node_id: int = 0
    device: str = ""
    capacity_tflops: float = 0.0

    @property
    def intf(self) -> str:
        return f"{self.name}-eth0"


@dataclass
class SegmentPlan:
    """A Linux bridge joining one switch port (bridge port 1) to the service nodes that share
    it (bridge ports 2, 3, ...)."""

    name: str
    switch: str
    port: int
    members: list[str] = field(default_factory=list)

    def intf(self, k: int) -> str:
        return f"{self.name}-eth{k}"


@dataclass
class LinkPlan:
    """A veth pair ``a:a_intf`` <-> ``b:b_intf`` (``a`` is in the root namespace)."""

    a: str
    a_port: int
    a_intf: str
    a_mac: str | None
    b: str
    b_port: int
    b_intf: str
    b_mac: str | None
    delay_us: float
    rate_bps: float
    kind: str  # switch | access | segment


@dataclass
class MininetPlan:
    name: str
    switches: list[SwitchPlan]
    hosts: list[HostPlan]
    segments: list[SegmentPlan]
    links: list[LinkPlan]

    def switch(self, name: str) -> SwitchPlan:
        for s in self.switches:
            if s.name == name:
                return s
        raise KeyError(f"no switch {name!r}")

    def host(self, name: str) -> HostPlan:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no host {name!r}")

    def root_interfaces(self) -> list[str]:
        """Interfaces this plan creates in the root namespace (switch and segment sides)."""
        names = [i for s in self.switches for i in s.intfs.values()]
        for seg in self.segments:
            names.append(seg.name)  # the bridge itself
            names += [seg.intf(k) for k in range(1, len(seg.members) + 2)]
        return names

    def delay_table(self) -> list[str]:
        """One line per link: which ports delay it by how much, in which direction."""
        out = []
        for lk in self.links:
            if lk.kind == "switch":
                out.append(
                    f"{lk.a_intf} <-> {lk.b_intf}: {lk.delay_us:g} µs each way "
                    f"(--port-delay on both ends), {lk.rate_bps / 1e9:g} Gbit/s"
                )
            elif lk.kind == "access":
                out.append(
                    f"{lk.a_intf} -> {lk.b_intf}: {lk.delay_us:g} µs switch-to-host only, "
                    f"{lk.rate_bps / 1e9:g} Gbit/s"
                )
        return out


def _check_name(name: str, longest_suffix: str) -> None:
    if not _NAME.match(name):
        raise PlanError(f"{name!r}: Mininet node names must be letters, digits and '_'")
    if len(name) + len(longest_suffix) > IFNAMSIZ:
        raise PlanError(
            f"{name!r}: interface {name}{longest_suffix} would be longer than {IFNAMSIZ} "
            "characters (Linux's limit); use a shorter name"
        )
    if name in ("lo", "l", "o"):
        raise PlanError(f"{name!r}: too close to the loopback interface's name")


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise PlanError(f"P4Runtime address {address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def plan_network(net: NetworkDescription) -> MininetPlan:
    """Translate ``net`` (see the module doc); raises :class:`PlanError` on what Mininet
    cannot build (names too long for interface names, odd characters)."""
    switches: list[SwitchPlan] = []
    for sd in net.switches:
        top = max((p.number for p in sd.ports), default=1)
        _check_name(sd.name, f"-eth{top}")
        host, port = _split(sd.address)
        sp = SwitchPlan(sd.name, sd.device_id, host, port)
        for p in sd.ports:
            sp.intfs[p.number] = f"{sd.name}-eth{p.number}"
            sp.macs[p.number] = p.mac
            sp.port_delay_us[p.number] = float(p.delay_us)
            sp.link_rate_bps[p.number] = float(p.rate_bps)
        switches.append(sp)
    by_name = {s.name: s for s in switches}
    links: list[LinkPlan] = []
    for ld in net.links:
        a, b = by_name[ld.a], by_name[ld.b]
        for sp, port in ((a, ld.a_port), (b, ld.b_port)):
            sp.port_delay_us[port] = float(ld.delay_us)
            sp.link_rate_bps[port] = float(ld.rate_bps)
            sp.queue_depth = max(sp.queue_depth or 0, ld.queue_packets)
        links.append(
            LinkPlan(
                ld.a, ld.a_port, a.intfs[ld.a_port], a.macs[ld.a_port],
                ld.b, ld.b_port, b.intfs[ld.b_port], b.macs[ld.b_port],
                float(ld.delay_us), float(ld.rate_bps), "switch",
            )
        )  # fmt: skip
    for sw_name, port in net.cqf.ports:
        by_name[sw_name].cqf[port] = int(net.cqf.cycle_us)

    hosts: list[HostPlan] = []
    for h in net.hosts:
        plen = ipaddress.IPv6Network(h.prefix, strict=False).prefixlen if h.prefix else 64
        gw = by_name[h.switch].macs[h.port]
        hosts.append(HostPlan(h.name, h.kind, h.address, plen, h.mac, h.switch, h.port, gw))
    for site in net.sites:
        plen = ipaddress.IPv6Network(site.node_prefix, strict=False).prefixlen
        for n in site.nodes:
            gw = by_name[site.egress_gateway].macs[n.port]
            hosts.append(
                HostPlan(
                    n.name, "service", n.address, plen, n.mac, site.egress_gateway, n.port, gw,
                    site=site.name, node_id=n.node_id, device=n.device,
                    capacity_tflops=n.capacity_tflops,
                )
            )  # fmt: skip
    for h in hosts:
        _check_name(h.name, "-eth0")
    names = [s.name for s in switches] + [h.name for h in hosts]
    if len(set(names)) != len(names):
        raise PlanError("switch, host and service-node names must be distinct")

    on_port: dict[tuple[str, int], list[HostPlan]] = {}
    for h in hosts:
        on_port.setdefault((h.switch, h.port), []).append(h)
    segments: list[SegmentPlan] = []
    for (sw_name, port), members in on_port.items():
        sp = by_name[sw_name]
        if port not in sp.intfs:
            raise PlanError(f"{members[0].name}: switch {sw_name} has no port {port}")
        delay, rate = sp.port_delay_us[port], sp.link_rate_bps[port]
        if len(members) == 1:
            h = members[0]
            links.append(
                LinkPlan(
                    sw_name, port, sp.intfs[port], sp.macs[port],
                    h.name, 0, h.intf, h.mac, delay, rate, "access",
                )
            )  # fmt: skip
            continue
        seg = SegmentPlan(f"{sw_name}br{port}", sw_name, port, [m.name for m in members])
        _check_name(seg.name, f"-eth{len(members) + 1}")
        if seg.name in names:
            raise PlanError(f"segment name {seg.name!r} is taken by a switch or host")
        segments.append(seg)
        links.append(
            LinkPlan(
                sw_name, port, sp.intfs[port], sp.macs[port],
                seg.name, 1, seg.intf(1), None, delay, rate, "access",
            )
        )  # fmt: skip
        for k, m in enumerate(members, start=2):
            links.append(
                LinkPlan(seg.name, k, seg.intf(k), None, m.name, 0, m.intf, m.mac, 0.0, rate, "segment")
            )  # fmt: skip
    return MininetPlan(net.name, switches, hosts, segments, links)


def switch_argv(
    *,
    device_id: int,
    intfs: dict[int, str],
    grpc_address: str,
    binary: str | None = None,
    python: str = sys.executable,
    port_delay_us: dict[int, float] | None = None,
    link_rate_bps: dict[int, float] | None = None,
    cqf: dict[int, int] | None = None,
    queue_depth: int | None = None,
) -> list[str]:
    """The switch's command line: ``binary`` (simple_switch_grpc) when given, else the
    embedded switch under ``python`` (with the embedded-only flags)."""
    ports = [a for p, i in sorted(intfs.items()) for a in ("-i", f"{p}@{i}")]
    target = ["--grpc-server-addr", grpc_address, "--cpu-port", str(CPU_PORT)]
    target += ["--priority-queues", str(PRIORITY_QUEUES)]
    if binary:
        thrift = int(grpc_address.rpartition(":")[2]) + 10000
        generic = ["--device-id", str(device_id), *ports, "--thrift-port", str(thrift), "--no-p4"]
        return [binary, *generic, "--", *target]
    argv = [python, "-m", "p4target.switch", "--device-id", str(device_id), *ports, "--no-p4"]
    argv += target
    for p, us in sorted((port_delay_us or {}).items()):
        if us:
            argv += ["--port-delay", f"{p}@{us:g}"]
    for p, bps in sorted((link_rate_bps or {}).items()):
        if bps:
            argv += ["--link-rate", f"{p}@{bps:.0f}"]
    for p, cycle in sorted((cqf or {}).items()):
        argv += ["--cqf", f"{p}@{cycle}:{CQF_QUEUES}"]
    if queue_depth:
        argv += ["--queue-depth", str(queue_depth)]
    return argv


def with_dns_host(
    net: NetworkDescription, switch: str | None = None, name: str = "dns"
) -> NetworkDescription:
    """A copy of ``net`` with a ``dns`` host (for the DNS baseline) on a new port of ``switch``
    (default: the first ingress gateway), at ``fd53:<k>::53/64`` (the first ``k`` whose /64
    overlaps nothing in the file), MAC ``02:03:00:00:<k>:53``; validated like a file."""
    import copy

    from controlplane.netdesc import HostDesc, PortDesc
    from controlplane.netvalidate import parse

    out = copy.deepcopy(net)
    sw = out.switch(switch) if switch else out.ingress_gateways[0]
    used = [
        ipaddress.IPv6Network(p, strict=False)
        for p in [h.prefix or f"{h.address}/64" for h in out.hosts]
        + [s.node_prefix for s in out.sites]
        + list(out.aisid_prefixes)
        + [out.sid_plan.locator_block]
    ]
    macs = {p.mac for s in out.switches for p in s.ports} | {h.mac for h in out.hosts}
    macs |= {n.mac for s in out.sites for n in s.nodes}
    for k in range(1, 256):
        prefix = ipaddress.IPv6Network(f"fd53:{k:x}::/64")
        mac = f"02:03:00:00:{k:02x}:53"
        if not any(prefix.overlaps(u) for u in used) and mac not in macs:
            break
    else:
        raise PlanError("no free prefix for a DNS host")
    port = max((p.number for p in sw.ports), default=0) + 1
    port += port == CPU_PORT
    rate = max((p.rate_bps for p in sw.ports), default=100e9)
    port_mac = (
        f"02:03:{sw.device_id >> 8:02x}:{sw.device_id & 0xFF:02x}:{port >> 8:02x}:{port & 0xFF:02x}"
    )
    sw.ports.append(PortDesc(port, port_mac, name, 0, rate, 0.0))
    out.hosts.append(
        HostDesc(name, str(prefix.network_address + 0x53), mac, sw.name, port, "dns", str(prefix))
    )
    return parse(out.to_dict(), source=f"{net.name} + {name}")


def eui64_link_local(mac: str) -> str:
    """The EUI-64 link-local address of ``mac`` (a host's next hop towards its gateway)."""
    b = bytearray(bytes.fromhex(mac.replace(":", "").replace("-", "")))
    if len(b) != 6:
        raise ValueError(f"bad MAC address {mac!r}")
    b[0] ^= 0x02
    iid = bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + iid))


__all__ = [
    "HostPlan",
    "LinkPlan",
    "MininetPlan",
    "PlanError",
    "SegmentPlan",
    "SwitchPlan",
    "eui64_link_local",
    "plan_network",
    "switch_argv",
    "with_dns_host",
]
