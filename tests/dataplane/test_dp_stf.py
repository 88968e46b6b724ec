"""The STF files in tests/dataplane/stf/ pass on the embedded switch (the same files run on real
BMv2 with ``python -m p4target.stf p4src/cpn.p4 FILE -I p4src/include --target bmv2``)."""

from pathlib import Path

import pytest
from cpn_harness import cpn_json

from p4target.stf import run_stf

STF_DIR = Path(__file__).with_name("stf")


@pytest.mark.parametrize("stf", sorted(STF_DIR.glob("*.stf")), ids=lambda p: p.name)
def test_stf(stf):
    result = run_stf(str(stf), json=cpn_json())
    assert result.ok, result.report()
