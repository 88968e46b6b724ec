"""Shared fixtures for the latency tests: the measured NB201 table when /work/shared has it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

SHARED_CSV = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "nb201_latency"
    / "devices_visible.csv"
)


@pytest.fixture(autouse=True)
def _one_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="session")
def measured_csv() -> Path:
    if not SHARED_CSV.exists():
        pytest.skip(f"measured NB201 latency table not present ({SHARED_CSV}); shared data absent")
    return SHARED_CSV


@pytest.fixture(scope="session")
def measured_table(measured_csv):
    from agents.latency.dataset import load_latency_csv

    return load_latency_csv(measured_csv)
