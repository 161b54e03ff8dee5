r"""RG-LRU, the Real-Gated Linear Recurrent Unit (De et al. 2024, "Griffin: Mixing Gated
Linear Recurrences with Local Attention for Efficient Language Models", arXiv:2402.19427,
§2.4, equations (1)–(4))."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Tensor, nn

from .diagonal import DiagonalScanParams, diagonal_scan, scan_method
from .scan import ScanCell


class RGLRUParams(DiagonalScanParams):
    """``model.cell: {name: rg_lru, c: 8.0, …}``"""

    #: learn ``bias_ih`` (b_a, b_x and the input projection's bias)
    bias: bool = True
    #: c, the fixed scale of the gate's exponent in a_t = a^{c r_t} (the paper's 8)
    c: float = Field(8.0, gt=0)
    #: at initialisation a^c is uniform in [a_min, a_max] (the paper: 0.9, 0.999)
    a_min: float = Field(0.9, gt=0, lt=1)
    a_max: float = Field(0.999, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> RGLRUParams:
        if self.a_min > self.a_max:
            raise ValueError(f"a_min ({self.a_min}) must not exceed a_max ({self.a_max})")
        return self


class RGLRUCell(ScanCell):
    r"""Real-gated linear recurrent unit: a diagonal linear recurrence whose decay is gated
    by the input alone, so a whole sequence is one scan.

    Equations (one step, x: (B, I), h: (B, H)); the paper's RG-LRU reads an input already
    of width H, so here the input is first projected, x' = W x + b::

        r   = σ(W_a x + b_a)                        recurrence gate          (1)
        i   = σ(W_x x + b_x)                        input gate               (2)
        a_t = a^{c r},  a = σ(Λ)                    log a_t = −c r softplus(−Λ)   (3)
        h'  = a_t ⊙ h + √(1 − a_t²) ⊙ (i ⊙ x')                               (4)
        y   = h'

    a_t is computed in log space, as the paper does, and √(1 − a_t²) as
    √(−expm1(2 log a_t)), exact where a_t is close to 1 (long memory). The normalisation
    keeps h's scale that of x' however close a_t is to 1.

    Parameters: ``weight_ih`` (3H, I) stacks W_a, W_x, W (``bias_ih`` (3H,) likewise; the
    init policy applies to them); ``a_logit`` Λ (H,), initialised so that a^c is uniform
    in [a_min, a_max] (§2.4) whatever the policy. No ``weight_hh``: the gates do not read
    h. State: ``(h,)``, zeros initially. Sequence path: the diagonal scan
    (:mod:`seqforge.cells.diagonal`; ``scan: auto`` is the linear scan on CPU, recursive
    doubling elsewhere).
    """

    Params: ClassVar[type[RGLRUParams]] = RGLRUParams
    params: RGLRUParams
    num_gates: ClassVar[int] = 3
    forget_gate: ClassVar[int | None] = None

    def _extra_parameters(self) -> None:
        self.a_logit = nn.Parameter(torch.empty(self.hidden_size))  # Λ (H,)

    def reset_parameters(self, init: str = "default", forget_bias: float | None = None) -> None:
        """The init policy for ``weight_ih``/``bias_ih``; Λ = logit(u^{1/c}), u uniform in
        [a_min, a_max], so that a^c = u (the paper's initialisation)."""
        super().reset_parameters(init, forget_bias)
        p = self.params
        with torch.no_grad():
            u = torch.empty_like(self.a_logit).uniform_(p.a_min, p.a_max)  # a^c
            log_a = torch.log(u) / p.c  # log a, a = u^{1/c}
            self.a_logit.copy_(log_a - torch.log(-torch.expm1(log_a)))  # logit(a)

    def log_decay(self, pre_r: Tensor) -> Tensor:
        """log a_t = −c σ(r̃) softplus(−Λ) (..., H), from the gate pre-activation r̃."""
        return -self.params.c * torch.sigmoid(pre_r) * F.softplus(-self.a_logit.to(pre_r.dtype))

    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:
        """pre (..., 3H) -> a_t, √(1 − a_t²) ⊙ i ⊙ x' (..., H) each (b of any sign)."""
        r, i, v = pre.chunk(3, dim=-1)
        log_a = self.log_decay(r)
        return torch.exp(log_a), torch.sqrt(-torch.expm1(2 * log_a)) * torch.sigmoid(i) * v

    def scan_method(self, x: Tensor) -> str:
        return scan_method(self.params, x)

    def scan(self, pre: Tensor, h0: Tensor, x: Tensor) -> Tensor:
        a, b = self.coefficients(pre)  # (B, T, H) each
        return diagonal_scan(a, b, h0, self.params)  # (B, T, H)
