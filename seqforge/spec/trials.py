"""A tuning trial's spec: the study's spec with the trial's sampled values set.

The spec file is composed again (``extends``), the command line's ``--set`` overrides
apply, then the trial's values; the ``tune`` section is dropped — a trial is an ordinary
run whose ``spec.resolved.yaml`` reruns it with ``seqforge run``. A problem with a
sampled value names the trial and the value (``(from trial 3: model.hidden_size=64)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..registry import Registry
from .compose import load_composed
from .overrides import apply_overrides
from .schema import Spec
from .validate import validate_spec


def load_trial_spec(source: str | Path, overrides: list[str] | None, values: dict[str, Any],
                    *, number: int, name: str | None = None,
                    registry: Registry | None = None) -> Spec:
    """The spec of trial ``number``: ``values`` (spec key path → value) set on the spec
    file (after ``overrides``); ``name``: the run's name (default: the spec's own)."""
    from ..plugins import get_registry

    raw, marks = load_composed(source)
    if not isinstance(raw, dict):
        raise SpecError("a spec is a YAML mapping", file=str(source), line=1)
    try:
        touched = apply_overrides(raw, overrides)
        for key, value in values.items():
            touched.update(apply_overrides(raw, {key: value}, flag=f"trial {number}:"))
    except SpecError as e:
        raise e.located(file=str(source)) from None
    raw.pop("tune", None)
    if name is not None:
        raw["name"] = name
    return validate_spec(raw, registry=registry or get_registry(), marks=marks, file=str(source),
                         base_dir=Path(source).resolve().parent, overridden=touched)
