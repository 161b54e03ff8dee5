r"""minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv:2410.01201, §3.2)."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from .scan import ScanCell, g, log_g


class MinLSTMCell(ScanCell):
    r"""Minimal LSTM: forget and input gates read only x_t, normalised to sum to one.

    Equations (one step, x: (B, I), h: (B, H))::

        f  = σ(W_f x + b_f)                forget gate
        i  = σ(W_i x + b_i)                input gate
        h̃  = g(W_h x + b_h)                candidate, g(v) = v + ½ (v ≥ 0), σ(v) (v < 0)
        f' = f / (f + i),  i' = i / (f + i)
        h' = f' ⊙ h + i' ⊙ h̃              = a ⊙ h + b,  a = f',  b = i' ⊙ h̃
        y  = h'

    The normalisation is computed as the paper's log-space form does it, in the step too:
    with d = log σ(k_i) − log σ(k_f) = log i − log f (k_f, k_i the pre-activations)
    f' = σ(−d), i' = σ(d), log f' = −softplus(d), log i' = −softplus(−d). That is f/(f+i)
    exactly, without 0/0 when both gates underflow.

    ``weight_ih`` (3H, I) stacks the f, i and h̃ blocks (``bias_ih`` (3H,) likewise), so
    ``forget_gate = 0``: ``reset_parameters(forget_bias=…)`` sets b_f. No ``weight_hh``
    and no cell state — h is the whole state: ``(h,)``, zeros initially.
    """

    num_gates: ClassVar[int] = 3
    forget_gate: ClassVar[int | None] = 0

    @staticmethod
    def _d(pre: Tensor) -> tuple[Tensor, Tensor]:
        kf, ki, v = pre.chunk(3, dim=-1)
        # d = log σ(k_i) − log σ(k_f) = softplus(−k_f) − softplus(−k_i). (Not F.logsigmoid:
        # its CPU kernel opens a parallel region even for tiny inputs, ~10x slower per call.)
        return F.softplus(-kf) - F.softplus(-ki), v

    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """pre (..., 3H) -> a = f', b = i' ⊙ g(h̃ pre-activation), (..., H) each."""
        d, v = self._d(pre)
        return torch.sigmoid(-d), torch.sigmoid(d) * g(v)

    def log_coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """pre (..., 3H) -> log f', log i' + log g(v) (..., H), finite."""
        d, v = self._d(pre)
        return -F.softplus(d), log_g(v) - F.softplus(-d)
