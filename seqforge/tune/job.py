"""A tuning job: the spec file, its overrides, the validated ``tune`` section, and where
the study lives (``<out>/<name>/``: storage, ``trials/`` run directories, report)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SeqforgeError, SpecError
from ..plugins import get_registry
from ..spec.schema import Spec
from ..spec.tune import TuneSpec
from ..spec.validate import load_spec


class TuneError(SeqforgeError):
    """A study that cannot run: an unusable storage, a study of another search space."""


@dataclass
class TuneJob:
    file: Path
    overrides: list[str]
    spec: Spec
    tune: TuneSpec
    study_dir: Path
    metric: str
    direction: str  # "minimize" | "maximize"

    @property
    def study_name(self) -> str:
        return self.tune.study or self.spec.name

    @property
    def trials_dir(self) -> Path:
        return self.study_dir / "trials"

    @property
    def storage(self) -> str | None:
        """The spec's ``tune.storage``; a relative journal path is the spec file's neighbour."""
        where = self.tune.storage
        if where is None or "://" in where or Path(where).is_absolute():
            return where
        return str(self.spec.base_dir / where)

    def trial_name(self, number: int) -> str:
        return f"{self.spec.name}-trial{number:04d}"

    def fingerprint(self) -> dict:
        """What a study is: resuming or joining one with another space or metric is refused."""
        return {"space": {p.key: p.to_json() for p in self.tune.params},
                "metric": self.metric, "direction": self.direction}


def prepare(spec_file: str | Path, overrides: list[str] | None = None, *,
            out: str | Path = "studies") -> TuneJob:
    """Validate the spec with its ``tune`` section (every searched value included)."""
    spec = load_spec(spec_file, overrides=list(overrides or []))
    if spec.tune is None:
        raise SpecError("this spec has no tune: section — add one naming the keys to search, "
                        "e.g.\n  tune:\n    space:\n      model.hidden_size: {choice: [32, 64]}",
                        file=str(spec_file))
    task_cls = get_registry().get("task", spec.task.name)
    es = spec.train.early_stopping
    metric = spec.tune.metric or (es.monitor if es else task_cls.monitor)
    direction = spec.tune.direction
    if direction == "auto":
        direction = "maximize" if task_cls.is_higher_better(metric) else "minimize"
    return TuneJob(Path(spec_file), list(overrides or []), spec, spec.tune,
                   Path(out) / (spec.tune.study or spec.name), metric, direction)
