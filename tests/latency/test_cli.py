"""``python -m agents.latency``: JSON output of tsft, the base-model cache, fit-devices, table5."""

import json
import subprocess
import sys

import numpy as np
import pytest

from agents.latency.cli import main
from agents.latency.devices import DeviceLatencyModel
from agents.latency.nb201 import random_ops
from tests.latency.latency_data import make_synthetic_table, write_csv

TRAIN = ("1080ti_1", "2080ti_32", "silver_4114", "samsung_s7")


@pytest.fixture(scope="module")
def csvs(tmp_path_factory):
    d = tmp_path_factory.mktemp("csv")
    train = write_csv(make_synthetic_table(TRAIN, n_cells=1500, seed=1), d / "train.csv")
    target = write_csv(
        make_synthetic_table(("pixel3", "gold_6240"), n_cells=1200, seed=2), d / "target.csv"
    )
    return train, target


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tsft_prints_one_json_line_and_caches_the_base_model(csvs, tmp_path, capsys):
    train, target = csvs
    argv = ["tsft", "--train", str(train), "--target", str(target), "--device", "pixel3_ms",
            "--labelled", "50", "--seed", "1", "--cache", str(tmp_path), "--epochs", "2", "--quiet"]  # fmt: skip
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    first = json.loads(lines[0])
    assert first["device"] == "pixel3" and first["labelled"] == 50 and first["scored"] == 1150
    assert set(first["baselines"]) == {"flops", "layerwise", "brpnas"}
    assert set(first["ablations"]) == {"tsft_stage1", "base"}
    assert all(0 <= v < 1 for v in [first["mse"], *first["baselines"].values()])
    assert first["finetune_s"] > 0
    assert first["base_model"]["cached"] is False
    assert first["base_model"]["devices"] == list(TRAIN)
    assert len(list(tmp_path.glob("tsft-base-*.safetensors"))) == 1
    assert not list(tmp_path.glob("*.state.pt"))  # training state removed once the model is saved

    code, out, _ = _run(capsys, *argv, "--no-baselines")
    second = json.loads(out)
    assert second["base_model"]["cached"] is True
    assert second["mse"] == pytest.approx(first["mse"], rel=1e-4)  # same seed, same model
    assert second["baselines"] == {}


def test_tsft_excludes_the_target_device_from_training(csvs, tmp_path, capsys):
    train, _ = csvs
    code, out, _ = _run(capsys, "tsft", "--train", str(train), "--target", str(train), "--device",
                        "silver_4114", "--cache", str(tmp_path), "--epochs", "1", "--quiet",
                        "--no-baselines", "--exclude", "1080*")  # fmt: skip
    assert code == 0
    res = json.loads(out)
    assert res["base_model"]["devices"] == ["2080ti_32", "samsung_s7"]


def test_tsft_unknown_device_is_a_clear_error(csvs, tmp_path, capsys):
    train, target = csvs
    code, out, err = _run(capsys, "tsft", "--train", str(train), "--target", str(target), "--device",
                          "nope_ms", "--cache", str(tmp_path), "--quiet")  # fmt: skip
    assert code == 2 and out == ""
    assert "nope" in err and "pixel3" in err
    assert not list(tmp_path.iterdir())  # nothing trained


def test_fit_devices_writes_loadable_coefficients(csvs, tmp_path, capsys):
    train, _ = csvs
    out_json = tmp_path / "dev.json"
    code, out, _ = _run(capsys, "fit-devices", "--csv", str(train), "--out", str(out_json))
    assert code == 0
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["device"] for r in rows] == sorted(TRAIN)
    assert all(r["holdout_r2"] > 0.7 for r in rows)
    model = DeviceLatencyModel.load(out_json)
    ops = random_ops(300, 5)
    ref = DeviceLatencyModel.default().latency_ms(ops, "silver_4114")
    assert np.mean(np.abs(model.latency_ms(ops, "silver_4114") / ref - 1)) < 0.05


def test_table5_rows_markdown_and_plot(csvs, tmp_path, capsys):
    train, _ = csvs
    md, png = tmp_path / "t5.md", tmp_path / "t5.png"
    code, out, _ = _run(capsys, "table5", "--csv", str(train), "--seed", "0", "--holdout", "silver_4114",
                        "samsung_s7", "--repeats", "1", "--epochs", "2", "--cache", str(tmp_path),
                        "--markdown", str(md), "--plot", str(png), "--quiet")  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["device"] for r in rows] == ["silver_4114", "samsung_s7", "average"]
    assert rows[0]["kind"] == "cpu" and rows[1]["kind"] == "edge"
    for key in ("tsft", "tsft_stage1", "base", "flops", "layerwise", "brpnas", "finetune_s"):
        assert rows[-1][key] == pytest.approx((rows[0][key] + rows[1][key]) / 2)
    assert rows[-1]["training_devices"] == ["1080ti_1", "2080ti_32"]
    assert "table5 --csv train.csv --seed 0" in rows[0]["command"]
    text = md.read_text()
    assert "TSFT (ours)" in text and "0.00304" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_module_entry_point_help():
    res = subprocess.run(
        [sys.executable, "-m", "agents.latency", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0
    for cmd in ("fit-devices", "train-base", "tsft", "table5"):
        assert cmd in res.stdout
