"""The Elman RNN cell, and the machinery the built-in cells share: torch-layout parameters
and the fused-kernel sequence fast path (``torch._VF.rnn_tanh/rnn_relu/lstm/gru``).

The step (:meth:`forward`) of each built-in cell is the reference, written from the gate
equations. The fast path runs PyTorch's own fused sequence kernel — the one behind
``nn.RNN``/``nn.LSTM``/``nn.GRU`` (oneDNN on CPU, cuDNN on CUDA) — on the *same*
parameters, so the two compute the same function; ``tests/test_cells.py`` proves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .base import Cell, CellParams, State


class FusedKernelCell(Cell):
    """A cell with torch's parameter layout whose sequence fast path is a ``_VF`` kernel.

    Subclasses set ``num_gates``/``num_states``/``forget_gate``, implement the reference
    :meth:`forward` and :meth:`_kernel` (the ``_VF`` function computing the same
    recurrence). Parameters: ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H) and, with
    ``params.bias``, ``bias_ih``/``bias_hh`` (G·H); without, the biases are ``None``.
    """

    def __init__(self, input_size: int, hidden_size: int, params: CellParams | None = None):
        super().__init__(input_size, hidden_size, params)
        gh = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gh, input_size))  # (G·H, I)
        self.weight_hh = nn.Parameter(torch.empty(gh, hidden_size))  # (G·H, H)
        self.add_bias(gh)  # bias_ih (G·H,)
        self.add_bias(gh, "bias_hh")  # (G·H,)
        self.reset_parameters()

    @property
    def has_bias(self) -> bool:
        return self.bias_ih is not None

    # -- the reference step's building blocks -------------------------------------------
    def _gates(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """Input and recurrent pre-activations, kept apart (GRU needs them apart)."""
        gi = F.linear(x_t, self.weight_ih, self.bias_ih)  # (B, G·H)
        gh = F.linear(h, self.weight_hh, self.bias_hh)  # (B, G·H)
        return gi, gh

    # -- the fast path --------------------------------------------------------------------
    def _kernel(self) -> Callable[..., tuple[Tensor, ...]]:  # pragma: no cover
        """The ``torch._VF`` function for this recurrence."""
        raise NotImplementedError

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """x: (B, T, I), state: ``num_states`` × (B, H) -> y (B, T, H), final state.

        One fused ``_VF`` call (``num_layers=1``, no dropout, one direction). With
        ``lengths``, the batch is packed (``pack_padded_sequence(enforce_sorted=False)``)
        and the packed kernel is run, so each row stops at its own last valid step:
        the final state is taken there and outputs past it are exactly zero, as in
        :func:`seqforge.cells.base.step_loop`. Rows of length 0 keep their state.
        """
        B, T, _ = x.shape
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), tuple(state)
        weights = [self.weight_ih, self.weight_hh]
        if self.has_bias:
            weights += [self.bias_ih, self.bias_hh]
        # dropout is 0, so ``train`` changes nothing numerically; it must be True for
        # cuDNN to keep what its backward needs (eval-mode gradients, e.g. saliency).
        train = torch.is_grad_enabled()
        fn = self._kernel()
        hx = [s.unsqueeze(0).contiguous() for s in state]  # num_states × (1, B, H)

        if lengths is not None:
            lengths = torch.as_tensor(lengths).to(device="cpu", dtype=torch.int64)
            lengths = lengths.clamp(0, T)  # (B,) as step_loop: lengths > T mean T
            if bool((lengths == T).all()):
                lengths = None  # no padding: the unpacked kernel is faster
        if lengths is None:
            res = fn(x, _hx_arg(hx), weights, self.has_bias, 1, 0.0, train, False, True)
            y = res[0]  # (B, T, H)
            return y, tuple(h.squeeze(0) for h in res[1:])

        # pack_padded_sequence rejects length 0: run such rows for one step, then undo.
        empty = lengths == 0  # (B,)
        packed = pack_padded_sequence(x, lengths.clamp(min=1), batch_first=True,
                                      enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices  # (B,) on x.device
        hx_sorted = [h.index_select(1, order) for h in hx]  # (1, B, H), longest row first
        res = fn(packed.data, packed.batch_sizes, _hx_arg(hx_sorted), weights,
                 self.has_bias, 1, 0.0, train, False)
        y, _ = pad_packed_sequence(
            PackedSequence(res[0], packed.batch_sizes, order, unorder),
            batch_first=True, total_length=T)  # (B, T, H), zeros past each length
        new_state = tuple(h.index_select(1, unorder).squeeze(0) for h in res[1:])  # (B, H)
        if bool(empty.any()):
            keep = empty.to(x.device).unsqueeze(1)  # (B, 1)
            new_state = tuple(torch.where(keep, old, new) for old, new in zip(state, new_state))
            y = y.masked_fill(keep.unsqueeze(2), 0.0)  # (B, T, H)
        return y, new_state


def _hx_arg(hx: list[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """``_VF.lstm`` takes ``(h, c)``; the single-state kernels take ``h``."""
    return tuple(hx) if len(hx) > 1 else hx[0]


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

    def _kernel(self):
        return _VF.rnn_tanh if self.params.nonlinearity == "tanh" else _VF.rnn_relu
