"""The control API of :class:`.switch.Switch`: what simple_switch_CLI / bm_runtime offer,
addressed by the names in the BMv2 JSON.  Every method validates before it changes anything
and raises a :mod:`.errors` exception on bad input; see ``p4target/switch/__init__.py`` for the
overview."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .control_tables import TableControlMixin, _resolve
from .digests import DigestConfig, DigestMessage
from .errors import BadValueError
from .matchkeys import as_int
from .pre import MirrorSession

if TYPE_CHECKING:  # pragma: no cover
    from .switch import Switch


class ControlMixin(TableControlMixin):
    # -- counters, registers, meters, value sets -------------------------------------------------

    def counter_read(self: Switch, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes); for a direct counter ``index`` is the entry handle."""
        self._require_program()
        c = _resolve("counter", name, self.counters)
        if c.direct:
            return self.table_entry_counter(c.binding, index)
        return c.read(index)

    def counter_write(self: Switch, name: str, index: int, packets: int, nbytes: int) -> None:
        with self.lock:
            c = _resolve("counter", name, self.counters)
            if c.direct:
                return self.table_entry_counter_write(c.binding, index, packets, nbytes)
            old = c.read(index)
            c.write(index, packets, nbytes)
            self.journal.record(lambda: c.write(index, *old))

    def counter_reset(self: Switch, name: str) -> None:
        with self.lock:
            c = _resolve("counter", name, self.counters)
            if c.direct:
                return self.table_counters_reset(c.binding)
            c.reset()

    def register_read(self: Switch, name: str, index: int | None = None) -> int | list[int]:
        """One cell, or the whole array when ``index`` is None."""
        self._require_program()
        r = _resolve("register", name, self.registers)
        if index is None:
            return list(r.values)
        r.check_index(index)
        return r.values[index]

    def register_write(self: Switch, name: str, index: int | None, value: int | bytes) -> None:
        """Write one cell (or every cell when ``index`` is None)."""
        with self.lock:
            r = _resolve("register", name, self.registers)
            v = as_int(value)
            r.check_value(v)
            if index is None:
                old_all = list(r.values)
                r.values = [v] * r.size
                self.journal.record(lambda: setattr(r, "values", old_all))
                return
            r.check_index(index)
            old = r.values[index]
            r.values[index] = v
            self.journal.record(lambda: r.values.__setitem__(index, old))

    def register_reset(self: Switch, name: str) -> None:
        self.register_write(name, None, 0)

    def meter_set_rates(
        self: Switch, name: str, index: int | None, rates: Sequence[tuple[float, int]]
    ) -> None:
        """``rates`` [(CIR, CBS), (PIR, PBS)]: rates per microsecond (BMv2 units; P4Runtime's
        per-second rates divided by 1e6), bursts in bytes or packets.  ``index`` None: all."""
        with self.lock:
            m = _resolve("meter", name, self.meters)
            if m.direct:
                raise BadValueError(f"meter {m.name} is direct: use table_entry_meter_set")
            if index is not None:
                m.check_index(index)
            targets = m.meters if index is None else [m.meters[index]]
            olds = [(x, list(x.user_rates)) for x in targets]
            m.set_rates(index, rates)

            def undo() -> None:
                for x, r in olds:
                    if r:
                        x.set_rates(r)
                    else:
                        x.reset_rates()

            self.journal.record(undo)

    def meter_get_rates(self: Switch, name: str, index: int) -> list[tuple[float, int]]:
        m = _resolve("meter", name, self.meters)
        m.check_index(index)
        return list(m.meters[index].user_rates)

    def meter_reset(self: Switch, name: str, index: int | None = None) -> None:
        with self.lock:
            m = _resolve("meter", name, self.meters)
            for x in m.meters if index is None else [m.meters[index]]:
                x.reset_rates()

    def vset_add(self: Switch, name: str, value: int | bytes) -> None:
        with self.lock:
            vs = _resolve("parser value set", name, self.vsets)
            v = as_int(value)
            present = v in vs.values
            vs.add(v)
            if not present:
                self.journal.record(lambda: vs.values.discard(v))

    def vset_remove(self: Switch, name: str, value: int | bytes) -> None:
        with self.lock:
            vs = _resolve("parser value set", name, self.vsets)
            v = as_int(value)
            present = v in vs.values
            vs.remove(v)
            if present:
                self.journal.record(lambda: vs.values.add(v))

    def vset_values(self: Switch, name: str) -> list[int]:
        return sorted(_resolve("parser value set", name, self.vsets).values)

    # -- PRE and mirroring -----------------------------------------------------------------------

    def mc_group_create(self: Switch, mgid: int) -> int:
        with self.lock:
            return self.pre.mgrp_create(mgid)

    def mc_group_destroy(self: Switch, mgid: int) -> None:
        with self.lock:
            self.pre.mgrp_destroy(mgid)

    def mc_node_create(self: Switch, rid: int, ports: Sequence[int]) -> int:
        with self.lock:
            return self.pre.node_create(rid, list(ports))

    def mc_node_update(self: Switch, handle: int, ports: Sequence[int]) -> None:
        with self.lock:
            self.pre.node_update(handle, list(ports))

    def mc_node_destroy(self: Switch, handle: int) -> None:
        with self.lock:
            self.pre.node_destroy(handle)

    def mc_node_associate(self: Switch, mgid: int, handle: int) -> None:
        with self.lock:
            self.pre.node_associate(mgid, handle)

    def mc_node_dissociate(self: Switch, mgid: int, handle: int) -> None:
        with self.lock:
            self.pre.node_dissociate(mgid, handle)

    def mc_set_group(self: Switch, mgid: int, replicas: Sequence[tuple[int, int]]) -> None:
        """Create or replace a multicast group: replicas [(egress port, replication id)]."""
        with self.lock:
            self.pre.set_group(mgid, [(int(p), int(r)) for p, r in replicas])

    def mc_delete_group(self: Switch, mgid: int) -> None:
        with self.lock:
            self.pre.delete_group(mgid)

    def mc_group_replicas(self: Switch, mgid: int) -> list[tuple[int, int]]:
        return list(self.pre.replicas(mgid))

    def mc_groups(self: Switch) -> dict[int, list[tuple[int, int]]]:
        return {g: list(self.pre.replicas(g)) for g in self.pre.groups}

    def mirroring_add(
        self: Switch,
        session_id: int,
        port: int | None = None,
        mgid: int | None = None,
        truncate: int = 0,
        cos: int | None = None,
    ) -> None:
        """Clone session ``session_id`` to an egress port and/or a multicast group; cloned
        packets are cut to ``truncate`` bytes when non-zero and queued at priority ``cos``
        (None: the original packet's ``standard_metadata.priority``)."""
        if cos is not None and not 0 <= int(cos) < 8:
            raise BadValueError(f"clone session {session_id}: class of service {cos} not in 0..7")
        with self.lock:
            self.pre.mirror_add(
                session_id,
                MirrorSession(port, mgid, int(truncate), None if cos is None else int(cos)),
            )

    def mirroring_delete(self: Switch, session_id: int) -> None:
        with self.lock:
            self.pre.mirror_delete(session_id)

    def mirroring_get(self: Switch, session_id: int) -> MirrorSession:
        s = self.pre.sessions.get(session_id)
        if s is None:
            from .errors import EntryNotFoundError

            raise EntryNotFoundError(f"no mirror session {session_id}")
        return s

    # -- digests ---------------------------------------------------------------------------------

    def digest_names(self: Switch) -> dict[str, int]:
        return dict(self.digests.by_name)

    def digest_configure(
        self: Switch,
        name: str | int,
        max_list_size: int = 1,
        max_timeout_us: float = 0.0,
        ack_timeout_us: float = 0.0,
    ) -> None:
        self.digests.configure(name, DigestConfig(max_list_size, max_timeout_us, ack_timeout_us))

    def digest_ack(self: Switch, name: str | int, msg_id: int) -> None:
        self.digests.ack(name, msg_id)

    def off_digest(self: Switch, cb: Callable[[DigestMessage], None]) -> None:
        """Stop calling ``cb`` (registered with :meth:`on_digest`); unknown ``cb`` is a no-op."""
        if cb in self.digests.callbacks:
            self.digests.callbacks.remove(cb)

    def on_digest(self: Switch, cb: Callable[[DigestMessage], None]) -> None:
        """``cb(DigestMessage)`` for every digest message (otherwise they queue for poll)."""
        self.digests.callbacks.append(cb)

    def poll_digests(self: Switch) -> list[DigestMessage]:
        return self.digests.poll()

    # -- traffic manager -------------------------------------------------------------------------

    def set_queue_depth(
        self: Switch, port: int | None, depth: int, priority: int | None = None
    ) -> None:
        with self.lock:
            self.tm.set_queue_depth(port, depth, priority)

    def set_queue_rate(
        self: Switch, port: int | None, pps: float, priority: int | None = None
    ) -> None:
        with self.lock:
            self.tm.set_queue_rate(port, pps, priority)

    def set_link_rate(self: Switch, port: int, bps: float) -> None:
        with self.lock:
            self.tm.set_link_rate(port, bps)

    def set_frame_size(self: Switch, fn: Callable[[bytes], int] | None) -> None:
        """Charge a frame ``fn(frame)`` bytes instead of its length: serialisation time and
        ``tx_bytes`` at every port, and ``standard_metadata.packet_length`` (so counters and
        meters) of received frames. For emulated networks that send one frame standing for
        many packets; a :class:`.framesize.AggregateFrameRule` describes such frames so the
        native engine charges them in C, any other function is called once per frame. None
        restores the length."""
        with self.lock:
            self.frame_size = fn
            self.tm.frame_size = fn or len

    def set_port_delay(self: Switch, port: int, delay_us: float) -> None:
        """Packets sent out of ``port`` reach it ``delay_us`` later (after serialisation):
        link delay for emulated networks, on either clock and for any kind of port."""
        with self.lock:
            self.tm.set_port_delay(port, delay_us)

    def set_cqf(
        self: Switch,
        port: int,
        cycle_us: float | None,
        t0_us: float = 0.0,
        queues: tuple[int, int] = (0, 1),
    ) -> None:
        """CQF gate mode on ``port``: cycle ``cycle_us`` from ``t0_us``; ``queues[c % 2]`` is the
        one of the pair open in cycle ``c``; None turns it off."""
        with self.lock:
            self.tm.set_cqf(port, cycle_us, t0_us, queues)

    def set_recirculate_delay(self: Switch, delay_us: float) -> None:
        """Recirculated (and resubmitted) packets re-enter ingress ``delay_us`` after leaving
        the pipeline (default 0, as in BMv2; a delay lets recirculation loops that wait for a
        time make progress on a virtual clock)."""
        if delay_us < 0:
            raise BadValueError("delay must be non-negative")
        self.recirculate_delay_us = float(delay_us)

    def set_priority_queues(self: Switch, n: int) -> None:
        with self.lock:
            self.tm.set_nb_queues(n)

    def queue_depth(self: Switch, port: int, priority: int | None = None) -> int:
        return self.tm.depth(port, priority)
