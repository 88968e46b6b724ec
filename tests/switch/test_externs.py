"""Stateful externs and v1model primitives on hand-written BMv2 JSON."""

from __future__ import annotations

import zlib

import pytest
from sw_jsonlib import action_prog, assign, const, fld, hdr, op, prim, table_prog

from p4target.switch import BadValueError, Exact, Switch, UnknownNameError
from p4target.switch.hashes import crc16, csum16, xor16

SM = "standard_metadata"
FWD = assign(fld(SM, "egress_spec"), const(1))


def run(sw: Switch, data: bytes) -> bytes | None:
    out: list[bytes] = []
    sw.tx_callbacks[:] = [lambda _p, d: out.append(d)]
    sw.receive(0, data)  # virtual clock: processed at once, no time passes
    return out[0] if out else None


def test_registers_read_then_write_and_control_api() -> None:
    def setup(p):  # noqa: ANN001
        p.registers.append({"name": "MyIngress.r", "id": 0, "size": 4, "bitwidth": 16})

    prog = action_prog(
        [("idx", 8), ("val", 16), ("old", 16)],
        [
            prim(
                "register_read",
                fld("h", "old"),
                {"type": "register_array", "value": "MyIngress.r"},
                fld("h", "idx"),
            ),
            prim(
                "register_write",
                {"type": "register_array", "value": "MyIngress.r"},
                fld("h", "idx"),
                fld("h", "val"),
            ),
            FWD,
        ],
        setup=setup,
    )
    sw = Switch(prog.json())
    assert run(sw, bytes([2, 0x12, 0x34, 0, 0])) == bytes([2, 0x12, 0x34, 0, 0])
    assert run(sw, bytes([2, 0xAB, 0xCD, 0, 0])) == bytes([2, 0xAB, 0xCD, 0x12, 0x34])
    assert sw.register_read("r", 2) == 0xABCD
    assert sw.register_read("MyIngress.r") == [0, 0, 0xABCD, 0]
    run(sw, bytes([9, 0xFF, 0xFF, 0, 0]))  # out of range: nothing happens
    assert sw.register_read("r") == [0, 0, 0xABCD, 0]
    sw.register_write("r", 1, 7)
    assert run(sw, bytes([1, 0, 0, 0, 0]))[3:] == b"\x00\x07"
    with pytest.raises(BadValueError):
        sw.register_write("r", 1, 1 << 16)
    with pytest.raises(BadValueError):
        sw.register_read("r", 4)
    with pytest.raises(UnknownNameError):
        sw.register_read("nope", 0)
    sw.register_reset("r")
    assert sw.register_read("r") == [0, 0, 0, 0]


def test_indirect_counter_counts_packets_and_ingress_bytes() -> None:
    def setup(p):  # noqa: ANN001
        p.counters.append({"name": "MyIngress.c", "id": 0, "size": 4, "is_direct": False})

    prog = action_prog(
        [("idx", 8)],
        [prim("count", {"type": "counter_array", "value": "MyIngress.c"}, fld("h", "idx")), FWD],
        setup=setup,
    )
    sw = Switch(prog.json())
    run(sw, bytes([1]) + bytes(9))
    run(sw, bytes([1]) + bytes(19))
    run(sw, bytes([3]))
    run(sw, bytes([200]))  # out of range: ignored
    assert sw.counter_read("c", 1) == (2, 30)
    assert sw.counter_read("c", 3) == (1, 1)
    sw.counter_write("c", 1, 5, 6)
    assert sw.counter_read("c", 1) == (5, 6)
    sw.counter_reset("c")
    assert sw.counter_read("c", 1) == (0, 0)


def _meter_prog(kind: str = "packets"):  # noqa: ANN202
    def setup(p):  # noqa: ANN001
        p.meters.append(
            {
                "name": "MyIngress.m",
                "id": 0,
                "type": kind,
                "rate_count": 2,
                "size": 2,
                "is_direct": False,
            }
        )

    return action_prog(
        [("idx", 8), ("color", 8)],
        [
            prim(
                "execute_meter",
                {"type": "meter_array", "value": "MyIngress.m"},
                fld("h", "idx"),
                fld("h", "color"),
            ),
            FWD,
        ],
        setup=setup,
    )


def test_meter_two_rate_three_color() -> None:
    sw = Switch(_meter_prog().json())
    colors = [run(sw, bytes([0, 9]))[1] for _ in range(3)]
    assert colors == [0, 0, 0]  # unconfigured: GREEN
    sw.meter_set_rates("m", 0, [(0.001, 2), (0.002, 4)])  # 1 pkt/ms committed, 2 pkt/ms peak
    colors = [run(sw, bytes([0, 9]))[1] for _ in range(6)]
    assert colors == [0, 0, 1, 1, 2, 2]  # GREEN x2 (CBS), YELLOW x2 (PBS), then RED
    sw.advance(1000.0)  # 1 committed token, 2 peak tokens
    colors = [run(sw, bytes([0, 9]))[1] for _ in range(4)]
    assert colors == [0, 1, 2, 2]
    assert sw.meter_get_rates("m", 0) == [(0.001, 2), (0.002, 4)]
    assert run(sw, bytes([1, 9]))[1] == 0  # other index untouched
    with pytest.raises(BadValueError):
        sw.meter_set_rates("m", 0, [(0.002, 2), (0.001, 4)])  # CIR > PIR


def test_byte_meter_uses_packet_length() -> None:
    sw = Switch(_meter_prog("bytes").json())
    sw.meter_set_rates("m", None, [(0.0, 100), (0.0, 150)])
    assert run(sw, bytes([0, 0]) + bytes(98))[1] == 0  # 100 bytes: fits both
    assert run(sw, bytes([0, 0]) + bytes(48))[1] == 1  # 50 bytes: PIR ok, CIR empty
    assert run(sw, bytes([0, 0]) + bytes(8))[1] == 2


def _add_direct_meter(prog) -> None:  # noqa: ANN001
    """A packets meter MyIngress.dm bound to table t, colour into scalar ``color``."""
    prog.meters.append(
        {
            "name": "MyIngress.dm",
            "id": 0,
            "type": "packets",
            "rate_count": 2,
            "is_direct": True,
            "binding": "MyIngress.t",
            "result_target": ["scalars", "color"],
            "size": 1024,
        }
    )


def test_direct_counter_and_meter_count_hits_only() -> None:
    prog = table_prog([("exact", 8)])
    t = prog.pipelines["ingress"]["tables"][0]
    t["with_counters"] = True
    t["direct_meters"] = "MyIngress.dm"
    prog.add_scalar("color", 8)
    prog.counters.append(
        {"name": "MyIngress.dc", "id": 0, "is_direct": True, "binding": "MyIngress.t"}
    )
    _add_direct_meter(prog)
    sw = Switch(prog.json())
    h = sw.table_add("t", [Exact(1)], "fwd", [2])
    sw.table_entry_meter_set("t", h, [(0.0, 1), (0.0, 1)])
    for n in (10, 20, 30):
        sw.receive(0, bytes([1]) + bytes(n - 1))
    sw.receive(0, bytes([2]) + bytes(9))  # miss: not counted
    assert sw.table_entry_counter("t", h) == (3, 60)
    assert sw.counter_read("dc", h) == (3, 60)
    assert sw.table_entry_meter_get("t", h) == [(0.0, 1), (0.0, 1)]


@pytest.mark.parametrize(
    "algo,ref",
    [
        ("crc32", lambda b: zlib.crc32(b)),
        ("crc16", crc16),
        ("csum16", csum16),
        ("xor16", xor16),
        ("identity", lambda b: int.from_bytes(b[:8], "big")),
        ("crc32_custom", lambda b: zlib.crc32(b)),
    ],
)
def test_hash_offset_modulo_and_base(algo: str, ref) -> None:  # noqa: ANN001
    def setup(p):  # noqa: ANN001
        p.add_calc("calc", algo, [fld("h", "a"), fld("h", "b")])

    prog = action_prog(
        [("a", 16), ("b", 8), ("res", 16)],
        [
            prim(
                "modify_field_with_hash_based_offset",
                fld("h", "res"),
                const(100),
                {"type": "calculation", "value": "calc"},
                const(1000),
            ),
            FWD,
        ],
        setup=setup,
    )
    sw = Switch(prog.json())
    for a, b in [(0x1234, 0x56), (0, 0), (0xFFFF, 0xFF)]:
        data = a.to_bytes(2, "big") + bytes([b]) + b"\x00\x00"
        out = run(sw, data)
        want = (ref(data[:3]) % 1000 + 100) & 0xFFFF
        assert int.from_bytes(out[3:5], "big") == want


def test_random_is_in_range_and_seeded() -> None:
    prog = action_prog(
        [("r", 8)], [prim("modify_field_rng_uniform", fld("h", "r"), const(10), const(20)), FWD]
    )
    vals1 = [run(sw := Switch(prog.json(), seed=1), b"\x00")[0] for _ in range(1)]
    sw1, sw2 = Switch(prog.json(), seed=7), Switch(prog.json(), seed=7)
    a = [run(sw1, b"\x00")[0] for _ in range(50)]
    b = [run(sw2, b"\x00")[0] for _ in range(50)]
    assert a == b and all(10 <= v <= 20 for v in a + vals1) and len(set(a)) > 3
    del sw


def test_digest_messages_batching_and_ack_filter() -> None:
    def setup(p):  # noqa: ANN001
        p.learn_lists.append(
            {"id": 1, "name": "mac_learn_t", "elements": [fld("h", "a"), fld("h", "b")]}
        )

    prog = action_prog(
        [("a", 8), ("b", 8)], [prim("generate_digest", const(0x512), const(1)), FWD], setup=setup
    )
    sw = Switch(prog.json())
    got = []
    sw.on_digest(got.append)
    run(sw, b"\x01\x02")
    assert [(m.name, m.list_id, m.samples) for m in got] == [("mac_learn_t", 1, [(1, 2)])]
    sw.digest_configure("mac_learn_t", max_list_size=3, max_timeout_us=500, ack_timeout_us=10_000)
    got.clear()
    for d in (b"\x01\x02", b"\x01\x02", b"\x03\x04"):
        run(sw, d)
    assert got == []  # batching: waits for 3 samples or the timeout; duplicate filtered
    sw.advance(600)
    assert [m.samples for m in got] == [[(1, 2), (3, 4)]]
    run(sw, b"\x01\x02")
    sw.advance(600)
    assert len(got) == 1  # unacknowledged: filtered
    sw.digest_ack("mac_learn_t", got[0].msg_id)
    run(sw, b"\x01\x02")
    sw.advance(600)
    assert [m.samples for m in got[1:]] == [[(1, 2)]]


def test_log_msg_assert_and_exit() -> None:
    prog = action_prog(
        [("a", 8), ("b", 8)],
        [
            prim(
                "log_msg",
                {"type": "string", "value": "a={} b={}"},
                {"type": "parameters_vector", "value": [fld("h", "a"), fld("h", "b")]},
            ),
            prim("assert", op("d2b", None, fld("h", "a"))),
            FWD,
            prim("exit"),
            assign(fld("h", "b"), const(0xEE)),  # BMv2 finishes the action (p4c jumps over)
        ],
        egress=[assign(fld("h", "b"), op("+", fld("h", "b"), const(1)))],
    )
    prog.add_action("later", [], [assign(fld("h", "a"), const(0x99))])
    ing = prog.pipelines["ingress"]["tables"][0]
    aid = len(prog.actions) - 1
    prog.add_table("ingress", "tbl_later", [], [aid], default=(aid, []))
    ing["base_default_next"] = "tbl_later"
    ing["next_tables"] = {"ingress_act": "tbl_later"}
    sw = Switch(prog.json())
    # exit: the next table (tbl_later) is skipped, egress still runs
    assert run(sw, b"\x05\x07") == b"\x05\xef"
    assert sw.log_messages[-1] == "a=5 b=7"
    assert run(sw, b"\x00\x07") is None  # assert fails: dropped and counted
    assert sw.stats()["drops"]["assert_failed"] == 1


def test_jumps_inside_an_action() -> None:
    # if (h.a == 1) { h.b = 10 } else { h.b = 20 }  as p4c lowers it with _jump_if_zero/_jump
    prog = action_prog(
        [("a", 8), ("b", 8)],
        [
            prim("_jump_if_zero", op("b2d", None, op("==", fld("h", "a"), const(1))), const(3)),
            assign(fld("h", "b"), const(10)),
            prim("_jump", const(4)),
            assign(fld("h", "b"), const(20)),
            FWD,
        ],
    )
    sw = Switch(prog.json())
    assert run(sw, b"\x01\x00") == b"\x01\x0a"
    assert run(sw, b"\x02\x00") == b"\x02\x14"


def test_expression_operators() -> None:
    sat = op("usat_cast", op("+", fld("h", "a"), fld("h", "b")), const(8))
    ssat = op("sat_cast", op("-", fld("h", "s"), const(100)), const(8))
    prog = action_prog(
        [
            ("a", 8),
            ("b", 8),
            ("s", 8),
            ("r1", 8),
            ("r2", 8),
            ("r3", 8),
            ("r4", 8),
            ("r5", 8),
            ("r6", 8),
        ],
        [
            assign(fld("h", "r1"), sat),
            assign(fld("h", "r2"), op("&", ssat, const(0xFF))),
            assign(
                fld("h", "r3"),
                op(
                    "?",
                    op("<<", fld("h", "a"), const(1)),
                    op(">>", fld("h", "a"), const(1)),
                    cond=op(">", fld("h", "a"), fld("h", "b")),
                ),
            ),
            assign(fld("h", "r4"), op("&", op("~", None, fld("h", "a")), const(0xFF))),
            assign(
                fld("h", "r5"),
                op(
                    "&", op("two_comp_mod", op("-", const(0), fld("h", "a")), const(8)), const(0xFF)
                ),
            ),
            assign(fld("h", "r6"), op("%", fld("h", "a"), const(7))),
            FWD,
        ],
    )
    prog.header_types[-1]["fields"][2][2] = True  # h.s is int<8>
    sw = Switch(prog.json())
    out = run(sw, bytes([200, 100, 0x90, 0, 0, 0, 0, 0, 0]))  # s = -112
    assert out[3] == 255  # 200 |+| 100 saturates
    assert out[4] == 0x80  # -112 - 100 saturates to -128
    assert out[5] == 144  # a > b: (200 << 1) & 0xff
    assert out[6] == 0x37 and out[7] == 56 and out[8] == 200 % 7


def test_unary_minus_with_null_left_operand() -> None:
    """p4c emits ``-x`` as {"op": "-", "left": null, ...}; BMv2 reads it as 0 - x."""
    neg = {"type": "expression", "value": {"op": "-", "left": None, "right": fld("h", "a")}}
    prog = action_prog(
        [("a", 8), ("b", 8)], [assign(fld("h", "b"), op("&", neg, const(0xFF))), FWD]
    )
    sw = Switch(prog.json())
    assert run(sw, b"\x05\x00") == b"\x05\xfb"


def test_checksum_with_payload_verify_and_update() -> None:
    """update/verify_checksum_with_payload: the calculation covers the fields, then the
    unparsed payload (BMv2's ``payload`` calculation input)."""

    def setup(p):  # noqa: ANN001
        p.add_calc("ck", "csum16", [fld("h", "a"), fld("h", "b"), {"type": "payload"}])
        cond = {"type": "expression", "value": {"op": "valid", "left": None, "right": hdr("h")}}
        p.add_checksum("v", ["h", "ck"], "ck", True, False, cond)
        p.add_checksum("u", ["h", "ck"], "ck", False, True, cond)

    prog = action_prog(
        [("a", 8), ("b", 16), ("ck", 16), ("err", 8)],
        [
            assign(fld("h", "err"), fld(SM, "checksum_error")),
            assign(fld("h", "a"), op("+", fld("h", "a"), const(1))),
            FWD,
        ],
        setup=setup,
    )
    sw = Switch(prog.json())
    payload = b"hello, world!"
    good = csum16(bytes([7, 0x12, 0x34]) + payload)
    out = run(sw, bytes([7, 0x12, 0x34]) + good.to_bytes(2, "big") + b"\x00" + payload)
    assert out[5] == 0  # verified
    assert int.from_bytes(out[3:5], "big") == csum16(bytes([8, 0x12, 0x34]) + payload)
    assert out[6:] == payload
    out = run(sw, bytes([7, 0x12, 0x34, 0, 0, 0]) + payload)
    assert out[5] == 1  # wrong checksum: checksum_error, packet still forwarded


def test_direct_meter_reset_unconfigures_and_rolls_back() -> None:
    prog = table_prog([("exact", 8)])
    prog.pipelines["ingress"]["tables"][0]["direct_meters"] = "MyIngress.dm"
    prog.add_scalar("color", 8)
    _add_direct_meter(prog)
    sw = Switch(prog.json())
    h = sw.table_add("t", [Exact(1)], "fwd", [2])
    sw.table_entry_meter_set("t", h, [(0.5, 3), (1.0, 5)])
    with pytest.raises(RuntimeError), sw.batch():
        sw.table_entry_meter_reset("t", h)
        assert sw.table_entry_meter_get("t", h) == []
        raise RuntimeError("abort the batch")
    assert sw.table_entry_meter_get("t", h) == [(0.5, 3), (1.0, 5)]
    sw.table_entry_meter_reset("t", h)
    assert sw.table_entry_meter_get("t", h) == []
