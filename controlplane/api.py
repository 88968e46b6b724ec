"""The controller's local HTTP API (FastAPI, served by uvicorn on 127.0.0.1 by default).

Routes (JSON in and out): ``GET /status``, ``POST /swap`` {policy}, ``GET /swaps``,
``GET /aisid`` (list), ``GET /aisid/{aisid or name}``, ``POST /aisid/register``
{name, aisid, site, nodes?, traffic_class?, deadline_us?}, ``POST /aisid/migrate``
{service, site, nodes?}, ``POST /aisid/decommission`` {service}, ``GET /paths``,
``GET /telemetry``, ``GET /events``. Refused input answers 400 with ``{"error": ...}``; a swap
that failed (the old version still serving) 409. The CLI (:mod:`controlplane.cli`) is a client
of these routes.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from controlplane.controller import Controller
from controlplane.swap import SwapError

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


class MigrateBody(BaseModel):
    service: str
    site: str
    nodes: list[int] = []


class ServiceBody(BaseModel):
    service: str


def _record(rec: Any) -> dict[str, Any]:
    return dataclasses.asdict(rec) if dataclasses.is_dataclass(rec) else dict(rec)


def make_app(ctl: Controller) -> FastAPI:
    """The API over one running controller."""
    from controlplane.registry import RegistryError

    app = FastAPI(title="cpn-p4 controller", version="1")

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
        rec = ctl.registry.query(key)
        if rec is None:
            raise HTTPException(status_code=404, detail={"error": f"no service {key!r}"})
        return _record(rec)

    @app.post("/aisid/register")
    def register(body: RegisterBody) -> dict[str, Any]:
        try:
            with ctl.lock:
                rec = ctl.registry.register(
                    body.name,
                    body.aisid,
                    body.site,
                    nodes=body.nodes,
                    traffic_class=body.traffic_class,
                    deadline_us=body.deadline_us,
                )
                written = ctl.refresh()
        except (RegistryError, KeyError, ValueError) as e:
            raise refused(e) from e
        return {**_record(rec), "entries_written": written}

    @app.post("/aisid/migrate")
    def migrate(body: MigrateBody) -> dict[str, Any]:
        try:
            with ctl.lock:
                rec = ctl.migrate(body.service, body.site, body.nodes)
        except (RegistryError, KeyError, ValueError) as e:
            raise refused(e) from e
        return _record(rec)

    @app.post("/aisid/decommission")
    def decommission(body: ServiceBody) -> dict[str, Any]:
        try:
            with ctl.lock:
                rec = ctl.registry.decommission(body.service)
                written = ctl.refresh()
        except (RegistryError, KeyError, ValueError) as e:
            raise refused(e) from e
        return {**_record(rec), "entries_written": written}

    @app.get("/paths")
    def paths() -> dict[str, Any]:
        return ctl.paths()

    @app.get("/telemetry")
    def telemetry() -> dict[str, Any]:
        return ctl.telemetry.to_json()

    @app.get("/events")
    def events() -> list[dict[str, Any]]:
        return [{"time": t, "event": e} for t, e in ctl.events]

    return app


class ApiServer:
    """uvicorn in a background thread; ``address`` is where it listens (port 0: a free one)."""

    def __init__(self, ctl: Controller, address: str = DEFAULT_API) -> None:
        import uvicorn

        host, _, port = address.rpartition(":")
        self.config = uvicorn.Config(
            make_app(ctl), host=host or "127.0.0.1", port=int(port), log_level="warning"
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    def start(self, timeout_s: float = 10.0) -> str:
        import time

        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"API server did not start on {self.config.host}")
            time.sleep(0.01)
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        self.address = f"{host}:{port}"
        return self.address

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
