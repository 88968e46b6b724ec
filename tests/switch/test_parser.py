"""Parser semantics on hand-written BMv2 JSON: header stacks, unions, varbit, lookahead,
advance, verify, value sets, masked select, and parser errors as simple_switch records them."""

from __future__ import annotations

from typing import Any

import pytest
from sw_jsonlib import Prog, assign, const, fld, hdr, op, prim

from p4target.switch import Switch

SM = "standard_metadata"
DEFAULT = {"type": "default", "value": None, "mask": None, "next_state": None}


def extract(value: Any, kind: str = "regular") -> dict[str, Any]:
    return {"op": "extract", "parameters": [{"type": kind, "value": value}]}


def trans(value: int, nxt: str | None, mask: int | None = None) -> dict[str, Any]:
    return {
        "type": "hexstr",
        "value": hex(value),
        "mask": hex(mask) if mask is not None else None,
        "next_state": nxt,
    }


def with_error_byte(p: Prog, ingress: list[dict[str, Any]] | None = None) -> None:
    """Ingress: prepend header ``err`` carrying parser_error (low byte), send to port 1."""
    p.add_header_type("err_t", [["e", 8, False]])
    p.add_header("err", "err_t")
    prims = [
        prim("add_header", hdr("err")),
        assign(fld("err", "e"), op("&", fld(SM, "parser_error"), const(0xFF))),
        assign(fld(SM, "egress_spec"), const(1)),
    ] + (ingress or [])
    aid = p.add_action("ing", [], prims)
    p.add_table("ingress", "tbl_ing", [], [aid], default=(aid, []))
    p.set_init("ingress", "tbl_ing")
    p.deparse_order.insert(0, "err")


def run(sw: Switch, data: bytes) -> bytes | None:
    out: list[bytes] = []
    sw.tx_callbacks[:] = [lambda _p, d: out.append(d)]
    sw.receive(0, data)
    return out[0] if out else None


def stack_prog(ingress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    p = Prog()
    p.add_header_type("ent_t", [["bos", 1, False], ["val", 7, False]])
    p.add_stack("s", "ent_t", 3)
    p.add_state(
        "start",
        [extract("s", "stack")],
        [{"type": "stack_field", "value": ["s", "bos"]}],
        [trans(1, None), {"type": "default", "value": None, "mask": None, "next_state": "start"}],
    )
    p.deparse_order = ["s[0]", "s[1]", "s[2]"]
    with_error_byte(p, ingress)
    return p.json()


def test_stack_loop_and_errors() -> None:
    sw = Switch(stack_prog())
    assert run(sw, bytes([0x05, 0x06, 0x87, 0xEE])) == bytes([0, 0x05, 0x06, 0x87, 0xEE])
    assert run(sw, bytes([0x05, 0x87, 0xEE])) == bytes([0, 0x05, 0x87, 0xEE])
    # a 4th entry: StackOutOfBounds (3); the 3 entries stay valid, the rest is payload
    assert run(sw, bytes([1, 2, 3, 4])) == bytes([3, 1, 2, 3, 4])
    # too short for the 2nd extract: PacketTooShort (1)
    assert run(sw, bytes([1])) == bytes([1, 1])
    assert sw.stats()["parser_errors"] == {"StackOutOfBounds": 1, "PacketTooShort": 1}


def test_stack_push_and_pop() -> None:
    push = [
        prim("push", {"type": "header_stack", "value": "s"}, const(1)),
        prim("add_header", hdr("s[0]")),
        assign(fld("s[0]", "val"), const(9)),
    ]
    sw = Switch(stack_prog(push))
    assert run(sw, bytes([0x05, 0x86])) == bytes([0, 9, 0x05, 0x86])
    sw = Switch(stack_prog([prim("pop", {"type": "header_stack", "value": "s"}, const(1))]))
    assert run(sw, bytes([0x05, 0x06, 0x87])) == bytes([0, 0x06, 0x87])
    # dynamic index: s[last].val = 0x11 through dereference_header_stack + access_field
    dyn = op(
        "access_field",
        op(
            "dereference_header_stack",
            {"type": "header_stack", "value": "s"},
            op("-", op("size_stack", None, {"type": "header_stack", "value": "s"}), const(1)),
        ),
        1,
    )
    sw = Switch(stack_prog([assign(dyn, const(0x11))]))
    assert run(sw, bytes([0x05, 0x86])) == bytes([0, 0x05, 0x91])


def test_header_union_members_are_exclusive() -> None:
    p = Prog()
    p.add_header_type("a_t", [["x", 8, False]])
    p.add_header_type("b_t", [["y", 16, False]])
    p.add_union("u", [("a", "a_t"), ("b", "b_t")])
    p.add_state(
        "start",
        [],
        [{"type": "lookahead", "value": [0, 8]}],
        [trans(0x0A, "pa"), trans(0x0B, "pb"), DEFAULT],
    )
    p.add_state("pa", [extract("u.a")])
    p.add_state("pb", [extract("u.b")])
    p.deparse_order = ["u.a", "u.b"]
    # ingress: when u.b is valid and its low byte is 0xFF, make u.a valid (u.b becomes invalid)
    cond_b = op(
        "and",
        op("valid_union", None, {"type": "header_union", "value": "u"}),
        op("==", fld("u.b", "y"), const(0x0BFF)),
    )
    with_error_byte(
        p,
        [
            prim("_jump_if_zero", op("b2d", None, cond_b), const(7)),
            prim("add_header", hdr("u.a")),
            assign(fld("u.a", "x"), const(0x77)),
        ],
    )
    sw = Switch(p.json())
    assert run(sw, bytes([0x0A, 1])) == bytes([0, 0x0A, 1])
    assert run(sw, bytes([0x0B, 1])) == bytes([0, 0x0B, 1])
    assert run(sw, bytes([0x0B, 0xFF, 2])) == bytes([0, 0x77, 2])


def vl_prog() -> dict[str, Any]:
    p = Prog()
    p.add_header_type("len_t", [["n", 8, False]])
    p.add_header_type("opt_t", [["data", "*"]], max_length=4)
    p.add_header("l", "len_t")
    p.add_header("o", "opt_t")
    p.add_state("start", [extract("l")], transitions=[{**DEFAULT, "next_state": "po"}])
    nbits = op("<<", fld("l", "n"), const(3))
    p.add_state(
        "po", [{"op": "extract_VL", "parameters": [{"type": "regular", "value": "o"}, nbits]}]
    )
    p.deparse_order = ["l", "o"]
    with_error_byte(p)
    return p.json()


def test_varbit_extract_and_deparse() -> None:
    sw = Switch(vl_prog())
    assert run(sw, bytes([3, 0xA, 0xB, 0xC, 0xEE])) == bytes([0, 3, 0xA, 0xB, 0xC, 0xEE])
    assert run(sw, bytes([0, 0xEE])) == bytes([0, 0, 0xEE])
    assert run(sw, bytes([5, 1, 2, 3, 4, 5])) == bytes([4, 5, 1, 2, 3, 4, 5])  # > max_length
    assert run(sw, bytes([3, 1])) == bytes([1, 3, 1])  # too short


def test_lookahead_advance_verify_vset_and_masked_select() -> None:
    p = Prog()
    p.add_header_type("h_t", [["t", 16, False]])
    p.add_header("h", "h_t")
    peek = p.add_scalar("peek", 16)
    hit = p.add_scalar("hit", 8)
    p.add_state(
        "start",
        [
            {"op": "set", "parameters": [peek, {"type": "lookahead", "value": [0, 16]}]},
            {"op": "advance", "parameters": [const(16)]},
            {"op": "verify", "parameters": [op("!=", peek, const(0xDEAD)), const(2)]},
            extract("h"),
        ],
        [fld("h", "t")],
        [
            {"type": "parse_vset", "value": "pvs", "mask": None, "next_state": "vs"},
            trans(0x0800, "masked", 0xFF00),
            DEFAULT,
        ],
    )
    p.add_state("vs", [{"op": "set", "parameters": [hit, const(1)]}])
    p.add_state("masked", [{"op": "set", "parameters": [hit, const(2)]}])
    p.vsets.append({"name": "pvs", "id": 0, "compressed_bitwidth": 16})
    p.deparse_order = ["h"]
    with_error_byte(p, [assign(fld("err", "e"), op("|", op("<<", fld("err", "e"), const(4)), hit))])
    sw = Switch(p.json())
    assert run(sw, bytes([0xAB, 0xCD, 0x08, 0x42])) == bytes([0x02, 0x08, 0x42])  # masked select
    assert run(sw, bytes([0xAB, 0xCD, 0x12, 0x34])) == bytes([0x00, 0x12, 0x34])
    sw.vset_add("pvs", 0x1234)
    assert run(sw, bytes([0xAB, 0xCD, 0x12, 0x34])) == bytes([0x01, 0x12, 0x34])
    assert sw.vset_values("pvs") == [0x1234]
    # verify fails: NoMatch (2); nothing extracted, the advanced bytes are gone
    assert run(sw, bytes([0xDE, 0xAD, 0x12, 0x34])) == bytes([0x20, 0x12, 0x34])
    assert run(sw, bytes([0xAB])) == bytes([0x10, 0xAB])  # advance past the end


@pytest.mark.parametrize("n", range(0, 6))
def test_truncated_inputs_never_raise(n: int) -> None:
    sw = Switch(vl_prog())
    assert run(sw, bytes([3, 1, 2, 3, 4])[:n]) is not None
    assert sw.stats()["drops"].get("internal_error", 0) == 0


def test_p4c_lookahead_of_a_header_and_ipv4_options_varbit() -> None:
    """What p4c emits for ``lookahead<hdr_t>()`` (a set of ``$valid$``) and for IPv4 with
    options as ``varbit`` (extract_VL with a computed length), hexstrs without ``0x``."""
    p = Prog()
    p.add_header_type("peek_t", [["version", 4, False], ["ihl", 4, False]])
    p.add_header_type(
        "ipv4_t",
        [["version", 4, False], ["ihl", 4, False], ["rest", 152, False], ["options", "*"]],
        max_length=60,
    )
    p.add_header("peek", "peek_t")
    p.add_header("ipv4", "ipv4_t")
    tmp = p.add_scalar("tmp", 8)
    nbits = op("<<", op("-", op("<<", fld("peek", "ihl"), const(2)), const(20)), const(3))
    p.add_state(
        "start",
        [
            {"op": "set", "parameters": [tmp, {"type": "lookahead", "value": [0, 8]}]},
            {"op": "set", "parameters": [fld("peek", "ihl"), op("&", tmp, const(0xF))]},
            {"op": "set", "parameters": [fld("peek", "$valid$"), const(1)]},
            {
                "op": "verify",
                "parameters": [
                    op(">=", fld("peek", "ihl"), const(5)),
                    {"type": "hexstr", "value": "10"},
                ],
            },
            {"op": "extract_VL", "parameters": [{"type": "regular", "value": "ipv4"}, nbits]},
        ],
    )
    p.deparse_order = ["ipv4"]
    with_error_byte(p)
    sw = Switch(p.json())
    hdr20 = bytes([0x45]) + bytes(19)
    assert run(sw, hdr20 + b"pay") == bytes([0]) + hdr20 + b"pay"
    hdr24 = bytes([0x46]) + bytes(19) + b"\x01\x02\x03\x04"
    assert run(sw, hdr24 + b"pay") == bytes([0]) + hdr24 + b"pay"
    # ihl 4: verify fails with error 0x10 (a hexstr without 0x is still hexadecimal)
    assert run(sw, bytes([0x44]) + bytes(19)) == bytes([0x10, 0x44]) + bytes(19)
