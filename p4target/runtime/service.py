"""The ``p4.v1.P4Runtime`` gRPC service over a set of :class:`~.device.Device` objects."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from importlib import metadata
from typing import Any

import grpc

from p4target.protos import p4runtime_pb2, p4runtime_pb2_grpc

from .device import Device
from .errors import P4RTError, abort_with_status, batch_status, from_exception
from .stream import run_stream

log = logging.getLogger("p4target.runtime")
READ_CHUNK = 1000  # entities per ReadResponse message

try:
    API_VERSION = metadata.version("p4runtime")
except metadata.PackageNotFoundError:  # pragma: no cover
    API_VERSION = "1.4.1"


class P4RuntimeService(p4runtime_pb2_grpc.P4RuntimeServicer):
    def __init__(self) -> None:
        self.devices: dict[int, Device] = {}

    def _device(self, device_id: int, context: grpc.ServicerContext) -> Device:
        dev = self.devices.get(device_id)
        if dev is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown device id {device_id}")
        return dev  # type: ignore[return-value]

    @staticmethod
    def _abort(context: grpc.ServicerContext, exc: Exception) -> None:
        err = from_exception(exc)
        if not isinstance(exc, P4RTError):
            log.error("internal error while serving a P4Runtime request", exc_info=exc)
        context.abort(err.code, err.message)

    def Capabilities(self, request: Any, context: grpc.ServicerContext) -> Any:
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version=API_VERSION)

    def SetForwardingPipelineConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        dev = self._device(request.device_id, context)
        try:
            dev.set_pipeline(request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            self._abort(context, exc)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    def GetForwardingPipelineConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._device(request.device_id, context).get_pipeline(request.response_type)

    def Write(self, request: Any, context: grpc.ServicerContext) -> Any:
        dev = self._device(request.device_id, context)
        try:
            errors = dev.write(request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            self._abort(context, exc)
        if errors is not None:
            abort_with_status(context, batch_status(errors, "Write failure"))
        return p4runtime_pb2.WriteResponse()

    def Read(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        dev = self._device(request.device_id, context)
        try:
            entities, errors = dev.read(request)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            self._abort(context, exc)
        for i in range(0, len(entities), READ_CHUNK):
            yield p4runtime_pb2.ReadResponse(entities=entities[i : i + READ_CHUNK])
        if errors is not None:
            abort_with_status(context, batch_status(errors, "Read failure"))

    def StreamChannel(self, request_iterator: Iterator[Any], context: grpc.ServicerContext):
        return run_stream(self.devices.get, request_iterator, context)
