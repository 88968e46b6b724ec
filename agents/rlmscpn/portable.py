"""File names in committed results without the machine's absolute paths.

Reports, ``results.json`` and policy sidecars name a file relative to the repository, as
``data:REL`` relative to the data folder (``--data-dir`` / ``$CPN_P4_DATA_DIR``) with a content
hash, or as ``cache:NAME`` for the user's policy cache; :func:`resolve_data_ref` turns a
``data:`` reference back into a path on the machine that reads it.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from agents.common.checkpoint import REPO_ROOT

DATA_PREFIX = "data:"
CACHE_PREFIX = "cache:"
#: An absolute POSIX path of two or more components (not "Gbit/s": the slash must not follow
#: a word character).
_ABS_PATH = re.compile(r"(?<![\w.])/(?:[\w.+-]+/)+[\w.+-]+")


@lru_cache(maxsize=256)
def file_hash(path: str) -> str:
    """First 12 hex digits of the file's SHA-256 (empty when it cannot be read)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


def _under(path: Path, root: Path | None) -> str | None:
    if root is None:
        return None
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return None


def data_ref(path: str | Path, data_dir: Path | None) -> str:
    """``data:REL`` for a file in the data folder, the repository-relative path for one in the
    repository, ``cache:NAME`` for the policy cache, else the file name alone."""
    from agents.rlmscpn.scenario import cache_dir

    p = Path(path)
    if not p.is_absolute():
        return str(path)
    rel = _under(p, data_dir)
    if rel is not None:
        return DATA_PREFIX + rel
    rel = _under(p, REPO_ROOT)
    if rel is not None:
        return rel
    rel = _under(p, cache_dir())
    if rel is not None:
        return CACHE_PREFIX + rel
    return p.name


def resolve_data_ref(value: str | None, data_dir: Path | None) -> str | None:
    """A path for a ``data:`` reference (unchanged when it is not one or there is no folder)."""
    if value and value.startswith(DATA_PREFIX) and data_dir is not None:
        return str(Path(data_dir) / value.removeprefix(DATA_PREFIX))
    return value


def resolve_ref(ref: str, data_dir: Path | None = None) -> Path:
    """A path for a name written by :func:`data_ref` (``data:``, ``cache:``, repo-relative)."""
    from agents.rlmscpn.scenario import cache_dir

    if ref.startswith(CACHE_PREFIX):
        return cache_dir() / ref.removeprefix(CACHE_PREFIX)
    if ref.startswith(DATA_PREFIX):
        return Path(resolve_data_ref(ref.split(" (sha256:")[0], data_dir) or ref)
    p = Path(ref)
    return p if p.is_absolute() else REPO_ROOT / p


def portable_text(text: str, data_dir: Path | None) -> str:
    """Every absolute path in ``text`` as :func:`data_ref` names it; data-folder files get
    their content hash (``data:REL (sha256:...)``)."""

    def sub(m: re.Match[str]) -> str:
        ref = data_ref(m.group(0), data_dir)
        if ref.startswith(DATA_PREFIX):
            digest = file_hash(m.group(0))
            return f"{ref} (sha256:{digest})" if digest else ref
        return ref

    return _ABS_PATH.sub(sub, text)


def portable(obj: Any, data_dir: Path | None) -> Any:
    """``obj`` (JSON-like) with :func:`portable_text` applied to every string."""
    if isinstance(obj, str):
        return portable_text(obj, data_dir)
    if isinstance(obj, dict):
        return {k: portable(v, data_dir) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [portable(v, data_dir) for v in obj]
    return obj
