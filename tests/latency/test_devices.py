"""The shipped per-device latency model and the latency CSV loader."""

import numpy as np
import pytest

from agents.latency.dataset import load_latency_csv
from agents.latency.devices import (
    DEFAULT_PATH,
    DeviceLatencyModel,
    device_kind,
    device_names,
    fit_device_model,
    op_edge_features,
)
from agents.latency.nb201 import all_ops, format_arch, random_ops

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def test_shipped_model_has_every_measured_device_with_kinds():
    names = device_names()
    assert len(names) == 19
    assert {"1080ti_1", "pixel3", "gold_6240", "titanxp_256"} <= set(names)
    assert device_kind("titanxp_32") == "gpu"
    assert device_kind("silver_4114_ms") == "cpu"
    assert device_kind("samsung_s7") == "edge"
    assert device_kind("titan_rtx_256") == "gpu"
    assert device_kind("gold_6226") == "cpu"
    assert device_kind("raspi4") == "edge"
    with pytest.raises(ValueError):
        device_kind("mystery_box")


def test_prediction_is_the_documented_linear_model():
    model = DeviceLatencyModel.default()
    ops = np.array([[4, 2, 1, 2, 1, 1]])
    coef = model.fits["pixel3"].coef
    # by hand: intercept + 5 non-none (edge, op) indicators + their 10 cross-edge products
    singles = [1 + e * 4 + (o - 1) for e, o in enumerate(ops[0]) if o > 0]
    expected = coef[0] + coef[singles].sum()
    feats = op_edge_features(ops)[0]
    assert feats.sum() == 1 + 6 + 15  # 6 non-none edges, C(6,2) pairs
    expected += feats[25:] @ coef[25:]
    assert model.latency_ms(ops, "pixel3")[0] == pytest.approx(expected)
    assert model.latency_ms(ops, "pixel3_ms")[0] == pytest.approx(expected)


def test_heavier_cells_are_slower_on_every_shipped_device():
    model = DeviceLatencyModel.default()
    empty = np.zeros((1, 6), dtype=int)
    convs = np.full((1, 6), 3)
    table = model.latency_table(np.concatenate([empty, convs]))
    assert table.shape == (2, 19)
    assert np.all(table[1] > 2 * table[0])
    lat = model.latency_table(all_ops())
    assert np.all(lat > 0) and np.all(np.isfinite(lat))


def test_noise_and_derived_devices():
    model = DeviceLatencyModel.load(DEFAULT_PATH)  # a private copy: derive() adds a device
    ops = random_ops(200, 0)
    clean = model.latency_ms(ops, "gold_6240")
    noisy = model.latency_ms(ops, "gold_6240", rng=np.random.default_rng(0))
    spread = np.std(noisy - clean)
    assert (
        0.5 * model.fits["gold_6240"].residual_std_ms
        < spread
        < 2 * model.fits["gold_6240"].residual_std_ms
    )
    model.derive("slow_cpu", "gold_6240", 3.0)
    assert np.allclose(model.latency_ms(ops, "slow_cpu"), 3 * clean)
    assert model.kind("slow_cpu") == "cpu"
    with pytest.raises(KeyError):
        model.latency_ms(ops, "nope")


def test_shipped_coefficients_fit_the_measured_table(measured_table):
    model = DeviceLatencyModel.default()
    assert set(model.devices) == set(measured_table.devices)
    for dev in measured_table.devices:
        y = measured_table.column(dev)
        pred = model.latency_ms(measured_table.ops, dev)
        mse_norm = np.mean(((pred - y) / (y.max() - y.min())) ** 2)
        assert mse_norm < 0.003, dev
        assert 1 - np.mean((pred - y) ** 2) / np.var(y) > 0.78, dev


def _write_csv(path, rows, header="index,arch,devA_ms,devB_ms"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_csv_loader_and_refit_on_synthetic_table(tmp_path):
    ops = all_ops()[::5]
    rng = np.random.default_rng(1)
    lat_a = 1.0 + ops.sum(axis=1) * 0.5
    lat_b = 2.0 + (ops == 3).sum(axis=1) * 1.5 + rng.normal(0, 0.01, len(ops))
    rows = [
        f"{i},{format_arch(o)},{a:.5f},{b:.5f}"
        for i, (o, a, b) in enumerate(zip(ops, lat_a, lat_b, strict=True))
    ]
    table = load_latency_csv(_write_csv(tmp_path / "t.csv", rows))
    assert table.devices == ("devA", "devB")
    assert np.array_equal(table.ops, ops)
    assert np.allclose(table.column("devA_ms"), lat_a, atol=1e-5)
    model = fit_device_model(table, kinds={"devA": "gpu", "devB": "edge"})
    assert np.allclose(model.latency_ms(ops, "devA"), lat_a, atol=1e-3)
    assert model.fits["devB"].stats["holdout_r2"] > 0.99
    model.save(tmp_path / "m.json")
    again = DeviceLatencyModel.load(tmp_path / "m.json")
    assert np.allclose(
        again.latency_ms(ops[:9], "devB"), model.latency_ms(ops[:9], "devB"), atol=1e-4
    )


@pytest.mark.parametrize(
    "header,row,msg",
    [
        ("idx,arch,devA_ms,devB_ms", f"0,{ARCH0},1,2", "header"),
        ("index,arch,devA,devB_ms", f"0,{ARCH0},1,2", "_ms"),
        ("index,arch,devA_ms,devB_ms", f"0,{ARCH0},1", ":2:"),
        ("index,arch,devA_ms,devB_ms", "0,|bogus~0|,1,2", ":2:"),
        ("index,arch,devA_ms,devB_ms", f"0,{ARCH0},1,-2", ":2:"),
        ("index,arch,devA_ms,devB_ms", f"0,{ARCH0},1,abc", ":2:"),
    ],
)
def test_csv_loader_rejects_malformed_tables(tmp_path, header, row, msg):
    with pytest.raises(ValueError, match=msg):
        load_latency_csv(_write_csv(tmp_path / "bad.csv", [row], header))
