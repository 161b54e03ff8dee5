"""``lion`` optimizer (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms").

update = sign(β₁·m + (1−β₁)·g);  θ ← θ − lr·(update + λ·θ);  m ← β₂·m + (1−β₂)·g.
Only the sign of the interpolated momentum is used, so every weight moves by exactly lr
per step: use a learning rate 3–10× smaller than Adam's.
"""

from __future__ import annotations

import torch
from pydantic import Field

from seqforge.optim import OptimizerFactory, OptParams


class LionOptimizer(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 1e-4, betas=(0.9, 0.99), weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                p.mul_(1 - group["lr"] * group["weight_decay"])  # decoupled weight decay
                update = (m * b1 + p.grad * (1 - b1)).sign_()
                p.add_(update, alpha=-group["lr"])
                m.mul_(b2).add_(p.grad, alpha=1 - b2)
        return loss


class Lion(OptimizerFactory):
    """Lion: sign of interpolated momentum (Chen et al. 2023)."""

    class Params(OptParams):
        lr: float = Field(1e-4, gt=0, le=1)
        betas: tuple[float, float] = (0.9, 0.99)

    @classmethod
    def build(cls, parameters, p):
        return LionOptimizer(parameters, lr=p.lr, betas=p.betas, weight_decay=p.weight_decay)
