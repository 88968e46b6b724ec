"""P4Runtime client errors and their decoding from a failed RPC (:mod:`controlplane.p4rt`).

A switch that cannot be reached (or a stream/RPC that fails UNAVAILABLE) raises
:class:`SwitchUnavailable`; a refused write raises :class:`WriteError` with one
``(update index, code name, message)`` per failed update, decoded from the ``p4.v1.Error``
details of the RPC's ``google.rpc.Status`` (:func:`status_details`).
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.rpc import status_pb2

from p4target.protos import p4runtime_pb2

from .entries import RegisterValue, TableEntry

_CODE_NAME = {c.value[0]: c.name for c in grpc.StatusCode}

Update = tuple[str, TableEntry | RegisterValue]


class SwitchUnavailable(ConnectionError):
    """The switch cannot be reached, or the session to it was lost."""


class NotPrimary(PermissionError):
    """This client is a backup: another controller is the primary."""


class P4RuntimeError(RuntimeError):
    """An RPC the switch refused: ``code`` is the gRPC status name."""

    def __init__(self, message: str, code: str = "UNKNOWN"):
        super().__init__(message)
        self.code = code


class PipelineError(P4RuntimeError):
    """SetForwardingPipelineConfig was refused."""


class WriteError(P4RuntimeError):
    """A Write the switch refused, in whole or in part.

    ``errors``: ``(update index, code name, message)`` per failed update, indices into the
    caller's ``updates``; ``failed``: the same with the update itself instead of the index.
    ABORTED entries are updates a ROLLBACK_ON_ERROR / DATAPLANE_ATOMIC batch did not apply.
    """

    def __init__(self, errors: list[tuple[int, str, str]], updates: Sequence[Update]):
        self.errors = errors
        self.failed = [(updates[i][0], updates[i][1], c, m) for i, c, m in errors]
        real = [e for e in errors if e[1] != "ABORTED"] or errors
        i, code, msg = real[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"update {i} ({updates[i][0]}): {code}: {msg}{more}", code)


def status_details(exc: grpc.RpcError) -> list[p4runtime_pb2.Error]:
    """The ``p4.v1.Error`` details of a failed RPC's ``google.rpc.Status`` (empty if none)."""
    for k, v in exc.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(v)
            out = []
            for a in st.details:
                e = p4runtime_pb2.Error()
                if a.Unpack(e):
                    out.append(e)
            return out
    return []
