"""Per-request dumps of a run and where two dumps first differ (same seed, same run?).

A dump is a JSON-lines file, one line per request of the workload: every field of the client's
:class:`traces.client.RequestRecord` (times in µs of virtual time: ``t_start_us``,
``t_first_reply_us``, ``t_end_us``, ...; ``node_id``, ``address``, ``outcome``, ...), the client's
name, and what the caller adds (``seed``, ``method``). Rows are sorted by (``seed``, ``method``,
``t_start_us``, ``client``, ``request_id``) so that two runs of one workload line up.

``python -m cpn demo --dump PATH`` and ``python -m cpn experiment aisid-vs-dns --dump PATH`` write
one; ``python -m cpn diff-dumps A B`` compares two (exit 0 identical, 1 different, 2 bad input)::

    $ python -m cpn diff-dumps seed3.jsonl seed4.jsonl      # line4, 30 requests
    30 of 30 requests differ; first: seed 3 client request 0 (started at 0.000 us):
      compute_tflop 2.865 -> 9.368; data_bytes 2482771 -> 7914846; proto 'udp' -> 'tcp'; ...
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ORDER = ("seed", "method", "t_start_us", "client", "request_id")
ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("p4target", "topo", "traces", "controlplane", "cpn", "agents", "p4src")
CODE_SUFFIXES = (".py", ".c", ".h", ".p4")


def code_fingerprint(program_json: str | None = None) -> str:
    """12 hex digits of sha256 over the sources a run executes (``.py``, ``.c``, ``.h``,
    ``.p4`` under :data:`CODE_DIRS`, by path) and the BMv2 JSON pushed to the switches
    (default: :func:`controlplane.program.load_program`'s). Two runs of one seed that print
    different numbers and the same fingerprint are a determinism bug; different fingerprints
    mean the code changed between them (model checkpoints and data files are not included)."""
    if program_json is None:
        from controlplane.program import load_program

        program_json = load_program().json_text
    h = hashlib.sha256(program_json.encode())
    for d in CODE_DIRS:
        for f in sorted((ROOT / d).rglob("*")):
            if f.suffix in CODE_SUFFIXES and f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def request_rows(clients: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    """One row per request record of ``clients`` (name -> client with ``records``), with
    ``extra`` (e.g. ``seed=0, method="aisid"``) in every row, in dump order."""
    rows = []
    for name, client in clients.items():
        for rec in client.records.values():
            row = {**extra, "client": name, **dataclasses.asdict(rec)}
            rows.append(row)
    rows.sort(key=_key)
    return rows


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(row.get(k, "")) if k in ("method", "client") else row.get(k, 0) for k in ORDER)


def write_dump(path: str | Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON lines (floats exactly: ``repr`` round-trips)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True) + "\n")
    return p


def load_dump(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a dump; a line that is not a JSON object raises ValueError naming it."""
    rows = []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i}: not JSON: {e}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{i}: not a JSON object")
        rows.append(row)
    return rows


@dataclass
class Comparison:
    """How two dumps differ: ``differing`` rows (compared in order), the first of them."""

    rows_a: int
    rows_b: int
    differing: int
    first: tuple[dict[str, Any], dict[str, Any], list[str]] | None  # row a, row b, fields

    @property
    def identical(self) -> bool:
        return self.differing == 0 and self.rows_a == self.rows_b

    def text(self) -> str:
        if self.identical:
            return f"identical: {self.rows_a} requests"
        head = f"{self.differing} of {max(self.rows_a, self.rows_b)} requests differ"
        if self.rows_a != self.rows_b:
            head += f" ({self.rows_a} vs {self.rows_b} rows)"
        if self.first is None:
            return head
        a, b, fields = self.first
        who = [f"seed {a['seed']}"] if "seed" in a else []
        who += [str(a["method"])] if "method" in a else []
        where = (f"{' '.join([*who, str(a.get('client'))])} request {a.get('request_id')} "
                 f"(started at {a.get('t_start_us', 0):.3f} us)")  # fmt: skip
        what = "; ".join(f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in fields)
        return f"{head}; first: {where}:\n  {what}"


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> Comparison:
    """Compare two dumps row by row (both in dump order); a missing row counts as differing."""
    differing, first = 0, None
    for i in range(max(len(a), len(b))):
        ra, rb = (a[i] if i < len(a) else {}), (b[i] if i < len(b) else {})
        if ra == rb:
            continue
        differing += 1
        if first is None:
            fields = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
            first = (ra or rb, rb, fields)
    return Comparison(len(a), len(b), differing, first)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m cpn diff-dumps",
        description="Compare two per-request dumps (--dump of demo/experiment): the number of "
        "requests that differ and the first one. Exit 0 identical, 1 different.",
    )
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args(argv)
    try:
        c = compare(load_dump(args.a), load_dump(args.b))
    except (OSError, ValueError) as e:
        print(f"diff-dumps: {e}", file=sys.stderr)
        return 2
    print(c.text())
    return 0 if c.identical else 1
