"""The Trainer's checkpoints: what a checkpoint holds, writing it safely, restoring it.

A checkpoint holds the weights, the optimizer, scheduler and grad-scaler states, the
loop position (mid-epoch included), every RNG, the shuffle generators, the carried
recurrent state, the task's fitted state and the run's record (spec, data description,
data fingerprint) — what :func:`seqforge.api.load_run` needs to stand alone. A write is
atomic and never interrupted halfway by a second Ctrl-C (the signal is honoured once the
file is whole); a restore validates the payload and the weights before using them.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..errors import RunDirError, TrainingDiverged
from .checkpoint import check_payload, check_weights, load_checkpoint, save_checkpoint
from .interrupt import Interrupted
from .state import CHECKPOINT_FORMAT, loop_state, rng_state, set_rng_state, state_to


class Checkpointing:
    """Checkpoint methods of :class:`~seqforge.engine.loop.Trainer` (kept apart: the loop
    module is about the loop)."""

    # -- checkpoints -----------------------------------------------------------------------
    @property
    def base_model(self) -> torch.nn.Module:
        """The model without a ``torch.compile`` wrapper (whose state_dict keys carry an
        ``_orig_mod.`` prefix): checkpoints always hold the plain model's weights."""
        return getattr(self.model, "_orig_mod", self.model)

    def checkpoint_payload(self) -> dict[str, Any]:
        sched = self.schedule.scheduler if self.schedule else None
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.base_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": sched.state_dict() if sched is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "loop": asdict(self.state),
            "rng": rng_state(),
            # the shuffle generator twice: where it is now (the next epoch's order) and
            # where this epoch began (to replay this epoch's order on a mid-epoch resume)
            "generator": self.generator.get_state(),
            "epoch_generator": self._epoch_gen_state,
            "carry": self._carry,
            "task_state": self.task.state_dict(),
            **self.record,
        }

    def save(self, name: str) -> Path | None:
        if self.run_dir is None:
            return None
        bad = [n for n, p in self.model.named_parameters() if not torch.isfinite(p).all()]
        if bad:  # never let a NaN model overwrite the last good checkpoint
            last = self.run_dir.checkpoints / "last.pt"
            raise TrainingDiverged(
                f"training diverged: the weights are no longer finite ({', '.join(bad[:3])}"
                f"{' …' if len(bad) > 3 else ''}) after step {self.state.step}; {name} was not "
                "written" + (f", the last good checkpoint is kept: {last}" if last.exists() else "")
                + ". Try a lower train.optimizer.lr or train.clip_grad_norm: 1.0.")
        path = self.run_dir.checkpoints / name
        flag = self._interrupt
        if flag is None:
            save_checkpoint(path, self.checkpoint_payload())
            return path
        with flag.deferred():
            save_checkpoint(path, self.checkpoint_payload())
        if flag.stop_now:  # a second signal came mid-write: the file is whole; stop now
            raise Interrupted(flag.signum or 2, path)
        return path

    def restore(self, path: Path) -> None:
        # load on the CPU: RNG and generator states must stay CPU byte tensors; weights and
        # optimizer state are copied to the model's device by load_state_dict
        ck = check_payload(load_checkpoint(path, map_location="cpu"), path, CHECKPOINT_FORMAT)
        check_weights(self.base_model, ck["model"], path)
        saved, now = ck.get("data_fingerprint"), self.record.get("data_fingerprint")
        if saved and now and saved != now:
            raise RunDirError(
                f"{path}: cannot resume — the data changed since the run started "
                f"(fingerprint {saved} then, {now} now: {self.data.source}). "
                "Start a new run for new data.")
        self.base_model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.schedule is not None and ck.get("scheduler") is not None:
            self.schedule.scheduler.load_state_dict(ck["scheduler"])
        if self.scaler is not None and ck.get("scaler") is not None:
            self.scaler.load_state_dict(ck["scaler"])
        self.state = loop_state(ck["loop"], path)
        if ck.get("generator") is not None:
            self.generator.set_state(ck["generator"])
        self._epoch_gen_state = ck.get("epoch_generator")
        self._carry = state_to(ck.get("carry"), self.device)
        self.task.load_state_dict(ck.get("task_state") or {})
        set_rng_state(ck["rng"])

    def _keep_epoch_checkpoints(self, epoch: int) -> None:
        keep = self.train_spec.checkpoint.keep
        if keep <= 1:
            return
        d = self.run_dir.checkpoints
        shutil.copyfile(d / "last.pt", d / f".epoch-{epoch:04d}.tmp")
        (d / f".epoch-{epoch:04d}.tmp").replace(d / f"epoch-{epoch:04d}.pt")
        old = sorted(d.glob("epoch-*.pt"))
        for p in old[:-keep]:
            p.unlink(missing_ok=True)
