"""Interruption: Ctrl-C / SIGTERM / ``kill -9`` against a real ``seqforge run`` process.

* SIGINT mid-epoch: the step finishes, a checkpoint is written, the resume command is
  printed, exit status 130 — and running that printed command ends with the loss history
  of a run that never stopped, bit for bit.
* SIGTERM: the same with 143 (through the CLI, in-process).
* ``kill -9`` while checkpoints are written after every step: ``last.pt`` is intact, and
  resuming from it again gives the uninterrupted history bit for bit.

The tests wait for events (a checkpoint file appearing or being rewritten), never for a
guessed amount of time.
"""

from __future__ import annotations

import os
import shlex
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
from engine_helpers import SignalAt, forecast_spec, loss_columns, no_plots, write_series
from seqforge.api import load_spec, train
from seqforge.cli import app
from seqforge.engine.rundir import RunDir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """``specs/probe.yaml`` naming ``series.csv`` *relative to the spec*; the processes run
    from the folder above, so a cwd-relative reading would not find it."""
    root = tmp_path_factory.mktemp("proj")
    specs = root / "specs"
    specs.mkdir()
    write_series(specs / "series.csv", 1000)
    spec = forecast_spec(Path("series.csv"), epochs=2, checkpoint={"every_n_steps": 3})
    spec["name"] = "probe"
    spec["model"].update(hidden_size=4, num_layers=1, dropout=0.0)
    (specs / "probe.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def reference(project, tmp_path_factory):
    with no_plots():
        return train(load_spec(project / "specs" / "probe.yaml"),
                     out=tmp_path_factory.mktemp("ref"))


@pytest.fixture
def start():
    """``start(project, out, *args)``: a ``seqforge run`` child, killed if a test fails."""
    procs: list[subprocess.Popen] = []

    def _start(project: Path, out: str, *extra: str) -> subprocess.Popen:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SEQFORGE_DISABLE_PLUGINS": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "seqforge", "run", "specs/probe.yaml", "--out", out, "-q",
             *extra], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _wait_for(cond, proc: subprocess.Popen, what: str, timeout: float = 120.0):
    """Poll ``cond()`` until it returns something truthy; fail if the process ends first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"process ended (status {proc.returncode}) before {what}:\n{err[-2000:]}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _last_checkpoint(out: Path):
    found = list(out.glob("probe/*/checkpoints/last.pt"))
    return found[0] if found else None


def test_sigint_mid_epoch_checkpoints_prints_resume_and_resumes_bit_identical(
        project, reference, start):
    out = project / "runs_sigint"
    proc = start(project, "runs_sigint")
    last = _wait_for(lambda: _last_checkpoint(out), proc, "the first mid-epoch checkpoint")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted by SIGINT" in stderr
    assert f"checkpoint written to {last.relative_to(project)}" in stderr
    loop = torch.load(last, weights_only=True)["loop"]
    per_epoch = reference.history[0]["steps"]
    assert loop["epoch"] == 0 and 0 < loop["batch_in_epoch"] < per_epoch  # mid-epoch
    assert not (last.parent.parent / "summary.json").exists()

    # the printed command, exactly as a user would paste it
    line = next(x for x in stderr.splitlines() if x.startswith("resume with: "))
    argv = shlex.split(line.removeprefix("resume with: "))
    assert argv[:2] == ["seqforge", "run"] and argv[-2] == "--resume"
    assert Path(project / argv[-1]) == last.parent.parent
    res = subprocess.run([sys.executable, "-m", "seqforge", *argv[1:], "-q"], cwd=project,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "SEQFORGE_DISABLE_PLUGINS": "1"})
    assert res.returncode == 0, res.stderr
    rows = RunDir(last.parent.parent).read_metrics()
    assert loss_columns(rows) == loss_columns(reference.history)


def test_kill9_never_corrupts_last_and_resume_is_bit_identical(project, reference, start):
    """A checkpoint after every step; SIGKILL once it has been rewritten a few times."""
    out = project / "runs_kill9"
    proc = start(project, "runs_kill9", "--set", "train.checkpoint.every_n_steps=1")
    last = _wait_for(lambda: _last_checkpoint(out), proc, "the first checkpoint")
    seen = set()

    def rewritten():
        try:
            seen.add(last.stat().st_mtime_ns)
        except FileNotFoundError:  # only ever between nothing and the first rename
            pass
        return len(seen) >= 4

    _wait_for(rewritten, proc, "last.pt to be rewritten")
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    ck = torch.load(last, weights_only=True)  # intact: loads, and is a full checkpoint
    assert ck["loop"]["step"] >= 1 and set(ck["model"]) == set(reference.model.state_dict())

    with no_plots():
        run = train(load_spec(project / "specs" / "probe.yaml"), out=out,
                    resume=last.parent.parent)
    assert loss_columns(run.history) == loss_columns(reference.history)
    assert loss_columns(RunDir(run.dir).read_metrics()) == loss_columns(reference.history)
    assert not list(last.parent.glob(".*.tmp"))  # a half-written temp, if any, is gone


def test_sigterm_through_the_cli_exits_143_and_resumes(project, reference, monkeypatch):
    """SIGTERM (what schedulers and ``docker stop`` send) at step 4, in-process CLI."""
    import seqforge.api.training

    monkeypatch.setattr(seqforge.api.training, "default_progress",
                        lambda quiet: [SignalAt(step=4, signum=signal.SIGTERM)])
    monkeypatch.chdir(project)
    runner = CliRunner()
    with no_plots():
        res = runner.invoke(app, ["run", "specs/probe.yaml", "--out", "runs_term"])
        assert res.exit_code == 143, res.output
        assert "interrupted by SIGTERM" in res.output and "resume with: " in res.output
        monkeypatch.setattr(seqforge.api.training, "default_progress", lambda quiet: [])
        res = runner.invoke(app, ["run", "specs/probe.yaml", "--out", "runs_term", "--resume"])
        assert res.exit_code == 0, res.output
    rows = RunDir(RunDir.latest(project / "runs_term", "probe").path).read_metrics()
    assert loss_columns(rows) == loss_columns(reference.history)


def test_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(project, monkeypatch):
    """A second Ctrl-C while the first is being honoured: exit 130 without a traceback."""
    import seqforge.api.training

    class Twice(SignalAt):
        def on_batch_end(self, trainer, step, loss):
            if step == 4:  # after the step-3 checkpoint
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(seqforge.api.training, "default_progress", lambda quiet: [Twice()])
    monkeypatch.chdir(project)
    res = CliRunner().invoke(app, ["run", "specs/probe.yaml", "--out", "runs_twice"])
    assert res.exit_code == 130, res.output
    assert "stopped at once" in res.output
    ck = torch.load(_last_checkpoint(project / "runs_twice"), weights_only=True)
    assert ck["loop"]["step"] == 3
