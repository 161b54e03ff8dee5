"""One Optuna trial → one ordinary training run.

The trial's values are sampled (conditionals follow ``when``), set on the spec
(:func:`seqforge.spec.trials.load_trial_spec`) and trained into ``trials/`` like any run.
:class:`Pruning` reports the metric after every epoch; when the pruner says stop, it asks
the loop to end after that epoch (``trainer.stop_reason``), so a pruned trial still
leaves a complete run directory (summary, plots) — then :class:`optuna.TrialPruned` is
raised outside the engine. The trial's value is the best epoch's metric.
"""

from __future__ import annotations

import json
import math
import os
import socket
from typing import Any

from ..engine.callbacks import Callback
from ..errors import SpecError, nearest
from ..spec.trials import load_trial_spec
from ..spec.tune import Param
from .job import TuneJob

PRIMITIVE = (str, int, float, bool, type(None))


def _encode(v: Any) -> Any:
    """Optuna's choices are plain scalars; a mapping choice (``{name: rnn, …}``) is kept as
    its JSON text."""
    return v if isinstance(v, PRIMITIVE) else json.dumps(v, sort_keys=True)


def suggest(trial, p: Param) -> Any:
    if p.kind == "choice":
        encoded = [_encode(v) for v in p.values]
        picked = trial.suggest_categorical(p.key, encoded)
        return p.values[encoded.index(picked)]
    lo, hi = p.values
    if p.kind == "int":
        return trial.suggest_int(p.key, lo, hi, step=p.step or 1, log=p.log)
    return trial.suggest_float(p.key, float(lo), float(hi), step=p.step,
                               log=p.kind == "loguniform")


def sample(trial, params: list[Param]) -> dict[str, Any]:
    """The trial's values; a ``when`` parameter only when its conditions hold."""
    values: dict[str, Any] = {}
    for p in params:
        if all(values.get(k, object()) in allowed for k, allowed in p.when.items()):
            values[p.key] = suggest(trial, p)
    return values


def make_sampler(job: TuneJob, seed: int):
    import optuna

    s = job.tune.sampler
    if s.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=s.n_startup_trials,
                                      constant_liar=True)


def make_pruner(job: TuneJob):
    import optuna

    p = job.tune.pruner
    if p.name == "median":
        # steps are epochs from 1: epochs <= warmup_epochs are never pruned
        return optuna.pruners.MedianPruner(n_startup_trials=p.n_startup_trials,
                                           n_warmup_steps=p.warmup_epochs + 1)
    if p.name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=p.min_resource,
                                                      reduction_factor=p.reduction_factor)
    return optuna.pruners.NopPruner()


class Pruning(Callback):
    """Reports each epoch's metric to the trial; asks the loop to stop when pruned."""

    def __init__(self, trial, job: TuneJob):
        self.trial, self.job = trial, job
        self.values: list[float] = []
        self.pruned_at: int | None = None

    def on_epoch_end(self, trainer, epoch, row) -> None:
        metric = self.job.metric
        if metric not in row:
            keys = [k for k in row if k not in ("epoch", "steps", "time_s")]
            guess = nearest(metric, keys)
            mark = self.job.spec.mark_of("tune", "metric")
            raise SpecError(f"unknown metric {metric!r}" + (f" — did you mean {guess!r}?" if guess
                            else "") + f" an epoch row has: {', '.join(keys)}",
                            path="tune.metric", line=mark.line if mark else None,
                            file=mark.file if mark and mark.file else self.job.spec.file)
        value = row[metric]
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            return
        self.values.append(float(value))
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            trainer.stop_reason = (f"trial {self.trial.number} pruned by the "
                                   f"{self.job.tune.pruner.name} pruner after epoch {epoch} "
                                   f"({metric} {value:.4g})")

    def best(self) -> float | None:
        if not self.values:
            return None
        return max(self.values) if self.job.direction == "maximize" else min(self.values)


class Objective:
    """Called by ``study.optimize`` once per trial."""

    def __init__(self, job: TuneJob, seed: int):
        self.job, self.seed = job, seed

    def __call__(self, trial) -> float:
        import optuna

        from ..api import train
        from ..engine.interrupt import Interrupted
        from ..engine.loop import TrainingDiverged

        job = self.job
        # reproducible per trial number whichever worker runs it
        trial.study.sampler = make_sampler(job, self.seed + trial.number)
        values = sample(trial, job.tune.params)
        trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
        spec = load_trial_spec(job.file, job.overrides, values, number=trial.number,
                               name=job.trial_name(trial.number))
        pruning = Pruning(trial, job)
        try:
            run = train(spec, out=job.trials_dir, callbacks=[pruning], quiet=True)
        except (Interrupted, KeyboardInterrupt):
            # counted as not run: the same values run first when the study resumes
            trial.set_user_attr("interrupted", True)
            trial.study.enqueue_trial({p: trial.params[p] for p in trial.params})
            raise
        except TrainingDiverged as e:
            trial.set_user_attr("error", str(e).splitlines()[0][:500])
            raise
        rel = str(run.dir.relative_to(job.study_dir)) if run.dir else None
        trial.set_user_attr("run_dir", rel)
        trial.set_user_attr("epochs", len(run.history))
        best = pruning.best()
        state = "PRUNED" if pruning.pruned_at is not None else "COMPLETE"
        if run.dir is not None:
            (run.dir / "tune.json").write_text(json.dumps(
                {"study": job.study_name, "trial": trial.number, "state": state,
                 "metric": job.metric, "value": best, "values": values}, indent=2) + "\n")
        if pruning.pruned_at is not None:
            raise optuna.TrialPruned(f"pruned after epoch {pruning.pruned_at}")
        if best is None:
            raise TrainingDiverged(f"{job.metric} was never a finite number")
        return best
