"""NB201 cell encoding: arch strings, the paper's matrices, enumeration and analytic costs."""

import numpy as np
import pytest

from agents.latency.nb201 import (
    EDGES,
    OP_MATRIX_COLUMNS,
    OPS,
    Cell,
    all_cells,
    all_ops,
    as_ops,
    flops,
    format_arch,
    params,
    parse_arch,
    random_cells,
    random_ops,
)

KNOWN = {
    # row 0 of the measured table (NB201 index 0)
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|": (
        4, 2, 1, 2, 1, 1,
    ),
    # the ResNet-like cell of the NB201 paper
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|": (3, 0, 3, 1, 0, 0),
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|": (0, 0, 0, 0, 0, 0),
}  # fmt: skip


@pytest.mark.parametrize("arch,ops", list(KNOWN.items()))
def test_known_arch_strings_round_trip(arch, ops):
    cell = parse_arch(arch)
    assert cell.ops == ops
    assert cell.arch == arch
    assert format_arch(ops) == arch
    assert Cell.from_arch(arch) == cell
    assert cell.op_names == tuple(OPS[o] for o in ops)


def test_enumeration_is_complete_and_codes_round_trip():
    ops = all_ops()
    assert ops.shape == (15625, 6)
    assert len({tuple(r) for r in ops.tolist()}) == 15625
    cells = all_cells()
    for code in (0, 1, 4, 5, 7777, 15624):
        assert cells[code].code == code
        assert Cell.from_code(code) == cells[code]
        assert parse_arch(cells[code].arch) == cells[code]
    assert all(parse_arch(c.arch) == c for c in cells[::97])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|",  # two nodes
        "|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # unknown op
        "|none~0|+|none~1|none~0|+|none~0|none~1|none~2|",  # wrong source order
        "|none~0|+|none~0|+|none~0|none~1|none~2|",  # node 2 with one input
    ],
)
def test_malformed_arch_strings_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_arch(bad)


def test_cell_validates_ops():
    with pytest.raises(ValueError):
        Cell((0, 1, 2))
    with pytest.raises(ValueError):
        Cell((0, 1, 2, 3, 4, 5))
    with pytest.raises(ValueError):
        as_ops(np.array([[0, 0, 0, 0, 0, 9]]))


def test_adjacency_matches_the_cell_dag():
    adj = Cell((3,) * 6).adjacency()
    assert adj.shape == (8, 8)
    assert np.all(np.triu(adj, 1) == adj)  # layers in topological order
    # input feeds the three edges leaving node 0
    assert [b for b in range(8) if adj[0, b]] == [1 + k for k, (s, _) in enumerate(EDGES) if s == 0]
    # edge 0->1 (layer 1) feeds the edges leaving node 1: 1->2 (layer 3), 1->3 (layer 5)
    assert [b for b in range(8) if adj[1, b]] == [3, 5]
    # edges 0->2 and 1->2 feed 2->3 (layer 6)
    assert adj[2, 6] == adj[3, 6] == 1 and adj[2:4].sum() == 2
    # the edges entering node 3 feed the output
    assert [a for a in range(8) if adj[a, 7]] == [4, 5, 6]
    assert adj[7].sum() == 0


def test_op_matrix_is_one_hot_per_layer():
    cell = parse_arch(next(iter(KNOWN)))
    m = cell.op_matrix()
    assert m.shape == (8, len(OP_MATRIX_COLUMNS))
    assert np.all(m.sum(axis=1) == 1)
    assert OP_MATRIX_COLUMNS[int(m[0].argmax())] == "input"
    assert OP_MATRIX_COLUMNS[int(m[7].argmax())] == "output"
    assert [OP_MATRIX_COLUMNS[int(r.argmax())] for r in m[1:7]] == list(cell.op_names)


def test_analytic_costs_match_nb201_extremes():
    assert Cell((0,) * 6).flops() == pytest.approx(7.78, abs=0.01)
    assert Cell((0,) * 6).params() == pytest.approx(0.073, abs=0.001)
    assert Cell((3,) * 6).flops() == pytest.approx(220.11, abs=0.02)
    assert Cell((3,) * 6).params() == pytest.approx(1.53, abs=0.01)
    # skip and none cost nothing; a 3x3 conv costs 9x a 1x1 conv in MACs
    base = Cell((0,) * 6).flops()
    assert Cell((1,) * 6).flops() == base
    one = Cell((2, 0, 0, 0, 0, 0)).flops() - base
    three = Cell((3, 0, 0, 0, 0, 0)).flops() - base
    assert three == pytest.approx(9 * one)
    ops = random_ops(50, 3)
    assert np.allclose(flops(ops), [Cell(tuple(r)).flops() for r in ops.tolist()])
    assert np.all(params(ops) >= 0.073)


def test_random_cells_are_seeded():
    assert random_cells(5, 7) == random_cells(5, 7)
    assert random_cells(5, 7) != random_cells(5, 8)
    assert random_ops(4, 1).shape == (4, 6)


def test_live_edges_and_connectivity_by_hand():
    from agents.latency.nb201 import is_connected, live_edges

    # |conv3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|: node 1 computed but never reaches the output
    # |conv3x3~0|+|none~0|none~1|+|none~0|skip~1|none~2|: path 0 -> 1 -> 3
    # |none~0|+|skip~0|pool~1|+|none~0|none~1|conv1x1~2|: path 0 -> 2 -> 3; edge 1->2 is dead (node 1 empty)
    ops = np.array([[3, 0, 0, 0, 0, 0], [3, 0, 0, 0, 1, 0], [0, 1, 4, 0, 0, 2]])
    assert live_edges(ops).tolist() == [
        [False] * 6,
        [True, False, False, False, True, False],
        [False, True, False, False, False, True],
    ]
    assert is_connected(ops).tolist() == [False, True, True]
    assert (~is_connected(all_ops())).sum() == 341  # cells whose output ignores their input
