"""Features that STF cannot observe, checked through the embedded switch's API on programs
compiled by the embedded compiler: digests (generate_digest + learn lists) and parser value
sets (parse_vsets)."""

from pathlib import Path

import pytest

from p4target.compiler import compile_file

P4 = Path(__file__).resolve().parents[1] / "p4"


@pytest.fixture
def switch_for():
    from p4target.switch import Switch

    def make(name: str):
        sw = Switch(compile_file(P4 / f"{name}.p4").json)
        ports = {n: sw.add_port(n) for n in (0, 1, 2, 3)}
        return sw, ports

    return make


def test_digest_carries_the_struct_fields(switch_for):
    sw, ports = switch_for("misc_externs")
    ports[2].send(bytes.fromhex("03ABCDEF00000000"))
    sw.run_until_idle()
    msgs = sw.poll_digests()
    assert [m.name for m in msgs] == ["learn_t"]
    assert msgs[0].samples == [(0xAB, 0xCDEF, 2)]
    assert ports[1].take() == [bytes.fromhex("03ABCDEF00000000")]
    ports[2].send(bytes.fromhex("00ABCDEF00000000"))  # no digest for other modes
    sw.run_until_idle()
    assert sw.poll_digests() == []


def test_value_set_membership_steers_the_parser(switch_for):
    sw, ports = switch_for("parser_select")
    vset = "P.special"  # the value set's control-plane name: parser type name + local name
    ports[0].send(bytes.fromhex("5050"))
    sw.vset_add(vset, 0x50)
    ports[0].send(bytes.fromhex("5050"))
    sw.run_until_idle()
    out = ports[1].take()
    # state ids: 7 = not in the set, 6 = in the set
    assert [o[0] for o in out] == [7, 6]


def test_direct_meter_colour_reaches_the_program(switch_for):
    from p4target.switch import Exact

    sw, ports = switch_for("stateful")
    h = sw.table_add("Ing.classify", [Exact(3)], "Ing.mark", [])
    sw.table_entry_meter_set("Ing.classify", h, [(0.000001, 1), (0.000001, 1)])
    for _ in range(2):
        ports[0].send(bytes.fromhex("03" + "00" * 7))
    sw.run_until_idle()
    out = ports[1].take()
    # direct_color (byte 6): green (0) for the first packet, red (2) for the second
    assert [o[6] for o in out] == [0, 2]
    assert [o[7] for o in out] == [1, 1]
