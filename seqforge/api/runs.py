"""A trained run: :class:`Run`, :func:`load_run` and :func:`evaluate_run`.

A run directory stands alone: its checkpoint holds the weights, the data description
(``DataInfo`` with the fitted scaler, vocabularies, class names and columns) and the
task's fitted state, so loading it reads no training data. The run's own data is read
only when a split of it is asked for (``run.bundle``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data.base import DataBundle, DatasetSource
from ..data.info import DataInfo
from ..engine import evaluate as ev
from ..engine.checkpoint import check_payload, check_weights, load_checkpoint
from ..engine.device import resolve_device
from ..errors import RunDirError, TrainingDiverged
from ..engine.rundir import RunDir
from ..engine.state import CHECKPOINT_FORMAT
from ..spec.schema import Spec
from ..spec.validate import load_spec
from ..tasks.base import Task
from .build import build_from_state, dataset_source, load_data, make_task
from .inputs import input_batches, input_items
from .resume import spec_changes


@dataclass
class Run:
    """A trained (or loaded) run: its model, task, data description and directory."""

    spec: Spec
    model: torch.nn.Module
    task: Task
    info: DataInfo
    source: DatasetSource
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    dir: Path | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _bundle: DataBundle | None = None
    #: what loading noticed and worked around (a missing best.pt, a broken summary.json …)
    notes: list[str] = field(default_factory=list)
    #: the fingerprint of the data the model was trained on (None when unknown)
    data_fingerprint: str | None = None

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return self.history

    @property
    def bundle(self) -> DataBundle:
        """The run's own data (read on first use, with the run's fitted transforms)."""
        if self._bundle is None:
            self._bundle = load_data(self.spec, dataset_source(self.spec, self.info))
            self.notes.extend(self._bundle.notes)
        return self._bundle

    def predict(self, inputs: Any, *, columns: list[str] | None = None) -> list[dict[str, Any]]:
        """Predictions in the task's own terms (prices, labels, decoded strings …).

        ``inputs``: a file path, a table (DataFrame, dict of columns, 2-D array of rows
        with ``columns``), or prepared model inputs (items, a batch, a tensor of x's) —
        see :mod:`seqforge.api.inputs`.
        """
        return ev.predict(self.model, self.task, input_batches(self, inputs, columns=columns),
                          self.device)

    def _check_same_data(self, bundle: DataBundle) -> None:
        """Scoring "the run's test split" only means that on the data it was trained on."""
        saved, now = self.data_fingerprint, bundle.fingerprint
        if saved and now and saved != now:
            raise RunDirError(
                f"{self.dir}: the run's data changed since training ({bundle.source}: "
                f"fingerprint {saved} then, {now} now), so its splits are not the ones the "
                "model was scored on — restore the data, or score other data explicitly with "
                "--data FILE / --data key=value")

    def task_for(self, bundle: DataBundle) -> Task:
        """The run's task seeing ``bundle``'s loaded data, with the run's fitted state."""
        task = make_task(self.spec, bundle.info)
        task.load_state_dict(self.task.state_dict())
        return task

    def evaluate(self, split: str = "test", *, data: Any = None,
                 bundle: DataBundle | None = None) -> dict[str, Any]:
        """The task's metrics with the baseline beside them: on a split of the run's data
        (or of ``bundle``), or on every row of ``data`` (a file or a table with targets)."""
        bs = self.spec.train.batch_size
        if data is not None:
            ds = input_items(self, data, targets=True)
            if isinstance(ds, dict):
                raise RunDirError("evaluate needs items with targets, not a collated batch")
            task = self.task
            loader, stateful = ev.item_batches(ds, self.source.collate, bs), False
        else:
            if bundle is None:
                bundle = self.bundle
                self._check_same_data(bundle)
            ds = bundle.split(split)
            if ds is None or len(ds) == 0:
                raise RunDirError(f"the data has no {split!r} split")
            task = self.task_for(bundle)
            loader, stateful = bundle.loader(split, bs), bundle.stateful
        metrics = ev.evaluate(self.model, task, loader, self.device, split, stateful=stateful)
        bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
        if bad:
            raise TrainingDiverged(f"{self.dir}: the model's {', '.join(bad)} are not finite on "
                                   "this data — its weights produce NaN/inf (a diverged run?); "
                                   "there is nothing meaningful to report")
        baselines = task.baselines(ds)
        return {"model": metrics, "baseline": task.strongest(baselines), "baselines": baselines,
                "headline": task.headline, "examples": len(ds)}


def load_run(path: str | Path, *, device: str = "cpu", checkpoint: str = "best") -> Run:
    """Load a finished (or interrupted) run directory for inference — no data is read.

    Everything loaded is checked first: the checkpoint's structure and its weights'
    shapes against the model the spec builds, and ``spec.resolved.yaml`` against the spec
    the checkpoint was trained with (an edited file is refused, naming the keys). Broken
    auxiliary files (summary, origin, metrics) are noted in ``run.notes``, not fatal.
    """
    rd = RunDir(Path(path))
    if not rd.path.is_dir():
        raise RunDirError(f"{rd.path}: no such run directory")
    spec_file = rd.path / "spec.resolved.yaml"
    if not spec_file.exists():
        raise RunDirError(f"{rd.path}: not a seqforge run directory (no spec.resolved.yaml)")
    notes: list[str] = []
    origin = rd.origin(notes)
    # relative data paths resolve against the original spec's folder, not the run dir
    spec = load_spec(spec_file, base_dir=origin.get("base_dir") or Path.cwd())
    ck_path = rd.checkpoints / f"{checkpoint}.pt"
    if not ck_path.exists():
        last = rd.checkpoints / "last.pt"
        if checkpoint == "last" or not last.exists():
            raise RunDirError(f"{rd.path}: no checkpoint (looked for {ck_path.name}"
                              + (" and last.pt" if checkpoint != "last" else "") + ")")
        notes.append(f"{ck_path} is missing: using {last.name} (the weights after the last "
                     "finished epoch)")
        ck_path = last
    dev = resolve_device(device)
    ck = check_payload(load_checkpoint(ck_path, map_location=dev), ck_path, CHECKPOINT_FORMAT)
    changed = spec_changes(ck.get("spec") or {}, rd.read_spec())
    if changed:
        raise RunDirError(f"{spec_file}: differs from the spec {ck_path.name} was trained with "
                          f"at {', '.join(changed)} — restore the file (the checkpoint holds "
                          "the original), or train a new run")
    info = DataInfo.from_state(ck["data_info"], where=str(ck_path))
    built = build_from_state(spec, info, ck.get("task_state") or {})
    check_weights(built.model, ck["model"], ck_path)
    built.model.load_state_dict(ck["model"])
    built.model.to(dev).eval()
    summary = rd.read_optional("summary.json", notes)
    run = Run(spec, built.model, built.task, info, built.source, rd.read_metrics_optional(notes),
              summary, rd.path, dev)
    run.notes, run.data_fingerprint = notes, ck.get("data_fingerprint")
    return run


def evaluate_run(path: str | Path, *, split: str = "test", data: list[str] = (),
                 device: str = "cpu") -> dict[str, Any]:
    """``seqforge evaluate``: a run's metrics on a split, or on other data.

    ``data``: ``key=value`` items override keys of the run's data section
    (``["source=other.csv"]``) and score that data's ``split``; a plain path scores every
    row of that file. Either way the run's own scaler, vocabulary and classes are used.
    """
    run = load_run(path, device=device)
    files = [d for d in data if "=" not in d]
    keys = [d for d in data if "=" in d]
    if files:
        if len(files) > 1 or keys:
            raise RunDirError("--data takes one file to score, or key=value overrides, not both")
        res = run.evaluate(data=Path(files[0]))
    elif keys:
        rd = RunDir(Path(path))
        spec = load_spec(rd.path / "spec.resolved.yaml", overrides=keys, override_flag="--data",
                         override_prefix="data", base_dir=Path.cwd())
        bundle = load_data(spec, dataset_source(spec, run.info))
        run.notes.extend(bundle.notes)
        res = run.evaluate(split, bundle=bundle)
    else:
        res = run.evaluate(split)
    res["notes"] = list(run.notes)
    return res


__all__ = ["Run", "load_run", "evaluate_run"]
