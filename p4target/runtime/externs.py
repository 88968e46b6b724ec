"""Counters, direct counters, meters, direct meters, registers, parser value sets and digest
configuration (``CounterEntry`` ... ``DigestEntry``): MODIFY-only entities with index
wildcards, and DigestEntry's INSERT / MODIFY / DELETE of a digest's configuration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from p4target.protos import p4runtime_pb2

from .codec import decode_sint, decode_uint, encode_sint, encode_uint
from .errors import Code, P4RTError, invalid, not_found, unimplemented
from .matches import value_set_member
from .pipeline import UPDATE, TableSpec
from .tables import counter_data, meter_config, meter_rates

if TYPE_CHECKING:  # pragma: no cover
    from .state import State, Txn

DIGEST_UNLIMITED = 1 << 16  # max_list_size 0 ("no limit") with a timeout


def _modify_only(kind: int, what: str) -> None:
    if kind != UPDATE.MODIFY:
        raise invalid(f"{what} can only be modified (no INSERT / DELETE)")


def _indices(msg: Any, size: int, what: str) -> Iterable[int] | None:
    """The index of ``msg`` checked against ``size`` (None: every index)."""
    if not msg.HasField("index"):
        return None
    i = msg.index.index
    if i < 0:
        raise invalid(f"{what}: negative index {i}")
    if i >= size:
        raise P4RTError(Code.OUT_OF_RANGE, f"{what}: index {i} >= size {size}")
    return (i,)


class ExternMixin:
    def _init_externs(self: State) -> None:
        self.digest_cfg: dict[int, Any] = {}

    # -- counters --------------------------------------------------------------------------------

    def write_counter(self: State, kind: int, c: Any, txn: Txn) -> None:
        _modify_only(kind, "counter entries")
        spec = self.p.counters.get(c.counter_id)
        if spec is None:
            raise invalid(f"unknown (indexed) counter id {c.counter_id}")
        idx = _indices(c, spec.size, f"counter {spec.name}")
        if not c.HasField("data"):
            return
        for i in idx if idx is not None else range(spec.size):
            self.sw.counter_write(spec.name, i, c.data.packet_count, c.data.byte_count)

    def read_counters(self: State, c: Any) -> list[Any]:
        if c.counter_id:
            spec = self.p.counters.get(c.counter_id)
            if spec is None:
                raise invalid(f"unknown (indexed) counter id {c.counter_id}")
            specs = [spec]
        else:
            specs = list(self.p.counters.values())
        out = []
        for spec in specs:
            idx = _indices(c, spec.size, f"counter {spec.name}") if c.counter_id else None
            for i in idx if idx is not None else range(spec.size):
                pk, by = self.sw.counter_read(spec.name, i)
                msg = p4runtime_pb2.CounterEntry(counter_id=spec.id)
                msg.index.index = i
                msg.data.CopyFrom(counter_data(spec.unit, pk, by))
                out.append(msg)
        return out

    def _direct_targets(self: State, te: Any, attr: str) -> list[tuple[TableSpec, Any]]:
        """(table, record) pairs a DirectCounterEntry / DirectMeterEntry read selects."""
        if te.table_id == 0:
            specs = [s for s in self.p.tables.values() if getattr(s, attr)]
        else:
            spec = self.table_spec(te.table_id)
            if not getattr(spec, attr):
                raise invalid(f"table {spec.name} has no {attr.replace('_', ' ')}")
            if len(te.match) or te.priority:
                return [(spec, self.find_entry(spec, te))]
            specs = [spec]
        out = []
        for spec in specs:
            handles = self.handles[spec.id]
            for info in self.sw.table_entries(spec.name):
                out.append((spec, handles.get(info["handle"]) or self._adopt(spec, info)))
        return out

    def _direct_write_target(self: State, te: Any, attr: str) -> tuple[TableSpec, Any]:
        spec = self.table_spec(te.table_id)
        if not getattr(spec, attr):
            raise invalid(f"table {spec.name} has no {attr.replace('_', ' ')}")
        if te.is_default_action:
            raise unimplemented("direct resources of the default entry are not supported")
        return spec, self.find_entry(spec, te)

    def write_direct_counter(self: State, kind: int, d: Any, txn: Txn) -> None:
        _modify_only(kind, "direct counter entries")
        spec, rec = self._direct_write_target(d.table_entry, "direct_counter")
        if d.HasField("data"):
            self.sw.table_entry_counter_write(
                spec.name, rec.handle, d.data.packet_count, d.data.byte_count
            )

    def read_direct_counters(self: State, d: Any) -> list[Any]:
        out = []
        for spec, rec in self._direct_targets(d.table_entry, "direct_counter"):
            pk, by = self.sw.table_entry_counter(spec.name, rec.handle)
            msg = p4runtime_pb2.DirectCounterEntry()
            msg.table_entry.CopyFrom(self.entry_msg(spec, rec, None))
            unit = self.p.direct_counters[spec.direct_counter].unit
            msg.data.CopyFrom(counter_data(unit, pk, by))
            out.append(msg)
        return out

    # -- meters ----------------------------------------------------------------------------------

    def write_meter(self: State, kind: int, m: Any, txn: Txn) -> None:
        _modify_only(kind, "meter entries")
        spec = self.p.meters.get(m.meter_id)
        if spec is None:
            raise invalid(f"unknown (indexed) meter id {m.meter_id}")
        if m.HasField("counter_data"):
            raise unimplemented("per-color meter counters are not supported")
        idx = _indices(m, spec.size, f"meter {spec.name}")
        index = None if idx is None else next(iter(idx))
        if m.HasField("config"):
            self.sw.meter_set_rates(spec.name, index, meter_rates(m.config))
        else:
            olds = [
                (i, self.sw.meter_get_rates(spec.name, i))
                for i in (range(spec.size) if index is None else (index,))
            ]
            self.sw.meter_reset(spec.name, index)

            def undo() -> None:
                for i, r in olds:
                    if r:
                        self.sw.meter_set_rates(spec.name, i, r)

            txn.add(undo)

    def read_meters(self: State, m: Any) -> list[Any]:
        if m.meter_id:
            spec = self.p.meters.get(m.meter_id)
            if spec is None:
                raise invalid(f"unknown (indexed) meter id {m.meter_id}")
            specs = [spec]
        else:
            specs = list(self.p.meters.values())
        if m.HasField("counter_data"):
            raise unimplemented("per-color meter counters are not supported")
        out = []
        for spec in specs:
            idx = _indices(m, spec.size, f"meter {spec.name}") if m.meter_id else None
            for i in idx if idx is not None else range(spec.size):
                msg = p4runtime_pb2.MeterEntry(meter_id=spec.id)
                msg.index.index = i
                rates = self.sw.meter_get_rates(spec.name, i)
                if rates:
                    msg.config.CopyFrom(meter_config(rates))
                out.append(msg)
        return out

    def write_direct_meter(self: State, kind: int, d: Any, txn: Txn) -> None:
        _modify_only(kind, "direct meter entries")
        spec, rec = self._direct_write_target(d.table_entry, "direct_meter")
        if d.HasField("counter_data"):
            raise unimplemented("per-color meter counters are not supported")
        if d.HasField("config"):
            self.sw.table_entry_meter_set(spec.name, rec.handle, meter_rates(d.config))
        else:
            self.sw.table_entry_meter_reset(spec.name, rec.handle)

    def read_direct_meters(self: State, d: Any) -> list[Any]:
        if d.HasField("counter_data"):
            raise unimplemented("per-color meter counters are not supported")
        out = []
        for spec, rec in self._direct_targets(d.table_entry, "direct_meter"):
            msg = p4runtime_pb2.DirectMeterEntry()
            msg.table_entry.CopyFrom(self.entry_msg(spec, rec, None))
            rates = self.sw.table_entry_meter_get(spec.name, rec.handle)
            if rates:
                msg.config.CopyFrom(meter_config(rates))
            out.append(msg)
        return out

    # -- registers -------------------------------------------------------------------------------

    def write_register(self: State, kind: int, r: Any, txn: Txn) -> None:
        _modify_only(kind, "register entries")
        spec = self.p.registers.get(r.register_id)
        if spec is None:
            raise invalid(f"unknown register id {r.register_id}")
        idx = _indices(r, spec.size, f"register {spec.name}")
        if r.data.WhichOneof("data") != "bitstring":
            raise invalid(f"register {spec.name}: data must be a bitstring")
        what = f"register {spec.name}"
        if spec.signed:
            v = decode_sint(r.data.bitstring, spec.width, what) & ((1 << spec.width) - 1)
        else:
            v = decode_uint(r.data.bitstring, spec.width, what)
        self.sw.register_write(spec.name, None if idx is None else next(iter(idx)), v)

    def read_registers(self: State, r: Any) -> list[Any]:
        if r.register_id:
            spec = self.p.registers.get(r.register_id)
            if spec is None:
                raise invalid(f"unknown register id {r.register_id}")
            specs = [spec]
        else:
            specs = list(self.p.registers.values())
        out = []
        for spec in specs:
            idx = _indices(r, spec.size, f"register {spec.name}") if r.register_id else None
            values = self.sw.register_read(spec.name)
            for i in idx if idx is not None else range(spec.size):
                v = values[i]
                msg = p4runtime_pb2.RegisterEntry(register_id=spec.id)
                msg.index.index = i
                if spec.signed:
                    if v >> (spec.width - 1):
                        v -= 1 << spec.width
                    msg.data.bitstring = encode_sint(v)
                else:
                    msg.data.bitstring = encode_uint(v)
                out.append(msg)
        return out

    # -- parser value sets -----------------------------------------------------------------------

    def write_value_set(self: State, kind: int, v: Any, txn: Txn) -> None:
        _modify_only(kind, "value set entries")
        spec = self.p.value_sets.get(v.value_set_id)
        if spec is None:
            raise invalid(f"unknown value set id {v.value_set_id}")
        if any(f.kind != "exact" for f in spec.fields):
            raise unimplemented(f"value set {spec.name}: only exact members are supported")
        new: list[int] = []
        for mb in v.members:
            val = value_set_member(f"value set {spec.name}", spec.fields, mb.match)
            if val in new:
                raise P4RTError(Code.ALREADY_EXISTS, f"value set {spec.name}: duplicate member")
            new.append(val)
        if spec.size and len(new) > spec.size:
            raise P4RTError(Code.RESOURCE_EXHAUSTED, f"value set {spec.name} holds {spec.size}")
        cur = set(self.sw.vset_values(spec.name))
        for val in cur.difference(new):
            self.sw.vset_remove(spec.name, val)
        for val in new:
            if val not in cur:
                self.sw.vset_add(spec.name, val)

    def read_value_sets(self: State, v: Any) -> list[Any]:
        if v.value_set_id:
            spec = self.p.value_sets.get(v.value_set_id)
            if spec is None:
                raise invalid(f"unknown value set id {v.value_set_id}")
            specs = [spec]
        else:
            specs = list(self.p.value_sets.values())
        out = []
        for spec in specs:
            msg = p4runtime_pb2.ValueSetEntry(value_set_id=spec.id)
            for val in self.sw.vset_values(spec.name):
                mb = msg.members.add()
                shift = sum(f.width for f in spec.fields)
                for f in spec.fields:
                    shift -= f.width
                    fm = mb.match.add(field_id=f.id)
                    fm.exact.value = encode_uint((val >> shift) & ((1 << f.width) - 1))
            out.append(msg)
        return out

    # -- digests ---------------------------------------------------------------------------------

    def write_digest(self: State, kind: int, d: Any, txn: Txn) -> None:
        spec = self.p.digests.get(d.digest_id)
        if spec is None:
            raise invalid(f"unknown digest id {d.digest_id}")
        old = self.digest_cfg.get(spec.id)
        if kind == UPDATE.INSERT and old is not None:
            raise P4RTError(Code.ALREADY_EXISTS, f"digest {spec.name} is already enabled")
        if kind != UPDATE.INSERT and old is None:
            raise not_found(f"digest {spec.name} is not enabled")
        if kind == UPDATE.DELETE:
            self.digest_cfg.pop(spec.id)
            self._configure_digest(spec.name, None)
        else:
            cfg = d.config
            if cfg.max_timeout_ns < 0 or cfg.ack_timeout_ns < 0 or cfg.max_list_size < 0:
                raise invalid(f"digest {spec.name}: negative configuration value")
            self._configure_digest(spec.name, cfg)
            self.digest_cfg[spec.id] = p4runtime_pb2.DigestEntry.Config()
            self.digest_cfg[spec.id].CopyFrom(cfg)

        def undo() -> None:
            if old is None:
                self.digest_cfg.pop(spec.id, None)
            else:
                self.digest_cfg[spec.id] = old
            self._configure_digest(spec.name, old)

        txn.add(undo)

    def _configure_digest(self: State, name: str, cfg: Any) -> None:
        if cfg is None:
            self.sw.digest_configure(name, 1, 0.0, 0.0)
            return
        size = cfg.max_list_size
        if size == 0:
            size = DIGEST_UNLIMITED if cfg.max_timeout_ns else 1
        self.sw.digest_configure(
            name, size, cfg.max_timeout_ns / 1000.0, cfg.ack_timeout_ns / 1000.0
        )

    def read_digests(self: State, d: Any) -> list[Any]:
        if d.digest_id:
            spec = self.p.digests.get(d.digest_id)
            if spec is None:
                raise invalid(f"unknown digest id {d.digest_id}")
            if spec.id not in self.digest_cfg:
                raise not_found(f"digest {spec.name} is not enabled")
            ids = [spec.id]
        else:
            ids = sorted(self.digest_cfg)
        out = []
        for i in ids:
            msg = p4runtime_pb2.DigestEntry(digest_id=i)
            msg.config.CopyFrom(self.digest_cfg[i])
            out.append(msg)
        return out
