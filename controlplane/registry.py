"""The AISID registry: the service lifecycle of the AISID paper (Table 2) in SQLite.

* **register**: validate the AISID (16-bit fields, inside one of the network's AISID prefixes),
  check that neither the AISID nor the name is taken, allocate a 16-bit ``service_id`` (the
  lowest free one from 1; ids of decommissioned services are reused), record the site and
  nodes. The gateways' ``aisid.classify`` entries come from :meth:`AisidRegistry.classify_entries`.
* **query**: the current placement of a service (by AISID or name); :meth:`answer_unknown`
  answers an AISID punted by the data plane (``UNKNOWN_AISID``) or returns None to refuse it.
* **migrate**: a new site/nodes; the old placement is kept (state ``migrating``) so that the
  controller can let flows in progress finish there before :meth:`finish_migration`.
* **decommission**: the service leaves the classification (its requests are punted as unknown),
  its id becomes free, the name and AISID may be registered again.

Storage: one SQLite file (WAL journal, ``synchronous=FULL``); every mutating call is one
transaction under a lock, so concurrent calls are serialised and a crash leaves the last
committed state. Every change is appended to the ``history`` table.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.entries import Exact, Lpm, Range, TableEntry, Ternary, entry
from controlplane.netdesc import NetworkDescription, SiteDesc
from traces.aisid import AISID, FIELD_MAX, PERFORMANCE_UNIT_US, AISIDError

CLASSIFY = "CpnIngress.aisid.classify"
SET_SERVICE = "CpnIngress.aisid.set_service"
CLASSIFY_PRIORITY = 1  # every registry entry is an exact match: priorities never compete
DETERMINISTIC_MAX_PERFORMANCE = 20  # Performance 1..20 (budget <= 2 ms): deterministic class
STATES = ("active", "migrating", "decommissioned")
LIVE = ("active", "migrating")
MAX_NAME = 64
SERVICE_ID_MAX = FIELD_MAX

_SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
  row INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  aisid TEXT NOT NULL,
  prefix TEXT NOT NULL,
  object INTEGER NOT NULL, function INTEGER NOT NULL, method INTEGER NOT NULL,
  performance INTEGER NOT NULL,
  service_id INTEGER NOT NULL,
  traffic_class INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  site TEXT NOT NULL, site_id INTEGER NOT NULL, nodes TEXT NOT NULL,
  previous_site TEXT, previous_nodes TEXT,
  replicas TEXT NOT NULL DEFAULT '[]',
  state TEXT NOT NULL CHECK (state IN ('active', 'migrating', 'decommissioned')),
  version INTEGER NOT NULL,
  created REAL NOT NULL, updated REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS live_name ON services(name) WHERE state != 'decommissioned';
CREATE UNIQUE INDEX IF NOT EXISTS live_aisid ON services(aisid) WHERE state != 'decommissioned';
CREATE UNIQUE INDEX IF NOT EXISTS live_service_id ON services(service_id)
  WHERE state != 'decommissioned';
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time REAL NOT NULL, event TEXT NOT NULL, row INTEGER NOT NULL,
  name TEXT NOT NULL, aisid TEXT NOT NULL, service_id INTEGER NOT NULL, detail TEXT NOT NULL
);
"""


class RegistryError(ValueError):
    """A refused registry call; ``field`` names what was wrong (``aisid``, ``name``, ``site``,
    ``nodes``, ``traffic_class``, ``deadline_us``, ``service``, ``service_id``, ``state``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownService(RegistryError):
    """No live service has that AISID or name."""


@dataclass(frozen=True)
class ServiceRecord:
    """One registered service (a row of the registry)."""

    name: str
    aisid: str  # canonical IPv6 text
    prefix: str  # the AISID's /64
    object: int
    function: int
    method: int
    performance: int
    service_id: int
    traffic_class: int  # 0 best effort, 1 deterministic
    deadline_us: int
    site: str  # site name
    site_id: int
    nodes: tuple[int, ...]  # node ids at the site; empty: all of them
    state: str  # active | migrating | decommissioned
    previous_site: str | None  # while migrating: where flows in progress finish
    previous_nodes: tuple[int, ...] | None
    version: int  # bumped by every change
    created: float  # seconds since the epoch
    updated: float
    replicas: tuple[str, ...] = ()  # other sites that also provide it

    @property
    def sites(self) -> tuple[str, ...]:
        """Every site that provides the service: its home site first, then the replicas."""
        return (self.site, *self.replicas)

    @property
    def aisid_value(self) -> AISID:
        return AISID.from_address(self.aisid)

    @property
    def live(self) -> bool:
        return self.state in LIVE


@dataclass(frozen=True)
class HistoryEvent:
    id: int
    time: float
    event: str  # register | migrate | finish_migration | decommission
    name: str
    aisid: str
    service_id: int
    detail: dict[str, Any]


def default_traffic_class(performance: int) -> int:
    """Deterministic (1) for a budget of 1..20 Performance units (<= 2 ms), else best effort."""
    return 1 if 1 <= performance <= DETERMINISTIC_MAX_PERFORMANCE else 0


def parse_aisid(aisid: AISID | str | int | Mapping[str, Any]) -> AISID:
    """An AISID from its address (text or int), an :class:`AISID`, or a mapping of fields
    (prefix, object, function, method, performance); errors are RegistryError("aisid")."""
    try:
        if isinstance(aisid, AISID):
            return aisid
        if isinstance(aisid, Mapping):
            unknown = set(aisid) - {"prefix", "object", "function", "method", "performance"}
            if unknown:
                raise AISIDError(f"unknown AISID fields {sorted(unknown)}")
            return AISID.from_fields(**aisid)
        return AISID.from_address(aisid)
    except (AISIDError, TypeError, ValueError) as e:
        raise RegistryError("aisid", str(e)) from None


class AisidRegistry:
    """The AISID registry of one network, kept in the SQLite file ``db_path``."""

    def __init__(
        self,
        db_path: str | Path,
        net: NetworkDescription,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.path = str(db_path)
        self.net = net
        self._now = now
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._tx():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._db.execute(stmt)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(services)")}
            if "replicas" not in cols:  # a registry file from before replicas existed
                self._db.execute(
                    "ALTER TABLE services ADD COLUMN replicas TEXT NOT NULL DEFAULT '[]'"
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AisidRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; any exception rolls it back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _log(self, event: str, row: int, rec: ServiceRecord, detail: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO history (time, event, row, name, aisid, service_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self._now(), event, row, rec.name, rec.aisid, rec.service_id, json.dumps(detail)),
        )

    # -- validation ----------------------------------------------------------------------------
    def _check_aisid(self, aisid: AISID | str | int | Mapping[str, Any]) -> AISID:
        a = parse_aisid(aisid)
        value = int(a)
        prefixes = []
        for p in self.net.aisid_prefixes:
            net = ipaddress.IPv6Network(p, strict=False)
            prefixes.append(str(net))
            if int(net.network_address) == value & int(net.netmask):
                return a
        raise RegistryError(
            "aisid",
            f"{a.address} is not in any AISID prefix of the network "
            f"({', '.join(prefixes) or 'none configured'})",
        )

    def _replicas(self, home: SiteDesc, replicas: Iterable[str | int]) -> list[str]:
        out: list[str] = []
        for x in replicas:
            s = self._site(x)
            if s.name == home.name or s.name in out:
                raise RegistryError("replicas", f"site {s.name} given twice (home {home.name})")
            out.append(s.name)
        return out

    def _site(self, site: str | int) -> SiteDesc:
        try:
            return self.net.site(site)
        except KeyError:
            names = ", ".join(s.name for s in self.net.sites) or "none"
            raise RegistryError("site", f"no site {site!r} (sites: {names})") from None

    def _nodes(self, site: SiteDesc, nodes: Iterable[int]) -> tuple[int, ...]:
        ids = {n.node_id for n in site.nodes}
        out = []
        for n in nodes:
            if isinstance(n, bool) or not isinstance(n, int):
                raise RegistryError("nodes", f"node ids are ints, got {n!r}")
            if n not in ids:
                raise RegistryError(
                    "nodes", f"site {site.name} has no node {n} (nodes: {sorted(ids)})"
                )
            out.append(n)
        return tuple(sorted(set(out)))

    @staticmethod
    def _name(name: object) -> str:
        if not isinstance(name, str) or not name.strip():
            raise RegistryError("name", f"must be a non-empty string, got {name!r}")
        name = name.strip()
        if len(name) > MAX_NAME or not name.isprintable():
            raise RegistryError("name", f"must be printable and at most {MAX_NAME} characters")
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            return name
        raise RegistryError("name", f"{name!r} looks like an address; names and AISIDs must differ")

    # -- rows ----------------------------------------------------------------------------------
    @staticmethod
    def _record(r: sqlite3.Row) -> ServiceRecord:
        prev = r["previous_nodes"]
        return ServiceRecord(
            name=r["name"],
            aisid=r["aisid"],
            prefix=r["prefix"],
            object=r["object"],
            function=r["function"],
            method=r["method"],
            performance=r["performance"],
            service_id=r["service_id"],
            traffic_class=r["traffic_class"],
            deadline_us=r["deadline_us"],
            site=r["site"],
            site_id=r["site_id"],
            nodes=tuple(json.loads(r["nodes"])),
            state=r["state"],
            previous_site=r["previous_site"],
            previous_nodes=tuple(json.loads(prev)) if prev is not None else None,
            version=r["version"],
            created=r["created"],
            updated=r["updated"],
            replicas=tuple(json.loads(r["replicas"])),
        )

    def _find(self, key: AISID | str | int, *, live: bool = True) -> sqlite3.Row | None:
        """The row of ``key`` (an AISID or a name); the newest one when ``live`` is False."""
        state = "state != 'decommissioned'" if live else "1"
        if isinstance(key, str) and not _is_address(key):
            sql, arg = f"SELECT * FROM services WHERE name = ? AND {state}", key.strip()
        else:
            sql, arg = (
                f"SELECT * FROM services WHERE aisid = ? AND {state}",
                parse_aisid(key).address,
            )
        return self._db.execute(sql + " ORDER BY row DESC LIMIT 1", (arg,)).fetchone()

    def _live_row(self, key: AISID | str | int) -> sqlite3.Row:
        r = self._find(key)
        if r is None:
            raise UnknownService("service", f"no registered service {str(key)!r}")
        return r

    def _free_service_id(self) -> int:
        used = [
            x
            for (x,) in self._db.execute(
                "SELECT service_id FROM services WHERE state != 'decommissioned' ORDER BY service_id"
            )
        ]
        want = 1
        for x in used:
            if x > want:
                break
            want = x + 1
        if want > SERVICE_ID_MAX:
            raise RegistryError("service_id", f"all {SERVICE_ID_MAX} service ids are in use")
        return want

    # -- lifecycle -----------------------------------------------------------------------------
    def register(
        self,
        name: str,
        aisid: AISID | str | int | Mapping[str, Any],
        site: str | int,
        nodes: Iterable[int] = (),
        traffic_class: int | None = None,
        deadline_us: int | None = None,
        replicas: Iterable[str | int] = (),
    ) -> ServiceRecord:
        """Register a service at ``site`` (on ``nodes``, empty: all), also provided at the
        ``replicas`` sites (all their nodes); refuses an invalid or duplicate AISID or name
        with :class:`RegistryError`."""
        name = self._name(name)
        a = self._check_aisid(aisid)
        s = self._site(site)
        node_ids = self._nodes(s, nodes)
        reps = self._replicas(s, replicas)
        tc = default_traffic_class(a.performance) if traffic_class is None else traffic_class
        if isinstance(tc, bool) or tc not in (0, 1):
            raise RegistryError(
                "traffic_class", f"must be 0 (best effort) or 1 (deterministic), got {tc!r}"
            )
        dl = a.performance * PERFORMANCE_UNIT_US if deadline_us is None else deadline_us
        if isinstance(dl, bool) or not isinstance(dl, int) or not 0 <= dl < 1 << 32:
            raise RegistryError("deadline_us", f"must be an int in 0..2**32-1, got {dl!r}")
        with self._tx() as db:
            for field_, key in (("name", name), ("aisid", a.address)):
                other = self._find(key)
                if other is not None:
                    raise RegistryError(
                        field_,
                        f"{key} is already registered (service {other['name']!r}, "
                        f"AISID {other['aisid']}, id {other['service_id']})",
                    )
            sid = self._free_service_id()
            t = self._now()
            cur = db.execute(
                "INSERT INTO services (name, aisid, prefix, object, function, method, performance,"
                " service_id, traffic_class, deadline_us, site, site_id, nodes, replicas, state,"
                " version, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'active',1,?,?)",
                (
                    name, a.address, str(a.prefix_network), a.object, a.function, a.method,
                    a.performance, sid, tc, dl, s.name, s.site_id, json.dumps(node_ids),
                    json.dumps(reps), t, t,
                ),
            )  # fmt: skip
            rec = self._record(
                db.execute("SELECT * FROM services WHERE row = ?", (cur.lastrowid,)).fetchone()
            )
            self._log(
                "register",
                cur.lastrowid,
                rec,
                {"site": s.name, "nodes": list(node_ids), "replicas": list(reps)},
            )
        return rec

    def migrate(
        self,
        aisid_or_name: AISID | str | int,
        site: str | int,
        nodes: Iterable[int] = (),
        replicas: Iterable[str | int] | None = None,
    ) -> ServiceRecord:
        """Move a service to ``site``/``nodes`` (``replicas``: the other sites providing it;
        None keeps them, less the new home); the old placement stays in the record
        (``previous_site``/``previous_nodes``, state ``migrating``) until
        :meth:`finish_migration`, so that flows in progress can finish there."""
        s = self._site(site)
        node_ids = self._nodes(s, nodes)
        with self._tx() as db:
            r = self._live_row(aisid_or_name)
            if replicas is None:
                replicas = [x for x in json.loads(r["replicas"]) if x != s.name]
            reps = self._replicas(s, replicas)
            if r["state"] == "migrating":
                raise RegistryError(
                    "state",
                    f"service {r['name']!r} is still migrating from {r['previous_site']}; "
                    "finish_migration first",
                )
            if (
                r["site"] == s.name
                and tuple(json.loads(r["nodes"])) == node_ids
                and json.loads(r["replicas"]) == reps
            ):
                raise RegistryError(
                    "site",
                    f"service {r['name']!r} is already at {s.name} on nodes {list(node_ids) or 'all'}",
                )
            db.execute(
                "UPDATE services SET previous_site = site, previous_nodes = nodes, site = ?,"
                " site_id = ?, nodes = ?, replicas = ?, state = 'migrating',"
                " version = version + 1, updated = ? WHERE row = ?",
                (s.name, s.site_id, json.dumps(node_ids), json.dumps(reps), self._now(), r["row"]),
            )
            rec = self._record(
                db.execute("SELECT * FROM services WHERE row = ?", (r["row"],)).fetchone()
            )
            self._log(
                "migrate",
                r["row"],
                rec,
                {
                    "from_site": r["site"],
                    "from_nodes": json.loads(r["nodes"]),
                    "site": s.name,
                    "nodes": list(node_ids),
                },
            )
        return rec

    def finish_migration(self, aisid_or_name: AISID | str | int) -> ServiceRecord:
        """The old placement is drained: forget it, state back to ``active``."""
        with self._tx() as db:
            r = self._live_row(aisid_or_name)
            if r["state"] != "migrating":
                raise RegistryError("state", f"service {r['name']!r} is not migrating")
            db.execute(
                "UPDATE services SET previous_site = NULL, previous_nodes = NULL, state = 'active',"
                " version = version + 1, updated = ? WHERE row = ?",
                (self._now(), r["row"]),
            )
            rec = self._record(
                db.execute("SELECT * FROM services WHERE row = ?", (r["row"],)).fetchone()
            )
            self._log("finish_migration", r["row"], rec, {"drained_site": r["previous_site"]})
        return rec

    def decommission(self, aisid_or_name: AISID | str | int) -> ServiceRecord:
        """Take a service out: no classification any more, its id, name and AISID are free."""
        with self._tx() as db:
            r = self._live_row(aisid_or_name)
            db.execute(
                "UPDATE services SET state = 'decommissioned', previous_site = NULL,"
                " previous_nodes = NULL, version = version + 1, updated = ? WHERE row = ?",
                (self._now(), r["row"]),
            )
            rec = self._record(
                db.execute("SELECT * FROM services WHERE row = ?", (r["row"],)).fetchone()
            )
            self._log("decommission", r["row"], rec, {"site": r["site"]})
        return rec

    def register_configured(self) -> list[ServiceRecord]:
        """Register the network file's ``services`` not yet registered (idempotent: a live
        service with the same name and AISID is kept as it is)."""
        out = []
        for svc in self.net.services:
            cur = self.query(svc.name)
            if cur is not None and cur.aisid == parse_aisid(svc.aisid).address:
                continue
            out.append(
                self.register(
                    svc.name,
                    svc.aisid,
                    svc.site,
                    svc.nodes,
                    traffic_class=svc.traffic_class,
                    deadline_us=svc.deadline_us or None,
                    replicas=svc.replicas,
                )
            )
        return out

    # -- queries -------------------------------------------------------------------------------
    def query(
        self, aisid_or_name: AISID | str | int, *, include_decommissioned: bool = False
    ) -> ServiceRecord | None:
        """The live service with that AISID or name (else the last decommissioned one when
        ``include_decommissioned``), or None. Text that is not an IPv6 address is a name; an
        int or an :class:`AISID` out of range raises RegistryError("aisid")."""
        with self._lock:
            r = self._find(aisid_or_name)
            if r is None and include_decommissioned:
                r = self._find(aisid_or_name, live=False)
        return self._record(r) if r is not None else None

    def answer_unknown(self, aisid: AISID | str | int | bytes) -> ServiceRecord | None:
        """An AISID the data plane punted as unknown: its live record (the gateway's entries are
        missing or stale, reinstall them) or None (not registered: refuse)."""
        if isinstance(aisid, bytes | bytearray):
            try:
                aisid = AISID.from_address(bytes(aisid))
            except AISIDError as e:
                raise RegistryError("aisid", str(e)) from None
        return self.query(parse_aisid(aisid))

    def services(self, active_only: bool = True) -> list[ServiceRecord]:
        """Live services (active and migrating) by service id; all rows when not active_only."""
        with self._lock:
            if active_only:
                rows = self._db.execute(
                    "SELECT * FROM services WHERE state != 'decommissioned' ORDER BY service_id"
                ).fetchall()
            else:
                rows = self._db.execute("SELECT * FROM services ORDER BY row").fetchall()
        return [self._record(r) for r in rows]

    def history(self, aisid_or_name: str | None = None) -> list[HistoryEvent]:
        """The event log, oldest first (of one service name or AISID when given)."""
        sql, args = "SELECT * FROM history", ()
        if aisid_or_name is not None:
            key = aisid_or_name.strip()
            if _is_address(key):
                key = parse_aisid(key).address
            sql, args = sql + " WHERE name = ? OR aisid = ?", (key, key)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            HistoryEvent(
                r["id"],
                r["time"],
                r["event"],
                r["name"],
                r["aisid"],
                r["service_id"],
                json.loads(r["detail"]),
            )
            for r in rows
        ]

    def revision(self) -> int:
        """A number that grows with every committed change (the last history id)."""
        with self._lock:
            (n,) = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM history").fetchone()
        return n

    def placement_nodes(self, rec: ServiceRecord, previous: bool = False) -> list[int]:
        """The node ids a record places the service on (``nodes`` empty: every node of the
        site); ``previous``: the placement being drained."""
        site_name, nodes = (
            (rec.previous_site, rec.previous_nodes) if previous else (rec.site, rec.nodes)
        )
        if site_name is None:
            return []
        if nodes:
            return list(nodes)
        return sorted(n.node_id for n in self._site(site_name).nodes)

    # -- entries -------------------------------------------------------------------------------
    def classify_entries(self, version: int, switch: str) -> list[TableEntry]:
        """``aisid.classify`` entries of every live service (exact AISID match) for ``switch``:
        gateways get them, other switches none. Unknown switch: KeyError."""
        sw = self.net.switch(switch)
        if sw.role not in ("ingress_gateway", "egress_gateway"):
            return []
        return [classify_entry(version, r) for r in self.services()]


def classify_entry(version: int, rec: ServiceRecord) -> TableEntry:
    """The exact-match ``aisid.classify`` entry of one service."""
    return entry(
        CLASSIFY,
        {
            "policy_version": Exact(version),
            "prefix": Lpm(int(ipaddress.IPv6Network(rec.prefix).network_address) >> 64, 64),
            "object": Ternary(rec.object, FIELD_MAX),
            "function": Ternary(rec.function, FIELD_MAX),
            "method": Ternary(rec.method, FIELD_MAX),
            "performance": Range(rec.performance, rec.performance),
        },
        SET_SERVICE,
        {
            "service_id": rec.service_id,
            "traffic_class": rec.traffic_class,
            "deadline_us": rec.deadline_us,
        },
        priority=CLASSIFY_PRIORITY,
    )


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text.strip())
    except ValueError:
        return False
    return True
