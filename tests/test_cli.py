"""The CLI through typer's runner (and a real subprocess where start-up matters)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqforge.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
STOCK = str(ROOT / "specs" / "stock_lstm.yaml")


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("seqforge ")


def test_help_does_not_import_torch():
    code = ("import sys; sys.argv=['seqforge','--help']\n"
            "from seqforge.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'seqforge --help imported torch'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "validate" in res.stdout and "run" in res.stdout


def test_validate_ok_runs_trial_batch():
    res = runner.invoke(app, ["validate", STOCK])
    assert res.exit_code == 0, res.output
    assert "spec is valid" in res.output and "trial batch ok" in res.output


@pytest.mark.parametrize("override,expect", [
    ("model.cell=lstn", "did you mean 'lstm'"),
    ("model.hidden_size=many", "integer"),
    ("train.epochz=3", "unknown key 'epochz'"),
    ("model.topology=many_to_many", "task 'forecast' needs"),
    ("data.window=5000", "needs at least 5002 rows"),  # + 1 row: the spec differences
])
def test_validate_errors_exit_2_without_traceback(override, expect):
    res = runner.invoke(app, ["validate", STOCK, "--set", override])
    assert res.exit_code == 2, res.output
    assert expect in res.output
    assert "Traceback" not in res.output


def test_validate_missing_file():
    res = runner.invoke(app, ["validate", "no/such/spec.yaml"])
    assert res.exit_code == 2 and "not found" in res.output


def test_schema_is_json_with_registered_names():
    res = runner.invoke(app, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert schema["title"] == "seqforge spec"
    assert "lstm" in json.dumps(schema["properties"]["model"]["properties"]["cell"])


@pytest.mark.slow
def test_run_one_epoch_writes_run_directory(tmp_path):
    res = runner.invoke(app, ["run", STOCK, "--set", "train.epochs=1", "--set",
                              "model.num_layers=1", "--out", str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "persistence" in res.output  # the baseline is reported beside the model
    runs = list((tmp_path / "stock_lstm").iterdir())
    assert len(runs) == 1
    d = runs[0]
    for name in ("spec.resolved.yaml", "metrics.jsonl", "summary.json", "env.json",
                 "checkpoints/last.pt", "checkpoints/best.pt", "loss.png", "forecast.png",
                 "predictions.csv"):
        assert (d / name).exists(), name
    summary = json.loads((d / "summary.json").read_text())
    assert set(summary["baseline"]) >= {"name", "rmse", "mae", "mape"}
    assert set(summary["test"]) >= {"test_rmse", "test_mae", "test_mape"}
    env = json.loads((d / "env.json").read_text())
    assert env["seed"] == 0 and env["torch"] and env["seqforge"]
    # evaluate and predict use the run directory
    res = runner.invoke(app, ["evaluate", str(d)])
    assert res.exit_code == 0, res.output
    assert "rmse" in res.output
    prices = tmp_path / "recent.csv"
    lines = ["Date,Open,High,Low,Close,Volume,AdjClose"]
    for i in range(70):
        lines.append(f"2009-01-{1 + i % 28:02d},{300 + i},{305 + i},{295 + i},{301 + i},1000,{301 + i}")
    # dates must be unique: spread them over months
    lines = [lines[0]] + [l.replace("2009-01-", f"2009-{1 + i // 28:02d}-") for i, l in enumerate(lines[1:])]
    prices.write_text("\n".join(lines) + "\n")
    out = tmp_path / "preds.csv"
    res = runner.invoke(app, ["predict", str(d), "--input", str(prices), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = out.read_text().splitlines()
    # the spec differences its prices (data.transform: diff): a window needs 60 + 1 rows
    assert rows[0].startswith("after,Open_t+1") and len(rows) == 1 + 70 - 61 + 1


def test_predict_on_missing_run_dir(tmp_path):
    res = runner.invoke(app, ["predict", str(tmp_path / "nope"), "--input", "x.csv"])
    assert res.exit_code == 2 and "no such run directory" in res.output


def test_console_script_installed():
    exe = Path(sys.executable).parent / "seqforge"
    if not exe.exists():
        pytest.skip("console script not on this interpreter's bin path")
    res = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60,
                         env={**os.environ})
    assert res.returncode == 0 and "seqforge" in res.stdout
