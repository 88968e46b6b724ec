"""Embedded v1model software switch executing BMv2 JSON (what ``simple_switch`` does).

Quick use::

    from p4target.switch import Switch, LPM, Exact
    sw = Switch("build/router.json")            # virtual clock by default
    p1, p2 = sw.add_port(1), sw.add_port(2)     # MemoryPorts
    sw.table_add("MyIngress.ipv4_lpm", [LPM(0x0A000000, 8)], "MyIngress.ipv4_forward",
                 [0x000000000002, 2])
    p1.send(frame)                              # processed at once (virtual clock)
    out = p2.take()                             # frames transmitted on port 2

The JSON is compiled once into Python functions (:mod:`.codegen`); semantics follow BMv2's
simple_switch: parser errors go to ``standard_metadata.parser_error`` (the packet is not
dropped), checksum errors to ``checksum_error``; after ingress come clone (I2E), digest,
resubmit, multicast, drop (port 511), unicast; after egress: clone (E2E), drop, compute
checksums + deparse, recirculate.  See ``datapath.py`` and ``tm.py``.

Control API (all on :class:`Switch`, names as in the BMv2 JSON, unique suffixes accepted;
errors are :mod:`.errors` classes, raised before anything changes)
--------------------------------------------------------------------------------------------
Program
    ``load_config(json_or_path)`` (resets P4 state, PRE, clone sessions), ``program``
    (:class:`.program.Program`), ``generated_source``; ``Switch(..., engine=)`` "python",
    "native" (generated C, :mod:`.native`) or "auto" (the default, ``$CPN_P4_ENGINE``: native
    when a C compiler is there and the program is supported), ``engine_name``.
Tables
    ``table_add(t, key, action, params, priority=None, member=, group=, ttl_us=) -> handle``;
    ``table_modify(t, handle, action, params | member= | group=)``; ``table_delete``;
    ``table_clear``; ``table_find(t, key, priority) -> handle``; ``table_entry``;
    ``table_entries(t)`` (dicts: handle, key, priority, action, params, member, group,
    packets, bytes, ttl_us, const); ``table_set_default`` / ``table_reset_default`` /
    ``table_get_default``; ``table_info``; ``table_names``.  Keys are lists of
    :class:`Exact`, :class:`LPM`, :class:`Ternary`, :class:`Range`, :class:`Optional` (a
    bare int means exact).  **Priority: larger wins** (P4Runtime's convention, passed
    through unchanged; JSON const entries are converted).  Values: ints or big-endian bytes.
Direct resources and idle timeout
    ``table_entry_counter`` / ``table_entry_counter_write`` / ``table_counters_reset``;
    ``table_entry_meter_set(t, h, [(cir, cbs), (pir, pbs)])`` / ``table_entry_meter_get``;
    ``table_entry_ttl(t, h, ttl_us)``, ``table_entry_idle_time``, ``on_idle_timeout(cb)``
    (``cb(table, entry_info)`` once per idle period).
Action profiles / selectors
    ``profile_add_member(p, action, params, member_id=None) -> id``,
    ``profile_modify_member``, ``profile_delete_member``, ``profile_create_group(p,
    group_id=None)``, ``profile_delete_group``, ``profile_add_to_group(p, g, m, weight=1)``,
    ``profile_remove_from_group``, ``profile_set_group_members(p, g, {member: weight})``,
    ``profile_members``, ``profile_groups``.
Counters, registers, meters, value sets
    ``counter_read(name, i) -> (packets, bytes)``, ``counter_write``, ``counter_reset``;
    ``register_read(name, i=None)``, ``register_write(name, i|None, v)``,
    ``register_reset``; ``meter_set_rates(name, i|None, [(cir, cbs), (pir, pbs)])`` (rates
    per µs, BMv2 units), ``meter_get_rates``, ``meter_reset``; ``vset_add`` /
    ``vset_remove`` / ``vset_values``.
PRE and clone sessions
    ``mc_set_group(mgid, [(port, rid), ...])``, ``mc_delete_group``, ``mc_group_replicas``,
    ``mc_groups``; CLI style ``mc_group_create``, ``mc_node_create(rid, ports) -> handle``,
    ``mc_node_associate(mgid, handle)``, ``mc_node_dissociate``, ``mc_node_update``,
    ``mc_node_destroy``, ``mc_group_destroy``; ``mirroring_add(sid, port=None, mgid=None,
    truncate=0)``, ``mirroring_delete``, ``mirroring_get``.
Digests
    ``on_digest(cb)`` (:class:`.digests.DigestMessage`: name, list_id, msg_id, samples),
    ``poll_digests()``, ``digest_configure(name, max_list_size, max_timeout_us,
    ack_timeout_us)``, ``digest_ack(name, msg_id)``, ``digest_names()``.
Packet I/O
    ``add_port(n, port=None)`` (MemoryPort by default, or an interface name for
    :class:`AfPacketPort`), ``remove_port``, ``receive(port, data)``,
    ``receive_batch([(port, data), ...])`` (one native call for the batch), ``inject(data,
    port=None)`` (packet-out on the CPU port), ``on_packet_in(cb)`` (what the pipeline sends
    to ``cpu_port``), ``on_transmit(cb(port, data))``.
Traffic manager
    ``set_priority_queues(n)``, ``set_queue_depth(port|None, depth, priority=None)``,
    ``set_queue_rate(port|None, pps, priority=None)``, ``set_link_rate(port, bps)``,
    ``set_port_delay(port, delay_us)``, ``set_frame_size(fn)`` (bytes charged per frame),
    ``set_cqf(port, cycle_us, t0_us=0, queues=(0, 1))``, ``queue_depth(port, priority=None)``,
    ``set_recirculate_delay(us)``.
Time, batches, statistics
    ``clock`` (:class:`VirtualClock` or :class:`WallClock`), ``advance(us)``,
    ``run_until_idle()``; ``with sw.batch(): ...`` (atomic for packets; all writes undone if
    the block raises); ``stats()`` (rx/tx per port, drops by reason, parser errors by
    name, events, queues), ``reset_stats()``.
"""

from .clock import Clock, VirtualClock, WallClock
from .digests import DigestMessage
from .errors import (
    BadValueError,
    ConfigError,
    ConstTableError,
    DuplicateEntryError,
    EntryNotFoundError,
    InUseError,
    NoPipelineError,
    SwitchError,
    TableFullError,
    UnknownNameError,
    UnsupportedError,
)
from .matchkeys import LPM, Exact, Optional, Range, Ternary
from .ports import AfPacketPort, MemoryPort, Port
from .pre import MirrorSession
from .switch import Switch

__all__ = [
    "AfPacketPort",
    "BadValueError",
    "Clock",
    "ConfigError",
    "ConstTableError",
    "DigestMessage",
    "DuplicateEntryError",
    "EntryNotFoundError",
    "Exact",
    "InUseError",
    "LPM",
    "MemoryPort",
    "MirrorSession",
    "NoPipelineError",
    "Optional",
    "Port",
    "Range",
    "Switch",
    "SwitchError",
    "TableFullError",
    "Ternary",
    "UnknownNameError",
    "UnsupportedError",
    "VirtualClock",
    "WallClock",
]
