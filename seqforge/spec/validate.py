"""raw YAML data → :class:`Spec`, with every error located (file, key path, line).

Validation runs before any data is touched. It collects every independent problem it
can (each section is checked even when another failed) and raises them together. Every
value is strictly typed (:mod:`seqforge.spec.strict`): ``hidden_size: true`` or ``"8"``
is an error, not a model of size 1 or 8.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import PluginError, SpecError, SpecErrors, nearest
from ..registry import Registry
from .compose import extend, load_composed
from .context import SpecContext as _Ctx  # the name the checks below were written with
from .fit import check_fit
from .memory import check_memory
from .loader import Marks
from .overrides import apply_overrides
from .schema import MODEL_KEYS, Component, DataSpec, ModelSpec, Spec, TrainSpec
from .strict import validate_strict
from .tune import check_tune

TOP_KEYS = ("name", "seed", "data", "model", "task", "train", "tune")


def _component(ctx: _Ctx, reg: Registry, kind: str, path: tuple, value: Any,
               extra: dict | None = None, allow_extra: list[str] = (),
               default_name: str | None = None) -> Component | None:
    """Resolve ``name`` or ``{name: ..., **params}`` (params may also come in ``extra``)."""
    params: dict = dict(extra or {})
    if isinstance(value, dict) and "name" not in value and default_name:
        value = {"name": default_name, **value}  # e.g. {lr: 0.01} means adam with lr 0.01
    if isinstance(value, dict):
        if "name" not in value:
            ctx.error(path, f"expected a {kind} name, or a mapping with 'name' and its parameters")
            return None
        params.update({k: v for k, v in value.items() if k != "name"})
        name = value["name"]
        name_path = path + ("name",)
    else:
        name, name_path = value, path
    if not isinstance(name, str):
        ctx.error(name_path, f"expected a {kind} name (got {name!r})")
        return None
    try:
        entry = reg.entry(kind, name)
    except (LookupError, PluginError) as e:  # unknown, or claimed by two plugins
        ctx.error(name_path, str(e))
        return None
    allowed = list(entry.params.model_fields) if entry.params else []
    try:
        p = validate_strict(entry.params, params) if entry.params else None
        if entry.params is None and params:
            ctx.error(path, f"{kind} {name!r} takes no parameters")
    except ValidationError as exc:
        base = path if isinstance(value, dict) else path[:-1]
        ctx.pydantic(base, exc, allowed=allowed + list(allow_extra))
        return None
    return Component(name=name, params=p)


def _as_mapping(ctx: _Ctx, path: tuple, value: Any) -> dict | None:
    if value is None:
        ctx.error(path, "required section is missing")
        return None
    if not isinstance(value, dict):
        ctx.error(path, f"expected a mapping (got {value!r})")
        return None
    return value


def _non_string_key(node: Any, path: tuple) -> tuple | None:
    """The path of the first mapping key that is not a string, or None."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str):
                return path + (k,)
            found = _non_string_key(v, path + (k,))
            if found is not None:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found = _non_string_key(v, path + (i,))
            if found is not None:
                return found
    return None


def validate_spec(raw: Any, *, registry: Registry, marks: Marks | None = None,
                  file: str | None = None, base_dir: Path | None = None,
                  overridden: dict[tuple, str] | None = None) -> Spec:
    """Validate plain data into a :class:`Spec`. Raises :class:`SpecErrors` listing all problems.

    ``marks``: where each key path was written; ``overridden``: the key paths overrides
    set, each with the override as typed (errors there name it instead of a line).
    """
    ctx = _Ctx(marks or {}, file, dict(overridden or {}))
    if not isinstance(raw, dict):
        raise SpecError("a spec is a YAML mapping with sections name, data, model, task, train",
                        file=file, line=1)
    bad_key = _non_string_key(raw, ())
    if bad_key is not None:  # YAML keys arrive as strings; a dict from code may hold others
        raise SpecError(f"keys must be strings (got {bad_key[-1]!r})",
                        path=".".join(str(p) for p in bad_key), file=file)
    for key in raw:
        if key == "extends":  # composition consumed the file's own; this came later
            ctx.error((key,), "extends is merged before overrides apply: write it in the spec file")
        elif key not in TOP_KEYS:
            guess = nearest(key, TOP_KEYS)
            ctx.error((key,), f"unknown section {key!r}" + (f" — did you mean {guess!r}?" if guess else "")
                      + " allowed: " + ", ".join(TOP_KEYS))

    # --- data -------------------------------------------------------------------------
    data_spec = None
    data = _as_mapping(ctx, ("data",), raw.get("data"))
    if data is not None:
        if "dataset" not in data:
            ctx.error(("data", "dataset"), "required key is missing: which dataset to read "
                      f"(available: {', '.join(registry.names('dataset'))})")
        else:
            rest = {k: v for k, v in data.items() if k != "dataset"}
            comp = _component(ctx, registry, "dataset", ("data", "dataset"), data["dataset"],
                              extra=rest)
            if comp is not None:
                data_spec = DataSpec(dataset=comp)

    # --- model ------------------------------------------------------------------------
    model_spec = None
    model = _as_mapping(ctx, ("model",), raw.get("model"))
    if model is not None:
        for key in ("topology", "cell"):
            if key not in model:
                ctx.error(("model", key), f"required key is missing (available: "
                          f"{', '.join(registry.names(key))})")
        topo = cell = None
        if "topology" in model:
            rest = {k: v for k, v in model.items() if k not in MODEL_KEYS and k != "topology"}
            topo = _component(ctx, registry, "topology", ("model", "topology"),
                              model["topology"], extra=rest, allow_extra=list(MODEL_KEYS))
        if "cell" in model:
            cell = _component(ctx, registry, "cell", ("model", "cell"), model["cell"])
        generic = {k: model[k] for k in MODEL_KEYS if k in model and k != "cell"}
        try:  # the generic keys are checked even when topology or cell is not valid
            checked = validate_strict(ModelSpec, {**generic, "topology": {"name": "x"},
                                                  "cell": {"name": "x"}})
            if topo is not None and cell is not None:
                model_spec = checked.model_copy(update={"topology": topo, "cell": cell})
                _check_model_size(ctx, registry, model_spec)
        except ValidationError as exc:
            ctx.pydantic(("model",), exc)

    # --- task -------------------------------------------------------------------------
    task = None
    if raw.get("task") is None:
        ctx.error(("task",), f"required key is missing (available: {', '.join(registry.names('task'))})")
    else:
        task = _component(ctx, registry, "task", ("task",), raw["task"])

    # --- train ------------------------------------------------------------------------
    train_spec = None
    train_raw = raw.get("train", {}) or {}
    if not isinstance(train_raw, dict):
        ctx.error(("train",), f"expected a mapping (got {train_raw!r})")
    else:
        train_raw = dict(train_raw)
        comps: dict[str, Any] = {}
        ok = True
        for key, kind in (("optimizer", "optimizer"), ("scheduler", "scheduler")):
            if key in train_raw:
                value = train_raw.pop(key)
                if value is None and key == "scheduler":
                    comps[key] = None
                    continue
                c = _component(ctx, registry, kind, ("train", key), value,
                               default_name="adam" if key == "optimizer" else None)
                ok &= c is not None
                comps[key] = c
        if "optimizer" not in comps and "optimizer" not in train_raw:
            comps["optimizer"] = _component(ctx, registry, "optimizer", ("train", "optimizer"), "adam")
        try:
            train_spec = validate_strict(TrainSpec, train_raw)
            if ok:
                train_spec = train_spec.model_copy(update=comps)
        except ValidationError as exc:
            ctx.pydantic(("train",), exc, allowed=list(TrainSpec.model_fields))

    # --- name / seed --------------------------------------------------------------------
    head = {k: raw[k] for k in ("name", "seed") if k in raw}
    if "name" not in raw and file:
        head["name"] = Path(file).stem  # a spec file names its run after itself by default
    try:
        validate_strict(Spec, {**head, "data": {"dataset": {"name": "x"}},
                               "model": {"topology": {"name": "x"}, "cell": {"name": "x"}},
                               "task": {"name": "x"}})
    except ValidationError as exc:
        for err in exc.errors():
            if err["loc"] and err["loc"][0] in ("name", "seed"):
                ctx.pydantic((), ValidationError.from_exception_data(exc.title, [err]))

    # --- cross-section checks (only when the parts themselves are valid) -----------------
    if data_spec is not None and model_spec is not None and task is not None:
        check_fit(ctx, registry, data_spec, model_spec, task, train_spec)
        if train_spec is not None and not ctx.errors:
            check_memory(ctx, registry, data_spec, model_spec, train_spec)

    # --- tune: its space's values are checked on this spec, once the spec itself is valid
    tune = None
    if raw.get("tune") is not None:
        def candidate(r: dict) -> list[SpecError]:
            try:
                validate_spec(r, registry=registry, marks=marks, file=file, base_dir=base_dir,
                              overridden=ctx.overridden)
            except SpecError as e:
                return getattr(e, "errors", [e])
            return []

        tune = check_tune(ctx, raw["tune"], raw, None if ctx.errors else candidate)

    if ctx.errors:
        raise SpecErrors(ctx.errors)
    return Spec(name=head["name"] if "name" in head else "run", seed=head.get("seed", 0),
                data=data_spec, model=model_spec, task=task, train=train_spec, tune=tune,
                base_dir=base_dir or Path.cwd(), file=file, overrides=ctx.overridden,
                marks={k: m for k, m in ctx.marks.items() if ctx.origin(k) is None})


#: recurrent weights seqforge will allocate at most (8 GB in float32 before gradients and
#: optimizer state — beyond one GPU); each model key is valid alone, not every product is
MAX_RECURRENT_WEIGHTS = 2_000_000_000


def _check_model_size(ctx: _Ctx, reg: Registry, model: ModelSpec) -> None:
    """Refuse sizes whose product cannot be allocated, before anything tries to."""
    gates = getattr(reg.get("cell", model.cell.name), "num_gates", 1)
    dirs = 2 if model.bidirectional else 1
    weights = model.num_layers * dirs * gates * model.hidden_size ** 2  # weight_hh alone
    if weights > MAX_RECURRENT_WEIGHTS:
        ctx.error(("model", "hidden_size"),
                  f"hidden_size {model.hidden_size} × {model.num_layers} layer(s) of "
                  f"{model.cell.name!r} ({gates} gate(s){', bidirectional' if dirs > 1 else ''}) "
                  f"is about {weights / 1e9:.1f} billion recurrent weights — more than seqforge "
                  f"allocates ({MAX_RECURRENT_WEIGHTS / 1e9:.0f} billion); lower model.hidden_size "
                  "or model.num_layers")


def load_spec(source: str | Path | dict, overrides: list[str] | dict | None = None, *,
              registry: Registry | None = None, base_dir: str | Path | None = None,
              override_flag: str = "--set", override_prefix: str = "") -> Spec:
    """Load and validate a spec from a YAML path or a dict; apply ``--set`` style overrides.

    The spec's ``extends`` bases are merged first (:mod:`seqforge.spec.compose`), then
    the overrides. ``override_flag`` is how errors name their origin (``--data`` for
    ``seqforge evaluate``); ``override_prefix`` is the key path the overrides are relative
    to (``"data"``: ``source=x.csv`` sets ``data.source``).
    """
    from ..plugins import get_registry

    registry = registry or get_registry()
    if isinstance(source, dict):  # extend() returns a copy: the caller's dict stays as it was
        file, base = None, Path(base_dir) if base_dir is not None else Path.cwd()
        raw, marks = extend(source, {}, file=None, base_dir=base)
    elif not isinstance(source, (str, os.PathLike)):  # e.g. yaml.safe_load() of a non-mapping
        raise SpecError("a spec is a YAML file path or a mapping with sections name, data, "
                        f"model, task, train (got {type(source).__name__})")
    else:
        raw, marks = load_composed(source)
        file = str(source)
        base = Path(base_dir) if base_dir is not None else Path(source).resolve().parent
    if raw is None:
        raise SpecError("the spec is empty", file=file, line=1)
    if not isinstance(raw, dict):
        raise SpecError("a spec is a YAML mapping with sections name, data, model, task, train",
                        file=file, line=1)
    try:
        touched = apply_overrides(raw, overrides, flag=override_flag, prefix=override_prefix)
    except SpecError as e:
        raise e.located(file=file) from None
    return validate_spec(raw, registry=registry, marks=marks, file=file, base_dir=base,
                         overridden=touched)
