"""P4Runtime's error model: one exception type carrying a canonical gRPC code, the mapping of
the switch's typed errors onto those codes, and the ``google.rpc.Status`` builders for batch
failures (``UNKNOWN`` with one ``p4.v1.Error`` per update, in order)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2

from p4target.protos import p4runtime_pb2
from p4target.switch import errors as sw

Code = grpc.StatusCode

# grpc.StatusCode -> google.rpc.Code number (the numbers are the same; grpc keeps them in value[0])
_NUMBER = {c: c.value[0] for c in grpc.StatusCode}


class P4RTError(Exception):
    """A failed update, read or RPC: a canonical code and a developer-facing message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


def invalid(msg: str) -> P4RTError:
    return P4RTError(Code.INVALID_ARGUMENT, msg)


def not_found(msg: str) -> P4RTError:
    return P4RTError(Code.NOT_FOUND, msg)


def unimplemented(msg: str) -> P4RTError:
    return P4RTError(Code.UNIMPLEMENTED, msg)


def denied(msg: str) -> P4RTError:
    return P4RTError(Code.PERMISSION_DENIED, msg)


# Most specific class first: UnsupportedError is a ConfigError.
_SWITCH_CODES: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (sw.UnsupportedError, Code.UNIMPLEMENTED),
    (sw.ConfigError, Code.INVALID_ARGUMENT),
    (sw.DuplicateEntryError, Code.ALREADY_EXISTS),
    (sw.EntryNotFoundError, Code.NOT_FOUND),
    (sw.UnknownNameError, Code.NOT_FOUND),
    (sw.BadValueError, Code.INVALID_ARGUMENT),
    (sw.TableFullError, Code.RESOURCE_EXHAUSTED),
    (sw.ConstTableError, Code.PERMISSION_DENIED),
    (sw.InUseError, Code.FAILED_PRECONDITION),
    (sw.NoPipelineError, Code.FAILED_PRECONDITION),
)


def from_exception(exc: BaseException) -> P4RTError:
    """The P4Runtime error for any exception raised while serving a request."""
    if isinstance(exc, P4RTError):
        return exc
    for cls, code in _SWITCH_CODES:
        if isinstance(exc, cls):
            return P4RTError(code, str(exc))
    return P4RTError(Code.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")


def p4_error(err: P4RTError | None) -> p4runtime_pb2.Error:
    """``p4.v1.Error`` for one update / read request (OK with no other field when None)."""
    e = p4runtime_pb2.Error()
    if err is None:
        e.canonical_code = code_pb2.OK
    else:
        e.canonical_code = _NUMBER[err.code]
        e.message = err.message
    return e


# Per-update messages kept in a failed batch's status: the status travels in gRPC trailers,
# whose default size limit at clients is 16 KiB, so later errors carry their code only.
MAX_MESSAGES = 16


def batch_status(errors: list[P4RTError | None], message: str) -> status_pb2.Status:
    """``google.rpc.Status`` UNKNOWN with one ``p4.v1.Error`` detail per element, in order.

    Messages are kept for the first ``MAX_MESSAGES`` failures (real failures before the
    ABORTED updates of a rolled-back batch); the others carry their code only.
    """
    failed = [i for i, e in enumerate(errors) if e is not None]
    failed.sort(key=lambda i: errors[i].code == Code.ABORTED)  # type: ignore[union-attr]
    keep = set(failed[:MAX_MESSAGES])
    st = status_pb2.Status(code=code_pb2.UNKNOWN, message=message)
    for i, err in enumerate(errors):
        e = p4_error(err)
        if i not in keep:
            e.message = ""
        a = any_pb2.Any()
        a.Pack(e)
        st.details.append(a)
    return st


def abort_with_status(context: grpc.ServicerContext, status: status_pb2.Status) -> None:
    """Finish the RPC with ``status`` (code, message and binary details), as grpcio-status
    does: the details travel in the ``grpc-status-details-bin`` trailer."""
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.set_code(grpc.StatusCode.UNKNOWN if status.code == code_pb2.UNKNOWN else _code(status))
    context.set_details(status.message)


def _code(status: status_pb2.Status) -> grpc.StatusCode:
    for c, n in _NUMBER.items():
        if n == status.code:
            return c
    return grpc.StatusCode.UNKNOWN


def code_number(code: grpc.StatusCode) -> int:
    return _NUMBER[code]
