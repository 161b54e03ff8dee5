"""Run a cell (or a stack of cells) over time.

:class:`Recurrent` owns everything about time that a cell must not know: layers,
inter-layer dropout, direction, padding (``lengths``) and the state carried between
truncated-BPTT chunks. Each (layer, direction) runs its cell's ``forward_sequence`` — a
fused kernel where the cell has one, the reference step loop otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cells.base import Cell, CellParams, State, step_loop
from .errors import SpecError

#: one cell state per (layer, direction), index = layer * num_directions + direction
StackState = list[State]


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each row of x (B, T, ...) within its own length; padding stays at the end."""
    if lengths is None:
        return x.flip(1)
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    L = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    idx = torch.where(t < L, L - 1 - t, t)  # (B, T): mirror the valid prefix only
    idx = idx.view(B, T, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


class Recurrent(nn.Module):
    """A stack of ``num_layers`` cells, optionally bidirectional.

    forward(x (B,T,I), state=None, lengths=None) -> (y (B,T,D·H), state)
    """

    def __init__(self, cell_cls: type[Cell], input_size: int, hidden_size: int,
                 num_layers: int = 1, *, cell_params: CellParams | None = None,
                 dropout: float = 0.0, bidirectional: bool = False, init: str = "default",
                 forget_bias: float | None = None):
        super().__init__()
        if bidirectional and not cell_cls.supports_bidirectional:
            raise ValueError(f"{cell_cls.__name__} cannot run bidirectionally "
                             "(supports_bidirectional is False)")
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.dropout = dropout
        self.use_fast_path = True  # tests flip this to compare against the step loop
        # one multi-layer kernel call instead of one per layer, where the cells allow it
        # (bench: per-layer calls cost ~7% on the 4×LSTM-50 recipe vs a hand-written nn.LSTM)
        self.fuse_layers = True
        cells = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.num_directions
            for _ in range(self.num_directions):
                cell = cell_cls(in_size, hidden_size, cell_params)
                cell.reset_parameters(init, forget_bias)
                cells.append(cell)
        self.cells = nn.ModuleList(cells)

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.num_directions

    @property
    def num_states(self) -> int:
        return self.cells[0].num_states

    def state_sizes(self) -> list[tuple[int, ...]]:
        """Widths of each cell's state tensors, one tuple per (layer, direction) — they can
        differ between layers (a state that holds the cell's input, as QRNN's)."""
        return [c.state_sizes() for c in self.cells]

    def initial_state(self, batch: int, device=None, dtype=None) -> StackState:
        return [c.initial_state(batch, device, dtype) for c in self.cells]

    def _run(self, cell: Cell, x: Tensor, state: State, lengths: Tensor | None):
        if self.use_fast_path:
            return cell.forward_sequence(x, state, lengths)
        return step_loop(cell, x, state, lengths)

    def forward(self, x: Tensor, state: StackState | None = None,
                lengths: Tensor | None = None) -> tuple[Tensor, StackState]:
        B = x.shape[0]
        if state is None:
            state = self.initial_state(B, x.device, x.dtype)
        if lengths is not None:
            lengths = lengths.to(x.device)
            if bool((lengths >= x.shape[1]).all()):
                lengths = None  # nothing is padded: take the unmasked (faster) path
            elif not self.cells[0].supports_lengths:
                raise SpecError(f"cell {type(self.cells[0]).__name__} cannot mask padded steps "
                                "(supports_lengths is False), but this data comes in "
                                "sequences of different lengths — use another cell",
                                path="model.cell")
        if self.use_fast_path and self.fuse_layers and lengths is None:
            fused = self._fused_stack(x, state)
            if fused is not None:
                return fused
        new_state: StackState = []
        out = x  # (B, T, I)
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0:
                out = F.dropout(out, self.dropout, self.training)
            outs = []
            for d in range(self.num_directions):
                i = layer * self.num_directions + d
                cell = self.cells[i]
                if d == 0:
                    y, s = self._run(cell, out, state[i], lengths)  # (B, T, H)
                else:  # backward direction: reverse within each row's length
                    y, s = self._run(cell, reverse_padded(out, lengths), state[i], lengths)
                    y = reverse_padded(y, lengths)
                outs.append(y)
                new_state.append(s)
            out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)  # (B, T, D·H)
        return out, new_state

    def _fused_stack(self, x: Tensor, state: StackState) -> tuple[Tensor, StackState] | None:
        """The whole stack in one call, when every cell is the same kind with the same params
        and that kind offers it (``Cell.stack_sequence``; the fused-kernel cells do, as
        ``nn.LSTM(num_layers=L)`` does); None when it does not apply."""
        first = self.cells[0]
        if x.shape[1] == 0 or any(type(c) is not type(first) or c.params != first.params
                                  for c in self.cells):
            return None
        return type(first).stack_sequence(
            list(self.cells), x, state, num_layers=self.num_layers, dropout=self.dropout,
            training=self.training, bidirectional=self.num_directions == 2)

    def step(self, x_t: Tensor, state: StackState) -> tuple[Tensor, StackState]:
        """One time step through every layer (unidirectional only): x_t (B, I) -> (B, H)."""
        if self.num_directions != 1:
            raise RuntimeError("step() is for unidirectional stacks (decoders, generation)")
        new_state: StackState = []
        h = x_t
        for layer, cell in enumerate(self.cells):
            if layer > 0 and self.dropout > 0:
                h = F.dropout(h, self.dropout, self.training)
            h, s = cell(h, state[layer])  # (B, H)
            new_state.append(s)
        return h, new_state


def detach_state(state):
    """Cut the graph between truncated-BPTT chunks (state values carry on)."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (list, tuple)):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


def final_hidden(rnn: Recurrent, state: StackState) -> Tensor:
    """The last layer's h, directions concatenated: (B, D·H)."""
    D = rnn.num_directions
    last = state[-D:]
    return torch.cat([s[0] for s in last], dim=-1)
