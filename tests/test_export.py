"""Export round-trip: the exported program predicts what the run's model predicts."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import seqforge
from seqforge.cli import app

SPEC = {
    "name": "export_demo",
    "data": {"dataset": "timeseries_csv", "window": 12, "test": 0.1},
    "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 6, "num_layers": 2},
    "task": "forecast",
    "train": {"epochs": 1, "batch_size": 128, "limit_train_batches": 2},
}


@pytest.mark.slow
def test_export_round_trip(tmp_path):
    run = seqforge.train(seqforge.load_spec(SPEC), out=tmp_path)
    res = CliRunner().invoke(app, ["export", str(run.dir), "--out", str(tmp_path / "exp")])
    assert res.exit_code == 0, res.output
    program = torch.export.load(tmp_path / "exp" / "model.pt2").module()
    x = torch.stack([run.bundle.test[i]["x"] for i in range(7)])  # a batch size never seen
    with torch.no_grad():
        expected, _ = run.model.eval()({"x": x})
    torch.testing.assert_close(program(x), expected)
    meta = json.loads((tmp_path / "exp" / "export.json").read_text())
    assert meta["input"]["shape"] == ["batch", 12, 1]
    series = meta["data"]["facets"]["series"]
    assert series["scaler"]["kind"] == "standard" and series["columns"] == ["Open"]


def test_unknown_format_is_a_clear_error(tmp_path):
    res = CliRunner().invoke(app, ["export", str(tmp_path), "--format", "tflite"])
    assert res.exit_code == 2
    assert "unknown export format 'tflite'" in res.output and "torch-export" in res.output
