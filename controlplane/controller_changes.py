"""Run-time changes for :class:`~controlplane.controller.Controller`: links going down and up,
services registered, decommissioned and migrated. Each recomposes the intent and writes the
difference at once (:meth:`~controlplane.controller.Controller.refresh`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from controlplane.controller import Controller

log = logging.getLogger("controlplane")


class ChangesMixin:
    """Link fault and AISID lifecycle methods of :class:`~controlplane.controller.Controller`."""

    # -- routing faults --------------------------------------------------------------------
    def link_down(self: Controller, a: str, b: str) -> int:
        """Recompute routes and paths without the link a-b; returns entries written."""
        from controlplane.routing import RoutingPlan

        with self.lock:
            self.down_links.add(frozenset((a, b)))
            self.plan = RoutingPlan(self.net, down_links=frozenset(self.down_links))
            self._event("link %s-%s down: routes and paths recomputed", a, b)
            return self.refresh()

    def link_up(self: Controller, a: str, b: str) -> int:
        from controlplane.routing import RoutingPlan

        with self.lock:
            self.down_links.discard(frozenset((a, b)))
            self.plan = RoutingPlan(self.net, down_links=frozenset(self.down_links))
            self._event("link %s-%s up", a, b)
            return self.refresh()

    # -- AISID lifecycle beyond the registry ---------------------------------------------------
    def register(
        self: Controller,
        name: str,
        aisid: str,
        site: str,
        nodes: list[int] | tuple[int, ...] = (),
        *,
        traffic_class: int | None = None,
        deadline_us: int | None = None,
        replicas: list[str] | tuple[str, ...] = (),
    ) -> tuple[Any, int]:
        """Register a service and install it now (a site decision and its classification on
        the gateways); returns (record, entries written). A refused AISID, name, site or node
        raises RegistryError before anything changes; a write the switches refuse takes the
        service out again and re-raises."""
        with self.lock:
            rec = self.registry.register(
                name,
                aisid,
                site,
                tuple(nodes),
                traffic_class=traffic_class,
                deadline_us=deadline_us,
                replicas=tuple(replicas),
            )
            try:
                n = self.refresh()
            except Exception as e:
                self.registry.decommission(rec.name)
                self._try_refresh()
                self._event("register %s refused by the switches, taken out again: %s", name, e)
                raise
            self._event(
                "registered %s (%s) at %s nodes %s, service id %d (%d writes)",
                rec.name, rec.aisid, rec.site, list(rec.nodes) or "all", rec.service_id, n,
            )  # fmt: skip
            return rec, n

    def decommission(self: Controller, service: str) -> tuple[Any, int]:
        """Take a service out: its classification leaves the gateways (later requests are
        punted as unknown), its id is free again; returns (record, entries written)."""
        with self.lock:
            rec = self.registry.decommission(service)
            n = self.refresh()
            self._event("decommissioned %s (%s), service id %d free (%d writes)",
                        rec.name, rec.aisid, rec.service_id, n)  # fmt: skip
            return rec, n

    def _try_refresh(self: Controller) -> None:
        try:
            self.refresh()
        except Exception as e:  # noqa: BLE001 - the next interval retries
            log.error("refresh after a failed change: %s", e)

    def migrate(
        self: Controller,
        service: str,
        site: str,
        nodes: list[int] | tuple[int, ...] = (),
        replicas: list[str] | None = None,
    ) -> Any:
        """Move a service to other nodes or another site, losing nothing.

        New flows go to the new place at once. Flows in progress finish where they started:
        the egress gateway keeps each flow on its node (``egw.flow_node``, the old nodes stay in
        its address table) and the ingress gateways keep each active flow on its site
        (``flowlet.site``), so while the service is ``migrating`` the site it leaves keeps its
        node weights (:meth:`_draining_sites`). After the pin time (:meth:`pin_seconds`) plus
        the drain time no packet can need them: the migration finishes and they go. A flow
        that never pauses for the pin time outlives the migration and loses its packets then.
        """
        with self.lock:
            rec = self.registry.migrate(service, site, nodes=tuple(nodes), replicas=replicas)
            try:
                n = self.refresh()
            except Exception:
                self.registry.finish_migration(service)
                raise
        self._event("migrating %s to %s nodes %s (%d writes)", service, site, list(nodes), n)
        self.clock.sleep(self.pin_seconds() + self.drain_seconds())
        with self.lock:
            rec = self.registry.finish_migration(service)
            n = self.refresh()
        self._event("migrated %s: %s drained (%d writes)", service, rec.site, n)
        return rec
