"""Services without a live site: when each had none, why, and what the gateways punted meanwhile.

A scheduler leaves a (ingress gateway, service) pair out of ``flowlet.service_site`` when no
site can serve it (:attr:`controlplane.schedulers.Decisions.unserved`: every node of its sites
dead, or its live sites unreachable). The gateway then punts the service's requests to the
controller (``packet_in.reason = NO_SERVICE_SITE``) instead of sending them to a site where
they would be dropped or lost. :class:`ServiceOutages` turns the decisions in force into
intervals (:class:`Outage`: service, gateways, reason, from ``t0`` to ``t1``, ``None`` while it
lasts) and counts the punted packets per reason and per service, so a run's report can say
"service X had no live site from t0 to t1; N packets punted".
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from traces.constants import PuntReason

ETH_IPV6 = 0x86DD


@dataclass
class Outage:
    """One stretch of time a service had no site at one or more ingress gateways."""

    service_id: int
    service: str
    t0: float
    reason: str
    gateways: list[str] = field(default_factory=list)
    t1: float | None = None  # None: still without a site
    punted: int = 0  # packets of the service the gateways punted (NO_SERVICE_SITE) meanwhile

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ServiceOutages:
    """Outage intervals from the decisions in force, and punt counts from packet-ins."""

    def __init__(self) -> None:
        self.open: dict[int, Outage] = {}
        self.history: list[Outage] = []  # closed and open, in the order they began
        self.punts: Counter[str] = Counter()  # PuntReason name (lower case) -> packets
        self.punts_by_service: Counter[int] = Counter()  # NO_SERVICE_SITE packets per service
        self._sid_of: dict[str, int] = {}
        self._lock = threading.Lock()

    def update(
        self,
        now: float,
        unserved: Mapping[tuple[str, int], str],
        names: Mapping[int, str],
        aisids: Mapping[str, int] | None = None,
    ) -> list[str]:
        """Decisions ``unserved`` are in force from ``now`` (``names``: service id -> name;
        ``aisids``: AISID address -> service id, to tell punted packets apart). Returns one
        line per outage that began or ended."""
        by_sid: dict[int, tuple[list[str], str]] = {}
        for (igw, sid), why in sorted(unserved.items()):
            gws, _ = by_sid.setdefault(sid, ([], why))
            gws.append(igw)
        events = []
        with self._lock:
            if aisids is not None:
                self._sid_of = {_norm(a): s for a, s in aisids.items()}
            for sid in sorted(set(self.open) - set(by_sid)):
                o = self.open.pop(sid)
                o.t1 = now
                events.append(
                    f"service {o.service} ({sid}) served again: it had no site for "
                    f"{now - o.t0:.3f} s, {o.punted} packets punted"
                )
            for sid, (gws, why) in by_sid.items():
                o = self.open.get(sid)
                if o is None:
                    o = self.open[sid] = Outage(sid, names.get(sid, str(sid)), now, why, gws)
                    self.history.append(o)
                    events.append(
                        f"service {o.service} ({sid}): {why} at {', '.join(gws)}; its requests "
                        "are punted (no_service_site)"
                    )
                else:
                    o.gateways = sorted(set(o.gateways) | set(gws))
        return events

    def on_packet_in(self, payload: bytes, metadata: Mapping[str, int]) -> None:
        """Count one packet-in (a P4Runtime client's ``on_packet_in`` callback)."""
        reason = int(metadata.get("reason", 0))
        try:
            name = PuntReason(reason).name.lower()
        except ValueError:
            name = str(reason)
        with self._lock:
            self.punts[name] += 1
            if reason != PuntReason.NO_SERVICE_SITE:
                return
            sid = self._sid_of.get(_dst(payload))
            if sid is None:
                return
            self.punts_by_service[sid] += 1
            # a packet-in may arrive after the outage it belongs to ended (the stream lags the
            # switch): it is the service's latest one either way
            o = self.open.get(sid) or next(
                (x for x in reversed(self.history) if x.service_id == sid), None
            )
            if o is not None:
                o.punted += 1

    def report(self) -> list[dict[str, Any]]:
        """Every outage so far (open ones with ``t1`` None), as plain dicts."""
        with self._lock:
            return [o.to_dict() for o in self.history]


def _dst(frame: bytes) -> str:
    """The IPv6 destination of an Ethernet frame ("" when it is not IPv6)."""
    if len(frame) < 54 or int.from_bytes(frame[12:14], "big") != ETH_IPV6:
        return ""
    return str(ipaddress.IPv6Address(frame[38:54]))


def _norm(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return text


__all__ = ["Outage", "ServiceOutages"]
