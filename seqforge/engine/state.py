"""Where training is, and the checkpoint payload that lets it continue bit for bit.

A checkpoint holds the weights, the optimizer, scheduler and grad-scaler states, the
loop position (:class:`LoopState`, mid-epoch included), every RNG, the shuffle
generator, the carried recurrent state, and what makes the run directory stand alone:
the resolved spec, the data description (``DataInfo`` with its fitted transforms) and
the task's fitted state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import RunDirError

CHECKPOINT_FORMAT = "seqforge-checkpoint/2"


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
    skipped: int = 0  # optimizer steps skipped this epoch (nan_policy: skip)
    attempted: int = 0  # optimizer steps attempted this epoch
    history: list[dict[str, Any]] = field(default_factory=list)

    def reset_epoch(self) -> None:
        self.batch_in_epoch = 0
        self.loss_sum = self.grad_norm_sum = self.grad_norm_max = 0.0
        self.loss_weight = self.grad_norm_count = self.skipped = self.attempted = 0


def loop_state(saved: Any, path) -> LoopState:
    """A checkpoint's ``loop`` entry as a LoopState; a RunDirError naming what is wrong."""
    fields = {f.name: f.type for f in LoopState.__dataclass_fields__.values()}
    unknown = sorted(set(saved) - set(fields)) if isinstance(saved, dict) else []
    if not isinstance(saved, dict) or unknown:
        raise RunDirError(f"{path}: the checkpoint's 'loop' entry is malformed"
                          + (f" (unknown {unknown[0]!r})" if unknown else ""))
    state = LoopState(**saved)
    ints = ("epoch", "step", "batch_in_epoch", "best_epoch", "bad_epochs")
    if (any(not isinstance(getattr(state, k), int) or getattr(state, k) < 0 for k in ints)
            or not isinstance(state.history, list)):
        raise RunDirError(f"{path}: the checkpoint's 'loop' entry holds impossible values")
    return state


def rng_state() -> dict[str, Any]:
    """Every global RNG (torch, CUDA, numpy, Python) as checkpoint-safe data."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }


def set_rng_state(s: dict[str, Any]) -> None:
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


def state_to(state, device: torch.device):
    """A (nested) recurrent state moved to ``device``."""
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, (list, tuple)):
        return type(state)(state_to(s, device) for s in state)
    return state


__all__ = ["CHECKPOINT_FORMAT", "LoopState", "rng_state", "set_rng_state", "seed_everything",
           "state_to"]
