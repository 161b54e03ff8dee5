"""The embedding API: every arrow of the flow is a function.

>>> spec = load_spec("specs/stock_lstm.yaml", overrides=["train.epochs=1"])  # doctest: +SKIP
>>> run = train(spec, out="runs")                                            # doctest: +SKIP
>>> run.summary["test"], run.summary["baseline"]                             # doctest: +SKIP
>>> run.predict(run.bundle.test)[:3]                                         # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from .data.base import DataBundle
from . import distributed
from .engine.callbacks import Callback, default_progress
from .engine.checkpoint import load_checkpoint
from .engine.device import choose_threads, resolve_device
from .engine.loop import Trainer, seed_everything
from .engine.rundir import RunDir, environment_record
from .errors import DataError, RunDirError, SpecError
from .plugins import get_registry
from .spec.schema import Spec
from .spec.validate import load_spec
from .tasks.base import ArtifactContext, Task

__all__ = ["load_spec", "build", "dry_run", "train", "load_run", "Run", "Built"]


@dataclass
class Built:
    """Everything a spec names, constructed: data, task and model."""

    spec: Spec
    bundle: DataBundle
    task: Task
    model: torch.nn.Module


def build(spec: Spec, *, transforms: dict[str, Any] | None = None) -> Built:
    """Load the dataset, build the task and the model (seeded, so weights are reproducible).

    ``transforms``: a trained run's saved scaler/vocabularies, for datasets that can
    reuse them (scoring a trained model on new data must not refit them).
    """
    reg = get_registry()
    seed_everything(spec.seed)
    ds_cls = reg.get("dataset", spec.data.dataset.name)
    source = ds_cls(spec.data.dataset.params, base_dir=spec.base_dir, seed=spec.seed)
    source.saved_transforms = transforms
    try:
        bundle = source.load()
    except DataError as exc:  # point at the spec key too: the file and line it was written at
        key = exc.path or "data.dataset"
        mark = spec.mark_of(*key.split("."))
        raise exc.in_spec(mark.file if mark else spec.file, key,
                          mark.line if mark else None) from None
    bundle.source_obj = source  # predict-from-file needs the dataset's reader
    task = reg.get("task", spec.task.name)(spec.task.params, bundle)
    topo_cls = reg.get("topology", spec.model.topology.name)
    cell_cls = reg.get("cell", spec.model.cell.name)
    topology = topo_cls(spec.model, spec.model.topology.params, cell_cls)
    torch.manual_seed(spec.seed)
    model = topology.build(bundle.info, task.output_size())
    return Built(spec, bundle, task, model)


def dry_run(spec: Spec) -> dict[str, Any]:
    """Push one tiny batch through model and loss without training (``seqforge validate``).

    Shape mismatches between the dataset, topology and task surface here as SpecErrors.
    """
    built = build(spec)
    batch = built.bundle.collate([built.bundle.train[i] for i in range(min(2, len(built.bundle.train)))])
    try:
        out, _ = built.model(batch)
        loss = built.task.loss(out, batch)
        loss.backward()
    except (RuntimeError, ValueError, IndexError) as exc:
        msg = str(exc).strip().splitlines()[0][:300]
        raise SpecError(
            f"model {spec.model.topology.name!r} with cell {spec.model.cell.name!r} does not fit "
            f"task {spec.task.name!r} on dataset {spec.data.dataset.name!r}: a trial batch "
            f"failed ({msg})", path="model", file=spec.file) from None
    if not torch.isfinite(loss):
        raise SpecError(f"the trial batch gives a non-finite loss ({float(loss)})",
                        path="model", file=spec.file)
    return {
        "train_examples": len(built.bundle.train),
        "val_examples": len(built.bundle.val) if built.bundle.val is not None else 0,
        "test_examples": len(built.bundle.test) if built.bundle.test is not None else 0,
        "parameters": sum(p.numel() for p in built.model.parameters()),
        "output_shape": tuple(out.shape),
        "loss": float(loss.detach()),
    }


@dataclass
class Run:
    """A trained (or loaded) run: its model, history, summary and directory."""

    spec: Spec
    model: torch.nn.Module
    task: Task
    bundle: DataBundle
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    dir: Path | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return self.history

    def _batches(self, inputs, batch_size: int = 256):
        if isinstance(inputs, dict):
            yield inputs
            return
        if isinstance(inputs, torch.Tensor):
            inputs = [{"x": x} for x in inputs]
        items = list(inputs)
        for i in range(0, len(items), batch_size):
            yield self.bundle.collate(items[i:i + batch_size])

    def predict(self, inputs: Any) -> list[dict[str, Any]]:
        """Predictions in the task's own terms (prices, labels, decoded strings …).

        ``inputs``: a batch dict, a tensor of x's, or items (e.g. ``run.bundle.test``).
        """
        self.model.eval()
        rows: list[dict[str, Any]] = []
        with torch.no_grad():
            for batch in self._batches(inputs):
                batch = {k: (v.to(self.device) if isinstance(v, torch.Tensor) and k != "lengths" else v)
                         for k, v in batch.items()}
                rows.extend(self.task.predict(self.model, batch))
        return rows

    def evaluate(self, split: str = "test") -> dict[str, float]:
        """The task's metrics on a split, with the baseline beside them."""
        trainer = _eval_trainer(self)
        loader = self.bundle.loader(split, self.spec.train.batch_size)
        if loader is None:
            raise RunDirError(f"the data has no {split!r} split")
        metrics = trainer.evaluate(loader, split)
        return {"model": metrics, "baseline": self.task.baseline(split)}


def _eval_trainer(run: Run) -> Trainer:
    return Trainer(run.spec, run.model, run.task, run.bundle, device=run.device, run_dir=None)


def _beats(task: Task, test: dict[str, float], base: dict[str, float]) -> dict[str, bool]:
    out = {}
    for k, b in base.items():
        key = f"test_{k}"
        if key in test and isinstance(b, (int, float)):
            out[k] = (test[key] > b) if task.is_higher_better(k) else (test[key] < b)
    return out


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
    try:
        return _train(spec, out, callbacks, quiet, resume, dev, threads, world)
    finally:
        distributed.teardown()


def _train(spec, out, callbacks, quiet, resume, dev, threads, world) -> Run:
    if world.is_main:
        run_dir, resume_from = _prepare_run_dir(spec, out, resume)
    else:  # other ranks read the checkpoint to resume from, and write nothing
        run_dir = None
        resume_from = _resume_checkpoint(spec, out, resume) if resume else None
        distributed.barrier()
    if world.is_main and world.distributed:
        distributed.barrier()  # rank 0 has swept stale files before anyone reads
    built = build(spec)
    cbs = (list(callbacks) + default_progress(quiet)) if world.is_main else []
    trainer = Trainer(spec, built.model, built.task, built.bundle, device=dev,
                      run_dir=run_dir, callbacks=cbs, threads=threads, world=world)
    if resume_from is not None and run_dir is None:
        trainer.restore(resume_from)
    elif resume_from is not None:
        trainer.restore(resume_from)
        run_dir.rewrite_metrics(trainer.state.history)
        trainer._emit("on_message", f"resuming {run_dir.path} at epoch {trainer.state.epoch + 1}"
                      + (f", batch {trainer.state.batch_in_epoch + 1}" if trainer.state.batch_in_epoch else ""))
    elif run_dir is not None:
        run_dir.write_spec(spec.resolved())
        run_dir.write_json("origin.json", {"spec_file": spec.file, "base_dir": str(spec.base_dir)})
    t0 = time.perf_counter()
    history = trainer.fit()
    elapsed = time.perf_counter() - t0
    if not world.is_main:  # rank 0 scores, plots and writes the summary
        return Run(spec, trainer.base_model, built.task, built.bundle, history, {}, None, dev)
    if run_dir is not None:
        run_dir.write_json("env.json", environment_record(
            device=dev, seed=spec.seed, data_fingerprint=built.bundle.fingerprint,
            data_source=built.bundle.source, threads=threads,
            compile_decision=trainer.compile_decision, precision=spec.train.precision))
    # the test split is scored with the best weights (by the monitored metric)
    best = run_dir.checkpoints / "best.pt" if run_dir is not None else None
    weights = "last"
    if best is not None and best.exists() and trainer.state.best_epoch:
        trainer.base_model.load_state_dict(load_checkpoint(best, map_location=dev)["model"])
        weights = f"best (epoch {trainer.state.best_epoch}, by {trainer.monitor})"
    test_loader = built.bundle.loader("test", spec.train.batch_size)
    test = trainer.evaluate(test_loader, "test") if test_loader is not None else {}
    split = "test" if test_loader is not None else "val"
    baseline = built.task.baseline(split)
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
        "parameters": sum(p.numel() for p in built.model.parameters()),
        "final": history[-1] if history else {},
        "test": test,
        "baseline": {"name": built.task.baseline_name(), **baseline},
        "beats_baseline": _beats(built.task, test, baseline),
    }
    run = Run(spec, trainer.model, built.task, built.bundle, history, summary,
              run_dir.path if run_dir else None, dev)
    if run_dir is not None:
        ctx = ArtifactContext(run_dir.path, trainer.model, built.bundle, dev, history, summary)
        from .plots import loss_curve

        files = [loss_curve(history, run_dir.path / "loss.png", title=spec.name)]
        files += built.task.artifacts(ctx)
        summary["artifacts"] = [str(Path(f).relative_to(run_dir.path)) for f in files if f]
        run_dir.write_json("summary.json", summary)
    trainer._emit("on_train_end", summary)
    return run


def _resume_dir(spec: Spec, out, resume) -> RunDir:
    """The run to resume: the given directory, or the newest of this spec with a checkpoint."""
    if resume is not True:
        return RunDir(Path(resume))
    rd = RunDir.latest(Path(out or "runs"), spec.name, resumable=True)
    if rd is None:
        raise RunDirError(f"nothing to resume: no run of {spec.name!r} with a checkpoint "
                          f"under {out or 'runs'}")
    return rd


def _resume_checkpoint(spec: Spec, out, resume) -> Path:
    """The checkpoint a resume reads (every rank of a distributed run needs it)."""
    return _resume_dir(spec, out, resume).checkpoints / "last.pt"


def _prepare_run_dir(spec: Spec, out, resume) -> tuple[RunDir | None, Path | None]:
    if resume:
        rd = _resume_dir(spec, out, resume)
        last = rd.checkpoints / "last.pt"
        if not (rd.path / "spec.resolved.yaml").exists() or not last.exists():
            raise RunDirError(f"{rd.path}: not a resumable run directory (needs spec.resolved.yaml "
                              "and checkpoints/last.pt)")
        _check_resume_compatible(spec, rd)
        rd.remove_stale_temps()  # half-written files of a killed process: never published
        rd.write_spec(spec.resolved())  # a changed epoch count is allowed and recorded
        return rd, last
    if out is None:
        return None, None
    return RunDir.create(Path(out), spec.name), None


#: spec keys a resumed run may change (how long to train, where, how to report)
RESUMABLE_CHANGES = {("train", "epochs"), ("train", "device"), ("train", "early_stopping"),
                     ("train", "checkpoint"), ("train", "num_workers"), ("train", "limit_train_batches")}


def _check_resume_compatible(spec: Spec, rd: RunDir) -> None:
    old, new = rd.read_spec(), spec.resolved()
    changed = []

    def walk(a, b, path):
        if path[:2] in RESUMABLE_CHANGES or path in RESUMABLE_CHANGES:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                walk(a.get(k), b.get(k), path + (k,))
        elif a != b:
            changed.append(".".join(path))

    walk(old, new, ())
    if changed:
        raise RunDirError(
            f"{rd.path}: cannot resume — the spec changed since the run started: "
            f"{', '.join(changed)}. Only train.epochs (and device/checkpoint/early-stopping "
            "settings) may change on resume; start a new run for anything else.")


def load_run(path: str | Path, *, device: str = "cpu", checkpoint: str = "best") -> Run:
    """Load a finished (or interrupted) run directory for inference."""
    rd = RunDir(Path(path))
    spec_file = rd.path / "spec.resolved.yaml"
    if not spec_file.exists():
        raise RunDirError(f"{rd.path}: not a seqforge run directory (no spec.resolved.yaml)")
    origin = rd.read_json("origin.json") if (rd.path / "origin.json").exists() else {}
    # relative data paths resolve against the original spec's folder, not the run dir
    spec = load_spec(spec_file, base_dir=origin.get("base_dir", Path.cwd()))
    ck_path = rd.checkpoints / f"{checkpoint}.pt"
    if not ck_path.exists():
        ck_path = rd.checkpoints / "last.pt"
    dev = resolve_device(device)
    ck = load_checkpoint(ck_path, map_location=dev)
    saved = ck.get("transforms") or {}
    built = build(spec, transforms=saved)
    _check_same_transforms(built.bundle.transforms, saved, rd.path)
    built.model.load_state_dict(ck["model"])
    built.model.to(dev).eval()
    built.task.bind_model(built.model)
    summary = rd.read_json("summary.json") if (rd.path / "summary.json").exists() else {}
    return Run(spec, built.model, built.task, built.bundle, rd.read_metrics(), summary, rd.path, dev)


def _check_same_transforms(now: dict[str, Any], saved: dict[str, Any], where: Path) -> None:
    """A model is only valid with the vocabulary/scaler it was trained with."""
    if not saved:
        return
    changed = sorted(k for k in set(now) | set(saved) if _plain(now.get(k)) != _plain(saved.get(k)))
    if changed:
        raise RunDirError(
            f"{where}: the data's {', '.join(changed)} differ from the ones this model was "
            "trained with (the data file changed since, or this dataset cannot reuse a run's "
            "saved transforms) — restore the original data or retrain")


def _plain(v: Any) -> Any:
    import json

    return json.loads(json.dumps(v, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def evaluate_run(path: str | Path, *, split: str = "test", data: list[str] = (),
                 device: str = "cpu") -> dict[str, Any]:
    """``seqforge evaluate``: a run's metrics on a split, optionally on other data.

    ``data`` overrides keys of the run's data section (``["source=other.csv"]``), so the
    same model can be scored on a new file with the run's own vocabulary and scaling.
    """
    run = load_run(path, device=device)
    if data:
        rd = RunDir(Path(path))
        origin = rd.read_json("origin.json") if (rd.path / "origin.json").exists() else {}
        spec = load_spec(rd.path / "spec.resolved.yaml", overrides=list(data),
                         override_flag="--data", override_prefix="data", base_dir=Path.cwd())
        del origin
        built = build(spec, transforms=run.bundle.transforms)
        _check_same_transforms(built.bundle.transforms, run.bundle.transforms, rd.path)
        run = Run(spec, run.model, built.task, built.bundle, run.history, run.summary, run.dir, run.device)
    res = run.evaluate(split)
    res["baseline"] = {"name": run.task.baseline_name(), **res["baseline"]}
    return res
