"""Packet replication engine (multicast groups) and clone/mirroring sessions.

Multicast follows BMv2's simple PRE: a group (``mgid``) holds nodes; a node has one
replication id (``rid``) and a set of ports; replication yields ``(port, rid)`` for each node
in association order and each of its ports in increasing order.  The node API mirrors
``simple_switch_CLI`` (``mc_mgrp_create``, ``mc_node_create``, ``mc_node_associate``...);
``set_group`` is the one-call form a P4Runtime server needs (a list of replicas).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadValueError, DuplicateEntryError, EntryNotFoundError, InUseError
from .tables import Journal

MAX_MIRROR_SESSION_ID = 32767


@dataclass
class MirrorSession:
    """A clone session: to a port and/or a multicast group; ``truncate`` bytes (0 = whole);
    ``cos`` the clones' queue priority (None: keep the original packet's)."""

    port: int | None = None
    mgid: int | None = None
    truncate: int = 0
    cos: int | None = None


class PRE:
    def __init__(self, journal: Journal):
        self.journal = journal
        self.groups: dict[int, list[int]] = {}  # mgid -> node handles
        self.nodes: dict[int, tuple[int, tuple[int, ...]]] = {}  # handle -> (rid, ports)
        self.node_group: dict[int, int] = {}  # node handle -> mgid
        self.next_node = 0
        self.sessions: dict[int, MirrorSession] = {}
        self._cache: dict[int, tuple[tuple[int, int], ...]] = {}

    def _changed(self) -> None:
        self._cache.clear()

    def _snapshot(self) -> None:
        if not self.journal.active:
            return
        groups = {k: list(v) for k, v in self.groups.items()}
        nodes = dict(self.nodes)
        node_group = dict(self.node_group)
        nxt = self.next_node

        def undo() -> None:
            self.groups, self.nodes, self.node_group, self.next_node = (
                groups,
                nodes,
                node_group,
                nxt,
            )
            self._changed()

        self.journal.record(undo)

    # -- simple_switch_CLI style -----------------------------------------------------------------

    def mgrp_create(self, mgid: int) -> int:
        if not 0 <= mgid < (1 << 16):
            raise BadValueError(f"multicast group id {mgid} out of range")
        if mgid in self.groups:
            raise DuplicateEntryError(f"multicast group {mgid} exists")
        self._snapshot()
        self.groups[mgid] = []
        self._changed()
        return mgid

    def mgrp_destroy(self, mgid: int) -> None:
        if mgid not in self.groups:
            raise EntryNotFoundError(f"no multicast group {mgid}")
        self._snapshot()
        for h in self.groups.pop(mgid):
            self.node_group.pop(h, None)
        self._changed()

    def node_create(self, rid: int, ports: list[int]) -> int:
        if not 0 <= rid < (1 << 16):
            raise BadValueError(f"replication id {rid} out of range")
        for p in ports:
            if not 0 <= p < (1 << 16):
                raise BadValueError(f"port {p} out of range")
        self._snapshot()
        h = self.next_node
        self.next_node += 1
        self.nodes[h] = (rid, tuple(sorted(set(ports))))
        return h

    def node_update(self, handle: int, ports: list[int]) -> None:
        if handle not in self.nodes:
            raise EntryNotFoundError(f"no multicast node {handle}")
        self._snapshot()
        rid, _ = self.nodes[handle]
        self.nodes[handle] = (rid, tuple(sorted(set(ports))))
        self._changed()

    def node_destroy(self, handle: int) -> None:
        if handle not in self.nodes:
            raise EntryNotFoundError(f"no multicast node {handle}")
        if handle in self.node_group:
            raise InUseError(f"multicast node {handle} is associated with a group")
        self._snapshot()
        del self.nodes[handle]

    def node_associate(self, mgid: int, handle: int) -> None:
        if mgid not in self.groups:
            raise EntryNotFoundError(f"no multicast group {mgid}")
        if handle not in self.nodes:
            raise EntryNotFoundError(f"no multicast node {handle}")
        if handle in self.node_group:
            raise InUseError(f"multicast node {handle} is already associated")
        self._snapshot()
        self.groups[mgid].append(handle)
        self.node_group[handle] = mgid
        self._changed()

    def node_dissociate(self, mgid: int, handle: int) -> None:
        if self.node_group.get(handle) != mgid:
            raise EntryNotFoundError(f"node {handle} is not in group {mgid}")
        self._snapshot()
        self.groups[mgid].remove(handle)
        del self.node_group[handle]
        self._changed()

    # -- P4Runtime style -------------------------------------------------------------------------

    def set_group(self, mgid: int, replicas: list[tuple[int, int]]) -> None:
        """Create or replace group ``mgid`` with replicas [(port, rid), ...] in that order."""
        if not 0 < mgid < (1 << 16):
            raise BadValueError(f"multicast group id {mgid} out of range")
        seen = set()
        for port, rid in replicas:
            if (port, rid) in seen:
                raise DuplicateEntryError(f"replica ({port}, {rid}) listed twice")
            seen.add((port, rid))
            if not 0 <= port < (1 << 16) or not 0 <= rid < (1 << 16):
                raise BadValueError(f"replica ({port}, {rid}) out of range")
        self._snapshot()
        for h in self.groups.pop(mgid, []):
            self.node_group.pop(h, None)
            self.nodes.pop(h, None)
        handles = []
        for port, rid in replicas:
            h = self.next_node
            self.next_node += 1
            self.nodes[h] = (rid, (port,))
            self.node_group[h] = mgid
            handles.append(h)
        self.groups[mgid] = handles
        self._changed()

    def delete_group(self, mgid: int) -> None:
        if mgid not in self.groups:
            raise EntryNotFoundError(f"no multicast group {mgid}")
        self._snapshot()
        for h in self.groups.pop(mgid):
            self.node_group.pop(h, None)
            self.nodes.pop(h, None)
        self._changed()

    def replicas(self, mgid: int) -> tuple[tuple[int, int], ...]:
        """[(port, rid), ...] for a group (empty if the group does not exist)."""
        r = self._cache.get(mgid)
        if r is None:
            out = []
            for h in self.groups.get(mgid, ()):
                rid, ports = self.nodes[h]
                out.extend((p, rid) for p in ports)
            r = self._cache[mgid] = tuple(out)
        return r

    # -- mirroring -------------------------------------------------------------------------------

    def mirror_add(self, sid: int, session: MirrorSession) -> None:
        if not 0 <= sid <= MAX_MIRROR_SESSION_ID:
            raise BadValueError(
                f"mirror session id {sid} out of range [0, {MAX_MIRROR_SESSION_ID}]"
            )
        if session.port is None and session.mgid is None:
            raise BadValueError("a mirror session needs a port or a multicast group")
        if session.truncate < 0:
            raise BadValueError("truncation length must be non-negative")
        old = self.sessions.get(sid)
        self.sessions[sid] = session

        def undo() -> None:
            if old is None:
                self.sessions.pop(sid, None)
            else:
                self.sessions[sid] = old

        self.journal.record(undo)

    def mirror_delete(self, sid: int) -> None:
        if sid not in self.sessions:
            raise EntryNotFoundError(f"no mirror session {sid}")
        old = self.sessions.pop(sid)
        self.journal.record(lambda: self.sessions.__setitem__(sid, old))

    def reset(self) -> None:
        self.groups.clear()
        self.nodes.clear()
        self.node_group.clear()
        self.next_node = 0
        self.sessions.clear()
        self._changed()
