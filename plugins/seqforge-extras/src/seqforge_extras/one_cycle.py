"""``one_cycle`` LR schedule (Smith & Topin 2019): warm up to ``max_lr``, anneal far below.

Stepped per batch over the whole run, so it needs the epoch count and batches per epoch
that seqforge passes to every scheduler factory.
"""

from __future__ import annotations

import torch
from pydantic import Field

from seqforge.optim import SchedParams, SchedulerFactory


class OneCycle(SchedulerFactory):
    """One-cycle policy: up to max_lr, then cosine down (per batch)."""

    interval = "batch"

    class Params(SchedParams):
        max_lr: float = Field(1e-2, gt=0, le=10)
        pct_start: float = Field(0.3, gt=0, lt=1, description="fraction of steps warming up")

    @classmethod
    def build(cls, optimizer, p, *, epochs, steps_per_epoch):
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=p.max_lr, epochs=epochs, steps_per_epoch=max(1, steps_per_epoch),
            pct_start=p.pct_start, cycle_momentum=False)
