"""The small workload of a Mininet run: seeded requests for ``hostprog client --stdin`` (pure)."""

from __future__ import annotations

import random
from typing import Any

from controlplane.netdesc import NetworkDescription

DNS_ZONE = "cpn.example"
"""Zone of the DNS baseline's names: ``<service name>.cpn.example``."""


def make_requests(
    net: NetworkDescription,
    count: int,
    seed: int = 0,
    *,
    mode: str = "aisid",
    tcp_share: float = 0.2,
    max_bytes: int = 32_000,
) -> list[tuple[str, dict[str, Any]]]:
    """``count`` seeded requests as (client host, request spec for ``hostprog client --stdin``):
    services in turn, 1 KB..``max_bytes`` of data, 0.2..2 TFLOP, UDP (TCP with ``tcp_share``).
    ``mode`` aisid (to the AISID), dns (to ``<service>.cpn.example``) or mixed (alternating)."""
    if mode not in ("aisid", "dns", "mixed"):
        raise ValueError(f"mode must be aisid, dns or mixed, got {mode!r}")
    clients = [h.name for h in net.hosts if h.kind == "client"]
    if not clients or not net.services:
        raise ValueError(f"{net.name}: needs client hosts and services for a workload")
    rng = random.Random(seed)
    out = []
    for i in range(count):
        svc = net.services[i % len(net.services)]
        by_name = mode == "dns" or (mode == "mixed" and i % 2 == 1)
        spec = {
            "id": i + 1,
            "target": f"{svc.name}.{DNS_ZONE}" if by_name else svc.aisid,
            "bytes": rng.randint(1000, max_bytes),
            "proto": "tcp" if rng.random() < tcp_share else "udp",
            "compute_tflop": round(rng.uniform(0.2, 2.0), 3),
        }
        out.append((clients[i % len(clients)], spec))
    return out


__all__ = ["DNS_ZONE", "make_requests"]
