"""Digests (``digest()`` / BMv2 ``generate_digest``): the learn engine.

Each learn list of the JSON (``learn_lists``: id, name, fields) produces samples, one tuple of
field values per packet that called ``digest``.  Like BMv2's learn engine, samples are grouped
into messages of at most ``max_list_size`` samples, sent when full or ``max_timeout_us`` after
the first sample; with ``ack_timeout_us`` > 0 a sample already sent is filtered out until the
message is acknowledged (``ack``) or the ack timeout expires.  The default (1 sample per
message, no timeout, no filtering) sends every sample at once.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .errors import BadValueError, UnknownNameError


@dataclass
class DigestMessage:
    name: str  # learn list name in the JSON
    list_id: int  # learn list id in the JSON
    msg_id: int  # sequence number, used to acknowledge
    samples: list[tuple[int, ...]]
    timestamp_us: float
    field_names: tuple[str, ...] = ()


@dataclass
class DigestConfig:
    max_list_size: int = 1
    max_timeout_us: float = 0.0
    ack_timeout_us: float = 0.0


@dataclass
class _ListState:
    name: str
    fields: tuple[str, ...]
    config: DigestConfig = field(default_factory=DigestConfig)
    pending: list[tuple[int, ...]] = field(default_factory=list)
    timer_armed: bool = False
    unacked: dict[tuple[int, ...], float] = field(default_factory=dict)  # sample -> expiry
    msg_samples: dict[int, list[tuple[int, ...]]] = field(default_factory=dict)


class DigestEngine:
    def __init__(self, clock: Clock, learn_lists: dict[int, dict[str, Any]], lock: Any = None):
        self.clock = clock
        self.lock = lock if lock is not None else contextlib.nullcontext()
        self.lists: dict[int, _ListState] = {}
        self.by_name: dict[str, int] = {}
        for lid, ll in learn_lists.items():
            fields = tuple(".".join(e["value"]) for e in ll.get("elements", []) if "value" in e)
            self.lists[lid] = _ListState(ll.get("name", f"learn_list_{lid}"), fields)
            self.by_name[self.lists[lid].name] = lid
        self.callbacks: list[Callable[[DigestMessage], None]] = []
        self.queue: queue.Queue[DigestMessage] = queue.Queue()
        self._msg_ids = itertools.count(1)
        self.sent = 0
        self.filtered = 0

    def list_id(self, name_or_id: str | int) -> int:
        if isinstance(name_or_id, int):
            if name_or_id not in self.lists:
                raise UnknownNameError(f"no learn list with id {name_or_id}")
            return name_or_id
        lid = self.by_name.get(name_or_id)
        if lid is None:
            cands = [n for n in self.by_name if n.endswith("." + name_or_id) or n == name_or_id]
            if len(cands) == 1:
                return self.by_name[cands[0]]
            raise UnknownNameError(f"no learn list (digest) named {name_or_id!r}")
        return lid

    def configure(self, name_or_id: str | int, config: DigestConfig) -> None:
        if config.max_list_size < 1 or config.max_timeout_us < 0 or config.ack_timeout_us < 0:
            raise BadValueError("bad digest configuration")
        self.lists[self.list_id(name_or_id)].config = config

    def sample(self, lid: int, values: tuple[int, ...]) -> None:
        st = self.lists.get(lid)
        if st is None:
            return
        now = self.clock.now()
        cfg = st.config
        if cfg.ack_timeout_us > 0:
            exp = st.unacked.get(values)
            if exp is not None and exp > now:
                self.filtered += 1
                return
            if values in st.pending:
                self.filtered += 1
                return
        st.pending.append(values)
        if len(st.pending) >= cfg.max_list_size:
            self._flush(lid)
        elif cfg.max_timeout_us > 0 and not st.timer_armed:
            st.timer_armed = True
            self.clock.call_later(cfg.max_timeout_us, self._timeout, lid)

    def _timeout(self, lid: int) -> None:
        with self.lock:
            self._timeout_locked(lid)

    def _timeout_locked(self, lid: int) -> None:
        st = self.lists[lid]
        st.timer_armed = False
        if st.pending:
            self._flush(lid)

    def _flush(self, lid: int) -> None:
        st = self.lists[lid]
        samples, st.pending = st.pending, []
        now = self.clock.now()
        msg = DigestMessage(st.name, lid, next(self._msg_ids), samples, now, st.fields)
        if st.config.ack_timeout_us > 0:
            for s in samples:
                st.unacked[s] = now + st.config.ack_timeout_us
            st.msg_samples[msg.msg_id] = samples
        self.sent += 1
        if self.callbacks:
            for cb in self.callbacks:
                cb(msg)
        else:
            self.queue.put(msg)

    def ack(self, name_or_id: str | int, msg_id: int) -> None:
        st = self.lists[self.list_id(name_or_id)]
        for s in st.msg_samples.pop(msg_id, []):
            st.unacked.pop(s, None)

    def poll(self) -> list[DigestMessage]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out
