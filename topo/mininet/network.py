"""Build a Mininet network from a network description (root; Debian's ``mininet``).

:func:`build_mininet` makes, from :func:`topo.mininet.plan.plan_network`:

* a :class:`~topo.mininet.p4switch.P4Switch` per switch (root namespace, interfaces
  ``<switch>-eth<port>`` with the file's port numbers and MACs, its own P4Runtime address);
* a Mininet host per client/DNS host and per service node (own network namespace, interface
  ``<host>-eth0`` with the file's MAC; no IPv4), and a
  :class:`~topo.mininet.p4switch.HubSegment` where several nodes share one switch port;
* on each host: IPv6 on (``disable_ipv6=0``), DAD, router advertisements and solicitations
  off, the file's address (``nodad``), a permanent neighbour entry for the gateway (the EUI-64
  link-local address of the switch port's MAC) and a default route through it. The kernel does
  not take delivery for the address (its ``local`` route is removed): the host programs on
  ``AF_PACKET`` sockets (:mod:`traces.hostprog`) are the only receivers, and the kernel does not
  answer their UDP/TCP with port-unreachable or RST. Kernel tools see the address; a kernel
  ``ping`` from a host gets no reply back.

The returned network is built, not started: ``net.start()`` starts the switches and waits for
their gRPC ports; ``net.stop()`` stops them and removes every interface it made.
:func:`leftovers` lists what a run left behind (interfaces, processes) and
:func:`clean_leftovers` removes it (``python -m topo.mininet clean``): only names of the plan,
never anything else on the machine (unlike ``mn -c``).
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from controlplane.netdesc import NetworkDescription
from topo.mininet.mn import import_mininet, why_unavailable
from topo.mininet.p4switch import HubSegment, P4Switch
from topo.mininet.plan import MininetPlan, PlanError, eui64_link_local, plan_network

import_mininet()
from mininet.net import Mininet  # noqa: E402
from mininet.node import Host  # noqa: E402


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def with_free_grpc_ports(net: NetworkDescription) -> NetworkDescription:
    """A copy of ``net`` whose switch addresses are free TCP ports (the file's where free)."""
    out = copy.deepcopy(net)
    taken: set[tuple[str, int]] = set()
    for sd in out.switches:
        host, _, port_s = sd.address.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        port = int(port_s) if port_s.isdigit() else 0
        if port == 0 or (host, port) in taken or not _port_free(host, port):
            port = _free_port(host)
            while (host, port) in taken:
                port = _free_port(host)
        taken.add((host, port))
        sd.address = f"{host}:{port}"
    return out


def existing_interfaces() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def check_clear(plan: MininetPlan) -> None:
    """PlanError if an interface the plan would create exists already (another run?)."""
    clash = sorted(set(plan.root_interfaces()) & existing_interfaces())
    if clash:
        raise PlanError(
            f"interfaces {', '.join(clash)} exist already (another run, or one that was "
            "killed: `python -m topo.mininet clean --network FILE` removes them)"
        )


def build_mininet(
    net: NetworkDescription,
    *,
    log_dir: str | os.PathLike[str] = "/tmp/cpn-mininet",
    binary: str | None = "auto",
    start_timeout_s: float = 30.0,
) -> Any:
    """A built (not started) Mininet network for ``net``; see the module doc.

    The switches' P4Runtime addresses are the description's (``net.switches[i].address``,
    which must be concrete ports: see :func:`with_free_grpc_ports`). ``binary``: ``"auto"``
    (simple_switch_grpc when on PATH), ``None`` (the embedded switch) or a path. The network
    gets a ``plan`` attribute (:class:`MininetPlan`)."""
    reason = why_unavailable()
    if reason:
        raise RuntimeError(reason)
    plan = plan_network(net)
    for sp in plan.switches:
        if sp.grpc_port == 0:
            raise PlanError(f"switch {sp.name}: P4Runtime port 0; use with_free_grpc_ports()")
    check_clear(plan)
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    # Mininet.init() would also raise machine-wide limits and sysctls (fixLimits); these
    # small networks do not need that, so only the root check (why_unavailable) is made.
    Mininet.inited = True
    mn = Mininet(topo=None, switch=P4Switch, host=Host, controller=None, build=False)
    mn.plan = plan
    try:
        for sp in plan.switches:
            mn.addSwitch(
                sp.name,
                cls=P4Switch,
                device_id=sp.device_id,
                grpc_address=sp.grpc_address,
                port_delay_us=sp.port_delay_us,
                link_rate_bps=sp.link_rate_bps,
                cqf=sp.cqf,
                queue_depth=sp.queue_depth,
                log_dir=log_dir,
                binary=binary,
                start_timeout_s=start_timeout_s,
            )
        for seg in plan.segments:
            mn.addSwitch(seg.name, cls=HubSegment)
        for h in plan.hosts:
            mn.addHost(h.name, ip=None)
        for lk in plan.links:
            macs = {k: v for k, v in (("addr1", lk.a_mac), ("addr2", lk.b_mac)) if v}
            mn.addLink(
                lk.a, lk.b, port1=lk.a_port, port2=lk.b_port,
                intfName1=lk.a_intf, intfName2=lk.b_intf, **macs,
            )  # fmt: skip
        mn.build()
        for h in plan.hosts:
            configure_host(mn[h.name], h.intf, h.address, h.prefix_len, h.gateway_mac)
    except BaseException:
        stop_mininet(mn)
        raise
    return mn


def configure_host(
    node: Any, intf: str, address: str, prefix_len: int, gateway_mac: str, timeout_s: float = 5
) -> None:
    """IPv6 on ``node``'s ``intf`` as the module doc says (runs in the host's namespace)."""
    gw = eui64_link_local(gateway_mac)
    sysctls = [
        f"net.ipv6.conf.{k}.{v}"
        for k in ("all", "default", intf)
        for v in ("disable_ipv6=0", "accept_dad=0", "accept_ra=0", "router_solicitations=0")
    ]
    cmds = [
        "sysctl -qw " + " ".join(sysctls),
        f"ip link set dev {intf} up",
        f"ip -6 addr add {address}/{prefix_len} dev {intf} nodad",
        f"ip -6 neigh replace {gw} lladdr {gateway_mac} dev {intf} nud permanent",
        f"ip -6 route replace default via {gw} dev {intf}",
    ]
    for c in cmds:
        out = node.cmd(c + " 2>&1; echo rc=$?").strip()
        if not out.endswith("rc=0"):
            raise RuntimeError(f"{node.name}: `{c}` failed: {out}")
    # The local route appears once the (nodad) address completes, from a kernel work queue.
    deadline = time.monotonic() + timeout_s
    while True:
        out = node.cmd(f"ip -6 route del local {address} dev {intf} table local 2>&1; echo rc=$?")
        if out.strip().endswith("rc=0"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{node.name}: no local route for {address} to remove: {out}")
        node.cmd(f"ip -6 route show table local {address}")  # a round trip, then retry


def stop_mininet(mn: Any) -> None:
    """Stop ``mn`` (switch processes, links, host shells); tolerant of a half-built one."""
    for sw in mn.switches:
        if isinstance(sw, P4Switch):
            sw.stop_process()
    try:
        mn.stop()
    except Exception:  # noqa: BLE001 - go on to the explicit clean-up
        pass
    if getattr(mn, "plan", None) is not None:
        clean_leftovers(mn.plan)


def leftovers(plan: MininetPlan) -> list[str]:
    """Interfaces of ``plan`` still in the root namespace (empty after a clean stop)."""
    return sorted(set(plan.root_interfaces()) & existing_interfaces())


def clean_leftovers(plan: MininetPlan) -> list[str]:
    """Delete the plan's root-namespace interfaces (deleting one end of a veth removes the
    other, in a host's namespace too); returns what was deleted."""
    gone = []
    for name in leftovers(plan):
        r = subprocess.run(["ip", "link", "del", "dev", name], capture_output=True, check=False)
        if r.returncode == 0:
            gone.append(name)
    return gone


def our_processes(plan: MininetPlan) -> list[int]:
    """Pids of switch, host-program and Mininet shell processes of ``plan``'s names."""
    intfs = set(plan.root_interfaces()) | {h.intf for h in plan.hosts}
    names = {s.name for s in plan.switches} | {h.name for h in plan.hosts}
    names |= {seg.name for seg in plan.segments}
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        text = " ".join(words)
        shell = any(w.startswith("mininet:") and w[8:] in names for w in words)
        ours = ("p4target.switch" in text or "traces.hostprog" in text) and any(
            w.split("@")[-1] in intfs for w in words
        )
        if shell or ours:
            pids.append(int(pid))
    return pids


__all__ = [
    "build_mininet",
    "check_clear",
    "clean_leftovers",
    "configure_host",
    "leftovers",
    "our_processes",
    "stop_mininet",
    "with_free_grpc_ports",
]
