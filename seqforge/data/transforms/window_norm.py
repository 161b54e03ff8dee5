"""Per-window normalisation (RevIN-style): each window scaled by its own statistics.

A model fed globally scaled levels sees test windows outside anything it trained on when
a series trends (a stock in a new price range); a model fed each window relative to its
own statistics does not. The statistics come from the *input* window only, so nothing of
the future leaks, and the forecast is restored with the same numbers:

* ``none``     — loc 0, scale 1;
* ``last``     — loc = the window's last value (inputs and targets become changes from it);
* ``mean``     — loc = the window's mean;
* ``standard`` — loc = mean, scale = standard deviation (Kim et al. 2022, "Reversible
  instance normalization for accurate time-series forecasting", without the affine part).

``residual`` targets: the target loc is the last value whatever the mode, so the model
predicts the change from the last observation (in window-scaled units).

Torch tensors throughout: the dataset normalises windows with it, and a recursive
forecast re-normalises each slid window the same way.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

WindowNorm = Literal["none", "last", "mean", "standard"]
#: variance floor for ``standard`` (in globally scaled units), as in RevIN
EPS = 1e-5


def window_stats(x: Tensor, mode: str) -> tuple[Tensor, Tensor]:
    """(loc, scale), each (B, C), of windows ``x`` (B, W, C)."""
    if mode == "none":
        zeros = x.new_zeros(x.shape[0], x.shape[2])
        return zeros, torch.ones_like(zeros)
    if mode == "last":
        loc = x[:, -1]
        return loc, torch.ones_like(loc)
    loc = x.mean(dim=1)  # (B, C)
    if mode == "mean":
        return loc, torch.ones_like(loc)
    if mode == "standard":
        return loc, torch.sqrt(x.var(dim=1, unbiased=False) + EPS)
    raise ValueError(f"unknown window_norm {mode!r}")


def normalise(x: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """(B, L, C) with (B, C) stats → (B, L, C)."""
    return (x - loc[:, None]) / scale[:, None]


def restore(z: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """Inverse of :func:`normalise`."""
    return z * scale[:, None] + loc[:, None]


def target_stats(x: Tensor, mode: str, residual: bool) -> tuple[Tensor, Tensor]:
    """(loc, scale) (B, C) for the targets of windows ``x`` (B, W, C) of the target
    columns: the window's own, with loc = last value when ``residual``."""
    loc, scale = window_stats(x, mode)
    if residual:
        loc = x[:, -1]
    return loc, scale


__all__ = ["WindowNorm", "window_stats", "target_stats", "normalise", "restore", "EPS"]
