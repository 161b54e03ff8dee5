"""The task contract.

A task turns model outputs into a loss, metrics and predictions, and — so users can see
at once whether the network learned anything — computes a *baseline* with the same
metric names without any model (persistence, majority class, unigram …).

What a task reads of the data is declared, not discovered: ``requires`` lists the
:mod:`facets <seqforge.data.facets>` it needs from ``DataInfo`` (checked against the
dataset's ``facets`` when a spec is validated) and ``model_protocols`` what it needs the
model to do besides ``forward`` (checked against the topology's ``implements``).

A task is built from its params and the :class:`~seqforge.data.info.DataInfo` alone, so a
run directory rebuilds it without the training data. Whatever it learns from the
training split for its baseline (a majority class, a decoding rule, a threshold) it keeps
in :meth:`Task.state_dict`, saved with every checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor
from torch.utils.data import Dataset

from ..data.base import DataBundle
from ..data.info import DataInfo, Facet
from ..errors import SpecError
from ..kinds import Shape

Batch = dict[str, Any]


class TaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Metrics:
    """Accumulates over batches; ``compute()`` gives ``{name: float}``.

    The engine tracks the loss itself; tasks add what users read (accuracy, RMSE …).
    """

    def update(self, out: Tensor, batch: Batch) -> None:
        pass

    def compute(self) -> dict[str, float]:
        return {}


class ModelPasses(Protocol):
    """The engine's one evaluation path, as tasks see it (see :mod:`seqforge.engine.evaluate`).

    Batches come on the model's device; tasks never move tensors themselves.
    """

    device: torch.device

    def batches(self, data: Dataset, batch_size: int = 256) -> Iterator[Batch]:
        """The items of ``data`` in order, collated and moved to the device."""

    def outputs(self, data: Dataset, batch_size: int = 256) -> Iterator[tuple[Batch, Tensor]]:
        """(batch, model output) for the items of ``data``, in eval mode, without grad."""


@dataclass
class ArtifactContext:
    """What a task gets to write its plots and prediction files."""

    run_dir: Path
    model: torch.nn.Module
    data: DataBundle
    passes: ModelPasses
    history: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return self.passes.device

    def split(self) -> tuple[str, Dataset | None]:
        """The split artifacts describe: test, or val when there is no test split."""
        if self.data.test is not None and len(self.data.test):
            return "test", self.data.test
        return "val", self.data.val


class Task:
    """Base class of registered tasks."""

    Params: ClassVar[type[TaskParams]] = TaskParams
    #: topology outputs this task can learn from
    outputs: ClassVar[tuple[Shape, ...]] = (Shape.VECTOR,)
    #: facets the dataset's DataInfo must carry
    requires: ClassVar[tuple[type[Facet], ...]] = ()
    #: protocols the built model must implement (see seqforge.topologies.protocols)
    model_protocols: ClassVar[tuple[type, ...]] = ()
    #: metric early stopping and ``best.pt`` watch unless the spec says otherwise
    monitor: ClassVar[str] = "val_loss"
    #: metric names where higher is better (the rest: lower is better)
    higher_is_better: ClassVar[frozenset[str]] = frozenset(
        {"accuracy", "macro_f1", "f1", "precision", "recall", "exact_match", "token_accuracy"})

    def __init__(self, params: TaskParams | None, info: DataInfo):
        self.params = params if params is not None else self.Params()
        self.info = info

    def check_model(self, model: torch.nn.Module) -> None:
        """Refuse a model that lacks a protocol this task needs (a SpecError)."""
        for proto in self.model_protocols:
            if not isinstance(model, proto):
                raise SpecError(f"this task needs a model implementing {proto.__name__} "
                                f"({(proto.__doc__ or '').strip().splitlines()[0]}); the "
                                "topology's models do not", path="model.topology")

    # -- learning from the training split --------------------------------------------------
    def fit(self, train: Dataset) -> None:
        """Learn what the baseline (or the loss) needs from the training split."""

    def calibrate(self, outputs: Iterable[tuple[Batch, Tensor]]) -> None:
        """After training: tune post-hoc parameters (thresholds …) on validation outputs."""

    def state_dict(self) -> dict[str, Any]:
        """What :meth:`fit` and :meth:`calibrate` learnt: tensors and plain data, saved in
        every checkpoint (loaded with ``weights_only=True``)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    # -- training --------------------------------------------------------------------------
    def output_size(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def loss(self, out: Tensor, batch: Batch) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def batch_weight(self, batch: Batch) -> int:
        """How many examples (or tokens) this batch's mean loss averages over."""
        return int(batch["x"].shape[0])

    def new_metrics(self, model: torch.nn.Module) -> Metrics:
        """A fresh accumulator; ``model`` is given for metrics that must run it again
        (recursive forecasts, free-running decoding)."""
        return Metrics()

    # -- baseline --------------------------------------------------------------------------
    def baseline(self, data: Dataset) -> dict[str, float]:
        """Metrics of a model-free baseline on ``data`` (same names as new_metrics)."""
        return {}

    def baseline_name(self) -> str:
        return "baseline"

    #: the metric that ranks baselines (None: the first baseline is the one reported)
    headline: ClassVar[str | None] = None

    def baselines(self, data: Dataset) -> list[dict[str, Any]]:
        """Every model-free baseline on ``data``: ``[{"name": …, **metrics}, …]``. Tasks
        with several override this; the default is the one :meth:`baseline`."""
        return [{"name": self.baseline_name(), **self.baseline(data)}]

    def strongest(self, baselines: list[dict[str, Any]]) -> dict[str, Any]:
        """The best of ``baselines`` by :attr:`headline` (the summary's ``baseline``)."""
        scored = [b for b in baselines if isinstance(b.get(self.headline or ""), (int, float))]
        if not scored:
            return baselines[0] if baselines else {}
        sign = 1.0 if self.is_higher_better(self.headline) else -1.0
        return max(scored, key=lambda b: sign * b[self.headline])  # first of equals wins

    # -- predictions -----------------------------------------------------------------------
    def predict(self, model: torch.nn.Module, batch: Batch) -> list[dict[str, Any]]:
        """Human-level predictions for a batch: one row (column → value) per example."""
        out, _ = model(batch)
        return [{"prediction": v} for v in out.detach().cpu().tolist()]

    def artifacts(self, ctx: ArtifactContext) -> list[Path]:
        """Write plots / prediction files into ``ctx.run_dir``; return their paths."""
        return []

    @classmethod
    def is_higher_better(cls, metric: str) -> bool:
        base = metric.split("_", 1)[1] if metric.startswith(("val_", "test_", "train_")) else metric
        return base in cls.higher_is_better
