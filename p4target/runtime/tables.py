"""``TableEntry`` writes and reads: keys, priorities, actions (direct, member, group, one-shot
action set), default entries, const tables, direct counter / meter data and idle timeout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p4target.protos import p4runtime_pb2
from p4target.switch import EntryNotFoundError

from .errors import Code, P4RTError, denied, invalid, not_found, unimplemented
from .matches import (
    action_id_by_name,
    canon_from_switch,
    decode_action,
    decode_key,
    encode_action,
    encode_key,
)
from .pipeline import UPDATE, TableSpec

if TYPE_CHECKING:  # pragma: no cover
    from .state import State, Txn


class Rec:
    """What the server keeps about one table entry besides the switch's own state."""

    __slots__ = ("key", "handle", "action", "cm", "md", "idle_ns", "const", "oneshot")

    def __init__(self, key: tuple, handle: int, action: tuple, cm: int = 0, md: bytes = b""):
        self.key = key  # (canonical match, priority)
        self.handle = handle
        self.action = action  # ("a", aid, params) | ("m", id) | ("g", id) | ("s", actions)
        self.cm = cm
        self.md = md
        self.idle_ns = 0
        self.const = False
        self.oneshot: tuple[int, list[int]] | None = None  # (group id, member ids)


def meter_rates(cfg: Any) -> list[tuple[float, int]]:
    """BMv2 rates (per microsecond) of a ``MeterConfig`` (per second)."""
    if cfg.eburst:
        raise invalid("eburst is only for single-rate three-color meters (this one is trTCM)")
    if min(cfg.cir, cfg.cburst, cfg.pir, cfg.pburst) < 0:
        raise invalid("meter rates and bursts must be non-negative")
    return [(cfg.cir / 1e6, cfg.cburst), (cfg.pir / 1e6, cfg.pburst)]


def meter_config(rates: list[tuple[float, int]]) -> Any:
    (cir, cbs), (pir, pbs) = rates[0], rates[-1]
    return p4runtime_pb2.MeterConfig(
        cir=round(cir * 1e6), cburst=int(cbs), pir=round(pir * 1e6), pburst=int(pbs)
    )


def counter_data(unit: int, packets: int, nbytes: int) -> Any:
    cd = p4runtime_pb2.CounterData()
    if unit != 1:  # not BYTES only
        cd.packet_count = packets
    if unit != 2:  # not PACKETS only
        cd.byte_count = nbytes
    return cd


class TableMixin:
    def _init_tables(self: State) -> None:
        self.entries: dict[int, dict[tuple, Rec]] = {tid: {} for tid in self.p.tables}
        self.handles: dict[int, dict[int, Rec]] = {tid: {} for tid in self.p.tables}
        self.default_meta: dict[int, tuple[int, bytes]] = {}
        self.default_set: set[int] = set()
        for spec in self.p.tables.values():
            if spec.const_entries:
                self._import_const(spec)

    def _import_const(self: State, spec: TableSpec) -> None:
        infos = sorted(
            self.sw.table_entries(spec.name), key=lambda i: (-i["priority"], i["handle"])
        )
        n = len(infos)
        for i, info in enumerate(infos):
            rec = self._adopt(spec, info, n - i if spec.prioritized else 0)
            rec.const = bool(info.get("const", True))

    def _adopt(self: State, spec: TableSpec, info: dict[str, Any], prio: int | None = None) -> Rec:
        """A record for an entry the server did not write (const / Python API entries)."""
        if prio is None:
            prio = info["priority"] if spec.prioritized else 0
        if "member" in info:
            action: tuple = ("m", info["member"])
        elif "group" in info:
            action = ("g", info["group"])
        else:
            aid = action_id_by_name(self.p, spec, info.get("action", ""))
            action = ("a", aid, tuple(info.get("params", ())))
        rec = Rec((canon_from_switch(spec, info["key"]), prio), info["handle"], action)
        rec.const = bool(info.get("const"))
        if info.get("ttl_us"):
            rec.idle_ns = int(info["ttl_us"] * 1000)
        self.entries[spec.id][rec.key] = rec
        self.handles[spec.id][rec.handle] = rec
        return rec

    def table_spec(self: State, tid: int) -> TableSpec:
        spec = self.p.tables.get(tid)
        if spec is None:
            raise invalid(f"unknown table id {tid}")
        return spec

    def _priority(self: State, spec: TableSpec, te: Any) -> int:
        prio = te.priority
        if spec.prioritized:
            if prio <= 0:
                raise invalid(
                    f"table {spec.name} has ternary/range/optional fields: priority must be > 0"
                )
            return prio
        if prio != 0:
            raise invalid(f"table {spec.name}: priority must be 0 (no ternary/range/optional)")
        return 0

    def find_entry(self: State, spec: TableSpec, te: Any) -> Rec:
        """The record of the entry ``te``'s match and priority identify (NOT_FOUND if none)."""
        prio = self._priority(spec, te)
        canon, swkey = decode_key(spec, te.match)
        rec = self.entries[spec.id].get((canon, prio))
        if rec is not None:
            return rec
        try:
            h = self.sw.table_find(spec.name, swkey, prio if spec.prioritized else None)
        except EntryNotFoundError:
            raise not_found(f"table {spec.name}: no entry with this match key") from None
        return self._adopt(spec, self.sw.table_entry(spec.name, h))

    def _ttl(self: State, spec: TableSpec, te: Any) -> float | None:
        ns = te.idle_timeout_ns
        if ns < 0:
            raise invalid("idle_timeout_ns must be >= 0")
        if ns and not spec.idle:
            raise invalid(f"table {spec.name} does not support idle timeout")
        return ns / 1000.0 if ns else None

    def _check_resources(self: State, spec: TableSpec, te: Any) -> None:
        if te.HasField("counter_data") and not spec.direct_counter:
            raise invalid(f"table {spec.name} has no direct counter")
        if te.HasField("meter_config") and not spec.direct_meter:
            raise invalid(f"table {spec.name} has no direct meter")
        if te.HasField("meter_counter_data"):
            mc = te.meter_counter_data
            if any(
                getattr(mc, c).packet_count or getattr(mc, c).byte_count
                for c in ("green", "yellow", "red")
            ):
                raise invalid("meter_counter_data can only be set to zeros")

    # -- writes ----------------------------------------------------------------------------------

    def write_table_entry(self: State, kind: int, te: Any, txn: Txn) -> None:
        spec = self.table_spec(te.table_id)
        if te.is_const:
            raise invalid("is_const must be false in a write")
        if te.HasField("time_since_last_hit"):
            raise invalid("time_since_last_hit must be unset in a write")
        if te.is_default_action:
            self._write_default(kind, spec, te, txn)
        elif kind == UPDATE.INSERT:
            self._insert_entry(spec, te, txn)
        elif kind == UPDATE.MODIFY:
            self._modify_entry(spec, te, txn)
        else:
            self._delete_entry(spec, te, txn)

    def _insert_entry(self: State, spec: TableSpec, te: Any, txn: Txn) -> None:
        if not spec.fields:
            raise invalid(f"table {spec.name} has no key: only its default entry can be written")
        if spec.is_const:
            raise denied(f"table {spec.name} is const")
        prio = self._priority(spec, te)
        canon, swkey = decode_key(spec, te.match)
        key = (canon, prio)
        tab = self.entries[spec.id]
        if key in tab:
            raise P4RTError(Code.ALREADY_EXISTS, f"table {spec.name}: entry already exists")
        self._check_resources(spec, te)
        if not te.HasField("action"):
            raise invalid("INSERT of a table entry needs an action")
        ttl = self._ttl(spec, te)
        action, kw, oneshot = self._bind(spec, te.action, txn)
        sw = self.sw
        h = sw.table_add(
            spec.name, swkey, priority=prio if spec.prioritized else None, ttl_us=ttl, **kw
        )
        rec = Rec(key, h, action, te.controller_metadata, te.metadata)
        rec.idle_ns = te.idle_timeout_ns
        rec.oneshot = oneshot
        if te.HasField("counter_data"):
            sw.table_entry_counter_write(
                spec.name, h, te.counter_data.packet_count, te.counter_data.byte_count
            )
        if te.HasField("meter_config"):
            sw.table_entry_meter_set(spec.name, h, meter_rates(te.meter_config))
        handles = self.handles[spec.id]
        tab[key] = rec
        handles[h] = rec

        def undo() -> None:
            tab.pop(key, None)
            handles.pop(h, None)

        txn.add(undo)

    def _bind(self: State, spec: TableSpec, ta: Any, txn: Txn) -> tuple[tuple, dict, Any]:
        """(record action, switch keyword arguments, one-shot (group, members) or None)."""
        which = ta.WhichOneof("type")
        prof = spec.profile
        if which == "action":
            if prof is not None:
                raise invalid(
                    f"table {spec.name} is implemented by {prof.name}: give a member, a group "
                    "or an action set"
                )
            aid, jaid, params = decode_action(self.p, spec, ta.action)
            return ("a", aid, params), {"action": jaid, "params": params}, None
        if which is None:
            raise invalid("the table action is not set")
        if prof is None:
            raise invalid(f"table {spec.name} is a direct table: give an action")
        if which == "action_profile_member_id":
            mid = ta.action_profile_member_id
            if self.profile_mode(prof) == "oneshot" or mid in self.internal_members[prof.id]:
                raise not_found(f"action profile {prof.name}: no member {mid}")
            return ("m", mid), {"member": mid}, None
        if not prof.with_selector:
            raise invalid(f"action profile {prof.name} has no selector: give a member")
        if which == "action_profile_group_id":
            gid = ta.action_profile_group_id
            if gid in self.internal_groups[prof.id]:
                raise not_found(f"action profile {prof.name}: no group {gid}")
            return ("g", gid), {"group": gid}, None
        gid, mids, actions = self.oneshot_create(spec, prof, ta.action_profile_action_set, txn)
        return ("s", actions), {"group": gid}, (gid, mids)

    def _modify_entry(self: State, spec: TableSpec, te: Any, txn: Txn) -> None:
        rec = self.find_entry(spec, te)
        const = spec.is_const or rec.const
        if const and te.HasField("action"):
            raise denied(f"table {spec.name}: const entries allow only direct-resource updates")
        self._check_resources(spec, te)
        ttl = self._ttl(spec, te)
        if const and ttl:
            raise invalid("const entries do not support idle timeout")
        sw = self.sw
        old = (rec.action, rec.oneshot, rec.cm, rec.md, rec.idle_ns)

        def undo() -> None:
            rec.action, rec.oneshot, rec.cm, rec.md, rec.idle_ns = old

        txn.add(undo)
        if te.HasField("action"):
            action, kw, oneshot = self._bind(spec, te.action, txn)
            sw.table_modify(spec.name, rec.handle, **kw)
            if rec.oneshot is not None:
                self.oneshot_delete(spec.profile, *rec.oneshot, txn)
            rec.action, rec.oneshot = action, oneshot
        if spec.idle and not const and te.idle_timeout_ns != rec.idle_ns:
            sw.table_entry_ttl(spec.name, rec.handle, ttl)
            rec.idle_ns = te.idle_timeout_ns
        if te.HasField("counter_data"):
            cd = te.counter_data
            sw.table_entry_counter_write(spec.name, rec.handle, cd.packet_count, cd.byte_count)
        if spec.direct_meter:
            if te.HasField("meter_config"):
                sw.table_entry_meter_set(spec.name, rec.handle, meter_rates(te.meter_config))
            else:
                sw.table_entry_meter_reset(spec.name, rec.handle)
        if not const:
            rec.cm, rec.md = te.controller_metadata, te.metadata

    def _delete_entry(self: State, spec: TableSpec, te: Any, txn: Txn) -> None:
        rec = self.find_entry(spec, te)
        if spec.is_const or rec.const:
            raise denied(f"table {spec.name}: const entries cannot be deleted")
        self.sw.table_delete(spec.name, rec.handle)
        tab, handles = self.entries[spec.id], self.handles[spec.id]
        tab.pop(rec.key, None)
        handles.pop(rec.handle, None)

        def undo() -> None:
            tab[rec.key] = rec
            handles[rec.handle] = rec

        txn.add(undo)
        if rec.oneshot is not None:
            self.oneshot_delete(spec.profile, *rec.oneshot, txn)

    def _write_default(self: State, kind: int, spec: TableSpec, te: Any, txn: Txn) -> None:
        if kind != UPDATE.MODIFY:
            raise invalid("the default entry can only be modified (no INSERT / DELETE)")
        if len(te.match) or te.priority:
            raise invalid("the default entry has no match and priority 0")
        if te.idle_timeout_ns:
            raise invalid("the default entry has no idle timeout")
        if spec.profile is not None:
            raise denied(f"table {spec.name}: the default entry of an indirect table is const")
        if spec.const_default:
            raise denied(f"table {spec.name}: the default action is const")
        if te.HasField("counter_data") or te.HasField("meter_config"):
            raise unimplemented("direct resources of the default entry are not supported")
        if te.HasField("action"):
            if te.action.WhichOneof("type") != "action":
                raise invalid("the default entry of a direct table takes an action")
            _aid, jaid, params = decode_action(self.p, spec, te.action.action, default=True)
            self.sw.table_set_default(spec.name, jaid, params)
            meta = (te.controller_metadata, te.metadata)
            modified = True
        else:
            self.sw.table_reset_default(spec.name)
            meta, modified = (0, b""), False
        old = (self.default_meta.get(spec.id), spec.id in self.default_set)
        self.default_meta[spec.id] = meta
        (self.default_set.add if modified else self.default_set.discard)(spec.id)

        def undo() -> None:
            if old[0] is None:
                self.default_meta.pop(spec.id, None)
            else:
                self.default_meta[spec.id] = old[0]
            (self.default_set.add if old[1] else self.default_set.discard)(spec.id)

        txn.add(undo)

    def _default_is_initial(self: State, tid: int) -> bool:
        return tid not in self.default_set

    # -- reads -----------------------------------------------------------------------------------

    def read_table_entries(self: State, te: Any) -> list[Any]:
        if te.table_id == 0:
            out = []
            for spec in self.p.tables.values():
                out.extend(self._read_table(spec, te, wildcard_table=True))
            return out
        return self._read_table(self.table_spec(te.table_id), te, wildcard_table=False)

    def _read_table(self: State, spec: TableSpec, te: Any, wildcard_table: bool) -> list[Any]:
        want_elapsed = te.HasField("time_since_last_hit")
        if want_elapsed and not spec.idle:
            if wildcard_table:
                want_elapsed = False
            else:
                raise invalid(f"table {spec.name} does not support idle timeout")
        if te.is_default_action and not wildcard_table:
            return [self._default_msg(spec)]
        want = (te.HasField("counter_data"), te.HasField("meter_config"), want_elapsed)
        if len(te.match) and not wildcard_table:
            try:
                rec = self.find_entry(spec, te)
            except P4RTError as exc:
                if exc.code == Code.NOT_FOUND:
                    return []  # a key filter selects at most one entry, maybe none
                raise
            info = self.sw.table_entry(spec.name, rec.handle)
            return [self.entry_msg(spec, rec, info, *want)]
        handles = self.handles[spec.id]
        out = []
        aid_filter = te.action.action.action_id if te.action.WhichOneof("type") == "action" else 0
        for info in self.sw.table_entries(spec.name):
            rec = handles.get(info["handle"])
            if rec is None:
                rec = self._adopt(spec, info)
            if not wildcard_table:
                if te.priority and rec.key[1] != te.priority:
                    continue
                if te.controller_metadata and rec.cm != te.controller_metadata:
                    continue
                if te.metadata and rec.md != te.metadata:
                    continue
                if aid_filter and (rec.action[0] != "a" or rec.action[1] != aid_filter):
                    continue
            out.append(self.entry_msg(spec, rec, info, *want))
        return out

    def entry_msg(
        self: State,
        spec: TableSpec,
        rec: Rec,
        info: dict[str, Any] | None,
        counter: bool = False,
        meter: bool = False,
        elapsed: bool = False,
    ) -> Any:
        te = p4runtime_pb2.TableEntry(
            table_id=spec.id,
            priority=rec.key[1],
            controller_metadata=rec.cm,
            metadata=rec.md,
            idle_timeout_ns=rec.idle_ns,
            is_const=rec.const,
        )
        te.match.extend(encode_key(spec, rec.key[0]))
        act = rec.action
        if act[0] == "a":
            if act[1]:
                te.action.action.CopyFrom(encode_action(self.p, act[1], act[2]))
        elif act[0] == "m":
            te.action.action_profile_member_id = act[1]
        elif act[0] == "g":
            te.action.action_profile_group_id = act[1]
        else:
            aset = te.action.action_profile_action_set
            for aid, params, weight in act[1]:
                pa = aset.action_profile_actions.add(weight=weight)
                pa.action.CopyFrom(encode_action(self.p, aid, params))
        if counter and spec.direct_counter and info is not None:
            unit = self.p.direct_counters[spec.direct_counter].unit
            te.counter_data.CopyFrom(counter_data(unit, info["packets"], info["bytes"]))
        if meter and spec.direct_meter:
            rates = self.sw.table_entry_meter_get(spec.name, rec.handle)
            if rates:  # an unconfigured meter (every packet GREEN) reads back without config
                te.meter_config.CopyFrom(meter_config(rates))
        if elapsed:
            us = self.sw.table_entry_idle_time(spec.name, rec.handle)
            te.time_since_last_hit.elapsed_ns = max(0, int(us * 1000))
        return te

    def _default_msg(self: State, spec: TableSpec) -> Any:
        te = p4runtime_pb2.TableEntry(table_id=spec.id, is_default_action=True)
        d = self.sw.table_get_default(spec.name)
        if d is not None:
            aid = action_id_by_name(self.p, spec, d["action"])
            if aid:
                te.action.action.CopyFrom(encode_action(self.p, aid, d["params"]))
        cm, md = self.default_meta.get(spec.id, (0, b""))
        te.controller_metadata, te.metadata = cm, md
        return te

    def idle_entry(self: State, table: str, info: dict[str, Any]) -> tuple[Any, Rec] | None:
        """(TableEntry for an IdleTimeoutNotification, record) of an expired entry."""
        spec = self.p.tables_by_name.get(table)
        if spec is None:
            return None
        rec = self.handles[spec.id].get(info["handle"]) or self._adopt(spec, info)
        te = p4runtime_pb2.TableEntry(
            table_id=spec.id,
            priority=rec.key[1],
            controller_metadata=rec.cm,
            metadata=rec.md,
            idle_timeout_ns=rec.idle_ns,
        )
        te.match.extend(encode_key(spec, rec.key[0]))
        return te, rec
