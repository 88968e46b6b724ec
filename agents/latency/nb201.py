"""NAS-Bench-201 cells: 6 edges x 5 operations, arch strings, the paper's matrices, costs.

A cell is a DAG over 4 feature nodes; each of its 6 edges ``j -> i`` (``j < i``) applies one of
:data:`OPS`. NB201 writes a cell as ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: node 1's input edge,
then node 2's two, then node 3's three, each ``op~source``. :data:`EDGES` follows that order.

The RLMS-CPN paper (and BRP-NAS) encodes a cell with operations as graph nodes: node 0 is the
cell input, nodes 1..6 are the 6 edge operations (in :data:`EDGES` order), node 7 is the cell
output. ``adjacency()[a, b] == 1`` means layer ``a`` feeds layer ``b``; ``op_matrix()`` has one
one-hot row per layer over :data:`OP_MATRIX_COLUMNS` (``input``, the 5 operations, ``output``).

:meth:`Cell.flops` and :meth:`Cell.params` are analytic counts for NB201's CIFAR-10 network
(stem conv, 3 stages of 5 cells with 16/32/64 channels at 32/16/8 pixels, two residual reduction
blocks, global pooling, a 10-way classifier), in the NB201 API's units (MFLOPs counted as
multiply-accumulates, millions of parameters): 7.78 MFLOPs / 0.073 M for the all-``none`` cell,
220.1 MFLOPs / 1.53 M for the all-``nor_conv_3x3`` cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
N_OPS = len(OPS)
#: (source node, target node) of each edge, in NB201 arch-string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_EDGES = len(EDGES)
N_CELLS = N_OPS**N_EDGES  # 15,625
#: Columns of :meth:`Cell.op_matrix`.
OP_MATRIX_COLUMNS: tuple[str, ...] = ("input", *OPS, "output")
N_LAYERS = N_EDGES + 2  # input, 6 operations, output

_NODE_RE = re.compile(r"^\|(?:[a-z0-9_]+~\d\|)+$")

# NB201's CIFAR-10 network: channels and feature-map side per stage; cells per stage.
_STAGES = ((16, 32), (32, 16), (64, 8))
_CELLS_PER_STAGE = 5
_N_CLASSES = 10


def _edge_layer_adjacency() -> np.ndarray:
    adj = np.zeros((N_LAYERS, N_LAYERS), dtype=np.float32)
    for k, (src, _dst) in enumerate(EDGES):
        layer = k + 1
        if src == 0:
            adj[0, layer] = 1.0  # the cell input feeds every edge leaving node 0
        else:  # node src is the sum of the edges entering it
            for k2, (_s2, d2) in enumerate(EDGES):
                if d2 == src:
                    adj[k2 + 1, layer] = 1.0
        if _dst == 3:
            adj[layer, N_LAYERS - 1] = 1.0  # node 3 is the cell output
    return adj


_ADJACENCY = _edge_layer_adjacency()
_ADJACENCY.setflags(write=False)


@dataclass(frozen=True, slots=True)
class Cell:
    """One NB201 cell: ``ops[k]`` is the index in :data:`OPS` of edge ``EDGES[k]``."""

    ops: tuple[int, ...]

    def __post_init__(self) -> None:
        ops = tuple(int(o) for o in self.ops)
        if len(ops) != N_EDGES or any(not 0 <= o < N_OPS for o in ops):
            raise ValueError(f"a cell needs {N_EDGES} op indices in [0, {N_OPS}), got {self.ops!r}")
        object.__setattr__(self, "ops", ops)

    @classmethod
    def from_arch(cls, arch: str) -> Cell:
        return parse_arch(arch)

    @classmethod
    def from_code(cls, code: int) -> Cell:
        """Inverse of :attr:`code`."""
        if not 0 <= code < N_CELLS:
            raise ValueError(f"cell code must be in [0, {N_CELLS}), got {code}")
        ops = []
        for _ in range(N_EDGES):
            code, o = divmod(code, N_OPS)
            ops.append(o)
        return cls(tuple(reversed(ops)))

    @property
    def arch(self) -> str:
        """The NB201 arch string."""
        return format_arch(self.ops)

    @property
    def code(self) -> int:
        """Base-5 number of the ops, edge 0 most significant (NOT the NB201 benchmark index)."""
        code = 0
        for o in self.ops:
            code = code * N_OPS + o
        return code

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(OPS[o] for o in self.ops)

    def adjacency(self) -> np.ndarray:
        """8x8 layer adjacency (input, 6 edge operations, output); a copy."""
        return _ADJACENCY.copy()

    def op_matrix(self) -> np.ndarray:
        """8x7 one-hot rows over :data:`OP_MATRIX_COLUMNS`."""
        return op_matrices(np.asarray([self.ops]))[0]

    def flops(self) -> float:
        """MFLOPs (multiply-accumulates) of NB201's CIFAR-10 network built from this cell."""
        return float(flops(np.asarray([self.ops]))[0])

    def params(self) -> float:
        """Parameters (millions) of NB201's CIFAR-10 network built from this cell."""
        return float(params(np.asarray([self.ops]))[0])

    def __str__(self) -> str:
        return self.arch


def format_arch(ops: Iterable[int]) -> str:
    """NB201 arch string of 6 op indices (EDGES order)."""
    ops = tuple(ops)
    if len(ops) != N_EDGES:
        raise ValueError(f"need {N_EDGES} op indices, got {len(ops)}")
    nodes: list[str] = []
    k = 0
    for target in (1, 2, 3):
        parts = []
        for src in range(target):
            parts.append(f"{OPS[ops[k]]}~{src}")
            k += 1
        nodes.append("|" + "|".join(parts) + "|")
    return "+".join(nodes)


def parse_arch(arch: str) -> Cell:
    """Parse an NB201 arch string (``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``)."""
    if not isinstance(arch, str):
        raise TypeError(f"arch must be a string, got {type(arch).__name__}")
    nodes = arch.strip().split("+")
    if len(nodes) != 3 or not all(_NODE_RE.match(n) for n in nodes):
        raise ValueError(f"not an NB201 arch string: {arch!r}")
    ops: list[int] = []
    for target, node in enumerate(nodes, start=1):
        entries = node.strip("|").split("|")
        if len(entries) != target:
            raise ValueError(f"node {target} of {arch!r} needs {target} inputs, has {len(entries)}")
        for expected_src, entry in enumerate(entries):
            name, src = entry.split("~")
            if int(src) != expected_src:
                raise ValueError(
                    f"node {target} of {arch!r}: input {expected_src} listed as ~{src}"
                )
            if name not in OPS:
                raise ValueError(f"unknown operation {name!r} in {arch!r}; known: {', '.join(OPS)}")
            ops.append(OPS.index(name))
    return Cell(tuple(ops))


@cache
def _all_ops() -> np.ndarray:
    codes = np.arange(N_CELLS)
    digits = [(codes // N_OPS ** (N_EDGES - 1 - k)) % N_OPS for k in range(N_EDGES)]
    out = np.stack(digits, axis=1).astype(np.int64)
    out.setflags(write=False)
    return out


def all_ops() -> np.ndarray:
    """All 15,625 cells as an int array [15625, 6], in :attr:`Cell.code` order."""
    return _all_ops()


def all_cells() -> list[Cell]:
    """All 15,625 cells, in :attr:`Cell.code` order."""
    return [Cell(tuple(row)) for row in _all_ops().tolist()]


def iter_cells() -> Iterator[Cell]:
    for row in _all_ops().tolist():
        yield Cell(tuple(row))


def random_ops(n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """``n`` uniformly random cells (with replacement) as an int array [n, 6]."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return rng.integers(0, N_OPS, size=(n, N_EDGES), dtype=np.int64)


def random_cells(n: int, seed: int | np.random.Generator | None = None) -> list[Cell]:
    """``n`` uniformly random cells (with replacement), seeded."""
    return [Cell(tuple(row)) for row in random_ops(n, seed).tolist()]


def as_ops(cells: np.ndarray | Iterable[Cell] | Iterable[Iterable[int]]) -> np.ndarray:
    """Normalise cells, op-index rows or arch strings to an int array [N, 6]; validated."""
    if isinstance(cells, np.ndarray):
        arr = cells
    else:
        rows = []
        for c in cells:
            if isinstance(c, Cell):
                rows.append(c.ops)
            elif isinstance(c, str):
                rows.append(parse_arch(c).ops)
            else:
                rows.append(tuple(c))
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, N_EDGES) if rows else np.zeros((0, 6))
    arr = np.asarray(arr)
    if arr.ndim == 1 and arr.shape[0] == N_EDGES:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != N_EDGES:
        raise ValueError(f"ops must have shape [N, {N_EDGES}], got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= N_OPS):
        raise ValueError(f"op indices must be in [0, {N_OPS})")
    return arr.astype(np.int64, copy=False)


def op_matrices(ops: np.ndarray) -> np.ndarray:
    """One-hot layer-operation matrices [N, 8, 7] for op rows [N, 6]."""
    ops = as_ops(ops)
    n = ops.shape[0]
    out = np.zeros((n, N_LAYERS, len(OP_MATRIX_COLUMNS)), dtype=np.float32)
    out[:, 0, 0] = 1.0
    out[:, N_LAYERS - 1, len(OP_MATRIX_COLUMNS) - 1] = 1.0
    rows = np.arange(n)[:, None]
    out[rows, np.arange(1, N_EDGES + 1)[None, :], ops + 1] = 1.0
    return out


def adjacency() -> np.ndarray:
    """The 8x8 layer adjacency shared by every cell (a copy)."""
    return _ADJACENCY.copy()


def _op_cost(op: int, channels: int, side: int) -> tuple[float, float]:
    """(MACs, params) of one edge operation at ``channels`` x ``side`` x ``side``."""
    hw = side * side
    name = OPS[op]
    if name == "nor_conv_3x3":
        return 9.0 * channels * channels * hw, 9.0 * channels * channels + 2 * channels
    if name == "nor_conv_1x1":
        return 1.0 * channels * channels * hw, 1.0 * channels * channels + 2 * channels
    if name == "avg_pool_3x3":
        return 9.0 * channels * hw, 0.0
    return 0.0, 0.0  # none, skip_connect


def _fixed_cost() -> tuple[float, float]:
    """(MACs, params) of everything outside the cells."""
    macs = params = 0.0
    c0, s0 = _STAGES[0]
    macs += 3 * c0 * 9 * s0 * s0  # stem conv 3x3
    params += 3 * c0 * 9 + 2 * c0  # + BN
    for (cin, _), (cout, side) in zip(_STAGES[:-1], _STAGES[1:], strict=True):
        hw = side * side
        macs += cin * cout * 9 * hw + cout * cout * 9 * hw + cin * cout * hw  # conv_a, conv_b, 1x1
        params += cin * cout * 9 + 2 * cout + cout * cout * 9 + 2 * cout + cin * cout
    clast = _STAGES[-1][0]
    params += 2 * clast + clast * _N_CLASSES + _N_CLASSES  # last BN, classifier
    macs += clast * _N_CLASSES
    return macs, params


@cache
def _cost_tables() -> tuple[np.ndarray, np.ndarray, float, float]:
    macs = np.zeros(N_OPS)
    prm = np.zeros(N_OPS)
    for op in range(N_OPS):
        for channels, side in _STAGES:
            m, p = _op_cost(op, channels, side)
            macs[op] += _CELLS_PER_STAGE * m
            prm[op] += _CELLS_PER_STAGE * p
    fm, fp = _fixed_cost()
    return macs, prm, fm, fp


def flops(ops: np.ndarray) -> np.ndarray:
    """MFLOPs (MACs) per cell for op rows [N, 6]."""
    macs, _, fixed, _ = _cost_tables()
    return (macs[as_ops(ops)].sum(axis=1) + fixed) / 1e6


def params(ops: np.ndarray) -> np.ndarray:
    """Millions of parameters per cell for op rows [N, 6]."""
    _, prm, _, fixed = _cost_tables()
    return (prm[as_ops(ops)].sum(axis=1) + fixed) / 1e6


def live_edges(ops: np.ndarray) -> np.ndarray:
    """[N, 6] bool: the edge is not ``none`` and lies on some input -> output path of the cell."""
    ops = as_ops(ops)
    n = ops.shape[0]
    active = ops != 0
    from_input = np.zeros((n, 4), dtype=bool)
    from_input[:, 0] = True
    for k, (src, dst) in enumerate(EDGES):
        from_input[:, dst] |= from_input[:, src] & active[:, k]
    to_output = np.zeros((n, 4), dtype=bool)
    to_output[:, 3] = True
    for k, (src, dst) in reversed(list(enumerate(EDGES))):
        to_output[:, src] |= to_output[:, dst] & active[:, k]
    return np.stack(
        [active[:, k] & from_input[:, s] & to_output[:, d] for k, (s, d) in enumerate(EDGES)],
        axis=1,
    )


def is_connected(ops: np.ndarray) -> np.ndarray:
    """[N] bool: the cell output depends on its input (some path of non-``none`` edges)."""
    return live_edges(ops).any(axis=1)
