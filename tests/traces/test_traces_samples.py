"""The committed sample pcaps are what ``python -m traces.samples`` writes, and tshark reads them."""

import shutil
import subprocess

import pytest

from traces.samples import PCAP_DIR, SAMPLES, write_samples


def test_committed_pcaps_are_current(tmp_path):
    for path in write_samples(tmp_path):
        committed = PCAP_DIR / path.name
        assert committed.exists(), f"{committed} missing: run python -m traces.samples"
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale"


@pytest.mark.skipif(
    shutil.which("tshark") is None, reason="tshark not installed (apt install tshark)"
)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_tshark_reads_sample(name):
    fields = ["-T", "fields", "-e", "frame.number", "-e", "ipv6.dst", "-e", "ipv6.routing.segleft"]
    out = subprocess.run(
        ["tshark", "-n", "-r", str(PCAP_DIR / name), *fields],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert len(rows) == len(SAMPLES[name]())
    if name == "srv6_path.pcap":
        # Outer destinations follow the path; Segments Left counts down 2, 1, 0.
        assert [r[2] for r in rows] == ["", "2", "1", "0", ""]
        assert rows[1][1].startswith("fc00:0:2::100")
        assert rows[4][1] == "fd00:4::21"
