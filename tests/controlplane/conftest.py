"""Shared fixtures of the control-plane tests: the cpn.p4 program, compiled once, and an
embedded switch behind a P4Runtime server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ctl_harness import Rig, line4
from embedded_switch import Served, start_switch

from controlplane.program import Program, load_program


@pytest.fixture(scope="session")
def cpn_program() -> Program:
    """cpn.p4's BMv2 JSON and P4Info (embedded compiler, or build/ when fresh)."""
    return load_program()


@pytest.fixture
def rig(tmp_path) -> Iterator[Rig]:
    """A started controller over line4 on embedded switches (test_api has its own, per module)."""
    r = Rig(line4(), tmp_path / "state")
    r.ctl.start()
    yield r
    r.close()


@pytest.fixture
def served() -> Iterator[Served]:
    """An embedded switch served on a free local port, stopped after the test."""
    s = start_switch()
    yield s
    s.stop()
