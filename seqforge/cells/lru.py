r"""LRU, the Linear Recurrent Unit (Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De
2023, "Resurrecting Recurrent Neural Networks for Long Sequences", arXiv:2303.06349:
§3.1 linear recurrence, eq. (1) without its nonlinearity; §3.2 complex diagonal
recurrence; §3.3 stable exponential parametrisation and Lemma 3.2, the ring
initialisation; §3.4 the γ normalisation; Appendix A, the LRU layer and block)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Tensor, nn

from .base import Cell, State, clamp_lengths, init_recurrent_weights, last_valid, valid_steps
from .diagonal import DiagonalScanParams, diagonal_scan
from .scan import recurrence_dtype


class LRUParams(DiagonalScanParams):
    """``model.cell: {name: lru, r_min: 0.9, r_max: 0.999}``"""

    #: N, the complex state's size (default: hidden_size)
    state_size: int | None = Field(None, ge=1)
    #: ring initialisation (Lemma 3.2): |λ| uniform on the ring r_min ≤ |λ| ≤ r_max
    r_min: float = Field(0.0, ge=0, lt=1)
    r_max: float = Field(1.0, gt=0, le=1)
    #: arg λ uniform in [0, max_phase] (the paper's 2π; π/10 for its longest tasks)
    max_phase: float = Field(2 * math.pi, gt=0, le=2 * math.pi)
    #: the output nonlinearity: ``gelu``, as the LRU block (Appendix A, Fig. 1) applies
    #: after the layer, so stacked layers compose to more than one linear map; ``none``
    #: for the bare linear layer
    activation: Literal["gelu", "none"] = "gelu"

    @model_validator(mode="after")
    def _ring(self) -> LRUParams:
        if self.r_min >= self.r_max:
            raise ValueError(f"r_min ({self.r_min}) must be below r_max ({self.r_max})")
        return self


class LRUCell(Cell):
    r"""Linear recurrent unit: a complex diagonal linear recurrence with a real readout.

    Equations (one step, x: (B, I), complex state h: (B, N), output y: (B, H))::

        λ  = exp(−exp(ν) + i·exp(θ))         stable exponential parametrisation (§3.3)
        h' = λ ⊙ h + γ ⊙ (B x)               B = B_re + i·B_im; γ = exp(γ_log)  (§3.2, §3.4)
        y  = φ(Re(C h') + D x)               C = C_re + i·C_im; φ = GELU or identity

    |λ| = exp(−exp(ν)) < 1 for every real ν, so the recurrence is stable by construction
    and a complex λ gives h rotating modes. γ_log is learnt, initialised to
    log √(1 − |λ|²) (§3.4), which keeps h's scale that of B x whatever |λ|. ν and θ start
    from the ring initialisation (Lemma 3.2): |λ|² uniform in [r_min², r_max²], arg λ
    uniform in [0, max_phase]. D is a dense (H, I) map here (the paper's model has I = H
    and a diagonal D).

    Parameters: ``weight_ih`` (2N, I) = [B_re; B_im] (the init policy applies to it; the
    paper: normal, std 1/√(2I)); ``nu_log``, ``theta_log``, ``gamma_log`` (N,);
    ``weight_out`` (H, 2N) = [C_re, −C_im], so Re(C h) = weight_out · [Re h; Im h]
    (std 1/√N); ``weight_skip`` (H, I) = D (std 1/√I) — these always get the paper's
    initialisation. No bias (the paper's layer has none).

    State: ``(y, h_re, h_im)``, (B, H), (B, N), (B, N): seqforge states are real, so the
    complex h travels as its two parts; ``state[0]`` is the last output y — what a
    decoder or attention reads as "h" — and the step does not read it back (the
    recurrence is h's alone). Sequence path: one complex diagonal scan with a_t = λ
    (``linear_scan`` on complex tensors on CPU — one complex ``addcmul`` per step, 3.1×
    faster than the same loop as a real 2×2 rotation of (Re h, Im h): 21 vs 66 ms for
    B=8, T=4096, N=64 on one thread; recursive doubling elsewhere).
    """

    Params: ClassVar[type[LRUParams]] = LRUParams
    params: LRUParams
    num_gates: ClassVar[int] = 2  # weight_ih stacks B_re, B_im: N rows each
    num_states: ClassVar[int] = 3
    forget_gate: ClassVar[int | None] = None

    def __init__(self, input_size: int, hidden_size: int, params: LRUParams | None = None):
        super().__init__(input_size, hidden_size, params)
        N = self.state_size
        self.weight_ih = nn.Parameter(torch.empty(2 * N, input_size))  # (2N, I): B_re; B_im
        self.nu_log = nn.Parameter(torch.empty(N))  # (N,)
        self.theta_log = nn.Parameter(torch.empty(N))  # (N,)
        self.gamma_log = nn.Parameter(torch.empty(N))  # (N,)
        self.weight_out = nn.Parameter(torch.empty(hidden_size, 2 * N))  # (H, 2N): C_re, −C_im
        self.weight_skip = nn.Parameter(torch.empty(hidden_size, input_size))  # (H, I): D
        self.reset_parameters()

    @property
    def state_size(self) -> int:
        return self.params.state_size or self.hidden_size

    def state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size, self.state_size, self.state_size)

    def reset_parameters(self, init: str = "default", forget_bias: float | None = None) -> None:
        """The init policy for B (``weight_ih``, N rows per part); the paper's
        initialisation (Lemma 3.2, §3.4, Appendix A) for λ, γ, C and D."""
        N, p = self.state_size, self.params
        init_recurrent_weights(self, init, forget_bias, num_gates=2)
        # init_recurrent_weights splits gate blocks of hidden_size rows: B has N per part
        if init == "xavier" and N != self.hidden_size:
            for part in self.weight_ih.data.split(N):
                nn.init.xavier_uniform_(part)
        with torch.no_grad():
            u1, u2 = torch.rand(N), torch.rand(N)
            # |λ|² uniform in [r_min², r_max²]: ν = −½ log|λ|² (clamped away from |λ| = 0, 1)
            mag2 = (u1 * (p.r_max ** 2 - p.r_min ** 2) + p.r_min ** 2).clamp(1e-12, 1 - 1e-7)
            nu = -0.5 * torch.log(mag2)
            self.nu_log.copy_(torch.log(nu))
            self.theta_log.copy_(torch.log((u2 * p.max_phase).clamp(min=1e-7)))
            self.gamma_log.copy_(0.5 * torch.log(-torch.expm1(-2 * nu)))  # log √(1 − |λ|²)
            nn.init.normal_(self.weight_out, std=1 / math.sqrt(N))
            nn.init.normal_(self.weight_skip, std=1 / math.sqrt(self.input_size))

    # -- compute ------------------------------------------------------------------------------
    def _lambda(self, dtype: torch.dtype) -> Tensor:
        """λ (N,) complex of ``dtype``'s precision."""
        nu, theta = self.nu_log.to(dtype).exp(), self.theta_log.to(dtype).exp()
        return torch.polar(torch.exp(-nu), theta)  # |λ| = e^{−ν}, arg λ = θ

    def _input(self, x: Tensor, like: Tensor) -> tuple[Tensor, torch.dtype]:
        """γ ⊙ (B x) (..., N) complex, in float32 at least (complex bf16 does not exist),
        and the result dtype."""
        u, out_dtype = recurrence_dtype(F.linear(x, self.weight_ih), like)  # (..., 2N)
        u_re, u_im = u.chunk(2, dim=-1)
        gamma = self.gamma_log.to(u.dtype).exp()  # (N,)
        return torch.complex(gamma * u_re, gamma * u_im), out_dtype

    def _output(self, x: Tensor, h_re: Tensor, h_im: Tensor) -> Tensor:
        """y = φ(Re(C h) + D x): (..., H)."""
        y = F.linear(torch.cat([h_re, h_im], dim=-1), self.weight_out.to(h_re.dtype))
        y = y + F.linear(x, self.weight_skip).to(y.dtype)
        return F.gelu(y) if self.params.activation == "gelu" else y

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state (y, h_re, h_im) -> y' (B, H), (y', h_re', h_im')."""
        _, h_re, h_im = state
        bx, out_dtype = self._input(x_t, h_re)  # (B, N) complex
        rdt = bx.real.dtype
        h = self._lambda(rdt) * torch.complex(h_re.to(rdt), h_im.to(rdt)) + bx  # λ ⊙ h + γ ⊙ Bx
        y = self._output(x_t, h.real, h.imag).to(out_dtype)
        return y, (y, h.real.to(out_dtype), h.imag.to(out_dtype))

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """x: (B, T, I), state (y0, h_re0, h_im0) -> y (B, T, H), final state.

        B x for every step in one matmul, one complex scan with a_t = λ, the readout in one
        matmul. With ``lengths`` the scan runs over every step (padding only follows the
        valid prefix; the scan is causal), outputs past a row's length are zeroed and its
        final state is read at its last valid step.
        """
        y0, h_re0, h_im0 = state
        B, T, _ = x.shape
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), tuple(state)
        bx, out_dtype = self._input(x, h_re0)  # (B, T, N) complex
        rdt = bx.real.dtype
        lam = self._lambda(rdt).expand_as(bx)  # (B, T, N): a_t = λ at every step
        h0 = torch.complex(h_re0.to(rdt), h_im0.to(rdt))  # (B, N)
        h = diagonal_scan(lam, bx, h0, self.params)  # (B, T, N) complex
        h_re, h_im = h.real, h.imag
        y = self._output(x, h_re, h_im).to(out_dtype)  # (B, T, H)
        h_re, h_im = h_re.to(out_dtype), h_im.to(out_dtype)
        if lengths is None:
            return y, (y[:, -1], h_re[:, -1], h_im[:, -1])
        lengths = clamp_lengths(lengths, T, x.device)
        y_out = torch.where(valid_steps(lengths, T), y, y.new_zeros(()))  # 0 past the length
        return y_out, (last_valid(y, lengths, y0), last_valid(h_re, lengths, h_re0),
                       last_valid(h_im, lengths, h_im0))
