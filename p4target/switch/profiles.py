"""Action profiles and action selectors (BMv2 ``indirect`` / ``indirect_ws`` tables).

A member binds an action to its data; a group is a weighted set of members.  A table entry
of an indirect table points at a member or (with a selector) at a group; the packet's
selector hash modulo the group's weighted member list picks the member, as BMv2's default
group selection does with members in handle order (a member of weight *w* occupies *w*
consecutive slots).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import (
    DuplicateEntryError,
    EntryNotFoundError,
    InUseError,
    TableFullError,
)
from .matchkeys import ActionCall
from .tables import Journal


class Group:
    __slots__ = ("handle", "members", "slots")

    def __init__(self, handle: int):
        self.handle = handle
        self.members: dict[int, int] = {}  # member handle -> weight
        self.slots: tuple[int, ...] = ()

    def rebuild(self) -> None:
        slots: list[int] = []
        for mbr in sorted(self.members):
            slots.extend([mbr] * self.members[mbr])
        self.slots = tuple(slots)


class ActionProfile:
    """Members and groups shared by the tables that use this profile."""

    def __init__(
        self,
        name: str,
        max_size: int,
        journal: Journal,
        selector: Callable[..., int] | None = None,
    ):
        self.name = name
        self.max_size = max_size
        self.journal = journal
        self.selector = selector  # fn(F, V, S, P) -> hash, for action selectors
        self.members: dict[int, ActionCall] = {}
        self.groups: dict[int, Group] = {}
        self.next_member = 0
        self.next_group = 0
        self.entry_refs: dict[tuple[str, int], int] = {}  # ("m"|"g", handle) -> #table entries
        self.action_ids: set[int] = set()

    # -- members ---------------------------------------------------------------------------------

    def add_member(self, call: ActionCall, handle: int | None = None) -> int:
        if handle is None:
            handle = self.next_member
            while handle in self.members:
                handle += 1
        elif handle in self.members:
            raise DuplicateEntryError(f"action profile {self.name}: member {handle} exists")
        if len(self.members) >= self.max_size:
            raise TableFullError(f"action profile {self.name} is full ({self.max_size} members)")
        self.members[handle] = call
        self.next_member = max(self.next_member, handle + 1)
        self.journal.record(lambda: self.members.pop(handle, None))
        return handle

    def member(self, handle: int) -> ActionCall:
        m = self.members.get(handle)
        if m is None:
            raise EntryNotFoundError(f"action profile {self.name}: no member {handle}")
        return m

    def modify_member(self, handle: int, call: ActionCall) -> None:
        old = self.member(handle)
        self.members[handle] = call
        self.journal.record(lambda: self.members.__setitem__(handle, old))

    def delete_member(self, handle: int) -> None:
        old = self.member(handle)
        if self.entry_refs.get(("m", handle)):
            raise InUseError(
                f"action profile {self.name}: member {handle} is used by table entries"
            )
        for g in self.groups.values():
            if handle in g.members:
                raise InUseError(
                    f"action profile {self.name}: member {handle} is in group {g.handle}"
                )
        del self.members[handle]
        self.journal.record(lambda: self.members.__setitem__(handle, old))

    # -- groups ----------------------------------------------------------------------------------

    def create_group(self, handle: int | None = None) -> int:
        if self.selector is None:
            raise EntryNotFoundError(f"action profile {self.name} has no selector (no groups)")
        if handle is None:
            handle = self.next_group
            while handle in self.groups:
                handle += 1
        elif handle in self.groups:
            raise DuplicateEntryError(f"action profile {self.name}: group {handle} exists")
        self.groups[handle] = Group(handle)
        self.next_group = max(self.next_group, handle + 1)
        self.journal.record(lambda: self.groups.pop(handle, None))
        return handle

    def group(self, handle: int) -> Group:
        g = self.groups.get(handle)
        if g is None:
            raise EntryNotFoundError(f"action profile {self.name}: no group {handle}")
        return g

    def delete_group(self, handle: int) -> None:
        g = self.group(handle)
        if self.entry_refs.get(("g", handle)):
            raise InUseError(f"action profile {self.name}: group {handle} is used by table entries")
        del self.groups[handle]
        self.journal.record(lambda: self.groups.__setitem__(handle, g))

    def set_group_members(self, handle: int, members: dict[int, int]) -> None:
        """Replace the members of a group: {member handle: weight}."""
        g = self.group(handle)
        for m, w in members.items():
            self.member(m)
            if w < 1:
                from .errors import BadValueError

                raise BadValueError(f"member {m}: weight must be >= 1")
        old = dict(g.members)
        g.members = dict(members)
        g.rebuild()

        def undo() -> None:
            g.members = old
            g.rebuild()

        self.journal.record(undo)

    def add_to_group(self, handle: int, member: int, weight: int = 1) -> None:
        g = self.group(handle)
        if member in g.members:
            raise DuplicateEntryError(f"group {handle} already contains member {member}")
        self.set_group_members(handle, {**g.members, member: weight})

    def remove_from_group(self, handle: int, member: int) -> None:
        g = self.group(handle)
        if member not in g.members:
            raise EntryNotFoundError(f"group {handle} does not contain member {member}")
        members = dict(g.members)
        del members[member]
        self.set_group_members(handle, members)

    # -- references from table entries -----------------------------------------------------------

    def ref(self, kind: str, handle: int, delta: int) -> None:
        key = (kind, handle)
        n = self.entry_refs.get(key, 0) + delta
        if n:
            self.entry_refs[key] = n
        else:
            self.entry_refs.pop(key, None)

    # -- data path -------------------------------------------------------------------------------

    def resolve(
        self, member: int | None, group: int | None, F: Any, V: Any, S: Any, P: Any
    ) -> ActionCall | None:
        if member is not None:
            return self.members.get(member)
        g = self.groups.get(group)  # type: ignore[arg-type]
        if g is None or not g.slots:
            return None
        h = self.selector(F, V, S, P) if self.selector is not None else 0
        return self.members.get(g.slots[h % len(g.slots)])
