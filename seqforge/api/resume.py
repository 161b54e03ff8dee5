"""Which run a resume continues, and whether the spec still fits it.

A resume continues a run directory from ``checkpoints/last.pt``: the given directory, or
the newest run of the spec that has a checkpoint. Only keys that do not change what is
learnt (epochs, device, checkpointing, early stopping …) may differ from the spec the run
started with.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from ..engine.rundir import RunDir
from ..errors import RunDirError
from ..spec.schema import Spec


def _resume_dir(spec: Spec, out, resume) -> RunDir:
    """The run to resume: the given directory, or the newest of this spec with a checkpoint."""
    if resume is not True:
        return RunDir(Path(resume))
    rd = RunDir.latest(Path(out or "runs"), spec.name, resumable=True)
    if rd is None:
        raise RunDirError(f"nothing to resume: no run of {spec.name!r} with a checkpoint "
                          f"under {out or 'runs'}")
    return rd


def resume_checkpoint(spec: Spec, out, resume) -> Path:
    """The checkpoint a resume reads (every rank of a distributed run needs it)."""
    return _resume_dir(spec, out, resume).checkpoints / "last.pt"


def new_run_dir(spec: Spec, out, hold: ExitStack) -> RunDir | None:
    """A fresh run directory under ``out`` (None: write nothing), locked while ``hold`` is open."""
    if out is None:
        return None
    rd = RunDir.create(Path(out), spec.name)
    hold.enter_context(rd.locked())
    return rd


def prepare_resume(spec: Spec, out, resume, hold: ExitStack) -> tuple[RunDir, Path]:
    """The run directory to continue (locked while ``hold`` is open) and its checkpoint."""
    rd = _resume_dir(spec, out, resume)
    if rd.path.is_dir():
        hold.enter_context(rd.locked())  # before anything in it is read or rewritten
    last = rd.checkpoints / "last.pt"
    if not (rd.path / "spec.resolved.yaml").exists() or not last.exists():
        raise RunDirError(f"{rd.path}: not a resumable run directory (needs spec.resolved.yaml "
                          "and checkpoints/last.pt)")
    _check_resume_compatible(spec, rd)
    rd.remove_stale_temps()  # half-written files of a killed process: never published
    broken: list[str] = []
    rd.origin(broken)
    if broken or not (rd.path / "origin.json").exists():  # resume owns it: rewrite it
        rd.write_json("origin.json", {"spec_file": spec.file, "base_dir": str(spec.base_dir)})
    rd.write_spec(spec.resolved())  # a changed epoch count is allowed and recorded
    return rd, last


#: spec keys a resumed run may change (how long to train, where, how to report)
RESUMABLE_CHANGES = {("train", "epochs"), ("train", "device"), ("train", "early_stopping"),
                     ("train", "checkpoint"), ("train", "num_workers"), ("train", "limit_train_batches")}


def spec_changes(old: dict, new: dict) -> list[str]:
    """Key paths where two resolved specs differ in what is learnt (the keys a resume may
    change are not counted)."""
    changed: list[str] = []

    def walk(a, b, path):
        if path[:2] in RESUMABLE_CHANGES or path in RESUMABLE_CHANGES:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                walk(a.get(k), b.get(k), path + (k,))
        elif a != b:
            changed.append(".".join(path))

    walk(old, new, ())
    return changed


def _check_resume_compatible(spec: Spec, rd: RunDir) -> None:
    changed = spec_changes(rd.read_spec(), spec.resolved())
    if changed:
        raise RunDirError(
            f"{rd.path}: cannot resume — the spec changed since the run started: "
            f"{', '.join(changed)}. Only train.epochs (and device/checkpoint/early-stopping "
            "settings) may change on resume; start a new run for anything else.")
