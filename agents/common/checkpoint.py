"""Safe checkpoint files: tensors in safetensors, config and provenance in a JSON sidecar.

A checkpoint ``NAME`` is the pair ``NAME.safetensors`` (the state dict, no pickle) and
``NAME.json`` (``{"format": ..., "config": {...}, "provenance": {...}}``). Provenance records how
the weights were made (command, seed, git revision, date) so a shipped policy can be reproduced.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

FORMAT = "cpn-p4-checkpoint/1"


def _stem(path: str | Path) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in {".safetensors", ".json"} else path


REPO_ROOT = Path(__file__).resolve().parents[2]


def portable_path(path: str | Path, root: Path = REPO_ROOT) -> str:
    """``path`` relative to ``root`` (the repository by default) when it lies inside it."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return str(path)
    return str(path)


def portable_command(argv: list[str] | None = None) -> str:
    """The command line that made a file, without the machine's absolute paths: a script run
    as ``python -m pkg`` (``sys.argv[0]`` is then ``/abs/pkg/__main__.py``) is written so, and
    arguments inside the repository are made relative to it."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return "python"
    head = portable_path(argv[0])
    if head.endswith("/__main__.py") and not Path(head).is_absolute():
        head = "-m " + head.removesuffix("/__main__.py").replace("/", ".")
    return " ".join(["python", head, *(portable_path(a) for a in argv[1:])])


def default_provenance(seed: int | None = None, **extra: Any) -> dict[str, Any]:
    """Who made a checkpoint: command line (no absolute paths), seed, git revision, UTC time."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {
        "command": portable_command(),
        "seed": seed,
        "git_revision": rev or None,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        **extra,
    }


def save_checkpoint(
    path: str | Path,
    state_dict: dict[str, torch.Tensor],
    config: dict[str, Any],
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``path.safetensors`` and ``path.json``; return the stem."""
    stem = _stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(stem.with_suffix(".safetensors")))
    meta = {"format": FORMAT, "config": config, "provenance": provenance or default_provenance()}
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return stem


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`: (state dict, sidecar)."""
    stem = _stem(path)
    weights = stem.with_suffix(".safetensors")
    sidecar = stem.with_suffix(".json")
    if not weights.exists() or not sidecar.exists():
        raise FileNotFoundError(f"checkpoint {stem} needs both {weights.name} and {sidecar.name}")
    meta = json.loads(sidecar.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{sidecar}: not a {FORMAT} sidecar (format={meta.get('format')!r})")
    return load_file(str(weights)), meta


def save_training_state(path: str | Path, state: dict[str, Any]) -> None:
    """Resumable training state (optimizer, step counters, RNG); loaded with weights_only=True."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_training_state(path: str | Path) -> dict[str, Any]:
    return torch.load(Path(path), weights_only=True)
