"""``rnn``: the Elman RNN cell (tanh or ReLU), on the fused ``_VF.rnn_*`` kernels of
:class:`seqforge.cells.fused.FusedKernelCell`."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import _VF, Tensor

from .base import CellParams, State
from .fused import FusedKernelCell


class ElmanRNNCell(FusedKernelCell):
    r"""Elman RNN cell: h' = φ(W_ih x + b_ih + W_hh h + b_hh), φ = tanh or ReLU.

    Equations (one step, x: (B, I), h: (B, H))::

        h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
        y  = h'

    State: ``(h,)``. Matches ``torch.nn.RNNCell`` on the same weights.
    """

    class Params(CellParams):
        #: φ, the activation of the new hidden state
        nonlinearity: Literal["tanh", "relu"] = "tanh"
        #: learn ``bias_ih``/``bias_hh``
        bias: bool = True

    params: Params
    num_gates: ClassVar[int] = 1
    num_states: ClassVar[int] = 1
    forget_gate: ClassVar[int | None] = None

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state: (h (B, H),) -> h' (B, H), (h',)."""
        (h,) = state
        gi, gh = self._gates(x_t, h)  # (B, H) each
        pre = gi + gh  # (B, H)
        h_new = torch.tanh(pre) if self.params.nonlinearity == "tanh" else torch.relu(pre)  # (B, H)
        return h_new, (h_new,)

    def kernel(self):
        return _VF.rnn_tanh if self.params.nonlinearity == "tanh" else _VF.rnn_relu
