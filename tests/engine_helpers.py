"""Shared pieces of the checkpoint / resume / interruption tests.

* small specs (a synthetic CSV series, so nothing depends on the builtin data's size);
* :class:`SignalAt` — a callback that sends the process a *real* signal at a chosen step,
  so in-process tests go through the same handler as Ctrl-C;
* :func:`train_interrupted` — train, get interrupted, resume, … until done;
* a test-only plugin (``echo_stream`` dataset + ``echo`` task) for the one path no
  built-in exercises yet: a *stateful* dataset trained with truncated BPTT, whose carried
  hidden state must survive a checkpoint;
* :func:`loss_columns` — what "the same loss history" compares (everything but time).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqforge.api import train
from seqforge.data.base import (DataBundle, DataInfo, DataParams, DatasetSource, TensorItems,
                                fingerprint)
from seqforge.engine.callbacks import Callback
from seqforge.engine.interrupt import Interrupted
from seqforge.hookspecs import hookimpl
from seqforge.tasks.base import Task

# -- data and specs ----------------------------------------------------------------------


def write_series(path: Path, rows: int, seed: int = 0) -> Path:
    """A noisy sine as ``step,value`` CSV (no date column)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    v = np.sin(t / 9.0) + 0.1 * rng.standard_normal(rows)
    path.write_text("step,value\n" + "".join(f"{i},{x:.6f}\n" for i, x in zip(t, v)))
    return path


def forecast_spec(csv: Path, **train: Any) -> dict[str, Any]:
    """A tiny forecasting spec: 2-layer LSTM with dropout (so the RNG state matters),
    shuffled batches (so the shuffle generator matters), a step scheduler."""
    spec = {
        "name": "resume_probe",
        "seed": 7,
        "data": {"dataset": "timeseries_csv", "source": str(csv), "target": "value",
                 "window": 6, "val": 0.15, "test": 0.15},
        "model": {"topology": "many_to_one", "cell": "lstm", "hidden_size": 6,
                  "num_layers": 2, "dropout": 0.2},
        "task": "forecast",
        "train": {"epochs": 3, "batch_size": 8, "threads": 1,
                  "optimizer": {"name": "adam", "lr": 0.01},
                  "scheduler": {"name": "step", "step_size": 1, "gamma": 0.7}},
    }
    spec["train"].update(train)
    return spec


def with_changes(spec: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with some keys of some sections replaced: ``with_changes(s, train={...})``."""
    out = copy.deepcopy(spec)
    for section, values in sections.items():
        out[section].update(values)
    return out


@contextlib.contextmanager
def no_plots():
    """Skip the plots and prediction files a finished run writes (seconds of matplotlib
    per run, and not what these tests are about)."""
    import seqforge.plots
    from seqforge.tasks.forecast import Forecast

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(seqforge.plots, "loss_curve", lambda *a, **k: None)
        mp.setattr(Forecast, "artifacts", lambda self, ctx: [])
        yield


@pytest.fixture(scope="module")
def plotless():
    """Module fixture form of :func:`no_plots` (use with ``autouse`` via a module mark)."""
    with no_plots():
        yield


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    """A 220-row series CSV shared by a test module."""
    return write_series(tmp_path_factory.mktemp("data") / "series.csv", 220)


# -- what "the same history" means ----------------------------------------------------------

#: columns that may differ between two runs of the same computation
VOLATILE = {"time_s"}


def loss_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every column but wall time; floats compared exactly (NaN equal to NaN)."""
    out = []
    for r in rows:
        out.append({k: ("nan" if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in r.items() if k not in VOLATILE})
    return out


# -- interruptions ---------------------------------------------------------------------------


class SignalAt(Callback):
    """Send this process ``signum`` once, after optimizer step ``step`` (or an epoch end).

    A real ``os.kill``: the trainer's handler sees exactly what Ctrl-C would deliver.
    """

    def __init__(self, step: int | None = None, epoch: int | None = None,
                 signum: int = signal.SIGINT):
        self.step, self.epoch, self.signum, self.sent = step, epoch, signum, False

    def _send(self) -> None:
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), self.signum)

    def on_batch_end(self, trainer, step, loss) -> None:
        if self.step is not None and step >= self.step:
            self._send()

    def on_epoch_end(self, trainer, epoch, row) -> None:
        if self.epoch is not None and epoch >= self.epoch:
            self._send()


def train_interrupted(spec: dict[str, Any], out: Path, stops: list[SignalAt]):
    """Train with one interruption per ``stops`` entry, resuming after each; return the
    final run and the checkpoints' loop states at each interruption."""
    run_dir: Path | None = None
    states = []
    for stop in stops:
        try:
            train(spec, out=out, resume=run_dir, callbacks=[stop])
        except Interrupted as exc:
            assert exc.checkpoint is not None and exc.checkpoint.exists()
            run_dir = exc.checkpoint.parent.parent
            states.append(torch.load(exc.checkpoint, weights_only=True)["loop"])
        else:
            raise AssertionError(f"training finished before the interruption at {vars(stop)}")
    return train(spec, out=out, resume=run_dir), states


# -- a stateful, truncated-BPTT workload (test-only plugin) ---------------------------------


class EchoParams(DataParams):
    streams: int = 4  # parallel streams = the batch size that keeps state aligned
    steps: int = 240  # length of each stream
    window: int = 12  # steps per example (split into truncated-BPTT chunks by the engine)


class EchoStream(DatasetSource):
    """Random streams; the target is the input delayed by two steps.

    Examples are consecutive windows of ``streams`` parallel streams, laid out so that
    batch ``b`` row ``i`` continues batch ``b-1`` row ``i`` — what ``stateful`` promises
    (the engine carries the hidden state across batches and does not shuffle).
    """

    Params = EchoParams
    provides = "sequence"

    def load(self) -> DataBundle:
        p = self.params
        g = torch.Generator().manual_seed(self.seed)
        x = torch.randn(p.streams, p.steps, 1, generator=g)  # (S, N, 1)
        y = torch.zeros_like(x)
        y[:, 2:] = x[:, :-2]
        n = p.steps // p.window
        xs = x[:, : n * p.window].reshape(p.streams, n, p.window, 1).transpose(0, 1)  # (n, S, W, 1)
        ys = y[:, : n * p.window].reshape(p.streams, n, p.window, 1).transpose(0, 1)
        xs, ys = xs.reshape(-1, p.window, 1), ys.reshape(-1, p.window, 1)  # (n·S, W, 1)
        cut = int(len(xs) * 0.8) // p.streams * p.streams
        info = DataInfo(input="sequence", n_features=1, n_targets=1)
        return DataBundle(TensorItems(x=xs[:cut], y=ys[:cut]), TensorItems(x=xs[cut:], y=ys[cut:]),
                          None, info, source="echo_stream", fingerprint=fingerprint(xs, ys),
                          stateful=True)


class Echo(Task):
    """MSE at every step (aligned outputs)."""

    outputs = ("aligned_sequence",)

    def output_size(self) -> int:
        return 1

    def loss(self, out, batch):
        return F.mse_loss(out, batch["y"])  # out, y: (B, T, 1)


class EchoPlugin:
    @hookimpl
    def register_datasets(self, register):
        register("echo_stream", EchoStream)

    @hookimpl
    def register_tasks(self, register):
        register("echo", Echo)


def echo_spec(**train: Any) -> dict[str, Any]:
    spec = {
        "name": "echo_probe",
        "seed": 3,
        "data": {"dataset": "echo_stream"},
        "model": {"topology": "many_to_many", "cell": "gru", "hidden_size": 8},
        "task": "echo",
        "train": {"epochs": 2, "batch_size": 4, "threads": 1, "bptt": {"truncate": 4},
                  "optimizer": {"name": "adam", "lr": 0.02}},
    }
    spec["train"].update(train)
    return spec
