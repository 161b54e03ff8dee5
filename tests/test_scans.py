"""The linear-recurrence scans behind the scan cells: equal to the sequential reference
(values and gradients, long sequences, chunks), stable in float32."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scan_helpers import (  # noqa: F401
    CELLS,
    DT,
    SCANS,
    TOL,
    _one_thread,
    coeffs,
    grads,
    lengths_T,
    seeds,
)

from seqforge.cells.base import step_loop
from seqforge.cells.scan import (
    g,
    linear_scan,
    log_g,
    log_scan,
    parallel_scan_log,
    sequential_scan,
)

# -- scans == sequential reference ---------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 3), T=lengths_T, H=st.integers(1, 4),
       chunk=st.sampled_from([None, 1, 3, 7, 64]), zero_h0=st.booleans(),
       h0_3d=st.booleans(), seed=seeds)
def test_parallel_scan_log_matches_sequential(B, T, H, chunk, zero_h0, h0_3d, seed):
    gen = torch.Generator().manual_seed(seed)
    log_a, log_b = (t.requires_grad_() for t in coeffs(B, T, H, gen))
    if zero_h0:  # the usual initial state: log 0 = −inf must not poison the gradients
        log_h0 = torch.full((B, 1, H), -torch.inf, dtype=DT)
    else:
        log_h0 = torch.randn(B, 1, H, dtype=DT, generator=gen)
    log_h0 = (log_h0 if h0_3d else log_h0.squeeze(1)).requires_grad_()
    w = torch.randn(B, T, H, dtype=DT, generator=gen)

    h = parallel_scan_log(log_a, log_b, log_h0, chunk_size=chunk)
    ref = sequential_scan(log_a.exp(), log_b.exp(), log_h0.exp())
    assert h.shape == (B, T, H)
    torch.testing.assert_close(h, ref, **TOL)
    for got, exp in zip(grads(h, [log_a, log_b, log_h0], w), grads(ref, [log_a, log_b, log_h0], w)):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, exp, **TOL)


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 3), T=lengths_T, H=st.integers(1, 4), reverse=st.booleans(), seed=seeds)
def test_linear_scan_matches_sequential(B, T, H, reverse, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(B, T, H, dtype=DT, generator=gen).requires_grad_()
    b = torch.randn(B, T, H, dtype=DT, generator=gen).requires_grad_()  # any sign
    h0 = torch.randn(B, H, dtype=DT, generator=gen).requires_grad_()
    w = torch.randn(B, T, H, dtype=DT, generator=gen)
    h = linear_scan(a, b, h0, reverse=reverse)
    if reverse:
        ref = sequential_scan(a.flip(1), b.flip(1), h0).flip(1)
    else:
        ref = sequential_scan(a, b, h0)
    torch.testing.assert_close(h, ref, **TOL)
    for got, exp in zip(grads(h, [a, b, h0], w), grads(ref, [a, b, h0], w)):
        torch.testing.assert_close(got, exp, **TOL)


@pytest.mark.parametrize("chunk", [None, 64])
def test_long_sequence_scans_match_sequential(chunk):
    """T = 300 (float64): log space (whole and chunked) and linear == the reference,
    values and gradients, with gates from every regime (|pre-activations| up to ~15)."""
    gen = torch.Generator().manual_seed(1)
    B, T, H = 2, 300, 3
    log_a, log_b = (t.requires_grad_() for t in coeffs(B, T, H, gen, scale=5.0))
    h0 = torch.rand(B, H, dtype=DT, generator=gen).requires_grad_()
    w = torch.randn(B, T, H, dtype=DT, generator=gen)
    ref = sequential_scan(log_a.exp(), log_b.exp(), h0)
    ref_grads = grads(ref, [log_a, log_b, h0], w)
    for h in (log_scan(log_a, log_b, h0, chunk_size=chunk), linear_scan(log_a.exp(), log_b.exp(), h0)):
        torch.testing.assert_close(h, ref, **TOL)
        for got, exp in zip(grads(h, [log_a, log_b, h0], w), ref_grads):
            torch.testing.assert_close(got, exp, **TOL)


def test_scans_accept_empty_and_3d_h0():
    a = torch.rand(2, 0, 3, dtype=DT)
    assert linear_scan(a, a, torch.zeros(2, 3, dtype=DT)).shape == (2, 0, 3)
    assert sequential_scan(a, a, torch.zeros(2, 3, dtype=DT)).shape == (2, 0, 3)
    a = torch.rand(2, 4, 3, dtype=DT)
    torch.testing.assert_close(linear_scan(a, a, torch.ones(2, 1, 3, dtype=DT)),
                               sequential_scan(a, a, torch.ones(2, 3, dtype=DT)), **TOL)
    with pytest.raises(ValueError, match="h0"):
        linear_scan(a, a, torch.ones(2, 2, 3, dtype=DT))
    # no h0: zero initial state
    torch.testing.assert_close(parallel_scan_log(a.log(), a.log()),
                               sequential_scan(a, a, torch.zeros(2, 3, dtype=DT)), **TOL)


@pytest.mark.parametrize("reverse", [False, True])
def test_linear_scan_gradcheck_and_double_backward(reverse):
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(2, 4, 3, dtype=DT, generator=gen).requires_grad_()
    b = torch.randn(2, 4, 3, dtype=DT, generator=gen).requires_grad_()
    h0 = torch.randn(2, 3, dtype=DT, generator=gen).requires_grad_()
    fn = lambda a, b, h0: linear_scan(a, b, h0, reverse=reverse)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (a, b, h0))
    assert torch.autograd.gradgradcheck(fn, (a, b, h0))


@pytest.mark.parametrize("chunk", [None, 2])
def test_parallel_scan_log_gradcheck(chunk):
    gen = torch.Generator().manual_seed(0)
    log_a, log_b = (t.requires_grad_() for t in coeffs(2, 5, 3, gen))
    log_h0 = torch.randn(2, 1, 3, dtype=DT, generator=gen).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda la, lb, lh: parallel_scan_log(la, lb, lh, chunk_size=chunk), (log_a, log_b, log_h0))


# -- float32 stability ----------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_float32_long_sequence_stability(scale):
    """T = 1024 in float32 against a float64 reference: linear and chunked log stay at
    float32 accuracy; the whole-sequence log scan drifts (|a*|·ε) but stays finite."""
    gen = torch.Generator().manual_seed(0)
    T = 1024
    k = torch.randn(2, T, 8, dtype=DT, generator=gen) * scale + scale  # saturating gates
    v = torch.randn(2, T, 8, dtype=DT, generator=gen) * scale
    log_a, log_b = -F.softplus(k), log_g(v) - F.softplus(-k)
    h0 = torch.rand(2, 8, dtype=DT, generator=gen)
    with torch.no_grad():
        ref = sequential_scan(log_a.exp(), log_b.exp(), h0)
        la, lb, h = log_a.float(), log_b.float(), h0.float()
        results = {
            "linear": linear_scan(la.exp(), lb.exp(), h),
            "log/64": log_scan(la, lb, h, chunk_size=64),
            "log": log_scan(la, lb, h),
        }
    assert float(log_a.sum(1).min()) < -1000  # the regime where the whole-sequence scan drifts
    rel = {name: float(((r.double() - ref).abs() / ref.abs()).max()) for name, r in results.items()}
    assert all(torch.isfinite(r).all() for r in results.values())
    assert rel["linear"] < 1e-5, rel
    assert rel["log/64"] < 2e-4, rel
    assert rel["log"] < 1e-1, rel


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("scan", SCANS)
def test_saturated_gates_stay_finite(cls, scan):
    """Pre-activations of ±200 (both minLSTM gates underflow to 0 in float32) and long T:
    no inf/NaN in the step, the sequence path or the gradients."""
    H = 3
    cell = cls(2, H, cls.Params(scan=scan))
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.bias_ih.copy_(torch.tensor([-200.0, 200.0, -200.0] * cell.num_gates)[: cell.num_gates * H])
    x = torch.randn(2, 300, 2, requires_grad=True)
    state = cell.initial_state(2)
    y, (h,) = cell.forward_sequence(x, state)
    y_s, (h_s,) = step_loop(cell, x, state)
    assert torch.isfinite(y).all() and torch.isfinite(y_s).all()
    # log a = −200 per step: within a 64-step chunk |a*| reaches 1.3e4, so the log scan
    # keeps ~|a*|·ε ≈ 1e-3 relative accuracy in float32; the linear scan is exact to rounding
    rtol = 1e-5 if scan == "linear" else 2e-3
    torch.testing.assert_close(y, y_s, rtol=rtol, atol=1e-6)
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in cell.parameters())


# -- g ---------------------------------------------------------------------------------------------

def test_g_and_log_g():
    x = torch.linspace(-30, 30, 2001, dtype=DT)
    two_branch = torch.where(x >= 0, x + 0.5, torch.sigmoid(x))
    torch.testing.assert_close(g(x), two_branch, rtol=0, atol=0)
    torch.testing.assert_close(log_g(x), two_branch.log(), **TOL)
    assert (g(x) > 0).all()
    far = torch.tensor([-1e4, -200.0, 1e4])
    assert torch.isfinite(log_g(far)).all() and torch.isfinite(log_g(far.double())).all()
    # the same derivative from both forms, at 0 too (left derivative σ'(0) = 1/4)
    x = torch.tensor([-2.0, 0.0, 3.0], dtype=DT, requires_grad=True)
    (d_g,) = torch.autograd.grad(g(x).sum(), x)
    (d_log,) = torch.autograd.grad(log_g(x).exp().sum(), x)
    torch.testing.assert_close(d_g, d_log, **TOL)
    assert float(d_g[1]) == 0.25 and float(d_g[2]) == 1.0


