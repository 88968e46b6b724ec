"""The interface through which the control plane meets a learned scheduler.

A policy is loaded from a checkpoint and answers one decision at a time, deterministically (no
exploration) unless asked otherwise. Requests and decisions are plain dataclasses defined by each
scheduler's package (numbers and node ids, never P4 names): the control plane turns decisions into
table entries, and agents know nothing of P4.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable


@runtime_checkable
class Policy(Protocol):
    """A trained (or baseline) scheduler: ``decide(request, state) -> decision``."""

    name: str

    def decide(self, request: Any, state: Any) -> Any:
        """Answer one request given the current network/compute state."""
        ...

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Load from a checkpoint written by ``agents.common.checkpoint.save_checkpoint``."""
        ...
