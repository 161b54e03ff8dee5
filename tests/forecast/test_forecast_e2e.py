"""End to end through the CLI: probabilistic forecasts (quantiles, Gaussian), multi-step
with per-horizon metrics, calendar features, prediction from a run directory alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import daily_csv, spec  # noqa: E402

from seqforge.api import load_run  # noqa: E402
from seqforge.cli.app import app  # noqa: E402

runner = CliRunner()
pytestmark = pytest.mark.slow


def run_spec(tmp_path: Path, s: dict) -> tuple[Path, dict, str]:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(s))
    res = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "runs"), "--quiet"])
    assert res.exit_code == 0, res.output
    run_dir = next((tmp_path / "runs" / s["name"]).iterdir())
    return run_dir, json.loads((run_dir / "summary.json").read_text()), res.output


def test_quantiles_coverage_bands_and_predict_columns(tmp_path):
    csv = daily_csv(tmp_path / "prices.csv")
    run_dir, summary, output = run_spec(tmp_path, spec(
        csv, task={"name": "forecast", "quantiles": [0.1, 0.5, 0.9]}, epochs=3))
    test = summary["test"]
    assert {"test_coverage", "test_width", "test_pinball", "test_mase", "test_smape"} <= set(test)
    assert 0 <= test["test_coverage"] <= 1 and test["test_width"] > 0
    every = {b["name"]: b for b in summary["baselines"]}
    assert set(every) >= {"persistence", "seasonal_naive", "drift",
                                         "moving_average"}
    assert summary["baseline"]["name"] == min(every, key=lambda n: every[n]["rmse"])
    assert "beats_best_baseline" in summary and "the best baseline" in output
    for f in ("forecast.png", "predictions.csv"):
        assert (run_dir / f).exists()
    head = (run_dir / "predictions.csv").read_text().splitlines()[0]
    assert "Close_t+1_q0.1" in head and "Close_t+1_q0.9" in head
    # predict from the run directory alone, on a file the model never saw
    new = daily_csv(tmp_path / "new.csv", rows=40, seed=9)
    out = tmp_path / "preds.csv"
    res = runner.invoke(app, ["predict", str(run_dir), "--input", str(new), "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == ["after", "Close_t+1", "Close_t+1_q0.1", "Close_t+1_q0.5",
                                   "Close_t+1_q0.9"]
    assert len(lines) == 1 + 40 - 14 + 1
    lo, mid, hi = (float(v) for v in lines[1].split(",")[2:])
    assert lo <= mid <= hi
    # scoring that file from the run directory: the model beside every baseline
    res = runner.invoke(app, ["evaluate", str(run_dir), "--data", str(new)])
    assert res.exit_code == 0, res.output
    assert "coverage" in res.output and "seasonal" in res.output


@pytest.mark.parametrize("likelihood", ["gaussian", "student_t"])
def test_likelihood_heads_report_an_interval(tmp_path, likelihood):
    csv = daily_csv(tmp_path / "prices.csv")
    run_dir, summary, _ = run_spec(tmp_path, spec(csv, task={"name": "forecast",
                                                             "likelihood": likelihood}))
    assert 0 < summary["test"]["test_coverage"] <= 1 and summary["test"]["test_width"] > 0
    rows = load_run(run_dir).predict(csv)
    low, mid, high = (rows[-1][f"Close_t+1_q{q}"] for q in (0.1, 0.5, 0.9))
    assert low < mid < high


@pytest.mark.parametrize("strategy,data", [
    ("direct", {"transform": ["diff"], "window_norm": "none"}),
    ("recursive", {}),  # the defaults: each slid window is re-normalised on its own
])
def test_multistep_metrics_by_horizon(tmp_path, strategy, data):
    csv = daily_csv(tmp_path / "prices.csv", extra_text=False)
    run_dir, summary, output = run_spec(tmp_path, spec(
        csv, data={"horizon": 3, **data}, task={"name": "forecast", "strategy": strategy}))
    for h in (1, 2, 3):
        assert f"test_rmse_h{h}" in summary["test"] and f"rmse_h{h}" in summary["baseline"]
    assert (run_dir / "horizon_error.png").exists()
    assert "by horizon step" in output
    rows = load_run(run_dir).predict(tmp_path / "prices.csv")
    assert set(rows[-1]) == {"after", "Close_t+1", "Close_t+2", "Close_t+3"}


def test_calendar_features_are_known_future_inputs(tmp_path):
    csv = daily_csv(tmp_path / "prices.csv")
    run_dir, summary, _ = run_spec(tmp_path, spec(
        csv, data={"calendar": ["day_of_week", "month"]}, epochs=1))
    run = load_run(run_dir)
    assert run.info.n_features == 1 + 4
    rows = run.predict({"Date": [f"2023-02-{d:02d}" for d in range(1, 16)],
                        "Close": [100.0 + d for d in range(15)]})
    assert len(rows) == 2 and rows[-1]["after"] == "2023-02-15"
