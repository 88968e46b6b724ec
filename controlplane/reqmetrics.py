"""Request outcomes for the web view's latency and deadline charts (:mod:`controlplane.web`).

A driver (the main job, a demo) hands the controller its finished requests with
:func:`record_requests`; they are kept per service in time buckets on ``ctl.request_metrics``
and served by ``GET /metrics/requests``. Optional: without records the charts say so.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any


class RequestMetrics:
    """Request outcomes per service, in time buckets of ``bucket_s`` (the records' clock).

    Per bucket: count, completed (``ok``), p50/p95 of the completion latency of completed
    requests (nearest rank), deadline hits and misses (requests with a deadline)."""

    def __init__(self, bucket_s: float = 1.0, keep: int = 300) -> None:
        if not bucket_s > 0:
            raise ValueError(f"bucket_s must be positive, got {bucket_s}")
        self.bucket_s = bucket_s
        self.keep = keep
        self.revision = 0
        self._lock = threading.Lock()
        self._b: dict[str, dict[int, dict[str, Any]]] = {}

    def add(
        self,
        service: str,
        t_s: float,
        latency_us: float | None,
        ok: bool = True,
        deadline_met: bool | None = None,
    ) -> None:
        if not math.isfinite(t_s):
            raise ValueError(f"request time must be finite, got {t_s}")
        k = math.floor(t_s / self.bucket_s)
        with self._lock:
            per = self._b.setdefault(str(service), {})
            b = per.setdefault(k, {"lat": [], "n": 0, "ok": 0, "hit": 0, "miss": 0})
            b["n"] += 1
            if ok and latency_us is not None:
                b["ok"] += 1
                b["lat"].append(float(latency_us))
            if deadline_met is True:
                b["hit"] += 1
            elif deadline_met is False:
                b["miss"] += 1
            for old in sorted(per)[: max(0, len(per) - self.keep)]:
                del per[old]
            self.revision += 1

    def summary(self) -> dict[str, Any]:
        def pct(xs: list[float], q: float) -> float | None:
            if not xs:
                return None
            s = sorted(xs)
            return s[max(0, math.ceil(q * len(s)) - 1)] / 1000.0

        with self._lock:
            out = {
                svc: [
                    {
                        "t": k * self.bucket_s,
                        "n": b["n"],
                        "ok": b["ok"],
                        "p50_ms": pct(b["lat"], 0.50),
                        "p95_ms": pct(b["lat"], 0.95),
                        "deadline_hits": b["hit"],
                        "deadline_misses": b["miss"],
                    }
                    for k, b in sorted(per.items())
                ]
                for svc, per in sorted(self._b.items())
            }
            return {"bucket_s": self.bucket_s, "revision": self.revision, "services": out}


def request_metrics(ctl: Any) -> RequestMetrics:
    """The controller's :class:`RequestMetrics` (``ctl.request_metrics``, made on first use)."""
    m = getattr(ctl, "request_metrics", None)
    if m is None:
        m = ctl.request_metrics = RequestMetrics()
    return m


def record_requests(ctl: Any, records: Iterable[Any]) -> int:
    """Add request outcomes to the page's latency and deadline charts; returns how many.

    A record is a :class:`traces.client.RequestRecord` (service named by the registry from its
    ``target`` AISID, time ``t_start_us``, latency ``completion_latency_us``, ``ok`` outcome,
    ``deadline_met``) or a mapping ``{service, t (s), latency_us, ok?, deadline_met?}``.
    Pending records are skipped. Bad records raise ValueError before any is added."""
    rows: list[tuple[str, float, float | None, bool, bool | None]] = []
    names: dict[str, str] = {}
    for r in records:
        if isinstance(r, Mapping):
            try:
                svc, t = str(r["service"]), float(r["t"])
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"request record needs service and t (s): {r!r}") from e
            lat = r.get("latency_us")
            dm = r.get("deadline_met")
            rows.append((svc, t, None if lat is None else float(lat), bool(r.get("ok", True)), dm))
            continue
        if getattr(r, "outcome", "ok") == "pending":
            continue
        target = str(getattr(r, "target", ""))
        if target not in names:
            rec = ctl.registry.query(target) if target else None
            names[target] = rec.name if rec is not None else f"service {r.service}"
        rows.append(
            (
                names[target],
                float(r.t_start_us) / 1e6,
                r.completion_latency_us,
                r.outcome == "ok",
                r.deadline_met,
            )
        )
    m = request_metrics(ctl)
    for row in rows:
        m.add(*row)
    return len(rows)
