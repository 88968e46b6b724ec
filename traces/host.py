"""An IPv6 host on a :class:`~traces.transport.Transport`: address, MACs, port demultiplexing.

Programs (client, service node, DNS servers) sit on a :class:`Host` and bind UDP/TCP ports; the
host decodes each received frame once (``struct``, no Scapy on the fast path) into a
:class:`Segment` and hands it to the program bound to its destination port. ICMPv6 errors are
handed to the program bound to the *source* port of the packet they quote (the one it sent).
Frames for another address are ignored. Outgoing frames are addressed to the gateway's MAC; a
program sends a connection's frames through a :class:`Flow`: Scapy (:mod:`traces.packets`) builds
its first frame, later ones patch that frame's bytes (:class:`~traces.fastframe.FlowTemplate`),
the same bytes at a fraction of the cost.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scapy.packet import Packet

from traces.constants import PROBE_UDP_PORT
from traces.fastframe import FlowTemplate
from traces.packets import aisid_tcp_request, aisid_udp_request
from traces.transport import Timer, Transport, start_timer

UDP, TCP, ICMP6 = 17, 6, 58
EPHEMERAL = (40000, 65536)
"""Ports requests and DNS queries are sent from (50000, the probe port, is skipped)."""
ICMP6_DEST_UNREACH = 1


@dataclass(slots=True)
class Segment:
    """One received UDP/TCP segment (or ICMPv6 error, ``proto`` 58, quoting ours)."""

    src: str
    dst: str
    proto: int
    sport: int
    dport: int
    payload: bytes
    flags: int = 0  # TCP flags
    seq: int = 0
    ack: int = 0
    frame: bytes = b""
    icmp_type: int = 0
    icmp_code: int = 0


_TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def tcp_flags(text: str) -> int:
    """Scapy's flag letters (``"SA"``) as the TCP flag bits."""
    return sum(_TCP_FLAGS[c] for c in text)


_FLAG_BITS: dict[str, int] = {}


@lru_cache(maxsize=4096)
def _ip6(b: bytes) -> str:
    """The text form of a packed IPv6 address (cached: a host meets few addresses)."""
    return str(ipaddress.IPv6Address(b))


def _l4(buf: bytes, off: int, nh: int) -> tuple[int, int] | None:
    """Skip extension headers: (next header, offset of the L4 header)."""
    while nh in (0, 43, 60):
        if len(buf) < off + 2:
            return None
        nh, off = buf[off], off + (buf[off + 1] + 1) * 8
    return nh, off


def parse_frame(frame: bytes) -> Segment | None:
    """Decode ``Ether/IPv6[/ext]/UDP|TCP|ICMPv6``; ``None`` for anything else or truncated."""
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd":
        return None
    src, dst = _ip6(frame[22:38]), _ip6(frame[38:54])
    found = _l4(frame, 54, frame[20])
    if found is None:
        return None
    nh, off = found
    if nh == UDP and len(frame) >= off + 8:
        sport, dport = struct.unpack_from("!HH", frame, off)
        return Segment(src, dst, UDP, sport, dport, frame[off + 8 :], frame=frame)
    if nh == TCP and len(frame) >= off + 20:
        sport, dport, seq, ack, doff, flags = struct.unpack_from("!HHIIBB", frame, off)
        body = off + (doff >> 4) * 4
        return Segment(src, dst, TCP, sport, dport, frame[body:], flags, seq, ack, frame)
    if nh == ICMP6 and len(frame) >= off + 8 + 40 + 4 and frame[off] < 128:
        inner = off + 8  # the quoted packet: IPv6 header, then its L4 header
        q = _l4(frame, inner + 40, frame[inner + 6])
        if q is None or len(frame) < q[1] + 4:
            return None
        qsport, qdport = struct.unpack_from("!HH", frame, q[1])
        return Segment(
            _ip6(frame[inner + 24 : inner + 40]),  # the quoted destination
            _ip6(frame[inner + 8 : inner + 24]),
            ICMP6,
            qdport,
            qsport,
            frame[inner:],
            frame=frame,
            icmp_type=frame[off],
            icmp_code=frame[off + 1],
        )
    return None


Handler = Callable[[Segment], Any]


class Host:
    """An IPv6 address with its MAC behind a gateway, on a transport."""

    def __init__(
        self, transport: Transport, mac: str, address: str, gateway_mac: str, name: str = ""
    ) -> None:
        try:
            self.address = str(ipaddress.IPv6Address(address))
        except ValueError as exc:
            raise ValueError(f"host {name or mac}: bad IPv6 address {address!r}: {exc}") from None
        self.transport = transport
        self.mac = mac
        self.gateway_mac = gateway_mac
        self.name = name or self.address
        self._ports: dict[tuple[int, int], Handler] = {}
        self._next_port = EPHEMERAL[0]
        self.unhandled = 0
        self.sent_frames = 0
        self.received_frames = 0
        transport.on_receive(self.receive)

    # -- ports ----------------------------------------------------------------------------------
    def bind(self, proto: int, port: int, handler: Handler) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"{self.name}: port {port} out of range")
        if (proto, port) in self._ports:
            raise ValueError(f"{self.name}: {'udp' if proto == UDP else 'tcp'} port {port} in use")
        self._ports[(proto, port)] = handler

    def ephemeral_port(self, proto: int) -> int:
        """A free port of ``EPHEMERAL`` (never the probe port 50000), round robin."""
        lo, hi = EPHEMERAL
        for _ in range(hi - lo):
            port = self._next_port
            self._next_port = lo if port + 1 >= hi else port + 1
            if port != PROBE_UDP_PORT and (proto, port) not in self._ports:
                return port
        raise RuntimeError(f"{self.name}: no free {'udp' if proto == UDP else 'tcp'} port")

    def unbind(self, proto: int, port: int) -> None:
        self._ports.pop((proto, port), None)

    def bound(self, proto: int, port: int) -> bool:
        return (proto, port) in self._ports

    # -- frames ---------------------------------------------------------------------------------
    def receive(self, frame: bytes) -> None:
        self.received_frames += 1
        seg = parse_frame(frame)
        if seg is None:
            self.unhandled += 1
            return
        if seg.proto == ICMP6:
            if seg.icmp_type != ICMP6_DEST_UNREACH and seg.icmp_type >= 5:
                self.unhandled += 1
                return
            key = (UDP if seg.payload[6] == UDP else TCP, seg.dport)
        else:
            if seg.dst != self.address:
                self.unhandled += 1
                return
            key = (seg.proto, seg.dport)
        handler = self._ports.get(key)
        if handler is None:
            self.unhandled += 1
            return
        handler(seg)

    def send(self, pkt: Packet | bytes) -> None:
        self.sent_frames += 1
        self.transport.send(pkt if isinstance(pkt, bytes) else bytes(pkt))

    def send_tcp(
        self, dst: str, sport: int, dport: int, flags: str, seq: int, ack: int, body: Any = None
    ) -> None:
        """Send a TCP segment (``flags`` as letters, e.g. ``"PA"``) to ``dst``, ``body`` after
        the TCP header if given."""
        pkt = aisid_tcp_request(
            dst,
            src=self.address,
            sport=sport,
            dport=dport,
            flags=flags,
            seq=seq,
            ack=ack,
            src_mac=self.mac,
            dst_mac=self.gateway_mac,
        )
        self.send(pkt / body if body is not None else pkt)

    def flow(self, proto: int, dst: str, sport: int, dport: int) -> Flow:
        """A :class:`Flow` to send one connection's frames (its first one built by Scapy)."""
        return Flow(self, proto, dst, sport, dport)

    # -- time -----------------------------------------------------------------------------------
    def now_us(self) -> float:
        return self.transport.now_us()

    def at(self, t_us: float, fn: Callable[[], Any]) -> Timer:
        return start_timer(self.transport, t_us, fn)

    def after(self, dt_us: float, fn: Callable[[], Any]) -> Timer:
        return start_timer(self.transport, self.transport.now_us() + dt_us, fn)


class Flow:
    """One host's frames to ``dst`` on one UDP or TCP flow (``sport`` -> ``dport``).

    The first frame is built by Scapy (:mod:`traces.packets`: the format's reference); the flow
    keeps its headers as a :class:`~traces.fastframe.FlowTemplate` and writes every later frame
    by patching them (lengths, sequence numbers, flags, payload, checksum). With ``Flow.check``
    true every templated frame is built by Scapy as well and compared (a debugging aid)."""

    __slots__ = ("host", "proto", "dst", "sport", "dport", "template")
    check = False

    def __init__(self, host: Host, proto: int, dst: str, sport: int, dport: int) -> None:
        if proto not in (UDP, TCP):
            raise ValueError(f"a flow is UDP ({UDP}) or TCP ({TCP}), not {proto}")
        self.host, self.proto, self.dst, self.sport, self.dport = host, proto, dst, sport, dport
        self.template: FlowTemplate | None = None

    def _scapy_udp(self, payload: bytes) -> bytes:
        h = self.host
        return bytes(
            aisid_udp_request(
                self.dst, src=h.address, sport=self.sport, dport=self.dport, payload=payload,
                src_mac=h.mac, dst_mac=h.gateway_mac,
            )
        )  # fmt: skip

    def _scapy_tcp(self, flags: str, seq: int, ack: int, payload: bytes) -> bytes:
        h = self.host
        return bytes(
            aisid_tcp_request(
                self.dst, src=h.address, sport=self.sport, dport=self.dport, flags=flags,
                seq=seq, ack=ack, payload=payload, src_mac=h.mac, dst_mac=h.gateway_mac,
            )
        )  # fmt: skip

    def send_udp(self, payload: bytes) -> None:
        """Send ``Ether/IPv6/UDP/payload``."""
        if self.proto != UDP:
            raise ValueError("send_udp on a TCP flow")
        tpl = self.template
        if tpl is None:
            frame = self._scapy_udp(payload)
            self.template = FlowTemplate.from_frame(frame)
        else:
            frame = tpl.udp(payload)
            if Flow.check:
                _same(frame, self._scapy_udp(payload))
        self.host.send(frame)

    def send_tcp(self, flags: str, seq: int, ack: int, payload: bytes = b"") -> None:
        """Send a TCP segment (``flags`` as letters, e.g. ``"PA"``) carrying ``payload``."""
        if self.proto != TCP:
            raise ValueError("send_tcp on a UDP flow")
        tpl = self.template
        if tpl is None:
            frame = self._scapy_tcp(flags, seq, ack, payload)
            self.template = FlowTemplate.from_frame(frame)
        else:
            bits = _FLAG_BITS.get(flags)
            if bits is None:
                bits = _FLAG_BITS[flags] = tcp_flags(flags)
            frame = tpl.tcp(bits, seq, ack, payload)
            if Flow.check:
                _same(frame, self._scapy_tcp(flags, seq, ack, payload))
        self.host.send(frame)


def _same(fast: bytes, scapy: bytes) -> None:
    if fast != scapy:
        raise AssertionError(f"templated frame differs from Scapy's: {fast.hex()} != {scapy.hex()}")


__all__ = ["ICMP6", "TCP", "UDP", "Flow", "Host", "Segment", "parse_frame", "tcp_flags"]
