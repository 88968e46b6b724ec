"""Match keys and actions: P4Runtime ``FieldMatch`` / ``Action`` <-> canonical values and the
switch's match-key objects, with the spec's validity rules (section "Match Format").

A decoded key is a tuple with one canonical element per P4Info match field, in P4Info order
(``None`` for a don't-care field): exact ``v``; lpm ``(v, prefix_len)``; ternary
``(v, mask)``; range ``(lo, hi)``; optional ``v``.  It identifies the entry together with
the priority.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from p4target.protos import p4runtime_pb2
from p4target.switch import LPM, Exact, Optional, Range, Ternary

from .codec import decode_uint, encode_uint
from .errors import denied, invalid
from .pipeline import SCOPE, FieldSpec, Pipeline, TableSpec

Canon = tuple[Any, ...]
_TABLE_ONLY, _DEFAULT_ONLY = SCOPE.TABLE_ONLY, SCOPE.DEFAULT_ONLY  # plain ints: no enum lookup


def decode_key(spec: TableSpec, matches: Sequence[Any]) -> tuple[Canon, list[Any]]:
    """(canonical key, switch key) of a ``TableEntry.match`` list; INVALID_ARGUMENT /
    OUT_OF_RANGE on a bad match."""
    return _decode(spec.name, spec.fields, spec.by_id, matches)


def _decode(
    where: str, fields: list[FieldSpec], by_id: dict[int, FieldSpec], matches: Sequence[Any]
) -> tuple[Canon, list[Any]]:
    if len(matches) == len(fields):  # fast path: every field, in P4Info order
        canon: list[Any] = []
        key: list[Any] = []
        for f, fm in zip(fields, matches, strict=True):
            if fm.field_id != f.id:
                break
            c, k = _field(where, f, fm)
            canon.append(c)
            key.append(k)
        else:
            return tuple(canon), key
    given: dict[int, Any] = {}
    for fm in matches:
        fid = fm.field_id
        if fid not in by_id:
            raise invalid(f"{where}: unknown match field id {fid}")
        if fid in given:
            raise invalid(f"{where}: match field id {fid} given twice")
        given[fid] = fm
    canon = []
    key = []
    for f in fields:
        fm = given.get(f.id)
        c, k = _field(where, f, fm)
        canon.append(c)
        key.append(k)
    return tuple(canon), key


def _field(where: str, f: FieldSpec, fm: Any) -> tuple[Any, Any]:
    """(canonical value, switch key) of one field; the checks of :func:`_field_checked` done
    inline for a well-formed field, which falls back to it for anything else (the errors)."""
    width = f.width
    if fm is not None and width and fm.WhichOneof("field_match_type") == f.kind:
        kind = f.kind
        if kind == "exact":
            b = fm.exact.value
            v = int.from_bytes(b, "big")
            if b and not v >> width:
                return v, Exact(v)
        elif kind == "ternary":
            t = fm.ternary
            b, bm = t.value, t.mask
            v, m = int.from_bytes(b, "big"), int.from_bytes(bm, "big")
            if b and bm and m and not (v >> width or m >> width or v & ~m):
                return (v, m), Ternary(v, m)
        elif kind == "lpm":
            lp = fm.lpm
            b, plen = lp.value, lp.prefix_len
            v = int.from_bytes(b, "big")
            if b and not v >> width and 0 < plen <= width and not v & ((1 << (width - plen)) - 1):
                return (v, plen), LPM(v, plen)
        elif kind == "range":
            r = fm.range
            bl, bh = r.low, r.high
            lo, hi = int.from_bytes(bl, "big"), int.from_bytes(bh, "big")
            if (
                bl
                and bh
                and not (lo >> width or hi >> width)
                and lo <= hi
                and not (lo == 0 and hi == (1 << width) - 1)
            ):
                return (lo, hi), Range(lo, hi)
    return _field_checked(where, f, fm)


def _field_checked(where: str, f: FieldSpec, fm: Any) -> tuple[Any, Any]:
    kind = f.kind
    width = f.width
    what = f"{where}: field {f.name}"
    if fm is None:
        if kind == "exact":
            raise invalid(f"{what}: exact match fields cannot be omitted")
        if kind == "lpm":
            return None, LPM(0, 0)
        if kind == "ternary" or (kind == "optional" and f.json_kind == "ternary"):
            return None, Ternary(0, 0)
        if kind == "range":
            return None, Range(0, (1 << width) - 1)
        if kind == "optional":
            return None, Optional(None)
        raise invalid(f"{what}: unsupported match kind")
    which = fm.WhichOneof("field_match_type")
    if which != kind:
        raise invalid(f"{what}: is a {kind} match, got {which}")
    if kind == "exact":
        v = decode_uint(fm.exact.value, width, what)
        return v, Exact(v)
    if kind == "lpm":
        v = decode_uint(fm.lpm.value, width, what)
        plen = fm.lpm.prefix_len
        if plen <= 0 or plen > width:
            raise invalid(
                f"{what}: prefix length {plen} not in [1, {width}] (omit the field "
                "for a don't-care match)"
            )
        if v & ((1 << (width - plen)) - 1):
            raise invalid(f"{what}: value {v:#x} has bits set beyond the /{plen} prefix")
        return (v, plen), LPM(v, plen)
    if kind == "ternary":
        v = decode_uint(fm.ternary.value, width, what)
        m = decode_uint(fm.ternary.mask, width, what + " mask")
        if m == 0:
            raise invalid(f"{what}: mask 0 (omit the field for a don't-care match)")
        if v & ~m:
            raise invalid(f"{what}: value {v:#x} has bits outside the mask {m:#x}")
        return (v, m), Ternary(v, m)
    if kind == "range":
        lo = decode_uint(fm.range.low, width, what + " low")
        hi = decode_uint(fm.range.high, width, what + " high")
        if lo > hi:
            raise invalid(f"{what}: low bound {lo} > high bound {hi}")
        if lo == 0 and hi == (1 << width) - 1:
            raise invalid(f"{what}: full range (omit the field for a don't-care match)")
        return (lo, hi), Range(lo, hi)
    if kind == "optional":
        v = decode_uint(fm.optional.value, width, what)
        if f.json_kind == "ternary":
            return v, Ternary(v, (1 << width) - 1)
        return v, Optional(v)
    raise invalid(f"{what}: unsupported match kind")


def encode_key(spec: TableSpec, canon: Canon) -> list[Any]:
    """``FieldMatch`` messages (canonical byte strings) for a canonical key."""
    out = []
    for f, c in zip(spec.fields, canon, strict=True):
        if c is None:
            continue
        fm = p4runtime_pb2.FieldMatch(field_id=f.id)
        kind = f.kind
        if kind == "exact":
            fm.exact.value = encode_uint(c)
        elif kind == "lpm":
            fm.lpm.value = encode_uint(c[0])
            fm.lpm.prefix_len = c[1]
        elif kind == "ternary":
            fm.ternary.value = encode_uint(c[0])
            fm.ternary.mask = encode_uint(c[1])
        elif kind == "range":
            fm.range.low = encode_uint(c[0])
            fm.range.high = encode_uint(c[1])
        else:
            fm.optional.value = encode_uint(c)
        out.append(fm)
    return out


def canon_from_switch(spec: TableSpec, key: Iterable[Any]) -> Canon:
    """Canonical key of an entry the switch holds (const entries, entries added through the
    switch's Python API)."""
    out: list[Any] = []
    for f, mv in zip(spec.fields, key, strict=True):
        full = (1 << f.width) - 1
        if isinstance(mv, int):
            mv = Exact(mv)
        if isinstance(mv, Exact):
            out.append(mv.value if f.kind != "lpm" else (mv.value, f.width))
        elif isinstance(mv, LPM):
            out.append(None if mv.prefix_len == 0 else (mv.value, mv.prefix_len))
        elif isinstance(mv, Ternary):
            if mv.mask == 0:
                out.append(None)
            elif f.kind == "optional":
                out.append(mv.value & mv.mask)
            else:
                out.append((mv.value & mv.mask, mv.mask))
        elif isinstance(mv, Range):
            out.append(None if (mv.lo, mv.hi) == (0, full) else (mv.lo, mv.hi))
        elif isinstance(mv, Optional):
            out.append(mv.value)
        else:
            out.append(None)
    return tuple(out)


def value_set_member(pipe_name: str, fields: list[FieldSpec], matches: Sequence[Any]) -> int:
    """The value a ``ValueSetMember`` adds: its exact fields concatenated (BMv2 layout)."""
    by_id = {f.id: f for f in fields}
    canon, _ = _decode(pipe_name, fields, by_id, matches)
    v = 0
    for f, c in zip(fields, canon, strict=True):
        v = (v << f.width) | c
    return v


def decode_action(
    p: Pipeline, spec: TableSpec, act: Any, default: bool = False
) -> tuple[int, int, tuple[int, ...]]:
    """(P4Info action id, JSON action id, parameter values) of a table's ``Action``."""
    aid = act.action_id
    ref = spec.actions.get(aid)
    if ref is None:
        raise invalid(f"table {spec.name}: action id {aid} is not one of its actions")
    jaid, scope = ref
    if default and scope == _TABLE_ONLY:
        raise denied(f"table {spec.name}: action {aid} is @tableonly")
    if not default and scope == _DEFAULT_ONLY:
        raise denied(f"table {spec.name}: action {aid} is @defaultonly")
    return aid, jaid, decode_params(p, act)


def decode_params(p: Pipeline, act: Any) -> tuple[int, ...]:
    a = p.actions[act.action_id]
    params = act.params
    specs = a.params
    if len(params) == len(specs):  # fast path: parameters in P4Info order
        out = []
        for q, (pid, _n, width) in zip(params, specs, strict=True):
            v = q.value
            x = int.from_bytes(v, "big")
            if q.param_id != pid or not v or x >> width:
                break
            out.append(x)
        else:
            return tuple(out)
    if len(params) != len(specs):
        raise invalid(f"action {a.name}: {len(specs)} parameters expected, got {len(params)}")
    values = [0] * len(specs)
    seen = 0
    for q in params:
        pos = a.index.get(q.param_id)
        if pos is None:
            raise invalid(f"action {a.name}: unknown parameter id {q.param_id}")
        bit = 1 << pos
        if seen & bit:
            raise invalid(f"action {a.name}: parameter id {q.param_id} given twice")
        seen |= bit
        pid, name, width = specs[pos]
        values[pos] = decode_uint(q.value, width, f"action {a.name}: parameter {name}")
    return tuple(values)


def encode_action(p: Pipeline, aid: int, params: Sequence[int]) -> Any:
    act = p4runtime_pb2.Action(action_id=aid)
    for (pid, _n, _w), v in zip(p.actions[aid].params, params, strict=True):
        act.params.add(param_id=pid, value=encode_uint(v))
    return act


def action_id_by_name(p: Pipeline, spec: TableSpec | None, name: str) -> int:
    """P4Info id of a JSON action name (within a table's actions when given)."""
    ids = spec.actions.keys() if spec is not None else p.actions.keys()
    for aid in ids:
        if p.actions[aid].name == name:
            return aid
    for aid in ids:
        if p.actions[aid].name.endswith("." + name) or name.endswith("." + p.actions[aid].name):
            return aid
    return 0
