"""Conventions shared by every learned scheduler: the policy interface and checkpoint files."""

from agents.common.checkpoint import load_checkpoint, save_checkpoint
from agents.common.policy import Policy

__all__ = ["Policy", "load_checkpoint", "save_checkpoint"]
