r"""mLSTM, xLSTM's matrix-memory LSTM (Beck, Pöppel, Spanring, Auer, Prudnikova, Kopp,
Klambauer, Brandstetter & Hochreiter 2024, "xLSTM: Extended Long Short-Term Memory",
arXiv:2405.04517, §2.3, equations (19)–(27); the parallel form of its Appendix A.3)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from .base import Cell, CellParams, State, clamp_lengths, init_recurrent_weights, last_valid, valid_steps
from .scan import recurrence_dtype


class MLSTMParams(CellParams):
    """``model.cell: {name: mlstm, num_heads: 4, chunk_size: 64}``"""

    #: heads, each with its own d × d memory, d = hidden_size / num_heads (a multiple)
    num_heads: int = Field(1, ge=1)
    #: forget gate f = σ(f̃) or exp(f̃), eq. (26)
    forget: Literal["sigmoid", "exp"] = "sigmoid"
    #: sequence path: the parallel form inside chunks of this many steps, the recurrent
    #: form carrying (C, n, m) between chunks — O(T·chunk) time and memory; 0 = the fully
    #: parallel form over the whole sequence (O(T²))
    chunk_size: int = Field(64, ge=0)
    #: learn ``bias_ih`` (of q, k, v, o)
    bias: bool = True


class MLSTMCell(Cell):
    r"""mLSTM: a d × d matrix memory per head, written with outer products v kᵀ and read
    with a query, under exponential gating. No memory mixing (no h in the gates), so
    the sequence has a parallel form.

    Equations (one step, per head, x: (B, I); C: d × d, n, q, k, v: d; ĩ, f̃, m scalars)::

        q = W_q x + b_q,  k = (W_k x + b_k) / √d,  v = W_v x + b_v            (22)–(24)
        ĩ = w_iᵀ x + b_i,  f̃ = w_fᵀ x + b_f,  o = σ(W_o x + b_o)           (25)–(27)
        m' = max(log f + m, ĩ)                           stabiliser (the sLSTM's (15))
        i' = exp(ĩ − m'),  f' = exp(log f + m − m')
        C' = f' C + i' v kᵀ                              memory                  (19)
        n' = f' n + i' k                                 normaliser              (20)
        h' = o ⊙ C' q / max(|n'ᵀ q|, exp(−m'))           hidden state            (21)

    log f = log σ(f̃) (or f̃); i = exp(ĩ). The stabilised (C, n) are the paper's times
    exp(−m), so the denominator's exp(−m') is the paper's max(|nᵀq|, 1): the output is
    that of (19)–(21) whatever m holds.

    Parallel form (Appendix A.3), within a chunk of L steps entering with (C₀, n₀, m₀):
    with b_t = Σ_{s≤t} log f_s, the weight of step s in step t's memory is
    log D_ts = b_t − b_s + ĩ_s (s ≤ t), of the incoming memory b_t + m₀; m_t is the
    largest of them — exactly the recurrent m_t — and::

        S = (Q Kᵀ) ⊙ exp(log D − m)                       (L, L), causal
        h̃_t = (S V + e^{b_t + m₀ − m_t} Q C₀ᵀ)_t / max(|(S 1 + e^{…} Q n₀)_t|, e^{−m_t})

    The memory after the chunk is the last row of those weights applied to v kᵀ plus
    the decayed C₀, so chunks chain exactly. Padded steps (``lengths``) become identity
    steps (f = 1, i = 0): the final state is that after each row's last valid step.

    Parameters: ``weight_ih`` (4H, I), ``bias_ih`` (4H,) stack q, k, v, o (the init
    policy applies); ``weight_if`` (2·heads, I), ``bias_if`` (2·heads,) the input and
    forget gates, initialised as the reference code does (zero weights, input bias
    N(0, 0.1²), forget biases from 3 to 6 across heads — for an exponential forget gate
    log σ of those, so that f starts the same — or ``forget_bias``).
    State: ``(h (B, H), C (B, heads·d²), n (B, H), m (B, heads))``, C flattened per head
    row-major (value index, key index).
    """

    Params: ClassVar[type[MLSTMParams]] = MLSTMParams
    params: MLSTMParams
    num_gates: ClassVar[int] = 4
    num_states: ClassVar[int] = 4
    forget_gate: ClassVar[int | None] = None  # per head, in bias_if: see reset_parameters

    def __init__(self, input_size: int, hidden_size: int, params: MLSTMParams | None = None):
        super().__init__(input_size, hidden_size, params)
        heads = self.params.num_heads
        if hidden_size % heads:
            raise ValueError(f"mlstm: hidden_size {hidden_size} is not a multiple of "
                             f"num_heads {heads}")
        self.head_size = hidden_size // heads
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # (4H, I)
        self.add_bias(4 * hidden_size)  # bias_ih (4H,)
        self.weight_if = nn.Parameter(torch.empty(2 * heads, input_size))  # (2·heads, I)
        self.bias_if = nn.Parameter(torch.empty(2 * heads))  # (2·heads,)
        self.reset_parameters()

    def state_sizes(self) -> tuple[int, ...]:
        heads, d = self.params.num_heads, self.head_size
        return (self.hidden_size, heads * d * d, self.hidden_size, heads)

    def reset_parameters(self, init: str = "default", forget_bias: float | None = None) -> None:
        """The init policy for q, k, v, o; the reference initialisation for the gates."""
        init_recurrent_weights(self, init, None)
        heads = self.params.num_heads
        with torch.no_grad():
            nn.init.zeros_(self.weight_if)
            nn.init.normal_(self.bias_if[:heads], std=0.1)
            if forget_bias is not None:
                self.bias_if[heads:] = forget_bias
                return
            f = torch.linspace(3.0, 6.0, heads)  # σ(f̃) from 0.95 to 0.998 across heads
            # an exponential forget gate starts at the same f: f̃ = log σ(·), not f = e³
            self.bias_if[heads:] = f if self.params.forget == "sigmoid" else -F.softplus(-f)

    # -- compute ------------------------------------------------------------------------------
    def _project(self, x: Tensor, h: Tensor):
        """x (..., I) -> q, k, v, o (..., H) and ĩ, log f (..., heads), in the dtype the
        recurrence runs in (float32 at least), and the result dtype."""
        pre, out_dtype = recurrence_dtype(F.linear(x, self.weight_ih, self.bias_ih), h)
        gates = F.linear(x, self.weight_if, self.bias_if).to(pre.dtype)  # (..., 2·heads)
        q, k, v, o = pre.chunk(4, dim=-1)
        i_, f_ = gates.chunk(2, dim=-1)
        log_f = f_ if self.params.forget == "exp" else -F.softplus(-f_)  # log σ(f̃)
        return q, k / math.sqrt(self.head_size), v, o, i_, log_f, out_dtype

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state (h, C, n, m) -> h' (B, H), state."""
        h, C, n, m = state
        B, heads, d = x_t.shape[0], self.params.num_heads, self.head_size
        q, k, v, o, i_, log_f, out_dtype = self._project(x_t, h)
        q, k, v = (t.view(B, heads, d) for t in (q, k, v))  # (B, heads, d)
        dt = q.dtype
        m = m.to(dt)
        m_new = torch.maximum(log_f + m, i_)  # (B, heads)
        f = torch.exp(log_f + m - m_new).unsqueeze(-1)  # (B, heads, 1)
        i = torch.exp(i_ - m_new).unsqueeze(-1)
        C_new = f.unsqueeze(-1) * C.to(dt).view(B, heads, d, d) \
            + (i * v).unsqueeze(-1) * k.unsqueeze(-2)  # (B, heads, d, d): f'C + i' v kᵀ
        n_new = f * n.to(dt).view(B, heads, d) + i * k  # (B, heads, d)
        with _full_precision(q):
            num = (C_new @ q.unsqueeze(-1)).squeeze(-1)  # (B, heads, d): C' q
        den = torch.maximum((n_new * q).sum(-1).abs(), torch.exp(-m_new))  # (B, heads)
        h_new = torch.sigmoid(o) * (num / den.unsqueeze(-1)).reshape(B, -1)  # (B, H)
        new = tuple(t.reshape(B, -1).to(out_dtype) for t in (h_new, C_new, n_new, m_new))
        return new[0], new

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """x: (B, T, I), state (h0, C0, n0, m0) -> y (B, T, H), final state: all
        projections in one matmul, then the parallel form chunk by chunk (class docstring)."""
        h0, C0, n0, m0 = state
        B, T, _ = x.shape
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), tuple(state)
        heads, d = self.params.num_heads, self.head_size
        q, k, v, o, i_, log_f, out_dtype = self._project(x, h0)  # (B, T, H) / (B, T, heads)
        if lengths is not None:  # padded steps: f = 1, i = 0, the state passes unchanged
            lengths = clamp_lengths(lengths, T, x.device)
            valid = valid_steps(lengths, T)  # (B, T, 1)
            log_f = torch.where(valid, log_f, log_f.new_zeros(()))
            i_ = torch.where(valid, i_, i_.new_full((), float("-inf")))
        q, k, v = (t.view(B, T, heads, d).transpose(1, 2) for t in (q, k, v))  # (B, heads, T, d)
        i_, log_f = i_.transpose(1, 2), log_f.transpose(1, 2)  # (B, heads, T)
        dt = q.dtype
        mem = (C0.to(dt).view(B, heads, d, d), n0.to(dt).view(B, heads, d), m0.to(dt))
        L = self.params.chunk_size or T
        outs = []
        # split, not slices: one backward node for all chunks (each slice's would write a
        # full-length gradient, O(T²/L) over the sequence)
        chunks = zip(*(t.split(L, dim=2) for t in (q, k, v, i_, log_f)))
        with _full_precision(q):
            for part in chunks:
                h_part, mem = _chunk(*part, *mem)
                outs.append(h_part)  # (B, heads, L, d)
        h_tilde = torch.cat(outs, dim=2).transpose(1, 2).reshape(B, T, -1)  # (B, T, H)
        h = (torch.sigmoid(o) * h_tilde).to(out_dtype)
        C, n, m = (t.reshape(B, -1).to(out_dtype) for t in mem)
        if lengths is None:
            return h, (h[:, -1], C, n, m)
        y = torch.where(valid, h, h.new_zeros(()))  # (B, T, H), exactly 0 past the length
        return y, (last_valid(h, lengths, h0), C, n, m)


def _full_precision(like: Tensor):
    """Autocast off: the memory's matmuls run in the recurrence's dtype (float32 at
    least), not in bf16/fp16, whose mantissas cannot carry a memory across many steps."""
    return torch.autocast(like.device.type, enabled=False)


def _chunk(q: Tensor, k: Tensor, v: Tensor, i_: Tensor, log_f: Tensor, C0: Tensor,
           n0: Tensor, m0: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """The parallel form over one chunk (see :class:`MLSTMCell`).

    q, k, v: (B, heads, L, d); ĩ, log f: (B, heads, L); entering memory C0 (B, heads, d, d),
    n0 (B, heads, d), m0 (B, heads) -> h̃ (B, heads, L, d) and the memory after the chunk.
    """
    L = q.shape[2]
    b = torch.cumsum(log_f, dim=-1)  # (B, heads, L): log ∏_{s≤t} f_s within the chunk
    causal = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()  # [t, s]: s ≤ t
    log_D = (b.unsqueeze(-1) - b.unsqueeze(-2) + i_.unsqueeze(-2))  # (B, heads, L, L)
    log_D = log_D.masked_fill(~causal, float("-inf"))
    log_init = b + m0.unsqueeze(-1)  # (B, heads, L): the incoming memory's weight
    m = torch.maximum(log_D.amax(dim=-1), log_init)  # (B, heads, L): the recurrent m_t
    D = torch.exp(log_D - m.unsqueeze(-1))  # (B, heads, L, L)
    g = torch.exp(log_init - m)  # (B, heads, L)
    S = (q @ k.transpose(-1, -2)) * D  # (B, heads, L, L)
    num = S @ v + g.unsqueeze(-1) * (q @ C0.transpose(-1, -2))  # (B, heads, L, d)
    den = S.sum(-1) + g * (q @ n0.unsqueeze(-1)).squeeze(-1)  # (B, heads, L): nᵀq
    h = num / torch.maximum(den.abs(), torch.exp(-m)).unsqueeze(-1)
    w, g_end = D[..., -1, :].unsqueeze(-1), g[..., -1]  # (B, heads, L, 1), (B, heads)
    C = g_end[..., None, None] * C0 + (w * v).transpose(-1, -2) @ k  # Σ_s w_s v_s k_sᵀ
    n = g_end.unsqueeze(-1) * n0 + (w * k).sum(-2)  # (B, heads, d)
    return h, (C, n, m[..., -1])
