"""TSFT: the base model trains and resumes, stage 1 beats the base model on a held-out device,
and predictors round-trip through safetensors checkpoints."""

import numpy as np
import pytest
import torch

from agents.latency.adapt import AdaptConfig
from agents.latency.evaluate import normalised_mse, score_device
from agents.latency.model import NetConfig
from agents.latency.nb201 import all_ops, random_ops
from agents.latency.predictor import LatencyPredictor
from agents.latency.train import TrainConfig, train_base
from tests.latency.latency_data import SMALL_NET, TRAIN_DEVICES, make_synthetic_table

CFG = TrainConfig(epochs=6, max_cells=3000, batch_size=128, net=NetConfig(**SMALL_NET))


@pytest.fixture(scope="module")
def synthetic():
    table = make_synthetic_table((*TRAIN_DEVICES, "gold_6240", "titanxp_32", "pixel3"), seed=3)
    predictor = LatencyPredictor.train(table, TRAIN_DEVICES, CFG, progress=False)
    return table, predictor


@pytest.mark.parametrize("device", ["gold_6240", "pixel3"])
def test_stage1_beats_base_model_on_held_out_synthetic_device(synthetic, device):
    table, predictor = synthetic
    score = score_device(
        predictor, table.ops, table.column(device), device, 50, seed=1, baselines=["flops"]
    )
    assert score.mse["tsft_stage1"] < 0.6 * score.mse["base"]
    assert score.mse["tsft"] < 0.6 * score.mse["base"]
    assert score.mse["tsft"] < score.mse["flops"]
    assert score.mse["tsft"] < 0.01
    assert score.n_scored == len(table) - 50
    assert f"{device}@eval" not in predictor.devices  # scoring leaves the predictor as it was


def test_stage1_beats_base_model_on_measured_slice(measured_csv):
    from agents.latency.dataset import load_latency_csv

    table = load_latency_csv(measured_csv, max_rows=3000)
    held_out = ["titanxp_1", "titanxp_32", "titanxp_256", "gold_6240", "pixel3"]
    train = [d for d in table.devices if d not in held_out]
    predictor = LatencyPredictor.train(table, train, CFG, progress=False)
    for device in ("gold_6240", "titanxp_32"):
        score = score_device(
            predictor, table.ops, table.column(device), device, 50, seed=0, baselines=False
        )
        assert score.mse["tsft_stage1"] < score.mse["base"], device
        assert score.mse["tsft"] < 0.01, device


def test_adapted_device_predicts_and_round_trips(synthetic, tmp_path):
    table, predictor = synthetic
    pred = LatencyPredictor.load(predictor.save(tmp_path / "p"))  # private copy
    rows = np.random.default_rng(0).choice(len(table), 50, replace=False)
    y = table.column("titanxp_32")
    info = pred.adapt("titanxp_32", table.ops[rows], y[rows], seed=0, kind="gpu")
    assert info["n_labelled"] == 50 and info["n_pseudo"] > 0 and info["finetune_s"] > 0
    assert "titanxp_32" in pred.devices
    full = pred.predict_ms(table.ops, "titanxp_32")
    assert normalised_mse(full, y, y.min(), y.max()) < 0.01
    stem = pred.save(tmp_path / "adapted")
    again = LatencyPredictor.load(stem.with_suffix(".json"))
    ops = random_ops(100, 4)
    for dev in ("titanxp_32", "1080ti_1", "samsung_s7"):
        assert np.allclose(again.predict_ms(ops, dev), pred.predict_ms(ops, dev), rtol=1e-5)
    assert again.heads["titanxp_32"].kind == "gpu"
    assert again.provenance["seed"] == CFG.seed


def test_adapt_rejects_bad_input(synthetic):
    _, predictor = synthetic
    ops = random_ops(10, 0)
    with pytest.raises(ValueError):
        predictor.adapt("x", ops, np.ones(10))  # all equal
    with pytest.raises(ValueError):
        predictor.adapt("x", ops, np.ones(9))
    with pytest.raises(ValueError):
        predictor.adapt("x", ops, -np.arange(10.0))
    with pytest.raises(KeyError, match="adapt"):
        predictor.predict_ms(ops, "x")
    assert "x" not in predictor.devices


def test_stage2_uses_pseudo_labels_and_can_be_switched_off(synthetic):
    table, predictor = synthetic
    rows = np.arange(0, len(table), 300)[:50]
    y = table.column("gold_6240")[rows]
    on = predictor.adapt("g_on", table.ops[rows], y, seed=0, keep_stage1=True)
    off = predictor.adapt("g_off", table.ops[rows], y, seed=0, cfg=AdaptConfig(stage2=False))
    assert on["n_pseudo"] == AdaptConfig().n_pseudo and off["n_pseudo"] == 0
    ops = all_ops()[::50]
    # without stage 2 the result is the stage-1 model of the same run
    assert np.allclose(predictor.predict_ms(ops, "g_off"), predictor.predict_ms(ops, "g_on@stage1"))
    assert not np.allclose(
        predictor.predict_ms(ops, "g_on"), predictor.predict_ms(ops, "g_on@stage1")
    )
    for name in ("g_on", "g_on@stage1", "g_off"):
        del predictor.heads[name]


def test_base_training_resumes_to_the_same_weights(tmp_path):
    table = make_synthetic_table(("1080ti_1", "pixel3", "gold_6240"), n_cells=1200, seed=1)
    cfg = TrainConfig(epochs=3, batch_size=128, net=NetConfig(**SMALL_NET))
    full = train_base(table, table.devices, cfg, progress=False)
    state = tmp_path / "state.pt"
    part = train_base(table, table.devices, cfg, state_path=state, progress=False, stop_after=2)
    assert len(part.history) == 2 and state.exists()
    resumed = train_base(table, table.devices, cfg, state_path=state, progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for (k, a), b in zip(
        full.net.state_dict().items(), resumed.net.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6), k


def test_shipped_predictor_agrees_with_shipped_device_model():
    from agents.latency.devices import DeviceLatencyModel

    predictor = LatencyPredictor.default()
    model = DeviceLatencyModel.default()
    assert set(model.devices) <= set(predictor.devices)
    assert (
        predictor.provenance.get("seed") is not None
        and "train-base" in predictor.provenance["command"]
    )
    ops = random_ops(400, 11)
    for dev in ("pixel3", "titanxp_256", "gold_6240"):
        a, b = predictor.predict_ms(ops, dev), model.latency_ms(ops, dev)
        assert np.corrcoef(a, b)[0, 1] > 0.95, dev
        assert np.all(a > 0), dev
