"""Bad inputs, one test per class of defect (issue: runs that survive, round two): option
values, paths the OS refuses, an output that would overwrite its input, huge values,
models and datasets that would not fit in memory, a NaN-skipping run that skips
everything. Each is exit status 2 (3 for a diverged run) with a message naming what to
fix — never a traceback, never a silent wrong result."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from engine_helpers import forecast_spec, no_plots, write_series
from seqforge.api import load_spec, train
from seqforge.cli import app
from seqforge.errors import DataError, SpecError, TrainingDiverged

ROOT = Path(__file__).resolve().parents[1]
STOCK = str(ROOT / "specs" / "stock_lstm.yaml")
runner = CliRunner()


def _refused(*args: str, match: str, code: int = 2) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and match in res.output, res.output
    return res.output


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    csv = write_series(root / "series.csv", 120)
    with no_plots():
        return train(forecast_spec(csv, epochs=1), out=root / "runs").dir


# -- option values ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv, match", [
    (["evaluate", "RUN", "--split", "tset"], "did you mean 'test'"),
    (["evaluate", "RUN", "--split", "bogus"], "unknown split 'bogus'"),
    (["evaluate", "RUN", "--device", "tpu"], "unknown device 'tpu'"),
    (["run", STOCK, "--device", "gpu", "-q"], "unknown device 'gpu'"),
    (["run", STOCK, "--nproc", "0", "-q"], "--nproc: must be at least 1"),
    (["run", STOCK, "--nproc", "-1", "-q"], "--nproc: must be at least 1"),
    (["export", "RUN", "--format", "onxx"], "did you mean 'onnx'"),
    (["generate", "RUN", "--checkpoint", "bset"], "did you mean 'best'"),
])
def test_option_values_are_checked_like_spec_values(run_dir, argv, match):
    from seqforge.plugins import add_commands

    add_commands(app)
    _refused(*[str(run_dir) if a == "RUN" else a for a in argv], match=match)


# -- paths ----------------------------------------------------------------------------------------

def test_os_errors_on_user_paths_name_the_path(run_dir, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    recent = write_series(tmp_path / "recent.csv", 30)
    _refused("run", STOCK, "--out", str(a_file), "-q", "--set", "train.epochs=1",
             match=f"{a_file}")
    _refused("predict", str(run_dir), "--input", str(recent), "--out", str(tmp_path),
             match="is a directory")
    _refused("predict", str(run_dir), "--input", str(recent), "--out",
             str(tmp_path / "missing" / "p.csv"), match="no such file or directory")
    _refused("export", str(run_dir), "--out", str(a_file), match=str(a_file))
    _refused("schema", "--out", str(tmp_path / "missing" / "s.json"), match="missing")


def test_predict_never_overwrites_its_input(run_dir, tmp_path):
    recent = write_series(tmp_path / "recent.csv", 30)
    before = recent.read_text()
    _refused("predict", str(run_dir), "--input", str(recent), "--out", str(recent),
             match="also the input file")
    _refused("predict", str(run_dir), "--input", str(recent), "--out",
             str(tmp_path / "." / "recent.csv"), match="also the input file")
    assert recent.read_text() == before


# -- huge values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scaler", ["standard", "minmax"])
def test_huge_values_in_training_data_are_refused(tmp_path, scaler):
    path = tmp_path / "h.csv"
    values = np.sin(np.arange(120) / 5.0)
    values[40] = 1e308
    path.write_text("v\n" + "".join(f"{float(v)!r}\n" for v in values))
    spec = {"name": "huge", "data": {"dataset": "timeseries_csv", "source": str(path),
            "target": "v", "window": 5, "scaler": scaler},
            "model": {"topology": "many_to_one", "cell": "gru", "hidden_size": 4},
            "task": "forecast", "train": {"epochs": 1, "threads": 1}}
    from seqforge.api import dry_run

    with pytest.raises(DataError, match="too large"):
        dry_run(load_spec(spec))


@pytest.mark.parametrize("value", ["1e30", "1e308"])
def test_predict_refuses_inputs_no_trained_model_can_speak_to(run_dir, tmp_path, value):
    path = tmp_path / "big.csv"
    rows = [f"{i},{0.5}\n" for i in range(20)] + [f"20,{value}\n"]
    path.write_text("step,value\n" + "".join(rows))
    _refused("predict", str(run_dir), "--input", str(path), match="value")


# -- memory ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, key", [
    (["model.hidden_size=22000", "model.num_layers=1"], "model.hidden_size"),
    (["train.batch_size=500000", "model.hidden_size=1024"], "train.batch_size"),
])
def test_models_that_would_not_fit_are_refused_with_the_estimate(overrides, key):
    out = _refused("validate", STOCK, "--no-dry-run", *sum((["--set", o] for o in overrides), []),
                   match="GiB")
    assert key in out and "lower" in out and "memory available" in out


def test_datasets_whose_windows_would_not_fit_are_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("v\n" + "".join(f"{i % 97}\n" for i in range(200_000)))
    spec = load_spec({"name": "long", "data": {"dataset": "timeseries_csv", "source": str(path),
                      "target": "v", "window": 50_000}, "model": {"topology": "many_to_one",
                      "cell": "gru", "hidden_size": 4}, "task": "forecast",
                      "train": {"epochs": 1, "batch_size": 1, "threads": 1}})
    from seqforge.api import dry_run

    with pytest.raises(DataError, match=r"GiB.*lower data.window"):
        dry_run(spec)


# -- NaN skipping ----------------------------------------------------------------------------------

def test_a_run_that_skips_most_batches_stops_with_exit_3(tmp_path, monkeypatch):
    import torch

    from seqforge.engine.loop import Trainer

    real = Trainer._forward_loss

    def mostly_nan(self, batch, state):
        loss, state = real(self, batch, state)
        return (loss * float("nan") if self.state.attempted % 10 else loss), state

    monkeypatch.setattr(Trainer, "_forward_loss", mostly_nan)
    csv = write_series(tmp_path / "s.csv", 160)
    spec = forecast_spec(csv, epochs=2, nan_policy="skip")
    with no_plots(), pytest.raises(TrainingDiverged, match="max_skipped_fraction"):
        train(spec, out=tmp_path / "o")
    assert torch.isfinite(torch.tensor(1.0))


def test_strict_spec_values(tmp_path):
    with pytest.raises(SpecError, match="integer"):
        load_spec(STOCK, overrides=["model.hidden_size=true"])
    with pytest.raises(SpecError, match="integer"):
        load_spec(STOCK, overrides=["model.hidden_size='8'"])


def test_a_signal_while_reading_data_stops_with_a_message_and_no_empty_run_dir(tmp_path):
    """SIGTERM while the dataset loads: exit 143, said plainly, and no run directory left."""
    import os
    import signal

    import seqforge
    from seqforge.data.sources.timeseries_csv import TimeseriesCSV
    from seqforge.plugins import register_plugin, unregister_plugin

    class SlowSeries(TimeseriesCSV):
        def load(self):
            os.kill(os.getpid(), signal.SIGTERM)
            return super().load()

    class Plugin:
        @seqforge.hookimpl
        def register_datasets(self, register):
            register("slow_series", SlowSeries)

    plugin = Plugin()
    register_plugin(plugin, name="slow-plugin")
    try:
        csv = write_series(tmp_path / "s.csv", 120)
        spec = forecast_spec(csv, epochs=1)
        spec["data"]["dataset"] = "slow_series"
        import yaml

        (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
        res = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o")])
        assert res.exit_code == 143, res.output
        assert "SIGTERM" in res.output and "nothing saved" in res.output
        assert not any((tmp_path / "o").rglob("spec.resolved.yaml"))
    finally:
        unregister_plugin(plugin)
