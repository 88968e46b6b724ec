"""Client arbitration (P4Runtime spec, "Client Arbitration and Controller Replication").

For each (device, role) the server remembers every live stream's election id and the highest
election id it has ever seen; the stream holding that id is the primary, all others are
backups.  Primary changes are announced to every controller of the (device, role) with a
``MasterArbitrationUpdate`` whose status is OK for the primary, ALREADY_EXISTS for backups
while there is a primary, NOT_FOUND when there is none.  Only the default role and named roles
without a ``role.config`` (full pipeline access) are supported.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from google.rpc import code_pb2

from p4target.protos import p4runtime_pb2

from .errors import Code, P4RTError, denied, not_found

CLOSE = object()


def election_id(msg: Any) -> int | None:
    """An ``election_id`` field as an int (None when unset)."""
    if not msg.HasField("election_id"):
        return None
    e = msg.election_id
    return (e.high << 64) | e.low


class Terminate:
    """Queued on a session to end its stream with an error status."""

    def __init__(self, code: Any, message: str):
        self.code = code
        self.message = message


class Session:
    """One StreamChannel: its arbitration identity and its outgoing message queue."""

    def __init__(self, peer: str = ""):
        self.peer = peer
        self.out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.device_id: int | None = None
        self.role: str | None = None
        self.role_msg: Any = None
        self.election_id: int | None = None
        self.closed = False

    def send(self, msg: Any) -> None:
        if not self.closed:
            self.out.put(msg)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.out.put(CLOSE)

    def terminate(self, code: Any, message: str) -> None:
        if not self.closed:
            self.out.put(Terminate(code, message))
            self.closed = True


class _Role:
    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.highest: int | None = None
        self.primary: Session | None = None


class Arbitration:
    """Primary/backup state of one device, all roles."""

    def __init__(self, device_id: int):
        self.device_id = device_id
        self.lock = threading.Lock()
        self.roles: dict[str, _Role] = {"": _Role()}

    # -- stream side -----------------------------------------------------------------------------

    def update(self, s: Session, msg: Any) -> None:
        """Handle a MasterArbitrationUpdate from ``s``; P4RTError ends the stream."""
        role = msg.role.name if msg.HasField("role") else ""
        if msg.HasField("role") and msg.role.HasField("config"):
            raise P4RTError(Code.INVALID_ARGUMENT, "role.config is not supported (full access)")
        eid = election_id(msg)
        with self.lock:
            if s.device_id is not None:
                if msg.device_id != s.device_id:
                    raise P4RTError(Code.FAILED_PRECONDITION, "device_id differs from the stream's")
                if role != s.role:
                    raise P4RTError(Code.FAILED_PRECONDITION, "role differs from the stream's")
            r = self.roles.setdefault(role, _Role())
            if eid is not None and any(o is not s and o.election_id == eid for o in r.sessions):
                raise P4RTError(
                    Code.INVALID_ARGUMENT, f"election id {eid} is used by another controller"
                )
            if s.device_id is None:
                s.device_id, s.role = msg.device_id, role
                s.role_msg = msg.role if msg.HasField("role") else None
                r.sessions.append(s)
            s.election_id = eid
            was_primary = r.primary is s
            if eid is not None and (r.highest is None or eid >= r.highest):
                r.highest = eid
                r.primary = s
                if not was_primary:  # a primary re-sending its id (a barrier) changes nothing
                    for o in r.sessions:
                        if o is not s:
                            self._advise(r, o)
                self._advise(r, s)
            elif was_primary:
                r.primary = None
                for o in r.sessions:
                    self._advise(r, o)
            else:
                self._advise(r, s)

    def remove(self, s: Session) -> None:
        with self.lock:
            r = self.roles.get(s.role or "")
            if r is None or s not in r.sessions:
                return
            r.sessions.remove(s)
            if r.primary is s:
                r.primary = None
                for o in r.sessions:
                    self._advise(r, o)

    def _advise(self, r: _Role, s: Session) -> None:
        m = p4runtime_pb2.MasterArbitrationUpdate(device_id=self.device_id)
        if s.role_msg is not None:
            m.role.CopyFrom(s.role_msg)
        if r.highest is not None:
            m.election_id.high = r.highest >> 64
            m.election_id.low = r.highest & ((1 << 64) - 1)
        if r.primary is s:
            m.status.code = code_pb2.OK
            m.status.message = "primary"
        elif r.primary is not None:
            m.status.code = code_pb2.ALREADY_EXISTS
            m.status.message = "backup: another controller is primary"
        else:
            m.status.code = code_pb2.NOT_FOUND
            m.status.message = "backup: there is no primary"
        s.send(p4runtime_pb2.StreamMessageResponse(arbitration=m))

    # -- RPC side --------------------------------------------------------------------------------

    def check_primary(self, role: str, eid: int | None) -> None:
        """Raise unless (role, election id) is the primary: NOT_FOUND for an unknown role,
        PERMISSION_DENIED otherwise."""
        with self.lock:
            r = self.roles.get(role)
            if r is None:
                raise not_found(f"role {role!r} has no controller on device {self.device_id}")
            p = r.primary
            if p is None or eid is None or p.election_id != eid:
                raise denied(
                    f"not the primary controller of device {self.device_id}"
                    + (f", role {role!r}" if role else "")
                )

    def is_primary(self, s: Session) -> bool:
        r = self.roles.get(s.role if s.role is not None else "")
        return r is not None and r.primary is s

    def close_all(self) -> None:
        """End every stream of this device (server shutdown)."""
        with self.lock:
            sessions = [s for r in self.roles.values() for s in r.sessions]
        for s in sessions:
            s.close()

    def primaries(self) -> list[Session]:
        return [r.primary for r in self.roles.values() if r.primary is not None]
