"""The controller's durable state: settings and the swap journal survive a restart."""

from __future__ import annotations

import pytest

from controlplane.store import ControllerStore
from controlplane.swap import next_version


def test_settings_survive_reopen(tmp_path):
    db = tmp_path / "c.sqlite"
    s = ControllerStore(db)
    s.set(policy="rlmscpn", version=7)
    s.close()
    s2 = ControllerStore(db)
    assert s2.get("policy") == "rlmscpn"
    assert s2.get("version") == 7
    assert s2.get("missing", 3) == 3


def test_swap_journal_pending_until_finished(tmp_path):
    s = ControllerStore(tmp_path / "c.sqlite")
    sid = s.swap_begin(1, 2, "base1", "rlmscpn")
    assert s.pending_swap().stage == "prepared"
    s.swap_stage(sid, "flipped")
    s.close()
    s = ControllerStore(tmp_path / "c.sqlite")  # a controller killed after the flip
    rec = s.pending_swap()
    assert (rec.old_version, rec.new_version, rec.stage) == (1, 2, "flipped")
    s.swap_stage(rec.id, "recovered", "finished")
    assert s.pending_swap() is None
    assert [r.stage for r in s.swaps()] == ["recovered"]
    with pytest.raises(ValueError, match="unknown swap stage"):
        s.swap_stage(rec.id, "half-done")


def test_next_version_wraps_and_skips_zero():
    assert next_version(1) == 2
    assert next_version(0xFFFF) == 1
