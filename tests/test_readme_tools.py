"""The README's tool sections run as written: each section's commands are executed —
trainings and studies cut short with extra ``--set`` flags, a served port taken free,
``runs/stock_lstm/<stamp>`` read as the newest run — and checked for what the text says."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seqforge.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHORT = ["--set", "train.epochs=1", "--set", "train.limit_train_batches=2", "--set",
         "train.threads=1"]
runner = CliRunner()


def section(title: str) -> list[list[str]]:
    """The ``seqforge`` commands of a README section's bash blocks, as argv lists."""
    text = README.read_text()
    body = text[text.index(f"## {title}"):].split("\n## ", 1)[0]
    lines = [ln for block in re.findall(r"```bash\n(.*?)```", body, flags=re.S)
             for ln in block.splitlines()]
    return [shlex.split(ln.split("  #")[0]) for ln in lines if ln.strip()]


def seqforge(argv: list[str], *extra: str) -> str:
    assert argv[0] == "seqforge", argv
    res = runner.invoke(app, argv[1:] + list(extra))
    assert res.exit_code == 0, (argv, res.output)
    return res.output


def newest(folder: str) -> str:
    return str(sorted(p for p in Path(folder).iterdir() if p.is_dir())[-1])


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


@pytest.mark.slow
def test_tuning_loggers_and_comparing_runs_as_written(workdir):
    tune, rerun, compare = section("Tuning hyperparameters")
    i = tune.index("--trials")
    tune[i + 1] = "2"  # of 20
    seqforge(tune, "--set", "train.epochs=2", "--set", "train.limit_train_batches=2", "-q")
    assert (workdir / "studies/stock_tune/best.yaml").exists()
    seqforge(rerun, *SHORT)
    assert "trial" in seqforge(compare) and "stock_tune-trial0001" in seqforge(compare)

    log_run, tb = section("Loggers")
    seqforge(log_run, *SHORT)
    run = Path(newest("runs/stock_lstm"))
    assert (run / "metrics.csv").exists() and (run / "mlflow.db").exists()
    assert tb[:2] == ["tensorboard", "--logdir"] and list(Path(tb[2]).glob("*/tensorboard/events.*"))

    table, as_json = section("Comparing runs")
    assert "stock_lstm" in seqforge(table)
    rows = json.loads(seqforge(as_json))
    assert rows and all(r["name"].startswith("stock_") for r in rows)


@pytest.mark.slow
def test_serving_and_exporting_as_written(workdir):
    seqforge(["seqforge", "run", "specs/stock_lstm.yaml"], *SHORT, "--quiet")
    run = newest("runs/stock_lstm")
    (export,) = section("Exporting, checked by a runtime")
    out = seqforge([a.replace("runs/stock_lstm/<stamp>", run) for a in export])
    assert "checked with onnxruntime" in out

    serve, predict, meta = section("Serving a run over HTTP")
    argv = [a.replace("runs/stock_lstm/<stamp>", run) for a in serve]
    argv[argv.index("--port") + 1] = "0"
    proc = subprocess.Popen([sys.executable, "-m", *argv, "--no-access-log"], text=True,
                            stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        url = proc.stderr.readline().rsplit(" at ", 1)[1].strip()
        _wait(url)
        for curl in (predict, meta):  # the documented requests, on the port it took
            assert curl[0] == "curl"
            got = _send([a.replace("localhost:8000", url.removeprefix("http://")) for a in curl])
            assert "error" not in got, got
        assert got["task"] == "forecast" and got["window"] == 60
        assert _send([a.replace("localhost:8000", url.removeprefix("http://"))
                      for a in predict])["count"] == 1  # 61 prices (60 to read + 1 the differencing consumes): one forecast
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=5).read()
            return
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def _send(curl: list[str]) -> dict:
    """Run a README curl line (with curl when installed, else the same request by urllib)."""
    if shutil.which("curl"):
        return json.loads(subprocess.run(curl, capture_output=True, text=True, timeout=60).stdout)
    url = "http://" + next(a for a in curl[1:] if "/" in a and not a.startswith("-"))
    data = curl[curl.index("-d") + 1].encode() if "-d" in curl else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        return json.loads(urllib.request.urlopen(req, timeout=60).read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def test_shell_completion_as_written(tmp_path):
    install, show = section("Shell completion")
    bin_ = str(Path(sys.executable).parent / "seqforge")
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    res = subprocess.run([bin_, *show[1:]], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and "_SEQFORGE_COMPLETE" in res.stdout
    # --install-completion with the shell named (a test has no interactive shell to detect)
    res = subprocess.run([bin_, *install[1:], "bash"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "seqforge" in (tmp_path / ".bashrc").read_text()
