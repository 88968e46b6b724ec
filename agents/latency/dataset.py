"""Loader for measured NAS-Bench-201 latency tables (``index, arch, <device>_ms, ...``).

The layout is the one of ``devices_visible.csv``: one row per cell, the NB201 ``index``, the arch
string, then one column of measured latency in milliseconds per device, named ``<device>_ms``.
Devices are named without the ``_ms`` suffix everywhere else in the package.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agents.latency.nb201 import parse_arch

MS_SUFFIX = "_ms"


def device_of_column(column: str) -> str:
    """``"pixel3_ms"`` -> ``"pixel3"``; names without the suffix pass through."""
    return column[: -len(MS_SUFFIX)] if column.endswith(MS_SUFFIX) else column


@dataclass(frozen=True)
class LatencyTable:
    """Measured latencies: ``latency_ms[i, j]`` is cell ``ops[i]`` on ``devices[j]``."""

    index: np.ndarray  # [N] NB201 benchmark index (the CSV's ``index`` column)
    archs: tuple[str, ...]
    ops: np.ndarray  # [N, 6] op indices
    devices: tuple[str, ...]
    latency_ms: np.ndarray  # [N, D]
    source: str = ""
    sha256: str = ""

    def __len__(self) -> int:
        return int(self.ops.shape[0])

    def column(self, device: str) -> np.ndarray:
        """Latencies (ms) of one device; ``device`` with or without ``_ms``."""
        name = device_of_column(device)
        if name not in self.devices:
            raise KeyError(
                f"no device {device!r} in {self.source or 'table'}; has {', '.join(self.devices)}"
            )
        return self.latency_ms[:, self.devices.index(name)]

    def subset(
        self, rows: np.ndarray | None = None, devices: list[str] | None = None
    ) -> LatencyTable:
        """A copy restricted to some rows and/or devices."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        names = list(self.devices) if devices is None else [device_of_column(d) for d in devices]
        cols = [self.devices.index(d) if d in self.devices else -1 for d in names]
        if -1 in cols:
            missing = [d for d, c in zip(names, cols, strict=True) if c < 0]
            raise KeyError(f"devices not in table: {missing}")
        return LatencyTable(
            index=self.index[rows],
            archs=tuple(self.archs[i] for i in rows.tolist()),
            ops=self.ops[rows],
            devices=tuple(names),
            latency_ms=self.latency_ms[np.ix_(rows, cols)],
            source=self.source,
            sha256=self.sha256,
        )


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_latency_csv(path: str | Path, max_rows: int | None = None) -> LatencyTable:
    """Read a latency CSV; raises ``ValueError`` naming the line of any malformed row."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"latency table {path} not found")
    with open(path, newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: empty file") from None
        header = [h.strip() for h in header]
        if len(header) < 3 or header[0] != "index" or header[1] != "arch":
            raise ValueError(
                f"{path}:1: header must be 'index,arch,<device>_ms,...', got {','.join(header[:4])}"
            )
        bad = [h for h in header[2:] if not h.endswith(MS_SUFFIX)]
        if bad:
            raise ValueError(f"{path}:1: latency columns must end in '_ms': {bad}")
        devices = tuple(device_of_column(h) for h in header[2:])
        if len(set(devices)) != len(devices):
            raise ValueError(f"{path}:1: duplicate device columns")
        index, archs, ops, lat = [], [], [], []
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}:{lineno}: {len(row)} fields, header has {len(header)}")
            try:
                cell = parse_arch(row[1])
                values = [float(v) for v in row[2:]]
                idx = int(row[0])
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: {exc}") from None
            if not all(np.isfinite(values)) or min(values) < 0:
                raise ValueError(f"{path}:{lineno}: latencies must be finite and non-negative")
            index.append(idx)
            archs.append(row[1])
            ops.append(cell.ops)
            lat.append(values)
            if max_rows is not None and len(index) >= max_rows:
                break
    if not index:
        raise ValueError(f"{path}: no data rows")
    return LatencyTable(
        index=np.asarray(index, dtype=np.int64),
        archs=tuple(archs),
        ops=np.asarray(ops, dtype=np.int64),
        devices=devices,
        latency_ms=np.asarray(lat, dtype=np.float64),
        source=str(path),
        sha256=file_sha256(path),
    )
