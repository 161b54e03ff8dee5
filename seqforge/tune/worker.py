"""A worker: trials until the study has its total, on a storage other workers may share.

Every worker — this process, ``--workers N``'s children, or ``seqforge tune`` started on
other machines against one storage URL — runs the same loop: open (or create) the study,
check it is the same search (space, metric, direction), fail the trials of workers that
died on this host, then run trials while finished + running ones fall short of
``tune.trials``. Trial numbers come from the storage, so they never collide; an
interrupted trial is enqueued again, so none is lost.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Callable

from ..engine.quiet import quiet
from .job import TuneError, TuneJob
from .objective import Objective, make_pruner, make_sampler
from .storage import open_storage


def counts(study) -> dict[str, int]:
    """Trials by what they mean for the total: done (complete, pruned, failed for good),
    running, and retried (interrupted: their values run again)."""
    out = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0, "retried": 0}
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "FAIL" and t.user_attrs.get("interrupted"):
            out["retried"] += 1
        else:
            out[t.state.name] = out.get(t.state.name, 0) + 1
    out["done"] = out["COMPLETE"] + out["PRUNED"] + out["FAIL"]
    return out


def open_study(job: TuneJob, storage: str | None):
    import optuna

    st = open_storage(storage, job.study_dir)
    with quiet():
        study = optuna.create_study(storage=st, study_name=job.study_name,
                                    direction=job.direction, load_if_exists=True,
                                    sampler=make_sampler(job, 0), pruner=make_pruner(job))
        saved = study.user_attrs.get("seqforge")
        mine = job.fingerprint()
        if saved is None:
            study.set_user_attr("seqforge", mine)
        elif saved != mine:
            diff = [k for k in mine if saved.get(k) != mine[k]]
            raise TuneError(f"study {job.study_name!r} in {storage or job.study_dir} was created "
                            f"with another {' and '.join(diff)} ({json.dumps(saved[diff[0]])}); "
                            "resume it with the same tune section, or give this search its own "
                            "tune.study name or --out folder")
    return study


def fail_dead_trials(study) -> list[int]:
    """RUNNING trials whose worker process on this host is gone (killed): FAIL, retried."""
    from optuna.trial import TrialState

    host, dead = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        w = t.user_attrs.get("worker") or {}
        if w.get("host") == host and w.get("pid") != os.getpid() and not _alive(w.get("pid")):
            study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            study.enqueue_trial(dict(t.params))
            dead.append(t.number)
    return dead


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return True  # unknown: assume a live worker
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_worker(job: TuneJob, *, storage: str | None = None,
               echo: Callable[[str], None] = lambda s: None) -> dict:
    """Run trials until the study has ``tune.trials`` (or ``tune.timeout`` passes)."""
    import optuna

    from ..engine.loop import TrainingDiverged

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    study = open_study(job, storage if storage is not None else job.storage)
    for n in fail_dead_trials(study):
        echo(f"trial {n}: its worker is gone; its values run again")
    total = job.tune.trials
    seed = job.tune.sampler.seed if job.tune.sampler.seed is not None else job.spec.seed
    started = time.perf_counter()
    ran: list[int] = []

    def enough(study) -> bool:  # other workers' running trials count: no overshoot
        c = counts(study)
        return c["done"] + c["RUNNING"] >= total

    def after_trial(study, frozen) -> None:
        ran.append(frozen.number)
        echo(trial_line(job, frozen))
        if enough(study):
            study.stop()

    if not enough(study):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.optimize(Objective(job, seed), timeout=job.tune.timeout,
                           callbacks=[after_trial], catch=(TrainingDiverged,),
                           gc_after_trial=True)
    return {"study": study, "ran": ran, "wall_s": time.perf_counter() - started,
            "counts": counts(study)}


def trial_line(job: TuneJob, t) -> str:
    params = " ".join(f"{k}={_short(v)}" for k, v in t.params.items())
    took = f"{t.duration.total_seconds():.1f}s" if t.duration else "?"
    epochs = t.user_attrs.get("epochs")
    if t.state.name == "COMPLETE":
        head = f"{job.metric} {t.value:.4g}"
    elif t.state.name == "PRUNED":
        head = f"pruned after epoch {epochs}"
    else:
        head = t.state.name.lower() + (f": {t.user_attrs['error']}" if "error" in t.user_attrs else "")
    return f"trial {t.number}: {head} ({took}) {params}"


def _short(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
