"""The typed spec.

Sections are pydantic models with ``extra="forbid"``, so an unknown key is an error.
Component parameters (a dataset's ``source``, a cell's ``nonlinearity``, an optimizer's
``lr`` …) are validated against the ``Params`` model the component registered, and kept
here as those model instances (see :mod:`seqforge.spec.validate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .context import mark_of
from .diagnostics import Diagnostics
from .loader import Mark
from .loggers import LoggerSpec, parse_logger


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class Component(Strict):
    """A registered name plus its validated parameters."""

    name: str
    params: Any = None  # the component's Params instance (a pydantic model)

    def params_dict(self) -> dict[str, Any]:
        return self.params.model_dump(mode="json") if self.params is not None else {}


class EarlyStopping(Strict):
    monitor: str = Field("val_loss", description="metric to watch, e.g. val_loss, val_accuracy")
    patience: int = Field(10, ge=1, description="epochs without improvement before stopping")
    mode: Literal["auto", "min", "max"] = Field(
        "auto", description="auto: max for accuracy/f1/exact_match-like metrics, else min")
    min_delta: float = Field(0.0, ge=0)

    @field_validator("monitor")
    @classmethod
    def _not_test(cls, v: str) -> str:
        if v.startswith("test_"):
            raise ValueError(f"{v!r} would choose the best epoch on the test data, which must "
                             "be scored once, at the end — monitor a val_ metric (e.g. "
                             f"{'val_' + v[5:]!r}) or train_loss")
        return v


class Truncated(Strict):
    truncate: int = Field(..., ge=1, description="BPTT chunk length in steps; state carried across chunks")


class Checkpointing(Strict):
    every_n_steps: int | None = Field(None, ge=1, description="also write last.pt every N optimizer steps")
    keep: int = Field(1, ge=1, description="how many epoch checkpoints to keep besides last/best")


class TrainSpec(Strict):
    epochs: int = Field(10, ge=1, le=1_000_000)
    batch_size: int = Field(32, ge=1, le=1_000_000)
    optimizer: Component = Field(default_factory=lambda: Component(name="adam"))
    scheduler: Component | None = None
    clip_grad_norm: float | None = Field(None, gt=0)
    clip_grad_value: float | None = Field(None, gt=0)
    bptt: Literal["full"] | Truncated = "full"
    early_stopping: EarlyStopping | None = None
    select: Literal["auto", "last"] = Field(
        "auto", description="which epoch's weights the run keeps (best.pt): auto = best by "
        "the monitored metric (early_stopping.monitor, else the task's, e.g. val_loss) — "
        "without validation data by train_loss; last = the last epoch's")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16 autocast on CUDA when supported, fp32 on CPU")
    compile: Literal["off", "on", "auto"] = Field(
        "auto", description="torch.compile policy; auto compiles only where it was measured faster")
    threads: Literal["auto"] | int = Field(
        "auto", description="CPU threads; auto picks by model size (see engine/device.py)")
    checkpoint: Checkpointing = Field(default_factory=Checkpointing)
    nan_policy: Literal["stop", "skip"] = "stop"
    max_skipped_fraction: float = Field(
        0.5, ge=0, le=1, description="nan_policy: skip stops the run (exit 3) when an epoch "
                                     "skips more than this share of its batches")
    limit_train_batches: int | None = Field(None, ge=1, description="cap batches per epoch (smoke tests)")
    num_workers: int = Field(0, ge=0, le=64)
    loggers: list[Any] = Field(default_factory=list,
                               description="csv, tensorboard, mlflow (see spec/loggers.py)")

    @field_validator("loggers")
    @classmethod
    def _loggers(cls, v: list[Any]) -> list[LoggerSpec]:
        return [parse_logger(x) for x in v]
    diagnostics: Diagnostics = Field(
        default_factory=list, description="what to record about training besides metrics: "
        "gradient_flow (‖∂L/∂h_t‖ over time steps, per layer, at chosen epochs)")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        v = v.strip()
        if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError("expected auto, cpu, cuda or cuda:N")

    @field_validator("threads")
    @classmethod
    def _threads(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError("threads must be >= 1 or 'auto'")
        return v


class ModelSpec(Strict):
    topology: Component
    cell: Component
    hidden_size: int = Field(64, ge=1, le=65_536)
    num_layers: int = Field(1, ge=1, le=64)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout between stacked layers")
    bidirectional: bool = False
    embedding: int | None = Field(
        None, ge=1, le=65_536, description="embedding size for token inputs; null = one-hot")
    init: Literal["default", "xavier", "orthogonal"] = "default"
    forget_bias: float | None = Field(None, description="forget-gate bias for cells that have one")


class DataSpec(Strict):
    dataset: Component


#: keys of the model section that belong to seqforge itself (the rest: topology params)
MODEL_KEYS = tuple(k for k in ModelSpec.model_fields if k != "topology")


class Spec(Strict):
    name: str = Field(..., min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    data: DataSpec
    model: ModelSpec
    task: Component
    train: TrainSpec = Field(default_factory=TrainSpec)
    #: directory relative paths in the spec resolve against (the spec file's folder)
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    #: where the spec came from, for messages
    file: str | None = Field(None, exclude=True)
    #: where every key path was written (a Mark: file and line; a composed spec's keys
    #: come from several files), so later (data) errors can point into the spec
    marks: dict = Field(default_factory=dict, exclude=True)
    #: key paths set by overrides (``--set``) → the override as typed
    overrides: dict = Field(default_factory=dict, exclude=True)
    #: the ``tune:`` section (a :class:`~seqforge.spec.tune.TuneSpec`), for seqforge tune
    tune: Any = Field(None, exclude=True)

    def line_of(self, *path: str) -> int | None:
        """The line ``path`` was written at (in :meth:`mark_of`'s file), or None."""
        mark = self.marks.get(tuple(path))
        return mark.line if mark is not None else None

    def mark_of(self, *path: str) -> Mark | None:
        """Where ``path`` — or, when not written, its nearest enclosing key — was written:
        a ``Mark(file, line)``; None when it (or a key enclosing it) came from an override."""
        return mark_of(self.marks, self.overrides, tuple(path))

    def resolved(self) -> dict[str, Any]:
        """The spec as plain data with every default filled in (``spec.resolved.yaml``)."""
        data = {"dataset": self.data.dataset.name, **self.data.dataset.params_dict()}
        m = self.model
        model = {"topology": m.topology.name, **m.topology.params_dict()}
        cell_params = m.cell.params_dict()
        model["cell"] = {"name": m.cell.name, **cell_params} if cell_params else m.cell.name
        for key in MODEL_KEYS:
            if key != "cell":
                model[key] = getattr(m, key)
        train = self.train.model_dump(mode="json", exclude={"optimizer", "scheduler"})
        train["optimizer"] = {"name": self.train.optimizer.name,
                              **self.train.optimizer.params_dict()}
        train["scheduler"] = (None if self.train.scheduler is None else
                              {"name": self.train.scheduler.name,
                               **self.train.scheduler.params_dict()})
        task_params = self.task.params_dict()
        task = {"name": self.task.name, **task_params} if task_params else self.task.name
        return {"name": self.name, "seed": self.seed, "data": data, "model": model,
                "task": task, "train": train}
