"""The controller's own durable state: active policy and version, and the swap journal (SQLite).

A controller killed mid-swap finds here which swap was under way and how far it got
(``prepared``: the new version's entries were being written; ``flipped``: every ingress gateway
was told to use the new version; ``done``), and the switches' state tells the rest
(:meth:`controlplane.controller.Controller.recover`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS swaps (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  old_version INTEGER NOT NULL, new_version INTEGER NOT NULL,
  old_policy TEXT NOT NULL, new_policy TEXT NOT NULL,
  stage TEXT NOT NULL, started REAL NOT NULL, finished REAL, detail TEXT NOT NULL DEFAULT ''
);
"""

STAGES = ("prepared", "flipped", "done", "rolled_back", "recovered")


@dataclass(frozen=True)
class SwapRecord:
    id: int
    old_version: int
    new_version: int
    old_policy: str
    new_policy: str
    stage: str
    started: float
    finished: float | None
    detail: str


class ControllerStore:
    """Key/value settings and the swap journal in one SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- settings ------------------------------------------------------------------------------
    def get(self, key: str, default: object = None) -> object:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, **values: object) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for k, v in values.items():
                    self._db.execute(
                        "INSERT INTO kv(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (k, json.dumps(v)),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- swap journal --------------------------------------------------------------------------
    def swap_begin(
        self, old_version: int, new_version: int, old_policy: str, new_policy: str
    ) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO swaps(old_version, new_version, old_policy, new_policy, stage, started)"
                " VALUES (?, ?, ?, ?, 'prepared', ?)",
                (old_version, new_version, old_policy, new_policy, time.time()),
            )
            return int(cur.lastrowid)

    def swap_stage(self, swap_id: int, stage: str, detail: str = "") -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown swap stage {stage!r}")
        finished = time.time() if stage in ("done", "rolled_back", "recovered") else None
        with self._lock:
            self._db.execute(
                "UPDATE swaps SET stage = ?, finished = ?, detail = ? WHERE id = ?",
                (stage, finished, detail, swap_id),
            )

    def pending_swap(self) -> SwapRecord | None:
        """The last swap if it did not finish (killed mid-swap), else None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM swaps WHERE stage IN ('prepared', 'flipped') "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return SwapRecord(*row) if row else None

    def swaps(self, limit: int = 100) -> list[SwapRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM swaps ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [SwapRecord(*r) for r in reversed(rows)]
