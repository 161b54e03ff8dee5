"""The task contract as properties, and :func:`check_task` to run them.

A task is checked on real data: a dataset subject (see :mod:`seqforge.testing.datasets`)
loads a dataset that provides the facets the task requires, the task is built from
``(params, DataInfo)`` and fitted on the training split, a small model is built with a
fitting topology (the first registered one whose shapes and protocols fit, unless named)
and the task calibrates on the validation outputs — the order ``seqforge.train`` uses.
The properties:

``declares``  ``Params`` forbids unknown keys and builds from defaults; ``outputs``,
              ``requires``, ``model_protocols`` are declared; ``output_size()`` ≥ 1.
``requires``  a DataInfo without a required facet is a SpecError (not a KeyError …); one
              without a facet the task does not declare builds.
``baseline``  ``baseline(split)`` gives numbers named like the metrics ``new_metrics(model)``
              computes on that split (a subset of them), on at least one split.
``state``     ``state_dict()`` is plain JSON; through JSON and a real checkpoint file it
              restores, with ``load_state_dict``, the same state and the same baseline —
              also into a task built from the round-tripped DataInfo alone (a run directory).
``predict``   rows for a drawn batch: one dict per example, the same keys, JSON values;
              rows for ``read_inputs`` of the dataset's example table are well-formed too.
``loss``      on a drawn training batch: a finite scalar whose gradient reaches the model
              (finite, not all zero); ``batch_weight`` is a positive integer.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import torch
from hypothesis import strategies as st

from ..cells.base import Cell
from ..data.info import DataInfo, Facet
from ..data.io.table import as_table
from ..engine import evaluate as ev
from ..engine.checkpoint import load_checkpoint, save_checkpoint
from ..errors import SpecError
from ..kinds import Shape
from ..plugins import get_registry
from ..spec.fit import declared
from ..spec.schema import Component, ModelSpec
from ..tasks.base import Task, TaskParams
from ..topologies.base import Topology
from .datasets import DatasetSubject, dataset_subject, splits_of
from .items import fail, json_round_trip
from .runner import Property, check_all, resolve, run_property

CPU = torch.device("cpu")
#: batch size of the evaluation passes (small: text streams are laid out as this many rows)
PASS_BATCH = 16


@dataclass
class TaskSubject:
    """A task class, the dataset it is checked on and the model it is checked with."""

    cls: type[Task]
    name: str
    params: TaskParams
    data: DatasetSubject
    topology: type[Topology]
    topology_name: str
    cell: type[Cell]
    cell_name: str
    hidden_size: int = 4
    _fitted: tuple[Task, torch.nn.Module] | None = field(default=None, repr=False)

    def new_task(self, info: DataInfo | None = None) -> Task:
        return self.cls(self.params, info if info is not None else self.data.bundle().info)

    def build_model(self, task: Task, info: DataInfo) -> torch.nn.Module:
        cell = Component(name=self.cell_name, params=self.cell.Params())
        spec = ModelSpec(topology=Component(name=self.topology_name,
                                            params=self.topology.Params()),
                         cell=cell, hidden_size=self.hidden_size,
                         embedding=4 if info.vocab is not None else None)
        torch.manual_seed(0)
        model = self.topology(spec, spec.topology.params, self.cell).build(info, task.output_size())
        task.check_model(model)
        return model

    def fitted(self) -> tuple[Task, torch.nn.Module]:
        """The task fitted on train, a fresh model, the task calibrated on val outputs."""
        if self._fitted is None:
            bundle = self.data.bundle()
            task = self.new_task()
            task.fit(bundle.train)
            model = self.build_model(task, bundle.info)
            if bundle.val is not None and len(bundle.val):
                task.calibrate(ev.outputs(model, bundle.loader("val", PASS_BATCH), CPU,
                                          stateful=bundle.stateful))
            self._fitted = (task, model)
        return self._fitted

    def metrics(self, split: str) -> dict[str, float]:
        """``new_metrics(model)`` over a split, through the engine's evaluation path."""
        task, model = self.fitted()
        b = self.data.bundle()
        row = ev.evaluate(model, task, b.loader(split, PASS_BATCH), CPU, split,
                          stateful=b.stateful)
        return {k[len(split) + 1:]: v for k, v in row.items() if k != f"{split}_loss"}


def fitting_topologies(task: type[Task], params: Any, provides: Shape) -> list[str]:
    """Registered topologies that read what the dataset provides and give what the task
    learns from, implementing the protocols it needs."""
    reg = get_registry()
    outputs = declared(task, "outputs", params) or ()
    needs = declared(task, "model_protocols", params) or ()
    out = []
    for name in reg.names("topology"):
        topo = reg.get("topology", name)
        if (topo.consumes == provides and declared(topo, "produces", topo.Params()) in outputs
                and all(p in (topo.implements or ()) for p in needs)):
            out.append(name)
    return sorted(out)


def task_subject(task: type[Task] | str, *, dataset: Any, params: Any = None,
                 topology: Any = None, cell: Any = "gru", hidden_size: int = 4,
                 **data_config: Any) -> TaskSubject:
    """``dataset``: a :class:`DatasetSubject`, a dataset class or a registered name
    (``data_config``: as :func:`~seqforge.testing.datasets.dataset_subject`, e.g.
    ``data_params=``, ``files=``)."""
    cls, name = resolve("task", task)
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"{name}: expected a seqforge.tasks.base.Task subclass, got {cls!r}")
    try:
        p = params if isinstance(params, cls.Params) else cls.Params.model_validate(params or {})
    except pydantic.ValidationError as exc:
        raise ValueError(f"{name}: params do not validate against {cls.Params.__name__}: "
                         f"{exc}") from None
    if not isinstance(dataset, DatasetSubject):
        if "data_params" in data_config:
            data_config["params"] = data_config.pop("data_params")
        dataset = dataset_subject(dataset, **data_config)
    have = {f.name for f in dataset.declared_facets()}
    missing = [f.name for f in declared(cls, "requires", p) or () if f.name not in have]
    if missing:
        raise ValueError(f"task {name!r} requires facets {missing}; dataset {dataset.name!r} "
                         f"provides {sorted(have) or 'none'}: check it on a dataset that fits")
    if topology is None:
        fits = fitting_topologies(cls, p, dataset.provides)
        if not fits:
            raise ValueError(f"no registered topology reads {dataset.provides} and gives what "
                             f"task {name!r} learns from: name one with topology=")
        topology = fits[0]
    topo_cls, topo_name = resolve("topology", topology)
    cell_cls, cell_name = resolve("cell", cell)
    return TaskSubject(cls, name, p, dataset, topo_cls, topo_name, cell_cls, cell_name,
                       hidden_size)


def _draw_batch(s: TaskSubject, data, splits: tuple[str, ...] | None = None) -> dict:
    b = s.data.bundle()
    have = splits_of(b)
    name = data.draw(st.sampled_from(sorted(n for n in have if splits is None or n in splits)),
                     label="split")
    ds = have[name]
    idx = data.draw(st.lists(st.integers(0, len(ds) - 1), min_size=1, max_size=min(6, len(ds))),
                    label="indices")
    return b.collate([ds[i] for i in idx])


# -- properties -----------------------------------------------------------------------------------

def _declares(s: TaskSubject, data) -> None:
    P = s.cls.Params
    if not (isinstance(P, type) and issubclass(P, TaskParams)):
        fail(f"{s.name}.Params must subclass seqforge.tasks.base.TaskParams")
    try:
        P.model_validate({"surely_not_a_task_parameter": 1})
    except pydantic.ValidationError:
        pass
    else:
        fail(f"{s.name}.Params accepted an unknown key (it must forbid them: extra='forbid')")
    try:
        P()
    except pydantic.ValidationError as exc:
        fail(f"{s.name}.Params() must build from defaults (a spec may say `task: {s.name}`): "
             f"{exc}")
    outputs = declared(s.cls, "outputs", s.params) or ()
    if not outputs or any(o not in tuple(Shape) for o in outputs):
        fail(f"outputs must name the topology outputs it learns from (Shape), got {outputs!r}")
    for f in declared(s.cls, "requires", s.params) or ():
        if not (isinstance(f, type) and issubclass(f, Facet) and f.name):
            fail(f"requires holds {f!r}, not a named Facet class")
    size = s.new_task().output_size()
    if not isinstance(size, int) or size < 1:
        fail(f"output_size() is {size!r}, not a positive integer")


def _requires(s: TaskSubject, data) -> None:
    info = s.data.bundle().info
    required = {f.name for f in declared(s.cls, "requires", s.params) or ()}
    for name in info.facets:
        without = dataclasses.replace(info, facets={k: v for k, v in info.facets.items()
                                                    if k != name})
        try:
            s.new_task(without)
        except SpecError as exc:
            if name not in required:
                fail(f"without the {name!r} facet it raises a SpecError ({exc}), but requires "
                     "does not list it: validation would accept a dataset it cannot use")
        except Exception as exc:
            fail(f"without the {name!r} facet it raises {type(exc).__name__}: {exc} — a "
                 "missing facet must be a SpecError (DataInfo.facet(kind) raises one)")
        else:
            if name in required:
                fail(f"it builds from a DataInfo without the required {name!r} facet")


def _baseline(s: TaskSubject, data) -> None:
    task, model = s.fitted()
    if not isinstance(task.new_metrics(model).compute(), dict):
        fail("new_metrics(model).compute() with no batches must return a dict")
    if not isinstance(task.baseline_name(), str) or not task.baseline_name():
        fail("baseline_name() must say what the baseline is")
    reported = 0
    for split, ds in splits_of(s.data.bundle()).items():
        base = task.baseline(ds)
        if not isinstance(base, dict):
            fail(f"baseline({split}) returned {type(base).__name__}, not a dict")
        bad = {k: v for k, v in base.items()
               if not isinstance(v, (int, float)) or isinstance(v, bool)}
        if bad:
            fail(f"baseline({split}) values must be numbers: {bad}")
        if not base:
            continue
        reported += 1
        metrics = s.metrics(split)
        extra = sorted(set(base) - set(metrics))
        if extra:
            fail(f"baseline({split}) reports {extra}, which new_metrics(model) does not "
                 f"({sorted(metrics)}): model and baseline must be compared by name")
    if not reported:
        fail("baseline(...) is empty on every split: every task reports a model-free baseline")


def _state(s: TaskSubject, data) -> None:
    task, _ = s.fitted()
    bundle = s.data.bundle()
    state = task.state_dict()
    if not isinstance(state, dict):
        fail(f"state_dict() returned {type(state).__name__}, not a dict")
    # tensors and plain data: what a checkpoint holds and loads with weights_only=True
    plain = json_round_trip(_tensors_as_lists(state), "state_dict()")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "best.pt"
        save_checkpoint(path, {"task_state": state})
        from_ckpt = load_checkpoint(path)["task_state"]  # weights_only=True
    baselines = {n: task.baseline(ds) for n, ds in splits_of(bundle).items()}
    again = s.new_task()
    again.load_state_dict(from_ckpt)
    if _tensors_as_lists(again.state_dict()) != plain:
        fail(f"load_state_dict(state through a checkpoint) restores another state: "
             f"{again.state_dict()!r} vs {state!r}")
    for n, ds in splits_of(bundle).items():
        if not _same_numbers(again.baseline(ds), baselines[n]):
            fail(f"restored through a checkpoint, baseline({n}) is {again.baseline(ds)} instead "
                 f"of {baselines[n]}: what fit() learnt is missing from state_dict()")
    alone = DataInfo.from_state(json_round_trip(bundle.info.to_state(), "info"))
    run_task = s.new_task(alone)  # as load_run builds it: no data at hand
    run_task.load_state_dict(from_ckpt)
    if _tensors_as_lists(run_task.state_dict()) != plain:
        fail("a task built from the saved DataInfo alone does not restore the state")


def _tensors_as_lists(obj):
    """The state with tensors as nested lists, for comparing two states."""
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _tensors_as_lists(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tensors_as_lists(v) for v in obj]
    return obj


def _same_numbers(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
        for k in a)


def _check_rows(rows: Any, where: str, n: int | None) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        fail(f"{where}: predict must return a list of dicts (rows), got {type(rows).__name__}")
    if n is not None and len(rows) != n:
        fail(f"{where}: {len(rows)} rows for {n} examples (one row per example)")
    if not rows:
        fail(f"{where}: no rows")
    keys = list(rows[0])
    for i, r in enumerate(rows):
        if list(r) != keys:
            fail(f"{where}: row {i} has columns {list(r)}, row 0 {keys}: rows are one table")
    json_round_trip(rows, f"{where}: the rows")


def _predict(s: TaskSubject, data) -> None:
    task, model = s.fitted()
    batch = _draw_batch(s, data)
    n = int(batch["x"].shape[0])
    _check_rows(ev.predict(model, task, [batch], CPU), f"predict on a batch of {n}", n)
    b = s.data.bundle()
    src = s.data.source()
    table = s.data.inputs if s.data.inputs is not None else src.example_inputs(b)
    if table is None:
        return
    if not isinstance(table, (str, Path)):
        table = as_table(table)
    items = src.read_inputs(table, b.info)
    rows = ev.predict(model, task, ev.item_batches(items, b.collate, PASS_BATCH), CPU)
    _check_rows(rows, "predict on read_inputs items", None)


def _loss(s: TaskSubject, data) -> None:
    task, model = s.fitted()
    batch = _draw_batch(s, data, ("train",))
    model.train()
    try:
        out, _ = model(batch)
        loss = task.loss(out, batch)
        if not (isinstance(loss, torch.Tensor) and loss.dim() == 0):
            fail(f"loss must be a 0-d tensor, got {getattr(loss, 'shape', loss)!r}")
        if not bool(torch.isfinite(loss)):
            fail(f"loss is {loss.item()} on a real training batch")
        if not loss.requires_grad:
            fail("loss does not depend on the model's output (no gradient)")
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads or not any(bool(g.abs().sum() > 0) for g in grads):
            fail("the loss's gradient is zero for every model parameter")
        if not all(bool(torch.isfinite(g).all()) for g in grads):
            fail("the loss's gradient has non-finite values")
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()
    w = task.batch_weight(batch)
    if not isinstance(w, int) or isinstance(w, bool) or w < 1:
        fail(f"batch_weight(batch) is {w!r}, not a positive integer")


TASK_PROPERTIES: dict[str, Property] = {p.name: p for p in (
    Property("declares", "Params forbid unknown keys and default; outputs and requires declared",
             _declares, once=True),
    Property("requires", "a DataInfo without a required facet is a SpecError", _requires,
             once=True),
    Property("baseline", "baseline metrics are named like the model's metrics", _baseline,
             once=True),
    Property("state", "state_dict round-trips through JSON and a checkpoint", _state, once=True),
    Property("predict", "predict rows: one per example, one set of columns, JSON values",
             _predict),
    Property("loss", "the loss is finite and differentiable on a real batch", _loss),
)}


def run_task_property(task: Any, name: str, *, max_examples: int | None = None,
                      shrink: bool = True, **config: Any) -> None:
    """Run one task property (see :data:`TASK_PROPERTIES`) on a task class, a registered
    name or a :class:`TaskSubject` (``config``: as :func:`task_subject`)."""
    if name not in TASK_PROPERTIES:
        raise ValueError(f"unknown task property {name!r}; known: {', '.join(TASK_PROPERTIES)}")
    s = task if isinstance(task, TaskSubject) else task_subject(task, **config)
    run_property(TASK_PROPERTIES[name], s, f"task {s.name!r} on {s.data.name!r}", max_examples,
                 shrink=shrink)


def check_task(task: Any, *, only=None, skip=(), max_examples: int | None = None,
               shrink: bool = True, **config: Any) -> dict[str, str]:
    """Check every task property on ``task`` (a Task subclass, a registered name or a
    subject) with ``dataset=`` (a dataset subject, class or name) and optionally
    ``params``, ``topology``, ``cell``, ``data_params``, ``files``. Returns ``{property:
    "passed" | "skipped: …"}``; raises one AssertionError listing every violation."""
    s = task if isinstance(task, TaskSubject) else task_subject(task, **config)
    return check_all(TASK_PROPERTIES, s, f"task {s.name!r} on {s.data.name!r}", only=only,
                     skip=skip, max_examples=max_examples, shrink=shrink)


__all__ = ["TASK_PROPERTIES", "TaskSubject", "task_subject", "check_task", "run_task_property",
           "fitting_topologies"]
