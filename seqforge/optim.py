"""Optimizer and LR-scheduler factories (registered by name, parameters typed).

A factory is a class with ``Params`` and ``build``; seqforge calls
``Factory.build(model_parameters, params)`` / ``Factory.build(optimizer, params, total_steps,
steps_per_epoch)``. Schedulers say whether they step per batch or per epoch and whether
they need the monitored metric (reduce-on-plateau).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator


class OptParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr: float = Field(1e-3, gt=0, le=100)
    weight_decay: float = Field(0.0, ge=0)


class OptimizerFactory:
    Params: ClassVar[type[OptParams]] = OptParams

    @classmethod
    def build(cls, parameters, params) -> torch.optim.Optimizer:  # pragma: no cover
        raise NotImplementedError


class SGD(OptimizerFactory):
    """Stochastic gradient descent with optional (Nesterov) momentum."""

    class Params(OptParams):
        lr: float = Field(0.1, gt=0, le=100)
        momentum: float = Field(0.0, ge=0, lt=1)
        nesterov: bool = False

    @classmethod
    def build(cls, parameters, p):
        return torch.optim.SGD(parameters, lr=p.lr, momentum=p.momentum, nesterov=p.nesterov,
                               weight_decay=p.weight_decay)


class Adam(OptimizerFactory):
    """Adam (Kingma & Ba 2015)."""

    class Params(OptParams):
        betas: tuple[float, float] = (0.9, 0.999)
        eps: float = Field(1e-8, gt=0)

    @classmethod
    def build(cls, parameters, p):
        return torch.optim.Adam(parameters, lr=p.lr, betas=p.betas, eps=p.eps,
                                weight_decay=p.weight_decay)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

    class Params(Adam.Params):
        weight_decay: float = Field(0.01, ge=0)

    @classmethod
    def build(cls, parameters, p):
        return torch.optim.AdamW(parameters, lr=p.lr, betas=p.betas, eps=p.eps,
                                 weight_decay=p.weight_decay)


class RMSprop(OptimizerFactory):
    """RMSprop (Hinton), the classic choice for recurrent networks."""

    class Params(OptParams):
        alpha: float = Field(0.99, gt=0, lt=1)
        momentum: float = Field(0.0, ge=0, lt=1)

    @classmethod
    def build(cls, parameters, p):
        return torch.optim.RMSprop(parameters, lr=p.lr, alpha=p.alpha, momentum=p.momentum,
                                   weight_decay=p.weight_decay)


# -- schedulers --------------------------------------------------------------------------
class SchedParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SchedulerFactory:
    Params: ClassVar[type[SchedParams]] = SchedParams
    #: "epoch" or "batch": when the engine calls scheduler.step()
    interval: ClassVar[str] = "epoch"
    #: True when step() takes the monitored validation metric
    needs_metric: ClassVar[bool] = False

    @classmethod
    def build(cls, optimizer, params, *, epochs: int, steps_per_epoch: int):  # pragma: no cover
        raise NotImplementedError


class StepLR(SchedulerFactory):
    """Multiply the LR by ``gamma`` every ``step_size`` epochs."""

    class Params(SchedParams):
        step_size: int = Field(10, ge=1)
        gamma: float = Field(0.5, gt=0, le=1)

    @classmethod
    def build(cls, optimizer, p, *, epochs, steps_per_epoch):
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=p.step_size, gamma=p.gamma)


class Cosine(SchedulerFactory):
    """Cosine annealing to ``min_lr`` over the whole run, stepped per batch."""

    interval = "batch"

    class Params(SchedParams):
        min_lr: float = Field(0.0, ge=0)
        warmup_steps: int = Field(0, ge=0)

    @classmethod
    def build(cls, optimizer, p, *, epochs, steps_per_epoch):
        total = max(1, epochs * steps_per_epoch)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(1, total - p.warmup_steps), eta_min=p.min_lr)
        if not p.warmup_steps:
            return cosine
        warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1e-3,
                                                 total_iters=p.warmup_steps)
        return torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, cosine],
                                                     milestones=[p.warmup_steps])


class Warmup(SchedulerFactory):
    """Linear learning-rate warm-up from ``start_factor``·lr to lr over ``warmup_steps``
    optimizer steps (or ``warmup_epochs`` epochs), then constant — the warm-up Adam-trained
    recurrent/conv nets often need on tiny training sets, where the first steps' noisy
    moments otherwise kick the weights far off. (``cosine`` has its own ``warmup_steps``.)"""

    interval = "batch"

    class Params(SchedParams):
        warmup_steps: int = Field(0, ge=0)
        warmup_epochs: int = Field(0, ge=0)
        start_factor: float = Field(0.01, gt=0, le=1)

        @model_validator(mode="after")
        def _one(self):
            if self.warmup_steps and self.warmup_epochs:
                raise ValueError("give warmup_steps or warmup_epochs, not both")
            return self

    @classmethod
    def build(cls, optimizer, p, *, epochs, steps_per_epoch):
        n = max(1, p.warmup_steps or p.warmup_epochs * steps_per_epoch)
        f0 = p.start_factor
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: f0 + (1.0 - f0) * min(1.0, step / n))


class ReduceOnPlateau(SchedulerFactory):
    """Cut the LR by ``factor`` when the monitored metric stops improving."""

    needs_metric = True

    class Params(SchedParams):
        factor: float = Field(0.5, gt=0, lt=1)
        patience: int = Field(3, ge=0)
        mode: Literal["min", "max"] = "min"
        min_lr: float = Field(0.0, ge=0)

    @classmethod
    def build(cls, optimizer, p, *, epochs, steps_per_epoch):
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=p.mode, factor=p.factor, patience=p.patience, min_lr=p.min_lr)
