"""A typed view of a BMv2 JSON program (docs/JSON_format.md of p4lang/behavioral-model).

The loader resolves names once (headers, fields, stacks, unions, aliases, errors) and assigns
every field of every header instance a slot in one flat list (the packet header vector, PHV),
which the code generator indexes with constants.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

# simple_switch's core parser errors and the values BMv2 gives them when the JSON omits them.
CORE_ERRORS = {
    "NoError": 0,
    "PacketTooShort": 1,
    "NoMatch": 2,
    "StackOutOfBounds": 3,
    "HeaderTooShort": 4,
    "ParserTimeout": 5,
    "ParserInvalidArgument": 6,
}

# Instance types of simple_switch (standard_metadata.instance_type).
PKT_INSTANCE_TYPE_NORMAL = 0
PKT_INSTANCE_TYPE_INGRESS_CLONE = 1
PKT_INSTANCE_TYPE_EGRESS_CLONE = 2
PKT_INSTANCE_TYPE_COALESCED = 3
PKT_INSTANCE_TYPE_RECIRC = 4
PKT_INSTANCE_TYPE_REPLICATION = 5
PKT_INSTANCE_TYPE_RESUBMIT = 6

# The standard_metadata fields both engines resolve through Program.intrinsic.
STD_FIELDS = (
    "ingress_port",
    "egress_spec",
    "egress_port",
    "instance_type",
    "packet_length",
    "parser_error",
    "checksum_error",
    "mcast_grp",
    "egress_rid",
    "priority",
    "enq_timestamp",
    "enq_qdepth",
    "deq_timedelta",
    "deq_qdepth",
    "qid",
    "ingress_global_timestamp",
    "egress_global_timestamp",
)


def hexstr(value: Any) -> int:
    """Parse a JSON hexstr (``"0x0a"``, ``"-0x1"``) or a plain int."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"expected a hex string, got {value!r}")
    text = value.strip()
    neg = text.startswith("-")
    if neg:
        text = text[1:]
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        v = int(text, 16)  # BMv2 reads every hexstr as hexadecimal, "0x" or not
    except ValueError as exc:
        raise ConfigError(f"bad hex string {value!r}") from exc
    return -v if neg else v


@dataclass
class FieldInfo:
    name: str  # "ipv4.ttl"
    index: int  # slot in the PHV list
    width: int  # bits (0 for a variable-length field)
    signed: bool
    header: int  # header instance index
    offset: int  # position of the field in its header
    vl: bool = False

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


@dataclass
class HeaderInfo:
    name: str
    index: int
    type_name: str
    metadata: bool
    fields: list[FieldInfo] = field(default_factory=list)
    fixed_bits: int = 0  # sum of fixed-width fields
    vl_field: FieldInfo | None = None
    max_length: int | None = None  # bytes, VL headers only
    union: int | None = None  # index of the union this header belongs to
    siblings: tuple[int, ...] = ()  # other headers of that union
    stack: tuple[int, int] | None = None  # (stack index, position)

    @property
    def nbytes(self) -> int:
        """Bytes on the wire for the fixed part (the VL field counts as 0, as in BMv2)."""
        return (self.fixed_bits + 7) // 8


@dataclass
class StackInfo:
    name: str
    index: int
    headers: tuple[int, ...]  # header indices (or union indices for union stacks)
    union: bool = False
    # a hidden header of the element type that run-time indexes out of range resolve to:
    # reads see an invalid header, writes change nothing the program can observe
    oob: int | None = None


@dataclass
class UnionInfo:
    name: str
    index: int
    headers: tuple[int, ...]
    members: tuple[str, ...]


class Program:
    """Names and layout of one BMv2 JSON program."""

    def __init__(self, data: dict[str, Any]):
        if not isinstance(data, dict):
            raise ConfigError("BMv2 JSON must be an object")
        self.json = data
        self.headers: list[HeaderInfo] = []
        self.header_by_name: dict[str, HeaderInfo] = {}
        self.fields: list[FieldInfo] = []
        self.field_by_ref: dict[tuple[str, str], FieldInfo] = {}
        self.stacks: list[StackInfo] = []
        self.stack_by_name: dict[str, StackInfo] = {}
        self.unions: list[UnionInfo] = []
        self.union_by_name: dict[str, UnionInfo] = {}
        self.union_stacks: list[StackInfo] = []
        self.union_stack_by_name: dict[str, StackInfo] = {}
        self.aliases: dict[str, tuple[str, str]] = {}
        self.errors: dict[str, int] = {}
        self._load_layout()
        self._load_errors()
        self.actions: dict[int, dict[str, Any]] = {}
        for a in data.get("actions", []):
            self.actions[int(a["id"])] = a
        self.calculations = {c["name"]: c for c in data.get("calculations", [])}
        self.checksums = list(data.get("checksums", []))
        self.counter_arrays = list(data.get("counter_arrays", []))
        self.meter_arrays = list(data.get("meter_arrays", []))
        self.register_arrays = list(data.get("register_arrays", []))
        self.field_lists = {int(fl["id"]): fl for fl in data.get("field_lists", [])}
        self.learn_lists = {int(ll["id"]): ll for ll in data.get("learn_lists", [])}
        self.parse_vsets = list(data.get("parse_vsets", []))
        self.parsers = list(data.get("parsers", []))
        self.deparsers = list(data.get("deparsers", []))
        self.pipelines = list(data.get("pipelines", []))
        self.extern_instances = list(data.get("extern_instances", []))

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, source: dict[str, Any] | str | Path) -> Program:
        if isinstance(source, dict):
            return cls(source)
        path = Path(source)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
        return cls(data)

    def _load_layout(self) -> None:
        data = self.json
        types: dict[str, dict[str, Any]] = {}
        for ht in data.get("header_types", []):
            types[ht["name"]] = ht
        for h in data.get("headers", []):
            tname = h.get("header_type")
            if tname not in types:
                raise ConfigError(f"header {h.get('name')!r}: unknown header type {tname!r}")
            ht = types[tname]
            info = HeaderInfo(
                name=h["name"],
                index=len(self.headers),
                type_name=tname,
                metadata=bool(h.get("metadata", False)),
                max_length=ht.get("max_length"),
            )
            for off, fdesc in enumerate(ht.get("fields", [])):
                fname, width = fdesc[0], fdesc[1]
                signed = bool(fdesc[2]) if len(fdesc) > 2 else False
                vl = width == "*"
                f = FieldInfo(
                    name=f"{info.name}.{fname}",
                    index=len(self.fields),
                    width=0 if vl else int(width),
                    signed=signed,
                    header=info.index,
                    offset=off,
                    vl=vl,
                )
                if vl:
                    if info.vl_field is not None:
                        raise ConfigError(f"header type {tname}: two variable-length fields")
                    info.vl_field = f
                else:
                    info.fixed_bits += f.width
                info.fields.append(f)
                self.fields.append(f)
                self.field_by_ref[(info.name, fname)] = f
            self.headers.append(info)
            self.header_by_name[info.name] = info
        ids = {int(h["id"]): i for i, h in enumerate(data.get("headers", []))}
        for s in data.get("header_stacks", []):
            hdrs = tuple(ids[int(i)] for i in s.get("header_ids", []))
            st = StackInfo(s["name"], len(self.stacks), hdrs)
            for pos, hi in enumerate(hdrs):
                self.headers[hi].stack = (st.index, pos)
            self.stacks.append(st)
            self.stack_by_name[st.name] = st
        for st in self.stacks:
            if st.headers:
                st.oob = self._scratch_header(self.headers[st.headers[0]], f"{st.name}[oob]")
        utypes = {u["name"]: u for u in data.get("header_union_types", [])}
        union_ids: dict[int, int] = {}
        for u in data.get("header_unions", []):
            hdrs = tuple(ids[int(i)] for i in u.get("header_ids", []))
            ut = utypes.get(u.get("union_type"), {})
            members = tuple(m[0] for m in ut.get("headers", [])) or tuple(
                self.headers[h].name for h in hdrs
            )
            info = UnionInfo(u["name"], len(self.unions), hdrs, members)
            union_ids[int(u["id"])] = info.index
            for hi in hdrs:
                self.headers[hi].union = info.index
                self.headers[hi].siblings = tuple(x for x in hdrs if x != hi)
            self.unions.append(info)
            self.union_by_name[info.name] = info
        for s in data.get("header_union_stacks", []):
            us = tuple(union_ids[int(i)] for i in s.get("header_union_ids", []))
            st = StackInfo(s["name"], len(self.union_stacks), us, union=True)
            self.union_stacks.append(st)
            self.union_stack_by_name[st.name] = st
        for alias, target in data.get("field_aliases", []):
            self.aliases[alias] = (target[0], target[1])

    def _scratch_header(self, proto: HeaderInfo, name: str) -> int:
        info = HeaderInfo(
            name=name,
            index=len(self.headers),
            type_name=proto.type_name,
            metadata=False,
            max_length=proto.max_length,
        )
        for pf in proto.fields:
            f = FieldInfo(
                name=f"{name}.{pf.name.rsplit('.', 1)[-1]}",
                index=len(self.fields),
                width=pf.width,
                signed=pf.signed,
                header=info.index,
                offset=pf.offset,
                vl=pf.vl,
            )
            if f.vl:
                info.vl_field = f
            info.fields.append(f)
            self.fields.append(f)
        info.fixed_bits = proto.fixed_bits
        self.headers.append(info)
        return info.index

    def _load_errors(self) -> None:
        declared = {name: int(v) for name, v in self.json.get("errors", [])}
        self.errors = dict(declared)
        used = set(declared.values())
        nxt = max(used, default=-1) + 1
        for name, default in CORE_ERRORS.items():
            if name in self.errors:
                continue
            value = default if default not in used else nxt
            if value == nxt:
                nxt += 1
            self.errors[name] = value
            used.add(value)

    # -- lookups -------------------------------------------------------------------------------

    def header(self, name: str) -> HeaderInfo:
        try:
            return self.header_by_name[name]
        except KeyError:
            raise ConfigError(f"unknown header instance {name!r}") from None

    def field(self, ref: Any) -> FieldInfo:
        """Resolve ``["hdr", "field"]`` (aliases included)."""
        try:
            hdr, fname = ref[0], ref[1]
        except (TypeError, IndexError, KeyError):
            raise ConfigError(f"bad field reference {ref!r}") from None
        f = self.field_by_ref.get((hdr, fname))
        if f is None:
            alias = self.aliases.get(f"{hdr}.{fname}")
            if alias is not None:
                f = self.field_by_ref.get(alias)
        if f is None:
            raise ConfigError(f"unknown field {hdr}.{fname}")
        return f

    def find_field(self, dotted: str) -> FieldInfo | None:
        """The field called ``dotted`` (``"standard_metadata.egress_spec"``), alias-aware."""
        alias = self.aliases.get(dotted)
        if alias is not None and alias in self.field_by_ref:
            return self.field_by_ref[alias]
        hdr, _, fname = dotted.rpartition(".")
        return self.field_by_ref.get((hdr, fname))

    def intrinsic(self, name: str) -> FieldInfo | None:
        """A simple_switch intrinsic field the way simple_switch looks it up.

        ``name`` is the v1model name (``mcast_grp``); the BMv2 names
        ``intrinsic_metadata.*``/``queueing_metadata.*`` are tried first (through the JSON's
        field aliases), then ``standard_metadata.*``.
        """
        for prefix in ("intrinsic_metadata", "queueing_metadata", "standard_metadata"):
            f = self.find_field(f"{prefix}.{name}")
            if f is not None:
                return f
        return None

    def action_name(self, action_id: int) -> str:
        return self.actions[action_id]["name"]
