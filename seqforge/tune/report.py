"""What a study leaves in its directory, rewritten after every worker session:

``trials.csv``  one row per trial: number, state, value, epochs, seconds, each searched
                value, its run directory
``study.json``  the search (space, metric, direction, storage), counts by state, the best
                trial, and this session's wall time
``best.yaml``   the best trial's resolved spec under the study's own name — ``seqforge run
                best.yaml`` trains it again (relative data paths rewritten to still point
                at the same files)
``study.png``   the metric over trials (pruned ones at their last report, the best so
                far as a line) and, with enough complete trials, parameter importance
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from ..engine.checkpoint import atomic_write_text
from ..engine.quiet import quiet
from ..engine.rundir import RunDir
from ..plots import figure, save_figure
from ..spec.loader import dump_yaml
from .job import TuneJob


def trial_rows(job: TuneJob, study) -> list[dict[str, Any]]:
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        state = "INTERRUPTED" if t.user_attrs.get("interrupted") else t.state.name
        row = {"number": t.number, "state": state,
               job.metric: t.value if t.value is not None else _last(t),
               "epochs": t.user_attrs.get("epochs"),
               "seconds": round(t.duration.total_seconds(), 2) if t.duration else None}
        row.update({p.key: t.params.get(p.key) for p in job.tune.params})
        row["run_dir"] = t.user_attrs.get("run_dir")
        rows.append(row)
    return rows


def _last(t) -> float | None:
    """A pruned trial's last reported value (its trial value is None)."""
    if t.intermediate_values:
        return t.intermediate_values[max(t.intermediate_values)]
    return None


def best_trial(study):
    """The best COMPLETE trial, or None (Optuna's best_trial raises when there is none)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"
            and t.value is not None and math.isfinite(t.value)]
    if not done:
        return None
    pick = max if study.direction.name == "MAXIMIZE" else min
    return pick(done, key=lambda t: t.value)


def write_report(job: TuneJob, study, *, wall_s: float, storage: str) -> dict[str, Path]:
    d = job.study_dir
    d.mkdir(parents=True, exist_ok=True)
    rows = trial_rows(job, study)
    files = {"trials": d / "trials.csv", "study": d / "study.json"}
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    atomic_write_text(files["trials"], buf.getvalue())
    best = best_trial(study)
    states: dict[str, int] = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    atomic_write_text(files["study"], json.dumps({
        "study": job.study_name, "spec": str(job.file), "storage": storage,
        **job.fingerprint(), "trials_target": job.tune.trials, "trials": states,
        "best": None if best is None else {
            "number": best.number, "value": best.value, "params": best.params,
            "run_dir": best.user_attrs.get("run_dir")},
        "session_wall_s": round(wall_s, 2)}, indent=2) + "\n")
    if best is not None and best.user_attrs.get("run_dir"):
        files["best"] = d / "best.yaml"
        atomic_write_text(files["best"], best_spec_text(job, best))
    plot = plot_study(job, study, rows, d / "study.png")
    if plot is not None:
        files["plot"] = plot
    return files


def best_spec_text(job: TuneJob, best) -> str:
    spec = RunDir(job.study_dir / best.user_attrs["run_dir"]).read_spec()
    spec["name"] = job.spec.name
    base = job.spec.base_dir
    for k, v in list(spec.get("data", {}).items()):  # a data file named relative to the spec
        # a file, not merely an existing path: '.' (a decimal mark) exists as a folder
        if isinstance(v, str) and v and not os.path.isabs(v) and (base / v).is_file():
            spec["data"][k] = os.path.relpath(base / v, job.study_dir)
    values = ", ".join(f"{k}={v}" for k, v in best.params.items())
    return (f"# best trial ({best.number}) of study {job.study_name!r}: {job.metric} "
            f"{best.value:.6g} ({job.direction})\n# {values}\n"
            f"# from {job.file}; train it again: seqforge run {job.study_dir / 'best.yaml'}\n"
            + dump_yaml(spec))


def plot_study(job: TuneJob, study, rows: list[dict[str, Any]], path: Path) -> Path | None:
    points = [(r["number"], r[job.metric], r["state"]) for r in rows
              if isinstance(r[job.metric], (int, float)) and math.isfinite(r[job.metric])]
    if not points:
        return None
    importance = _importance(study, job)
    fig, axes = figure(1, 2 if importance else 1, figsize=(11 if importance else 7, 4.2),
                       squeeze=False)
    ax = axes[0][0]
    for state, style in (("COMPLETE", dict(color="tab:blue", marker="o")),
                         ("PRUNED", dict(color="tab:gray", marker="x"))):
        xs = [(n, v) for n, v, s in points if s == state]
        if xs:
            ax.scatter(*zip(*xs), label=state.lower() if state == "COMPLETE"
                       else "pruned (last report)", s=24, **style)
    best, line = None, []
    better = (lambda a, b: a > b) if job.direction == "maximize" else (lambda a, b: a < b)
    for n, v, s in points:
        if s == "COMPLETE" and (best is None or better(v, best)):
            best = v
        line.append((n, best))
    line = [(n, b) for n, b in line if b is not None]
    if line:
        ax.step(*zip(*line), where="post", color="tab:red", label="best so far")
    values = [v for _, v, _ in points if v > 0]
    if values and len(values) == len(points) and max(values) / min(values) > 20:
        ax.set_yscale("log")  # one bad trial should not flatten the rest
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{job.metric} ({'higher' if job.direction == 'maximize' else 'lower'} is better)")
    ax.set_title(f"{job.study_name}: {job.metric} over trials")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if importance:
        a2 = axes[0][1]
        names = list(importance)[::-1]
        a2.barh(names, [importance[n] for n in names], color="tab:blue")
        a2.set_xlabel("importance (fANOVA share of the metric's variance)")
        a2.set_title("parameter importance")
    return save_figure(fig, path)


def _importance(study, job: TuneJob) -> dict[str, float] | None:
    """Optuna's fANOVA importances, when cheap and meaningful (>= 2 parameters, >= 4
    complete trials, scikit-learn present); None otherwise."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(job.tune.params) < 2 or len(complete) < 4:
        return None
    try:
        import optuna

        with quiet():
            return optuna.importance.get_param_importances(study)
    except Exception:  # missing scikit-learn, parameters never sampled together …
        return None
