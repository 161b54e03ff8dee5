r"""sLSTM, xLSTM's scalar-memory LSTM with exponential gating (Beck, Pöppel, Spanring,
Auer, Prudnikova, Kopp, Klambauer, Brandstetter & Hochreiter 2024, "xLSTM: Extended Long
Short-Term Memory", arXiv:2405.04517, §2.2, equations (8)–(17))."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from .base import Cell, CellParams, State, step_loop
from .scan import recurrence_dtype


class SLSTMParams(CellParams):
    """``model.cell: {name: slstm, num_heads: 4}``"""

    #: heads of the block-diagonal recurrent matrices (§2.2 "memory mixing" within a
    #: head only); hidden_size must be a multiple. 1 = full recurrent matrices
    num_heads: int = Field(1, ge=1)
    #: forget gate f = σ(f̃) or exp(f̃), eq. (13)
    forget: Literal["sigmoid", "exp"] = "sigmoid"
    #: learn ``bias_ih``
    bias: bool = True


class SLSTMCell(Cell):
    r"""sLSTM: an LSTM with an exponential input gate, a normaliser state and a stabiliser.

    Equations (one step, x: (B, I), h, c, n, m: (B, H); gate order i, f, z, o)::

        ĩ, f̃, z̃, õ = W x + R h + b                     R block-diagonal over heads
        m' = max(log f + m, ĩ)                         stabiliser                 (15)
        i' = exp(ĩ − m'),  f' = exp(log f + m − m')    stabilised gates       (16), (17)
        c' = f' ⊙ c + i' ⊙ tanh(z̃)                     cell state            (8), (11)
        n' = f' ⊙ n + i'                               normaliser state           (9)
        h' = σ(õ) ⊙ c' / n'                            hidden state         (10), (14)
        y  = h'

    with log f = log σ(f̃) (or f̃ for an exponential forget gate, (13)); i = exp(ĩ) (12).
    The stabiliser changes no output: c and n are both scaled by exp(−m), so c / n is the
    unstabilised c / n of (8)–(10), whatever m starts at (zeros initially, as everything).

    ``weight_ih`` (4H, I), ``weight_hh`` (4H, H / heads) — head j's block of each gate
    reads only head j of h — and ``bias_ih`` (4H,), gates stacked i, f, z, o in torch's
    layout, so init policies apply and ``forget_gate = 1`` (``forget_bias`` sets b_f).
    State: ``(h, c, n, m)``. Sequential by nature (R h_{t−1} enters every gate): the
    sequence path computes every input projection W x + b in one matmul, then steps.
    """

    Params: ClassVar[type[SLSTMParams]] = SLSTMParams
    params: SLSTMParams
    num_gates: ClassVar[int] = 4
    num_states: ClassVar[int] = 4
    forget_gate: ClassVar[int | None] = 1

    def __init__(self, input_size: int, hidden_size: int, params: SLSTMParams | None = None):
        super().__init__(input_size, hidden_size, params)
        heads = self.params.num_heads
        if hidden_size % heads:
            raise ValueError(f"slstm: hidden_size {hidden_size} is not a multiple of "
                             f"num_heads {heads}")
        gh = 4 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gh, input_size))  # (4H, I)
        self.weight_hh = nn.Parameter(torch.empty(gh, hidden_size // heads))  # (4H, d)
        self.add_bias(gh)  # bias_ih (4H,)
        self.reset_parameters()

    def _recurrent(self, h: Tensor) -> Tensor:
        """R h (B, 4H): row g·H + j·d + u of ``weight_hh`` reads head j of h."""
        heads = self.params.num_heads
        if heads == 1:
            return F.linear(h, self.weight_hh)
        B, d = h.shape[0], self.hidden_size // heads
        R = self.weight_hh.view(4, heads, d, d)  # (gate, head, out, in)
        return torch.einsum("bjd,gjud->bgju", h.view(B, heads, d), R).reshape(B, -1)

    def _step(self, pre_x: Tensor, state: State) -> tuple[Tensor, State]:
        """The step after the input projection: pre_x = W x + b (B, 4H)."""
        h, c, n, m = state
        rec, out_dtype = recurrence_dtype(self._recurrent(h), h)  # (B, 4H), float32 at least
        dt = rec.dtype
        i_, f_, z_, o_ = (pre_x.to(dt) + rec).chunk(4, dim=-1)  # (B, H) each
        log_f = f_ if self.params.forget == "exp" else -F.softplus(-f_)  # log σ(f̃)
        m = m.to(dt)
        m_new = torch.maximum(log_f + m, i_)  # (15)
        i = torch.exp(i_ - m_new)  # (16)
        f = torch.exp(log_f + m - m_new)  # (17)
        c_new = f * c.to(dt) + i * torch.tanh(z_)  # (8)
        n_new = f * n.to(dt) + i  # (9)
        h_new = torch.sigmoid(o_) * c_new / n_new  # (10)
        new = tuple(t.to(out_dtype) for t in (h_new, c_new, n_new, m_new))
        return new[0], new

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state (h, c, n, m) each (B, H) -> h' (B, H), state."""
        return self._step(F.linear(x_t, self.weight_ih, self.bias_ih), state)

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """x: (B, T, I) -> y (B, T, H), final state: W x + b for every step in one matmul
        (B, T, 4H), then the recurrence step by step with :func:`step_loop`'s masks."""
        pre_x = F.linear(x, self.weight_ih, self.bias_ih)  # (B, T, 4H)
        return step_loop(self, pre_x, tuple(state), lengths, step=self._step)
