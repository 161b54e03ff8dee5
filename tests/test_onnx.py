"""ONNX export checked by a runtime: the file onnxruntime runs predicts what the run's model
predicts (within 1e-4 + 1e-4·|y|; float32 kernels differ by ~1e-7) at a batch size and a
sequence length the export never saw, and the command prints no library noise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import seqforge
from seqforge.cli import app
from seqforge.export import ATOL, RTOL, example_input

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from tool_helpers import TINY, train_tiny  # noqa: E402

ort = pytest.importorskip("onnxruntime")  # the onnx extra (dev installs it)
runner = CliRunner()
pytestmark = pytest.mark.slow


def _session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_onnx_predicts_what_the_run_predicts_at_unseen_batch_and_length(tmp_path):
    run = train_tiny(tmp_path)  # 2 stacked LSTMs with dropout between them
    res = runner.invoke(app, ["export", str(run.dir), "--format", "onnx", "--out",
                              str(tmp_path / "exp")])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("checked with onnxruntime")  # no noise
    for noise in ("Warning", "torchvision", "[torch.onnx]", "W1", "deprecated"):
        assert noise not in res.output
    meta = json.loads((tmp_path / "exp" / "export.json").read_text())
    assert meta["input"]["shape"] == ["batch", "time", 1] and meta["exporter"] == "torchscript"
    assert meta["check"]["ok"] and meta["check"]["max_abs_diff"] < 1e-5

    loaded = seqforge.load_run(run.dir)
    session = _session(tmp_path / "exp" / "model.onnx")
    for batch, steps in ((5, 12), (9, 40), (1, 7)):  # export traced batch 2, 12 steps
        x = example_input(loaded, batch, steps)
        with torch.no_grad():
            want = loaded.model({"x": x})[0].numpy()
        got = session.run(None, {"x": x.numpy()})[0]
        assert got.shape == want.shape
        assert np.all(np.abs(got - want) <= ATOL + RTOL * np.abs(want)), np.abs(got - want).max()
    # the run's model is still in eval mode: exporting did not switch its dropout on
    x = example_input(loaded, 4, 12)
    with torch.no_grad():
        assert torch.equal(loaded.model({"x": x})[0], loaded.model({"x": x})[0])


def test_a_model_traced_at_a_fixed_length_is_exported_for_that_length(tmp_path):
    spec = {**TINY, "name": "scan", "model": {**TINY["model"], "cell": "min_gru", "dropout": 0.0}}
    run = seqforge.train(seqforge.load_spec(spec), out=tmp_path)
    res = runner.invoke(app, ["export", str(run.dir), "--format", "onnx"])
    assert res.exit_code == 0, res.output
    meta = json.loads((run.dir / "export" / "export.json").read_text())
    # the parallel scan unrolls over T when traced: a dynamic time axis would be a lie
    assert meta["input"]["shape"] == ["batch", 12, 1]
    assert meta["check"]["ok"] and meta["check"]["batch"] == 7 and meta["check"]["steps"] == 12


def test_only_verbose_lets_the_exporter_speak(tmp_path):
    import warnings

    from seqforge.export import export_run

    run = seqforge.load_run(train_tiny(tmp_path, epochs=1).dir)
    for verbose, heard in ((False, False), (True, True)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export_run(run, tmp_path / str(verbose), "onnx", verbose=verbose)
        assert bool(caught) is heard, [str(w.message)[:80] for w in caught]
