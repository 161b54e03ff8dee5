"""The ``tune:`` section: what ``seqforge tune`` searches, and how.

::

    tune:
      metric: val_loss              # default: the run's monitored metric
      direction: auto               # auto (from the metric's name) | minimize | maximize
      trials: 20                    # the study's total, whichever worker runs them
      timeout: 3600                 # seconds per worker; a running trial finishes
      sampler: tpe                  # or random; or {name: tpe, n_startup_trials: 5, seed: 0}
      pruner: median                # median | successive_halving | none; or a mapping
      storage: null                 # default <study dir>/study.journal; a path or an RDB URL
      space:
        train.optimizer.lr: {loguniform: [1.0e-4, 1.0e-2]}
        model.hidden_size: {choice: [32, 64, 128]}
        model.cell: {choice: [lstm, gru]}
        model.num_layers: {int: [1, 3]}
        model.dropout: {uniform: [0.0, 0.5], when: {model.num_layers: [2, 3]}}

Every key of ``space`` is a spec key path, and every value it can take is validated
against the spec's schema — each choice, and both ends of each range, set alone on the
spec — before any trial runs, so a typo'd path or an impossible range is a spec error at
its line with the nearest valid key. ``when`` makes a parameter conditional on earlier
ones (it is sampled only when they took one of the listed values).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ..errors import SpecError, nearest
from .context import SpecContext
from .overrides import apply_overrides
from .strict import validate_strict

KINDS = ("choice", "uniform", "loguniform", "int")
#: sections a search may not set: the name identifies the study, tune is the search itself
UNTUNABLE = ("name", "tune", "extends")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplerSpec(_Strict):
    name: Literal["tpe", "random"] = "tpe"
    n_startup_trials: int = Field(5, ge=0, description="random trials before TPE models the space")
    seed: int | None = Field(None, ge=0, description="default: the spec's seed; trial n "
                                                     "samples with seed + n, on any worker")


class PrunerSpec(_Strict):
    name: Literal["median", "successive_halving", "none"] = "median"
    n_startup_trials: int = Field(3, ge=0, description="median: trials finished before pruning")
    warmup_epochs: int = Field(1, ge=0, description="median: epochs a trial always runs")
    min_resource: int = Field(1, ge=1, description="successive_halving: epochs of the first rung")
    reduction_factor: int = Field(3, ge=2, description="successive_halving: 1/n go on per rung")


def _named(v: Any) -> Any:
    return {"name": v} if isinstance(v, str) else v


class TuneSpec(_Strict):
    metric: str | None = Field(None, description="an epoch-row key (val_loss, val_rmse …); "
                                                 "default: the run's monitored metric")
    direction: Literal["auto", "minimize", "maximize"] = "auto"
    trials: int = Field(20, ge=1, le=100_000, description="trials the study runs in total")
    timeout: float | None = Field(None, gt=0, description="seconds per worker (a time budget)")
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    pruner: PrunerSpec = Field(default_factory=PrunerSpec)
    storage: str | None = Field(None, description="a journal file path (relative to this "
                                "spec's folder) or an RDB URL (sqlite:///x.db, postgresql://…)")
    study: str | None = Field(None, description="the study's name in the storage; "
                                                "default: the spec's name")
    space: dict[str, Any] = Field(default_factory=dict, description="spec key path → "
                                  "{choice: […]} | {uniform: [lo, hi]} | {loguniform: [lo, hi]}"
                                  " | {int: [lo, hi]}, optional step, log, when")
    _params: list[Param] = PrivateAttr(default_factory=list)

    @field_validator("sampler", "pruner", mode="before")
    @classmethod
    def _by_name(cls, v: Any) -> Any:  # `pruner: median` means {name: median}
        return _named(v)

    @property
    def params(self) -> list[Param]:
        """The parsed ``space``, in the order written."""
        return self._params


@dataclass(frozen=True)
class Param:
    """One searched spec key: ``choice`` over values, or a ``uniform`` / ``loguniform`` /
    ``int`` range (``log`` and ``step`` as Optuna takes them)."""

    key: str
    kind: str
    values: tuple  # the choices, or (low, high)
    step: float | None = None
    log: bool = False
    when: dict[str, tuple] = field(default_factory=dict)
    #: the key path in the spec where this entry was written (for messages)
    written: tuple = field(default=(), compare=False)

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))

    def candidates(self) -> list[Any]:
        """The values checked against the schema: every choice, or both ends of a range."""
        if self.kind == "choice":
            return list(self.values)
        lo, hi = self.values
        if self.step:  # the top of a stepped range is the last step below hi
            hi = lo + math.floor((hi - lo) / self.step + 1e-9) * self.step
            hi = int(hi) if self.kind == "int" else hi
        return [lo, hi] if hi != lo else [lo]

    def admits(self, value: Any) -> bool:
        if self.kind == "choice":
            return value in self.values
        return isinstance(value, (int, float)) and self.values[0] <= value <= self.values[1]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.kind: list(self.values)}
        if self.step is not None:
            out["step"] = self.step
        if self.log and self.kind == "int":
            out["log"] = True
        if self.when:
            out["when"] = {k: list(v) for k, v in self.when.items()}
        return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def parse_param(key: Any, value: Any) -> Param:
    """One ``space`` entry; ValueError with what is wrong."""
    if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
        raise ValueError(f"{key!r} is not a spec key path (e.g. model.hidden_size)")
    if key.split(".")[0] in UNTUNABLE:
        raise ValueError(f"{key.split('.')[0]!r} cannot be searched")
    if not isinstance(value, dict):
        raise ValueError("expected {choice: [...]}, {uniform: [lo, hi]}, {loguniform: [lo, hi]} "
                         f"or {{int: [lo, hi]}} (got {value!r})")
    kinds = [k for k in KINDS if k in value]
    extra = sorted(set(value) - set(KINDS) - {"step", "log", "when"})
    if extra or len(kinds) != 1:
        guess = nearest(extra[0], (*KINDS, "step", "log", "when")) if extra else None
        what = (f"unknown key {extra[0]!r}" + (f" (did you mean {guess!r}?)" if guess else "")
                if extra else (
            "several distributions" if kinds else "no distribution"))
        raise ValueError(f"{what}: give exactly one of {', '.join(KINDS)} "
                         "(with step, log, when as options)")
    kind = kinds[0]
    vals = value[kind]
    when = _when(value.get("when"))
    if kind == "choice":
        if not isinstance(vals, list) or not vals:
            raise ValueError("choice takes a non-empty list of values")
        if "step" in value or "log" in value:
            raise ValueError("choice takes no step or log")
        return Param(key, kind, tuple(vals), when=when)
    if (not isinstance(vals, list) or len(vals) != 2 or not all(_number(v) for v in vals)):
        raise ValueError(f"{kind} takes [low, high], two numbers (got {vals!r})")
    lo, hi = vals
    if lo > hi:
        raise ValueError(f"{kind}: low {lo} is above high {hi}")
    step, log = value.get("step"), value.get("log", kind == "loguniform")
    if kind == "int" and not all(isinstance(v, int) for v in vals):
        raise ValueError(f"int takes two integers (got {vals!r})")
    if not isinstance(log, bool) or (kind != "int" and "log" in value):
        raise ValueError("log is an option of int ranges (true or false); use loguniform "
                         "for floats")
    if step is not None and (not _number(step) or step <= 0 or
                             (kind == "int" and not isinstance(step, int))):
        raise ValueError(f"step must be a positive {'integer' if kind == 'int' else 'number'}")
    if step is not None and (log or kind == "loguniform"):
        raise ValueError("a log range takes no step")
    if (log or kind == "loguniform") and lo <= 0:
        raise ValueError(f"a log range needs low > 0 (got {lo})")
    return Param(key, kind, (lo, hi), step=step, log=bool(log), when=when)


def _when(v: Any) -> dict[str, tuple]:
    if v is None:
        return {}
    if not isinstance(v, dict) or not v:
        raise ValueError("when takes a mapping: {other.key: value or [values]}")
    return {k: tuple(x if isinstance(x, list) else [x]) for k, x in v.items()}


#: validates a candidate spec (plain data, without ``tune``) → its problems
Validate = Callable[[dict], list[SpecError]]


def check_tune(ctx: SpecContext, section: Any, raw: dict, validate: Validate | None) -> TuneSpec | None:
    """Validate the ``tune`` section; with ``validate`` (the rest of the spec is valid),
    also every value the space can give, each set alone on the spec."""
    base = ("tune",)
    if not isinstance(section, dict):
        ctx.error(base, f"expected a mapping (got {section!r})")
        return None
    space = section.get("space")
    try:
        tune = validate_strict(TuneSpec, {k: v for k, v in section.items() if k != "space"})
    except ValidationError as exc:
        ctx.pydantic(base, exc, allowed=list(TuneSpec.model_fields))
        tune = None
    if not isinstance(space, dict) or not space:
        ctx.error(base + ("space",), "the search space is empty: name at least one spec key "
                  "to search, e.g. model.hidden_size: {choice: [32, 64]}"
                  if space is None or space == {} else f"expected a mapping (got {space!r})")
        return None
    params = _parse_space(ctx, space)
    if params is None or tune is None:
        return None
    if validate is not None:
        for p in params:
            _check_candidates(ctx, p, raw, validate)
    tune = tune.model_copy(update={"space": space})
    tune._params = params
    return tune


def flatten_space(space: dict, prefix: tuple = ()) -> dict[str, tuple[Any, tuple]]:
    """``{model: {hidden_size: {choice: …}}}`` and ``{model.hidden_size: {choice: …}}`` are
    one space: dotted key → (distribution, where it was written). A later entry for the
    same key wins (``--set tune.space.model.hidden_size=…`` over the file's)."""
    out: dict[str, tuple[Any, tuple]] = {}
    for key, value in space.items():
        path = prefix + (key,)
        if (isinstance(value, dict) and value and not set(value) & {*KINDS, "step", "log", "when"}
                and all(isinstance(v, dict) for v in value.values())):
            out.update(flatten_space(value, path))  # a level of the key path, not a distribution
        else:
            dotted = ".".join(str(p) for p in path)
            out.pop(dotted, None)
            out[dotted] = (value, path)
    return out


def _parse_space(ctx: SpecContext, space: dict) -> list[Param] | None:
    params: list[Param] = []
    ok = True
    for key, (value, at) in flatten_space(space).items():
        where = ("tune", "space") + at
        try:
            p = dataclasses.replace(parse_param(key, value), written=where)
        except ValueError as e:
            ctx.error(where, str(e))
            ok = False
            continue
        clash = next((q.key for q in params if p.key.startswith(q.key + ".")
                      or q.key.startswith(p.key + ".")), None)
        if clash:
            ctx.error(where, f"{key} and {clash} overlap: search one of them")
            ok = False
        for other, values in p.when.items():
            dep = next((q for q in params if q.key == other), None)
            if dep is None:
                ctx.error(where + ("when",), f"when: {other!r} is not a key searched above "
                          f"this one (searched: {', '.join(q.key for q in params) or 'none'})")
                ok = False
            elif not all(dep.admits(v) for v in values):
                ctx.error(where + ("when",), f"when: {other} never takes "
                          f"{[v for v in values if not dep.admits(v)]!r}")
                ok = False
        params.append(p)
    return params if ok else None


def _check_candidates(ctx: SpecContext, p: Param, raw: dict, validate: Validate) -> None:
    """Each value ``p`` can take, set alone on the spec, must make a valid spec."""
    for value in p.candidates():
        trial = copy.deepcopy({k: v for k, v in raw.items() if k != "tune"})
        try:
            apply_overrides(trial, {p.path: value})
            problems = validate(trial)
        except SpecError as e:
            problems = [e]
        if problems:
            e = problems[0]
            at = f" (at {e.path})" if e.path and e.path != p.key else ""
            ctx.error(p.written or ("tune", "space", p.key),
                      f"{p.key}: {value!r} does not fit the spec{at}: {e.message}")
            return


def tune_json_schema() -> dict[str, Any]:
    """JSON Schema of the ``tune`` section (for ``seqforge schema``)."""
    s = TuneSpec.model_json_schema()
    pair = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    opts = {"step": {"type": "number", "exclusiveMinimum": 0}, "log": {"type": "boolean"},
            "when": {"type": "object"}}
    dists = [{"type": "object", "required": [k], "additionalProperties": False,
              "properties": {k: {"type": "array", "minItems": 1} if k == "choice" else pair,
                             **opts}} for k in KINDS]
    s["properties"]["space"] = {"type": "object", "minProperties": 1,
                                "additionalProperties": {"anyOf": dists}}
    for key in ("sampler", "pruner"):  # a name alone is fine too
        s["properties"][key] = {"anyOf": [{"type": "string"}, s["properties"][key]]}
    return s
