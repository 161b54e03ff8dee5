"""Faults around a run directory, one test per class of defect (issue: runs that survive,
round two): two writers at once, corrupt auxiliary files, structurally wrong checkpoints,
edited specs and changed data, a missing best.pt, a second signal while a checkpoint is
being written. Every refusal is exit status 2 with the file named — no traceback, no lost
or doubled data, no silent wrong result."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from engine_helpers import SignalAt, forecast_spec, no_plots, write_series
from seqforge.api import load_run, train
from seqforge.cli import app
from seqforge.engine.rundir import RunDir
from seqforge.errors import RunDirError

runner = CliRunner()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small finished run, copied fresh for each test that damages it."""
    root = tmp_path_factory.mktemp("faults")
    csv = write_series(root / "series.csv", 160)
    with no_plots():
        run = train(forecast_spec(csv, epochs=2), out=root / "runs")
    return run.dir


@pytest.fixture
def run_dir(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def _refused(*args: str, match: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and match in res.output, res.output
    return res.output


# -- one writer at a time ------------------------------------------------------------------

def test_a_second_writer_is_refused_naming_the_holder(run_dir):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from seqforge.engine.rundir import RunDir\n"
         f"with RunDir(Path({str(run_dir)!r})).locked():\n"
         "    print('locked', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        spec = run_dir / "spec.resolved.yaml"
        before = (run_dir / "metrics.jsonl").read_text()
        out = _refused("run", str(spec), str(run_dir), "--resume", "-q", "--set", "train.epochs=3",
                       match="in use")
        assert f"pid {holder.pid}" in out
        assert (run_dir / "metrics.jsonl").read_text() == before  # nothing written twice
    finally:
        holder.kill()
        holder.wait()
    # the holder died without unlocking (kill -9): its lock file is left, and harmless
    with RunDir(run_dir).locked():
        pass


# -- corrupt auxiliary files ------------------------------------------------------------------

@pytest.mark.parametrize("name, content", [
    ("summary.json", '{"name": "x", "test": {'),  # truncated
    ("origin.json", "[]"),  # valid JSON, wrong shape
    ("metrics.jsonl", b"\x00\xff\xfe\x00binary"),
    ("env.json", "not json at all"),
])
def test_a_corrupt_auxiliary_file_is_named_and_does_not_block_using_the_run(run_dir, name, content,
                                                                            tmp_path):
    path = run_dir / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    recent = write_series(tmp_path / "recent.csv", 30, seed=3)
    for argv in (["predict", str(run_dir), "--input", str(recent)], ["evaluate", str(run_dir)],
                 ["export", str(run_dir), "--out", str(tmp_path / "x")]):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0, res.output
        assert "Traceback" not in res.output
        if name != "env.json":  # env.json is a record for people: loading never reads it
            assert name in res.output and "ignored" in res.output or "not shown" in res.output


def test_resume_rewrites_the_files_it_owns(run_dir):
    (run_dir / "origin.json").write_text("[]")
    (run_dir / "metrics.jsonl").write_text("garbage\n{\n")
    spec = run_dir / "spec.resolved.yaml"
    with no_plots():
        res = runner.invoke(app, ["run", str(spec), str(run_dir), "--resume", "-q",
                                  "--set", "train.epochs=3"])
    assert res.exit_code == 0, res.output
    rd = RunDir(run_dir)
    assert isinstance(rd.read_json("origin.json"), dict)
    assert [r["epoch"] for r in rd.read_metrics()] == [1, 2, 3]


# -- checkpoints that load but are wrong ---------------------------------------------------------

def _damaged(ck: dict, how: str):
    if how == "no model key":
        return {k: v for k, v in ck.items() if k != "model"}
    if how == "a list":
        return [1, 2, 3]
    if how == "a bare tensor":
        return torch.zeros(3)
    if how == "wrong format":
        return {**ck, "format": "something-else/9"}
    if how == "another architecture":
        weights = {k: torch.zeros(*(s + 1 for s in v.shape)) for k, v in ck["model"].items()}
        return {**ck, "model": weights}
    if how == "a bad loop entry":
        return {**ck, "loop": {"epoch": -4, "step": "x", "batch_in_epoch": 0, "history": []}}
    raise AssertionError(how)


@pytest.mark.parametrize("how, match", [
    ("no model key", "'model' entry is missing"), ("a list", "holds a list"),
    ("a bare tensor", "holds a Tensor"), ("wrong format", "not a seqforge-checkpoint"),
    ("another architecture", "another architecture"), ("a bad loop entry", "'loop' entry"),
])
def test_structurally_wrong_checkpoints_are_refused_by_every_path(run_dir, how, match, tmp_path):
    for name in ("best.pt", "last.pt"):
        path = run_dir / "checkpoints" / name
        ck = torch.load(path, weights_only=True)
        torch.save(_damaged(ck, how), path)
    recent = write_series(tmp_path / "recent.csv", 30)
    spec = run_dir / "spec.resolved.yaml"
    argvs = [["predict", str(run_dir), "--input", str(recent)], ["evaluate", str(run_dir)],
             ["export", str(run_dir)]]
    if how != "a bad loop entry":  # only resume reads the loop position
        for argv in argvs:
            out = _refused(*argv, match=match)
            assert "weights_only" not in out and "\x1b[" not in out
    _refused("run", str(spec), str(run_dir), "--resume", "-q", "--set", "train.epochs=3",
             match=match)


def test_pickle_refusals_carry_no_torch_advice_and_no_colour_codes(run_dir):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"model": Evil()}, run_dir / "checkpoints" / "best.pt")
    out = _refused("evaluate", str(run_dir), match="pickle payload")
    assert "weights_only" not in out and "\x1b[" not in out


# -- silently different runs -----------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [(("data", "window"), 9), (("data", "source"), "other.csv")])
def test_an_edited_spec_resolved_yaml_is_refused(run_dir, key, value):
    path = run_dir / "spec.resolved.yaml"
    spec = yaml.safe_load(path.read_text())
    spec[key[0]][key[1]] = value
    path.write_text(yaml.safe_dump(spec))
    _refused("evaluate", str(run_dir), match=".".join(key))
    _refused("predict", str(run_dir), "--input", str(path), match=".".join(key))


def test_evaluate_refuses_data_that_changed_in_place(run_dir):
    source = Path(yaml.safe_load((run_dir / "spec.resolved.yaml").read_text())["data"]["source"])
    backup = source.read_bytes()
    try:
        write_series(source, 160, seed=99)  # same file, other numbers
        _refused("evaluate", str(run_dir), match="changed since training")
    finally:
        source.write_bytes(backup)


def test_a_missing_best_checkpoint_is_said_not_silently_replaced(run_dir):
    (run_dir / "checkpoints" / "best.pt").unlink()
    res = runner.invoke(app, ["evaluate", str(run_dir)])
    assert res.exit_code == 0 and "best.pt is missing: using last.pt" in res.output
    (run_dir / "checkpoints" / "last.pt").unlink()
    _refused("evaluate", str(run_dir), match="no checkpoint")
    with pytest.raises(RunDirError, match="no checkpoint"):
        load_run(run_dir)


def test_evaluating_a_model_that_outputs_nan_is_not_a_table_of_nan(run_dir):
    for name in ("best.pt", "last.pt"):
        path = run_dir / "checkpoints" / name
        ck = torch.load(path, weights_only=True)
        ck["model"] = {k: torch.full_like(v, 1e38) for k, v in ck["model"].items()}
        torch.save(ck, path)
    res = runner.invoke(app, ["evaluate", str(run_dir)])
    assert res.exit_code == 3 and "not finite" in res.output and "nan |" not in res.output.lower()


# -- a second signal while a checkpoint is written --------------------------------------------

def test_a_second_signal_mid_checkpoint_keeps_the_exit_code_and_the_file(tmp_path, monkeypatch):
    """The first SIGTERM asks for a checkpoint; a second arrives while that checkpoint is
    being written: the write completes, the exit status is still 143, and the checkpoint
    loads."""
    import seqforge.api.training
    import seqforge.engine.checkpointing as ckpt

    csv = write_series(tmp_path / "s.csv", 160)
    real = ckpt.save_checkpoint
    calls = []

    def slow_save(path, payload):
        calls.append(path.name)
        if len(calls) == 1:  # the first save after the first signal: signal again, mid-write
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        real(path, payload)

    monkeypatch.setattr(seqforge.api.training, "default_progress",
                        lambda quiet: [SignalAt(step=2, signum=signal.SIGTERM)])
    monkeypatch.setattr(ckpt, "save_checkpoint", slow_save)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(forecast_spec(csv, epochs=2)))
    with no_plots():
        res = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 143, res.output
    assert "Traceback" not in res.output and "RuntimeError" not in res.output
    last = next((tmp_path / "o").glob("*/*/checkpoints/last.pt"))
    assert json.dumps(torch.load(last, weights_only=True)["loop"]["step"])
