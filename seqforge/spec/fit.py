"""Do the components a spec names fit together? Checked from the spec alone, before any
data is read, so a mismatch is a spec error with the lines of the keys involved.

* dataset ``provides`` → topology ``consumes`` (a sequence, or one vector per example);
* topology ``produces`` → task ``outputs``;
* task ``requires`` (facets of the data) ⊆ dataset ``facets``;
* task ``model_protocols`` ⊆ topology ``implements``;
* truncated BPTT needs a topology that carries state; bidirectional needs one that allows it.

A component may declare any of these as a class attribute or as a classmethod taking its
validated params (a dataset whose facets depend on a key, say).
"""

from __future__ import annotations

from typing import Any

from ..kinds import describe
from ..registry import Registry
from .schema import Component, DataSpec, ModelSpec, TrainSpec


def declared(cls: Any, attr: str, params: Any) -> Any:
    """Class attribute, or a classmethod taking the component's params (may depend on them)."""
    value = getattr(cls, attr, None)
    if callable(value) and not isinstance(value, type):
        return value(params)
    return value


def _names(kinds) -> list[str]:
    return [getattr(k, "name", None) or getattr(k, "__name__", str(k)) for k in kinds or ()]


def check_fit(ctx, reg: Registry, data: DataSpec, model: ModelSpec, task: Component,
              train: TrainSpec | None) -> None:
    """Add an error to ``ctx`` for every way the named components do not fit."""
    ds = reg.get("dataset", data.dataset.name)
    topo = reg.get("topology", model.topology.name)
    task_cls = reg.get("task", task.name)
    _check_shapes(ctx, reg, data, model, task, ds, topo, task_cls)
    _check_facets(ctx, reg, data, task, ds, task_cls)
    _check_protocols(ctx, reg, model, task, topo, task_cls)
    if train is not None and train.bptt != "full":
        if not getattr(topo, "supports_tbptt", False):
            ctx.error(("train", "bptt"),
                      f"truncated BPTT needs an aligned many-to-many topology; "
                      f"{model.topology.name!r} does not carry state across chunks — use bptt: full")
        if model.bidirectional:
            ctx.error(("train", "bptt"),
                      "truncated BPTT carries state forward from one chunk to the next, which a "
                      "bidirectional model's backward direction cannot use — use bptt: full or "
                      "model.bidirectional: false")
    if model.bidirectional and not getattr(topo, "allows_bidirectional", True):
        ctx.error(("model", "bidirectional"),
                  f"topology {model.topology.name!r} cannot be bidirectional "
                  "(its outputs must not see the future)")
    _check_cell_capabilities(ctx, reg, model, train)


def _check_cell_capabilities(ctx: Any, reg: Registry, model: ModelSpec,
                             train: TrainSpec | None) -> None:
    """Refuse what the cell says it cannot do (``Cell.supports_*``). Padding is checked
    where it shows, in :class:`~seqforge.recurrent.Recurrent` (lengths are data)."""
    cell, name = reg.get("cell", model.cell.name), model.cell.name
    if model.bidirectional and not getattr(cell, "supports_bidirectional", True):
        ctx.error(("model", "bidirectional"),
                  f"cell {name!r} cannot run backwards in time (supports_bidirectional is "
                  "False) — use model.bidirectional: false or another model.cell")
    if (train is not None and train.bptt != "full"
            and not getattr(cell, "supports_state_carry", True)):
        ctx.error(("train", "bptt"),
                  f"cell {name!r} cannot carry its state from one truncated-BPTT chunk to "
                  "the next (supports_state_carry is False) — use bptt: full")


def _check_shapes(ctx, reg, data, model, task, ds, topo, task_cls) -> None:
    provides = declared(ds, "provides", data.dataset.params)
    consumes = getattr(topo, "consumes", None)
    produces = declared(topo, "produces", model.topology.params)
    outputs = declared(task_cls, "outputs", task.params) or ()
    fitting = sorted(n for n in reg.names("topology")
                     if declared(reg.get("topology", n), "produces", None) in outputs
                     and getattr(reg.get("topology", n), "consumes", None) == provides)
    use = f" — use {' or '.join(repr(f) for f in fitting)}" if fitting else ""
    if outputs and produces not in outputs:
        ctx.error(("model", "topology"),
                  f"topology {model.topology.name!r} produces {describe(produces)}, but task "
                  f"{task.name!r} needs {' or '.join(describe(o) for o in outputs)}{use}")
    elif provides and consumes and provides != consumes:
        ctx.error(("model", "topology"),
                  f"topology {model.topology.name!r} reads {describe(consumes)}, but dataset "
                  f"{data.dataset.name!r} provides {describe(provides)}{use}")


def _check_facets(ctx, reg, data, task, ds, task_cls) -> None:
    required = declared(task_cls, "requires", task.params) or ()
    have = set(_names(declared(ds, "facets", data.dataset.params)))
    missing = [f for f in required if f.name not in have]
    if not missing:
        return
    want = {f.name for f in required}
    fits = sorted(n for n in reg.names("dataset")
                  if want <= set(_names(declared(reg.get("dataset", n), "facets", None))))
    wanted = ", ".join(f"{f.name!r} ({f.summary})" for f in missing)
    mark = ctx.mark(("data", "dataset"))
    where = f", line {mark.line}" if mark and mark.line else ""
    ctx.error(("task",),
              f"task {task.name!r} needs a dataset with {wanted}, but dataset "
              f"{data.dataset.name!r} (data.dataset{where}) provides "
              f"{', '.join(sorted(have)) or 'no facets'}"
              + (f" — datasets that fit: {', '.join(fits)}" if fits else ""))


def _check_protocols(ctx, reg, model, task, topo, task_cls) -> None:
    needed = declared(task_cls, "model_protocols", task.params) or ()
    has = set(getattr(topo, "implements", ()) or ())
    missing = [p for p in needed if p not in has]
    if not missing:
        return
    fits = sorted(n for n in reg.names("topology")
                  if all(p in (getattr(reg.get("topology", n), "implements", ()) or ())
                         for p in needed))
    what = ", ".join(f"{p.__name__} ({(p.__doc__ or '').strip().splitlines()[0].rstrip('.')})"
                     for p in missing)
    ctx.error(("model", "topology"),
              f"task {task.name!r} needs a model that implements {what}; topology "
              f"{model.topology.name!r} does not"
              + (f" — use {' or '.join(repr(f) for f in fits)}" if fits else ""))
