"""Validation of network description files, naming the offending field by its path.

``parse(data, source)`` turns the JSON object of a network file into a
:class:`controlplane.netdesc.NetworkDescription`, or raises :class:`NetworkFileError` with a
message like ``net.json: switches[3].ports[1].mac: '02:zz:00:00:00:01' is not a MAC address``.
It checks, in this order:

1. structure, from the dataclasses themselves: required fields, unknown fields (refused, with
   the closest known name), JSON types, numeric ranges and text formats (:data:`RULES`);
2. names and numbers: unique names (switches, hosts, service nodes and sites share one
   namespace, because ports name their peers), device ids, P4Runtime addresses, MACs, IPv6
   addresses, port numbers per switch (not the CPU port 255), node ids per site, site ids
   (exceptions: nodes of a site on one port may share a MAC, i.e. one next hop; switch
   addresses ending ``:0``, "a port chosen when the switch starts", may repeat);
3. references: link ends are switch ports whose ``peer``/``peer_port`` agree (and whose rate and
   delay are the link's), every switch-facing port has its link, the switches form one
   connected network; hosts hang off a port of an ingress gateway (a ``dns`` host off any
   switch); each egress gateway serves exactly one site and each site's gateway is an egress
   gateway; service nodes hang off a port of their gateway whose peer is a node of the site on
   that port or the site itself (a shared segment);
4. addressing: locators are inside the SID plan's block with its length and distinct; SID
   functions fit the locator and differ; nodes are inside their site's ``node_prefix``; AISID
   prefixes are /64; host, node and AISID prefixes and the locator block do not overlap;
5. services: sites and node ids exist, each AISID parses (:class:`traces.aisid.AISID`), lies
   in an AISID prefix and is unique;
6. CQF (``cycle_us`` a power of two, ports exist) and controller settings (ranges above).

``json_schema()`` derives a JSON Schema (draft 2020-12) from the same dataclasses and
:data:`RULES`, so schema and validator cannot drift. ``python -m controlplane.netvalidate
FILE`` prints ``OK`` and a summary or the error (exit status 1); ``--schema`` prints the schema.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import ipaddress
import json
import math
import re
import sys
import types
import typing
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from controlplane import netdesc
from controlplane.netdesc import NetworkDescription, SwitchDesc
from traces.aisid import AISID, AISIDError
from traces.constants import CPU_PORT, TrafficClass


class NetworkFileError(ValueError):
    """A network file that is not valid; ``path`` names the field, ``reason`` what is wrong."""

    def __init__(self, message: str, path: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason or message


MAX_PORT = 509  # 510 is the CQF hold port, 511 the drop port; registers are indexed by port
_U32 = 2**32 - 1
_PORT = {"minimum": 1, "maximum": MAX_PORT, "not": {"const": CPU_PORT}}
_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_HOSTPORT_RE = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")

#: Per (dataclass, field): JSON-Schema range keywords, plus ``fmt`` (a text format checked by
#: :data:`FORMATS`). Used by the validator and written into the schema.
RULES: dict[str, dict[str, dict[str, Any]]] = {
    "NetworkDescription": {
        "name": {"minLength": 1},
        "format_version": {"minimum": netdesc.FORMAT_VERSION, "maximum": netdesc.FORMAT_VERSION},
        "aisid_prefixes": {"fmt": "ipv6-prefix"},
    },
    "SwitchDesc": {
        "name": {"fmt": "name"},
        "device_id": {"minimum": 1, "maximum": 65535},  # also the 16-bit telemetry switch_id
        "address": {"fmt": "host:port"},
        "locator": {"fmt": "ipv6-prefix"},
        "lat": {"minimum": -90, "maximum": 90},
        "lon": {"minimum": -180, "maximum": 180},
    },
    "PortDesc": {
        "number": _PORT,
        "mac": {"fmt": "mac"},
        "peer": {"minLength": 1},
        "peer_port": {"minimum": 0, "maximum": MAX_PORT},
        "rate_bps": {"exclusiveMinimum": 0},
        "delay_us": {"minimum": 0},
    },
    "LinkDesc": {
        "a_port": _PORT,
        "b_port": _PORT,
        "rate_bps": {"exclusiveMinimum": 0},
        "delay_us": {"minimum": 0},
        "queue_packets": {"minimum": 1, "maximum": _U32},
    },
    "HostDesc": {
        "name": {"fmt": "name"},
        "address": {"fmt": "ipv6"},
        "mac": {"fmt": "mac"},
        "port": _PORT,
        "prefix": {"fmt": "ipv6-prefix-or-empty"},
    },
    "ServiceNodeDesc": {
        "node_id": {"minimum": 1, "maximum": 255},
        "name": {"fmt": "name"},
        "address": {"fmt": "ipv6"},
        "mac": {"fmt": "mac"},
        "device": {"fmt": "device"},
        "capacity_tflops": {"exclusiveMinimum": 0},
        "port": _PORT,
    },
    "SiteDesc": {
        "site_id": {"minimum": 1, "maximum": 65535},
        "name": {"fmt": "name"},
        "node_prefix": {"fmt": "ipv6-prefix"},
    },
    "SidPlan": {
        "locator_block": {"fmt": "ipv6-prefix"},
        "locator_len": {"minimum": 1, "maximum": 127},
        "end_function": {"minimum": 0},
        "dt6_function": {"minimum": 0},
        "src_function": {"minimum": 0},
    },
    "CqfDesc": {
        "cycle_us": {"minimum": 1, "maximum": 2**30},
        "cycle_bytes": {"minimum": 0, "maximum": _U32},
    },
    "ServiceDesc": {
        "name": {"fmt": "name"},
        "aisid": {"fmt": "ipv6"},
        "traffic_class": {"minimum": 0, "maximum": max(TrafficClass)},
        "deadline_us": {"minimum": 0, "maximum": _U32},
    },
    "ControllerDesc": {
        "interval_s": {"exclusiveMinimum": 0},
        "k_paths": {"minimum": 1, "maximum": 4},
        "max_segments": {"minimum": 1, "maximum": 6},
        "api_address": {"fmt": "host:port"},
        "flowlet_timeout_us": {"minimum": 0, "maximum": _U32},
        "flow_idle_timeout_us": {"minimum": 0, "maximum": _U32},
        "flow_pin_us": {"minimum": 0, "maximum": _U32},
    },
}


# ----------------------------------------------------------------------------- text formats
def _is_mac(v: str) -> str | None:
    return None if _MAC_RE.match(v) else "is not a MAC address (six hex bytes, ':' between)"


def _is_ipv6(v: str) -> str | None:
    try:
        ipaddress.IPv6Address(v)
    except ValueError:
        return "is not an IPv6 address"
    return None


def _is_prefix(v: str) -> str | None:
    if "/" not in v:
        return "is not an IPv6 prefix (ADDRESS/LENGTH)"
    try:
        ipaddress.IPv6Network(v, strict=True)
    except ValueError as e:
        return f"is not an IPv6 prefix ({e})"
    return None


def _is_hostport(v: str) -> str | None:
    m = _HOSTPORT_RE.match(v)
    if not m or not 0 <= int(m.group(2)) <= 65535:
        return "is not a 'host:port' address (port 0..65535; IPv6 hosts in brackets)"
    if m.group(1).startswith("[") and _is_ipv6(m.group(1)[1:-1]):
        return "is not a 'host:port' address (bad IPv6 host)"
    return None


def _is_device(v: str) -> str | None:
    from agents.latency.devices import device_kind

    try:
        device_kind(v)
    except ValueError:
        return "is not a device the latency model knows (see agents.latency.devices)"
    return None


FORMATS: dict[str, tuple[Callable[[str], str | None], dict[str, Any]]] = {
    "mac": (_is_mac, {"pattern": _MAC_RE.pattern}),
    "ipv6": (_is_ipv6, {"format": "ipv6"}),
    "ipv6-prefix": (_is_prefix, {"pattern": r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$"}),
    "ipv6-prefix-or-empty": (
        lambda v: None if v == "" else _is_prefix(v),
        {"pattern": r"^([0-9A-Fa-f:.]+/[0-9]{1,3})?$"},
    ),
    "host:port": (_is_hostport, {"pattern": _HOSTPORT_RE.pattern}),
    "name": (
        lambda v: None if _NAME_RE.match(v) else "is not a name (a letter, then [A-Za-z0-9_.-])",
        {"pattern": _NAME_RE.pattern},
    ),
    "device": (_is_device, {"minLength": 1}),
}


# ----------------------------------------------------------------------------- structure
class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, reason: str) -> typing.NoReturn:
        head = f"{self.source}: " if self.source else ""
        where = f"{path}: " if path else ""
        raise NetworkFileError(f"{head}{where}{reason}", path, reason)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _tname(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(v), "null" if v is None else f"a {type(v).__name__}"
    )


def _build(cls: type, data: Any, path: str, ctx: _Ctx) -> Any:
    if not isinstance(data, dict):
        ctx.fail(path, f"expected an object ({cls.__name__}), got {_tname(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(fields)})"
            ctx.fail(_join(path, str(key)), f"unknown field{hint}")
    kwargs = {}
    rules = RULES.get(cls.__name__, {})
    for name, f in fields.items():
        fpath = _join(path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                ctx.fail(fpath, "required field missing")
            continue
        kwargs[name] = _convert(data[name], _hints(cls)[name], fpath, ctx, rules.get(name, {}))
    return cls(**kwargs)


def _convert(v: Any, tp: Any, path: str, ctx: _Ctx, rule: dict[str, Any]) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return v
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(v, inner, path, ctx, rule)
    if origin is typing.Literal:
        if v not in args or isinstance(v, bool):
            ctx.fail(path, f"{v!r} is not one of {', '.join(map(repr, args))}")
        return v
    if origin is list:
        if not isinstance(v, list):
            ctx.fail(path, f"expected an array, got {_tname(v)}")
        return [_convert(x, args[0], f"{path}[{i}]", ctx, rule) for i, x in enumerate(v)]
    if origin is tuple:
        if not isinstance(v, list | tuple) or len(v) != len(args):
            ctx.fail(path, f"expected an array of {len(args)} items, got {v!r}")
        return tuple(
            _convert(x, a, f"{path}[{i}]", ctx, {})
            for i, (x, a) in enumerate(zip(v, args, strict=True))
        )
    if origin is dict:
        if not isinstance(v, dict):
            ctx.fail(path, f"expected an object, got {_tname(v)}")
        return {str(k): _convert(x, args[1], _join(path, str(k)), ctx, {}) for k, x in v.items()}
    if dataclasses.is_dataclass(tp):
        return _build(tp, v, path, ctx)
    if tp is bool:
        if not isinstance(v, bool):
            ctx.fail(path, f"expected true or false, got {v!r}")
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            ctx.fail(path, f"expected an integer, got {v!r}")
    elif tp is float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            ctx.fail(path, f"expected a number, got {v!r}")
        v = float(v)
    elif tp is str:
        if not isinstance(v, str):
            ctx.fail(path, f"expected a string, got {_tname(v)}")
    _apply_rule(v, rule, path, ctx)
    return v


def _apply_rule(v: Any, rule: dict[str, Any], path: str, ctx: _Ctx) -> None:
    if isinstance(v, int | float):
        lo, hi = rule.get("minimum"), rule.get("maximum")
        if lo is not None and v < lo and hi is None:
            ctx.fail(path, f"{v!r} must be at least {lo}")
        if lo is not None and v < lo or hi is not None and v > hi:
            ctx.fail(path, f"{v!r} is out of range {lo}..{hi}")
        if "exclusiveMinimum" in rule and not v > rule["exclusiveMinimum"]:
            ctx.fail(path, f"{v!r} must be greater than {rule['exclusiveMinimum']}")
        if "not" in rule and v == rule["not"]["const"]:
            ctx.fail(path, f"{v!r} is reserved (port {CPU_PORT} is the CPU port)")
    elif isinstance(v, str):
        if rule.get("minLength") and len(v) < rule["minLength"]:
            ctx.fail(path, "must not be empty")
        if "fmt" in rule:
            problem = FORMATS[rule["fmt"]][0](v)
            if problem:
                ctx.fail(path, f"{v!r} {problem}")


# ----------------------------------------------------------------------------- semantics
def _net(text: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(text, strict=False)


def _unique(ctx: _Ctx, items: list[tuple[str, Any]], what: str) -> None:
    """Fail at the second of two equal values: ``items`` are (path, value)."""
    seen: dict[Any, str] = {}
    for path, value in items:
        if value in seen:
            ctx.fail(path, f"{what} {value!r} is already used by {seen[value]}")
        seen[value] = path


def _same(v: Any) -> Any:
    return v


def _addr(v: str) -> str:
    return str(ipaddress.IPv6Address(v))


def _check(nd: NetworkDescription, ctx: _Ctx) -> None:
    if not nd.switches:
        ctx.fail("switches", "a network needs at least one switch")
    sws = [(f"switches[{i}]", s) for i, s in enumerate(nd.switches)]
    ports = [(f"{p}.ports[{j}]", x) for p, s in sws for j, x in enumerate(s.ports)]
    hosts = [(f"hosts[{i}]", h) for i, h in enumerate(nd.hosts)]
    sites = [(f"sites[{i}]", s) for i, s in enumerate(nd.sites)]
    nodes = [(f"{p}.nodes[{j}]", n) for p, s in sites for j, n in enumerate(s.nodes)]
    services = [(f"services[{i}]", s) for i, s in enumerate(nd.services)]
    # nodes of a site on one port may share a MAC (one next hop); ":0" = a port chosen at start
    egw_of = {id(n): s.egress_gateway for s in nd.sites for n in s.nodes}
    shared: dict[tuple, tuple[str, Any]] = {}
    for p, n in nodes:
        shared.setdefault((egw_of[id(n)], n.port, n.mac.lower()), (p, n))
    unique: list[tuple[str, list, str, Callable[[Any], Any]]] = [
        ("name", sws + hosts + sites + nodes, "name", _same),
        ("device id", sws, "device_id", _same),
        ("address", [(p, s) for p, s in sws if not s.address.endswith(":0")], "address", _same),
        ("MAC", ports + hosts + list(shared.values()), "mac", str.lower),
        ("address", hosts + nodes, "address", _addr),
        ("site id", sites, "site_id", _same),
        ("service name", services, "name", _same),
    ]
    for what, objs, field, key in unique:
        _unique(ctx, [(f"{p}.{field}", key(getattr(o, field))) for p, o in objs], what)
    sw_path = {s.name: p for p, s in sws}
    _check_sids(nd, ctx)
    _check_hosts(nd, ctx, sw_path)
    _check_sites(nd, ctx, sw_path)
    _check_ports(nd, ctx, sw_path)
    _check_links(nd, ctx, sw_path)
    _check_prefixes(nd, ctx)
    _check_services(nd, ctx)
    _check_cqf(nd, ctx, sw_path)


def _check_ports(nd: NetworkDescription, ctx: _Ctx, sw_path: dict[str, str]) -> None:
    """Port numbers are unique per switch; every port's peer agrees with what it names."""
    hosts = {h.name: h for h in nd.hosts}
    nodes = {n.name: (s, n) for s in nd.sites for n in s.nodes}
    site_names = {s.name: s for s in nd.sites}
    for i, sw in enumerate(nd.switches):
        numbers = [(f"switches[{i}].ports[{j}].number", p.number) for j, p in enumerate(sw.ports)]
        _unique(ctx, numbers, "port number")
        for j, p in enumerate(sw.ports):
            path = f"switches[{i}].ports[{j}]"
            if p.peer in sw_path:
                if p.peer == sw.name:
                    ctx.fail(f"{path}.peer", f"{p.peer!r} is this switch itself")
                try:
                    back = nd.switch(p.peer).port(p.peer_port)
                except KeyError:
                    ctx.fail(f"{path}.peer_port", f"switch {p.peer!r} has no port {p.peer_port}")
                if (back.peer, back.peer_port) != (sw.name, p.number):
                    ctx.fail(
                        f"{path}.peer_port",
                        f"{p.peer}:{p.peer_port} points at {back.peer}:{back.peer_port}, "
                        f"not back at {sw.name}:{p.number}",
                    )
            elif p.peer in hosts:
                h = hosts[p.peer]
                if (h.switch, h.port) != (sw.name, p.number):
                    ctx.fail(f"{path}.peer", f"host {h.name!r} is attached to {h.switch}:{h.port}")
            elif p.peer in nodes:
                site, n = nodes[p.peer]
                if (site.egress_gateway, n.port) != (sw.name, p.number):
                    where = f"{site.egress_gateway}:{n.port}"
                    ctx.fail(f"{path}.peer", f"node {n.name!r} hangs off {where}")
            elif p.peer in site_names:
                if site_names[p.peer].egress_gateway != sw.name:
                    ctx.fail(f"{path}.peer", f"site {p.peer!r} is not served by {sw.name!r}")
            else:
                ctx.fail(f"{path}.peer", f"{p.peer!r} is not a switch, host, service node or site")


def _check_sids(nd: NetworkDescription, ctx: _Ctx) -> None:
    plan = nd.sid_plan
    block = _net(plan.locator_block)
    if not block.prefixlen < plan.locator_len:
        ctx.fail(
            "sid_plan.locator_len", f"/{plan.locator_len} is not longer than the block {block}"
        )
    func_bits = 128 - plan.locator_len
    funcs = {}
    for name in ("end_function", "dt6_function", "src_function"):
        value = getattr(plan, name)
        if value >= 1 << func_bits:
            ctx.fail(
                f"sid_plan.{name}",
                f"{value:#x} does not fit the {func_bits} bits after a /{plan.locator_len} locator",
            )
        if value in funcs:
            ctx.fail(f"sid_plan.{name}", f"{value:#x} is also {funcs[value]}")
        funcs[value] = name
    seen: dict[ipaddress.IPv6Network, str] = {}
    for i, sw in enumerate(nd.switches):
        loc, path = _net(sw.locator), f"switches[{i}].locator"
        if loc.prefixlen != plan.locator_len:
            ctx.fail(path, f"{sw.locator!r} is not a /{plan.locator_len} (sid_plan.locator_len)")
        if not loc.subnet_of(block):
            ctx.fail(path, f"{sw.locator!r} is not inside sid_plan.locator_block {block}")
        if loc in seen:
            ctx.fail(path, f"locator {loc} is already used by {seen[loc]}")
        seen[loc] = path


def _check_links(nd: NetworkDescription, ctx: _Ctx, sw_path: dict[str, str]) -> None:
    used: dict[tuple[str, int], str] = {}
    adj: dict[str, set[str]] = {s.name: set() for s in nd.switches}
    for i, link in enumerate(nd.links):
        ends = []
        for end in ("a", "b"):
            name, port = getattr(link, end), getattr(link, f"{end}_port")
            if name not in sw_path:
                ctx.fail(f"links[{i}].{end}", f"{name!r} is not a switch")
            try:
                p = nd.switch(name).port(port)
            except KeyError:
                ctx.fail(f"links[{i}].{end}_port", f"switch {name!r} has no port {port}")
            if (name, port) in used:
                ctx.fail(
                    f"links[{i}].{end}_port", f"{name}:{port} is already used by {used[name, port]}"
                )
            used[name, port] = f"links[{i}]"
            ends.append((name, port, p))
        (a, ap, pa), (b, bp, _) = ends
        if (pa.peer, pa.peer_port) != (b, bp):
            ctx.fail(
                f"links[{i}]", f"port {a}:{ap} has peer {pa.peer}:{pa.peer_port}, not {b}:{bp}"
            )
        for name, port, p in ends:
            for attr in ("rate_bps", "delay_us"):
                if getattr(p, attr) != getattr(link, attr):
                    ctx.fail(
                        f"links[{i}].{attr}",
                        f"{getattr(link, attr)!r} differs from the {attr} {getattr(p, attr)!r} "
                        f"of port {name}:{port} ({sw_path[name]}.ports[{_index(nd, name, port)}])",
                    )
        adj[a].add(b)
        adj[b].add(a)
    for i, sw in enumerate(nd.switches):
        for j, p in enumerate(sw.ports):
            if p.peer in sw_path and (sw.name, p.number) not in used:
                ctx.fail(
                    f"switches[{i}].ports[{j}]", f"faces switch {p.peer!r} but no link uses it"
                )
    start = nd.switches[0].name
    reached, todo = {start}, [start]
    while todo:
        for nxt in adj[todo.pop()] - reached:
            reached.add(nxt)
            todo.append(nxt)
    for name, path in sw_path.items():
        if name not in reached:
            ctx.fail(path, f"switch {name!r} is not connected to {start!r} by links")


def _index(nd: NetworkDescription, switch: str, port: int) -> int:
    return next(j for j, p in enumerate(nd.switch(switch).ports) if p.number == port)


def _port_on(ctx: _Ctx, sw: SwitchDesc, port: int, path: str, peers: set[str]) -> None:
    try:
        p = sw.port(port)
    except KeyError:
        ctx.fail(path, f"switch {sw.name!r} has no port {port}")
    if p.peer not in peers:
        ctx.fail(path, f"port {sw.name}:{port} faces {p.peer!r}, not {' or '.join(sorted(peers))}")


def _check_hosts(nd: NetworkDescription, ctx: _Ctx, sw_path: dict[str, str]) -> None:
    for i, h in enumerate(nd.hosts):
        if h.switch not in sw_path:
            ctx.fail(f"hosts[{i}].switch", f"{h.switch!r} is not a switch")
        sw = nd.switch(h.switch)
        if h.kind == "client" and sw.role != "ingress_gateway":
            ctx.fail(f"hosts[{i}].switch", f"{h.switch!r} is a {sw.role}, not an ingress_gateway")
        _port_on(ctx, sw, h.port, f"hosts[{i}].port", {h.name})
        prefix = _net(h.prefix) if h.prefix else _net(f"{h.address}/64")
        if ipaddress.IPv6Address(h.address) not in prefix:
            ctx.fail(f"hosts[{i}].address", f"{h.address} is not inside its prefix {prefix}")


def _check_sites(nd: NetworkDescription, ctx: _Ctx, sw_path: dict[str, str]) -> None:
    sites_of: dict[str, int] = {}
    for i, site in enumerate(nd.sites):
        if site.egress_gateway not in sw_path:
            ctx.fail(f"sites[{i}].egress_gateway", f"{site.egress_gateway!r} is not a switch")
        sw = nd.switch(site.egress_gateway)
        if sw.role != "egress_gateway":
            ctx.fail(
                f"sites[{i}].egress_gateway", f"{sw.name!r} is a {sw.role}, not an egress_gateway"
            )
        if site.egress_gateway in sites_of:
            ctx.fail(
                f"sites[{i}].egress_gateway",
                f"{sw.name!r} already serves sites[{sites_of[sw.name]}]",
            )
        sites_of[sw.name] = i
        if not site.nodes:
            ctx.fail(f"sites[{i}].nodes", "a site needs at least one service node")
        _unique(
            ctx,
            [(f"sites[{i}].nodes[{j}].node_id", n.node_id) for j, n in enumerate(site.nodes)],
            "node id",
        )
        prefix = _net(site.node_prefix)
        for j, n in enumerate(site.nodes):
            if ipaddress.IPv6Address(n.address) not in prefix:
                ctx.fail(
                    f"sites[{i}].nodes[{j}].address",
                    f"{n.address} is not inside the site's node_prefix {prefix}",
                )
            same_port = {m.name for m in site.nodes if m.port == n.port}
            _port_on(ctx, sw, n.port, f"sites[{i}].nodes[{j}].port", same_port | {site.name})
    for name, path in sw_path.items():
        if nd.switch(name).role == "egress_gateway" and name not in sites_of:
            ctx.fail(
                f"{path}.role", f"egress gateway {name!r} serves no site (sites[*].egress_gateway)"
            )


def _check_prefixes(nd: NetworkDescription, ctx: _Ctx) -> None:
    """AISID prefixes are /64 and unique; routed prefixes never overlap one another."""
    routed: list[tuple[str, ipaddress.IPv6Network]] = [
        ("sid_plan.locator_block", _net(nd.sid_plan.locator_block))
    ]
    for i, p in enumerate(nd.aisid_prefixes):
        if _net(p).prefixlen != 64:
            ctx.fail(f"aisid_prefixes[{i}]", f"{p!r} is not a /64 (an AISID prefix is 64 bits)")
        routed.append((f"aisid_prefixes[{i}]", _net(p)))
    for i, h in enumerate(nd.hosts):
        routed.append((f"hosts[{i}].prefix", _net(h.prefix or f"{h.address}/64")))
    for i, s in enumerate(nd.sites):
        routed.append((f"sites[{i}].node_prefix", _net(s.node_prefix)))
    for k, (path, net) in enumerate(routed):
        for other_path, other in routed[:k]:
            if net.overlaps(other):
                ctx.fail(path, f"{net} overlaps {other} ({other_path})")


def _check_services(nd: NetworkDescription, ctx: _Ctx) -> None:
    prefixes = {int(_net(p).network_address) >> 64 for p in nd.aisid_prefixes}
    seen: dict[int, str] = {}
    for i, svc in enumerate(nd.services):
        path = f"services[{i}]"
        try:
            aisid = AISID.from_address(svc.aisid)
        except AISIDError as e:
            ctx.fail(f"{path}.aisid", str(e))
        if aisid.prefix not in prefixes:
            ctx.fail(f"{path}.aisid", f"{svc.aisid} is not inside any of aisid_prefixes")
        if int(aisid) in seen:
            ctx.fail(f"{path}.aisid", f"AISID {svc.aisid} is already used by {seen[int(aisid)]}")
        seen[int(aisid)] = path
        try:
            site = nd.site(svc.site)
        except KeyError:
            ctx.fail(f"{path}.site", f"{svc.site!r} is not a site")
        ids = {n.node_id for n in site.nodes}
        _unique(ctx, [(f"{path}.nodes[{j}]", n) for j, n in enumerate(svc.nodes)], "node id")
        for j, n in enumerate(svc.nodes):
            if n not in ids:
                ctx.fail(f"{path}.nodes[{j}]", f"site {site.name!r} has no node {n}")
        for j, r in enumerate(svc.replicas):
            if not any(s.name == r for s in nd.sites):
                ctx.fail(f"{path}.replicas[{j}]", f"{r!r} is not a site")
            if r == site.name or svc.replicas.index(r) != j:
                ctx.fail(f"{path}.replicas[{j}]", f"site {r!r} is given twice")


def _check_cqf(nd: NetworkDescription, ctx: _Ctx, sw_path: dict[str, str]) -> None:
    t = nd.cqf.cycle_us
    if t & (t - 1):
        ctx.fail("cqf.cycle_us", f"{t} is not a power of two")
    _unique(ctx, [(f"cqf.ports[{i}]", p) for i, p in enumerate(nd.cqf.ports)], "CQF port")
    for i, (name, port) in enumerate(nd.cqf.ports):
        if name not in sw_path:
            ctx.fail(f"cqf.ports[{i}][0]", f"{name!r} is not a switch")
        try:
            nd.switch(name).port(port)
        except KeyError:
            ctx.fail(f"cqf.ports[{i}][1]", f"switch {name!r} has no port {port}")


# ----------------------------------------------------------------------------- public API
def parse(data: dict, source: str = "") -> NetworkDescription:
    """A validated :class:`NetworkDescription` from a network file's JSON object."""
    ctx = _Ctx(source)
    nd = _build(NetworkDescription, data, "", ctx)
    _check(nd, ctx)
    return nd


def _schema_of(tp: Any, rule: dict[str, Any]) -> dict[str, Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return {}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(a, rule) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _schema_of(args[0], rule)}
    if origin is tuple:
        items = [_schema_of(a, {}) for a in args]
        return {"type": "array", "prefixItems": items, "minItems": len(args), "maxItems": len(args)}
    if origin is dict:
        return {"type": "object"}
    if dataclasses.is_dataclass(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if tp is type(None):
        return {"type": "null"}
    base = {bool: "boolean", int: "integer", float: "number", str: "string"}[tp]
    out: dict[str, Any] = {"type": base}
    for key, value in rule.items():
        if key == "fmt":
            out.update(FORMATS[value][1])
        elif base != "string" or key == "minLength":
            out[key] = value
    return out


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a network file, derived from the dataclasses."""
    defs: dict[str, Any] = {}

    def define(cls: type) -> None:
        if cls.__name__ in defs:
            return
        defs[cls.__name__] = {}
        props, required = {}, []
        rules = RULES.get(cls.__name__, {})
        for f in dataclasses.fields(cls):
            tp = _hints(cls)[f.name]
            props[f.name] = _schema_of(tp, rules.get(f.name, {}))
            if f.default is not dataclasses.MISSING:
                props[f.name]["default"] = f.default
            elif f.default_factory is dataclasses.MISSING:
                required.append(f.name)
            for sub in _dataclasses_in(tp):
                define(sub)
        doc = (cls.__doc__ or "").strip().splitlines()
        defs[cls.__name__] = {
            "type": "object",
            **(
                {"description": doc[0]} if doc and not doc[0].startswith(cls.__name__ + "(") else {}
            ),
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }

    define(NetworkDescription)
    top = defs.pop("NetworkDescription")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cpn-p4 network description",
        **top,
        "$defs": defs,
    }


def _dataclasses_in(tp: Any) -> list[type]:
    if dataclasses.is_dataclass(tp):
        return [tp]
    return [d for a in typing.get_args(tp) for d in _dataclasses_in(a)]


def summary(nd: NetworkDescription) -> str:
    """One line: counts by role, links, hosts, sites, nodes, services."""
    roles = {r: len(nd.by_role(r)) for r in netdesc.ROLES}
    n_nodes = sum(len(s.nodes) for s in nd.sites)
    tflops = sum(n.capacity_tflops for s in nd.sites for n in s.nodes)
    return (
        f"{nd.name}: {len(nd.switches)} switches ({roles['ingress_gateway']} ingress, "
        f"{roles['transit']} transit, {roles['egress_gateway']} egress), {len(nd.links)} links, "
        f"{len(nd.hosts)} hosts, {len(nd.sites)} sites, {n_nodes} service nodes "
        f"({tflops:g} TFLOPS), {len(nd.services)} services"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m controlplane.netvalidate", description=__doc__.split("\n")[0]
    )
    ap.add_argument("file", nargs="?", type=Path, help="network description (JSON)")
    ap.add_argument("--schema", action="store_true", help="print the JSON Schema and exit")
    args = ap.parse_args(argv)
    if args.schema:
        print(json.dumps(json_schema(), indent=1))
        return 0
    if args.file is None:
        ap.error("give a FILE or --schema")
    try:
        nd = netdesc.load(args.file)
    except (NetworkFileError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"OK {args.file}: {summary(nd)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
