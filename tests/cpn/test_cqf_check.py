"""``cpn.cqf_check``: CQF end to end on line4 (controller, transport policy offsets, taps)."""

from __future__ import annotations

import pytest

from cpn import cqf_check
from cpn.__main__ import COMMANDS


@pytest.fixture(scope="module")
def res() -> cqf_check.CqfResult:
    return cqf_check.run(seed=0, det_packets=40, burst_frames=100)


def test_deterministic_within_cqf_bound_besteffort_not(res: cqf_check.CqfResult) -> None:
    t = res.cycle_us
    assert t == 256 and res.policy == "base1+d3qn" and res.note == ""
    assert res.offset in (0, 1)
    lo, hi = res.offset * t, (2 + res.offset) * t
    assert [h for h, _ in res.hops] == ["igw", "t2", "t3"]
    assert res.det_sent == 40 and res.be_sent == 100 * 20
    # nothing lost, every packet delivered and seen at all three CQF hops
    assert res.losses == {}
    assert res.det_delivered == res.det_sent and res.be_delivered == res.be_sent
    for hop, v in res.det_hop_us.items():
        assert len(v) == res.det_sent, hop
        assert all(lo < d <= hi for d in v), (hop, min(v), max(v))
    assert len(res.det_e2e_us) == res.det_sent
    # best effort queues behind the bursts at igw: past the bound, far from it after
    be = res.be_hop_us["igw->t2"]
    assert len(be) == res.be_sent and max(be) > hi
    assert max(res.be_hop_us["t3->egw"]) < 20  # paced at line rate: serialisation only
    m = {n: v for n, v, _ in res.metrics()}
    assert m["cqf.deterministic.within_bound"] == "yes"
    assert m["cqf.besteffort.exceeds_bound"] == "yes"
    assert m["cqf.deterministic.per_hop_max_us"] <= hi < m["cqf.besteffort.per_hop_max_us"]
    # after the first hop the flow is cycle-aligned: its jitter there is what non-preemptive
    # best-effort frames in transmission at a cycle start add (12.1 µs each at 1 Gb/s), far
    # under the first hop's (arrival phase within a cycle)
    frame_us = (1400 + 62 + 80) * 8 / 1e9 * 1e6
    for hop in ("t2->t3", "t3->egw"):
        v = res.det_hop_us[hop]
        assert max(v) - min(v) <= 2 * frame_us + 1, hop
    v = res.det_hop_us["igw->t2"]
    assert max(v) - min(v) > t / 2


def test_report_files(res: cqf_check.CqfResult, tmp_path) -> None:
    md, png = cqf_check.write_report(res, tmp_path, "python -m cpn cqf --seed 0")
    text = md.read_text()
    assert "python -m cpn cqf --seed 0" in text and "cqf.deterministic.within_bound | yes" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_registered_and_bad_input(capsys) -> None:
    assert COMMANDS["cqf"] is cqf_check.main
    with pytest.raises(SystemExit):
        cqf_check.main(["--det-packets", "0"])
    assert "det_packets" in capsys.readouterr().err


def test_offset_zero_within_0_2T() -> None:
    """``sa`` keeps this lone flow at offset 0: every hop within (0, 2T], in fact (0, T] plus
    a frame, since CQF sends the packet at the start of the next cycle."""
    r = cqf_check.run(seed=0, policy="base1+sa", det_packets=20, burst_frames=100)
    assert r.offset == 0 and r.losses == {} and r.det_delivered == 20
    t = r.cycle_us
    for hop, v in r.det_hop_us.items():
        assert len(v) == 20 and all(0 < d <= 2 * t for d in v), hop
        assert max(v) <= t + 13, hop
    assert max(r.be_hop_us["igw->t2"]) > 2 * t
