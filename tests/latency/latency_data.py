"""Synthetic NB201 latency tables and small model settings shared by the latency tests."""

from __future__ import annotations


def make_synthetic_table(devices, n_cells=None, seed=0, noise=True):
    """A LatencyTable drawn from the shipped device model (plus its measurement noise)."""
    import numpy as np

    from agents.latency.dataset import LatencyTable
    from agents.latency.devices import DeviceLatencyModel
    from agents.latency.nb201 import all_ops, format_arch

    model = DeviceLatencyModel.default()
    rng = np.random.default_rng(seed)
    ops = all_ops()
    if n_cells is not None:
        ops = ops[np.sort(rng.choice(len(ops), n_cells, replace=False))]
    lat = model.latency_table(ops, list(devices))
    if noise:
        spread = np.array([model.fits[d].residual_std_ms for d in devices])
        lat = np.maximum(lat + rng.normal(0.0, 1.0, lat.shape) * spread, 0.01)
    return LatencyTable(
        index=np.arange(len(ops)),
        archs=tuple(format_arch(o) for o in ops.tolist()),
        ops=ops,
        devices=tuple(devices),
        latency_ms=lat,
        source="synthetic",
        sha256=f"synthetic-{seed}-{n_cells}-{'-'.join(devices)}",
    )


def write_csv(table, path):
    rows = ["index,arch," + ",".join(f"{d}_ms" for d in table.devices)]
    for i, arch, lat in zip(
        table.index.tolist(), table.archs, table.latency_ms.tolist(), strict=True
    ):
        rows.append(f"{i},{arch}," + ",".join(f"{v:.5f}" for v in lat))
    path.write_text("\n".join(rows) + "\n")
    return path


SMALL_NET = {"hidden": 32, "layers": 2, "feature_dim": 16, "head_hidden": 32}
TRAIN_DEVICES = (
    "1080ti_1", "1080ti_32", "1080ti_256", "2080ti_1", "2080ti_32", "2080ti_256",
    "titanx_1", "titanx_32", "titanx_256", "silver_4114", "silver_4210r",
    "essential_ph_1", "samsung_a50", "samsung_s7",
)  # fmt: skip
