"""Typed errors of the embedded switch.

Every control-API failure raises a subclass of :class:`SwitchError` *before* changing any state,
so a caller (the STF runner, the P4Runtime server) can map each class to its own status code:

===========================  ==================================  ========================
exception                    meaning                             suggested gRPC code
===========================  ==================================  ========================
``ConfigError``              the BMv2 JSON cannot be loaded      INVALID_ARGUMENT
``UnsupportedError``         JSON uses something not supported   UNIMPLEMENTED
``UnknownNameError``         unknown table/action/field/...      NOT_FOUND
``BadValueError``            value, width, key or param invalid  INVALID_ARGUMENT
``DuplicateEntryError``      entry with the same key exists      ALREADY_EXISTS
``EntryNotFoundError``       no entry with that handle / key     NOT_FOUND
``TableFullError``           table (or profile) at max size      RESOURCE_EXHAUSTED
``ConstTableError``          const entries / const default       PERMISSION_DENIED
``InUseError``               member/group/node still referenced  FAILED_PRECONDITION
``NoPipelineError``          no program loaded (``--no-p4``)     FAILED_PRECONDITION
===========================  ==================================  ========================
"""

from __future__ import annotations


class SwitchError(Exception):
    """Base class of every error raised by the switch control API."""


class ConfigError(SwitchError):
    """The BMv2 JSON is malformed or inconsistent."""


class UnsupportedError(ConfigError):
    """The JSON uses a primitive, hash or feature this switch does not implement."""


class UnknownNameError(SwitchError, KeyError):
    """A table, action, field, register, counter, meter, profile or session does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else "unknown name"


class BadValueError(SwitchError, ValueError):
    """A value does not fit its width, a key has the wrong shape, or a parameter is missing."""


class DuplicateEntryError(SwitchError):
    """A table entry (or member, group, session) with the same key or id already exists."""


class EntryNotFoundError(SwitchError, KeyError):
    """No entry, member, group or node with that handle or key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "entry not found"


class TableFullError(SwitchError):
    """The table or action profile already holds ``max_size`` entries."""


class ConstTableError(SwitchError):
    """The table has const entries, or its default action is const."""


class InUseError(SwitchError):
    """The object is still referenced (member in a group or table entry, node in a group)."""


class NoPipelineError(SwitchError):
    """The switch was started without a program (``--no-p4``) and none is loaded yet."""
