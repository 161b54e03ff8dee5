"""raw YAML data → :class:`Spec`, with every error located (key path + line).

Validation runs before any data is touched. It collects every independent problem it
can (each section is checked even when another failed) and raises them together.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import SpecError, SpecErrors, nearest
from ..registry import Registry
from .loader import Lines, load_yaml_file
from .overrides import apply_overrides
from .schema import MODEL_KEYS, Component, DataSpec, ModelSpec, Spec, TrainSpec

TOP_KEYS = ("name", "seed", "data", "model", "task", "train")


class _Ctx:
    """Collects errors and knows the line of every key path."""

    def __init__(self, lines: Lines, file: str | None, overridden: set[tuple]):
        self.lines = lines
        self.file = file
        self.overridden = overridden
        self.errors: list[SpecError] = []

    def line(self, path: tuple) -> int | None:
        if path in self.overridden:
            return None
        p = path
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return None

    def error(self, path: tuple, message: str) -> None:
        dotted = ".".join(str(p) for p in path) if path else None
        if path in self.overridden or any(path[:i] in self.overridden for i in range(1, len(path))):
            message += " (from --set)"
        self.errors.append(SpecError(message, path=dotted, line=self.line(path), file=self.file))

    def pydantic(self, base: tuple, exc: ValidationError, allowed: list[str] | None = None) -> None:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
            # pydantic reports union branches as extra loc parts; keep the user's keys
            loc = tuple(p for p in loc if p not in ("str", "int", "Truncated", "float", "bool", "none"))
            path = base + loc
            kind = err["type"]
            if kind == "extra_forbidden":
                key = str(loc[-1]) if loc else "?"
                choices = allowed if (allowed is not None and len(loc) == 1) else []
                msg = f"unknown key {key!r}"
                guess = nearest(key, choices) if choices else None
                if guess:
                    msg += f" — did you mean {guess!r}?"
                if choices:
                    msg += " allowed: " + ", ".join(sorted(choices))
                self.error(path, msg)
            elif kind == "missing":
                self.error(path, "required key is missing")
            else:
                got = err.get("input")
                shown = repr(got) if not isinstance(got, dict) else "a mapping"
                msg = err["msg"].rstrip(".").replace("Input should be ", "expected ").replace("Input should ", "expected to ")
                self.error(path, f"{msg} (got {shown})")


def _validate_params(ctx: _Ctx, path: tuple, model: type[BaseModel] | None, values: dict,
                     owner: str) -> Any:
    if model is None:
        if values:
            ctx.error(path + (next(iter(values)),), f"{owner} takes no parameters")
        return None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        ctx.pydantic(path, exc, allowed=list(model.model_fields))
        return None


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
    except LookupError as e:
        ctx.error(name_path, str(e))
        return None
    allowed = list(entry.params.model_fields) if entry.params else []
    try:
        p = entry.params.model_validate(params) if entry.params else None
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


def validate_spec(raw: Any, *, registry: Registry, lines: Lines | None = None,
                  file: str | None = None, base_dir: Path | None = None,
                  overridden: set[tuple] = frozenset()) -> Spec:
    """Validate plain data into a :class:`Spec`. Raises :class:`SpecErrors` listing all problems."""
    ctx = _Ctx(lines or {}, file, set(overridden))
    if not isinstance(raw, dict):
        raise SpecError("a spec is a YAML mapping with sections name, data, model, task, train",
                        file=file, line=1)
    bad_key = _non_string_key(raw, ())
    if bad_key is not None:  # YAML keys arrive as strings; a dict from code may hold others
        raise SpecError(f"keys must be strings (got {bad_key[-1]!r})",
                        path=".".join(str(p) for p in bad_key), file=file)
    for key in raw:
        if key not in TOP_KEYS:
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
        if topo is not None and cell is not None:
            try:
                model_spec = ModelSpec(topology=topo, cell=cell, **generic)
                _check_model_size(ctx, registry, model_spec)
            except ValidationError as exc:
                ctx.pydantic(("model",), exc)
        else:  # still report type errors in the generic keys
            try:
                ModelSpec.model_validate({**generic, "topology": Component(name="x"),
                                          "cell": Component(name="x")})
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
            train_spec = TrainSpec.model_validate(train_raw)
            if ok:
                train_spec = train_spec.model_copy(update=comps)
        except ValidationError as exc:
            ctx.pydantic(("train",), exc, allowed=list(TrainSpec.model_fields))

    # --- name / seed --------------------------------------------------------------------
    head = {k: raw[k] for k in ("name", "seed") if k in raw}
    if "name" not in raw and file:
        head["name"] = Path(file).stem  # a spec file names its run after itself by default
    try:
        Spec.model_validate({**head, "data": {"dataset": {"name": "x"}},
                             "model": {"topology": {"name": "x"}, "cell": {"name": "x"}},
                             "task": {"name": "x"}})
    except ValidationError as exc:
        for err in exc.errors():
            if err["loc"] and err["loc"][0] in ("name", "seed"):
                ctx.pydantic((), ValidationError.from_exception_data(exc.title, [err]))

    # --- cross-section checks (only when the parts themselves are valid) -----------------
    if data_spec is not None and model_spec is not None and task is not None:
        _check_fit(ctx, registry, data_spec, model_spec, task, train_spec)

    if ctx.errors:
        raise SpecErrors(ctx.errors)
    return Spec(name=head["name"] if "name" in head else "run", seed=head.get("seed", 0),
                data=data_spec, model=model_spec, task=task, train=train_spec,
                base_dir=base_dir or Path.cwd(), file=file,
                lines={k: v for k, v in ctx.lines.items() if k not in ctx.overridden})


def _check_fit(ctx: _Ctx, reg: Registry, data: DataSpec, model: ModelSpec, task: Component,
               train: TrainSpec | None) -> None:
    """Does the dataset feed this topology, and does the topology give what the task needs?"""
    ds = reg.get("dataset", data.dataset.name)
    topo = reg.get("topology", model.topology.name)
    task_cls = reg.get("task", task.name)
    provides = _call_or_attr(ds, "provides", data.dataset.params)
    consumes = getattr(topo, "consumes", None)
    produces = _call_or_attr(topo, "produces", model.topology.params)
    outputs = _call_or_attr(task_cls, "outputs", task.params) or ()
    fitting = sorted(n for n in reg.names("topology")
                     if _call_or_attr(reg.get("topology", n), "produces", None) in outputs
                     and getattr(reg.get("topology", n), "consumes", None) == provides)
    if outputs and produces not in outputs:
        ctx.error(("model", "topology"),
                  f"topology {model.topology.name!r} produces {_describe(produces)}, but task "
                  f"{task.name!r} needs {' or '.join(_describe(o) for o in outputs)}"
                  + (f" — use {' or '.join(repr(f) for f in fitting)}" if fitting else ""))
    elif provides and consumes and provides != consumes:
        ctx.error(("model", "topology"),
                  f"topology {model.topology.name!r} reads {_describe(consumes)}, but dataset "
                  f"{data.dataset.name!r} provides {_describe(provides)}"
                  + (f" — use {' or '.join(repr(f) for f in fitting)}" if fitting else ""))
    if train is not None and isinstance(train.bptt, object) and train.bptt != "full":
        if not getattr(topo, "supports_tbptt", False):
            ctx.error(("train", "bptt"),
                      f"truncated BPTT needs an aligned many-to-many topology; "
                      f"{model.topology.name!r} does not carry state across chunks — use bptt: full")
    if train is not None and train.bptt != "full" and model.bidirectional:
        ctx.error(("train", "bptt"),
                  "truncated BPTT carries state forward from one chunk to the next, which a "
                  "bidirectional model's backward direction cannot use — use bptt: full or "
                  "model.bidirectional: false")
    if model.bidirectional and not getattr(topo, "allows_bidirectional", True):
        ctx.error(("model", "bidirectional"),
                  f"topology {model.topology.name!r} cannot be bidirectional "
                  "(its outputs must not see the future)")
    _check_cell_capabilities(ctx, reg, model, train)


def _check_cell_capabilities(ctx: _Ctx, reg: Registry, model: ModelSpec,
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


def _call_or_attr(cls: Any, attr: str, params: Any) -> Any:
    """Class attribute, or a classmethod taking the component's params (may depend on them)."""
    value = getattr(cls, attr, None)
    if callable(value):
        return value(params)
    return value


_DESCRIPTIONS = {
    "vector": "one vector per example",
    "sequence": "a sequence per example",
    "aligned_sequence": "an output at every input step",
    "pair": "a source and a target sequence",
}


def _describe(kind: str | None) -> str:
    return _DESCRIPTIONS.get(kind or "", str(kind))


def load_spec(source: str | Path | dict, overrides: list[str] | dict | None = None, *,
              registry: Registry | None = None, base_dir: str | Path | None = None) -> Spec:
    """Load and validate a spec from a YAML path or a dict; apply ``--set`` style overrides."""
    from ..plugins import get_registry

    registry = registry or get_registry()
    if isinstance(source, dict):
        import copy

        raw, lines, file, base = copy.deepcopy(source), {}, None, Path.cwd()
        if base_dir is not None:
            base = Path(base_dir)
    elif not isinstance(source, (str, os.PathLike)):  # e.g. yaml.safe_load() of a non-mapping
        raise SpecError("a spec is a YAML file path or a mapping with sections name, data, "
                        f"model, task, train (got {type(source).__name__})")
    else:
        raw, lines = load_yaml_file(source)
        file = str(source)
        base = Path(base_dir) if base_dir is not None else Path(source).resolve().parent
    if raw is None:
        raise SpecError("the spec is empty", file=file, line=1)
    if not isinstance(raw, dict):
        raise SpecError("a spec is a YAML mapping with sections name, data, model, task, train",
                        file=file, line=1)
    try:
        touched = apply_overrides(raw, overrides)
    except SpecError as e:
        raise e.located(file=file) from None
    return validate_spec(raw, registry=registry, lines=lines, file=file, base_dir=base,
                         overridden=touched)
