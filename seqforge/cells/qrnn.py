r"""QRNN, the quasi-recurrent neural network (Bradbury, Merity, Xiong & Socher 2016,
"Quasi-Recurrent Neural Networks", arXiv:1611.01576, §2, equations (1)–(4))."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from .base import Cell, State, clamp_lengths, last_valid, valid_steps
from .diagonal import DiagonalScanParams, diagonal_scan
from .scan import recurrence_dtype


class QRNNParams(DiagonalScanParams):
    """``model.cell: {name: qrnn, window: 2}``"""

    #: k, the width of the causal convolution over the inputs (the paper's filter size;
    #: 2 in its language-model experiments). At least 2: with k = 1 the gates read x_t
    #: alone (the minGRU/minLSTM family)
    window: int = Field(2, ge=2, le=64)
    #: learn ``bias_ih``
    bias: bool = True


class QRNNCell(Cell):
    r"""Quasi-recurrent cell with fo-pooling: the gates are a causal convolution of the
    inputs (no recurrent weights), so the sequence is a convolution and one scan.

    Equations (one step, window k, x: (B, I), c, h: (B, H))::

        X_t = [x_{t−k+1}; …; x_{t−1}; x_t]                     the last k inputs (k·I)
        z = tanh(W_z X_t + b_z)                                  (1), written out as (2)
        f = σ(W_f X_t + b_f)                                     (1)
        o = σ(W_o X_t + b_o)                                     (1)
        c' = f ⊙ c + (1 − f) ⊙ z                                 fo-pooling (4)
        h' = o ⊙ c'                                              (4)
        y  = h'

    (1) is the convolution W * X of the paper, masked so that step t reads no later input.

    ``weight_ih`` (3H, k·I) stacks the z, f, o filters, each (H, k·I) with the taps
    oldest first (``bias_ih`` (3H,) likewise), so ``forget_gate = 1``. State: ``(h, c,
    x_hist)``: x_hist (B, (k−1)·I) holds the previous k−1 inputs, oldest first (zeros
    initially: the convolution's zero padding), so a state carried to the next chunk
    (truncated BPTT) or fed back one token at a time (generation) continues the
    convolution exactly. Sequence path: all windows in one matmul, then the diagonal
    scan c_t = f_t c_{t−1} + (1 − f_t) z_t (:mod:`seqforge.cells.diagonal`).
    """

    Params: ClassVar[type[QRNNParams]] = QRNNParams
    params: QRNNParams
    num_gates: ClassVar[int] = 3
    num_states: ClassVar[int] = 3
    forget_gate: ClassVar[int | None] = 1

    def __init__(self, input_size: int, hidden_size: int, params: QRNNParams | None = None):
        super().__init__(input_size, hidden_size, params)
        k = self.params.window
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, k * input_size))  # (3H, k·I)
        self.add_bias(3 * hidden_size)  # bias_ih (3H,)
        self.reset_parameters()

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size, self.hidden_size, (self.params.window - 1) * self.input_size)

    def _gates(self, windows: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor, torch.dtype]:
        """windows (..., k·I) -> the scan's a = f and b = (1 − f) ⊙ z, and o (..., H) each,
        in the dtype the recurrence runs in (float32 at least), and the result dtype."""
        pre, out_dtype = recurrence_dtype(F.linear(windows, self.weight_ih, self.bias_ih), c)
        z, f, o = pre.chunk(3, dim=-1)
        f = torch.sigmoid(f)
        return f, (1.0 - f) * torch.tanh(z), torch.sigmoid(o), out_dtype

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state (h, c (B, H), x_hist (B, (k−1)·I)) -> h', state."""
        _, c, hist = state
        window = torch.cat([hist, x_t], dim=-1)  # (B, k·I), oldest input first
        a, b, o, out_dtype = self._gates(window, c)  # (B, H) each
        c_new = torch.addcmul(b, a, c.to(a.dtype))  # f ⊙ c + (1 − f) ⊙ z
        h_new = (o * c_new).to(out_dtype)
        return h_new, (h_new, c_new.to(out_dtype), window[:, self.input_size:])

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """x: (B, T, I), state (h0, c0, x_hist0) -> y (B, T, H), final state.

        The input history is prepended to x, every step's window is one row of an
        ``unfold`` (B, T, k·I) and all gates come from one matmul; c is one scan. With
        ``lengths`` the scan still runs over every step — padding only follows a row's
        valid prefix and the convolution and the scan are causal — then outputs past a
        row's length are zeroed and its final state (h, c and the last k − 1 valid inputs)
        is read at its last valid step, as :func:`~seqforge.cells.base.step_loop` leaves it.
        """
        h0, c0, hist0 = state
        B, T, I = x.shape  # noqa: E741
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), tuple(state)
        k = self.params.window
        xp = torch.cat([hist0.view(B, k - 1, I).to(x.dtype), x], dim=1)  # (B, T+k−1, I)
        windows = xp.unfold(1, k, 1).transpose(2, 3).reshape(B, T, k * I)  # (B, T, k·I)
        a, b, o, out_dtype = self._gates(windows, c0)  # (B, T, H) each
        c = diagonal_scan(a, b, c0.to(a.dtype), self.params)  # (B, T, H)
        h = (o * c).to(out_dtype)
        c = c.to(out_dtype)
        if lengths is None:
            return h, (h[:, -1], c[:, -1], xp[:, T:].reshape(B, (k - 1) * I))
        lengths = clamp_lengths(lengths, T, x.device)
        y = torch.where(valid_steps(lengths, T), h, h.new_zeros(()))  # (B, T, H), 0 past L
        # the k − 1 inputs before step L are xp[:, L : L + k − 1] (the initial history at L = 0)
        idx = (lengths.view(B, 1) + torch.arange(k - 1, device=x.device)).view(B, k - 1, 1)
        hist = xp.gather(1, idx.expand(B, k - 1, I)).reshape(B, (k - 1) * I)
        return y, (last_valid(h, lengths, h0), last_valid(c, lengths, c0), hist)
