"""Bad numbers: a NaN/inf loss or gradient stops the run with a clear message (or skips
the batch under ``train.nan_policy: skip``), the last good checkpoint stays intact, and
the gradient norm is logged every epoch so explosions are visible.

Bad numbers are injected at a chosen optimizer step (exact and repeatable), and once
produced for real by a learning rate that blows the weights up.
"""

from __future__ import annotations

import hashlib
import io
import math
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: helpers
from engine_helpers import csv, forecast_spec, plotless  # noqa: F401 (fixtures)
from seqforge.api import train
from seqforge.engine.callbacks import Callback, PlainLog
from seqforge.engine.loop import Trainer, TrainingDiverged
from seqforge.engine.rundir import RunDir

pytestmark = pytest.mark.slow


pytestmark = [pytestmark, pytest.mark.usefixtures("plotless")]


class _InfGrad(torch.autograd.Function):
    """Identity forward; an infinite gradient backward."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * float("inf")


def poison(monkeypatch, at_steps: set[int], kind: str = "loss"):
    """Make the loss (``kind="loss"``) or its gradient (``"grad"``) non-finite for the
    forward passes that happen when ``trainer.state.step`` is in ``at_steps``.

    Counting forward passes (not applied steps) so skipped batches still advance it.
    """
    real = Trainer._forward_loss
    calls = {"n": 0}

    def forward_loss(self, batch, state):
        loss, state = real(self, batch, state)
        n = calls["n"]
        calls["n"] += 1
        if n in at_steps:
            loss = loss * float("nan") if kind == "loss" else _InfGrad.apply(loss)
        return loss, state

    monkeypatch.setattr(Trainer, "_forward_loss", forward_loss)


class HashLastAt(Callback):
    """Fingerprint ``last.pt`` as it is after optimizer step ``step``."""

    def __init__(self, step: int):
        self.step, self.digest = step, None

    def on_batch_end(self, trainer, step, loss):
        if step == self.step and self.digest is None:
            self.digest = _sha(trainer.run_dir.checkpoints / "last.pt")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind, what", [("loss", "loss is nan"), ("grad", "gradient norm is")])
def test_bad_number_stops_with_a_clear_message_and_keeps_last_good_checkpoint(
        csv, tmp_path, monkeypatch, kind, what):
    poison(monkeypatch, {5}, kind)  # the 6th forward pass: epoch 1, batch 6
    spy = HashLastAt(step=5)
    spec = forecast_spec(csv, checkpoint={"every_n_steps": 2})
    with pytest.raises(TrainingDiverged) as e:
        train(spec, out=tmp_path, callbacks=[spy])
    msg = str(e.value)
    assert what in msg and "epoch 1, batch 6" in msg
    assert "last good checkpoint is kept" in msg and "nan_policy: skip" in msg
    last = next(tmp_path.glob("*/*/checkpoints/last.pt"))
    assert str(last) in msg
    assert _sha(last) == spy.digest  # not rewritten by the failure
    ck = torch.load(last, weights_only=True)
    assert ck["loop"]["step"] == 4  # the last multiple of every_n_steps before the NaN
    assert all(torch.isfinite(v).all() for v in ck["model"].values())
    assert not (last.parent / "best.pt").exists()  # no epoch ended


def test_skip_policy_skips_only_the_bad_batches(csv, tmp_path, monkeypatch):
    ref = train(forecast_spec(csv, epochs=1, scheduler=None), out=None)
    poison(monkeypatch, {3, 7}, "loss")
    poison(monkeypatch, {11}, "grad")  # stacked on the wrapper above: a different count
    run = train(forecast_spec(csv, epochs=1, scheduler=None, nan_policy="skip"), out=tmp_path)
    row = run.history[0]
    assert row["skipped_batches"] == 3
    assert row["steps"] == ref.history[0]["steps"] - 3
    assert all(math.isfinite(row[k]) for k in ("train_loss", "val_loss", "grad_norm"))
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert RunDir(run.dir).read_metrics()[0]["skipped_batches"] == 3


def test_a_real_explosion_stops_cleanly(csv, tmp_path):
    """No injection: plain SGD at lr 100 with momentum drives the loss to inf."""
    spec = forecast_spec(csv, optimizer={"name": "sgd", "lr": 100, "momentum": 0.9},
                         scheduler=None, checkpoint={"every_n_steps": 1})
    spec["model"]["cell"] = "rnn"
    with pytest.raises(TrainingDiverged, match="training diverged"):
        train(spec, out=tmp_path)
    last = next(tmp_path.glob("*/*/checkpoints/last.pt"))
    ck = torch.load(last, weights_only=True)
    assert all(torch.isfinite(v).all() for v in ck["model"].values())


def test_non_finite_weights_are_never_checkpointed(csv, tmp_path):
    """Even under ``skip`` (which only guards loss and gradient), a model whose weights went
    non-finite is not saved over the last good checkpoint; the run stops instead."""

    class CorruptWeightsAt(Callback):
        def on_batch_end(self, trainer, step, loss):
            if step == 4:
                with torch.no_grad():
                    next(trainer.model.parameters()).view(-1)[0] = float("inf")

    spec = forecast_spec(csv, nan_policy="skip", checkpoint={"every_n_steps": 1})
    with pytest.raises(TrainingDiverged, match="weights are no longer finite") as e:
        train(spec, out=tmp_path, callbacks=[CorruptWeightsAt()])
    assert "last good checkpoint is kept" in str(e.value)
    ck = torch.load(next(tmp_path.glob("*/*/checkpoints/last.pt")), weights_only=True)
    assert ck["loop"]["step"] == 3


def test_grad_norm_is_logged_every_epoch(csv, tmp_path):
    stream = io.StringIO()
    # a tight clip: the logged norm is the one *before* clipping, so spikes stay visible
    run = train(forecast_spec(csv, clip_grad_norm=1e-3), out=tmp_path,
                callbacks=[PlainLog(stream)])
    rows = RunDir(run.dir).read_metrics()
    assert len(rows) == 3
    for r in rows:
        assert math.isfinite(r["grad_norm"]) and r["grad_norm"] > 1e-3
        assert r["grad_norm_max"] >= r["grad_norm"]
    epoch_lines = [x for x in stream.getvalue().splitlines() if x.startswith("epoch ")]
    assert len(epoch_lines) == 3 and all("grad_norm=" in x for x in epoch_lines)


def test_cli_reports_divergence_without_traceback(csv, tmp_path, monkeypatch):
    import yaml

    from seqforge.cli import app

    poison(monkeypatch, {2}, "loss")
    spec_file = tmp_path / "probe.yaml"
    spec_file.write_text(yaml.safe_dump(forecast_spec(csv)))
    res = CliRunner().invoke(app, ["run", str(spec_file), "--out", str(tmp_path / "runs"), "-q"])
    assert res.exit_code == TrainingDiverged.exit_code == 3
    assert "training diverged: loss is nan at epoch 1, batch 3" in res.output
    assert "Traceback" not in res.output
