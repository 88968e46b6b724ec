"""Policy swaps and their recovery, for :class:`~controlplane.controller.Controller`.

:meth:`SwapMixin.swap` changes policy without losing a packet
(:func:`controlplane.swap.hitless_swap` between two policy versions, journalled in
:class:`~controlplane.store.ControllerStore`); :meth:`SwapMixin.recover` finishes or undoes a
swap a previous controller was killed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controlplane.entries import RegisterValue
from controlplane.swap import VERSION_REGISTER, SwapError, SwapReport, hitless_swap, next_version

if TYPE_CHECKING:  # pragma: no cover
    from controlplane.controller import Controller


class SwapMixin:
    """Policy swap and recovery methods of :class:`~controlplane.controller.Controller`."""

    # -- policy swap -----------------------------------------------------------------------
    def drain_seconds(self: Controller) -> float:
        """Upper bound on a packet's time in the network: the slowest path's delay plus a full
        queue at every hop, times two (request and the reply's return are not versioned, but
        the margin is cheap), at least 10 ms."""
        worst = 0.0
        for link in self.net.links:
            q = link.queue_packets * 1500 * 8 / link.rate_bps
            worst = max(worst, link.delay_us * 1e-6 + q)
        hops = max(1, len(self.net.switches) - 1)
        return max(0.01, 2 * worst * min(hops, 16))

    def swap(self: Controller, policy: str, *, drain_s: float | None = None) -> SwapReport:
        """Swap to ``policy`` (a name or checkpoint path) hitlessly; raises SwapError with the
        old version still serving if anything fails before the flip."""
        with self.lock:
            if self._swapping:
                raise SwapError("a swap is already in progress")
            not_ready = [n for n, c in self.connections.items() if c.state != "ready"]
            if not_ready:
                raise SwapError(f"switches not ready: {', '.join(not_ready)}")
            self._swapping = True
            try:
                adapter = self._load_policy(policy)
                old_v, new_v = self.version, next_version(self.version)
                decisions = self.decide(adapter)
                new_entries = self.versioned_entries(new_v, decisions)
                old_entries = {n: list(v) for n, v in self._versioned.items()}
                swap_id = self.store.swap_begin(old_v, new_v, self.policy_name, policy)
                clients = {n: c.client for n, c in self.connections.items()}
                try:
                    rep = hitless_swap(
                        clients,
                        self.ingress_gateways,
                        old_entries,
                        new_entries,
                        old_v,
                        new_v,
                        drain_s=self.drain_seconds() if drain_s is None else drain_s,
                        sleep=self.clock.sleep,
                        threads=self.swap_threads,
                        on_stage=lambda s: self._swap_stage(
                            swap_id, s, new_v, policy, adapter, decisions, new_entries
                        ),
                    )
                except SwapError as e:
                    self.store.swap_stage(swap_id, "rolled_back", str(e))
                    self._event("swap to %s failed, version %d still serving: %s", policy, old_v, e)
                    raise
                for name in rep.cleanup_failed:
                    self.held.pop(name, None)  # the next step reads it back and removes v
                    self._event("%s kept entries of version %d: re-synced next step", name, old_v)
                self.swap_history.append(
                    {
                        "time": self.clock.now(),
                        "from": rep.old_version,
                        "to": rep.new_version,
                        "policy": policy,
                        "seconds": rep.seconds,
                        "entries": rep.entries_written,
                    }
                )
                self._event(
                    "swapped to %s: version %d -> %d, %d entries in %.3f s",
                    policy,
                    old_v,
                    new_v,
                    rep.entries_written,
                    rep.seconds,
                )
                return rep
            finally:
                self._swapping = False

    def _swap_stage(
        self: Controller, swap_id, stage, new_v, policy, adapter, decisions, new_entries
    ) -> None:
        if stage == "flipped":
            # From here the new version serves: the controller's intent follows it.
            self.version, self.policy_name, self.adapter = new_v, policy, adapter
            self._versioned = new_entries
            self._in_force(decisions)
            for name in self.connections:
                self.held[name] = self.intent_for(name)
            self.store.set(policy=policy, version=new_v)
        self.store.swap_stage(swap_id, stage)

    # -- recovery --------------------------------------------------------------------------
    def recover(self: Controller) -> str:
        """Finish or undo a swap a previous controller was killed in; returns what it did.

        The journal names the versions; the ingress gateways' registers say whether the flip
        happened. If any gateway runs the new version, the swap is finished (all gateways moved
        to it, then a drain time for the requests stamped with the old version, whose entries
        the reconcile then removes); otherwise it is undone (the new version's partial entries
        are removed: no request carries it). Either way the reconcile that follows
        (:meth:`step`) deletes every entry of a version the intent no longer has."""
        for svc in self.registry.services():
            if svc.state == "migrating":  # killed while the old site drained: it has by now
                self.registry.finish_migration(svc.name)
                self._event("recovery: finished migrating %s to %s", svc.name, svc.site)
        rec = self.store.pending_swap()
        if rec is None:
            return "nothing to recover"
        seen = set()
        for gw in self.ingress_gateways:
            conn = self.connections[gw]
            if conn.state == "ready":
                seen.add(conn.client.read_register(VERSION_REGISTER, 0).get(0))
        if rec.new_version in seen:
            self.version, self.policy_name = rec.new_version, rec.new_policy
            # Every gateway to the new version (complete everywhere: the flip follows the
            # prepare), then let the requests stamped with the old one arrive before the
            # reconcile deletes it.
            for gw in self.ingress_gateways:
                conn = self.connections[gw]
                if conn.state == "ready":
                    conn.client.write(
                        [("modify", RegisterValue(VERSION_REGISTER, 0, self.version))]
                    )
            self.clock.sleep(self.drain_seconds())
            what = f"finished swap {rec.old_version} -> {rec.new_version} ({rec.new_policy})"
        else:
            self.version, self.policy_name = rec.old_version, rec.old_policy
            what = f"undid swap {rec.old_version} -> {rec.new_version}; {rec.old_policy} serves"
        self.adapter = self._load_policy(self.policy_name)
        self.held.clear()  # the next step reconciles every switch against the intent
        self.store.set(policy=self.policy_name, version=self.version)
        self.store.swap_stage(rec.id, "recovered", what)
        self._event("recovery: %s", what)
        return what
