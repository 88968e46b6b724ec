"""The AISID client: sends requests of a given data volume, measures and records each one.

A request goes to an AISID (the CPN picks the node), to a node address, or to a DNS name that the
client's stub resolver turns into a node address first (the DNS baseline). Each request uses its
own source port, so it is its own flow. Protocol (see :mod:`traces.appproto`):

* UDP: ``REQ`` at t0, then the data units paced at ``rate_bps`` (the unit covering message bytes
  ``[a, b)`` leaves at ``t0 + 8 b / rate``; all at t0 without a rate). The node answers ``ACCEPT``
  at once and, after all data and its compute time, the reply units.
* TCP: ``SYN`` at t0; on ``SYN-ACK`` the ``REQ`` segment and the data units (paced from then);
  the reply's last segment carries ``FIN``; the client closes with ``FIN`` (which also releases
  the egress gateway's connection count).

Latencies (``RequestRecord``), from the request's first packet (the DNS query when the name had to
be resolved): **initiation** = to the first packet back from the service (``ACCEPT`` /
``SYN-ACK``, or the refusal); **completion** = to the last reply byte. Outcomes: ``ok``, ``timeout``, ``refused``
(``REFUSE`` / ``RST``), ``unknown`` (NXDOMAIN, DNS failure, ICMPv6 destination unreachable).

Retransmission and timeouts: the opening packet (``REQ`` / ``SYN``) is resent after ``rto_us``
(default 1 s, RFC 6298's initial RTO) without an answer, doubling each time, at most
``max_retries`` times (``RequestRecord.retransmits``). Data and reply units are not retransmitted
(the emulated links are loss-free unless a fault is injected): a request whose reply is not
complete ``timeout_us`` after its first packet is recorded as ``timeout``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from traces.aisid import AISID
from traces.appproto import (
    APP_HEADER_LEN,
    MFLOP_PER_TFLOP,
    NO_CELL,
    SERVICE_PORT,
    AppType,
    app_bytes,
    parse_app,
    split_units,
)
from traces.dns import StubResolver
from traces.host import ICMP6, TCP, UDP, Flow, Host, Segment, tcp_flags
from traces.transport import Timer, Transport

Outcome = Literal["pending", "ok", "timeout", "refused", "unknown"]
_FIN, _SYN, _RST, _ACK = tcp_flags("F"), tcp_flags("S"), tcp_flags("R"), tcp_flags("A")
CLIENT_ISN = 1000


@dataclass
class RequestRecord:
    """What happened to one request (times in µs on the transport's clock)."""

    request_id: int
    target: str  # AISID / address / DNS name as given
    proto: str
    data_bytes: int
    reply_bytes: int
    compute_tflop: float
    rate_bps: float | None
    deadline_us: int
    service: int
    address: str = ""  # where the request went (the resolved node for a DNS name)
    sport: int = 0
    t_start_us: float = 0.0  # first packet of the request (DNS query or request)
    t_request_us: float | None = None  # first request packet (after resolution)
    t_first_reply_us: float | None = None
    t_last_reply_us: float | None = None
    t_end_us: float | None = None
    resolve_us: float = 0.0
    from_cache: bool = False
    node_id: int = 0
    retransmits: int = 0
    reply_received: int = 0
    outcome: Outcome = "pending"
    error: str = ""

    @property
    def initiation_latency_us(self) -> float | None:
        if self.t_first_reply_us is None:
            return None
        return self.t_first_reply_us - self.t_start_us

    @property
    def completion_latency_us(self) -> float | None:
        if self.t_last_reply_us is None:
            return None
        return self.t_last_reply_us - self.t_start_us

    @property
    def deadline_met(self) -> bool | None:
        """``None`` without a deadline; ``False`` when not ``ok``."""
        if not self.deadline_us:
            return None
        c = self.completion_latency_us
        return self.outcome == "ok" and c is not None and c <= self.deadline_us

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["initiation_latency_us"] = self.initiation_latency_us
        d["completion_latency_us"] = self.completion_latency_us
        return d


@dataclass
class _Req:
    rec: RequestRecord
    cell: int
    timers: list[Timer] = field(default_factory=list)
    rto_timer: Timer | None = None
    rto_us: float = 0.0
    on_done: Callable[[RequestRecord], Any] | None = None
    flow: Flow | None = None  # the request's frames (set when it opens)


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


class AisidClient:
    """Sends requests and records them (``records``, by ``request_id``)."""

    def __init__(
        self,
        transport: Transport,
        mac: str,
        address: str,
        gateway_mac: str,
        *,
        name: str = "",
        dns_server: str | None = None,
        timeout_us: float = 10e6,
        rto_us: float = 1e6,
        max_retries: int = 2,
        mss: int = 1200,
        real_packets: int = 4,
        bulk_bytes: int = 256 * 1024,
        service_port: int = SERVICE_PORT,
        stub_options: dict[str, Any] | None = None,
    ) -> None:
        if not 0 < mss <= 9000:
            raise ValueError(f"mss must be in 1..9000, got {mss}")
        if bulk_bytes > 0 and bulk_bytes // mss > 0xFFFF:
            raise ValueError(f"bulk_bytes {bulk_bytes} is over 65535 packets of mss {mss}")
        self.host = Host(transport, mac, address, gateway_mac, name)
        self.name = self.host.name
        self.timeout_us, self.rto_us, self.max_retries = timeout_us, rto_us, max_retries
        self.mss, self.real_packets, self.bulk_bytes = mss, real_packets, bulk_bytes
        self.service_port = service_port
        self.stub = (
            StubResolver(self.host, dns_server, **(stub_options or {})) if dns_server else None
        )
        self.records: dict[int, RequestRecord] = {}
        self._active: dict[int, _Req] = {}
        self._next_id = 1

    @property
    def address(self) -> str:
        return self.host.address

    # -- API ------------------------------------------------------------------------------------
    def request(
        self,
        aisid: AISID | str,
        data_bytes: int,
        proto: Literal["udp", "tcp"] = "udp",
        request_id: int | None = None,
        *,
        rate_bps: float | None = None,
        compute_tflop: float = 1.0,
        reply_bytes: int = 0,
        service: int = 0,
        cell: int | None = None,
        deadline_us: int | None = None,
        timeout_us: float | None = None,
        on_done: Callable[[RequestRecord], Any] | None = None,
    ) -> RequestRecord:
        """Start a request now; returns its record (filled in as the request proceeds).

        ``reply_bytes`` 0 lets the node choose; ``deadline_us`` defaults to the AISID's latency
        budget; ``on_done(record)`` runs when the outcome is known."""
        if proto not in ("udp", "tcp"):
            raise ValueError(f"proto must be 'udp' or 'tcp', got {proto!r}")
        if data_bytes < 0 or reply_bytes < 0:
            raise ValueError("data_bytes and reply_bytes must be >= 0")
        if rate_bps is not None and rate_bps <= 0:
            raise ValueError(f"rate_bps must be positive, got {rate_bps}")
        if not 0 <= compute_tflop * MFLOP_PER_TFLOP < 2**32:
            raise ValueError(f"compute_tflop {compute_tflop} out of range (0..4294 TFLOP)")
        rid = self._next_id if request_id is None else request_id
        if rid in self.records:
            raise ValueError(f"{self.name}: request id {rid} already used")
        if not 0 <= rid < 2**32:
            raise ValueError(f"request id {rid} is not a 32-bit value")
        self._next_id = max(self._next_id, rid + 1)
        target = str(aisid)
        if deadline_us is None:
            budget = aisid.latency_budget_us if isinstance(aisid, AISID) else None
            deadline_us = budget or 0
        rec = RequestRecord(
            request_id=rid,
            target=target,
            proto=proto,
            data_bytes=int(data_bytes),
            reply_bytes=int(reply_bytes),
            compute_tflop=float(compute_tflop),
            rate_bps=rate_bps,
            deadline_us=int(deadline_us),
            service=int(service),
            t_start_us=self.host.now_us(),
        )
        self.records[rid] = rec
        req = _Req(rec, NO_CELL if cell is None else int(cell), on_done=on_done)
        self._active[rid] = req
        req.timers.append(
            self.host.after(timeout_us or self.timeout_us, lambda: self._timeout(req))
        )
        if _is_address(target):
            self._open(req, target)
        elif self.stub is None:
            self._finish(req, "unknown", f"{target!r} is a name and the client has no DNS server")
        else:
            res = self.stub.resolve(target)
            rec.from_cache = res.done
            res.add_done_callback(lambda r: self._resolved(req, r))
        return rec

    def pending(self) -> int:
        return len(self._active)

    # -- resolution / open ----------------------------------------------------------------------
    def _resolved(self, req: _Req, res: Any) -> None:
        if req.rec.outcome != "pending":
            return
        req.rec.resolve_us = self.host.now_us() - req.rec.t_start_us
        if res.address is None:
            self._finish(req, "unknown", f"DNS: {res.error}")
        else:
            self._open(req, res.address)

    def _open(self, req: _Req, address: str) -> None:
        rec = req.rec
        rec.address = address
        proto = UDP if rec.proto == "udp" else TCP
        rec.sport = self.host.ephemeral_port(proto)
        self.host.bind(proto, rec.sport, lambda seg, r=req: self._segment(r, seg))
        req.flow = self.host.flow(proto, address, rec.sport, self.service_port)
        rec.t_request_us = self.host.now_us()
        req.rto_us = self.rto_us
        if proto == UDP:
            self._send_req(req)
            self._schedule_data(req, self.host.now_us())
        else:
            self._send_tcp(req, "S", CLIENT_ISN, 0)
        req.rto_timer = self.host.after(req.rto_us, lambda: self._rto(req))

    def _rto(self, req: _Req) -> None:
        rec = req.rec
        if rec.outcome != "pending" or rec.t_first_reply_us is not None:
            return
        if rec.retransmits >= self.max_retries:
            return  # the overall timeout decides
        rec.retransmits += 1
        if rec.proto == "udp":
            self._send_req(req)
        else:
            self._send_tcp(req, "S", CLIENT_ISN, 0)
        req.rto_us *= 2
        req.rto_timer = self.host.after(req.rto_us, lambda: self._rto(req))

    # -- send -----------------------------------------------------------------------------------
    def _req_header(self, req: _Req) -> bytes:
        rec = req.rec
        return app_bytes(
            AppType.REQ,
            request_id=rec.request_id,
            total=rec.data_bytes,
            reply_bytes=rec.reply_bytes,
            compute_mflop=round(rec.compute_tflop * MFLOP_PER_TFLOP),
            service=rec.service & 0xFFFF,
            cell=req.cell,
            deadline_us=min(rec.deadline_us, 2**32 - 1),
        )

    def _send_req(self, req: _Req) -> None:
        assert req.flow is not None
        req.flow.send_udp(self._req_header(req))

    def _send_tcp(self, req: _Req, flags: str, seq: int, ack: int, body: bytes = b"") -> None:
        assert req.flow is not None
        req.flow.send_tcp(flags, seq, ack, body)

    def _schedule_data(self, req: _Req, t0: float) -> None:
        rec = req.rec
        units = split_units(rec.data_bytes, self.mss, self.real_packets, self.bulk_bytes)
        for off, n in units:
            if rec.rate_bps:
                t = t0 + (off + n) * 8 / rec.rate_bps * 1e6
                req.timers.append(self.host.at(t, lambda o=off, k=n: self._send_unit(req, o, k)))
            else:
                self._send_unit(req, off, n)

    def _send_unit(self, req: _Req, off: int, n: int) -> None:
        rec = req.rec
        if rec.outcome != "pending":
            return
        bulk = n > self.mss
        app = app_bytes(
            AppType.BULK if bulk else AppType.DATA,
            flags=1 if off + n >= rec.data_bytes else 0,
            units=-(-n // self.mss) if bulk else 0,
            request_id=rec.request_id,
            offset=off,
            length=n,
            total=rec.data_bytes,
        )
        body = app if bulk else app + bytes(n)
        if rec.proto == "udp":
            assert req.flow is not None
            req.flow.send_udp(body)
        else:
            self._send_tcp(req, "PA", CLIENT_ISN + 1 + APP_HEADER_LEN + off, 5001, body)

    # -- receive --------------------------------------------------------------------------------
    def _segment(self, req: _Req, seg: Segment) -> None:
        rec = req.rec
        if rec.outcome != "pending":
            return
        now = self.host.now_us()
        if seg.proto == ICMP6:
            self._finish(req, "unknown", f"ICMPv6 destination unreachable (code {seg.icmp_code})")
            return
        if seg.proto == TCP:
            if seg.flags & _RST:
                if rec.t_first_reply_us is None:
                    rec.t_first_reply_us = now
                self._finish(req, "refused", "connection reset")
                return
            if seg.flags & _SYN and seg.flags & _ACK:
                if rec.t_first_reply_us is None:
                    rec.t_first_reply_us = now
                    self._cancel_rto(req)
                    self._send_tcp(req, "PA", CLIENT_ISN + 1, seg.seq + 1, self._req_header(req))
                    self._schedule_data(req, now)
                return
        app = parse_app(seg.payload)
        if app is None or app.request_id != rec.request_id:
            return
        if rec.t_first_reply_us is None:
            rec.t_first_reply_us = now
            self._cancel_rto(req)
        if app.type == AppType.REFUSE:
            rec.node_id = app.node_id
            self._finish(req, "refused", f"refused by node {app.node_id}")
            return
        if app.type == AppType.ACCEPT:
            rec.node_id = app.node_id
            return
        if app.type in (AppType.DATA, AppType.BULK):
            rec.node_id = app.node_id
            rec.reply_received += app.length
            if rec.reply_received >= app.total:
                rec.reply_bytes = app.total
                rec.t_last_reply_us = now
                if rec.proto == "tcp":
                    end = CLIENT_ISN + 1 + APP_HEADER_LEN + rec.data_bytes
                    self._send_tcp(req, "FA", end, seg.seq + app.length + 1)
                self._finish(req, "ok")

    def _cancel_rto(self, req: _Req) -> None:
        if req.rto_timer is not None:
            req.rto_timer.cancel()

    def _timeout(self, req: _Req) -> None:
        if req.rec.outcome == "pending":
            self._finish(req, "timeout", "no complete reply in time")

    def _finish(self, req: _Req, outcome: Outcome, error: str = "") -> None:
        rec = req.rec
        rec.outcome = outcome
        rec.error = error
        rec.t_end_us = self.host.now_us()
        for t in req.timers:
            t.cancel()
        self._cancel_rto(req)
        if rec.sport:
            self.host.unbind(UDP if rec.proto == "udp" else TCP, rec.sport)
        self._active.pop(rec.request_id, None)
        if req.on_done is not None:
            req.on_done(rec)


__all__ = ["AisidClient", "RequestRecord"]
