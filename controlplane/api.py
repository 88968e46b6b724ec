"""The controller's local HTTP API (FastAPI, served by uvicorn on 127.0.0.1 by default).

Routes (JSON in and out): ``GET /status``, ``POST /swap`` {policy}, ``GET /swaps``,
``GET /aisid`` (list), ``GET /aisid/{aisid or name}``, ``POST /aisid/register``
{name, aisid, site, nodes?, traffic_class?, deadline_us?, replicas?}, ``POST /aisid/migrate``
{service, site, nodes?}, ``POST /aisid/decommission`` {service}, ``GET /paths``,
``GET /telemetry?last=N``, ``GET /events``. Errors answer ``{"detail": {"error": MESSAGE}}``: 400
refused input (nothing changed), 404 an unknown service, 409 a swap that failed (the old
version still serving), 503 a write the switches refused or a switch that is down. The CLI
(:mod:`controlplane.cli`) is a client of these routes.

The controller's methods take its lock; a swap's drain sleeps on the controller's clock, which
for an in-process network lets the network run from the API's thread, or waits while another
thread runs it (:meth:`topo.emunet.InProcessNetwork.sleep`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from controlplane.controller import Controller
from controlplane.p4rt import P4RuntimeError, SwitchUnavailable
from controlplane.swap import SwapError

log = logging.getLogger("controlplane.api")

DEFAULT_API = "127.0.0.1:8080"


class SwapBody(BaseModel):
    policy: str


class RegisterBody(BaseModel):
    name: str
    aisid: str
    site: str
    nodes: list[int] = []
    traffic_class: int | None = None
    deadline_us: int | None = None
    replicas: list[str] = []


class MigrateBody(BaseModel):
    service: str
    site: str
    nodes: list[int] = []
    replicas: list[str] | None = None


class ServiceBody(BaseModel):
    service: str


def _record(rec: Any) -> dict[str, Any]:
    return dataclasses.asdict(rec) if dataclasses.is_dataclass(rec) else dict(rec)


def make_app(ctl: Controller) -> FastAPI:
    """The API over one running controller."""
    from controlplane.registry import RegistryError

    app = FastAPI(title="cpn-p4 controller", version="1")

    @app.exception_handler(P4RuntimeError)
    @app.exception_handler(SwitchUnavailable)
    def switch_error(_req: Request, e: Exception) -> JSONResponse:
        """A write the switches refused or a switch that is down: 503 with the reason."""
        return JSONResponse(status_code=503, content={"detail": {"error": f"switch: {e}"}})

    @app.exception_handler(Exception)
    def internal(_req: Request, e: Exception) -> JSONResponse:
        log.exception("API: %s", e)
        return JSONResponse(
            status_code=500, content={"detail": {"error": f"{type(e).__name__}: {e}"}}
        )

    def refused(e: Exception) -> HTTPException:
        return HTTPException(status_code=400, detail={"error": str(e)})

    @app.get("/status")
    def status() -> dict[str, Any]:
        return ctl.status()

    @app.post("/swap")
    def swap(body: SwapBody) -> dict[str, Any]:
        try:
            rep = ctl.swap(body.policy)
        except SwapError as e:
            raise HTTPException(status_code=409, detail={"error": str(e)}) from e
        except (KeyError, ValueError, FileNotFoundError) as e:
            raise refused(e) from e
        return {**dataclasses.asdict(rep), "seconds": rep.seconds, "version": ctl.version}

    @app.get("/swaps")
    def swaps() -> list[dict[str, Any]]:
        return [dataclasses.asdict(s) for s in ctl.store.swaps()]

    @app.get("/aisid")
    def services() -> list[dict[str, Any]]:
        return [_record(r) for r in ctl.registry.services(active_only=False)]

    @app.get("/aisid/{key}")
    def query(key: str) -> dict[str, Any]:
        try:
            rec = ctl.registry.query(key)
        except (RegistryError, ValueError) as e:
            raise refused(e) from e
        if rec is None:
            raise HTTPException(status_code=404, detail={"error": f"no service {key!r}"})
        return _record(rec)

    @app.post("/aisid/register")
    def register(body: RegisterBody) -> dict[str, Any]:
        try:
            rec, written = ctl.register(
                body.name,
                body.aisid,
                body.site,
                body.nodes,
                traffic_class=body.traffic_class,
                deadline_us=body.deadline_us,
                replicas=body.replicas,
            )
        except (RegistryError, KeyError, ValueError) as e:
            raise refused(e) from e
        return {**_record(rec), "entries_written": written}

    @app.post("/aisid/migrate")
    def migrate(body: MigrateBody) -> dict[str, Any]:
        try:
            rec = ctl.migrate(body.service, body.site, body.nodes, body.replicas)
        except (RegistryError, KeyError, ValueError) as e:
            raise refused(e) from e
        return _record(rec)

    @app.post("/aisid/decommission")
    def decommission(body: ServiceBody) -> dict[str, Any]:
        try:
            rec, written = ctl.decommission(body.service)
        except (RegistryError, KeyError, ValueError) as e:
            raise refused(e) from e
        return {**_record(rec), "entries_written": written}

    @app.get("/paths")
    def paths() -> dict[str, Any]:
        return ctl.paths()

    @app.get("/telemetry")
    def telemetry(last: int | None = None) -> dict[str, Any]:
        """The telemetry time series (the ``last`` snapshots when given)."""
        if last is not None and last < 1:
            raise refused(ValueError(f"last must be >= 1, got {last}"))
        return ctl.telemetry.to_json(last)

    @app.get("/events")
    def events() -> list[dict[str, Any]]:
        return [{"time": t, "event": e} for t, e in ctl.events]

    from controlplane.web import mount_web

    mount_web(app, ctl)  # the live web view: GET / and /web/... (controlplane/web.py)
    return app


class ApiServer:
    """uvicorn in a background thread; ``address`` is where it listens (port 0: a free one).

    :meth:`start` binds the socket itself, so an address in use or a bad one is a RuntimeError
    in the caller's thread, and returns the address bound."""

    def __init__(self, ctl: Controller, address: str = DEFAULT_API) -> None:
        import uvicorn

        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"bad API address {address!r}: want HOST:PORT")
        self.config = uvicorn.Config(
            make_app(ctl), host=host.strip("[]") or "127.0.0.1", port=int(port), log_level="warning"
        )
        self.server = uvicorn.Server(self.config)
        self.thread: threading.Thread | None = None
        self.address = ""

    def start(self, timeout_s: float = 10.0) -> str:
        import socket
        import time

        host, port = self.config.host, self.config.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except OSError as e:
            sock.close()
            raise RuntimeError(
                f"API server cannot listen on {host}:{port}: {e.strerror or e} "
                "(give another address with --api HOST:PORT)"
            ) from e
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="api", daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                sock.close()
                raise RuntimeError(f"API server did not start on {host}:{port}")
            time.sleep(0.01)
        bound_host, bound_port = sock.getsockname()[:2]
        self.address = f"{bound_host}:{bound_port}"
        return self.address

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)
