"""Helpers to write BMv2 JSON programs by hand in tests, in the shape p4c-bm2-ss gives them.

``Prog`` collects header types, headers, actions, tables... and ``Prog.json()`` returns the
BMv2 JSON dict.  Expressions are built with ``fld``, ``const``, ``op``, ``param``, ``valid``.
"""

from __future__ import annotations

import copy
from typing import Any

STD_META_FIELDS = [
    ["ingress_port", 9, False],
    ["egress_spec", 9, False],
    ["egress_port", 9, False],
    ["instance_type", 32, False],
    ["packet_length", 32, False],
    ["enq_timestamp", 32, False],
    ["enq_qdepth", 19, False],
    ["deq_timedelta", 32, False],
    ["deq_qdepth", 19, False],
    ["ingress_global_timestamp", 48, False],
    ["egress_global_timestamp", 48, False],
    ["mcast_grp", 16, False],
    ["egress_rid", 16, False],
    ["checksum_error", 1, False],
    ["parser_error", 32, False],
    ["priority", 3, False],
    ["_padding", 3, False],
]

FIELD_ALIASES = [
    ["queueing_metadata.enq_timestamp", ["standard_metadata", "enq_timestamp"]],
    ["queueing_metadata.enq_qdepth", ["standard_metadata", "enq_qdepth"]],
    ["queueing_metadata.deq_timedelta", ["standard_metadata", "deq_timedelta"]],
    ["queueing_metadata.deq_qdepth", ["standard_metadata", "deq_qdepth"]],
    [
        "intrinsic_metadata.ingress_global_timestamp",
        ["standard_metadata", "ingress_global_timestamp"],
    ],
    [
        "intrinsic_metadata.egress_global_timestamp",
        ["standard_metadata", "egress_global_timestamp"],
    ],
    ["intrinsic_metadata.mcast_grp", ["standard_metadata", "mcast_grp"]],
    ["intrinsic_metadata.egress_rid", ["standard_metadata", "egress_rid"]],
    ["intrinsic_metadata.priority", ["standard_metadata", "priority"]],
]

ERRORS = [
    ["NoError", 0],
    ["PacketTooShort", 1],
    ["NoMatch", 2],
    ["StackOutOfBounds", 3],
    ["HeaderTooShort", 4],
    ["ParserTimeout", 5],
    ["ParserInvalidArgument", 6],
]

ETHERNET = [["dstAddr", 48, False], ["srcAddr", 48, False], ["etherType", 16, False]]
IPV4 = [
    ["version", 4, False],
    ["ihl", 4, False],
    ["diffserv", 8, False],
    ["totalLen", 16, False],
    ["identification", 16, False],
    ["flags", 3, False],
    ["fragOffset", 13, False],
    ["ttl", 8, False],
    ["protocol", 8, False],
    ["hdrChecksum", 16, False],
    ["srcAddr", 32, False],
    ["dstAddr", 32, False],
]


# -- type-value objects ------------------------------------------------------------------------


def fld(h: str, f: str) -> dict[str, Any]:
    return {"type": "field", "value": [h, f]}


def const(v: int, width: int | None = None) -> dict[str, Any]:
    if v < 0:
        return {"type": "hexstr", "value": "-" + hex(-v)}
    return {"type": "hexstr", "value": hex(v)}


def param(i: int) -> dict[str, Any]:
    return {"type": "runtime_data", "value": i}


def local(i: int) -> dict[str, Any]:
    return {"type": "local", "value": i}


def hdr(name: str) -> dict[str, Any]:
    return {"type": "header", "value": name}


def boolean(b: bool) -> dict[str, Any]:
    return {"type": "bool", "value": b}


def op(o: str, left: Any, right: Any, **extra: Any) -> dict[str, Any]:
    inner = {"op": o, "left": left, "right": right}
    inner.update(extra)
    return {"type": "expression", "value": inner}


def valid(h: str) -> dict[str, Any]:
    return op("d2b", None, fld(h, "$valid$"))


def is_valid(h: str) -> dict[str, Any]:
    return op("valid", None, hdr(h))


def prim(name: str, *params: Any) -> dict[str, Any]:
    return {"op": name, "parameters": list(params)}


def assign(dst: Any, src: Any) -> dict[str, Any]:
    return prim("assign", dst, src)


class Prog:
    """A BMv2 JSON program under construction."""

    def __init__(self, with_std: bool = True):
        self.header_types: list[dict[str, Any]] = [{"name": "scalars_0", "id": 0, "fields": []}]
        self.headers: list[dict[str, Any]] = [
            {
                "name": "scalars",
                "id": 0,
                "header_type": "scalars_0",
                "metadata": True,
                "pi_omit": True,
            }
        ]
        if with_std:
            self.add_header_type("standard_metadata", STD_META_FIELDS)
            self.add_header("standard_metadata", "standard_metadata", metadata=True)
        self.stacks: list[dict[str, Any]] = []
        self.union_types: list[dict[str, Any]] = []
        self.unions: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.init_state = "start"
        self.deparse_order: list[str] = []
        self.pipelines: dict[str, dict[str, Any]] = {
            "ingress": {
                "name": "ingress",
                "id": 0,
                "init_table": None,
                "tables": [],
                "action_profiles": [],
                "conditionals": [],
            },
            "egress": {
                "name": "egress",
                "id": 1,
                "init_table": None,
                "tables": [],
                "action_profiles": [],
                "conditionals": [],
            },
        }
        self.calculations: list[dict[str, Any]] = []
        self.checksums: list[dict[str, Any]] = []
        self.registers: list[dict[str, Any]] = []
        self.counters: list[dict[str, Any]] = []
        self.meters: list[dict[str, Any]] = []
        self.field_lists: list[dict[str, Any]] = []
        self.learn_lists: list[dict[str, Any]] = []
        self.vsets: list[dict[str, Any]] = []
        self._ids = 0

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    # -- layout ----------------------------------------------------------------------------------

    def add_header_type(self, name: str, fields: list[list[Any]], **extra: Any) -> None:
        ht = {"name": name, "id": len(self.header_types), "fields": copy.deepcopy(fields)}
        ht.update(extra)
        self.header_types.append(ht)

    def add_header(self, name: str, htype: str, metadata: bool = False) -> int:
        hid = len(self.headers)
        self.headers.append(
            {"name": name, "id": hid, "header_type": htype, "metadata": metadata, "pi_omit": True}
        )
        return hid

    def add_scalar(self, name: str, width: int) -> dict[str, Any]:
        self.header_types[0]["fields"].append([name, width, False])
        return fld("scalars", name)

    def add_stack(self, name: str, htype: str, size: int) -> None:
        ids = [self.add_header(f"{name}[{i}]", htype) for i in range(size)]
        self.stacks.append(
            {
                "name": name,
                "id": len(self.stacks),
                "header_type": htype,
                "size": size,
                "header_ids": ids,
            }
        )

    def add_union(self, name: str, members: list[tuple[str, str]]) -> None:
        ut = f"{name}_t"
        self.union_types.append(
            {"name": ut, "id": len(self.union_types), "headers": [[m, t] for m, t in members]}
        )
        ids = [self.add_header(f"{name}.{m}", t) for m, t in members]
        self.unions.append(
            {"name": name, "id": len(self.unions), "union_type": ut, "header_ids": ids}
        )

    # -- code ------------------------------------------------------------------------------------

    def add_action(
        self, name: str, params: list[tuple[str, int]], prims: list[dict[str, Any]]
    ) -> int:
        aid = len(self.actions)
        self.actions.append(
            {
                "name": name,
                "id": aid,
                "runtime_data": [{"name": n, "bitwidth": w} for n, w in params],
                "primitives": prims,
            }
        )
        return aid

    def add_state(
        self,
        name: str,
        ops: list[dict[str, Any]],
        key: list[Any] | None = None,
        transitions: list[dict[str, Any]] | None = None,
    ) -> None:
        self.states.append(
            {
                "name": name,
                "id": len(self.states),
                "parser_ops": ops,
                "transition_key": key or [],
                "transitions": transitions
                or [{"type": "default", "value": None, "mask": None, "next_state": None}],
            }
        )

    def add_table(
        self,
        pipeline: str,
        name: str,
        keys: list[tuple[Any, ...]],
        actions: list[int],
        default: tuple[int, list[int]] | None = None,
        next_tables: dict[str, Any] | None = None,
        base_next: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        match_types = [k[0] for k in keys]
        if "range" in match_types:
            mt = "range"
        elif "ternary" in match_types or "optional" in match_types:
            mt = "ternary"
        elif "lpm" in match_types:
            mt = "lpm"
        else:
            mt = "exact"
        t = {
            "name": name,
            "id": self._id(),
            "key": [
                {
                    "match_type": k[0],
                    "name": k[3]
                    if len(k) > 3
                    else (".".join(k[1]) if isinstance(k[1], list) else k[1]),
                    "target": k[1],
                    "mask": k[2],
                }
                for k in keys
            ],
            "match_type": mt,
            "type": "simple",
            "max_size": 1024,
            "with_counters": False,
            "support_timeout": False,
            "direct_meters": None,
            "action_ids": actions,
            "actions": [self.actions[a]["name"] for a in actions],
            "base_default_next": base_next,
            "next_tables": next_tables
            if next_tables is not None
            else {self.actions[a]["name"]: base_next for a in actions},
        }
        if default is not None:
            t["default_entry"] = {
                "action_id": default[0],
                "action_const": False,
                "action_data": [hex(v) for v in default[1]],
                "action_entry_const": False,
            }
        t.update(extra)
        self.pipelines[pipeline]["tables"].append(t)
        return t

    def add_cond(
        self, pipeline: str, name: str, expr: Any, true_next: str | None, false_next: str | None
    ) -> None:
        self.pipelines[pipeline]["conditionals"].append(
            {
                "name": name,
                "id": self._id(),
                "expression": expr,
                "true_next": true_next,
                "false_next": false_next,
            }
        )

    def set_init(self, pipeline: str, node: str | None) -> None:
        self.pipelines[pipeline]["init_table"] = node

    def add_calc(self, name: str, algo: str, inputs: list[dict[str, Any]]) -> None:
        self.calculations.append(
            {"name": name, "id": len(self.calculations), "algo": algo, "input": inputs}
        )

    def add_checksum(
        self, name: str, target: list[str], calc: str, verify: bool, update: bool, cond: Any = None
    ) -> None:
        self.checksums.append(
            {
                "name": name,
                "id": len(self.checksums),
                "target": target,
                "type": "generic",
                "calculation": calc,
                "verify": verify,
                "update": update,
                "if_cond": cond,
            }
        )

    def json(self) -> dict[str, Any]:
        return {
            "header_types": self.header_types,
            "headers": self.headers,
            "header_stacks": self.stacks,
            "header_union_types": self.union_types,
            "header_unions": self.unions,
            "header_union_stacks": [],
            "field_lists": self.field_lists,
            "errors": ERRORS,
            "enums": [],
            "parsers": [
                {
                    "name": "parser",
                    "id": 0,
                    "init_state": self.init_state,
                    "parse_states": self.states,
                }
            ],
            "parse_vsets": self.vsets,
            "deparsers": [
                {"name": "deparser", "id": 0, "order": self.deparse_order, "primitives": []}
            ],
            "meter_arrays": self.meters,
            "counter_arrays": self.counters,
            "register_arrays": self.registers,
            "calculations": self.calculations,
            "learn_lists": self.learn_lists,
            "actions": self.actions,
            "pipelines": [self.pipelines["ingress"], self.pipelines["egress"]],
            "checksums": self.checksums,
            "force_arith": [],
            "extern_instances": [],
            "field_aliases": FIELD_ALIASES,
            "program": "hand-written",
            "__meta__": {"version": [2, 23], "compiler": "hand-written (cpn-p4 tests)"},
        }


def eth_ipv4_prog(ipv4_checksum: bool = True) -> Prog:
    """Ethernet + IPv4 parser, deparser and (optionally) IPv4 checksum verify/update."""
    p = Prog()
    p.add_header_type("ethernet_t", ETHERNET)
    p.add_header_type("ipv4_t", IPV4)
    p.add_header("ethernet", "ethernet_t")
    p.add_header("ipv4", "ipv4_t")
    p.add_state(
        "start",
        [{"op": "extract", "parameters": [{"type": "regular", "value": "ethernet"}]}],
        [fld("ethernet", "etherType")],
        [
            {"type": "hexstr", "value": "0x0800", "mask": None, "next_state": "parse_ipv4"},
            {"type": "default", "value": None, "mask": None, "next_state": None},
        ],
    )
    p.add_state(
        "parse_ipv4", [{"op": "extract", "parameters": [{"type": "regular", "value": "ipv4"}]}]
    )
    p.deparse_order = ["ethernet", "ipv4"]
    if ipv4_checksum:
        inputs = [fld("ipv4", f[0]) for f in IPV4 if f[0] != "hdrChecksum"]
        p.add_calc("calc", "csum16", inputs)
        p.add_calc("calc_0", "csum16", inputs)
        p.add_checksum("cksum", ["ipv4", "hdrChecksum"], "calc", True, False, is_valid("ipv4"))
        p.add_checksum("cksum_0", ["ipv4", "hdrChecksum"], "calc_0", False, True, is_valid("ipv4"))
    return p


def router_prog() -> Prog:
    """The IPv4 LPM router of the P4 tutorials (basic.p4), as p4c would emit it."""
    p = eth_ipv4_prog()
    noaction = p.add_action("NoAction", [], [])
    drop = p.add_action("MyIngress.drop", [], [prim("mark_to_drop", hdr("standard_metadata"))])
    fwd = p.add_action(
        "MyIngress.ipv4_forward",
        [("dstAddr", 48), ("port", 9)],
        [
            assign(fld("standard_metadata", "egress_spec"), param(1)),
            assign(fld("ethernet", "srcAddr"), fld("ethernet", "dstAddr")),
            assign(fld("ethernet", "dstAddr"), param(0)),
            assign(
                fld("ipv4", "ttl"),
                op("&", op("+", fld("ipv4", "ttl"), const(0xFF)), const(0xFF)),
            ),
        ],
    )
    p.add_table(
        "ingress",
        "MyIngress.ipv4_lpm",
        [("lpm", ["ipv4", "dstAddr"], None, "hdr.ipv4.dstAddr")],
        [fwd, drop, noaction],
        default=(drop, []),
    )
    p.add_cond("ingress", "node_2", is_valid("ipv4"), "MyIngress.ipv4_lpm", None)
    p.set_init("ingress", "node_2")
    return p


def table_prog(
    keys: list[tuple[str, int]],
    *,
    const_entries: list[dict[str, Any]] | None = None,
    default_const: bool = False,
    size: int = 1024,
) -> Prog:
    """Header ``h`` with fields k0..kn (the key fields, widths as given, padded to bytes), one
    ingress table ``MyIngress.t`` matching them; action ``fwd(port)`` sets egress_spec,
    the default ``drop`` marks to drop."""
    p = Prog()
    fields = [[f"k{i}", w, False] for i, (_mt, w) in enumerate(keys)]
    total = sum(w for _mt, w in keys)
    if total % 8:
        fields.append(["pad", 8 - total % 8, False])
    p.add_header_type("h_t", fields)
    p.add_header("h", "h_t")
    p.add_state("start", [{"op": "extract", "parameters": [{"type": "regular", "value": "h"}]}])
    p.deparse_order = ["h"]
    fwd = p.add_action(
        "MyIngress.fwd", [("port", 9)], [assign(fld("standard_metadata", "egress_spec"), param(0))]
    )
    drop = p.add_action("MyIngress.drop", [], [prim("mark_to_drop", hdr("standard_metadata"))])
    t = p.add_table(
        "ingress",
        "MyIngress.t",
        [(mt, ["h", f"k{i}"], None, f"hdr.h.k{i}") for i, (mt, _w) in enumerate(keys)],
        [fwd, drop],
        default=(drop, []),
        max_size=size,
    )
    if default_const:
        t["default_entry"]["action_const"] = True
        t["default_entry"]["action_entry_const"] = True
    if const_entries is not None:
        t["entries"] = const_entries
    p.set_init("ingress", "MyIngress.t")
    return p


def action_prog(
    fields: list[tuple[str, int]],
    ingress: list[dict[str, Any]],
    egress: list[dict[str, Any]] | None = None,
    scalars: list[tuple[str, int]] = (),
    setup: Any = None,
) -> Prog:
    """Header ``h`` (fields as given) parsed and deparsed; ingress runs the primitives
    ``ingress`` (in action ``ing``, through a keyless table as p4c emits it), egress runs
    ``egress``.  ``scalars`` become fields of the ``scalars`` metadata header.  ``setup(p)`` may
    add registers, counters, field lists... before the actions are added."""
    p = Prog()
    for name, w in scalars:
        p.add_scalar(name, w)
    p.add_header_type("h_t", [[n, w, False] for n, w in fields])
    p.add_header("h", "h_t")
    p.add_state("start", [{"op": "extract", "parameters": [{"type": "regular", "value": "h"}]}])
    p.deparse_order = ["h"]
    if setup is not None:
        setup(p)
    for pipe, prims in (("ingress", ingress), ("egress", egress or [])):
        aid = p.add_action(f"{pipe}_act", [], prims)
        p.add_table(pipe, f"tbl_{pipe}", [], [aid], default=(aid, []))
        p.set_init(pipe, f"tbl_{pipe}")
    return p
