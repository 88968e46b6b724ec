"""The STF files in tests/dataplane/stf/ pass on the embedded switch (the same files run on real
BMv2 with ``python -m p4target.stf p4src/cpn.p4 FILE -I p4src/include --target bmv2``).

All but cpn_transit.stf are written by ``stf_scenarios.py``, which checks every expected packet
against the Scapy-built packet the Python tests expect; they must match its current output."""

from pathlib import Path

import pytest
from cpn_harness import cpn_json
from stf_scenarios import SCENARIOS

from p4target.stf import run_stf

STF_DIR = Path(__file__).with_name("stf")


@pytest.mark.parametrize("stf", sorted(STF_DIR.glob("*.stf")), ids=lambda p: p.name)
def test_stf(stf):
    result = run_stf(str(stf), json=cpn_json())
    assert result.ok, result.report()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_generated_stf_is_current(name):
    """Regenerate with ``python tests/dataplane/stf_scenarios.py``."""
    assert (STF_DIR / name).read_text() == SCENARIOS[name]()


def test_a_wrong_expected_byte_fails(tmp_path):
    text = (STF_DIR / "cpn_egress_gateway.stf").read_text().splitlines()
    i = next(i for i, ln in enumerate(text) if ln.startswith("expect 3 "))
    last = text[i][-3]
    text[i] = text[i][:-3] + ("0" if last != "0" else "1") + text[i][-2:]
    bad = tmp_path / "bad.stf"
    bad.write_text("\n".join(text) + "\n")
    result = run_stf(str(bad), json=cpn_json())
    assert not result.ok
