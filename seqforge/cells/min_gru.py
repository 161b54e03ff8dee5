r"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?", arXiv:2410.01201, §3.1)."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from .scan import ScanCell, g, log_g


class MinGRUCell(ScanCell):
    r"""Minimal GRU: the gates read only x_t, so a whole sequence is one parallel scan.

    Equations (one step, x: (B, I), h: (B, H))::

        z  = σ(W_z x + b_z)                update gate
        h̃  = g(W_h x + b_h)                candidate, g(v) = v + ½ (v ≥ 0), σ(v) (v < 0)
        h' = (1 − z) ⊙ h + z ⊙ h̃          = a ⊙ h + b,  a = 1 − z,  b = z ⊙ h̃
        y  = h'

    ``weight_ih`` (2H, I) stacks the z and h̃ blocks (``bias_ih`` (2H,) likewise); there
    is no ``weight_hh``. g keeps h̃ > 0, so a zero (or any positive) initial state keeps h
    positive and the paper's log-space scan is defined; the ``linear`` scan does not
    need it (any h0 works in both, see :func:`seqforge.cells.scan.log_scan`).

    Log space (the ``log`` scan): log a = log σ(−k) = −softplus(k), log b = log σ(k) +
    log g(v), with k, v the z and h̃ pre-activations.
    State: ``(h,)``, zeros initially.
    """

    num_gates: ClassVar[int] = 2
    forget_gate: ClassVar[int | None] = None

    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """pre (..., 2H) -> a = 1 − z, b = z ⊙ g(h̃ pre-activation), (..., H) each."""
        k, v = pre.chunk(2, dim=-1)
        z = torch.sigmoid(k)
        return 1.0 - z, z * g(v)

    def log_coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """pre (..., 2H) -> log a, log b (..., H), finite."""
        k, v = pre.chunk(2, dim=-1)
        return -F.softplus(k), log_g(v) - F.softplus(-k)  # log σ(−k), log σ(k) + log g(v)
