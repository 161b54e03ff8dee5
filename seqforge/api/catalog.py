"""Run directories as records, for ``seqforge runs``: one validated loader.

Every run directory under a folder (any depth: ``runs/<name>/<stamp>``, a study's
``trials/``) is read into a :class:`RunRecord` — name, start, task, epochs, the monitored
metric's best, the primary test metric beside the strongest baseline, and whether the
model beats it. Files are validated (``summary.json`` against :class:`SummaryFile`): a
corrupt or half-written file becomes a listed problem on its run's record, never a crash,
so one broken run does not hide the others.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..engine.rundir import RunDir
from ..errors import RunDirError

#: folders inside a run directory (or beside runs) that never hold runs
_SKIP = {"checkpoints", "tensorboard", "mlartifacts", "export", "__pycache__"}
MAX_DEPTH = 8

Number = float | int | str  # "nan"/"inf" are written as strings (JSON has neither)


class SummaryFile(BaseModel):
    """What ``runs`` needs of ``summary.json`` (other keys are allowed and ignored)."""

    model_config = ConfigDict(extra="allow")
    name: str
    task: str
    epochs_run: int
    monitor: str | None = None
    best: Number | None = None
    best_epoch: int | None = None
    test: dict[str, Number] = {}
    baseline: dict[str, Any] = {}
    beats_baseline: dict[str, bool] = {}


class RunRecord(BaseModel):
    path: str
    name: str
    started: str | None = None
    task: str | None = None
    status: str = "finished"  # finished | pruned | incomplete | corrupt
    epochs: int | None = None
    monitor: str | None = None
    best: float | None = None
    metric: str | None = None
    test: float | None = None
    baseline_name: str | None = None
    baseline: float | None = None
    beats: bool | None = None
    problems: list[str] = []


def find_runs(root: Path) -> list[Path]:
    """Run directories (a ``spec.resolved.yaml`` inside) at or below ``root``."""
    found = []
    root = Path(root)
    for here, dirs, files in os.walk(root):
        if "spec.resolved.yaml" in files:
            found.append(Path(here))
            dirs[:] = []  # a run's own folders hold no runs
            continue
        depth = len(Path(here).relative_to(root).parts)
        dirs[:] = [] if depth >= MAX_DEPTH else sorted(
            d for d in dirs if d not in _SKIP and not d.startswith("."))
    return found


def _stamp(path: Path) -> str | None:
    """The run's start, from its folder name (``20261201-120000``, ``…-2``)."""
    try:
        return datetime.strptime(path.name[:15], "%Y%m%d-%H%M%S").isoformat(sep=" ")
    except ValueError:
        try:
            return datetime.fromtimestamp(path.stat().st_mtime).isoformat(sep=" ", timespec="seconds")
        except OSError:
            return None


def _num(v: Any) -> float | None:
    """A finite number, or None (a diverged run's "nan" included)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _json(path: Path, problems: list[str]) -> dict | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        problems.append(f"{path.name}: not JSON (line {e.lineno}, column {e.colno})")
        return None
    except (OSError, UnicodeDecodeError) as e:
        problems.append(f"{path.name}: unreadable ({type(e).__name__})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name}: not a JSON object")
        return None
    return data


def _task_name(spec: dict) -> str | None:
    task = spec.get("task")
    return task.get("name") if isinstance(task, dict) else task if isinstance(task, str) else None


def read_run(path: Path) -> RunRecord:
    """One run directory as a record; problems listed, never raised."""
    rd, problems = RunDir(path), []
    rec: dict[str, Any] = {"path": str(path), "name": path.parent.name or path.name,
                           "started": _stamp(path)}
    try:
        spec = rd.read_spec()
        rec["name"] = str(spec.get("name") or rec["name"])
        rec["task"] = _task_name(spec)
    except RunDirError as e:
        problems.append(str(e).replace(str(rd.path) + "/", ""))
    try:
        rec["epochs"] = len(rd.read_metrics())
    except (RunDirError, OSError, UnicodeDecodeError) as e:
        problems.append(str(e).replace(str(rd.path) + "/", "") if isinstance(e, RunDirError)
                        else f"metrics.jsonl: unreadable ({type(e).__name__})")
    raw = _json(rd.path / "summary.json", problems)
    if raw is None:
        rec["status"] = "incomplete"
    else:
        try:
            _from_summary(rec, SummaryFile.model_validate(raw))
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            problems.append(f"summary.json: {where}: {err['msg'].lower()}")
    tune = _json(rd.path / "tune.json", problems)
    if tune and tune.get("state") == "PRUNED":
        rec["status"] = "pruned"
    if problems:
        rec["status"] = "corrupt"
    return RunRecord(**rec, problems=problems)


def _from_summary(rec: dict[str, Any], s: SummaryFile) -> None:
    rec.update(task=s.task, epochs=s.epochs_run, monitor=s.monitor, best=_num(s.best))
    metrics = list(s.beats_baseline) or [k.removeprefix("test_") for k in s.test
                                         if not k.endswith("loss")]
    if not metrics:
        return
    extra = s.model_extra or {}
    m = rec["metric"] = extra.get("headline") if extra.get("headline") in metrics else metrics[0]
    rec["test"] = _num(s.test.get(f"test_{m}"))
    # several baselines (``baselines: [{"name": …, **metrics}]``) → the strongest on this metric
    listed = extra.get("baselines")
    candidates = ({b["name"]: b for b in listed if isinstance(b, dict) and "name" in b}
                  if isinstance(listed, list) else {}) or {s.baseline.get("name", "baseline"): s.baseline}
    scored = [(name, _num(b.get(m))) for name, b in candidates.items() if _num(b.get(m)) is not None]
    if scored:
        pick = max if _higher_is_better(s.task, m) else min
        rec["baseline_name"], rec["baseline"] = pick(scored, key=lambda nv: nv[1])
    if m in s.beats_baseline:
        rec["beats"] = s.beats_baseline[m]
    if isinstance(extra.get("beats_best_baseline"), bool):  # against the strongest of them
        rec["beats"] = extra["beats_best_baseline"]


def _higher_is_better(task: str, metric: str) -> bool:
    from ..plugins import get_registry

    try:
        return get_registry().get("task", task).is_higher_better(metric)
    except LookupError:  # a task from a plugin that is not installed here
        return metric in _HIGHER


_HIGHER = {"accuracy", "macro_f1", "f1", "precision", "recall", "exact_match", "token_accuracy"}

SORT_KEYS = ("started", "name", "task", "epochs", "test", "best", "status")


def list_runs(root: str | Path, *, name: str | None = None, task: str | None = None,
              sort: str = "started", reverse: bool = False) -> list[RunRecord]:
    """Every run under ``root``, filtered (``name``: a glob or a substring; ``task``) and
    sorted (newest first by default; ``reverse`` flips)."""
    root = Path(root)
    if not root.exists():
        raise RunDirError(f"{root}: no such directory")
    if not root.is_dir():
        raise RunDirError(f"{root}: not a directory of runs")
    records = [read_run(p) for p in find_runs(root)]
    if name:
        glob = any(c in name for c in "*?[")
        records = [r for r in records if (fnmatch.fnmatchcase(r.name, name) if glob
                                          else name.lower() in r.name.lower())]
    if task:
        records = [r for r in records if r.task == task]
    newest_first = sort == "started"

    def key(r: RunRecord):
        v = getattr(r, sort)
        return (v is None, v if v is not None else 0)

    records.sort(key=key, reverse=newest_first)
    if newest_first:  # None last either way
        records.sort(key=lambda r: r.started is None)
    return records[::-1] if reverse else records


__all__ = ["RunRecord", "SummaryFile", "find_runs", "read_run", "list_runs", "SORT_KEYS"]
