"""Shared fixtures: one torch thread, a seeded Abilene simulator (built once per session)."""

from __future__ import annotations

import pytest
import torch

from agents.rlmscpn.config import abilene_config
from agents.rlmscpn.sim import ComputeNetworkSim
from topo import abilene


@pytest.fixture(autouse=True)
def _one_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="session")
def _abilene_sim() -> ComputeNetworkSim:
    # Gravity-model background (no data file needed) and oracle predictions (fast, exact).
    return ComputeNetworkSim(abilene(), abilene_config(), seed=0, predictions="oracle")


@pytest.fixture
def abilene_sim(_abilene_sim) -> ComputeNetworkSim:
    return _abilene_sim.clone()
