"""seqforge tune end to end: a small study's report and trial run directories, resuming,
two worker processes on one storage file, an interrupted trial run again, pruning through
the loop's stop request."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqforge.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from tool_helpers import ROOT, write_tune_spec  # noqa: E402

runner = CliRunner()


def _trials(study_dir: Path) -> list[dict]:
    with open(study_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def _storage_trials(study_dir: Path):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    st = JournalStorage(JournalFileBackend(str(study_dir / "study.journal")))
    return optuna.load_study(study_name=study_dir.name, storage=st).get_trials()


@pytest.mark.slow
def test_a_study_writes_trials_best_spec_and_plot_then_resumes(tmp_path):
    spec = write_tune_spec(tmp_path, trials=3)
    out = tmp_path / "studies"
    res = runner.invoke(app, ["tune", str(spec), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    study = out / "tune"
    rows = _trials(study)
    assert [r["number"] for r in rows] == ["0", "1", "2"]
    assert {r["state"] for r in rows} <= {"COMPLETE", "PRUNED"}
    for r in rows:  # every trial is an ordinary run directory
        run = study / r["run_dir"]
        assert (run / "spec.resolved.yaml").exists() and (run / "summary.json").exists()
        assert json.loads((run / "tune.json").read_text())["trial"] == int(r["number"])
    info = json.loads((study / "study.json").read_text())
    assert info["metric"] == "val_loss" and info["direction"] == "minimize"
    assert (study / "study.png").stat().st_size > 0
    best = study / "best.yaml"
    # the best spec is one seqforge run accepts, with the best trial's values
    shown = runner.invoke(app, ["run", str(best), "--print-config"])
    assert shown.exit_code == 0, shown.output
    assert f"lr: {info['best']['params']['train.optimizer.lr']}" in shown.stdout
    assert "best:" in res.output and "seqforge run" in res.output

    again = runner.invoke(app, ["tune", str(spec), "--out", str(out), "--trials", "4", "-q"])
    assert again.exit_code == 0, again.output
    assert [r["number"] for r in _trials(study)] == ["0", "1", "2", "3"]  # one more, resumed
    assert "ran 1 trial(s)" in again.output

    other = runner.invoke(app, ["tune", str(spec), "--out", str(out), "--set",
                                "tune.space.model.cell={choice: [rnn]}"])
    assert other.exit_code == 2 and "another space" in other.output


@pytest.mark.slow
def test_two_worker_processes_share_one_storage_file(tmp_path):
    spec = write_tune_spec(tmp_path, trials=4)
    out = tmp_path / "studies"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "seqforge", "tune", str(spec), "--out", str(out), "-q"]
    workers = [subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    trials = _storage_trials(out / "tune")
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(numbers))) and len(set(numbers)) == len(numbers)
    assert len(trials) == 4  # none lost, none extra
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2  # both did work
    for t in trials:  # every trial's run directory exists
        assert (out / "tune" / t.user_attrs["run_dir"] / "summary.json").exists()


@pytest.mark.slow
def test_an_interrupted_trial_runs_again_when_the_study_resumes(tmp_path, monkeypatch):
    import seqforge.api as api
    from seqforge.engine.interrupt import Interrupted
    from seqforge.tune import prepare, run_worker

    spec = write_tune_spec(tmp_path, trials=2)
    job = prepare(spec, out=tmp_path / "studies")
    train, calls = api.train, []

    def interrupt_the_second(spec, **kw):  # as Ctrl-C during trial 1 would
        calls.append(spec.name)
        if len(calls) == 2:
            raise Interrupted(2, None)
        return train(spec, **kw)

    monkeypatch.setattr(api, "train", interrupt_the_second)
    with pytest.raises(Interrupted):
        run_worker(job)
    monkeypatch.undo()
    first = _storage_trials(job.study_dir)
    assert [t.state.name for t in first] == ["COMPLETE", "FAIL", "WAITING"]
    assert first[1].user_attrs["interrupted"] is True
    res = run_worker(prepare(spec, out=tmp_path / "studies"))
    trials = _storage_trials(job.study_dir)
    assert res["counts"]["done"] == 2 and len(trials) == 3
    assert trials[2].params == first[1].params  # the interrupted values, run again
    assert trials[2].state.name in ("COMPLETE", "PRUNED")


def test_a_mapping_choice_goes_through_optuna_and_back():
    import optuna

    from seqforge.spec.tune import parse_param
    from seqforge.tune.objective import sample

    cell = parse_param("model.cell", {"choice": ["lstm", {"name": "rnn", "nonlinearity": "relu"}]})
    drop = parse_param("model.dropout", {"uniform": [0.0, 0.5], "when": {"model.cell": ["lstm"]}})
    trial = optuna.trial.FixedTrial({"model.cell": '{"name": "rnn", "nonlinearity": "relu"}'})
    assert sample(trial, [cell, drop]) == {"model.cell": {"name": "rnn", "nonlinearity": "relu"}}
    trial = optuna.trial.FixedTrial({"model.cell": "lstm", "model.dropout": 0.25})
    assert sample(trial, [cell, drop]) == {"model.cell": "lstm", "model.dropout": 0.25}


def test_a_pruned_trial_asks_the_loop_to_stop_and_the_loop_does(tmp_path):
    import seqforge
    from seqforge.engine.callbacks import Callback
    from seqforge.tune import prepare
    from seqforge.tune.objective import Pruning

    class FakeTrial:
        number, reports = 7, []

        def report(self, value, step):
            self.reports.append((step, value))

        def should_prune(self):
            return True

    job = prepare(write_tune_spec(tmp_path), out=tmp_path)
    pruning = Pruning(FakeTrial(), job)
    said = []

    class Listen(Callback):
        def on_message(self, trainer, text):
            said.append(text)

    spec = seqforge.load_spec(write_tune_spec(tmp_path), overrides=["train.epochs=3", "tune=null"])
    run = seqforge.train(spec, out=None, callbacks=[pruning, Listen()])
    assert len(run.history) == 1 and pruning.pruned_at == 1  # stopped after the first epoch
    assert FakeTrial.reports[0][0] == 1 and any("trial 7 pruned" in s for s in said)


def test_an_unknown_metric_is_exit_2_with_the_nearest_row_key(tmp_path):
    spec = write_tune_spec(tmp_path, trials=1)
    res = runner.invoke(app, ["tune", str(spec), "--out", str(tmp_path / "s"), "-q",
                              "--set", "tune.metric=val_rmsee", "--set", "train.epochs=1"])
    assert res.exit_code == 2, res.output
    assert "tune.metric" in res.output and "did you mean 'val_rmse'" in res.output


def test_trials_of_a_killed_worker_fail_and_run_again(tmp_path):
    """kill -9 leaves a trial RUNNING forever; the next worker on the host fails it and
    enqueues its values, so the study neither waits for it nor loses it."""
    import socket

    from seqforge.tune import prepare
    from seqforge.tune.worker import counts, fail_dead_trials, open_study

    job = prepare(write_tune_spec(tmp_path, trials=2), out=tmp_path / "studies")
    study = open_study(job, None)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    trial = study.ask()
    trial.suggest_categorical("model.cell", ["lstm", "gru"])
    trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": gone.pid})
    alive = study.ask()  # this process's own running trial is left alone
    alive.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
    assert fail_dead_trials(study) == [trial.number]
    states = [t.state.name for t in study.get_trials()]
    assert states == ["FAIL", "RUNNING", "WAITING"]
    waiting = study.get_trials()[2]
    assert waiting.system_attrs["fixed_params"] == {"model.cell": trial.params["model.cell"]}
    assert counts(study)["retried"] == 1 and counts(study)["done"] == 0
