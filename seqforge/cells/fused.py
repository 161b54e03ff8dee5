"""The fused-kernel cells' shared machinery: torch-layout parameters and the sequence fast
path on PyTorch's own fused kernels (``torch._VF.rnn_tanh/rnn_relu/lstm/gru``).

The step (:meth:`forward`) of each cell is the reference, written from the gate equations.
The fast path runs the fused sequence kernel — the one behind ``nn.RNN``/``nn.LSTM``/
``nn.GRU`` (oneDNN on CPU, cuDNN on CUDA) — on the *same* parameters, so the two compute
the same function; ``tests/test_cells.py`` proves it. A stack of identical such cells
runs as one multi-layer kernel call (:meth:`FusedKernelCell.stack_sequence`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .base import Cell, CellParams, State


class FusedKernelCell(Cell):
    """A cell with torch's parameter layout whose sequence fast path is a ``_VF`` kernel.

    Subclasses set ``num_gates``/``num_states``/``forget_gate``, implement the reference
    :meth:`forward` and :meth:`kernel` (the ``_VF`` function computing the same
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
    def kernel(self) -> Callable[..., tuple[Tensor, ...]]:  # pragma: no cover
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
        fn = self.kernel()
        hx = [s.unsqueeze(0).contiguous() for s in state]  # num_states × (1, B, H)

        if lengths is not None:
            lengths = torch.as_tensor(lengths).to(device="cpu", dtype=torch.int64)
            lengths = lengths.clamp(0, T)  # (B,) as step_loop: lengths > T mean T
            if bool((lengths == T).all()):
                lengths = None  # no padding: the unpacked kernel is faster
        if lengths is None:
            res = fn(x, hx_arg(hx), weights, self.has_bias, 1, 0.0, train, False, True)
            y = res[0]  # (B, T, H)
            return y, tuple(h.squeeze(0) for h in res[1:])

        # pack_padded_sequence rejects length 0: run such rows for one step, then undo.
        empty = lengths == 0  # (B,)
        packed = pack_padded_sequence(x, lengths.clamp(min=1), batch_first=True,
                                      enforce_sorted=False)
        order, unorder = packed.sorted_indices, packed.unsorted_indices  # (B,) on x.device
        hx_sorted = [h.index_select(1, order) for h in hx]  # (1, B, H), longest row first
        res = fn(packed.data, packed.batch_sizes, hx_arg(hx_sorted), weights,
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

    @classmethod
    def stack_sequence(cls, cells, x: Tensor, state, *, num_layers: int, dropout: float,
                       training: bool, bidirectional: bool):
        """A whole stack of these cells (same params) in one multi-layer ``_VF`` call, as
        ``nn.LSTM(num_layers=L)`` runs it: x (B, T, I) → y (B, T, D·H), one state per
        (layer, direction) in ``layer · D + direction`` order. None (layer by layer) for
        a subclass with its own :meth:`forward_sequence`: the kernel would silently stand
        in for the recurrence it wrote."""
        if cls.forward_sequence is not FusedKernelCell.forward_sequence:
            return None
        first = cells[0]
        weights: list[Tensor] = []
        for c in cells:  # torch's flat order: layer-major, direction-minor
            weights += [c.weight_ih, c.weight_hh] + ([c.bias_ih, c.bias_hh] if c.has_bias else [])
        # (L·D, B, H) per state tensor, in our (layer · D + direction) order
        hx = [torch.stack([s[k] for s in state]).contiguous() for k in range(first.num_states)]
        res = first.kernel()(x, hx_arg(hx), weights, first.has_bias, num_layers,
                             dropout if training else 0.0, training or torch.is_grad_enabled(),
                             bidirectional, True)
        return res[0], [tuple(h[i] for h in res[1:]) for i in range(len(cells))]


def hx_arg(hx: list[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """``_VF.lstm`` takes ``(h, c)``; the single-state kernels take ``h``."""
    return tuple(hx) if len(hx) > 1 else hx[0]
