"""The one evaluation and prediction path.

Everything that runs a model without training — validation each epoch, the test split,
``Run.evaluate``/``Run.predict``, the CLI, and every task's artifacts — goes through
here: :func:`to_device` is the only place a batch moves to a device, :func:`outputs` the
only no-grad forward loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from .device import autocast

Batch = dict[str, Any]

#: batch keys that stay on the CPU: packed-sequence kernels read lengths from host memory
HOST_KEYS = frozenset({"lengths", "y_lengths"})


def to_device(batch: Batch, device: torch.device, *, non_blocking: bool = False) -> Batch:
    """The batch with its tensors on ``device`` (lengths stay on the CPU; strings stay)."""
    return {k: (v.to(device, non_blocking=non_blocking)
                if isinstance(v, torch.Tensor) and k not in HOST_KEYS else v)
            for k, v in batch.items()}


@contextmanager
def eval_mode(model: torch.nn.Module):
    """Eval mode and no autograd inside; the model's own mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def batch_of(state) -> int | None:
    """Batch size of a (nested) recurrent state, to know if it can be carried on."""
    if isinstance(state, torch.Tensor):
        return state.shape[0]
    if isinstance(state, (list, tuple)) and state:
        return batch_of(state[0])
    return None


def outputs(model: torch.nn.Module, batches: Iterable[Batch], device: torch.device, *,
            stateful: bool = False, amp_dtype: torch.dtype | None = None
            ) -> Iterator[tuple[Batch, torch.Tensor]]:
    """(batch on device, float output) for every batch, in eval mode, without grad.

    ``stateful``: consecutive batches continue the same sequences (token streams), so the
    recurrent state carries from one to the next while the batch size stays the same.
    """
    carry = None
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            batch = to_device(batch, device)
            state = carry if (stateful and carry is not None
                              and batch_of(carry) == batch["x"].shape[0]) else None
            # no_grad per batch, not around the yield: a consumer that stops early must
            # not leave autograd switched off behind it
            with torch.no_grad(), autocast(device, amp_dtype):
                out, state = model(batch, state)
            carry = state if stateful else None
            yield batch, out.float()
    finally:
        model.train(was_training)


def evaluate(model: torch.nn.Module, task, loader: Iterable[Batch] | None, device: torch.device,
             prefix: str, *, stateful: bool = False,
             amp_dtype: torch.dtype | None = None) -> dict[str, float]:
    """``{prefix_loss, prefix_<metric>…}`` of the model over the loader's batches."""
    if loader is None:
        return {}
    metrics = task.new_metrics(model)
    total, weight = 0.0, 0
    for batch, out in outputs(model, loader, device, stateful=stateful, amp_dtype=amp_dtype):
        with eval_mode(model):  # metrics may run the model again (free-running decoding)
            loss = task.loss(out, batch)
            w = task.batch_weight(batch)
            total += float(loss) * w
            weight += w
            metrics.update(out, batch)
    row = {f"{prefix}_loss": total / max(weight, 1)}
    row.update({f"{prefix}_{k}": v for k, v in metrics.compute().items()})
    return row


def predict(model: torch.nn.Module, task, batches: Iterable[Batch],
            device: torch.device) -> list[dict[str, Any]]:
    """The task's prediction rows for every batch."""
    rows: list[dict[str, Any]] = []
    with eval_mode(model):
        for batch in batches:
            rows.extend(task.predict(model, to_device(batch, device)))
    return rows


def item_batches(items: Dataset | list, collate: Callable[[list], Batch],
                 batch_size: int = 256) -> Iterator[Batch]:
    """Items (a dataset or a list) in order, collated into batches."""
    yield from DataLoader(items, batch_size=batch_size, shuffle=False, collate_fn=collate)


class Passes:
    """The evaluation path bound to one model and device, as tasks' artifacts use it
    (implements :class:`seqforge.tasks.base.ModelPasses`)."""

    def __init__(self, model: torch.nn.Module, device: torch.device,
                 collate: Callable[[list], Batch]):
        self.model, self.device, self.collate = model, device, collate

    def batches(self, data: Dataset, batch_size: int = 256) -> Iterator[Batch]:
        for batch in item_batches(data, self.collate, batch_size):
            yield to_device(batch, self.device)

    def outputs(self, data: Dataset, batch_size: int = 256) -> Iterator[tuple[Batch, torch.Tensor]]:
        return outputs(self.model, item_batches(data, self.collate, batch_size), self.device)


__all__ = ["to_device", "eval_mode", "outputs", "evaluate", "predict", "item_batches", "Passes"]
