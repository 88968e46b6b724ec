"""The P4Info <-> BMv2 JSON mapping of one forwarding pipeline config.

P4Info names are the JSON names (tables, actions, counters, meters, registers, action
profiles, value sets; digests by their learn-list name); action parameters and match fields
go by order.  :func:`build` checks that the P4Info describes the JSON (names, match kinds,
bitwidths, action sets, sizes) and refuses a mismatch with ``INVALID_ARGUMENT``, so that a
SetForwardingPipelineConfig never loads a P4Info that would drive the wrong objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p4target.protos import p4info_pb2

from .errors import invalid

MT = p4info_pb2.MatchField.MatchType
_KINDS = {MT.EXACT: "exact", MT.LPM: "lpm", MT.TERNARY: "ternary", MT.RANGE: "range"}
_KINDS[MT.OPTIONAL] = "optional"
# JSON match types each P4Info kind may be compiled to (p4c emits optional as ternary).
_JSON_KINDS = {
    "exact": {"exact", "valid"},
    "lpm": {"lpm"},
    "ternary": {"ternary"},
    "range": {"range"},
    "optional": {"optional", "ternary"},
}
SCOPE = p4info_pb2.ActionRef.Scope


class UPDATE:
    """p4.v1.Update.Type values as plain ints (enum-wrapper lookups are slow on hot paths)."""

    INSERT, MODIFY, DELETE = 1, 2, 3


@dataclass
class FieldSpec:
    id: int
    name: str
    width: int
    kind: str  # exact, lpm, ternary, range, optional ("other" when not a PSA kind)
    json_kind: str  # the switch KeySpec match type


@dataclass
class ActionSpec:
    id: int
    name: str
    params: list[tuple[int, str, int]]  # (id, name, bitwidth) in declaration order
    index: dict[int, int] = field(default_factory=dict)  # param id -> position


@dataclass
class ProfileSpec:
    id: int
    name: str
    with_selector: bool
    size: int
    max_group_size: int
    table_ids: list[int]
    actions: dict[int, int] = field(default_factory=dict)  # P4Info action id -> JSON action id
    sum_of_members: bool = False  # selector_size_semantics (default: sum of weights)
    max_member_weight: int = 0


@dataclass
class TableSpec:
    id: int
    name: str
    fields: list[FieldSpec]
    by_id: dict[int, FieldSpec]
    actions: dict[int, tuple[int, int]]  # P4Info action id -> (JSON action id, scope)
    json_to_p4: dict[int, int]
    prioritized: bool
    size: int
    const_default: int  # P4Info const_default_action_id (0: none)
    is_const: bool
    idle: bool
    profile: ProfileSpec | None = None
    direct_counter: int = 0
    direct_meter: int = 0
    const_entries: int = 0  # entries in the JSON (const entries)


@dataclass
class CounterSpec:
    id: int
    name: str
    size: int
    unit: int  # p4info CounterSpec.Unit
    table: int = 0  # direct: the table id


@dataclass
class MeterSpec:
    id: int
    name: str
    size: int
    unit: int  # p4info MeterSpec.Unit
    table: int = 0


@dataclass
class RegisterSpec:
    id: int
    name: str
    size: int
    width: int
    signed: bool


@dataclass
class DigestSpec:
    id: int
    name: str
    kind: str  # struct, tuple or bitstring
    widths: list[tuple[int, bool]]  # (bitwidth, signed) of each member


@dataclass
class ValueSetSpec:
    id: int
    name: str
    fields: list[FieldSpec]
    size: int


@dataclass
class PacketMeta:
    id: int
    fields: list[tuple[int, str, int]]  # (id, name, bitwidth) in header order
    nbytes: int


@dataclass
class Pipeline:
    p4info: Any
    json: dict[str, Any]
    tables: dict[int, TableSpec] = field(default_factory=dict)
    tables_by_name: dict[str, TableSpec] = field(default_factory=dict)
    actions: dict[int, ActionSpec] = field(default_factory=dict)
    profiles: dict[int, ProfileSpec] = field(default_factory=dict)
    counters: dict[int, CounterSpec] = field(default_factory=dict)
    direct_counters: dict[int, CounterSpec] = field(default_factory=dict)
    meters: dict[int, MeterSpec] = field(default_factory=dict)
    direct_meters: dict[int, MeterSpec] = field(default_factory=dict)
    registers: dict[int, RegisterSpec] = field(default_factory=dict)
    digests: dict[int, DigestSpec] = field(default_factory=dict)
    digests_by_name: dict[str, DigestSpec] = field(default_factory=dict)
    value_sets: dict[int, ValueSetSpec] = field(default_factory=dict)
    packet_out: PacketMeta | None = None
    packet_in: PacketMeta | None = None


# -- JSON helpers -----------------------------------------------------------------------------


def _json_field_widths(j: dict[str, Any]) -> dict[tuple[str, str], int]:
    types = {t["name"]: t for t in j.get("header_types", [])}
    out: dict[tuple[str, str], int] = {}
    for h in j.get("headers", []):
        ht = types.get(h.get("header_type"))
        if ht is None:
            continue
        for f in ht.get("fields", []):
            if isinstance(f[1], int):
                out[(h["name"], f[0])] = int(f[1])
        out[(h["name"], "$valid$")] = 1
    return out


def _key_width(k: dict[str, Any], widths: dict[tuple[str, str], int]) -> int | None:
    target = k.get("target")
    if isinstance(target, str):
        return 1
    if k.get("match_type") == "valid":
        return 1
    return widths.get((target[0], target[1]))


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {x["name"]: x for x in items}


# -- build ------------------------------------------------------------------------------------


def build(p4info: Any, j: dict[str, Any]) -> Pipeline:
    """Map a P4Info onto a BMv2 JSON; raise ``INVALID_ARGUMENT`` listing the mismatches."""
    if not isinstance(j, dict) or "pipelines" not in j or "actions" not in j:
        raise invalid("p4_device_config is not a BMv2 JSON (no 'pipelines' / 'actions')")
    problems: list[str] = []
    p = Pipeline(p4info, j)
    widths = _json_field_widths(j)
    json_actions = {int(a["id"]): a for a in j.get("actions", [])}
    json_tables: dict[str, dict[str, Any]] = {}
    json_profiles: dict[str, dict[str, Any]] = {}
    for pipe in j["pipelines"]:
        for t in pipe.get("tables", []):
            json_tables[t["name"]] = t
        for ap in pipe.get("action_profiles", []):
            json_profiles[ap["name"]] = ap

    for a in p4info.actions:
        params = [(q.id, q.name, q.bitwidth) for q in a.params]
        spec = ActionSpec(a.preamble.id, a.preamble.name, params)
        spec.index = {pid: i for i, (pid, _n, _w) in enumerate(params)}
        p.actions[spec.id] = spec
        cands = [x for x in json_actions.values() if x["name"] == spec.name]
        if not cands:
            problems.append(f"action {spec.name}: not in the JSON")
        elif not any(
            [int(r["bitwidth"]) for r in x.get("runtime_data", [])] == [w for _i, _n, w in params]
            for x in cands
        ):
            problems.append(f"action {spec.name}: parameters differ from the JSON")

    for ap in p4info.action_profiles:
        prof = ProfileSpec(
            ap.preamble.id,
            ap.preamble.name,
            ap.with_selector,
            ap.size,
            ap.max_group_size,
            list(ap.table_ids),
        )
        if ap.WhichOneof("selector_size_semantics") == "sum_of_members":
            prof.sum_of_members = True
            prof.max_member_weight = ap.sum_of_members.max_member_weight
        p.profiles[prof.id] = prof
        jp = json_profiles.get(prof.name)
        if jp is None:
            problems.append(f"action profile {prof.name}: not in the JSON")
        elif bool(jp.get("selector")) != prof.with_selector:
            problems.append(f"action profile {prof.name}: selector differs from the JSON")

    for t in p4info.tables:
        _table(p, t, json_tables, json_actions, widths, problems)

    counter_arrays = _by_name(j.get("counter_arrays", []))
    for c in p4info.counters:
        jc = counter_arrays.get(c.preamble.name)
        if jc is None or jc.get("is_direct"):
            problems.append(f"counter {c.preamble.name}: no indexed counter of that name in JSON")
        elif int(jc.get("size", 0)) != c.size:
            problems.append(f"counter {c.preamble.name}: size {c.size} != JSON {jc.get('size')}")
        p.counters[c.preamble.id] = CounterSpec(c.preamble.id, c.preamble.name, c.size, c.spec.unit)
    for c in p4info.direct_counters:
        jc = counter_arrays.get(c.preamble.name)
        tname = p.tables[c.direct_table_id].name if c.direct_table_id in p.tables else "?"
        if jc is None or not jc.get("is_direct") or jc.get("binding") != tname:
            problems.append(f"direct counter {c.preamble.name}: not bound to {tname} in JSON")
        p.direct_counters[c.preamble.id] = CounterSpec(
            c.preamble.id, c.preamble.name, 0, c.spec.unit, c.direct_table_id
        )
    meter_arrays = _by_name(j.get("meter_arrays", []))
    for m in p4info.meters:
        jm = meter_arrays.get(m.preamble.name)
        if jm is None or jm.get("is_direct"):
            problems.append(f"meter {m.preamble.name}: no indexed meter of that name in JSON")
        elif int(jm.get("size", 0)) != m.size:
            problems.append(f"meter {m.preamble.name}: size {m.size} != JSON {jm.get('size')}")
        p.meters[m.preamble.id] = MeterSpec(m.preamble.id, m.preamble.name, m.size, m.spec.unit)
    for m in p4info.direct_meters:
        jm = meter_arrays.get(m.preamble.name)
        tname = p.tables[m.direct_table_id].name if m.direct_table_id in p.tables else "?"
        if jm is None or not jm.get("is_direct") or jm.get("binding") != tname:
            problems.append(f"direct meter {m.preamble.name}: not bound to {tname} in JSON")
        p.direct_meters[m.preamble.id] = MeterSpec(
            m.preamble.id, m.preamble.name, 0, m.spec.unit, m.direct_table_id
        )
    registers = _by_name(j.get("register_arrays", []))
    for r in p4info.registers:
        ts = r.type_spec
        bits = ts.bitstring.bit.bitwidth or ts.bitstring.int.bitwidth
        spec = RegisterSpec(
            r.preamble.id, r.preamble.name, r.size, bits, ts.bitstring.HasField("int")
        )
        p.registers[spec.id] = spec
        jr = registers.get(spec.name)
        if jr is None:
            problems.append(f"register {spec.name}: not in the JSON")
        elif int(jr.get("size", 0)) != spec.size or int(jr.get("bitwidth", 0)) != bits:
            problems.append(f"register {spec.name}: size or bitwidth differs from the JSON")
    learn = _by_name(j.get("learn_lists", []))
    for d in p4info.digests:
        spec = _digest(p4info, d, problems)
        p.digests[spec.id] = spec
        p.digests_by_name[spec.name] = spec
        jl = learn.get(spec.name)
        if jl is None:
            problems.append(f"digest {spec.name}: no learn list of that name in the JSON")
        elif len(jl.get("elements", [])) != len(spec.widths):
            problems.append(f"digest {spec.name}: member count differs from the JSON")
    vsets = _by_name(j.get("parse_vsets", []))
    for v in p4info.value_sets:
        fields = [
            FieldSpec(m.id, m.name, m.bitwidth, _KINDS.get(m.match_type, "other"), "")
            for m in v.match
        ]
        spec = ValueSetSpec(v.preamble.id, v.preamble.name, fields, v.size)
        p.value_sets[spec.id] = spec
        jv = vsets.get(spec.name)
        if jv is None:
            problems.append(f"value set {spec.name}: not in the JSON")
        elif int(jv.get("compressed_bitwidth", 0)) != sum(f.width for f in fields):
            problems.append(f"value set {spec.name}: bitwidth differs from the JSON")
    hdr_layouts = [
        [int(f[1]) for f in ht.get("fields", []) if isinstance(f[1], int)]
        for ht in j.get("header_types", [])
    ]
    for cpm in p4info.controller_packet_metadata:
        fields = [(m.id, m.name, m.bitwidth) for m in cpm.metadata]
        bits = sum(w for _i, _n, w in fields)
        meta = PacketMeta(cpm.preamble.id, fields, bits // 8)
        if bits % 8:
            problems.append(f"controller header {cpm.preamble.name}: {bits} bits, not whole bytes")
        elif [w for _i, _n, w in fields] not in hdr_layouts:
            problems.append(f"controller header {cpm.preamble.name}: no such header in the JSON")
        if cpm.preamble.name == "packet_out":
            p.packet_out = meta
        elif cpm.preamble.name == "packet_in":
            p.packet_in = meta
    if problems:
        raise invalid("P4Info does not match the BMv2 JSON: " + "; ".join(problems[:12]))
    return p


def _table(
    p: Pipeline,
    t: Any,
    json_tables: dict[str, dict[str, Any]],
    json_actions: dict[int, dict[str, Any]],
    widths: dict[tuple[str, str], int],
    problems: list[str],
) -> None:
    name = t.preamble.name
    jt = json_tables.get(name)
    if jt is None:
        problems.append(f"table {name}: not in the JSON")
        return
    jkeys = [k for k in jt.get("key", [])]
    fields: list[FieldSpec] = []
    if len(jkeys) != len(t.match_fields):
        problems.append(f"table {name}: {len(t.match_fields)} match fields, JSON has {len(jkeys)}")
        return
    for mf, jk in zip(t.match_fields, jkeys, strict=True):
        kind = (
            _KINDS.get(mf.match_type, "other")
            if mf.WhichOneof("match") == "match_type"
            else "other"
        )
        jkind = jk.get("match_type", "exact")
        fs = FieldSpec(mf.id, mf.name, mf.bitwidth, kind, jkind)
        fields.append(fs)
        if kind != "other" and jkind not in _JSON_KINDS[kind]:
            problems.append(f"table {name}: field {mf.name} is {kind} but {jkind} in the JSON")
        w = _key_width(jk, widths)
        if w is not None and w != mf.bitwidth:
            problems.append(f"table {name}: field {mf.name} has {mf.bitwidth} bits, JSON {w}")
        if jk.get("name") and jk["name"] != mf.name:
            problems.append(f"table {name}: field {mf.name} is {jk['name']} in the JSON")
    jaids = [int(a) for a in jt.get("action_ids", [])]
    by_name = {json_actions[a]["name"]: a for a in jaids if a in json_actions}
    actions: dict[int, tuple[int, int]] = {}
    for ref in t.action_refs:
        a = p.actions.get(ref.id)
        if a is None:
            problems.append(f"table {name}: action id {ref.id} not in the P4Info")
            continue
        ja = by_name.get(a.name)
        if ja is None:
            problems.append(f"table {name}: action {a.name} is not an action of the JSON table")
            continue
        actions[ref.id] = (ja, ref.scope)
    if len(actions) != len(set(by_name)):
        problems.append(f"table {name}: action set differs from the JSON")
    prof = None
    if t.implementation_id:
        prof = p.profiles.get(t.implementation_id)
        if prof is None:
            problems.append(f"table {name}: implementation {t.implementation_id} not in P4Info")
        else:
            if jt.get("action_profile") != prof.name:
                problems.append(f"table {name}: JSON table does not use {prof.name}")
            prof.actions.update({aid: ja for aid, (ja, _s) in actions.items()})
    elif jt.get("type", "simple") != "simple":
        problems.append(f"table {name}: indirect in the JSON but not in the P4Info")
    spec = TableSpec(
        id=t.preamble.id,
        name=name,
        fields=fields,
        by_id={f.id: f for f in fields},
        actions=actions,
        json_to_p4={ja: aid for aid, (ja, _s) in actions.items()},
        prioritized=any(f.kind in ("ternary", "range", "optional") for f in fields),
        size=t.size,
        const_default=t.const_default_action_id,
        is_const=t.is_const_table or bool(jt.get("entries")),
        idle=t.idle_timeout_behavior == p4info_pb2.Table.NOTIFY_CONTROL,
        profile=prof,
        const_entries=len(jt.get("entries") or []),
    )
    if spec.idle != bool(jt.get("support_timeout")):
        problems.append(f"table {name}: idle timeout support differs from the JSON")
    for rid in t.direct_resource_ids:
        if rid >> 24 == p4info_pb2.P4Ids.DIRECT_COUNTER:
            spec.direct_counter = rid
            if not jt.get("with_counters"):
                problems.append(f"table {name}: no direct counter in the JSON")
        elif rid >> 24 == p4info_pb2.P4Ids.DIRECT_METER:
            spec.direct_meter = rid
            if not jt.get("direct_meters"):
                problems.append(f"table {name}: no direct meter in the JSON")
    p.tables[spec.id] = spec
    p.tables_by_name[name] = spec


def _digest(p4info: Any, d: Any, problems: list[str]) -> DigestSpec:
    ts = d.type_spec
    which = ts.WhichOneof("type_spec")
    widths: list[tuple[int, bool]] = []

    def bits(spec: Any) -> tuple[int, bool]:
        if spec.WhichOneof("type_spec") != "bitstring":
            problems.append(f"digest {d.preamble.name}: only bit<W>/int<W> members supported")
            return (0, False)
        b = spec.bitstring
        return (b.bit.bitwidth or b.int.bitwidth, b.HasField("int"))

    if which == "struct":
        st = p4info.type_info.structs.get(ts.struct.name)
        if st is None:
            problems.append(f"digest {d.preamble.name}: struct {ts.struct.name} not in type_info")
        else:
            widths = [bits(m.type_spec) for m in st.members]
    elif which == "tuple":
        widths = [bits(m) for m in ts.tuple.members]
    else:
        widths = [bits(ts)]
        which = "bitstring"
    return DigestSpec(d.preamble.id, d.preamble.name, which or "bitstring", widths)
