"""``ActionProfileMember`` / ``ActionProfileGroup`` (weighted groups: a member of weight *w*
takes *w* of the selector's slots, which is how the scheduler's split ratios become traffic
shares) and one-shot action sets (``ActionProfileActionSet``), which the server turns into
hidden members and a hidden group per table entry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from p4target.protos import p4runtime_pb2

from .errors import Code, P4RTError, denied, invalid, not_found, unimplemented
from .matches import decode_action, decode_params, encode_action
from .pipeline import SCOPE, UPDATE, ProfileSpec, TableSpec

if TYPE_CHECKING:  # pragma: no cover
    from .state import State, Txn

MAX_GROUP_SLOTS = 1 << 16  # sum of weights of one group (each weight unit is a selector slot)


class ProfileMixin:
    def _init_profiles(self: State) -> None:
        self.internal_members: dict[int, set[int]] = {pid: set() for pid in self.p.profiles}
        self.internal_groups: dict[int, set[int]] = {pid: set() for pid in self.p.profiles}
        self.explicit: dict[int, int] = dict.fromkeys(self.p.profiles, 0)
        self.group_max: dict[tuple[int, int], int] = {}

    def profile_spec(self: State, pid: int) -> ProfileSpec:
        prof = self.p.profiles.get(pid)
        if prof is None:
            raise invalid(f"unknown action profile id {pid}")
        return prof

    def profile_mode(self: State, prof: ProfileSpec) -> str | None:
        """ "oneshot" or "explicit" once the profile is programmed one way (never both)."""
        if self.internal_groups[prof.id]:
            return "oneshot"
        if self.explicit[prof.id]:
            return "explicit"
        return None

    def _count(self: State, pid: int, delta: int, txn: Txn) -> None:
        self.explicit[pid] += delta
        txn.add(lambda: self.explicit.__setitem__(pid, self.explicit[pid] - delta))

    def _member_action(self: State, prof: ProfileSpec, act: Any) -> tuple[int, int, tuple]:
        jaid = prof.actions.get(act.action_id)
        if jaid is None:
            raise invalid(f"action profile {prof.name}: action {act.action_id} not allowed")
        scopes = {
            self.p.tables[t].actions[act.action_id][1]
            for t in prof.table_ids
            if t in self.p.tables and act.action_id in self.p.tables[t].actions
        }
        if scopes == {SCOPE.DEFAULT_ONLY}:
            raise denied(f"action {act.action_id} is @defaultonly")
        return act.action_id, jaid, decode_params(self.p, act)

    # -- members ---------------------------------------------------------------------------------

    def write_member(self: State, kind: int, m: Any, txn: Txn) -> None:
        prof = self.profile_spec(m.action_profile_id)
        mid = m.member_id
        if mid == 0:
            raise invalid("member_id 0 is reserved (wildcard)")
        internal = mid in self.internal_members[prof.id]
        sw = self.sw
        if kind == UPDATE.INSERT:
            if self.profile_mode(prof) == "oneshot":
                raise invalid(f"action profile {prof.name} is programmed with one-shot action sets")
            if not m.HasField("action"):
                raise invalid("INSERT of a member needs an action")
            _aid, jaid, params = self._member_action(prof, m.action)
            sw.profile_add_member(prof.name, jaid, params, member_id=mid)
            self._count(prof.id, 1, txn)
        elif kind == UPDATE.MODIFY:
            if internal:
                raise not_found(f"action profile {prof.name}: no member {mid}")
            if not m.HasField("action"):
                raise invalid("MODIFY of a member needs an action")
            _aid, jaid, params = self._member_action(prof, m.action)
            sw.profile_modify_member(prof.name, mid, jaid, params)
        else:
            if internal:
                raise not_found(f"action profile {prof.name}: no member {mid}")
            sw.profile_delete_member(prof.name, mid)
            self._count(prof.id, -1, txn)

    def read_members(self: State, m: Any) -> list[Any]:
        profs = (
            [self.profile_spec(m.action_profile_id)]
            if m.action_profile_id
            else list(self.p.profiles.values())
        )
        out = []
        for prof in profs:
            members = self.sw.profile_members(prof.name)
            hidden = self.internal_members[prof.id]
            if m.action_profile_id and m.member_id:
                if m.member_id not in members or m.member_id in hidden:
                    raise not_found(f"action profile {prof.name}: no member {m.member_id}")
                ids = [m.member_id]
            else:
                ids = sorted(h for h in members if h not in hidden)
            for mid in ids:
                info = members[mid]
                msg = p4runtime_pb2.ActionProfileMember(action_profile_id=prof.id, member_id=mid)
                aid = self._action_by_name(prof, info["action"])
                if aid:
                    msg.action.CopyFrom(encode_action(self.p, aid, info["params"]))
                out.append(msg)
        return out

    def _action_by_name(self: State, prof: ProfileSpec, name: str) -> int:
        for aid in prof.actions:
            if self.p.actions[aid].name == name:
                return aid
        return 0

    # -- groups ----------------------------------------------------------------------------------

    def _group_weights(self: State, prof: ProfileSpec, g: Any) -> dict[int, int]:
        weights: dict[int, int] = {}
        hidden = self.internal_members[prof.id]
        for mb in g.members:
            if mb.member_id in weights:
                raise invalid(f"group {g.group_id}: member {mb.member_id} listed twice")
            if mb.weight <= 0:
                raise invalid(f"group {g.group_id}: member {mb.member_id} has weight 0")
            if mb.watch or mb.watch_port:
                raise unimplemented("watch ports are not supported (no port liveness)")
            if (
                prof.sum_of_members
                and prof.max_member_weight
                and (mb.weight > prof.max_member_weight)
            ):
                raise invalid(f"member weight {mb.weight} > max_member_weight")
            if mb.member_id in hidden:
                raise not_found(f"action profile {prof.name}: no member {mb.member_id}")
            weights[mb.member_id] = mb.weight
        return weights

    def _check_size(self: State, prof: ProfileSpec, max_size: int, weights: dict[int, int]) -> None:
        if max_size < 0:
            raise invalid("max_size must be >= 0")
        if prof.max_group_size and not 0 < max_size <= prof.max_group_size:
            raise invalid(f"max_size {max_size} not in [1, max_group_size={prof.max_group_size}]")
        used = len(weights) if prof.sum_of_members else sum(weights.values())
        limit = max_size or prof.max_group_size
        if limit and used > limit:
            raise P4RTError(Code.RESOURCE_EXHAUSTED, f"group size {used} > {limit}")
        if sum(weights.values()) > MAX_GROUP_SLOTS:
            raise P4RTError(Code.RESOURCE_EXHAUSTED, f"sum of weights > {MAX_GROUP_SLOTS}")

    def write_group(self: State, kind: int, g: Any, txn: Txn) -> None:
        prof = self.profile_spec(g.action_profile_id)
        if not prof.with_selector:
            raise invalid(f"action profile {prof.name} has no selector: no groups")
        gid = g.group_id
        if gid == 0:
            raise invalid("group_id 0 is reserved (wildcard)")
        sw = self.sw
        key = (prof.id, gid)
        if kind == UPDATE.DELETE:
            if gid in self.internal_groups[prof.id]:
                raise not_found(f"action profile {prof.name}: no group {gid}")
            sw.profile_delete_group(prof.name, gid)
            self._count(prof.id, -1, txn)
            old = self.group_max.pop(key, None)
            if old is not None:
                txn.add(lambda: self.group_max.__setitem__(key, old))
            return
        weights = self._group_weights(prof, g)
        self._check_size(prof, g.max_size, weights)
        if kind == UPDATE.INSERT:
            if self.profile_mode(prof) == "oneshot":
                raise invalid(f"action profile {prof.name} is programmed with one-shot action sets")
            sw.profile_create_group(prof.name, gid)
            sw.profile_set_group_members(prof.name, gid, weights)
            self._count(prof.id, 1, txn)
            self.group_max[key] = g.max_size
            txn.add(lambda: self.group_max.pop(key, None))
        else:
            if gid in self.internal_groups[prof.id]:
                raise not_found(f"action profile {prof.name}: no group {gid}")
            groups = sw.profile_groups(prof.name)
            if gid not in groups:
                raise not_found(f"action profile {prof.name}: no group {gid}")
            if g.max_size != self.group_max.get(key, 0):
                raise invalid(f"group {gid}: max_size cannot change ({self.group_max.get(key, 0)})")
            sw.profile_set_group_members(prof.name, gid, weights)

    def read_groups(self: State, g: Any) -> list[Any]:
        profs = (
            [self.profile_spec(g.action_profile_id)]
            if g.action_profile_id
            else [p for p in self.p.profiles.values() if p.with_selector]
        )
        out = []
        for prof in profs:
            if not prof.with_selector:
                continue
            groups = self.sw.profile_groups(prof.name)
            hidden = self.internal_groups[prof.id]
            if g.action_profile_id and g.group_id:
                if g.group_id not in groups or g.group_id in hidden:
                    raise not_found(f"action profile {prof.name}: no group {g.group_id}")
                ids = [g.group_id]
            else:
                ids = sorted(h for h in groups if h not in hidden)
            for gid in ids:
                msg = p4runtime_pb2.ActionProfileGroup(
                    action_profile_id=prof.id,
                    group_id=gid,
                    max_size=self.group_max.get((prof.id, gid), 0),
                )
                for mid, w in sorted(groups[gid].items()):
                    msg.members.add(member_id=mid, weight=w)
                out.append(msg)
        return out

    # -- one-shot action sets --------------------------------------------------------------------

    def oneshot_create(
        self: State, spec: TableSpec, prof: ProfileSpec, aset: Any, txn: Txn
    ) -> tuple[int, list[int], tuple]:
        if self.profile_mode(prof) == "explicit":
            raise invalid(
                f"action profile {prof.name} is programmed with members and groups: "
                "one-shot action sets cannot be mixed in"
            )
        items = aset.action_profile_actions
        if not items:
            raise invalid("an action set needs at least one action")
        decoded = []
        for a in items:
            if a.weight <= 0:
                raise invalid("action set: weight 0 is not valid")
            if a.watch or a.watch_port:
                raise unimplemented("watch ports are not supported (no port liveness)")
            aid, jaid, params = decode_action(self.p, spec, a.action)
            decoded.append((aid, jaid, params, a.weight))
        weights_only = {i: w for i, (_a, _j, _p, w) in enumerate(decoded)}
        self._check_size(prof, 0, weights_only)
        sw = self.sw
        mids = [sw.profile_add_member(prof.name, jaid, params) for _a, jaid, params, _w in decoded]
        gid = sw.profile_create_group(prof.name)
        sw.profile_set_group_members(
            prof.name, gid, {m: d[3] for m, d in zip(mids, decoded, strict=True)}
        )
        im, ig = self.internal_members[prof.id], self.internal_groups[prof.id]
        im.update(mids)
        ig.add(gid)

        def undo() -> None:
            im.difference_update(mids)
            ig.discard(gid)

        txn.add(undo)
        return gid, mids, tuple((aid, params, w) for aid, _j, params, w in decoded)

    def oneshot_delete(
        self: State, prof: ProfileSpec | None, gid: int, mids: list[int], txn: Txn
    ) -> None:
        assert prof is not None
        sw = self.sw
        sw.profile_delete_group(prof.name, gid)
        for m in mids:
            sw.profile_delete_member(prof.name, m)
        im, ig = self.internal_members[prof.id], self.internal_groups[prof.id]
        im.difference_update(mids)
        ig.discard(gid)

        def undo() -> None:
            im.update(mids)
            ig.add(gid)

        txn.add(undo)
