"""Rolling-origin backtests (one batched pass, or retrained per fold) and many series in
long format (per-series scaling, per-series metrics), end to end through the CLI."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import daily_csv, long_csv, spec  # noqa: E402

from seqforge.api import load_run  # noqa: E402
from seqforge.api.backtest import fold_of  # noqa: E402
from seqforge.cli.app import app  # noqa: E402

runner = CliRunner()


def write_spec(tmp_path: Path, s: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(s))
    return path


def test_fold_layout_cuts_each_series_into_consecutive_blocks():
    import numpy as np

    t = np.array([5, 6, 7, 8, 9, 3, 4, 5])
    sid = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    assert fold_of(t, sid, 2, "x").tolist() == [0, 0, 0, 1, 1, 0, 0, 1]


@pytest.mark.slow
def test_backtest_run_dir_and_retrain(tmp_path):
    csv_path = daily_csv(tmp_path / "prices.csv", rows=200)
    path = write_spec(tmp_path, spec(csv_path, epochs=1))
    out = tmp_path / "runs"
    res = runner.invoke(app, ["run", str(path), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    run_dir = next((out / "fc_probe").iterdir())
    res = runner.invoke(app, ["backtest", str(run_dir), "--folds", "4"])
    assert res.exit_code == 0, res.output
    assert "backtest, 4 folds" in res.output and "best baseline" in res.output
    rows = list(csv.DictReader((run_dir / "backtest.csv").open()))
    assert [r["fold"] for r in rows] == ["1", "2", "3", "4"]
    assert (run_dir / "backtest.png").exists()
    report = json.loads((run_dir / "backtest.json").read_text())
    windows = sum(r["windows"] for r in report["folds"])
    assert windows == len(load_run(run_dir).bundle.test)
    # the same folds, each scored by a model retrained on the rows before it
    res = runner.invoke(app, ["backtest", str(path), "--folds", "2", "--retrain", "--out",
                              str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    again = json.loads(next(out.glob("fc_probe/backtest-*/backtest.json")).read_text())
    assert [r["windows"] for r in again["folds"]] == [
        sum(r["windows"] for r in report["folds"][:2]), sum(r["windows"] for r in report["folds"][2:])]
    # a spec without --retrain: trained once, then scored per fold
    res = runner.invoke(app, ["backtest", str(path), "--folds", "3", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "backtest, 3 folds" in res.output and "of 3 folds" in res.output
    # more folds than test windows: the option is named, exit 2
    res = runner.invoke(app, ["backtest", str(run_dir), "--folds", "500"])
    assert res.exit_code == 2 and "--folds" in res.output and "at most" in res.output


@pytest.mark.slow
def test_many_series_global_model(tmp_path):
    stores = {"north": 10.0, "south": 1000.0, "east": 100.0}
    path = long_csv(tmp_path / "sales.csv", stores)
    s = spec(path, data={"target": "sales", "id_column": "store", "window": 10,
                         "calendar": ["day_of_week"]}, epochs=2)
    res = runner.invoke(app, ["run", str(write_spec(tmp_path, s)), "--out",
                              str(tmp_path / "runs"), "--quiet"])
    assert res.exit_code == 0, res.output
    run_dir = next((tmp_path / "runs" / "fc_probe").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["per_series"]) == set(stores)
    assert summary["per_series"]["south"]["rmse"] > summary["per_series"]["north"]["rmse"]
    run = load_run(run_dir)
    facet = run.info.facets["series"]
    assert facet.series_ids == list(stores)
    means = [sc.mean[0] for sc in facet.scalers]  # scaled per series, on its training rows
    assert means[0] < 20 < means[2] < 200 < means[1]
    rows = run.predict(tmp_path / "sales.csv")
    assert {r["series"] for r in rows} == set(stores)
    other = long_csv(tmp_path / "west.csv", {"west": 5.0}, rows=20)
    with pytest.raises(Exception, match="'west'.*not in the training data"):
        run.predict(other)


def test_id_column_with_one_row_per_series_is_refused(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("row,Close\n" + "".join(f"r{i},{i}\n" for i in range(80)))
    s = spec(path, data={"id_column": "row", "date_column": None})
    res = runner.invoke(app, ["validate", str(write_spec(tmp_path, s))])
    assert res.exit_code == 2 and "data.id_column" in res.output and "one row per series" in res.output


@pytest.mark.parametrize("data,task,key,why", [
    ({"transform": ["log"]}, "forecast", "data.transform", "log needs values > 0"),
    ({"transform": ["sqrt"]}, "forecast", "data.transform", "'log'"),
    ({"delimiter": "ab"}, "forecast", "data.delimiter", "one character"),
    ({"encoding": "utf-99"}, "forecast", "data.encoding", "unknown encoding"),
    ({"thousands": ",", "delimiter": ","}, "forecast", "data", "both ','"),
    ({"season": 0}, "forecast", "data.season", "at least 1"),
    ({"calendar": ["weekday"]}, "forecast", "data.calendar", "day_of_week"),
    ({"date_format": "dd/mm/yyyy"}, "forecast", "data.date_format", "strptime"),
    ({}, {"name": "forecast", "quantiles": [0.9, 0.5, 0.1]}, "task.quantiles", "sorted"),
    ({}, {"name": "forecast", "quantiles": [0.0, 0.5]}, "task.quantiles", "between 0 and 1"),
    ({}, {"name": "forecast", "quantiles": [0.1, 0.9]}, "task.quantiles", "include 0.5"),
])
def test_bad_forecast_keys_exit_2_naming_key_and_reason(tmp_path, data, task, key, why):
    path = tmp_path / "p.csv"
    path.write_text("Date,Close\n" + "".join(f"2020-01-{d:02d},{d - 5}\n" for d in range(1, 29))
                    + "".join(f"2020-02-{d:02d},{d}\n" for d in range(1, 29)))
    s = spec(path, data={"window": 5, **data}, task=task)
    res = runner.invoke(app, ["validate", str(write_spec(tmp_path, s))])
    assert res.exit_code == 2, res.output
    assert key in res.output and why in res.output
    assert "Traceback" not in res.output
