"""Probabilistic forecast heads: pinball loss for quantiles and a Gaussian likelihood —
losses on model outputs and the quantiles they imply.

Outputs are laid out (B, Hz, P, T): P per target step = Q quantiles, or 2 Gaussian
parameters (mean, raw scale). The raw scale goes through softplus (+1e-4) so it is
always positive.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

#: the quantiles a likelihood head reports when task.quantiles is not given
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def pinball_loss(q_pred: Tensor, y: Tensor, quantiles: Tensor) -> Tensor:
    """Mean pinball loss of (B, Hz, Q, T) quantile forecasts against y (B, Hz, T)."""
    diff = y.unsqueeze(2) - q_pred
    q = quantiles.view(1, 1, -1, 1)
    return torch.maximum(q * diff, (q - 1) * diff).mean()


def _params(out: Tensor) -> tuple[Tensor, Tensor]:
    return out[:, :, 0], F.softplus(out[:, :, 1]) + 1e-4  # (B, Hz, T) each


def nll(out: Tensor, y: Tensor) -> Tensor:
    """Mean Gaussian negative log-likelihood of y (B, Hz, T) under the head (B, Hz, 2, T)."""
    loc, scale = _params(out)
    z = (y - loc) / scale
    return (0.5 * z ** 2 + torch.log(scale) + 0.5 * math.log(2 * math.pi)).mean()


def head_quantiles(out: Tensor, quantiles: list[float]) -> Tensor:
    """(B, Hz, Q, T) quantiles of the head's Gaussian (B, Hz, 2, T)."""
    loc, scale = _params(out)
    q = torch.tensor(quantiles, dtype=out.dtype, device=out.device).view(1, 1, -1, 1)
    return loc.unsqueeze(2) + scale.unsqueeze(2) * torch.special.ndtri(q)


__all__ = ["pinball_loss", "nll", "head_quantiles", "DEFAULT_QUANTILES"]
