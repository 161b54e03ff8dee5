"""Truncated backpropagation through time: cutting a batch along time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch


def chunks(batch: dict[str, Any], k: int) -> Iterator[dict[str, Any]]:
    """Split a batch along time into truncated-BPTT chunks of ``k`` steps.

    ``x`` and ``y`` (when they have a time axis) are sliced; ``lengths`` / ``y_lengths``
    become the steps of each chunk that are real (0 once a row has ended).
    """
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


__all__ = ["chunks"]
