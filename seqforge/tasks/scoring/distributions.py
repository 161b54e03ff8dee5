"""Probabilistic forecast heads: pinball loss for quantiles, a Gaussian and a Student-t
likelihood — losses on model outputs and the quantiles they imply.

Outputs are laid out (B, Hz, P, T): P per target step = Q quantiles, 2 Gaussian
parameters (mean, raw scale) or 3 Student-t ones (location, raw scale, raw degrees of
freedom). The raw scale goes through softplus (+1e-4) so it is always positive; the
degrees of freedom are 2 + softplus(raw), so the variance stays finite (heavy tails,
not infinite ones — as DeepAR's and GluonTS' Student-t outputs).
"""

from __future__ import annotations

import math

import numpy as np
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


def _t_params(out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    loc, scale = _params(out)
    return loc, scale, 2.0 + F.softplus(out[:, :, 2])  # (B, Hz, T) each


def _t_log_norm(df: Tensor) -> Tensor:
    """log of the standard Student-t density's constant Γ((ν+1)/2) / (Γ(ν/2) √(νπ))."""
    return torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(df * math.pi)


def student_t_nll(out: Tensor, y: Tensor) -> Tensor:
    """Mean Student-t negative log-likelihood of y (B, Hz, T) under the head (B, Hz, 3, T)."""
    loc, scale, df = _t_params(out)
    z = (y - loc) / scale
    return (-_t_log_norm(df) + torch.log(scale) + (df + 1) / 2 * torch.log1p(z ** 2 / df)).mean()


#: Gauss–Legendre rule on [0, 1] for the Student-t CDF: the density is smooth, so 48
#: nodes integrate it to ~1e-12 over the |t| < 50 that quantiles in (0.001, 0.999) reach
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(48)


def _t_pdf(x: Tensor, df: Tensor) -> Tensor:
    return torch.exp(_t_log_norm(df) - (df + 1) / 2 * torch.log1p(x ** 2 / df))


def _t_cdf(x: Tensor, df: Tensor) -> Tensor:
    """P(T ≤ x) = 1/2 + ∫₀ˣ pdf, elementwise (x and df broadcast to one shape)."""
    u = torch.as_tensor((_NODES + 1) / 2, dtype=x.dtype, device=x.device)  # (N,)
    w = torch.as_tensor(_WEIGHTS / 2, dtype=x.dtype, device=x.device)  # (N,)
    return 0.5 + x * (w * _t_pdf(x.unsqueeze(-1) * u, df.unsqueeze(-1))).sum(-1)


def t_quantile(q: Tensor, df: Tensor, iters: int = 30) -> Tensor:
    """Standard Student-t quantiles (elementwise; torch has no t inverse CDF): Newton's
    method on the CDF from the normal quantile. In a tail the CDF is concave (right) or
    convex (left), so from the normal start — nearer the centre than the t quantile —
    every step stays on the same side and the iteration converges monotonically."""
    q, df = torch.broadcast_tensors(q.double(), df.double())
    x = torch.special.ndtri(q)
    for _ in range(iters):
        x = x - (_t_cdf(x, df) - q) / _t_pdf(x, df)
    return x


def student_t_quantiles(out: Tensor, quantiles: list[float]) -> Tensor:
    """(B, Hz, Q, T) quantiles of the head's Student-t (B, Hz, 3, T)."""
    loc, scale, df = _t_params(out)
    q = torch.tensor(quantiles, dtype=torch.float64, device=out.device).view(1, 1, -1, 1)
    z = t_quantile(q, df.detach().unsqueeze(2)).to(out.dtype)  # (B, Hz, Q, T)
    return loc.unsqueeze(2) + scale.unsqueeze(2) * z


__all__ = ["pinball_loss", "nll", "head_quantiles", "student_t_nll", "student_t_quantiles",
           "t_quantile", "DEFAULT_QUANTILES"]
