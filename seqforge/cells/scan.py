r"""Scans for the first-order linear recurrence h_t = a_t ⊙ h_{t−1} + b_t, and the base
class of the parallel-scan cells (minGRU, minLSTM; Feng et al. 2024, "Were RNNs All We
Needed?", arXiv:2410.01201).

Shapes: ``a``, ``b`` (and their logs) are (B, T, H), batch-first with time on dim 1;
``h0`` is (B, H) (``(B, 1, H)`` is accepted too); every scan returns h (B, T, H) with
``h[:, t]`` the state *after* step t (h_{-1} = h0).

The math
--------
Unrolling the recurrence, with A_t = ∏_{s≤t} a_s::

    h_t = A_t h0 + Σ_{s≤t} (A_t / A_s) b_s

For a_t > 0 and b_t > 0 this is a pair of prefix sums in log space (a* = cumsum(log a))::

    log h_t = a*_t + log( exp(log h0) + Σ_{s≤t} exp(log b_s − a*_s) )
            = a*_t + logcumsumexp(log b − a*)_t            (h0 term added separately)

which is the paper's Listing (``parallel_scan_log``): O(log T) depth, no loop over time,
and the logs keep A_t = e^{a*_t} from underflowing however long the sequence.

Three implementations, one function:

:func:`sequential_scan`
    The reference: a Python loop through autograd. For tests.
:func:`parallel_scan_log`
    The paper's log-space parallel scan (``cumsum`` + ``logcumsumexp``). Two deviations
    from the Listing, both for robustness, neither changing the function:

    * the h0 term is kept out of ``logcumsumexp`` (h = e^{a*}·h0 + e^{a* + lcse(…)}), so
      h0 = 0 (log h0 = −inf, the usual zero initial state) gives finite gradients —
      ``logcumsumexp``'s backward returns NaN at a −inf input — and :func:`log_scan`
      takes a linear h0 of any sign (a state carried over from a previous window);
    * optional chunking (``chunk_size``): the log-space scan runs inside chunks of
      ``chunk_size`` steps and a short linear scan carries the state from chunk to chunk.
      Unchunked, float32 loses precision in long sequences: log h_t is the sum of a*_t
      and lcse(…)_t, two numbers of size |a*_t| that cancel, so the relative error of h
      grows like |a*_t|·ε — measured 2e-4 (T=1024, gates around 0.5) to 2e-3 (saturated
      gates). Chunking bounds |a*| by one chunk's decay.
:func:`linear_scan`
    The same recurrence in linear space, as one autograd Function whose forward and
    backward are tight loops of one fused ``addcmul`` per step over (B, H). No logs, no
    ``exp``, nothing to overflow (a_t ∈ (0, 1] only shrinks), exact to rounding, and
    ``b`` may have any sign. Its depth is T, not log T, but on a CPU — which has no
    spare parallel width to trade for depth — it is by far the fastest: ``logcumsumexp``
    costs ~75 ms forward and ~215 ms backward for 2 M elements on one core, the whole
    loop here ~6 ms each way (``bench/bench_scan.py``).

Backward of the recurrence (used by :class:`_LinearScan`): with g_t = ∂L/∂h_t summed
over every path, g_t = ∂L/∂y_t + a_{t+1} g_{t+1} — the same recurrence run backwards in
time — and ∂L/∂b_t = g_t, ∂L/∂a_t = g_t h_{t−1}, ∂L/∂h0 = a_0 g_0.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from .base import Cell, CellParams, State, clamp_lengths, last_valid, valid_steps

__all__ = [
    "sequential_scan", "parallel_scan_log", "log_scan", "linear_scan",
    "g", "log_g", "ScanCell", "ScanCellParams", "recurrence_dtype", "chunked", "join_chunks",
]


def _h0_2d(h0: Tensor, like: Tensor) -> Tensor:
    """(B, H) view of an initial state given as (B, H) or (B, 1, H)."""
    if h0.dim() == like.dim():
        if h0.shape[1] != 1:
            raise ValueError(f"h0 must be (B, H) or (B, 1, H); got {tuple(h0.shape)}")
        h0 = h0.squeeze(1)
    return h0


# -- reference ---------------------------------------------------------------------------

def sequential_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """Reference: h_t = a_t ⊙ h_{t-1} + b_t, one step at a time (autograd sees every step).

    a, b: (B, T, H); h0: (B, H) or (B, 1, H) -> h (B, T, H).
    """
    h = _h0_2d(h0, a)
    out = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]  # (B, H)
        out.append(h)
    if not out:
        return b.new_zeros(b.shape)
    return torch.stack(out, dim=1)


# -- log space -----------------------------------------------------------------------------

def parallel_scan_log(log_a: Tensor, log_b: Tensor, log_h0: Tensor | None = None, *,
                      chunk_size: int | None = None) -> Tensor:
    """The paper's log-space parallel scan: h_t = a_t ⊙ h_{t-1} + b_t for a, b, h0 > 0.

    log_a, log_b: (B, T, H), finite; log_h0: (B, 1, H) or (B, H), may be −inf (h0 = 0);
    ``None`` means h0 = 0. Returns h (B, T, H) — linear, not log.

    ``chunk_size``: None (default) scans the whole sequence at once, as the paper; an int
    runs the log scan inside chunks of that many steps and carries the state between
    chunks with :func:`linear_scan`, which bounds float32's error in long sequences.
    """
    if log_h0 is None:
        h0 = log_a.new_zeros(log_a.shape[0], log_a.shape[2])
    else:
        h0 = _h0_2d(log_h0, log_a).exp()  # exp(−inf) = 0, with zero (not NaN) gradient
    return log_scan(log_a, log_b, h0, chunk_size=chunk_size)


def log_scan(log_a: Tensor, log_b: Tensor, h0: Tensor, *,
             chunk_size: int | None = None) -> Tensor:
    """:func:`parallel_scan_log` with the initial state given in linear space (any sign).

    log_a, log_b: (B, T, H) finite; h0: (B, H) or (B, 1, H) -> h (B, T, H).
    """
    h0 = _h0_2d(h0, log_a)
    T = log_a.shape[1]
    if chunk_size is None or chunk_size <= 0 or chunk_size >= T:
        a_star = torch.cumsum(log_a, dim=1)  # (B, T, H): log A_t
        # h0 is kept out of logcumsumexp: see the module docstring
        h_b = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))  # (B, T, H)
        return torch.addcmul(h_b, torch.exp(a_star), h0.unsqueeze(1))
    la, lb = chunked(log_a, chunk_size, 0.0), chunked(log_b, chunk_size, 0.0)  # (B, K, C, H)
    a_star = torch.cumsum(la, dim=2)  # (B, K, C, H): decay from each chunk's start
    decay = torch.exp(a_star)  # (B, K, C, H)
    local = torch.exp(a_star + torch.logcumsumexp(lb - a_star, dim=2))  # chunk from h = 0
    return join_chunks(decay, local, h0, T)


def chunked(t: Tensor, C: int, fill: float) -> Tensor:
    """(B, T, H) -> (B, K, C, H), K = ⌈T / C⌉, padded at the end with ``fill``. Padded
    steps come after the real ones, so a causal scan cannot carry them back; callers drop
    them (:func:`join_chunks`)."""
    B, T, H = t.shape
    K = -(-T // C)
    if K * C > T:
        t = torch.cat([t, t.new_full((B, K * C - T, H), fill)], dim=1)
    return t.reshape(B, K, C, H)


def join_chunks(decay: Tensor, local: Tensor, h0: Tensor, T: int) -> Tensor:
    """Chunk-local scans -> the whole sequence's h (B, T, H).

    decay (B, K, C, H): ∏ a from each chunk's start to each step; local (B, K, C, H): h
    within each chunk started from 0. The state entering each chunk comes from a K-step
    linear scan over the chunks' end points; then h = local + decay ⊙ (state entering)."""
    B, K, C, H = local.shape
    ends = linear_scan(decay[:, :, -1], local[:, :, -1], h0)  # (B, K, H)
    starts = torch.cat([h0.unsqueeze(1), ends[:, :-1]], dim=1)  # (B, K, H)
    h = torch.addcmul(local, decay, starts.unsqueeze(2))  # (B, K, C, H)
    return h.reshape(B, K * C, H)[:, :T]


# -- linear space --------------------------------------------------------------------------

def _loop(a: Tensor, b: Tensor, h0: Tensor, reverse: bool) -> Tensor:
    """h_t = a_t h_{t∓1} + b_t without autograd: one ``addcmul`` per step. (B, T, H)."""
    T = a.shape[1]
    a_t, b_t = a.unbind(1), b.unbind(1)  # T × (B, H) views
    out: list[Tensor] = [h0] * T
    h = h0
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h = torch.addcmul(b_t[t], a_t[t], h)  # b_t + a_t ⊙ h
        out[t] = h
    return torch.stack(out, dim=1)


class _LinearScan(torch.autograd.Function):
    """h = scan(a, b, h0) forwards (h_t = a_t h_{t-1} + b_t) or, with ``reverse``,
    backwards in time (h_t = a_t h_{t+1} + b_t, h0 entering at t = T-1).

    The backward is the scan in the other direction, called through this Function, so
    it is itself differentiable (double backward works)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor, reverse: bool) -> Tensor:
        h = _loop(a, b, h0, reverse)
        ctx.reverse = reverse
        ctx.save_for_backward(a, h0, h)
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        a, h0, h = ctx.saved_tensors
        # complex a, b, h0 (the LRU): torch's gradients are conjugate Wirtinger derivatives,
        # ∂L/∂h_{t−1} = conj(a_t) ∂L/∂h_t and ∂L/∂a_t = g_t conj(h_{t−1}); real: no-ops
        a, h0, h = a.conj(), h0.conj(), h.conj()
        rev = ctx.reverse
        one = torch.ones_like(a[:, :1])
        # forward scan: g_t = grad_t + a_{t+1} g_{t+1}, a reverse scan with a shifted by one
        # (the factor at the last step multiplies g_T = 0, so 1 will do); and vice versa.
        a_next = torch.cat([one, a[:, :-1]], 1) if rev else torch.cat([a[:, 1:], one], 1)
        g = _LinearScan.apply(a_next, grad_h, torch.zeros_like(h0), not rev)  # (B, T, H)
        grad_a = grad_h0 = None
        if ctx.needs_input_grad[0]:  # g_t ⊙ (state before step t)
            h_prev = (torch.cat([h[:, 1:], h0.unsqueeze(1)], 1) if rev
                      else torch.cat([h0.unsqueeze(1), h[:, :-1]], 1))
            grad_a = g * h_prev
        if ctx.needs_input_grad[2]:
            grad_h0 = a[:, -1] * g[:, -1] if rev else a[:, 0] * g[:, 0]
        return grad_a, g, grad_h0, None


def linear_scan(a: Tensor, b: Tensor, h0: Tensor, *, reverse: bool = False) -> Tensor:
    """h_t = a_t ⊙ h_{t-1} + b_t in linear space (see the module docstring). Fast on CPU.

    a, b: (B, T, H) (same dtype and device, real or complex); h0: (B, H) or (B, 1, H) ->
    h (B, T, H). Stable for |a_t| ≤ 1 (any sign of b and h0). ``reverse`` runs from
    t = T-1 down.
    """
    h0 = _h0_2d(h0, a)
    if a.shape[1] == 0:
        return b.new_zeros(b.shape)
    return _LinearScan.apply(a, b, h0, reverse)


# -- the paper's activation g ----------------------------------------------------------------

def g(x: Tensor) -> Tensor:
    """g(x) = x + 0.5 for x ≥ 0, σ(x) for x < 0: continuous, positive, linear growth.

    Written as σ(min(x, 0)) + relu(x) — the same values as the two-branch form, in two
    cheap passes instead of a ``where`` over both branches. At exactly x = 0 autograd
    takes the left derivative σ'(0) = 1/4 (:func:`log_g` agrees)."""
    return torch.sigmoid(x.clamp(max=0.0)) + torch.relu(x)


def log_g(x: Tensor) -> Tensor:
    """log g(x), finite everywhere: log(x + 0.5) for x > 0, −softplus(−x) = log σ(x) else.

    ``relu`` inside the log keeps the unused branch finite, so ``where``'s backward never
    multiplies 0 by inf. The split is at x > 0, matching :func:`g`'s derivative at 0."""
    return torch.where(x > 0, torch.log(torch.relu(x) + 0.5), -F.softplus(-x))


# -- the cells' shared machinery -----------------------------------------------------------------

def recurrence_dtype(pre: Tensor, state: Tensor) -> tuple[Tensor, torch.dtype]:
    """Input pre-activations in the dtype a recurrence runs in (float32 at least), and the
    dtype its result has: that of ``pre`` combined with ``state`` (see :meth:`ScanCell._pre`)."""
    out_dtype = torch.promote_types(pre.dtype, state.dtype)
    return pre.to(torch.promote_types(pre.dtype, torch.float32)), out_dtype


class ScanCellParams(CellParams):
    """Parameters of the parallel-scan cells."""

    #: learn ``bias_ih``
    bias: bool = True
    #: sequence fast path: ``log`` — the paper's log-space parallel scan
    #: (``logcumsumexp``; parallel over time, for GPUs); ``linear`` — the fused
    #: linear-space scan (one ``addcmul`` per step; the fastest on CPU); ``auto`` —
    #: ``linear`` on CPU, ``log`` elsewhere. All three compute the same function.
    scan: Literal["auto", "linear", "log"] = "auto"
    #: ``log`` scan only: chunk length; the log scan runs inside chunks and a linear scan
    #: carries the state across them, keeping float32 accurate in long sequences.
    #: 0 = one chunk (the paper's whole-sequence scan).
    chunk_size: int = Field(default=64, ge=0)


class ScanCell(Cell):
    """A cell whose recurrence is h_t = a_t ⊙ h_{t-1} + b_t with a, b functions of x_t only.

    Subclasses set ``num_gates`` and implement :meth:`coefficients` (a, b from the input
    pre-activations) and :meth:`log_coefficients` (log a, log b, computed stably). The
    step (:meth:`forward`) and the sequence path (:meth:`forward_sequence`) both use them,
    so they compute the same function. Parameters: ``weight_ih`` (G·H, I) and
    ``bias_ih`` (G·H) in torch's layout; no ``weight_hh`` — the gates do not read h,
    which is what makes the sequence a scan.
    """

    Params: ClassVar[type[CellParams]] = ScanCellParams
    params: ScanCellParams
    num_states: ClassVar[int] = 1

    def __init__(self, input_size: int, hidden_size: int, params: CellParams | None = None):
        super().__init__(input_size, hidden_size, params)
        gh = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gh, input_size))  # (G·H, I)
        self.add_bias(gh)  # bias_ih (G·H,)
        self._extra_parameters()
        self.reset_parameters()

    def _extra_parameters(self) -> None:
        """Subclasses register parameters beyond ``weight_ih``/``bias_ih`` here (e.g.
        RG-LRU's decay Λ); :meth:`reset_parameters` runs after."""

    # -- subclass API -----------------------------------------------------------------------
    def coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """pre (..., G·H) input pre-activations -> a, b (..., H), a ∈ (0, 1), b > 0."""
        raise NotImplementedError

    def log_coefficients(self, pre: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """pre (..., G·H) -> log a, log b (..., H), finite for every finite input."""
        raise NotImplementedError

    # -- compute ------------------------------------------------------------------------------
    def _pre(self, x: Tensor, h0: Tensor) -> tuple[Tensor, torch.dtype]:
        """Input pre-activations (..., G·H) in the dtype the recurrence runs in, and the
        dtype of the result.

        The recurrence runs in float32 at least: under autocast the matmul gives
        bf16/fp16, whose 8/11-bit mantissas cannot carry a state through hundreds of
        steps (nor a cumsum of logs). The result has the dtype that ``a ⊙ h + b``
        would have had (fp32 under autocast with an fp32 state; fp16 for an fp16 model).
        """
        return recurrence_dtype(F.linear(x, self.weight_ih, self.bias_ih), h0)  # (..., G·H)

    def forward(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """One step. x_t: (B, I), state: (h (B, H),) -> h' (B, H), (h',)."""
        (h,) = state
        pre, out_dtype = self._pre(x_t, h)  # (B, G·H)
        a, b = self.coefficients(pre)  # (B, H) each
        h_new = torch.addcmul(b, a, h.to(pre.dtype)).to(out_dtype)  # a ⊙ h + b
        return h_new, (h_new,)

    def scan_method(self, x: Tensor) -> str:
        """``linear`` or ``log``: what :meth:`forward_sequence` runs for input ``x``."""
        if self.params.scan != "auto":
            return self.params.scan
        return "linear" if x.device.type == "cpu" else "log"

    def scan(self, pre: Tensor, h0: Tensor, x: Tensor) -> Tensor:
        """h (B, T, H) from the pre-activations pre (B, T, G·H) and h0 (B, H), by the scan
        :meth:`scan_method` picks for ``x``."""
        if self.scan_method(x) == "log":
            log_a, log_b = self.log_coefficients(pre)  # (B, T, H) each
            return log_scan(log_a, log_b, h0, chunk_size=self.params.chunk_size or None)
        a, b = self.coefficients(pre)  # (B, T, H) each
        return linear_scan(a, b, h0)

    def forward_sequence(self, x: Tensor, state: State,
                         lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """x: (B, T, I), state (h0 (B, H),) -> y (B, T, H), (h_final,).

        All input projections in one matmul, then one scan (``params.scan``). With
        ``lengths``, the scan still runs over all T steps — padding only *follows* a
        row's valid prefix, and a scan is causal, so it cannot change the valid steps —
        and then the outputs past each length are set to exactly zero and the final state
        is read at step ``length − 1`` (h0 for length 0). That is the function of
        :func:`seqforge.cells.base.step_loop` (a_t = 1, b_t = 0 at padded steps), without
        −inf in log space, and padded inputs get exactly zero gradient.
        """
        (h0,) = state
        B, T, _ = x.shape
        if T == 0:
            return x.new_zeros(B, 0, self.hidden_size), tuple(state)
        pre, out_dtype = self._pre(x, h0)  # (B, T, G·H), float32 or float64
        h = self.scan(pre, h0.to(pre.dtype), x).to(out_dtype)  # (B, T, H)
        if lengths is None:
            return h, (h[:, -1],)
        lengths = clamp_lengths(lengths, T, x.device)
        y = torch.where(valid_steps(lengths, T), h, h.new_zeros(()))  # (B, T, H), 0 past L
        return y, (last_valid(h, lengths, h0.to(out_dtype)),)  # length 0: keep h0
