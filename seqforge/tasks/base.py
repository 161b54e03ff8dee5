"""The task contract.

A task turns model outputs into a loss, metrics and predictions, and — so users can see
at once whether the network learned anything — computes a *baseline* with the same
metric names without any model (persistence, majority class, unigram …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor

from ..data.base import DataBundle, DataInfo


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Metrics:
    """Accumulates over batches; ``compute()`` gives ``{name: float}``.

    The engine tracks the loss itself; tasks add what users read (accuracy, RMSE …).
    """

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        pass

    def compute(self) -> dict[str, float]:
        return {}


@dataclass
class ArtifactContext:
    """What a task gets to write its plots and prediction files."""

    run_dir: Path
    model: torch.nn.Module
    bundle: DataBundle
    device: torch.device
    history: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)


class Task:
    """Base class of registered tasks."""

    Params: ClassVar[type[TaskParams]] = TaskParams
    #: topology outputs this task can learn from ("vector", "sequence", "aligned_sequence")
    outputs: ClassVar[tuple[str, ...]] = ("vector",)
    #: metric early stopping and ``best.pt`` watch unless the spec says otherwise
    monitor: ClassVar[str] = "val_loss"
    #: metric names where higher is better (the rest: lower is better)
    higher_is_better: ClassVar[frozenset[str]] = frozenset(
        {"accuracy", "macro_f1", "f1", "precision", "recall", "exact_match", "token_accuracy"})

    def __init__(self, params: TaskParams | None, bundle: DataBundle):
        self.params = params if params is not None else self.Params()
        self.bundle = bundle
        self.info: DataInfo = bundle.info

    def bind_model(self, model: torch.nn.Module) -> None:
        """The engine hands the model over, for metrics that must run it again
        (recursive forecasts, generation-based metrics)."""
        self._model = model

    def output_size(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def batch_weight(self, batch: dict[str, Any]) -> int:
        """How many examples (or tokens) this batch's mean loss averages over."""
        return int(batch["x"].shape[0])

    def new_metrics(self) -> Metrics:
        return Metrics()

    def baseline(self, split: str = "test") -> dict[str, float]:
        """Metrics of a model-free baseline on ``split`` (same names as new_metrics)."""
        return {}

    def baseline_name(self) -> str:
        return "baseline"

    def predict(self, model: torch.nn.Module, batch: dict[str, Any]) -> list[dict[str, Any]]:
        """Human-level predictions for a batch: one row (column → value) per example."""
        with torch.no_grad():
            out, _ = model(batch)
        return [{"prediction": v} for v in out.detach().cpu().tolist()]

    def artifacts(self, ctx: ArtifactContext) -> list[Path]:
        """Write plots / prediction files into ``ctx.run_dir``; return their paths."""
        return []

    @classmethod
    def is_higher_better(cls, metric: str) -> bool:
        base = metric.split("_", 1)[1] if metric.startswith(("val_", "test_", "train_")) else metric
        return base in cls.higher_is_better
