"""Clone (I2E, E2E, to port / multicast group), resubmit, recirculate, multicast, drop and
truncate, with simple_switch's instance types and preserved field lists."""

from __future__ import annotations

from typing import Any

import pytest
from sw_jsonlib import action_prog, assign, const, fld, hdr, op, prim

from p4target.switch import BadValueError, Switch

SM = "standard_metadata"
F = ["op", "itype", "rid", "eport", "x", "y", "iit"]


def eq(h: str, f: str, v: int) -> dict[str, Any]:
    return op("b2d", None, op("==", fld(h, f), const(v)))


def if_chain(
    branches: list[tuple[dict[str, Any], list[dict[str, Any]]]], base: int = 0
) -> list[dict[str, Any]]:
    """``if c1 {b1} else if c2 {b2} ...`` flattened with _jump_if_zero / _jump, as p4c does;
    ``base`` is the index of the first primitive of the chain in its action."""
    out: list[dict[str, Any]] = []
    fixups = []
    for cond, body in branches:
        jz = prim("_jump_if_zero", cond, const(0))
        out.append(jz)
        out.extend(body)
        j = prim("_jump", const(0))
        out.append(j)
        fixups.append(j)
        jz["parameters"][1] = const(base + len(out))
    for j in fixups:
        j["parameters"][0] = const(base + len(out))
    out.append(prim("no_op"))
    return out


def program() -> dict[str, Any]:
    keep, lost = fld("scalars", "keep"), fld("scalars", "lost")
    itype = fld(SM, "instance_type")
    ingress = [assign(fld("h", "iit"), op("&", itype, const(0xFF)))] + if_chain(
        [
            (
                eq("h", "op", 1),
                [
                    assign(keep, const(0x42)),
                    assign(lost, const(0x99)),
                    prim("clone_ingress_pkt_to_egress", const(5), const(1)),
                    assign(fld(SM, "egress_spec"), const(1)),
                ],
            ),
            (
                op(
                    "b2d",
                    None,
                    op("and", op("==", fld("h", "op"), const(2)), op("==", itype, const(0))),
                ),
                [assign(keep, const(0x42)), assign(lost, const(0x99)), prim("resubmit", const(1))],
            ),
            (eq("h", "op", 2), [assign(fld(SM, "egress_spec"), const(2))]),
            (eq("h", "op", 3), [assign(fld(SM, "mcast_grp"), const(7))]),
            (
                op(
                    "b2d",
                    None,
                    op("and", op("==", fld("h", "op"), const(4)), op("==", itype, const(4))),
                ),
                [assign(fld(SM, "egress_spec"), const(3))],
            ),
            (
                eq("h", "op", 4),
                [assign(keep, const(0x42)), assign(fld(SM, "egress_spec"), const(1))],
            ),
            (
                eq("h", "op", 5),
                [assign(keep, const(0x42)), assign(fld(SM, "egress_spec"), const(1))],
            ),
            (
                eq("h", "op", 6),
                [assign(fld(SM, "egress_spec"), const(1)), prim("mark_to_drop", hdr(SM))],
            ),
            (
                eq("h", "op", 7),
                [assign(fld(SM, "egress_spec"), const(1)), prim("truncate", const(3))],
            ),
            (
                eq("h", "op", 8),
                [
                    assign(keep, const(0x42)),
                    prim("clone_ingress_pkt_to_egress", const(9), const(1)),
                    assign(fld(SM, "egress_spec"), const(1)),
                ],
            ),
        ],
        base=1,
    )
    egress = [
        assign(fld("h", "itype"), op("&", itype, const(0xFF))),
        assign(fld("h", "rid"), op("&", fld(SM, "egress_rid"), const(0xFF))),
        assign(fld("h", "eport"), op("&", fld(SM, "egress_port"), const(0xFF))),
        assign(fld("h", "x"), keep),
        assign(fld("h", "y"), lost),
    ] + if_chain(
        [
            (
                op(
                    "b2d",
                    None,
                    op(
                        "and",
                        op("==", fld("h", "op"), const(4)),
                        op("==", fld(SM, "egress_port"), const(1)),
                    ),
                ),
                [prim("recirculate", const(1))],
            ),
            (
                op(
                    "b2d",
                    None,
                    op("and", op("==", fld("h", "op"), const(5)), op("==", itype, const(0))),
                ),
                [prim("clone_egress_pkt_to_egress", const(6), const(1))],
            ),
        ],
        base=5,
    )

    def setup(p):  # noqa: ANN001
        p.field_lists.append({"id": 1, "name": "fl", "elements": [fld("scalars", "keep")]})

    return action_prog(
        [(f, 8) for f in F], ingress, egress, scalars=[("keep", 8), ("lost", 8)], setup=setup
    ).json()


@pytest.fixture
def sw() -> Switch:
    s = Switch(program())
    s.mirroring_add(5, port=4)
    s.mirroring_add(6, port=5)
    s.mirroring_add(9, mgid=7)
    s.mc_set_group(7, [(1, 10), (2, 20)])
    return s


def send(sw: Switch, opcode: int) -> list[tuple[int, dict[str, int]]]:
    out: list[tuple[int, dict[str, int]]] = []
    sw.tx_callbacks[:] = [
        lambda p, d: out.append((p, dict(zip(F, d, strict=False)) | {"len": len(d)}))
    ]
    sw.receive(9, bytes([opcode, 0, 0, 0, 0, 0, 0]) + b"payload")
    sw.run_until_idle()
    return out


def test_ingress_clone_preserves_listed_fields_only(sw: Switch) -> None:
    out = dict(send(sw, 1))
    assert out[1]["itype"] == 0 and out[1]["x"] == 0x42 and out[1]["y"] == 0x99
    assert out[4]["itype"] == 1 and out[4]["x"] == 0x42 and out[4]["y"] == 0  # reset, not in list
    assert out[4]["eport"] == 4
    assert sw.stats()["events"]["clone_i2e"] == 1


def test_clone_to_unknown_session_is_counted_not_sent(sw: Switch) -> None:
    sw.mirroring_delete(5)
    assert [p for p, _ in send(sw, 1)] == [1]
    assert sw.stats()["drops"]["clone_no_session"] == 1


def test_resubmit_reparses_original_with_field_list(sw: Switch) -> None:
    (only,) = send(sw, 2)
    port, h = only
    # RESUBMIT in ingress; simple_switch enqueues every unicast packet as NORMAL
    assert port == 2 and h["iit"] == 6 and h["itype"] == 0 and h["x"] == 0x42 and h["y"] == 0


def test_multicast_replicas_with_rid(sw: Switch) -> None:
    out = send(sw, 3)
    assert [(p, h["rid"], h["itype"], h["eport"]) for p, h in out] == [(1, 10, 5, 1), (2, 20, 5, 2)]


def test_recirculate_reenters_ingress_with_field_list(sw: Switch) -> None:
    out = send(sw, 4)
    assert [(p, h["iit"], h["itype"], h["x"]) for p, h in out] == [(3, 4, 0, 0x42)]


def test_egress_clone(sw: Switch) -> None:
    out = dict(send(sw, 5))
    assert out[1]["itype"] == 0
    assert out[5]["itype"] == 2 and out[5]["x"] == 0x42 and out[5]["eport"] == 5


def test_mark_to_drop_and_truncate(sw: Switch) -> None:
    assert send(sw, 6) == []
    assert sw.stats()["drops"]["ingress_drop"] == 1
    (t,) = send(sw, 7)
    assert t[1]["len"] == 3


def test_clone_to_multicast_group_and_truncated_session(sw: Switch) -> None:
    out = send(sw, 8)
    clones = [(p, h["itype"], h["rid"]) for p, h in out if h["itype"] == 1]
    assert clones == [(1, 1, 10), (2, 1, 20)]
    sw.mirroring_add(5, port=4, truncate=4)
    out = dict(send(sw, 1))
    assert out[4]["len"] == 4 and out[1]["len"] == 14


def test_pre_cli_style_nodes_and_errors(sw: Switch) -> None:
    sw.mc_group_create(8)
    n1 = sw.mc_node_create(30, [3, 1])
    n2 = sw.mc_node_create(31, [2])
    sw.mc_node_associate(8, n2)
    sw.mc_node_associate(8, n1)
    assert sw.mc_group_replicas(8) == [(2, 31), (1, 30), (3, 30)]
    with pytest.raises(BadValueError):
        sw.mirroring_add(40000, port=1)
    with pytest.raises(BadValueError):
        sw.mc_set_group(0, [(1, 1)])


def test_clone_session_class_of_service_is_the_clone_queue(sw: Switch) -> None:
    sw.mirroring_add(5, port=4, cos=0)
    assert sorted(p for p, _ in send(sw, 1)) == [1, 4]
    # one queue per port (no --priority-queues): a clone queued at priority 3 is dropped, as
    # simple_switch drops a priority beyond its queues; the original is unaffected
    sw.mirroring_add(5, port=4, cos=3)
    assert sw.mirroring_get(5).cos == 3
    assert [p for p, _ in send(sw, 1)] == [1]
    assert sw.stats()["drops"]["priority_out_of_range"] == 1
    with pytest.raises(BadValueError):
        sw.mirroring_add(5, port=4, cos=8)
    assert sw.mirroring_get(5).cos == 3


def test_callbacks_can_be_removed(sw: Switch) -> None:
    seen: list[int] = []

    def cb(port: int, data: bytes) -> None:
        seen.append(port)

    sw.on_transmit(cb)
    sw.receive(9, bytes([3, 0, 0, 0, 0, 0, 0]))
    sw.run_until_idle()
    assert seen == [1, 2]
    sw.off_transmit(cb)
    sw.off_transmit(cb)  # unknown callback: no-op
    sw.receive(9, bytes([3, 0, 0, 0, 0, 0, 0]))
    sw.run_until_idle()
    assert seen == [1, 2]
