"""Shared fixtures of the control-plane tests: the cpn.p4 program, compiled once."""

from __future__ import annotations

import pytest

from controlplane.program import Program, load_program


@pytest.fixture(scope="session")
def cpn_program() -> Program:
    """cpn.p4's BMv2 JSON and P4Info (embedded compiler, or build/ when fresh)."""
    return load_program()
