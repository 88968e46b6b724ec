"""Builds the P4Info message from the control-plane description the back end collected."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ast as A
from . import types as T
from .diagnostics import CompileError
from .p4info import P4InfoBuilder

if TYPE_CHECKING:
    from .bmv2.program import Backend

MATCH_TYPES = {
    "exact": "EXACT",
    "lpm": "LPM",
    "ternary": "TERNARY",
    "range": "RANGE",
    "optional": "OPTIONAL",
}
COUNTER_UNITS = {"packets": "PACKETS", "bytes": "BYTES", "packets_and_bytes": "BOTH"}


def _order(decl: Any) -> tuple:
    pos = decl.pos
    builtin = pos.file.endswith(("core.p4", "v1model.p4"))
    return (not builtin, pos.file, pos.line, pos.col)


def build_p4info(be: Backend) -> Any:
    b = P4InfoBuilder(be)
    ids = b.ids
    # declaration order (p4c lists objects as it finds them in the program)
    be.cp_tables.sort(key=lambda t: _order(t.decl))
    be.cp_actions = dict(sorted(be.cp_actions.items(), key=lambda kv: _order(kv[1].decl)))
    sym = b.sym
    externs = {kind: [loc for k, loc in be.cp_externs if k == kind] for kind, _ in be.cp_externs}
    direct_counters = {t.direct_counter: t for t in be.cp_tables if t.direct_counter}
    direct_meters = {t.direct_meter: t for t in be.cp_tables if t.direct_meter}
    controller_headers = [
        d
        for d in be.fe.program.decls
        if isinstance(d, A.StructLikeDecl)
        and d.kind == "header"
        and d.anno("controller_header") is not None
        and not d.anno("hidden")
    ]

    def decl_annos(loc: Any) -> list:
        return getattr(loc.decl, "annotations", []) or []

    owners: dict[tuple[int, str], Any] = {}

    def add(prefix: int, name: str, annos: list, decl: Any = None) -> None:
        # two declarations of one kind may not share a control-plane name
        if decl is not None and hasattr(decl, "pos") and type(decl).__name__ != "_PosDecl":
            prev = owners.setdefault((prefix, name), decl)
            if prev is not decl:
                raise CompileError.at(
                    decl.pos,
                    f"{getattr(decl, 'name', name)}: control-plane name {name} is already used "
                    f"at line {prev.pos.line}",
                )
        v, pos = b.explicit_id(annos)
        sym.add(prefix, name, v, pos)

    # -- collect symbols ------------------------------------------------------------------------
    for name, act in be.cp_actions.items():
        add(ids.ACTION, name, act.annotations)
    for t in be.cp_tables:
        add(ids.TABLE, t.name, t.annotations, t.decl)
    for name, d in be.value_sets:
        add(ids.VALUE_SET, name, d.annotations)
    for d in controller_headers:
        add(ids.CONTROLLER_HEADER, d.name, d.annotations)
    profiles: dict[str, Any] = {}
    for t in be.cp_tables:
        if t.implementation:
            profiles.setdefault(t.implementation, []).append(t.name)
    for kind in ("action_profile", "action_selector"):
        for loc in externs.get(kind, []):
            if loc.name in profiles:
                add(ids.ACTION_PROFILE, loc.name, decl_annos(loc), loc.decl)
    for loc in externs.get("counter", []):
        add(ids.COUNTER, loc.name, decl_annos(loc), loc.decl)
    for loc in externs.get("direct_counter", []):
        if loc.name in direct_counters:
            add(ids.DIRECT_COUNTER, loc.name, decl_annos(loc), loc.decl)
    for loc in externs.get("meter", []):
        add(ids.METER, loc.name, decl_annos(loc), loc.decl)
    for loc in externs.get("direct_meter", []):
        if loc.name in direct_meters:
            add(ids.DIRECT_METER, loc.name, decl_annos(loc), loc.decl)
    for loc in externs.get("register", []):
        add(ids.REGISTER, loc.name, decl_annos(loc), loc.decl)
    for name, _, _ in be.digests:
        sym.add(ids.DIGEST, name)
    sym.compute()

    info = b.info
    info.pkg_info.arch = "v1model"
    main = be.fe.main
    for a in main.annotations:
        if a.name == "pkginfo" and a.kv:
            for k, v in a.kv.items():
                if k in (
                    "name",
                    "version",
                    "organization",
                    "contact",
                    "url",
                    "arch",
                ) and isinstance(v, A.StringLit):
                    setattr(info.pkg_info, k, v.value)
    b.doc(info.pkg_info, main.annotations)

    # -- tables ------------------------------------------------------------------------------------
    for t in be.cp_tables:
        msg = info.tables.add()
        b.preamble(msg.preamble, ids.TABLE, t.name, t.annotations)
        fids = b.field_ids([k.annotations for k in t.keys])
        for k, fid in zip(t.keys, fids, strict=True):
            mf = msg.match_fields.add()
            mf.id = fid
            mf.name = k.name
            width, tname = b.width_for_cp(k.type, k.width)
            mf.bitwidth = width
            if k.match_kind in MATCH_TYPES:
                mf.match_type = getattr(b.pb.MatchField, MATCH_TYPES[k.match_kind])
            else:
                mf.other_match_type = k.match_kind
            if tname:
                mf.type_name.name = tname
            b.annotate(mf, k.annotations)
            b.doc(mf, k.annotations)
        for aname, annos in t.actions:
            ref = msg.action_refs.add()
            ref.id = sym.id(ids.ACTION, aname)
            names = {a.name for a in annos}
            if "tableonly" in names and "defaultonly" in names:
                raise CompileError.at(
                    annos[0].pos,
                    f"table {t.name}: action {aname} is both @tableonly and @defaultonly",
                )
            ref.scope = (
                b.pb.ActionRef.TABLE_ONLY
                if "tableonly" in names
                else b.pb.ActionRef.DEFAULT_ONLY
                if "defaultonly" in names
                else b.pb.ActionRef.TABLE_AND_DEFAULT
            )
            b.annotate(ref, annos)
        if t.default_action and t.default_const:
            msg.const_default_action_id = sym.id(ids.ACTION, t.default_action)
        if t.default_action:
            # the default action the table starts with, with its data (as p4c gives it)
            ida = msg.initial_default_action
            ida.action_id = sym.id(ids.ACTION, t.default_action)
            act = be.cp_actions.get(t.default_action)
            pids = b.field_ids([p[3] for p in act.params]) if act is not None else []
            for i, (width, value) in enumerate(t.default_args):
                arg = ida.arguments.add()
                arg.param_id = pids[i] if i < len(pids) else i + 1
                arg.value = (int(value) & ((1 << width) - 1)).to_bytes(
                    max(1, (width + 7) // 8), "big"
                )
        if t.implementation:
            msg.implementation_id = sym.id(ids.ACTION_PROFILE, t.implementation)
        if t.direct_counter:
            msg.direct_resource_ids.append(sym.id(ids.DIRECT_COUNTER, t.direct_counter))
        if t.direct_meter:
            msg.direct_resource_ids.append(sym.id(ids.DIRECT_METER, t.direct_meter))
        msg.size = t.size
        msg.idle_timeout_behavior = (
            b.pb.Table.NOTIFY_CONTROL if t.support_timeout else b.pb.Table.NO_TIMEOUT
        )
        if t.is_const:
            msg.is_const_table = True
        if t.has_entries:
            msg.has_initial_entries = True

    # -- actions -----------------------------------------------------------------------------------
    for name, act in be.cp_actions.items():
        msg = info.actions.add()
        b.preamble(msg.preamble, ids.ACTION, name, act.annotations)
        pids = b.field_ids([p[3] for p in act.params])
        for (pname, width, ptype, annos), pid in zip(act.params, pids, strict=True):
            p = msg.params.add()
            p.id = pid
            p.name = pname
            w, tname = b.width_for_cp(ptype, width)
            if not (isinstance(ptype, T.TEnum) and ptype.underlying is None):
                p.bitwidth = w
            if tname:
                p.type_name.name = tname
            b.annotate(p, annos)
            b.doc(p, annos)

    # -- action profiles ------------------------------------------------------------------------------
    for kind in ("action_profile", "action_selector"):
        for loc in externs.get(kind, []):
            if loc.name not in profiles:
                continue
            msg = info.action_profiles.add()
            b.preamble(msg.preamble, ids.ACTION_PROFILE, loc.name, decl_annos(loc))
            for tname in profiles[loc.name]:
                msg.table_ids.append(sym.id(ids.TABLE, tname))
            msg.with_selector = kind == "action_selector"
            msg.size = be._const(loc.args["size"])
            mg = A.find_annotation(decl_annos(loc), "max_group_size")
            if mg is not None and mg.args and mg.args[0].const is not None:
                msg.max_group_size = int(mg.args[0].const)

    # -- counters and meters -----------------------------------------------------------------------------
    for loc in externs.get("counter", []):
        msg = info.counters.add()
        b.preamble(msg.preamble, ids.COUNTER, loc.name, decl_annos(loc))
        msg.spec.unit = getattr(b.pb.CounterSpec, COUNTER_UNITS[loc.args["type"].const.name])
        msg.size = be._const(loc.args["size"])
    for loc in externs.get("direct_counter", []):
        if loc.name not in direct_counters:
            continue
        msg = info.direct_counters.add()
        b.preamble(msg.preamble, ids.DIRECT_COUNTER, loc.name, decl_annos(loc))
        msg.spec.unit = getattr(b.pb.CounterSpec, COUNTER_UNITS[loc.args["type"].const.name])
        msg.direct_table_id = sym.id(ids.TABLE, direct_counters[loc.name].name)
    for loc in externs.get("meter", []):
        msg = info.meters.add()
        b.preamble(msg.preamble, ids.METER, loc.name, decl_annos(loc))
        msg.spec.unit = getattr(b.pb.MeterSpec, loc.args["type"].const.name.upper())
        msg.size = be._const(loc.args["size"])
    for loc in externs.get("direct_meter", []):
        if loc.name not in direct_meters:
            continue
        msg = info.direct_meters.add()
        b.preamble(msg.preamble, ids.DIRECT_METER, loc.name, decl_annos(loc))
        msg.spec.unit = getattr(b.pb.MeterSpec, loc.args["type"].const.name.upper())
        msg.direct_table_id = sym.id(ids.TABLE, direct_meters[loc.name].name)

    # -- controller headers, value sets, registers, digests ----------------------------------------------------
    for d in controller_headers:
        a = d.anno("controller_header")
        cname = a.string_arg() or d.name
        msg = info.controller_packet_metadata.add()
        b.preamble(msg.preamble, ids.CONTROLLER_HEADER, d.name, d.annotations, alias=cname)
        msg.preamble.name = cname
        t = be.checker.struct_types[id(d)]
        fields = [f for f in d.fields if f.anno("hidden") is None]
        fids = b.field_ids([f.annotations for f in fields])
        for f, fid in zip(fields, fids, strict=True):
            m = msg.metadata.add()
            m.id = fid
            m.name = f.name
            ft = t.field_type(f.name)
            w = T.serializable_width(ft) or 0
            w, tname = b.width_for_cp(ft, w)
            m.bitwidth = w
            if tname:
                m.type_name.name = tname
            b.annotate(m, f.annotations)
    for name, d in be.value_sets:
        msg = info.value_sets.add()
        b.preamble(msg.preamble, ids.VALUE_SET, name, d.annotations)
        msg.size = d.size_value
        et = d.type
        if isinstance(et, T.TStructLike):
            fids = b.field_ids([f.annotations for f in et.decl.fields])
            for (fname, ft), f, fid in zip(et.fields, et.decl.fields, fids, strict=True):
                m = msg.match.add()
                m.id = fid
                m.name = fname
                m.bitwidth = T.serializable_width(ft) or 0
                ma = f.anno("match")
                mk = ma.body[0].text if ma is not None and ma.body else "exact"
                if mk in MATCH_TYPES:
                    m.match_type = getattr(b.pb.MatchField, MATCH_TYPES[mk])
                else:
                    m.other_match_type = mk
        else:
            m = msg.match.add()
            m.id = 1
            m.bitwidth = T.serializable_width(T.underlying(et)) or 0
            m.match_type = b.pb.MatchField.EXACT
    for loc in externs.get("register", []):
        msg = info.registers.add()
        b.preamble(msg.preamble, ids.REGISTER, loc.name, decl_annos(loc))
        msg.size = be._const(loc.args["size"])
        b.type_spec(msg.type_spec, loc.etype.args[0])
    seen: set[str] = set()
    for name, t, _ in be.digests:
        if name in seen:
            continue
        seen.add(name)
        msg = info.digests.add()
        b.preamble(msg.preamble, ids.DIGEST, name, [])
        if t is not None:
            b.type_spec(msg.type_spec, t)
    info.type_info.SetInParent()
    return info
