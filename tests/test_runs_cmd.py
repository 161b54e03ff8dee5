"""seqforge runs: one validated loader over run directories — filters, sorting, --json, and
corrupt files reported on their run's row, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqforge.api.catalog import list_runs, read_run
from seqforge.cli import app

runner = CliRunner()


def _run(root: Path, name: str, stamp: str, *, task: str = "forecast", test: float | None = 2.0,
         baseline: float = 3.0, summary: str | None = None, metrics: str | None = None) -> Path:
    d = root / name / stamp
    (d / "checkpoints").mkdir(parents=True)
    (d / "spec.resolved.yaml").write_text(f"name: {name}\ntask: {task}\n")
    (d / "metrics.jsonl").write_text(metrics if metrics is not None else
                                     '{"epoch": 1, "val_loss": 0.5}\n{"epoch": 2, "val_loss": 0.4}\n')
    if summary is not None:
        (d / "summary.json").write_text(summary)
    elif test is not None:
        (d / "summary.json").write_text(json.dumps({
            "name": name, "task": task, "epochs_run": 2, "monitor": "val_loss", "best": 0.4,
            "best_epoch": 2, "test": {"test_loss": 0.4, "test_rmse": test},
            "baseline": {"name": "persistence", "rmse": baseline},
            "beats_baseline": {"rmse": test < baseline}}))
    return d


@pytest.fixture
def runs_dir(tmp_path):
    root = tmp_path / "runs"
    _run(root, "stock_a", "20260101-100000", test=2.0)
    _run(root, "stock_b", "20260102-100000", test=5.0)
    _run(root, "digits", "20260103-100000", task="classify", test=None)  # still training
    _run(root, "broken", "20260104-100000", summary='{"name": "broken", "task": ')
    _run(root, "torn", "20260105-100000", metrics='{"epoch": 1}\nnot json\n{"epoch": 3}\n')
    _run(root, "odd", "20260106-100000", summary=json.dumps({"name": "odd", "task": "forecast",
                                                             "epochs_run": "two"}))
    (root / "notes").mkdir()  # a folder without runs is passed over
    return root


def test_every_run_is_a_record_and_problems_are_listed(runs_dir):
    recs = {r.name: r for r in list_runs(runs_dir)}
    assert set(recs) == {"stock_a", "stock_b", "digits", "broken", "torn", "odd"}
    a = recs["stock_a"]
    assert (a.status, a.task, a.epochs, a.metric, a.test, a.baseline_name, a.baseline, a.beats) == \
        ("finished", "forecast", 2, "rmse", 2.0, "persistence", 3.0, True)
    assert recs["stock_b"].beats is False
    assert recs["digits"].status == "incomplete" and recs["digits"].epochs == 2
    assert recs["broken"].status == "corrupt"
    assert "summary.json: not JSON (line 1" in recs["broken"].problems[0]
    assert "metrics.jsonl (line 2): broken — not a metrics row" in recs["torn"].problems[0]
    assert "summary.json: epochs_run" in recs["odd"].problems[0]


def test_the_table_filters_sorts_and_shows_problems(runs_dir):
    res = runner.invoke(app, ["runs", str(runs_dir)])
    assert res.exit_code == 0, res.output
    assert "6 run(s)" in res.output and "persistence" in res.output and "corrupt" in res.output
    assert "not JSON" in res.output  # the problem itself, under the table
    res = runner.invoke(app, ["runs", str(runs_dir), "--task", "forecast", "--name", "stock_*",
                              "--sort", "test", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["name"] for r in rows] == ["stock_a", "stock_b"]
    newest = json.loads(runner.invoke(app, ["runs", str(runs_dir), "--json"]).output)
    assert newest[0]["name"] == "odd" and newest[-1]["name"] == "stock_a"  # newest first
    oldest = json.loads(runner.invoke(app, ["runs", str(runs_dir), "--json", "--reverse"]).output)
    assert [r["name"] for r in oldest] == [r["name"] for r in newest][::-1]
    assert json.loads(runner.invoke(app, ["runs", str(runs_dir), "--name", "tor", "--json"])
                      .output)[0]["name"] == "torn"


def test_bad_arguments_are_exit_2(tmp_path):
    res = runner.invoke(app, ["runs", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "no such directory" in res.output
    (tmp_path / "f").write_text("x")
    assert runner.invoke(app, ["runs", str(tmp_path / "f")]).exit_code == 2
    res = runner.invoke(app, ["runs", str(tmp_path), "--sort", "tset"])
    assert res.exit_code == 2 and "did you mean 'test'" in res.output


def test_an_empty_folder_says_so(tmp_path):
    res = runner.invoke(app, ["runs", str(tmp_path)])
    assert res.exit_code == 0 and "no run directories under" in res.output
    assert json.loads(runner.invoke(app, ["runs", str(tmp_path), "--json"]).output) == []


def test_a_pruned_trial_reads_as_pruned_and_the_strongest_of_several_baselines_is_shown(tmp_path):
    d = _run(tmp_path, "trial", "20260101-100000")
    (d / "tune.json").write_text('{"state": "PRUNED"}')
    assert read_run(d).status == "pruned"
    s = json.loads((d / "summary.json").read_text())
    s["baselines"] = [{"name": "persistence", "rmse": 3.0}, {"name": "seasonal", "rmse": 1.5}]
    (d / "summary.json").write_text(json.dumps(s))
    rec = read_run(d)
    assert (rec.baseline_name, rec.baseline) == ("seasonal", 1.5)
