"""The LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000),
in torch's gate order and parameter layout."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import _VF, Tensor

from .base import CellParams, State
from .fused import FusedKernelCell


class LSTMCell(FusedKernelCell):
    r"""Long short-term memory cell; gates in torch's order i, f, g, o.

    Equations (one step, x: (B, I), h, c: (B, H); W_i* = rows of ``weight_ih``)::

        i  = σ(W_ii x + b_ii + W_hi h + b_hi)      input gate
        f  = σ(W_if x + b_if + W_hf h + b_hf)      forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)   candidate cell
        o  = σ(W_io x + b_io + W_ho h + b_ho)      output gate
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')
        y  = h'

    State: ``(h, c)``. Matches ``torch.nn.LSTMCell`` on the same weights.
    """

    class Params(CellParams):
        #: learn ``bias_ih``/``bias_hh``
        bias: bool = True

    params: Params
    num_gates: ClassVar[int] = 4
    num_states: ClassVar[int] = 2
    forget_gate: ClassVar[int | None] = 1

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state: (h, c) each (B, H) -> h' (B, H), (h', c')."""
        h, c = state
        gi, gh = self._gates(x_t, h)  # (B, 4H) each
        i, f, g, o = (gi + gh).chunk(4, dim=1)  # (B, H) each
        i = torch.sigmoid(i)  # (B, H)
        f = torch.sigmoid(f)  # (B, H)
        g = torch.tanh(g)  # (B, H)
        o = torch.sigmoid(o)  # (B, H)
        c_new = f * c + i * g  # (B, H)
        h_new = o * torch.tanh(c_new)  # (B, H)
        return h_new, (h_new, c_new)

    def kernel(self):
        return _VF.lstm
