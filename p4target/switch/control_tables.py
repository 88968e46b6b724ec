"""Tables, idle timeout and action profiles of the control API of :class:`.switch.Switch`: what simple_switch_CLI / bm_runtime offer,
addressed by the names in the BMv2 JSON.  Every method validates before it changes anything
and raises a :mod:`.errors` exception on bad input; see ``p4target/switch/__init__.py`` for the
overview."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import BadValueError, ConstTableError, UnknownNameError
from .matchkeys import ActionCall, Entry, MatchValue, as_int
from .profiles import ActionProfile
from .tables import Table

if TYPE_CHECKING:  # pragma: no cover
    from .switch import Switch


def _resolve(kind: str, name: str, items: dict[str, Any]) -> Any:
    if name in items:
        return items[name]
    cands = [k for k in items if k.endswith("." + name)]
    if len(cands) == 1:
        return items[cands[0]]
    if len(cands) > 1:
        raise UnknownNameError(f"{kind} name {name!r} is ambiguous: {sorted(cands)}")
    raise UnknownNameError(f"unknown {kind} {name!r}")


class TableControlMixin:
    # -- name resolution -------------------------------------------------------------------------

    def table(self: Switch, name: str) -> Table:
        self._require_program()
        return _resolve("table", name, self.tables)

    def _profile(self: Switch, name: str) -> ActionProfile:
        self._require_program()
        return _resolve("action profile", name, self.profiles)

    def _action_id(
        self: Switch, allowed: Sequence[int] | set[int], action: str | int, where: str
    ) -> int:
        prog = self._require_program()
        if isinstance(action, int):
            if action not in allowed:
                raise UnknownNameError(f"action id {action} is not an action of {where}")
            return action
        names = {prog.action_name(a): a for a in allowed}
        if action in names:
            return names[action]
        cands = [n for n in names if n.endswith("." + action)]
        if len(cands) == 1:
            return names[cands[0]]
        if len(cands) > 1:
            raise UnknownNameError(f"action {action!r} is ambiguous in {where}: {sorted(cands)}")
        raise UnknownNameError(f"{where} has no action {action!r} (actions: {sorted(names)})")

    def _make_call(
        self: Switch, table: Table | None, aid: int, params: Sequence[int | bytes]
    ) -> ActionCall:
        prog = self._require_program()
        action = prog.actions[aid]
        rd = action.get("runtime_data", [])
        if len(params) != len(rd):
            raise BadValueError(
                f"action {action['name']} takes {len(rd)} parameters, got {len(params)}"
            )
        args = []
        for p, spec in zip(params, rd, strict=True):
            v = p if type(p) is int else as_int(p, f"parameter {spec['name']}")
            w = int(spec["bitwidth"])
            if not 0 <= v < (1 << w):
                raise BadValueError(
                    f"action {action['name']}: parameter {spec['name']}={v:#x} does not fit in {w} bits"
                )
            args.append(v)
        nxt = None
        if table is not None:
            nxt = table.next_by_aid.get(aid, getattr(table, "base_next", None))
        return ActionCall(self._compiled.actions[aid], tuple(args), aid, action["name"], nxt)

    # -- tables ----------------------------------------------------------------------------------

    def table_names(self: Switch) -> list[str]:
        self._require_program()
        return list(self.tables)

    def table_info(self: Switch, name: str) -> dict[str, Any]:
        t = self.table(name)
        prog = self.program
        return {
            "name": t.name,
            "id": t.id,
            "keys": [(k.name, k.match_type, k.width) for k in t.keys],
            "actions": [prog.action_name(a) for a in t.action_ids],
            "max_size": t.max_size,
            "size": len(t.entries),
            "kind": t.kind,
            "action_profile": t.profile.name if t.profile else None,
            "with_counters": t.with_counters,
            "direct_meter": t.direct_meter.name if t.direct_meter else None,
            "support_timeout": t.support_timeout,
            "const_entries": t.has_const_entries,
            "default": self.table_get_default(name),
        }

    def _binder(
        self: Switch,
        t: Table,
        action: str | int | None,
        params: Sequence[Any],
        member: int | None,
        group: int | None,
    ) -> Callable[[Entry], None]:
        if t.kind == "simple":
            if action is None or member is not None or group is not None:
                raise BadValueError(f"table {t.name} is direct: give an action, not a member/group")
            call = self._make_call(
                t, self._action_id(t.action_ids, action, f"table {t.name}"), params
            )

            def bind(e: Entry) -> None:
                e.action = call

            return bind
        prof = t.profile
        if action is not None:
            raise BadValueError(
                f"table {t.name} uses action profile {prof.name}: give member= or group="
            )
        if (member is None) == (group is None):
            raise BadValueError(f"table {t.name}: give exactly one of member= or group=")
        if member is not None:
            prof.member(member)
        else:
            if t.kind != "indirect_ws":
                raise BadValueError(f"table {t.name} has no selector: groups not allowed")
            prof.group(group)

        def bind_ind(e: Entry) -> None:
            if e.member is not None:
                prof.ref("m", e.member, -1)
            if e.group is not None:
                prof.ref("g", e.group, -1)
            e.member, e.group, e.action = member, group, None
            if member is not None:
                prof.ref("m", member, 1)
            else:
                prof.ref("g", group, 1)

        return bind_ind

    def table_add(
        self: Switch,
        table: str,
        key: Sequence[MatchValue | int],
        action: str | int | None = None,
        params: Sequence[int | bytes] = (),
        priority: int | None = None,
        *,
        member: int | None = None,
        group: int | None = None,
        ttl_us: float | None = None,
    ) -> int:
        """Add an entry; returns its handle.  ``priority``: larger wins (ternary/range/optional
        tables only).  Indirect tables take ``member=`` or ``group=`` instead of an action."""
        with self.lock:
            t = self.table(table)
            bind = self._binder(t, action, params, member, group)
            if ttl_us is not None and not t.support_timeout:
                raise BadValueError(f"table {t.name} does not support idle timeout")
            e = t.add(list(key), priority, bind)
            if ttl_us is not None:
                self._set_ttl(t, e, ttl_us)
            if t.profile is not None:
                self.journal.record(lambda: self._unref(t, e))
            return e.handle

    def _unref(self: Switch, t: Table, e: Entry) -> None:
        if e.member is not None:
            t.profile.ref("m", e.member, -1)
        if e.group is not None:
            t.profile.ref("g", e.group, -1)

    def table_modify(
        self: Switch,
        table: str,
        handle: int,
        action: str | int | None = None,
        params: Sequence[int | bytes] = (),
        *,
        member: int | None = None,
        group: int | None = None,
    ) -> None:
        with self.lock:
            t = self.table(table)
            t.get(handle)
            bind = self._binder(t, action, params, member, group)
            if t.profile is not None:
                e = t.get(handle)
                old = (e.member, e.group)
                t.modify(handle, bind)

                def undo() -> None:
                    self._unref(t, e)
                    e.member, e.group = old
                    if old[0] is not None:
                        t.profile.ref("m", old[0], 1)
                    if old[1] is not None:
                        t.profile.ref("g", old[1], 1)

                self.journal.record(undo)
            else:
                t.modify(handle, bind)

    def table_delete(self: Switch, table: str, handle: int) -> None:
        with self.lock:
            t = self.table(table)
            e = t.get(handle)
            t.delete(handle)
            if t.profile is not None:
                self._unref(t, e)
                self.journal.record(lambda: self._reref(t, e))

    def _reref(self: Switch, t: Table, e: Entry) -> None:
        if e.member is not None:
            t.profile.ref("m", e.member, 1)
        if e.group is not None:
            t.profile.ref("g", e.group, 1)

    def table_clear(self: Switch, table: str) -> None:
        with self.lock:
            t = self.table(table)
            entries = list(t.entries.values())
            t.clear()
            if t.profile is not None:
                for e in entries:
                    self._unref(t, e)

    def table_find(
        self: Switch, table: str, key: Sequence[MatchValue | int], priority: int | None = None
    ) -> int:
        """Handle of the entry with exactly this key (and priority)."""
        with self.lock:
            return self.table(table).find(list(key), priority).handle

    def table_entry(self: Switch, table: str, handle: int) -> dict[str, Any]:
        with self.lock:
            return self.table(table).get(handle).info()

    def table_entries(self: Switch, table: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e.info() for e in self.table(table).entries.values()]

    def table_set_default(
        self: Switch, table: str, action: str | int, params: Sequence[int | bytes] = ()
    ) -> None:
        with self.lock:
            t = self.table(table)
            aid = self._action_id(t.action_ids, action, f"table {t.name}")
            t.set_default(self._make_call(t, aid, params))

    def table_reset_default(self: Switch, table: str) -> None:
        with self.lock:
            t = self.table(table)
            if t.default_entry_const:
                raise ConstTableError(f"table {t.name}: the default entry is const")
            if t.json_default is None:
                old = t.default
                t.default = None
                self.journal.record(lambda: setattr(t, "default", old))
            else:
                aid, data = t.json_default
                t.set_default(self._make_call(t, aid, data))

    def table_get_default(self: Switch, table: str) -> dict[str, Any] | None:
        t = self.table(table)
        if t.default is None:
            return None
        return {"action": t.default.name, "params": list(t.default.args), "const": t.default_const}

    def table_entry_counter(self: Switch, table: str, handle: int) -> tuple[int, int]:
        """(packets, bytes) of an entry's direct counter."""
        t = self.table(table)
        if not t.with_counters:
            raise BadValueError(f"table {t.name} has no direct counter")
        e = t.get(handle)
        return e.packets, e.bytes

    def table_entry_counter_write(
        self: Switch, table: str, handle: int, packets: int, nbytes: int
    ) -> None:
        with self.lock:
            t = self.table(table)
            if not t.with_counters:
                raise BadValueError(f"table {t.name} has no direct counter")
            e = t.get(handle)
            old = (e.packets, e.bytes)
            e.packets, e.bytes = int(packets), int(nbytes)
            self.journal.record(
                lambda: (setattr(e, "packets", old[0]), setattr(e, "bytes", old[1]))
            )

    def table_counters_reset(self: Switch, table: str) -> None:
        with self.lock:
            for e in self.table(table).entries.values():
                e.packets = e.bytes = 0

    def table_entry_meter_set(
        self: Switch, table: str, handle: int, rates: Sequence[tuple[float, int]]
    ) -> None:
        """Direct meter of an entry: ``rates`` [(CIR per µs, CBS), (PIR per µs, PBS)]."""
        with self.lock:
            t = self.table(table)
            if t.direct_meter is None:
                raise BadValueError(f"table {t.name} has no direct meter")
            e = t.get(handle)
            probe = t.direct_meter.new_meter()
            probe.set_rates(rates)
            old = e.meter
            e.meter = probe
            self.journal.record(lambda: setattr(e, "meter", old))

    def table_entry_meter_reset(self: Switch, table: str, handle: int) -> None:
        """Put an entry's direct meter back to its unconfigured state (every packet GREEN)."""
        with self.lock:
            t = self.table(table)
            if t.direct_meter is None:
                raise BadValueError(f"table {t.name} has no direct meter")
            e = t.get(handle)
            old = e.meter
            e.meter = t.direct_meter.new_meter()
            self.journal.record(lambda: setattr(e, "meter", old))

    def table_entry_meter_get(self: Switch, table: str, handle: int) -> list[tuple[float, int]]:
        t = self.table(table)
        if t.direct_meter is None:
            raise BadValueError(f"table {t.name} has no direct meter")
        return list(t.get(handle).meter.user_rates)

    # -- idle timeout ----------------------------------------------------------------------------

    def _set_ttl(self: Switch, t: Table, e: Entry, ttl_us: float | None) -> None:
        if ttl_us is not None and ttl_us <= 0:
            raise BadValueError("ttl must be positive")
        old = (e.ttl_us, e.last_hit, e.idle_notified)
        e.ttl_us = ttl_us
        e.last_hit = self.clock.now()
        e.idle_notified = False
        t.on_rehit = self._arm_idle
        self.journal.record(lambda: (setattr(e, "ttl_us", old[0]), setattr(e, "last_hit", old[1])))
        self._arm_idle()

    def table_entry_ttl(self: Switch, table: str, handle: int, ttl_us: float | None) -> None:
        """Set (or clear, with None) the idle timeout of an entry; restarts its idle time."""
        with self.lock:
            t = self.table(table)
            if not t.support_timeout:
                raise BadValueError(f"table {t.name} does not support idle timeout")
            self._set_ttl(t, t.get(handle), ttl_us)

    def table_entry_idle_time(self: Switch, table: str, handle: int) -> float:
        """Microseconds since the entry was last hit (or since its TTL was set)."""
        t = self.table(table)
        return self.clock.now() - t.get(handle).last_hit

    def off_idle_timeout(self: Switch, cb: Callable[[str, dict[str, Any]], None]) -> None:
        """Stop calling ``cb`` (registered with :meth:`on_idle_timeout`); unknown ``cb`` is a no-op."""
        if cb in self.idle_callbacks:
            self.idle_callbacks.remove(cb)

    def on_idle_timeout(self: Switch, cb: Callable[[str, dict[str, Any]], None]) -> None:
        """``cb(table_name, entry_info)`` once per idle period of an entry with a TTL."""
        self.idle_callbacks.append(cb)

    def _arm_idle(self: Switch) -> None:
        due = None
        for t in self.tables.values():
            if not t.support_timeout:
                continue
            for e in t.entries.values():
                if e.ttl_us is not None and not e.idle_notified:
                    d = e.last_hit + e.ttl_us
                    due = d if due is None or d < due else due
        if due is not None and not self._idle_armed:
            self._idle_armed = True
            self.clock.call_at(due, self._idle_check)

    def _idle_check(self: Switch) -> None:
        with self.lock:
            self._idle_armed = False
            now = self.clock.now()
            expired = []
            for t in self.tables.values():
                if not t.support_timeout:
                    continue
                for e in t.entries.values():
                    if (
                        e.ttl_us is not None
                        and not e.idle_notified
                        and now - e.last_hit >= e.ttl_us
                    ):
                        e.idle_notified = True
                        expired.append((t.name, e.info()))
            self._arm_idle()
        for name, info in expired:
            for cb in self.idle_callbacks:
                cb(name, info)

    # -- action profiles -------------------------------------------------------------------------

    def profile_add_member(
        self: Switch,
        profile: str,
        action: str | int,
        params: Sequence[int | bytes] = (),
        member_id: int | None = None,
    ) -> int:
        with self.lock:
            p = self._profile(profile)
            aid = self._action_id(p.action_ids, action, f"action profile {p.name}")
            return p.add_member(self._make_call(None, aid, params), member_id)

    def profile_modify_member(
        self: Switch,
        profile: str,
        member_id: int,
        action: str | int,
        params: Sequence[int | bytes] = (),
    ) -> None:
        with self.lock:
            p = self._profile(profile)
            p.member(member_id)
            aid = self._action_id(p.action_ids, action, f"action profile {p.name}")
            p.modify_member(member_id, self._make_call(None, aid, params))

    def profile_delete_member(self: Switch, profile: str, member_id: int) -> None:
        with self.lock:
            self._profile(profile).delete_member(member_id)

    def profile_create_group(self: Switch, profile: str, group_id: int | None = None) -> int:
        with self.lock:
            return self._profile(profile).create_group(group_id)

    def profile_delete_group(self: Switch, profile: str, group_id: int) -> None:
        with self.lock:
            self._profile(profile).delete_group(group_id)

    def profile_add_to_group(
        self: Switch, profile: str, group_id: int, member_id: int, weight: int = 1
    ) -> None:
        with self.lock:
            self._profile(profile).add_to_group(group_id, member_id, weight)

    def profile_remove_from_group(
        self: Switch, profile: str, group_id: int, member_id: int
    ) -> None:
        with self.lock:
            self._profile(profile).remove_from_group(group_id, member_id)

    def profile_set_group_members(
        self: Switch, profile: str, group_id: int, members: dict[int, int]
    ) -> None:
        """Replace a group's members: {member_id: weight}."""
        with self.lock:
            self._profile(profile).set_group_members(group_id, dict(members))

    def profile_members(self: Switch, profile: str) -> dict[int, dict[str, Any]]:
        p = self._profile(profile)
        return {h: {"action": c.name, "params": list(c.args)} for h, c in p.members.items()}

    def profile_groups(self: Switch, profile: str) -> dict[int, dict[int, int]]:
        p = self._profile(profile)
        return {h: dict(g.members) for h, g in p.groups.items()}
