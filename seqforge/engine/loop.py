"""The training loop.

Nothing here is specific to a cell, topology or task: the model maps a batch to
``(out, state)``, the task maps ``out`` and the batch to a loss and metrics. The loop adds
what every recurrent recipe needs — full or truncated BPTT, gradient clipping, schedulers,
early stopping, mixed precision on CUDA, bad-number policy, interruption, and resumable
checkpoints (position within the epoch included, so a resumed run replays bit for bit).
"""

from __future__ import annotations

import math
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import RunDirError, SeqforgeError
from ..recurrent import detach_state
from .callbacks import Callback
from .checkpoint import load_checkpoint, save_checkpoint
from .device import autocast, autocast_dtype, choose_compiled
from .interrupt import Interrupted
from .rundir import RunDir
from .distributed import World, all_reduce_sum, any_flag

CHECKPOINT_FORMAT = "seqforge-checkpoint/1"


class TrainingDiverged(SeqforgeError):
    """A NaN or infinite loss/gradient under ``nan_policy: stop``."""

    exit_code = 3


@dataclass
class LoopState:
    """Everything about *where* training is, saved in every checkpoint."""

    epoch: int = 0  # completed epochs
    step: int = 0  # optimizer steps so far
    batch_in_epoch: int = 0  # batches done in the current, unfinished epoch
    best: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs without improvement (early stopping)
    # partial-epoch accumulators, so a mid-epoch resume reports the same epoch loss
    loss_sum: float = 0.0
    loss_weight: int = 0
    grad_norm_sum: float = 0.0
    grad_norm_max: float = 0.0
    grad_norm_count: int = 0
    skipped: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def reset_epoch(self) -> None:
        self.batch_in_epoch = 0
        self.loss_sum = self.grad_norm_sum = self.grad_norm_max = 0.0
        self.loss_weight = self.grad_norm_count = self.skipped = 0


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }


def _set_rng_state(s: dict[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    if s.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    kind, keys, *rest = s["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    py = s["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _to_device(batch: dict[str, Any], device: torch.device, non_blocking: bool) -> dict[str, Any]:
    return {k: (v.to(device, non_blocking=non_blocking)
                if isinstance(v, torch.Tensor) and k not in ("lengths", "y_lengths") else v)
            for k, v in batch.items()}


def _chunks(batch: dict[str, Any], k: int):
    """Split a batch along time into truncated-BPTT chunks of k steps."""
    T = batch["x"].shape[1]
    for start in range(0, T, k):
        chunk = dict(batch)
        for key in ("x", "y"):
            if key in batch and isinstance(batch[key], torch.Tensor) and batch[key].dim() >= 2:
                chunk[key] = batch[key][:, start:start + k]
        for key in ("lengths", "y_lengths"):
            if batch.get(key) is not None:
                chunk[key] = (batch[key] - start).clamp(0, k)
        yield chunk


class Trainer:
    def __init__(self, spec, model: torch.nn.Module, task, bundle, *, device: torch.device,
                 run_dir: RunDir | None, callbacks: list[Callback] = (), threads: int = 1,
                 world: World | None = None):
        self.spec = spec
        self.world = world or World()
        self.train_spec = t = spec.train
        self.model = model.to(device)
        self.task = task
        task.bind_model(self.model)
        self.bundle = bundle
        self.device = device
        self.run_dir = run_dir
        self.callbacks = list(callbacks)
        self.threads = threads
        self.epochs = t.epochs
        self.amp_dtype = autocast_dtype(t.precision, device)
        self.scaler = (torch.amp.GradScaler("cuda")
                       if self.amp_dtype == torch.float16 else None)
        self.stateful = bool(bundle.info.meta.get("stateful"))
        self.truncate = t.bptt.truncate if t.bptt != "full" else None

        from ..plugins import get_registry

        reg = get_registry()
        opt = reg.get("optimizer", t.optimizer.name)
        self.optimizer = opt.build(self.model.parameters(), t.optimizer.params)
        self.generator = torch.Generator().manual_seed(spec.seed)
        if bundle.train is None or len(bundle.train) == 0:
            from ..errors import DataError

            raise DataError("the training split is empty", source=bundle.source)
        if t.batch_size % self.world.size:
            from ..errors import SpecError

            raise SpecError(f"the global batch size {t.batch_size} must divide evenly over "
                            f"{self.world.size} processes", path="train.batch_size", file=spec.file)
        # one seeded permutation for every rank; each takes its slice of each global batch
        self.train_loader = bundle.loader(
            "train", t.batch_size, shuffle=not self.stateful, generator=self.generator,
            num_workers=t.num_workers, pin_memory=device.type == "cuda",
            rank=self.world.rank, world=self.world.size)
        # gradients are averaged across ranks by DDP; evaluation uses the plain module
        self.train_model = self.model
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.train_model = DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.val_loader = bundle.loader("val", t.batch_size)
        n = len(self.train_loader)
        self.batches_per_epoch = min(n, t.limit_train_batches or n)
        self.steps_per_epoch = self.batches_per_epoch * (
            math.ceil(self._seq_len() / self.truncate) if self.truncate else 1)
        self.sched_cls = reg.get("scheduler", t.scheduler.name) if t.scheduler else None
        self.scheduler = (self.sched_cls.build(self.optimizer, t.scheduler.params,
                                               epochs=t.epochs, steps_per_epoch=self.steps_per_epoch)
                          if self.sched_cls else None)
        es = t.early_stopping
        self.monitor = es.monitor if es else task.monitor
        if self.val_loader is None and self.monitor.startswith("val_"):
            self.monitor = "train_loss"  # no validation split: watch what there is
        mode = es.mode if es else "auto"
        self.maximize = (task.is_higher_better(self.monitor) if mode == "auto" else mode == "max")
        self.state = LoopState()
        self.compile_decision = "eager"
        self._interrupt: int | None = None
        self._carry = None
        # the shuffle generator's state when the current epoch began (mid-epoch replay)
        self._epoch_gen_state: torch.Tensor | None = None

    # -- description ---------------------------------------------------------------------
    def _seq_len(self) -> int:
        x = self.bundle.train[0]["x"]
        return int(x.shape[0]) if x.dim() >= 1 else 1

    def describe(self) -> str:
        m = self.spec.model
        n = sum(p.numel() for p in self.model.parameters())
        threads = f", {self.threads} thread{'s' if self.threads > 1 else ''}" if self.device.type == "cpu" else ""
        return (f"{m.cell.name}×{m.num_layers} ({m.hidden_size}) {m.topology.name}, "
                f"{n:,} params, {self.batches_per_epoch} batches/epoch, {self.device}{threads}, "
                f"{self.compile_decision}")

    def _emit(self, name: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(self, *args)

    # -- one optimizer step ----------------------------------------------------------------
    def _forward_loss(self, batch, state):
        with autocast(self.device, self.amp_dtype):
            out, state = self.train_model(batch, state)
            loss = self.task.loss(out.float() if self.amp_dtype else out, batch)
        return loss, state

    def _optimizer_step(self, loss: torch.Tensor, where: str) -> tuple[bool, float]:
        """Backward, clip, step. Returns (applied, grad_norm)."""
        t = self.train_spec
        bad = not bool(torch.isfinite(loss))
        if self.world.distributed:  # every rank must skip (or stop) together
            bad = any_flag(bad, self.device)
        if bad:
            self._bad_number(f"loss is {loss.item()}", where)
            return False, float("nan")
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        if t.clip_grad_value is not None:
            torch.nn.utils.clip_grad_value_(params, t.clip_grad_value)
        # the norm is always computed (max_norm=inf clips nothing) so it can be logged
        norm = torch.nn.utils.clip_grad_norm_(params, t.clip_grad_norm or float("inf"))
        norm_f = float(norm)
        if not math.isfinite(norm_f) and self.scaler is None:
            self._bad_number(f"gradient norm is {norm_f}", where)
            self.optimizer.zero_grad(set_to_none=True)
            return False, norm_f
        if self.scaler is not None:  # fp16: the scaler skips inf steps itself
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.state.step += 1
        if self.scheduler is not None and self.sched_cls.interval == "batch":
            self.scheduler.step()
        return True, norm_f

    def _bad_number(self, what: str, where: str) -> None:
        if self.train_spec.nan_policy == "skip":
            self.state.skipped += 1
            return
        last = self.run_dir.checkpoints / "last.pt" if self.run_dir else None
        keep = (f" The last good checkpoint is kept: {last}." if last is not None and last.exists()
                else "")
        raise TrainingDiverged(
            f"training diverged: {what} at {where}.{keep} Try a lower train.optimizer.lr, "
            "train.clip_grad_norm: 1.0, or train.nan_policy: skip to skip such batches.")

    def _train_batch(self, batch, epoch: int, index: int) -> None:
        batch = _to_device(batch, self.device, self.device.type == "cuda")
        state = None
        if self.stateful and self._carry is not None:
            state = self._carry if _batch_of(self._carry) == batch["x"].shape[0] else None
        pieces = _chunks(batch, self.truncate) if self.truncate else (batch,)
        where = f"epoch {epoch}, batch {index + 1}"
        for chunk in pieces:
            loss, state = self._forward_loss(chunk, state)
            applied, norm = self._optimizer_step(loss, where)
            if applied:
                w = self.task.batch_weight(chunk)
                self.state.loss_sum += float(loss.detach()) * w
                self.state.loss_weight += w
                self.state.grad_norm_sum += norm
                self.state.grad_norm_max = max(self.state.grad_norm_max, norm)
                self.state.grad_norm_count += 1
            state = detach_state(state)  # truncated BPTT: values carry on, graph does not
        if self.stateful:
            self._carry = state
        self._emit("on_batch_end", self.state.step, float(loss.detach()))

    # -- evaluation ------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, loader, prefix: str) -> dict[str, float]:
        if loader is None:
            return {}
        self.model.eval()
        metrics = self.task.new_metrics()
        total, weight, carry = 0.0, 0, None
        for batch in loader:
            batch = _to_device(batch, self.device, False)
            state = carry if (self.stateful and carry is not None
                              and _batch_of(carry) == batch["x"].shape[0]) else None
            with autocast(self.device, self.amp_dtype):
                out, state = self.model(batch, state)
                out = out.float()
                loss = self.task.loss(out, batch)
            carry = state if self.stateful else None
            w = self.task.batch_weight(batch)
            total += float(loss) * w
            weight += w
            metrics.update(out, batch)
        self.model.train()
        row = {f"{prefix}_loss": total / max(weight, 1)}
        row.update({f"{prefix}_{k}": v for k, v in metrics.compute().items()})
        return row

    # -- checkpoints -----------------------------------------------------------------------
    @property
    def base_model(self) -> torch.nn.Module:
        """The model without a ``torch.compile`` wrapper (whose state_dict keys carry an
        ``_orig_mod.`` prefix): checkpoints always hold the plain model's weights."""
        return getattr(self.model, "_orig_mod", self.model)

    def checkpoint_payload(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.base_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "loop": asdict(self.state),
            "rng": _rng_state(),
            # the shuffle generator twice: where it is now (the next epoch's order) and
            # where this epoch began (to replay this epoch's order on a mid-epoch resume)
            "generator": self.generator.get_state(),
            "epoch_generator": self._epoch_gen_state,
            "carry": self._carry,
            "spec": self.spec.resolved(),
            "transforms": self.bundle.transforms,
            "data_fingerprint": self.bundle.fingerprint,
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
        save_checkpoint(path, self.checkpoint_payload())
        return path

    def restore(self, path: Path) -> None:
        # load on the CPU: RNG and generator states must stay CPU byte tensors; weights and
        # optimizer state are copied to the model's device by load_state_dict
        ck = load_checkpoint(path, map_location="cpu")
        if ck.get("format") != CHECKPOINT_FORMAT:
            raise RunDirError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint "
                              f"(format {ck.get('format')!r})")
        saved, now = ck.get("data_fingerprint"), self.bundle.fingerprint
        if saved and now and saved != now:
            raise RunDirError(
                f"{path}: cannot resume — the data changed since the run started "
                f"(fingerprint {saved} then, {now} now: {self.bundle.source}). "
                "Start a new run for new data.")
        self.base_model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.scheduler is not None and ck.get("scheduler") is not None:
            self.scheduler.load_state_dict(ck["scheduler"])
        if self.scaler is not None and ck.get("scaler") is not None:
            self.scaler.load_state_dict(ck["scaler"])
        self.state = LoopState(**ck["loop"])
        if ck.get("generator") is not None:
            self.generator.set_state(ck["generator"])
        self._epoch_gen_state = ck.get("epoch_generator")
        self._carry = _state_to(ck.get("carry"), self.device)
        _set_rng_state(ck["rng"])

    # -- signals -------------------------------------------------------------------------
    def _install_signals(self):
        if threading.current_thread() is not threading.main_thread():
            return {}
        old = {}

        def handler(signum, frame):
            if self._interrupt is not None:  # second signal: stop now
                signal.signal(signum, old.get(signum, signal.SIG_DFL))
                raise KeyboardInterrupt
            self._interrupt = signum
            try:
                self._emit("on_message", f"{signal.Signals(signum).name} received: finishing "
                                         "this step, then writing a checkpoint (again: stop "
                                         "at once)…")
            except RuntimeError:  # the signal landed inside a print to the same stream
                pass

        for s in (signal.SIGINT, signal.SIGTERM):
            old[s] = signal.signal(s, handler)
        return old

    def _check_interrupt(self) -> None:
        if self.world.distributed and any_flag(self._interrupt is not None, self.device):
            self._interrupt = self._interrupt or signal.SIGTERM  # a peer was signalled
        if self._interrupt is not None:
            path = self.save("last.pt")
            raise Interrupted(self._interrupt, path)

    # -- the loop --------------------------------------------------------------------------
    def fit(self) -> list[dict[str, Any]]:
        t = self.train_spec
        if self.device.type == "cuda" and t.compile != "off":
            self.model, self.compile_decision = self._choose_compile()
            if not self.world.distributed:
                self.train_model = self.model
        old_handlers = self._install_signals()
        self._emit("on_train_start")
        try:
            stop = False
            while self.state.epoch < self.epochs and not stop:
                stop = self._run_epoch(self.state.epoch + 1)
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
        return self.state.history

    def _run_epoch(self, epoch: int) -> bool:
        st, t = self.state, self.train_spec
        if st.batch_in_epoch == 0 or self._epoch_gen_state is None:
            st.reset_epoch()
            self._epoch_gen_state = self.generator.get_state()
            if self.stateful:
                self._carry = None
        else:  # resuming mid-epoch: replay the same shuffle, skip what was done
            self.generator.set_state(self._epoch_gen_state)
        self._emit("on_epoch_start", epoch)
        t0 = time.perf_counter()
        self.model.train()
        every = t.checkpoint.every_n_steps
        for i, batch in enumerate(self.train_loader):
            if i >= self.batches_per_epoch:
                break
            if i < st.batch_in_epoch:
                continue
            before = st.step
            self._train_batch(batch, epoch, i)
            st.batch_in_epoch = i + 1
            self._check_interrupt()
            if every and st.step // every > before // every and st.batch_in_epoch < self.batches_per_epoch:
                self.save("last.pt")
        loss_sum, loss_weight = st.loss_sum, st.loss_weight
        if self.world.distributed:  # the epoch's loss over every rank's examples
            loss_sum, loss_weight = all_reduce_sum([loss_sum, float(loss_weight)], self.device)
        row: dict[str, Any] = {"epoch": epoch, "steps": st.step,
                               "train_loss": loss_sum / loss_weight if loss_weight else float("nan")}
        row.update(self.evaluate(self.val_loader, "val"))
        # DDP averages gradients before clipping, so every rank measured the same norm
        row["grad_norm"] = st.grad_norm_sum / st.grad_norm_count if st.grad_norm_count else float("nan")
        row["grad_norm_max"] = st.grad_norm_max
        if st.skipped:
            row["skipped_batches"] = st.skipped
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        row["time_s"] = time.perf_counter() - t0
        value = row.get(self.monitor)
        if self.scheduler is not None and self.sched_cls.interval == "epoch":
            if self.sched_cls.needs_metric:
                self.scheduler.step(value if value is not None else row["train_loss"])
            else:
                self.scheduler.step()
        improved = value is not None and math.isfinite(value) and (
            st.best is None or (value > st.best + (t.early_stopping.min_delta if t.early_stopping else 0)
                                if self.maximize else
                                value < st.best - (t.early_stopping.min_delta if t.early_stopping else 0)))
        if improved:
            st.best, st.best_epoch, st.bad_epochs = value, epoch, 0
        else:
            st.bad_epochs += 1
        st.history.append(row)
        st.epoch = epoch
        st.batch_in_epoch = 0
        if self.run_dir is not None:
            self.run_dir.append_metrics(row)
            if improved:
                self.save("best.pt")
            self.save("last.pt")
            self._keep_epoch_checkpoints(epoch)
        self._emit("on_epoch_end", epoch, row)
        stop = bool(t.early_stopping and st.bad_epochs >= t.early_stopping.patience)
        if stop:
            self._emit("on_message", f"early stopping: {self.monitor} has not improved for "
                                     f"{st.bad_epochs} epochs" + (f" (best {st.best:.4g} at epoch {st.best_epoch})"
                                                              if st.best is not None else ""))
        self._check_interrupt()
        return stop

    def _keep_epoch_checkpoints(self, epoch: int) -> None:
        keep = self.train_spec.checkpoint.keep
        if keep <= 1:
            return
        import shutil

        d = self.run_dir.checkpoints
        shutil.copyfile(d / "last.pt", d / f".epoch-{epoch:04d}.tmp")
        (d / f".epoch-{epoch:04d}.tmp").replace(d / f"epoch-{epoch:04d}.pt")
        old = sorted(d.glob("epoch-*.pt"))
        for p in old[:-keep]:
            p.unlink(missing_ok=True)

    def _choose_compile(self):
        batch = _to_device(next(iter(self.train_loader)), self.device, True)

        def step(m):
            with autocast(self.device, self.amp_dtype):
                out, _ = m(batch)
                loss = self.task.loss(out.float(), batch)
            loss.backward()
            self.optimizer.zero_grad(set_to_none=True)

        return choose_compiled(self.model, step, self.train_spec.compile, self.device)


def _state_to(state, device: torch.device):
    """A (nested) recurrent state moved to ``device``."""
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, (list, tuple)):
        return type(state)(_state_to(s, device) for s in state)
    return state


def _batch_of(state) -> int | None:
    """Batch size of a (nested) recurrent state, to know if it can be carried on."""
    if isinstance(state, torch.Tensor):
        return state.shape[0]
    if isinstance(state, (list, tuple)) and state:
        return _batch_of(state[0])
    return None
