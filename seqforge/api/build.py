"""Spec → the things it names, built: dataset, task, model, optimizer, schedule.

Every name resolves through the registry here, once; the engine receives built objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.base import DataBundle, DatasetSource
from ..data.info import DataInfo
from ..engine.loop import Schedule, ScheduleFactory
from ..engine.state import seed_everything
from ..errors import DataError, SpecError
from ..plugins import get_registry
from ..spec.schema import Spec
from ..tasks.base import Task


@dataclass
class Built:
    """Everything a spec names, constructed: data (None for a loaded run), task and model."""

    spec: Spec
    source: DatasetSource
    bundle: DataBundle | None
    info: DataInfo
    task: Task
    model: torch.nn.Module


def dataset_source(spec: Spec, saved: DataInfo | None = None) -> DatasetSource:
    """The spec's dataset, not loaded yet (``saved``: a trained run's DataInfo to reuse)."""
    cls = get_registry().get("dataset", spec.data.dataset.name)
    return cls(spec.data.dataset.params, base_dir=spec.base_dir, seed=spec.seed, saved=saved)


def load_data(spec: Spec, source: DatasetSource) -> DataBundle:
    """``source.load()``; a DataError also names the spec key (and line) behind it."""
    try:
        return source.load()
    except DataError as exc:  # point at the spec key too: the file and line it was written at
        key = exc.path or "data.dataset"
        mark = spec.mark_of(*key.split("."))
        raise exc.in_spec(mark.file if mark else spec.file, key,
                          mark.line if mark else None) from None


def make_task(spec: Spec, info: DataInfo) -> Task:
    return get_registry().get("task", spec.task.name)(spec.task.params, info)


def make_model(spec: Spec, info: DataInfo, task: Task) -> torch.nn.Module:
    """The topology's model for this data and task, seeded so weights are reproducible."""
    reg = get_registry()
    topo_cls = reg.get("topology", spec.model.topology.name)
    cell_cls = reg.get("cell", spec.model.cell.name)
    topology = topo_cls(spec.model, spec.model.topology.params, cell_cls)
    torch.manual_seed(spec.seed)
    model = topology.build(info, task.output_size())
    task.check_model(model)
    return model


def build(spec: Spec, *, saved: DataInfo | None = None,
          task_state: dict[str, Any] | None = None) -> Built:
    """Load the dataset, build the task (fitted on the training split unless a trained
    run's ``task_state`` is given) and the model.

    ``saved``: a trained run's DataInfo — the dataset reuses its scaler and vocabularies
    (scoring a trained model on new data must not refit them).
    """
    seed_everything(spec.seed)
    source = dataset_source(spec, saved)
    bundle = load_data(spec, source)
    task = make_task(spec, bundle.info)
    if task_state is not None:
        task.load_state_dict(task_state)
    else:
        task.fit(bundle.train)
    return Built(spec, source, bundle, bundle.info, task, make_model(spec, bundle.info, task))


def build_from_state(spec: Spec, info: DataInfo, task_state: dict[str, Any]) -> Built:
    """A trained run's task and model from its saved DataInfo and task state — no data read."""
    task = make_task(spec, info)
    task.load_state_dict(task_state)
    return Built(spec, dataset_source(spec, info), None, info, task, make_model(spec, info, task))


def optimizer_for(spec: Spec, model: torch.nn.Module) -> torch.optim.Optimizer:
    opt = get_registry().get("optimizer", spec.train.optimizer.name)
    return opt.build(model.parameters(), spec.train.optimizer.params)


def schedule_for(spec: Spec) -> ScheduleFactory | None:
    """A factory the loop calls once it knows its steps per epoch (None: constant LR)."""
    s = spec.train.scheduler
    if s is None:
        return None
    cls = get_registry().get("scheduler", s.name)

    def factory(optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> Schedule:
        sched = cls.build(optimizer, s.params, epochs=spec.train.epochs,
                          steps_per_epoch=steps_per_epoch)
        return Schedule(sched, cls.interval, cls.needs_metric)

    return factory


def dry_run(spec: Spec) -> dict[str, Any]:
    """Push one tiny batch through model and loss without training (``seqforge validate``).

    Shape mismatches between the dataset, topology and task surface here as SpecErrors.
    """
    built = build(spec)
    bundle = built.bundle
    batch = bundle.collate([bundle.train[i] for i in range(min(2, len(bundle.train)))])
    try:
        out, _ = built.model(batch)
        loss = built.task.loss(out, batch)
        loss.backward()
    except (RuntimeError, ValueError, IndexError) as exc:
        msg = str(exc).strip().splitlines()[0][:300]
        raise SpecError(
            f"model {spec.model.topology.name!r} with cell {spec.model.cell.name!r} does not fit "
            f"task {spec.task.name!r} on dataset {spec.data.dataset.name!r}: a trial batch "
            f"failed ({msg})", path="model", file=spec.file) from None
    if not torch.isfinite(loss):
        raise SpecError(f"the trial batch gives a non-finite loss ({float(loss)})",
                        path="model", file=spec.file)
    return {
        "train_examples": len(bundle.train),
        "val_examples": len(bundle.val) if bundle.val is not None else 0,
        "test_examples": len(bundle.test) if bundle.test is not None else 0,
        "parameters": sum(p.numel() for p in built.model.parameters()),
        "output_shape": tuple(out.shape),
        "loss": float(loss.detach()),
    }


__all__ = ["Built", "build", "build_from_state", "dataset_source", "load_data", "make_task",
           "make_model", "optimizer_for", "schedule_for", "dry_run"]
