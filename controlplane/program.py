"""The P4 program the controller pushes: BMv2 JSON + P4Info of ``p4src/cpn.p4``.

``load_program()`` takes ``build/cpn.json`` and its P4Info when ``make build`` made them
(real p4c's or the embedded compiler's), else compiles ``p4src/cpn.p4`` with the embedded
compiler. Paths may be given explicitly (``--json``/``--p4info`` on the command line).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from p4.config.v1 import p4info_pb2

ROOT = Path(__file__).resolve().parents[1]
CPN_P4 = ROOT / "p4src" / "cpn.p4"
BUILD = ROOT / "build"


@dataclass(frozen=True)
class Program:
    json_text: str  # BMv2 JSON as pushed (the device config bytes)
    p4info: p4info_pb2.P4Info
    source: str  # where it came from, for logs

    @property
    def json_bytes(self) -> bytes:
        return self.json_text.encode()


def read_p4info(path: str | Path) -> p4info_pb2.P4Info:
    """P4Info from a text (``.txt``/``.txtpb``), JSON or binary file."""
    p = Path(path)
    info = p4info_pb2.P4Info()
    if p.suffix == ".bin":
        info.ParseFromString(p.read_bytes())
    elif p.suffix == ".json":
        from google.protobuf import json_format

        json_format.Parse(p.read_text(), info)
    else:
        text_format.Parse(p.read_text(), info)
    return info


@functools.cache
def _compiled(defines: tuple[tuple[str, str], ...]) -> Program:
    from p4target.compiler import compile_file

    res = compile_file(
        str(CPN_P4), include_dirs=[str(CPN_P4.parent / "include")], defines=dict(defines)
    )
    return Program(json.dumps(res.json), res.p4info, "embedded compiler: p4src/cpn.p4")


def load_program(
    json_path: str | Path | None = None,
    p4info_path: str | Path | None = None,
    defines: dict[str, str] | None = None,
) -> Program:
    """The program from explicit files, from ``build/`` when fresh, else compiled in-process."""
    if json_path and p4info_path:
        return Program(Path(json_path).read_text(), read_p4info(p4info_path), str(json_path))
    if not defines:
        j = BUILD / "cpn.json"
        for info in (BUILD / "cpn.p4info.txtpb", BUILD / "cpn.p4info.txt"):
            if j.exists() and info.exists() and _fresh(j):
                return Program(j.read_text(), read_p4info(info), "build/cpn.json")
    return _compiled(tuple(sorted((defines or {}).items())))


def _fresh(built: Path) -> bool:
    """build/cpn.json is newer than every p4src file it was built from."""
    t = built.stat().st_mtime
    srcs = [CPN_P4, *(CPN_P4.parent / "include").glob("*.p4")]
    return all(s.stat().st_mtime <= t for s in srcs)
