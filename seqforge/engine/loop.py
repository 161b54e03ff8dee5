"""The training loop.

Nothing here is specific to a cell, topology or task: the model maps a batch to
``(out, state)``, the task maps ``out`` and the batch to a loss and metrics. The loop adds
what every recurrent recipe needs — full or truncated BPTT, gradient clipping, schedulers,
early stopping, mixed precision on CUDA, bad-number policy, interruption, and resumable
checkpoints (position within the epoch included, so a resumed run replays bit for bit).

Its collaborators are injected: the optimizer and the scheduler come built
(:mod:`seqforge.api.build` resolves them from the registry), evaluation is
:mod:`seqforge.engine.evaluate`, early stopping :mod:`~seqforge.engine.stopping`,
checkpoint contents :mod:`~seqforge.engine.state`, signals :mod:`~seqforge.engine.interrupt`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import DataError, SpecError, TrainingDiverged
from ..recurrent import detach_state
from . import evaluate as ev
from .callbacks import Callback
from .checkpointing import Checkpointing
from .device import autocast, autocast_dtype, choose_compiled
from .distributed import World, all_reduce_sum, any_flag
from .interrupt import Interrupted, catch_signals
from .rundir import RunDir
from .state import LoopState
from .stopping import EarlyStopping
from .tbptt import chunks


@dataclass
class Schedule:
    """A built LR scheduler and when the loop steps it."""

    scheduler: Any
    interval: str = "epoch"  # or "batch"
    needs_metric: bool = False  # step(value of the monitored metric)


#: builds the schedule once the loop knows its optimizer steps per epoch
ScheduleFactory = Callable[[torch.optim.Optimizer, int], Schedule]


class Trainer(Checkpointing):
    def __init__(self, train_spec, model: torch.nn.Module, task, data, *,
                 optimizer: torch.optim.Optimizer, schedule: ScheduleFactory | None = None,
                 device: torch.device, run_dir: RunDir | None = None,
                 callbacks: list[Callback] = (), threads: int = 1, world: World | None = None,
                 seed: int = 0, name: str = "run", label: str = "",
                 record: dict[str, Any] | None = None):
        self.world = world or World()
        self.train_spec = t = train_spec
        self.name, self.label = name, label
        self.model = model.to(device)
        self.task, self.data, self.device = task, data, device
        self.run_dir = run_dir
        self.callbacks = list(callbacks)
        self.threads = threads
        self.epochs = t.epochs
        #: what every checkpoint records besides the loop (spec, data description …)
        self.record = dict(record or {})
        self.amp_dtype = autocast_dtype(t.precision, device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.stateful = bool(data.stateful)
        self.truncate = t.bptt.truncate if t.bptt != "full" else None
        self.optimizer = optimizer
        self.generator = torch.Generator().manual_seed(seed)
        if data.train is None or len(data.train) == 0:
            raise DataError("the training split is empty", source=data.source)
        if t.batch_size % self.world.size:
            raise SpecError(f"the global batch size {t.batch_size} must divide evenly over "
                            f"{self.world.size} processes", path="train.batch_size")
        # one seeded permutation for every rank; each takes its slice of each global batch
        self.train_loader = data.loader(
            "train", t.batch_size, shuffle=not self.stateful, generator=self.generator,
            num_workers=t.num_workers, pin_memory=device.type == "cuda",
            rank=self.world.rank, world=self.world.size)
        # gradients are averaged across ranks by DDP; evaluation uses the plain module
        self.train_model = self.model
        if self.world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            self.train_model = DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.val_loader = data.loader("val", t.batch_size)
        n = len(self.train_loader)
        self.batches_per_epoch = min(n, t.limit_train_batches or n)
        self.steps_per_epoch = self.batches_per_epoch * (
            math.ceil(self._seq_len() / self.truncate) if self.truncate else 1)
        self.schedule = schedule(optimizer, self.steps_per_epoch) if schedule else None
        es = t.early_stopping
        self.monitor = es.monitor if es else task.monitor
        if self.val_loader is None and self.monitor.startswith("val_"):
            self.monitor = "train_loss"  # no validation split: watch what there is
        mode = es.mode if es else "auto"
        self.maximize = (task.is_higher_better(self.monitor) if mode == "auto" else mode == "max")
        if t.select == "last":  # every epoch "improves" on the last: best.pt = the last epoch
            self.monitor, self.maximize, mode = "epoch", True, "max"
        self.stopping = EarlyStopping(self.monitor, maximize=self.maximize,
                                      patience=es.patience if es else None,
                                      min_delta=es.min_delta if es else 0.0)
        self.state = LoopState()
        self.compile_decision = "eager"
        self._interrupt = None
        #: set by a callback to end training after this epoch (a pruned tuning trial)
        self.stop_reason: str | None = None
        self._carry = None
        # the shuffle generator's state when the current epoch began (mid-epoch replay)
        self._epoch_gen_state: torch.Tensor | None = None

    # -- description ---------------------------------------------------------------------
    def _seq_len(self) -> int:
        x = self.data.train[0]["x"]
        return int(x.shape[0]) if x.dim() >= 1 else 1

    def describe(self) -> str:
        n = sum(p.numel() for p in self.model.parameters())
        threads = (f", {self.threads} thread{'s' if self.threads > 1 else ''}"
                   if self.device.type == "cpu" else "")
        return (f"{self.label}{', ' if self.label else ''}{n:,} params, "
                f"{self.batches_per_epoch} batches/epoch, {self.device}{threads}, "
                f"{self.compile_decision}")

    def emit(self, name: str, *args) -> None:
        """Tell every callback (``on_message``, ``on_epoch_end`` …)."""
        for cb in self.callbacks:
            getattr(cb, name)(self, *args)

    # -- one optimizer step ----------------------------------------------------------------
    def _forward_loss(self, batch, state):
        with autocast(self.device, self.amp_dtype):
            out, state = self.train_model(batch, state)
            loss = self.task.loss(out.float(), batch)
        return loss, state

    def _optimizer_step(self, loss: torch.Tensor, where: str) -> tuple[bool, float]:
        t = self.train_spec
        self.state.attempted += 1
        if not torch.isfinite(loss):
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
        if self.schedule is not None and self.schedule.interval == "batch":
            self.schedule.scheduler.step()
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
        batch = ev.to_device(batch, self.device, non_blocking=self.device.type == "cuda")
        state = None
        if self.stateful and self._carry is not None:
            state = self._carry if ev.batch_of(self._carry) == batch["x"].shape[0] else None
        pieces = chunks(batch, self.truncate) if self.truncate else (batch,)
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
        self.emit("on_batch_end", self.state.step, float(loss.detach()))

    def evaluate(self, loader, prefix: str) -> dict[str, float]:
        """The task's loss and metrics over a loader (see :func:`seqforge.engine.evaluate.evaluate`)."""
        return ev.evaluate(self.model, self.task, loader, self.device, prefix,
                           stateful=self.stateful, amp_dtype=self.amp_dtype)

    def _check_interrupt(self) -> None:
        flag = self._interrupt
        if self.world.distributed and any_flag(bool(flag), self.device) and flag is not None:
            flag.signum = flag.signum or 15  # a peer was signalled: stop as on SIGTERM
        if flag:
            path = self.save("last.pt")
            raise Interrupted(flag.signum, path)

    # -- the loop --------------------------------------------------------------------------
    def fit(self) -> list[dict[str, Any]]:
        t = self.train_spec
        if self.device.type == "cuda" and t.compile != "off":
            self.model, self.compile_decision = self._choose_compile()
            if not self.world.distributed:
                self.train_model = self.model
        with catch_signals(lambda text: self.emit("on_message", text)) as flag:
            self._interrupt = flag
            self.emit("on_train_start")
            stop = False
            while self.state.epoch < self.epochs and not stop:
                stop = self._run_epoch(self.state.epoch + 1)
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
        self.emit("on_epoch_start", epoch)
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
        self._check_skipped(epoch)
        row = self._epoch_row(epoch, time.perf_counter() - t0)
        value = row.get(self.monitor)
        if self.schedule is not None and self.schedule.interval == "epoch":
            if self.schedule.needs_metric:
                self.schedule.scheduler.step(value if value is not None else row["train_loss"])
            else:
                self.schedule.scheduler.step()
        improved = self.stopping.update(st, row, epoch)
        st.history.append(row)
        st.epoch = epoch
        st.batch_in_epoch = 0
        if self.run_dir is not None:
            self.run_dir.append_metrics(row)
            if improved:
                self.save("best.pt")
            self.save("last.pt")
            self._keep_epoch_checkpoints(epoch)
        self.emit("on_epoch_end", epoch, row)
        stop = self.stopping.should_stop(st) or self.stop_reason is not None
        if stop:
            self.emit("on_message", self.stop_reason or self.stopping.message(st))
        self._check_interrupt()
        return stop

    def _check_skipped(self, epoch: int) -> None:
        """nan_policy: skip must not quietly train on (almost) nothing."""
        st, limit = self.state, self.train_spec.max_skipped_fraction
        if st.skipped and st.skipped > limit * max(st.attempted, 1):
            raise TrainingDiverged(
                f"training diverged: epoch {epoch} skipped {st.skipped} of {st.attempted} "
                f"optimizer steps for NaN/inf (nan_policy: skip) — more than "
                f"train.max_skipped_fraction {limit:g}. Lower train.optimizer.lr, add "
                "train.clip_grad_norm: 1.0, or check the data for huge values.")

    def _epoch_row(self, epoch: int, seconds: float) -> dict[str, Any]:
        st = self.state
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
        row["time_s"] = seconds
        return row

    def _choose_compile(self):
        batch = ev.to_device(next(iter(self.train_loader)), self.device, non_blocking=True)

        def step(m):
            with autocast(self.device, self.amp_dtype):
                out, _ = m(batch)
                loss = self.task.loss(out.float(), batch)
            loss.backward()
            self.optimizer.zero_grad(set_to_none=True)

        return choose_compiled(self.model, step, self.train_spec.compile, self.device)
