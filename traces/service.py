"""A service node: takes requests over UDP or TCP, computes, answers (see :mod:`traces.appproto`).

Protocol (node side). UDP: a ``REQ`` is answered at once with ``ACCEPT`` (a duplicate ``REQ`` gets
``ACCEPT`` again) or ``REFUSE`` (service not provided here, queue full). TCP: ``SYN`` gets
``SYN-ACK`` (or ``RST`` when the queue is full), the ``REQ`` segment follows, an unprovided
service gets ``RST``; the client's ``FIN`` after the reply is acknowledged and closes. Once the
``REQ`` and all ``total`` data bytes are in, the job joins a FIFO queue served by ``servers``
parallel servers; when it finishes, the reply (``reply_bytes`` from the request, or the node's
default) goes out as DATA then BULK units, the last one flagged ``LAST`` (TCP: with ``FIN``).

Jobs that never get going (:meth:`ServiceNode.job_stats`): data units for a job whose ``REQ``
the node never saw (**stray**: e.g. a request split between two sites) and jobs with a ``REQ``
whose data never completed (**incomplete**) are dropped after ``job_timeout_us`` without a unit
(default the client's request timeout, 10 s) and counted. Units still in flight after the node
refused (or reset) their request, or after their job expired, are dropped uncounted for one
more timeout. ``job_timeout_us=None``: no expiry (the jobs are kept, TCP data without a
connection is dropped uncounted).

Compute time (:class:`ComputeModel`): ``demand_tflop / (capacity_tflops / servers)`` seconds,
times the relative cost of the request's NB201 cell on this device (its latency under the
:mod:`agents.latency.devices` model divided by the device's mean over all cells; 1 without a
cell), times measurement noise from the device's residual spread (relative to its mid-range
latency) when ``noise_seed`` is set. A device the model has no fit for (``a100_1``) borrows a
reference device of its kind (``REFERENCE_DEVICES``); capacity still sets its speed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from traces.appproto import (
    APP_HEADER_LEN,
    FLAG_LAST,
    MFLOP_PER_TFLOP,
    NO_CELL,
    SERVICE_PORT,
    AppHeader,
    AppType,
    app_bytes,
    parse_app,
    split_units,
)
from traces.host import TCP, UDP, Flow, Host, Segment, tcp_flags
from traces.transport import Timer, Transport

_FIN, _SYN, _RST, _ACK = tcp_flags("F"), tcp_flags("S"), tcp_flags("R"), tcp_flags("A")
NODE_ISN = 5000


REFERENCE_DEVICES = {"gpu": "2080ti_1", "cpu": "gold_6240", "edge": "pixel3"}
"""Stand-ins for devices the latency model has not been fitted to (e.g. ``a100_1``)."""


def _kind_of(device: str) -> str | None:
    from agents.latency.devices import device_kind

    try:
        return device_kind(device)
    except ValueError:
        return None


@cache
def _mean_cell_ms(device: str) -> float:
    from agents.latency.devices import DeviceLatencyModel
    from agents.latency.nb201 import all_ops

    return float(DeviceLatencyModel.default().latency_table(all_ops(), [device]).mean())


class ComputeModel:
    """Compute time of a request on one node (see the module doc)."""

    def __init__(
        self,
        device: str,
        capacity_tflops: float,
        servers: int = 1,
        noise_seed: int | None = None,
        model: Any = None,
    ) -> None:
        from agents.latency.devices import DeviceLatencyModel

        self.model = model or DeviceLatencyModel.default()
        self.model_device = device
        if device not in self.model.devices:
            kind = _kind_of(device)
            if kind is None or REFERENCE_DEVICES[kind] not in self.model.devices:
                raise ValueError(
                    f"unknown device {device!r} (not gpu/cpu/edge by name); "
                    f"known: {', '.join(self.model.devices)}"
                )
            self.model_device = REFERENCE_DEVICES[kind]
        if not capacity_tflops > 0:
            raise ValueError(f"capacity_tflops must be positive, got {capacity_tflops}")
        if servers < 1:
            raise ValueError(f"servers must be at least 1, got {servers}")
        self.device = device
        self.capacity_tflops = float(capacity_tflops)
        self.servers = servers
        fit = self.model.fits[self.model_device]
        self._rel_noise = fit.residual_std_ms / max(fit.max_ms + fit.min_ms, 1e-9) * 2
        self._rng = np.random.default_rng(noise_seed) if noise_seed is not None else None

    def cell_factor(self, cell: int | None) -> float:
        if cell is None or cell == NO_CELL:
            return 1.0
        from agents.latency.nb201 import all_ops

        ops = all_ops()
        if not 0 <= cell < len(ops):
            raise ValueError(f"NB201 cell index {cell} out of range 0..{len(ops) - 1}")
        lat = float(self.model.latency_ms(ops[cell : cell + 1], self.model_device)[0])
        return lat / _mean_cell_ms(self.model_device)

    def compute_us(self, demand_tflop: float, cell: int | None = None) -> float:
        base = demand_tflop / (self.capacity_tflops / self.servers) * 1e6
        t = base * self.cell_factor(cell)
        if self._rng is not None:
            t *= max(0.5, 1.0 + self._rng.normal(0.0, self._rel_noise))
        return t


@dataclass
class _Job:
    proto: int
    client: str
    cport: int
    request_id: int = 0
    have_req: bool = False
    total: int = 0
    received: int = 0
    reply_bytes: int = 0
    compute_mflop: int = 0
    cell: int = NO_CELL
    service: int = 0
    queued: bool = False
    done: bool = False
    t_in_us: float = 0.0
    t_start_us: float = 0.0
    isn_peer: int = 0
    units: int = 0  # data units received
    t_last_us: float = 0.0  # when the last packet of the client came
    orphan: bool = False  # TCP: data without a connection (its SYN went elsewhere)
    flow: Flow | None = None  # frames to the client (made at the first one)
    extra: dict[str, Any] = field(default_factory=dict)


class ServiceNode:
    """A service node on a transport (see the module doc for protocol and compute model)."""

    def __init__(
        self,
        transport: Transport,
        mac: str,
        address: str,
        device: str,
        capacity_tflops: float,
        gateway_mac: str = "02:00:00:00:01:00",
        *,
        node_id: int = 1,
        servers: int = 1,
        queue_limit: int | None = None,
        reply_bytes: int = 1000,
        services: set[int] | None = None,
        port: int = SERVICE_PORT,
        mss: int = 1200,
        real_packets: int = 4,
        bulk_bytes: int = 256 * 1024,
        tx_rate_bps: float | None = None,
        noise_seed: int | None = None,
        model: Any = None,
        name: str = "",
        job_timeout_us: float | None = 10e6,
    ) -> None:
        if not 0 <= node_id <= 255:
            raise ValueError(f"node_id must be in 0..255, got {node_id}")
        if reply_bytes < 1:
            raise ValueError(f"reply_bytes must be at least 1, got {reply_bytes}")
        if job_timeout_us is not None and not job_timeout_us > 0:
            raise ValueError(f"job_timeout_us must be positive or None, got {job_timeout_us}")
        self.compute = ComputeModel(device, capacity_tflops, servers, noise_seed, model)
        self.host = Host(transport, mac, address, gateway_mac, name)
        self.name = self.host.name
        self.node_id = node_id
        self.servers = servers
        self.queue_limit = queue_limit
        self.reply_bytes = reply_bytes
        self.services = set(services) if services is not None else None
        self.port = port
        self.mss, self.real_packets, self.bulk_bytes = mss, real_packets, bulk_bytes
        self.tx_rate_bps = tx_rate_bps
        self.alive = True
        self._jobs: dict[tuple, _Job] = {}
        self._queue: deque[_Job] = deque()
        self.busy = 0
        self.samples: list[tuple[float, int, int]] = [(self.host.now_us(), 0, 0)]
        """(time µs, busy servers, queue length) at every change."""
        self.served = 0
        self.refused = 0
        self.lost = 0
        self.malformed = 0
        self.job_timeout_us = job_timeout_us
        self.expired = 0
        """Jobs dropped after ``job_timeout_us`` without a packet (stray, incomplete, or a TCP
        connection whose ``REQ`` never came)."""
        self._expired_stray = [0, 0]  # units, jobs
        self._expired_incomplete = 0
        self._closed: dict[tuple, float] = {}  # refused / reset / expired job keys -> when
        self._sweep: Timer | None = None
        self._listeners: list[Callable[[ServiceNode], Any]] = []
        self.host.bind(UDP, port, self._udp)
        self.host.bind(TCP, port, self._tcp)

    # -- load -----------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self.compute.device

    @property
    def address(self) -> str:
        return self.host.address

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    @property
    def load(self) -> float:
        """(busy servers + queued jobs) / servers: what a load-aware DNS reads."""
        return (self.busy + len(self._queue)) / self.servers

    def job_stats(self) -> dict[str, int]:
        """Jobs that never got going, expired or still held now: ``stray_units`` /
        ``stray_jobs`` (data units with no ``REQ``, and their jobs), ``incomplete`` (a ``REQ``,
        not all its data), ``expired`` (jobs dropped after ``job_timeout_us``), ``held`` (jobs
        held now). Held ones may still be in progress; at the end of a run they are not."""
        held = [j for j in self._jobs.values() if not j.queued]
        stray = [j for j in held if not j.have_req and j.units]
        return {
            "stray_units": self._expired_stray[0] + sum(j.units for j in stray),
            "stray_jobs": self._expired_stray[1] + len(stray),
            "incomplete": self._expired_incomplete + sum(1 for j in held if j.have_req),
            "expired": self.expired,
            "held": len(self._jobs),
        }

    def add_listener(self, fn: Callable[[ServiceNode], Any]) -> None:
        """Call ``fn(node)`` whenever busy servers or queue length change."""
        self._listeners.append(fn)

    def utilisation(self, t0_us: float | None = None, t1_us: float | None = None) -> float:
        """Time-averaged busy fraction of the servers over ``[t0, t1]`` (default: all so far)."""
        t0 = self.samples[0][0] if t0_us is None else t0_us
        t1 = self.host.now_us() if t1_us is None else t1_us
        if t1 <= t0:
            return 0.0
        area = 0.0
        for i, (t, busy, _) in enumerate(self.samples):
            nxt = self.samples[i + 1][0] if i + 1 < len(self.samples) else math.inf
            lo, hi = max(t, t0), min(nxt, t1)
            if hi > lo:
                area += busy * (hi - lo)
        return area / (t1 - t0) / self.servers

    def _sample(self) -> None:
        self.samples.append((self.host.now_us(), self.busy, len(self._queue)))
        for fn in self._listeners:
            fn(self)

    # -- faults ---------------------------------------------------------------------------------
    def kill(self) -> None:
        """Stop answering: queued and running jobs are lost, nothing more is sent."""
        self.alive = False
        self.lost += len(self._queue) + self.busy
        self._queue.clear()
        self._jobs.clear()
        self._closed.clear()
        self.busy = 0
        self._sample()

    def revive(self) -> None:
        self.alive = True

    # -- receive --------------------------------------------------------------------------------
    def _admit(self, app: AppHeader | None) -> bool:
        if self.queue_limit is not None and len(self._queue) >= self.queue_limit:
            return False
        return app is None or self.services is None or app.service in self.services

    def _udp(self, seg: Segment) -> None:
        if not self.alive:
            return
        app = parse_app(seg.payload)
        if app is None:
            self.malformed += 1
            return
        key = (UDP, seg.src, seg.sport, app.request_id)
        job = self._jobs.get(key)
        if app.type == AppType.REQ:
            if job is not None and job.have_req:
                self._send_ctl(job, AppType.ACCEPT)
                return
            job = job or _Job(UDP, seg.src, seg.sport, app.request_id)
            self._closed.pop(key, None)
            if not self._admit(app):
                self.refused += 1
                self._jobs.pop(key, None)
                self._close(key)
                self._send_ctl(job, AppType.REFUSE)
                return
            self._jobs[key] = job
            self._touch(job)
            self._take_req(job, app)
            self._send_ctl(job, AppType.ACCEPT)
        elif app.type in (AppType.DATA, AppType.BULK):
            if job is None:
                if key in self._closed:
                    return
                job = self._jobs[key] = _Job(UDP, seg.src, seg.sport, app.request_id)
            job.received += app.length
            job.units += 1
            self._touch(job)
        if job is not None:
            self._maybe_enqueue(job)

    def _tcp(self, seg: Segment) -> None:
        if not self.alive:
            return
        key = (TCP, seg.src, seg.sport)
        job = self._jobs.get(key)
        if seg.flags & _RST:
            if self._jobs.pop(key, None) is not None:
                self._close(key)
            return
        if seg.flags & _SYN and not seg.flags & _ACK:
            if job is None or job.orphan:
                self._closed.pop(key, None)
                if not self._admit(None):
                    self.refused += 1
                    self._jobs.pop(key, None)
                    self.host.send_tcp(seg.src, self.port, seg.sport, "RA", 0, seg.seq + 1)
                    return
                job = self._jobs[key] = _Job(TCP, seg.src, seg.sport, isn_peer=seg.seq)
                self._touch(job)
            self._tcp_send(job, "SA", NODE_ISN, job.isn_peer + 1)
            return
        app = parse_app(seg.payload)
        if job is None or job.orphan:
            if app is not None and app.type in (AppType.DATA, AppType.BULK):
                if job is None and (key in self._closed or self.job_timeout_us is None):
                    return  # (no expiry: kept uncounted, as it could not be dropped)
                job = job or self._jobs.setdefault(key, _Job(TCP, seg.src, seg.sport, orphan=True))
                job.received += app.length
                job.units += 1
                self._touch(job)
            return
        if app is not None and app.type == AppType.REQ and not job.have_req:
            job.request_id = app.request_id
            if not self._admit(app):
                self.refused += 1
                self._jobs.pop(key, None)
                self._close(key)
                self._tcp_send(job, "R", NODE_ISN + 1, 0)
                return
            self._take_req(job, app)
            self._touch(job)
        elif app is not None and app.type in (AppType.DATA, AppType.BULK):
            job.received += app.length
            job.units += 1
            self._touch(job)
        if seg.flags & _FIN:
            self._tcp_send(job, "A", NODE_ISN + 2 + job.reply_bytes, seg.seq + 1)
            self._jobs.pop(key, None)
            return
        self._maybe_enqueue(job)

    def _take_req(self, job: _Job, app: AppHeader) -> None:
        job.have_req = True
        job.total = app.total
        job.reply_bytes = app.reply_bytes or self.reply_bytes
        job.compute_mflop = app.compute_mflop
        job.cell = app.cell
        job.service = app.service
        job.t_in_us = self.host.now_us()

    # -- expiry ---------------------------------------------------------------------------------
    def _touch(self, job: _Job) -> None:
        """A packet of ``job`` came: it lives ``job_timeout_us`` more (the sweep is armed)."""
        job.t_last_us = self.host.now_us()
        if self._sweep is None and self.job_timeout_us is not None:
            self._sweep = self.host.after(self.job_timeout_us, self._expire)

    def _close(self, key: tuple) -> None:
        """Remember ``key`` for ``job_timeout_us``: its units still in flight are dropped."""
        if self.job_timeout_us is None:
            return
        self._closed[key] = self.host.now_us()
        if self._sweep is None:
            self._sweep = self.host.after(self.job_timeout_us, self._expire)

    def _expire(self) -> None:
        """Drop jobs (not queued or running) idle for ``job_timeout_us``; re-arm for the rest."""
        self._sweep = None
        if not self.alive or self.job_timeout_us is None:
            return
        now, limit = self.host.now_us(), self.job_timeout_us
        for key, t in list(self._closed.items()):
            if now - t >= limit:
                del self._closed[key]
        for key, job in list(self._jobs.items()):
            if job.queued or now - job.t_last_us < limit:
                continue
            del self._jobs[key]
            self._closed[key] = now
            self.expired += 1
            if job.have_req:
                self._expired_incomplete += 1
            elif job.units:
                self._expired_stray[0] += job.units
                self._expired_stray[1] += 1
        times = [j.t_last_us for j in self._jobs.values() if not j.queued]
        times += self._closed.values()
        if times:
            self._sweep = self.host.at(min(times) + limit, self._expire)

    # -- compute --------------------------------------------------------------------------------
    def _maybe_enqueue(self, job: _Job) -> None:
        if job.have_req and not job.queued and job.received >= job.total:
            job.queued = True
            self._queue.append(job)
            self._start_jobs()
            self._sample()

    def _start_jobs(self) -> None:
        while self.busy < self.servers and self._queue:
            job = self._queue.popleft()
            self.busy += 1
            job.t_start_us = self.host.now_us()
            dt = self.compute.compute_us(job.compute_mflop / MFLOP_PER_TFLOP, job.cell)
            self.host.after(dt, lambda j=job: self._finish(j))

    def _finish(self, job: _Job) -> None:
        if not self.alive or job.done:
            return
        job.done = True
        self.busy -= 1
        self.served += 1
        self._send_reply(job)
        if job.proto == UDP:
            self._jobs.pop((UDP, job.client, job.cport, job.request_id), None)
        self._start_jobs()
        self._sample()

    # -- send -----------------------------------------------------------------------------------
    def _app(self, job: _Job, kind: AppType, **kw: Any) -> bytes:
        return app_bytes(kind, node_id=self.node_id, request_id=job.request_id, **kw)

    def _flow(self, job: _Job) -> Flow:
        """The flow of ``job``'s frames to its client (Scapy builds the first one)."""
        if job.flow is None:
            job.flow = self.host.flow(job.proto, job.client, self.port, job.cport)
        return job.flow

    def _send_ctl(self, job: _Job, kind: AppType) -> None:
        self._flow(job).send_udp(self._app(job, kind))

    def _tcp_send(self, job: _Job, flags: str, seq: int, ack: int, body: bytes = b"") -> None:
        self._flow(job).send_tcp(flags, seq, ack, body)

    def _send_reply(self, job: _Job) -> None:
        total = job.reply_bytes
        units = split_units(total, self.mss, self.real_packets, self.bulk_bytes)
        t0 = self.host.now_us()
        for i, (off, n) in enumerate(units):
            last = i == len(units) - 1
            bulk = n > self.mss
            app = self._app(
                job,
                AppType.BULK if bulk else AppType.DATA,
                flags=FLAG_LAST if last else 0,
                units=-(-n // self.mss) if bulk else 0,
                offset=off,
                length=n,
                total=total,
            )
            body = app if bulk else app + bytes(n)
            if self.tx_rate_bps:
                t = t0 + (off + n) * 8 / self.tx_rate_bps * 1e6
                self.host.at(t, lambda j=job, b=body, o=off, f=last: self._emit(j, b, o, f))
            else:
                self._emit(job, body, off, last)

    def _emit(self, job: _Job, body: bytes, off: int, last: bool) -> None:
        if not self.alive:
            return
        if job.proto == UDP:
            self._flow(job).send_udp(body)
        else:
            seq = NODE_ISN + 1 + off
            flags = "FPA" if last else "PA"
            ack = job.isn_peer + 1 + APP_HEADER_LEN + job.total
            self._tcp_send(job, flags, seq, ack, body)


__all__ = ["ComputeModel", "ServiceNode"]
