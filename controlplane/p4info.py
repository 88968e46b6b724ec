"""P4Info names <-> ids, and the controller's intent values <-> P4Runtime messages.

:class:`P4InfoIndex` holds the name and id maps of one P4Info and encodes what the rest of the
control plane speaks (:class:`~controlplane.entries.TableEntry`,
:class:`~controlplane.entries.RegisterValue`, packet-out metadata by name) into
``p4.v1`` messages, and back, following the P4Runtime spec's rules:

* byte strings are canonical (the shortest string holding the value, one byte for zero);
* don't-care matches are omitted on write (ternary mask 0, LPM prefix length 0, a range
  covering the whole field) and come back omitted on read;
* LPM and ternary values are masked (bits outside the prefix or the mask are 0).

:meth:`P4InfoIndex.canonical` gives an entry the form :meth:`decode_entry` reads back, so an
intent and what a switch holds compare equal. Names the P4Info does not have, missing exact
fields or action parameters, a match of the wrong kind and a priority that does not fit the
table raise :class:`ValueError` naming what is wrong; value widths are the switch's to check
(it refuses with ``OUT_OF_RANGE``).
"""

from __future__ import annotations

from dataclasses import dataclass

from p4target.protos import p4info_pb2, p4runtime_pb2

from .entries import Exact, FieldMatch, Lpm, Range, RegisterValue, TableEntry, Ternary

_MATCH_KIND = {
    p4info_pb2.MatchField.EXACT: "exact",
    p4info_pb2.MatchField.LPM: "lpm",
    p4info_pb2.MatchField.TERNARY: "ternary",
    p4info_pb2.MatchField.RANGE: "range",
    p4info_pb2.MatchField.OPTIONAL: "optional",
}
_CLASS_KIND: dict[type, str] = {Exact: "exact", Lpm: "lpm", Ternary: "ternary", Range: "range"}


class UnknownName(KeyError, ValueError):
    """A table, action, field, parameter, register, counter or metadata name the P4Info lacks."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


def enc(v: int, what: str = "value") -> bytes:
    """Canonical P4Runtime byte string of a non-negative int."""
    if v < 0:
        raise ValueError(f"{what}: negative value {v}")
    return v.to_bytes((v.bit_length() + 7) // 8 or 1, "big")


def dec(b: bytes) -> int:
    return int.from_bytes(b, "big")


@dataclass(frozen=True)
class FieldInfo:
    id: int
    name: str
    bitwidth: int
    kind: str  # exact | lpm | ternary | range | optional


@dataclass(frozen=True)
class TableInfo:
    id: int
    name: str
    fields: tuple[FieldInfo, ...]
    by_name: dict[str, FieldInfo]
    by_id: dict[int, FieldInfo]
    action_ids: frozenset[int]
    size: int
    const: bool

    @property
    def needs_priority(self) -> bool:
        """Tables with ternary, range or optional fields order their entries by priority."""
        return any(f.kind in ("ternary", "range", "optional") for f in self.fields)


@dataclass(frozen=True)
class ActionInfo:
    id: int
    name: str
    params: tuple[tuple[int, str, int], ...]  # (id, name, bitwidth) in P4Info order
    by_id: dict[int, str]


@dataclass(frozen=True)
class ArrayInfo:
    """A register or an indexed counter."""

    id: int
    name: str
    size: int
    bitwidth: int = 0  # registers' cell width


@dataclass(frozen=True)
class PacketMeta:
    """``controller_packet_metadata`` of packet_in or packet_out."""

    fields: tuple[tuple[int, str, int], ...]  # (id, name, bitwidth)
    by_id: dict[int, str]


class P4InfoIndex:
    """Name <-> id maps and encoding for one P4Info."""

    def __init__(self, p4info: p4info_pb2.P4Info):
        self.p4info = p4info
        self.actions: dict[str, ActionInfo] = {}
        self.actions_by_id: dict[int, ActionInfo] = {}
        for a in p4info.actions:
            ps = tuple((p.id, p.name, p.bitwidth) for p in a.params)
            ai = ActionInfo(a.preamble.id, a.preamble.name, ps, {p[0]: p[1] for p in ps})
            self.actions[ai.name] = ai
            self.actions_by_id[ai.id] = ai
        self.tables: dict[str, TableInfo] = {}
        self.tables_by_id: dict[int, TableInfo] = {}
        for t in p4info.tables:
            fs = tuple(
                FieldInfo(f.id, f.name, f.bitwidth, _MATCH_KIND.get(f.match_type, "other"))
                for f in t.match_fields
            )
            ti = TableInfo(
                t.preamble.id,
                t.preamble.name,
                fs,
                {f.name: f for f in fs},
                {f.id: f for f in fs},
                frozenset(r.id for r in t.action_refs),
                t.size,
                t.is_const_table,
            )
            self.tables[ti.name] = ti
            self.tables_by_id[ti.id] = ti
        self.registers: dict[str, ArrayInfo] = {}
        self.registers_by_id: dict[int, ArrayInfo] = {}
        for r in p4info.registers:
            width = r.type_spec.bitstring.bit.bitwidth or r.type_spec.bitstring.int.bitwidth
            ri = ArrayInfo(r.preamble.id, r.preamble.name, r.size, width)
            self.registers[ri.name] = ri
            self.registers_by_id[ri.id] = ri
        self.counters: dict[str, ArrayInfo] = {}
        for c in p4info.counters:
            self.counters[c.preamble.name] = ArrayInfo(c.preamble.id, c.preamble.name, c.size)
        self.packet_meta: dict[str, PacketMeta] = {}
        for m in p4info.controller_packet_metadata:
            fs = tuple((f.id, f.name, f.bitwidth) for f in m.metadata)
            self.packet_meta[m.preamble.name] = PacketMeta(fs, {f[0]: f[1] for f in fs})

    # ------------------------------------------------------------------------------ name lookup
    @staticmethod
    def _get(d: dict, name: str, what: str):
        try:
            return d[name]
        except KeyError:
            raise UnknownName(f"unknown {what} {name!r} (not in the P4Info)") from None

    def table(self, name: str) -> TableInfo:
        return self._get(self.tables, name, "table")

    def action(self, name: str) -> ActionInfo:
        return self._get(self.actions, name, "action")

    def table_id(self, name: str) -> int:
        return self.table(name).id

    def action_id(self, name: str) -> int:
        return self.action(name).id

    def register(self, name: str) -> ArrayInfo:
        return self._get(self.registers, name, "register")

    def register_id(self, name: str) -> int:
        return self.register(name).id

    def counter(self, name: str) -> ArrayInfo:
        return self._get(self.counters, name, "counter")

    def counter_id(self, name: str) -> int:
        return self.counter(name).id

    # ----------------------------------------------------------------------------- table entries
    def canonical(self, e: TableEntry) -> TableEntry:
        """``e`` as a switch reads it back: LPM values masked, don't-care fields left out."""
        t = self.table(e.table)
        ms = []
        for name, m in e.match:
            f = self._field(t, name, m)
            m = _canonical_match(m, f.bitwidth, f"table {t.name}: field {name}")
            if m is not None:
                ms.append((name, m))
        ms.sort(key=lambda kv: kv[0])
        return TableEntry(e.table, tuple(ms), e.action, tuple(sorted(e.params)), e.priority)

    def _field(self, t: TableInfo, name: str, m: FieldMatch) -> FieldInfo:
        f = t.by_name.get(name)
        if f is None:
            raise UnknownName(f"table {t.name}: unknown match field {name!r}")
        kind = _CLASS_KIND.get(type(m))
        if kind is None:
            raise ValueError(f"table {t.name}: field {name}: not a match value: {m!r}")
        if kind != f.kind and not (f.kind == "optional" and kind == "exact"):
            raise ValueError(
                f"table {t.name}: field {name} is a {f.kind} match, got {type(m).__name__}"
            )
        return f

    def encode_entry(self, e: TableEntry) -> p4runtime_pb2.TableEntry:
        """``p4.v1.TableEntry`` of ``e`` (canonical byte strings, don't-care fields omitted)."""
        t = self.table(e.table)
        pb = p4runtime_pb2.TableEntry(table_id=t.id, priority=e.priority)
        given = dict(e.match)
        if len(given) != len(e.match):
            raise ValueError(f"table {t.name}: a match field is given twice")
        for f in t.fields:
            m = given.pop(f.name, None)
            if m is None:
                if f.kind == "exact":
                    raise ValueError(f"table {t.name}: exact match field {f.name} is missing")
                continue
            self._field(t, f.name, m)
            what = f"table {t.name}: field {f.name}"
            m = _canonical_match(m, f.bitwidth, what)
            if m is None:
                continue
            fm = pb.match.add(field_id=f.id)
            if f.kind == "optional":
                fm.optional.value = enc(m.value, what)  # type: ignore[union-attr]
            elif isinstance(m, Exact):
                fm.exact.value = enc(m.value, what)
            elif isinstance(m, Lpm):
                fm.lpm.value = enc(m.value, what)
                fm.lpm.prefix_len = m.prefix_len
            elif isinstance(m, Ternary):
                fm.ternary.value = enc(m.value, what)
                fm.ternary.mask = enc(m.mask, what + " mask")
            else:
                fm.range.low = enc(m.low, what + " low")
                fm.range.high = enc(m.high, what + " high")
        if given:
            raise UnknownName(f"table {t.name}: unknown match field(s) {sorted(given)}")
        if t.needs_priority and e.priority <= 0:
            raise ValueError(f"table {t.name}: entries need a priority > 0 (ternary/range keys)")
        if not t.needs_priority and e.priority:
            raise ValueError(f"table {t.name}: entries take no priority (exact/lpm keys only)")
        pb.action.action.CopyFrom(self.encode_action(e.action, e.params_dict))
        return pb

    def encode_action(self, name: str, params: dict[str, int]) -> p4runtime_pb2.Action:
        a = self.action(name)
        act = p4runtime_pb2.Action(action_id=a.id)
        left = dict(params)
        for pid, pname, _w in a.params:
            if pname not in left:
                raise ValueError(f"action {a.name}: parameter {pname} is missing")
            act.params.add(param_id=pid, value=enc(left.pop(pname), f"action {a.name}: {pname}"))
        if left:
            raise UnknownName(f"action {a.name}: unknown parameter(s) {sorted(left)}")
        return act

    def decode_entry(self, pb: p4runtime_pb2.TableEntry) -> TableEntry:
        """The :class:`TableEntry` of a read-back ``p4.v1.TableEntry`` (equal to what was
        written, in :meth:`canonical` form)."""
        t = self.tables_by_id.get(pb.table_id)
        if t is None:
            raise UnknownName(f"unknown table id {pb.table_id} (not in the P4Info)")
        ms: list[tuple[str, FieldMatch]] = []
        for fm in pb.match:
            f = t.by_id.get(fm.field_id)
            if f is None:
                raise UnknownName(f"table {t.name}: unknown match field id {fm.field_id}")
            which = fm.WhichOneof("field_match_type")
            m: FieldMatch
            if which == "exact":
                m = Exact(dec(fm.exact.value))
            elif which == "lpm":
                m = Lpm(dec(fm.lpm.value), fm.lpm.prefix_len)
            elif which == "ternary":
                m = Ternary(dec(fm.ternary.value), dec(fm.ternary.mask))
            elif which == "range":
                m = Range(dec(fm.range.low), dec(fm.range.high))
            elif which == "optional":
                m = Exact(dec(fm.optional.value))
            else:
                raise ValueError(f"table {t.name}: field {f.name}: unsupported match {which}")
            m2 = _canonical_match(m, f.bitwidth)
            if m2 is not None:
                ms.append((f.name, m2))
        ms.sort(key=lambda kv: kv[0])
        if pb.action.WhichOneof("type") != "action":
            raise ValueError(
                f"table {t.name}: entry action {pb.action.WhichOneof('type')} is not supported"
            )
        act = pb.action.action
        a = self.actions_by_id.get(act.action_id)
        if a is None:
            raise UnknownName(f"table {t.name}: unknown action id {act.action_id}")
        ps = []
        for p in act.params:
            pname = a.by_id.get(p.param_id)
            if pname is None:
                raise UnknownName(f"action {a.name}: unknown parameter id {p.param_id}")
            ps.append((pname, dec(p.value)))
        ps.sort()
        return TableEntry(t.name, tuple(ms), a.name, tuple(ps), pb.priority)

    # --------------------------------------------------------------------- registers, counters
    def encode_register(self, r: RegisterValue) -> p4runtime_pb2.RegisterEntry:
        ri = self.register(r.register)
        if not 0 <= r.index < ri.size:
            raise ValueError(f"register {ri.name}: index {r.index} not in [0, {ri.size})")
        pb = p4runtime_pb2.RegisterEntry(register_id=ri.id)
        pb.index.index = r.index
        pb.data.bitstring = enc(r.value, f"register {ri.name}[{r.index}]")
        return pb

    # ----------------------------------------------------------------------------- packet I/O
    def packet_out(self, payload: bytes, **metadata: int) -> p4runtime_pb2.PacketOut:
        """A PacketOut with ``packet_out`` metadata given by name (missing fields are 0)."""
        pb = p4runtime_pb2.PacketOut(payload=bytes(payload))
        meta = self.packet_meta.get("packet_out")
        if meta is None:
            if metadata:
                raise ValueError("the program has no packet_out controller header")
            return pb
        left = dict(metadata)
        for mid, name, _w in meta.fields:
            pb.metadata.add(metadata_id=mid, value=enc(left.pop(name, 0), f"packet_out {name}"))
        if left:
            raise UnknownName(f"unknown packet_out metadata {sorted(left)}")
        return pb

    def decode_packet_in(self, pb: p4runtime_pb2.PacketIn) -> tuple[bytes, dict[str, int]]:
        """(payload, packet_in metadata by name)."""
        meta = self.packet_meta.get("packet_in")
        names = meta.by_id if meta is not None else {}
        return bytes(pb.payload), {
            names.get(m.metadata_id, str(m.metadata_id)): dec(m.value) for m in pb.metadata
        }


def _canonical_match(m: FieldMatch, width: int, what: str = "field") -> FieldMatch | None:
    """The match as read back, or None for a don't-care."""
    if isinstance(m, Lpm):
        if m.prefix_len == 0:
            return None
        if not 0 < m.prefix_len <= width:
            raise ValueError(f"{what}: prefix length {m.prefix_len} not in [0, {width}]")
        mask = ((1 << m.prefix_len) - 1) << (width - m.prefix_len)
        return Lpm(m.value & mask, m.prefix_len)
    if isinstance(m, Ternary):
        return None if m.mask == 0 else Ternary(m.value & m.mask, m.mask)
    if isinstance(m, Range):
        if m.low == 0 and m.high == (1 << width) - 1:
            return None
        return m
    return m
