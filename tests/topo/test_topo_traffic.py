"""Traffic-matrix loader (Abilene layout) and the gravity model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from topo import abilene, gravity_tm, load_abilene_tm
from topo.catalog import default_data_dir
from topo.traffic import ABILENE_UNIT_MBPS, TrafficFormatError

FIX = Path(__file__).parent / "fixtures"


def test_abilene_tm_units_and_layout():
    tm = load_abilene_tm(FIX / "tm2.txt")
    assert tm.shape == (2, 12, 12)
    assert tm[0, 0, 1] == pytest.approx(300.0 * ABILENE_UNIT_MBPS)
    assert tm[1, 3, 5] == pytest.approx((3 * 12 + 5) * 300.0 * ABILENE_UNIT_MBPS)  # row-major
    assert np.all(np.diagonal(tm, axis1=1, axis2=2) == 0.0)
    assert ABILENE_UNIT_MBPS == pytest.approx(100 * 8 / 300 / 1e6)


def test_abilene_tm_errors(tmp_path):
    bad = tmp_path / "tm.txt"
    bad.write_text("1 2 3\n")
    with pytest.raises(TrafficFormatError, match=r"tm\.txt:1: expected 144 values, got 3"):
        load_abilene_tm(bad)
    bad.write_text(" ".join(["-1"] * 144) + "\n")
    with pytest.raises(TrafficFormatError, match="negative"):
        load_abilene_tm(bad)


@pytest.mark.skipif(default_data_dir() is None, reason="shared data directory not present")
def test_real_abilene_series():
    tm = load_abilene_tm(default_data_dir() / "traffic/abilene_tm_train.txt")
    assert tm.shape == (2016, 12, 12)
    assert 500 < tm.sum(axis=(1, 2)).mean() < 20_000  # a few Gbit/s across Abilene


def test_gravity_tm_is_seeded_and_scaled():
    topo = abilene()
    a = gravity_tm(topo, 500, seed=1, total_mbps=1000.0)
    b = gravity_tm(topo, 500, seed=1, total_mbps=1000.0)
    assert np.array_equal(a, b)
    assert a.shape == (500, 12, 12)
    assert a.sum(axis=(1, 2)).mean() == pytest.approx(1000.0, rel=0.1)
    assert np.all(np.diagonal(a, axis1=1, axis2=2) == 0.0)
    assert not np.array_equal(a, gravity_tm(topo, 500, seed=2, total_mbps=1000.0))
