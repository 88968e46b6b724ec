"""The translation state of one forwarding pipeline on one switch: what P4Runtime needs beyond
the switch's own state (controller metadata of entries, one-shot action sets, group sizes,
digest configs, ...), the dispatch of updates and reads by entity type, and the undo log that
makes a failed update change nothing (the switch's own writes are undone by ``batch()``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from p4target.protos import p4runtime_pb2
from p4target.switch import Switch

from .errors import invalid, unimplemented
from .externs import ExternMixin
from .pipeline import UPDATE, Pipeline
from .pre import PreMixin
from .profiles import ProfileMixin
from .tables import TableMixin


class Txn:
    """Undo log of the translation state for one batch (or one update)."""

    __slots__ = ("undo",)

    def __init__(self) -> None:
        self.undo: list[Callable[[], None]] = []

    def add(self, fn: Callable[[], None]) -> None:
        self.undo.append(fn)

    def rollback(self) -> None:
        undo, self.undo = self.undo, []
        for fn in reversed(undo):
            fn()


class State(TableMixin, ProfileMixin, ExternMixin, PreMixin):
    """P4Runtime view of ``switch`` running ``pipeline``."""

    def __init__(self, switch: Switch, pipeline: Pipeline):
        self.sw = switch
        self.p = pipeline
        self._init_tables()
        self._init_profiles()
        self._init_externs()
        self._init_pre()
        self._writers: dict[str, Callable[[int, Any, Txn], None]] = {
            "table_entry": self.write_table_entry,
            "action_profile_member": self.write_member,
            "action_profile_group": self.write_group,
            "counter_entry": self.write_counter,
            "direct_counter_entry": self.write_direct_counter,
            "meter_entry": self.write_meter,
            "direct_meter_entry": self.write_direct_meter,
            "register_entry": self.write_register,
            "value_set_entry": self.write_value_set,
            "digest_entry": self.write_digest,
            "packet_replication_engine_entry": self.write_pre,
        }
        self._readers: dict[str, Callable[[Any], list[Any]]] = {
            "table_entry": self.read_table_entries,
            "action_profile_member": self.read_members,
            "action_profile_group": self.read_groups,
            "counter_entry": self.read_counters,
            "direct_counter_entry": self.read_direct_counters,
            "meter_entry": self.read_meters,
            "direct_meter_entry": self.read_direct_meters,
            "register_entry": self.read_registers,
            "value_set_entry": self.read_value_sets,
            "digest_entry": self.read_digests,
            "packet_replication_engine_entry": self.read_pre,
        }

    def write(self, update: Any, txn: Txn) -> None:
        """Apply one ``Update`` (inside the caller's ``switch.batch()``)."""
        kind = update.type
        if kind not in (UPDATE.INSERT, UPDATE.MODIFY, UPDATE.DELETE):
            raise invalid("update type must be INSERT, MODIFY or DELETE")
        which = update.entity.WhichOneof("entity")
        if which is None:
            raise invalid("update without an entity")
        fn = self._writers.get(which)
        if fn is None:
            raise unimplemented(f"{which} is not supported")
        fn(kind, getattr(update.entity, which), txn)

    def read(self, entity: Any) -> list[Any]:
        """The entities (``p4.v1.Entity``) one read request selects."""
        which = entity.WhichOneof("entity")
        if which is None:
            raise invalid("read request without an entity")
        fn = self._readers.get(which)
        if fn is None:
            raise unimplemented(f"reading {which} is not supported")
        out = []
        for msg in fn(getattr(entity, which)):
            e = p4runtime_pb2.Entity()
            getattr(e, which).CopyFrom(msg)
            out.append(e)
        return out

    def snapshot_updates(self) -> list[Any]:
        """Updates that rebuild the forwarding state (RECONCILE_AND_COMMIT replays them on
        the new pipeline): members, groups, table entries, PRE, externs' configuration."""
        ups: list[Any] = []

        def add(kind: int, field: str, msgs: list[Any]) -> None:
            for m in msgs:
                u = p4runtime_pb2.Update(type=kind)
                getattr(u.entity, field).CopyFrom(m)
                ups.append(u)

        add(
            UPDATE.INSERT,
            "action_profile_member",
            self.read_members(p4runtime_pb2.ActionProfileMember()),
        )
        add(
            UPDATE.INSERT,
            "action_profile_group",
            self.read_groups(p4runtime_pb2.ActionProfileGroup()),
        )
        tes = self.read_table_entries(
            p4runtime_pb2.TableEntry(
                counter_data=p4runtime_pb2.CounterData(), meter_config=p4runtime_pb2.MeterConfig()
            )
        )
        add(UPDATE.INSERT, "table_entry", [t for t in tes if not t.is_const])
        for tid in self.p.tables:
            d = self.read_table_entries(
                p4runtime_pb2.TableEntry(table_id=tid, is_default_action=True)
            )
            if d and not self._default_is_initial(tid):
                add(UPDATE.MODIFY, "table_entry", d)
        pre = self.read_pre(
            p4runtime_pb2.PacketReplicationEngineEntry(
                multicast_group_entry=p4runtime_pb2.MulticastGroupEntry()
            )
        )
        pre += self.read_pre(
            p4runtime_pb2.PacketReplicationEngineEntry(
                clone_session_entry=p4runtime_pb2.CloneSessionEntry()
            )
        )
        add(UPDATE.INSERT, "packet_replication_engine_entry", pre)
        add(UPDATE.INSERT, "digest_entry", self.read_digests(p4runtime_pb2.DigestEntry()))
        add(UPDATE.MODIFY, "value_set_entry", self.read_value_sets(p4runtime_pb2.ValueSetEntry()))
        add(UPDATE.MODIFY, "register_entry", self.read_registers(p4runtime_pb2.RegisterEntry()))
        add(UPDATE.MODIFY, "counter_entry", self.read_counters(p4runtime_pb2.CounterEntry()))
        meters = self.read_meters(p4runtime_pb2.MeterEntry())
        add(UPDATE.MODIFY, "meter_entry", [m for m in meters if m.HasField("config")])
        return ups
