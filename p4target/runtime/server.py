"""Starting P4Runtime servers: one per switch (own address and device id), several in one
process for tests and in-process networks, and P4Info files in any of p4c's formats."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format, text_format

from p4target.protos import p4info_pb2, p4runtime_pb2_grpc
from p4target.switch import Switch

from .device import Device
from .service import P4RuntimeService

log = logging.getLogger("p4target.runtime")
DEFAULT_ADDRESS = "127.0.0.1:9559"  # P4Runtime's IANA port, loopback unless told otherwise
MAX_MESSAGE = 256 * 1024 * 1024
_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.so_reuseport", 0),
]


def load_p4info(source: Any) -> Any:
    """A P4Info message from a message, text (``.txt``/``.txtpb``/``.pb.txt``), JSON or binary
    file."""
    if isinstance(source, p4info_pb2.P4Info):
        return source
    path = Path(source)
    msg = p4info_pb2.P4Info()
    if path.suffix == ".json":
        json_format.Parse(path.read_text(), msg)
    elif path.suffix in (".bin", ".pb"):
        msg.ParseFromString(path.read_bytes())
    else:
        text_format.Parse(path.read_text(), msg)
    return msg


class RuntimeServer:
    """A running gRPC server serving one or more devices.

    ``address`` "host:port" (port 0 picks a free port; :attr:`port` tells which).  Every open
    StreamChannel holds one of the ``max_workers`` threads for its lifetime.
    """

    def __init__(self, address: str = DEFAULT_ADDRESS, max_workers: int = 64):
        self.service = P4RuntimeService()
        self._executor = futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="p4rt"
        )
        self.server = grpc.server(self._executor, options=_OPTIONS)
        p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(self.service, self.server)
        host = address.rsplit(":", 1)[0]
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot bind {address}")
        self.host = host
        self.started = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def devices(self) -> dict[int, Device]:
        return self.service.devices

    def add_device(
        self, switch: Switch, device_id: int | None = None, p4info: Any = None
    ) -> Device:
        """Serve ``switch`` as ``device_id`` (default: the switch's own).  With ``p4info`` (a
        message or a file) the switch's loaded program is the committed pipeline; otherwise
        the device waits for SetForwardingPipelineConfig (simple_switch_grpc ``--no-p4``)."""
        did = switch.device_id if device_id is None else device_id
        if did in self.service.devices:
            raise ValueError(f"device id {did} is already served here")
        dev = Device(switch, did, load_p4info(p4info) if p4info is not None else None)
        self.service.devices[did] = dev
        return dev

    def start(self) -> RuntimeServer:
        if not self.started:
            self.server.start()
            self.started = True
            log.info("P4Runtime server on %s (devices %s)", self.address, sorted(self.devices))
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        """Stop serving (open streams end) and detach from the switches."""
        for dev in self.service.devices.values():
            dev.arbitration.close_all()
        self.server.stop(grace).wait()
        for dev in self.service.devices.values():
            dev.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def wait(self) -> None:
        self.server.wait_for_termination()

    def __enter__(self) -> RuntimeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    switch: Switch,
    address: str = DEFAULT_ADDRESS,
    device_id: int | None = None,
    p4info: Any = None,
    max_workers: int = 64,
) -> RuntimeServer:
    """Start a P4Runtime server for one switch; returns the running server handle."""
    srv = RuntimeServer(address, max_workers=max_workers)
    try:
        srv.add_device(switch, device_id, p4info)
    except BaseException:
        srv.stop(0)
        raise
    return srv.start()


def serve_many(
    switches: Iterable[Switch | tuple[Switch, int]],
    host: str = "127.0.0.1",
    base_port: int = 0,
    p4info: Any = None,
    max_workers: int = 16,
) -> list[RuntimeServer]:
    """One server per switch, each with its own port (``base_port + i``, or free ports when
    ``base_port`` is 0) and device id (given in a ``(switch, device_id)`` pair, else the
    switch's own)."""
    servers = []
    try:
        for i, item in enumerate(switches):
            sw, did = item if isinstance(item, tuple) else (item, None)
            port = base_port + i if base_port else 0
            servers.append(serve(sw, f"{host}:{port}", did, p4info, max_workers=max_workers))
    except BaseException:
        for s in servers:
            s.stop(0)
        raise
    return servers
