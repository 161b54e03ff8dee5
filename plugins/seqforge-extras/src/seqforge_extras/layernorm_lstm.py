"""Layer-normalised LSTM cell (Ba, Kiros & Hinton 2016, "Layer Normalization", §3.1).

One step, gate order ``i, f, g, o`` as in torch::

    gates = LN(W_ih x_t; γ_ih) + b_ih + LN(W_hh h_{t-1}; γ_hh) + b_hh      (4H, one LN each)
    i, f, o = σ(·);  g = tanh(·)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(LN(c_t; γ_c, β_c))

Each LayerNorm normalises the whole 4H pre-activation (as in the paper and in torch's
``benchmarks/fastrnns`` reference); the additive shift of the two gate LayerNorms is the
torch-layout ``bias_ih``/``bias_hh`` so init policies (``forget_bias``) apply unchanged.

:meth:`LayerNormLSTMCell.forward` is the readable step. :meth:`~LayerNormLSTMCell.
forward_sequence` is the fast path (see ``bench/bench_custom_cell.py`` for the
measurements that chose it):

* the input half — ``LN(W_ih x) + b`` for every time step — is hoisted out of the loop as
  one (B·T, I)×(I, 4H) matmul (ordinary autograd) and one LayerNorm;
* that LayerNorm and the recurrence run in one :class:`torch.autograd.Function` with a
  hand-written BPTT backward (:mod:`seqforge_extras._lnlstm_bptt`): the forward loop saves the gate
  activations and LayerNorm statistics without building an autograd graph, the backward
  walks time in reverse doing only what is inherently sequential, and every
  parameter-gradient reduction (dW_hh = Σ_t dhh_tᵀ h_{t-1}, the LayerNorm gains/shifts) is
  one large matmul / reduction over all time steps at the end; both loops are compiled by
  TorchScript (plain Python without it);
* on CPU that node runs with torch's intra-op threads capped (``loop_threads``; by default
  1 for small steps such as the stock B=32, H=50): its (B, 4H)-sized kernels only pay
  OpenMP/MKL fork-joins for more threads — ruinously so on shared cores.

The fast path is exactly the step function (checked against :func:`step_loop` in float64
and by ``gradcheck``); it is differentiable once (no double backward).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from seqforge.cells.base import Cell, CellParams, State, init_recurrent_weights

from . import _lnlstm_bptt


def _autocast_enabled(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return device_type == "cuda" and torch.is_autocast_enabled()


#: per-step recurrent matmul size (B·4H·H multiply-adds) up to which the fused loops run
#: single-threaded by default (the stock 32×200×50 is 320k)
SMALL_STEP_MACS = 1 << 22


class LayerNormLSTMParams(CellParams):
    """``model.cell: {name: layernorm_lstm, eps: 1e-5}``"""

    #: LayerNorm epsilon (added to the variance)
    eps: float = Field(1e-5, gt=0)
    #: on CPU, cap torch's intra-op threads at this many while the fast path runs
    #: everything but the input matmul (0: leave torch's setting; None: 1 when a step's
    #: recurrent matmul is small, see :meth:`LayerNormLSTMCell.loop_threads`). Small
    #: per-step kernels gain nothing from threads and pay a fork/join each.
    loop_threads: int | None = Field(None, ge=0)


class LayerNormLSTMCell(Cell):
    """Layer-normalised LSTM cell (Ba et al. 2016) with a fused BPTT sequence path."""

    Params = LayerNormLSTMParams
    num_states = 2
    forget_gate = 1
    num_gates = 4

    def __init__(self, input_size: int, hidden_size: int,
                 params: LayerNormLSTMParams | None = None):
        super().__init__(input_size, hidden_size, params)
        G = 4 * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, input_size))
        self.weight_hh = nn.Parameter(torch.empty(G, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(G))
        self.bias_hh = nn.Parameter(torch.empty(G))
        # LayerNorm gains (γ) of the two gate projections; their shifts are bias_ih/hh.
        self.ln_ih_weight = nn.Parameter(torch.empty(G))
        self.ln_hh_weight = nn.Parameter(torch.empty(G))
        # LayerNorm of the cell state before the output tanh.
        self.ln_c_weight = nn.Parameter(torch.empty(hidden_size))
        self.ln_c_bias = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    @property
    def eps(self) -> float:
        return self.params.eps

    def reset_parameters(self, init: str = "default", forget_bias: float | None = None) -> None:
        """LayerNorm gains to 1 and shifts to 0, then the recurrent-weight policy for the
        torch-layout ``weight_*``/``bias_*`` (see :meth:`Cell.reset_parameters`)."""
        init_recurrent_weights(self, init, forget_bias)  # ValueError on an unknown policy
        with torch.no_grad():
            for p in (self.ln_ih_weight, self.ln_hh_weight, self.ln_c_weight):
                p.fill_(1.0)
            self.ln_c_bias.zero_()

    # -- one step (the definition) ---------------------------------------------------------
    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        h, c = state
        G = 4 * self.hidden_size
        gi = F.layer_norm(F.linear(x_t, self.weight_ih), (G,), self.ln_ih_weight,
                          self.bias_ih, self.eps)
        gh = F.layer_norm(F.linear(h, self.weight_hh), (G,), self.ln_hh_weight,
                          self.bias_hh, self.eps)
        i, f, g, o = (gi + gh).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        cn = F.layer_norm(c, (self.hidden_size,), self.ln_c_weight, self.ln_c_bias, self.eps)
        h = o * torch.tanh(cn)
        return h, (h, c)

    # -- the fast path -----------------------------------------------------------------------
    def input_gates(self, x: Tensor) -> Tensor:
        """The hoisted input half for all steps: ``LN(W_ih x_t) + b_ih + b_hh``,
        x (B, T, I) -> (T, B, 4H) contiguous, time-major."""
        G = 4 * self.hidden_size
        z = F.linear(x.transpose(0, 1), self.weight_ih)
        z = F.layer_norm(z, (G,), self.ln_ih_weight, self.bias_ih + self.bias_hh, self.eps)
        return z.contiguous()

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        dev = x.device.type
        if _autocast_enabled(dev):
            # The fused recurrence runs in the parameters' dtype: under autocast the
            # hoisted matmul would otherwise hand it lower-precision gates.
            dtype = self.weight_hh.dtype
            with torch.autocast(dev, enabled=False):
                return self._fused_sequence(x.to(dtype), tuple(s.to(dtype) for s in state),
                                            lengths)
        return self._fused_sequence(x, state, lengths)

    def _fused_sequence(self, x: Tensor, state: State,
                        lengths: Tensor | None) -> tuple[Tensor, State]:
        B, T, _ = x.shape
        h0, c0 = state
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), state
        mask = None
        if lengths is not None:
            steps = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
            valid = steps < lengths.to(x.device).unsqueeze(0)  # (T, B)
            if not bool(valid.all()):
                mask = valid.unsqueeze(-1)  # (T, B, 1) bool
        z = F.linear(x.transpose(0, 1), self.weight_ih)  # (T, B, 4H): one matmul, all threads
        y, h, c = _lnlstm_bptt.LNLSTMRecurrence.apply(
            z, self.ln_ih_weight, self.bias_ih + self.bias_hh, self.weight_hh,
            self.ln_hh_weight, self.ln_c_weight, self.ln_c_bias, h0, c0, mask, self.eps, None,
            self.loop_threads(B))
        return y.transpose(0, 1), (h, c)  # y (B, T, H): batch-first view, like nn.LSTM's

    def loop_threads(self, batch: int) -> int:
        """Intra-op thread cap for the fused loops (0: none): ``params.loop_threads``, or
        when that is None, 1 if a step's recurrent matmul is small (B·4H·H ≤ 2²² MACs, a
        few tens of µs: threads cost more than they save), else 0."""
        n = self.params.loop_threads
        if n is not None:
            return n
        return 1 if batch * 4 * self.hidden_size * self.hidden_size <= SMALL_STEP_MACS else 0

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, eps={self.eps}"
