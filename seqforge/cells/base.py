"""The cell contract: one time step, nothing about time.

A cell maps ``(x_t, state) -> (y_t, state)``. It knows nothing of sequence length,
direction, padding or layers — :class:`seqforge.recurrent.Recurrent` owns those. A cell
may also offer a *sequence fast path*, ``forward_sequence``, that computes exactly the
same function as stepping (a fused cuDNN/oneDNN kernel, a parallel scan, hoisted input
projections …). ``seqforge.testing`` proves the equality for every registered cell.

State is a tuple of tensors, ``state[k]`` of shape ``(B, state_sizes()[k])``: ``(B, H)``
unless a cell says otherwise (a matrix memory, an input history). ``state[0]`` is always
the hidden output ``h`` (B, H) (what a decoder bridge or an attention layer reads). LSTM
has ``(h, c)``.

A cell declares what it can do — mask padded steps, run backwards in time, carry its
state across truncated-BPTT chunks (``supports_*``, all True by default); the spec
validator refuses a spec that needs what its cell cannot.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor, nn

State = tuple[Tensor, ...]


class CellParams(BaseModel):
    """Parameters a cell accepts under ``model.cell: {name: ..., ...}``. Subclass to add."""

    model_config = ConfigDict(extra="forbid")


class Cell(nn.Module):
    """Base class of every cell.

    Subclasses set ``Params`` (a :class:`CellParams` subclass), ``num_states`` and
    implement :meth:`forward`. ``has_fast_path`` is True when :meth:`forward_sequence` is
    overridden with something faster than the step loop.
    """

    Params: ClassVar[type[CellParams]] = CellParams
    #: number of tensors in the state tuple (1 for RNN/GRU, 2 for LSTM)
    num_states: ClassVar[int] = 1
    #: which slice of the fused gate weights is the forget gate, for ``forget_bias``
    #: (``None`` when the cell has no forget gate)
    forget_gate: ClassVar[int | None] = None
    #: number of gate blocks stacked in ``weight_ih``/``weight_hh`` (torch's layout)
    num_gates: ClassVar[int] = 1
    #: ``forward_sequence`` honours ``lengths`` (padded steps keep the state, emit zeros)
    supports_lengths: ClassVar[bool] = True
    #: the cell may run over reversed sequences (the backward half of a bidirectional layer)
    supports_bidirectional: ClassVar[bool] = True
    #: a final state fed back as the next chunk's initial state continues the sequence
    #: (truncated BPTT, generation)
    supports_state_carry: ClassVar[bool] = True

    def __init__(self, input_size: int, hidden_size: int, params: CellParams | None = None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.params = params if params is not None else self.Params()

    def extra_repr(self) -> str:
        extra = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump().items())
        return f"{self.input_size}, {self.hidden_size}" + (f", {extra}" if extra else "")

    def add_bias(self, size: int, name: str = "bias_ih") -> None:
        """Register the (size,) parameter ``name`` — or None, when ``params.bias`` is False."""
        bias = nn.Parameter(torch.empty(size)) if getattr(self.params, "bias", True) else None
        self.register_parameter(name, bias)

    # -- state -------------------------------------------------------------------------
    def state_sizes(self) -> tuple[int, ...]:
        """Width of each state tensor: ``state[k]`` is ``(B, state_sizes()[k])``.
        ``num_states`` entries, the first ``hidden_size``; ``(H,) * num_states`` by default."""
        return (self.hidden_size,) * self.num_states

    def initial_state(self, batch: int, device: torch.device | None = None,
                      dtype: torch.dtype | None = None) -> State:
        """Zeros: ``num_states`` tensors of shape ``(batch, state_sizes()[k])``."""
        p = next(self.parameters(), None)
        device = device if device is not None else (p.device if p is not None else None)
        dtype = dtype if dtype is not None else (p.dtype if p is not None else None)
        return tuple(torch.zeros(batch, w, device=device, dtype=dtype) for w in self.state_sizes())

    # -- compute -------------------------------------------------------------------------
    @property
    def has_fast_path(self) -> bool:
        return type(self).forward_sequence is not Cell.forward_sequence

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:  # pragma: no cover
        """One step. x_t: (B, I); state: tuple of (B, W_k) -> y_t (B, H), new state."""
        raise NotImplementedError

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """Run over a whole batch-first sequence. x: (B, T, I) -> y (B, T, H), final state.

        ``lengths`` (B,) marks the valid prefix of each row: outputs past it are zero and
        the final state is the state after each row's last valid step. The default is the
        reference step loop; cells override it with a faster equal computation.
        """
        return step_loop(self, x, state, lengths)

    # -- initialisation ------------------------------------------------------------------
    @classmethod
    def stack_sequence(cls, cells: list[Cell], x: Tensor, state: list[State], *,
                       num_layers: int, dropout: float, training: bool, bidirectional: bool
                       ) -> tuple[Tensor, list[State]] | None:
        """A whole stack of this kind of cell (identical params) over x (B, T, I) in one call,
        when the cell has a faster way than layer by layer; None: run layer by layer."""
        return None

    def reset_parameters(self, init: str = "default", forget_bias: float | None = None) -> None:
        """Initialise weights by policy: ``default`` (torch's uniform ±1/√H), ``xavier``
        (input weights) + ``orthogonal`` recurrent weights, or ``orthogonal`` for both.
        Biases are zeroed by xavier/orthogonal; ``forget_bias`` then sets the forget-gate
        slice of the bias (Jozefowicz et al. 2015 recommend 1.0 for LSTMs)."""
        init_recurrent_weights(self, init, forget_bias)


def step_loop(cell: Cell, x: Tensor, state: State, lengths: Tensor | None = None, *,
              step: Callable[[Tensor, State], tuple[Tensor, State]] | None = None
              ) -> tuple[Tensor, State]:
    """Reference: apply ``cell`` one step at a time with padding masks.

    x: (B, T, I). Rows shorter than T keep their state past their length and emit zeros,
    so the result does not depend on how much padding follows a sequence.

    ``step(x[:, t], state) -> (y_t, state)`` replaces the cell's own step: a fast path
    that hoists work out of the loop (all input projections in one matmul) passes what
    it precomputed as x and the rest of the step here.
    """
    B, T, _ = x.shape
    step = cell if step is None else step
    if lengths is not None:
        lengths = torch.as_tensor(lengths).to(x.device)  # (B,) on x's device (CPU is usual)
    outputs = []
    # unbind, not x[:, t]: one backward node for all steps (each x[:, t]'s would write a
    # full (B, T, I) gradient, O(T²) over the sequence)
    for t, x_t in enumerate(x.unbind(1)):
        y_t, new_state = step(x_t, state)  # (B, H)
        if lengths is not None:
            valid = (lengths > t).unsqueeze(1)  # (B, 1)
            new_state = tuple(torch.where(valid, n, o) for n, o in zip(new_state, state))
            y_t = y_t * valid.to(y_t.dtype)
        state = new_state
        outputs.append(y_t)
    if not outputs:
        return x.new_zeros(B, 0, cell.hidden_size), state
    return torch.stack(outputs, dim=1), state  # (B, T, H)


def clamp_lengths(lengths: Tensor, T: int, device: torch.device) -> Tensor:
    """``lengths`` (B,) as int64 on ``device``, clamped to [0, T] (lengths > T mean T, as in
    :func:`step_loop`)."""
    return torch.as_tensor(lengths).to(device=device, dtype=torch.int64).clamp(0, T)


def valid_steps(lengths: Tensor, T: int) -> Tensor:
    """(B, T, 1) bool, True at each row's valid steps; ``lengths`` from :func:`clamp_lengths`."""
    steps = torch.arange(T, device=lengths.device)  # (T,)
    return (steps.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)  # (B, T, 1)


def last_valid(seq: Tensor, lengths: Tensor, initial: Tensor) -> Tensor:
    """What a row holds after its last valid step: ``seq`` (B, T, W) at step length − 1,
    ``initial`` (B, W) for rows of length 0. For fast paths that run a causal computation
    over every step (padding only follows the valid prefix, so it cannot change it) and
    then read the final state where :func:`step_loop` would have stopped."""
    B, _, W = seq.shape
    last = (lengths - 1).clamp(min=0).view(B, 1, 1).expand(B, 1, W)
    return torch.where((lengths > 0).unsqueeze(1), seq.gather(1, last).squeeze(1), initial)


#: the policies :func:`init_recurrent_weights` (and ``Cell.reset_parameters``) accept
INIT_POLICIES = ("default", "xavier", "orthogonal")


def init_recurrent_weights(module: nn.Module, init: str, forget_bias: float | None,
                           num_gates: int | None = None, forget_gate: int | None = None) -> None:
    """Apply an init policy to every ``weight_ih*``/``weight_hh*``/``bias*`` parameter of
    ``module`` (torch's naming, gates stacked along dim 0)."""
    if init not in INIT_POLICIES:
        raise ValueError(f"unknown init policy {init!r}; choose one of {', '.join(INIT_POLICIES)}")
    num_gates = num_gates if num_gates is not None else getattr(module, "num_gates", 1)
    forget_gate = forget_gate if forget_gate is not None else getattr(module, "forget_gate", None)
    hidden = getattr(module, "hidden_size")
    for name, p in module.named_parameters():
        if p.dim() < 2 and not name.startswith("bias"):
            continue  # e.g. LayerNorm gains: left to their own init
        if init == "default":
            if name.startswith(("weight", "bias")):
                bound = 1.0 / math.sqrt(hidden)
                nn.init.uniform_(p, -bound, bound)
        elif name.startswith("weight_hh"):
            for g in range(num_gates):  # orthogonal per gate block: (H, H) each
                nn.init.orthogonal_(p.data[g * hidden:(g + 1) * hidden])
        elif name.startswith("weight_ih"):
            if init == "xavier":
                for g in range(num_gates):
                    nn.init.xavier_uniform_(p.data[g * hidden:(g + 1) * hidden])
            else:
                nn.init.orthogonal_(p.data)
        elif name.startswith("bias"):
            nn.init.zeros_(p)
    if forget_bias is not None and forget_gate is not None:
        # torch adds bias_ih and bias_hh; put the whole forget bias in bias_ih only.
        for name, p in module.named_parameters():
            if name.startswith("bias"):
                with torch.no_grad():
                    sl = slice(forget_gate * hidden, (forget_gate + 1) * hidden)
                    p[sl] = forget_bias if name.startswith("bias_ih") else 0.0
