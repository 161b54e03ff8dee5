"""The GRU cell (Cho et al. 2014), in torch's gate order, layout and exact formula."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import _VF, Tensor

from .base import CellParams, State
from .fused import FusedKernelCell


class GRUCell(FusedKernelCell):
    r"""Gated recurrent unit; gates in torch's order r, z, n.

    Equations (one step, x: (B, I), h: (B, H))::

        r  = σ(W_ir x + b_ir + W_hr h + b_hr)            reset gate
        z  = σ(W_iz x + b_iz + W_hz h + b_hz)            update gate
        n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))   candidate
        h' = (1 − z) ⊙ n + z ⊙ h
        y  = h'

    The reset gate multiplies the recurrent term *including its bias* ``b_hn`` — torch's
    (and cuDNN's) variant, not the original paper's r ⊙ h inside the product. State:
    ``(h,)``. Matches ``torch.nn.GRUCell`` on the same weights.
    """

    class Params(CellParams):
        #: learn ``bias_ih``/``bias_hh``
        bias: bool = True

    params: Params
    num_gates: ClassVar[int] = 3
    num_states: ClassVar[int] = 1
    forget_gate: ClassVar[int | None] = None

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state: (h (B, H),) -> h' (B, H), (h',)."""
        (h,) = state
        gi, gh = self._gates(x_t, h)  # (B, 3H) each
        i_r, i_z, i_n = gi.chunk(3, dim=1)  # (B, H) each
        h_r, h_z, h_n = gh.chunk(3, dim=1)  # (B, H) each
        r = torch.sigmoid(i_r + h_r)  # (B, H)
        z = torch.sigmoid(i_z + h_z)  # (B, H)
        n = torch.tanh(i_n + r * h_n)  # (B, H)
        h_new = (1 - z) * n + z * h  # (B, H)
        return h_new, (h_new,)

    def kernel(self):
        return _VF.gru
