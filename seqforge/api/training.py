"""``train``: a spec in, a trained :class:`~seqforge.api.runs.Run` and a run directory out.

Builds what the spec names (:mod:`seqforge.api.build`), hands it to the engine's
:class:`~seqforge.engine.loop.Trainer`, then — on the best weights — calibrates the task
on validation data, scores the test split beside the baseline, writes the summary and
the task's artifacts. Resuming continues a run directory from its last checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from ..engine import distributed
from ..engine import evaluate as ev
from ..engine.callbacks import Callback, default_progress
from ..engine.checkpoint import load_checkpoint, save_checkpoint
from ..engine.device import choose_threads, resolve_device
from ..engine.diagnostics import diagnostics_for
from ..engine.interrupt import Interrupted, stop_on_signal
from ..engine.loggers import close_loggers, make_loggers
from ..engine.loop import Trainer
from ..engine.rundir import RunDir, environment_record
from ..plots import loss_curve
from ..spec.schema import Spec
from ..spec.validate import load_spec
from ..tasks.base import ArtifactContext, Task
from .build import Built, build, optimizer_for, schedule_for
from .resume import new_run_dir, prepare_resume, resume_checkpoint
from .runs import Run


def train(spec: Spec | str | Path | dict, *, out: str | Path | None = "runs",
          callbacks: Iterable[Callback] = (), quiet: bool = True, device: str | None = None,
          resume: str | Path | bool | None = None, overrides=None) -> Run:
    """Train a spec; write a run directory under ``out`` (None: write nothing).

    ``quiet=True`` prints nothing (embedding); the CLI passes ``quiet=False``.
    ``resume``: a run directory (or True for the latest run of this spec) to continue.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec, overrides=overrides)
    if device is not None:
        spec = spec.model_copy(update={"train": spec.train.model_copy(update={"device": device})})
    dev = resolve_device(spec.train.device)
    world = distributed.setup(dev)  # a no-op unless launched by torchrun
    dev = distributed.device_for(world, dev)
    threads = choose_threads(spec.train.threads, spec.train.batch_size, spec.model.hidden_size)
    if dev.type == "cpu":
        torch.set_num_threads(threads)
    ended_well = False
    try:
        with ExitStack() as hold:  # holds the run directory's lock until training is done
            run = _train(spec, out, callbacks, quiet, resume, dev, threads, world, hold)
        ended_well = True
        return run
    finally:
        distributed.teardown(together=ended_well)


def make_trainer(spec: Spec, built: Built, device: torch.device, *, run_dir: RunDir | None = None,
                 callbacks: Iterable[Callback] = (), threads: int = 1, world=None) -> Trainer:
    """The engine's Trainer for a built spec, its optimizer and schedule resolved here."""
    m = spec.model
    dev = device
    return Trainer(
        spec.train, built.model, built.task, built.bundle,
        optimizer=optimizer_for(spec, built.model), schedule=schedule_for(spec), device=dev,
        run_dir=run_dir, callbacks=list(callbacks), threads=threads, world=world, seed=spec.seed,
        name=spec.name, label=f"{m.cell.name}×{m.num_layers} ({m.hidden_size}) {m.topology.name}",
        record={"spec": spec.resolved(), "data_info": built.info.to_state(),
                "data_fingerprint": built.bundle.fingerprint})


def _train(spec, out, callbacks, quiet, resume, dev, threads, world, hold) -> Run:
    run_dir = resume_from = None
    if world.is_main and resume:
        run_dir, resume_from = prepare_resume(spec, out, resume, hold)
    elif resume:  # other ranks read the checkpoint to resume from, and write nothing
        resume_from = resume_checkpoint(spec, out, resume)
        distributed.barrier()
    if world.is_main and world.distributed and resume:
        distributed.barrier()  # rank 0 has swept stale files before anyone reads
    with stop_on_signal():  # reading data can take long: Ctrl-C / SIGTERM stop it cleanly
        built = build(spec)
        trainer = make_trainer(spec, built, dev, run_dir=run_dir, threads=threads, world=world)
    if world.is_main and not resume:  # only now: a spec or data error leaves no empty folder
        trainer.run_dir = run_dir = new_run_dir(spec, out, hold)
    loggers = make_loggers(spec.train.loggers, run_dir, spec.resolved()) if world.is_main else []
    if world.is_main:
        trainer.callbacks = (list(callbacks) + loggers + default_progress(quiet)
                             + diagnostics_for(spec.train))
    for note in built.bundle.notes:  # before training: what loading the data noticed
        trainer.emit("on_message", f"warning: {note}")
    if resume_from is not None:
        trainer.restore(resume_from)
        if run_dir is not None:
            run_dir.rewrite_metrics(trainer.state.history)
            st = trainer.state
            trainer.emit("on_message", f"resuming {run_dir.path} at epoch {st.epoch + 1}"
                         + (f", batch {st.batch_in_epoch + 1}" if st.batch_in_epoch else ""))
    elif run_dir is not None:
        run_dir.write_spec(spec.resolved())
        run_dir.write_json("origin.json", {"spec_file": spec.file, "base_dir": str(spec.base_dir)})
    t0 = time.perf_counter()
    try:
        history = trainer.fit()
    except BaseException as exc:  # the loggers' runs end too, marked as such
        close_loggers(loggers, "KILLED" if isinstance(exc, (KeyboardInterrupt, Interrupted))
                      else "FAILED")
        raise
    elapsed = time.perf_counter() - t0
    run = Run(spec, trainer.base_model, built.task, built.info, built.source, history, {},
              run_dir.path if run_dir else None, dev, _bundle=built.bundle,
              notes=list(built.bundle.notes))
    if not world.is_main:  # rank 0 scores, plots and writes the summary
        return run
    if run_dir is not None:
        run_dir.write_json("env.json", environment_record(
            device=dev, seed=spec.seed, data_fingerprint=built.bundle.fingerprint,
            data_source=built.bundle.source, threads=threads,
            compile_decision=trainer.compile_decision, precision=spec.train.precision))
    run.summary = summary = _finish(spec, built, trainer, run_dir, dev, elapsed)
    trainer.emit("on_train_end", summary)
    return run


def _finish(spec: Spec, built: Built, trainer: Trainer, run_dir: RunDir | None, dev,
            elapsed: float) -> dict[str, Any]:
    """Best weights → calibrate → test metrics and baseline → summary and artifacts."""
    bundle, task, model = built.bundle, built.task, trainer.base_model
    best = run_dir.checkpoints / "best.pt" if run_dir is not None else None
    weights = "last"
    if best is not None and best.exists() and trainer.state.best_epoch:
        model.load_state_dict(load_checkpoint(best, map_location=dev)["model"])
        weights = f"best (epoch {trainer.state.best_epoch}, by {trainer.monitor})"
    bs = spec.train.batch_size
    if bundle.val is not None and len(bundle.val):
        task.calibrate(ev.outputs(model, bundle.loader("val", bs), dev, stateful=bundle.stateful))
        if run_dir is not None:  # what calibration learnt travels with the checkpoints
            _store_task_state(run_dir, task)
    test_loader = bundle.loader("test", bs)
    test = trainer.evaluate(test_loader, "test") if test_loader is not None else {}
    baselines = task.baselines(bundle.test if test_loader is not None else bundle.val)
    strongest = task.strongest(baselines)
    baseline = {k: v for k, v in strongest.items() if k != "name"}
    history = trainer.state.history
    summary = {
        "name": spec.name,
        "task": spec.task.name,
        "epochs_run": trainer.state.epoch,
        "steps": trainer.state.step,
        "stopped_early": trainer.state.epoch < spec.train.epochs,
        "monitor": trainer.monitor,
        "best": trainer.state.best,
        "best_epoch": trainer.state.best_epoch,
        "weights": weights,
        "train_time_s": elapsed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "final": history[-1] if history else {},
        "skipped_batches": sum(int(r.get("skipped_batches", 0)) for r in history),
        "test": test,
        # the strongest model-free baseline, and all of them: [{"name": …, **metrics}]
        "baseline": strongest,
        "baselines": baselines,
        "headline": task.headline,  # the metric the strongest baseline is chosen by
        "beats_baseline": beats(task, test, baseline),
    }
    if bundle.notes:
        summary["notes"] = list(bundle.notes)
    if bundle.val is None or not len(bundle.val):
        summary["selected_by"] = trainer.monitor  # no validation data: say what chose best.pt
    summary.update(skill_vs_best(task, test, strongest))
    if run_dir is not None:
        ctx = ArtifactContext(run_dir.path, model, bundle, ev.Passes(model, dev, bundle.collate),
                              history, summary)
        files = [loss_curve(history, run_dir.path / "loss.png", title=spec.name,
                            monitor=trainer.monitor, best_epoch=trainer.state.best_epoch)]
        with ev.eval_mode(model):
            files += task.artifacts(ctx)
        summary["artifacts"] = [str(Path(f).relative_to(run_dir.path)) for f in files if f]
        run_dir.write_json("summary.json", summary)
    return summary


def _store_task_state(run_dir: RunDir, task: Task) -> None:
    for name in ("best.pt", "last.pt"):
        path = run_dir.checkpoints / name
        if path.exists():
            ck = load_checkpoint(path, map_location="cpu")
            ck["task_state"] = task.state_dict()
            save_checkpoint(path, ck)


def skill_vs_best(task: Task, test: dict[str, float], best: dict[str, Any]) -> dict[str, Any]:
    """Does the model beat the strongest baseline on the task's headline metric
    (``beats_best_baseline``)? For an error metric also the ``skill`` = 1 − model /
    baseline (> 0: the model is better), as forecasters report it."""
    metric = task.headline
    m, b = test.get(f"test_{metric}"), best.get(metric or "")
    if not metric or not isinstance(m, (int, float)) or not isinstance(b, (int, float)):
        return {}
    higher = task.is_higher_better(metric)
    out: dict[str, Any] = {"headline": metric,
                           "beats_best_baseline": bool(m > b if higher else m < b)}
    if not higher and b != 0:
        out["skill"] = {"metric": metric, "vs": best.get("name"), "value": 1 - m / b}
    return out


def beats(task: Task, test: dict[str, float], base: dict[str, float]) -> dict[str, bool]:
    """Per baseline metric: does the model's test value beat it?"""
    out = {}
    for k, b in base.items():
        key = f"test_{k}"
        if key in test and isinstance(b, (int, float)):
            out[k] = (test[key] > b) if task.is_higher_better(k) else (test[key] < b)
    return out
