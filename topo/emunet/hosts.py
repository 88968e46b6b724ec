"""Hosts of the in-process network: endpoints on the host side of access links.

An :class:`Endpoint` (a client, a DNS server or a service node) sends Ethernet frames (bytes
or Scapy packets) and receives the frames addressed to its MAC (or to a group address),
time-stamped in seconds of the network's virtual clock. A :class:`HostPort` is the host side of
an access link: it serialises the endpoints' frames at the link rate (an unbounded FIFO, like a
socket buffer: hosts never lose their own frames) and hands what the switch sends to the
endpoint it is addressed to; several endpoints may share one switch port (an L2 segment).
:class:`UdpResponder` is a minimal service: it answers each UDP request to its endpoint's
address with one UDP reply after a compute delay.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from p4target.switch import VirtualClock
from traces.appproto import accounted_size

from .links import Link

Receiver = Callable[[bytes, float], None]  # (frame, time in seconds)


def mac_bytes(mac: str) -> bytes:
    b = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(b) != 6:
        raise ValueError(f"bad MAC address {mac!r}")
    return b


class Endpoint:
    """A host: ``name``, ``mac``, IPv6 ``address``; ``kind`` is client, dns or service.

    ``received`` keeps ``(t_s, frame)`` pairs while ``record`` is true; ``on_receive(cb)``
    calls ``cb(frame, t_s)`` for each frame. A killed endpoint (``alive = False``) neither
    receives (frames are counted in ``dead_drops``) nor sends.
    """

    def __init__(self, name: str, mac: str, address: str, kind: str = "client") -> None:
        self.name = name
        self.mac = mac
        self.mac_raw = mac_bytes(mac)
        self.address = str(ipaddress.IPv6Address(address))
        self.kind = kind
        self.switch = ""  # where it is attached (set by HostPort)
        self.port = 0
        self.gateway_mac = ""  # the switch port's MAC: the destination of its frames
        self.host_port: HostPort | None = None
        self.received: list[tuple[float, bytes]] = []
        self.record = True
        self.alive = True
        self.callbacks: list[Receiver] = []
        self.sent = 0
        self.rx = 0
        self.dead_drops = 0

    @property
    def clock(self) -> VirtualClock:
        if self.host_port is None:
            raise RuntimeError(f"endpoint {self.name} is not attached to a network")
        return self.host_port.link.clock

    def now(self) -> float:
        """Virtual time in seconds."""
        return self.clock.now() / 1e6

    def call_later(self, dt_s: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` ``dt_s`` seconds of virtual time from now."""
        self.clock.call_later(dt_s * 1e6, fn, *args)

    def on_receive(self, cb: Receiver) -> None:
        self.callbacks.append(cb)

    def send(self, frame: bytes | Packet) -> None:
        """Queue ``frame`` on the access link now (it leaves once serialised)."""
        if self.host_port is None:
            raise RuntimeError(f"endpoint {self.name} is not attached to a network")
        if not self.alive:
            return
        self.sent += 1
        self.host_port.send(bytes(frame))

    def take(self) -> list[tuple[float, bytes]]:
        """Return and forget the frames received so far."""
        out, self.received = self.received, []
        return out

    def _arrive(self, data: bytes) -> None:
        if not self.alive:
            self.dead_drops += 1
            return
        self.rx += 1
        t = self.clock.now() / 1e6
        if self.record:
            self.received.append((t, data))
        for cb in self.callbacks:
            cb(data, t)


class HostPort:
    """The host side of an access link to ``switch`` port ``port``: one or more endpoints."""

    def __init__(self, switch: str, port: int, gateway_mac: str) -> None:
        self.switch = switch
        self.port = port
        self.name = f"hosts@{switch}:{port}"
        self.gateway_mac = gateway_mac
        self.endpoints: list[Endpoint] = []
        self._by_mac: dict[bytes, Endpoint] = {}
        self.link: Link = None  # type: ignore[assignment]  # set by the network
        self.side = 1
        self.busy_until = 0.0
        self.unclaimed = 0  # frames from the switch addressed to no endpoint here

    def attach(self, ep: Endpoint) -> None:
        if ep.mac_raw in self._by_mac:
            raise ValueError(f"{ep.name} and {self._by_mac[ep.mac_raw].name} share MAC {ep.mac}")
        self.endpoints.append(ep)
        self._by_mac[ep.mac_raw] = ep
        ep.switch, ep.port, ep.gateway_mac, ep.host_port = (
            self.switch,
            self.port,
            self.gateway_mac,
            self,
        )

    def send(self, data: bytes) -> None:
        link = self.link
        clock = link.clock
        now = clock.now()
        start = max(now, self.busy_until)
        size = accounted_size(data)  # a BULK unit takes the time of the packets it stands for
        done = start + (size * 8e6 / link.rate_bps if link.rate_bps else 0.0)
        self.busy_until = done
        if done > now:
            clock.call_at(done, link.carry, self.side, data)
        else:
            link.carry(self.side, data)

    def deliver(self, data: bytes) -> None:
        dst = data[:6]
        if len(dst) == 6 and dst[0] & 1:  # broadcast / multicast: everyone
            for ep in self.endpoints:
                ep._arrive(data)
            return
        ep = self._by_mac.get(dst)
        if ep is None:
            self.unclaimed += 1
            return
        ep._arrive(data)


class UdpResponder:
    """Answer every UDP datagram to ``endpoint.address`` with one datagram back.

    The reply leaves ``compute_delay_s`` after the request arrived, from the request's
    destination port to its source port, with payload ``reply(request_payload)`` (default:
    the request's payload). ``requests`` keeps ``(t_s, src, sport, payload)`` of each request.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        compute_delay_s: float = 0.0,
        reply: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.compute_delay_s = float(compute_delay_s)
        self.reply = reply or (lambda payload: payload)
        self.requests: list[tuple[float, str, int, bytes]] = []
        endpoint.on_receive(self._on_frame)

    def _on_frame(self, frame: bytes, t: float) -> None:
        pkt = Ether(frame)
        ip = pkt.getlayer(IPv6)
        udp = pkt.getlayer(UDP)
        if ip is None or udp is None:
            return
        if ipaddress.IPv6Address(ip.dst) != ipaddress.IPv6Address(self.endpoint.address):
            return
        payload = bytes(udp.payload)
        self.requests.append((t, ip.src, udp.sport, payload))
        ep = self.endpoint
        out = (
            Ether(src=ep.mac, dst=pkt.src)
            / IPv6(src=ep.address, dst=ip.src)
            / UDP(sport=udp.dport, dport=udp.sport)
            / Raw(self.reply(payload))
        )
        ep.call_later(self.compute_delay_s, ep.send, bytes(out))
