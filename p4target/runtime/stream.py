"""StreamChannel: arbitration, packet-out, digest acks and stream errors from the client; the
session's queue (arbitration advisories, packet-in, digest lists, idle timeout notifications,
stream errors) back to it."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from p4target.protos import p4runtime_pb2

from .arbitration import CLOSE, Session, Terminate
from .errors import Code, P4RTError, code_number

log = logging.getLogger("p4target.runtime")


def stream_error(err: P4RTError, request: Any) -> Any:
    """StreamMessageResponse carrying a StreamError about ``request``."""
    msg = p4runtime_pb2.StreamMessageResponse()
    e = msg.error
    e.canonical_code = code_number(err.code)
    e.message = err.message
    which = request.WhichOneof("update")
    if which == "packet":
        e.packet_out.packet_out.CopyFrom(request.packet)
    elif which == "digest_ack":
        e.digest_list_ack.digest_list_ack.CopyFrom(request.digest_ack)
    elif which == "other":
        e.other.other.CopyFrom(request.other)
    return msg


def run_stream(
    devices: Callable[[int], Any], request_iterator: Iterator[Any], context: grpc.ServicerContext
) -> Iterator[Any]:
    """The StreamChannel handler: a reader thread consumes the client's messages while this
    generator yields the session's queue until the stream ends."""
    session = Session(context.peer())
    state: dict[str, Any] = {"device": None}

    def handle(req: Any) -> None:
        which = req.WhichOneof("update")
        dev = state["device"]
        if which == "arbitration":
            arb = req.arbitration
            if dev is not None and arb.device_id != dev.device_id:
                session.terminate(
                    grpc.StatusCode.FAILED_PRECONDITION, "device_id differs from the stream's"
                )
                return
            target = devices(arb.device_id)
            if target is None:
                session.terminate(grpc.StatusCode.NOT_FOUND, f"unknown device {arb.device_id}")
                return
            try:
                target.arbitration.update(session, arb)
            except P4RTError as exc:
                session.terminate(exc.code, exc.message)
                return
            state["device"] = target
            return
        if dev is None:
            err = P4RTError(Code.PERMISSION_DENIED, "send a MasterArbitrationUpdate first")
        elif which == "packet":
            err = dev.packet_out(session, req.packet)
        elif which == "digest_ack":
            err = dev.digest_ack(session, req.digest_ack)
        else:
            err = P4RTError(Code.UNIMPLEMENTED, f"stream message {which} is not supported")
        if err is not None:
            session.send(stream_error(err, req))

    def reader() -> None:
        try:
            for req in request_iterator:
                if session.closed:
                    break
                try:
                    handle(req)
                except Exception:  # noqa: BLE001 - a bad message must not kill the stream
                    log.exception("error while handling a stream message")
                    session.send(stream_error(P4RTError(Code.INTERNAL, "internal error"), req))
        except grpc.RpcError:
            pass
        except Exception:  # noqa: BLE001
            log.exception("stream reader failed")
        finally:
            session.close()

    context.add_callback(session.close)
    threading.Thread(target=reader, name="p4rt-stream", daemon=True).start()
    try:
        while True:
            try:
                item = session.out.get(timeout=0.5)
            except queue.Empty:
                if not context.is_active():  # cancelled or server stopping
                    break
                continue
            if item is CLOSE:
                break
            if isinstance(item, Terminate):
                context.abort(item.code, item.message)
            yield item
    finally:
        session.closed = True
        dev = state["device"]
        if dev is not None:
            dev.arbitration.remove(session)
