"""The parallel-scan cells (minGRU, minLSTM) and their scans.

* every scan (log space whole/chunked, linear forward/reverse) == the sequential
  reference, in values and gradients, float64, T from 1 to 300;
* float32 stability: long sequences and saturated gates give no inf/NaN, and the
  linear / chunked-log scans stay accurate where the unchunked log scan drifts;
* each cell's ``forward_sequence`` (both scans) == the step loop, with and without
  ``lengths``, in values and in gradients w.r.t. inputs, initial state and parameters;
* gradcheck in float64; init policies, forget bias, registry, torch-free builtin module.
"""

from __future__ import annotations

import subprocess
import sys

import pydantic
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
from torch import nn
from torch.func import functional_call

from seqforge.cells.base import step_loop
from seqforge.cells.min_gru import MinGRUCell
from seqforge.cells.min_lstm import MinLSTMCell

# -- cells: fast path == step loop ------------------------------------------------------------------

def _loss_and_grads(fn, cell, x, state, lengths, wy, ws):
    x = x.clone().requires_grad_(True)
    state = tuple(s.clone().requires_grad_(True) for s in state)
    y, final = fn(cell, x, state, lengths)
    loss = (y * wy).sum() + sum((f * w).sum() for f, w in zip(final, ws))
    grads_ = torch.autograd.grad(loss, [x, *state, *cell.parameters()])
    return y.detach(), tuple(f.detach() for f in final), grads_


def _fast(cell, x, state, lengths):
    return cell.forward_sequence(x, state, lengths)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("scan", SCANS)
@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 4), T=st.integers(1, 9), I=st.integers(1, 4), H=st.integers(1, 4),
       chunk=st.integers(0, 4), bias=st.booleans(), use_lengths=st.booleans(),
       positive_state=st.booleans(), data=st.data(), seed=seeds)
def test_fast_path_matches_step_loop(cls, scan, B, T, I, H, chunk, bias, use_lengths,  # noqa: E741
                                     positive_state, data, seed):
    torch.manual_seed(seed)
    cell = cls(I, H, cls.Params(scan=scan, chunk_size=chunk, bias=bias)).to(DT)
    assert cell.has_fast_path
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, I, dtype=DT, generator=gen) * 2
    h0 = torch.randn(B, H, dtype=DT, generator=gen)  # any sign: a carried-over state
    state = (h0.abs() if positive_state else h0,)
    lengths = None
    if use_lengths:
        lengths = torch.tensor(data.draw(st.lists(st.integers(0, T + 2), min_size=B, max_size=B)))
    wy = torch.randn(B, T, H, dtype=DT, generator=gen)
    ws = [torch.randn(B, H, dtype=DT, generator=gen)]

    y_f, s_f, g_f = _loss_and_grads(_fast, cell, x, state, lengths, wy, ws)
    y_s, s_s, g_s = _loss_and_grads(step_loop, cell, x, state, lengths, wy, ws)

    assert y_f.shape == (B, T, H) and len(s_f) == 1 and s_f[0].shape == (B, H)
    torch.testing.assert_close(y_f, y_s, **TOL)
    torch.testing.assert_close(s_f[0], s_s[0], **TOL)
    names = ["x", "state[0]", *(n for n, _ in cell.named_parameters())]
    for name, a, b in zip(names, g_f, g_s):
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, n=name: f"grad {n}: {m}")
    if lengths is not None:
        for b, L in enumerate(lengths.tolist()):
            assert torch.count_nonzero(y_f[b, L:]) == 0  # exactly zero past the length
            assert torch.count_nonzero(g_f[0][b, L:]) == 0  # padding gets no gradient


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("scan", SCANS)
def test_edge_lengths(cls, scan):
    """Length 0 keeps the state and emits zeros; lengths > T mean T; T == 0; list lengths."""
    torch.manual_seed(0)
    cell = cls(3, 4, cls.Params(scan=scan)).to(DT)
    x = torch.randn(4, 5, 3, dtype=DT)
    state = (torch.randn(4, 4, dtype=DT),)
    for lengths in (torch.tensor([0, 5, 2, 0]), torch.tensor([9, 3, 5, 1]), [5, 0, 1, 4],
                    torch.tensor([5, 5, 5, 5]), torch.tensor([0, 0, 0, 0])):
        y_f, s_f = cell.forward_sequence(x, state, lengths)
        y_s, s_s = step_loop(cell, x, state, torch.as_tensor(lengths))
        torch.testing.assert_close(y_f, y_s, **TOL)
        torch.testing.assert_close(s_f[0], s_s[0], **TOL)
    y, s = cell.forward_sequence(x[:, :0], state)
    assert y.shape == (4, 0, 4) and torch.equal(s[0], state[0])


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("scan", SCANS)
def test_float32_eval_zero_state(cls, scan):
    cell = cls(3, 8, cls.Params(scan=scan)).eval()
    x = torch.randn(2, 200, 3)
    state = cell.initial_state(2)
    assert len(state) == 1 and state[0].shape == (2, 8) and not state[0].any()
    with torch.no_grad():
        for lengths in (None, torch.tensor([200, 37])):
            y_f, s_f = cell.forward_sequence(x, state, lengths)
            y_s, s_s = step_loop(cell, x, state, lengths)
            torch.testing.assert_close(y_f, y_s, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(s_f[0], s_s[0], rtol=1e-5, atol=1e-6)
    assert (y_f[0] > 0).all()  # zero state, g > 0: h stays positive


def test_auto_scan_is_linear_on_cpu():
    x = torch.zeros(1, 2, 3)
    assert MinGRUCell(3, 4).scan_method(x) == "linear"
    assert MinGRUCell(3, 4, MinGRUCell.Params(scan="log")).scan_method(x) == "log"
    assert MinLSTMCell(3, 4, MinLSTMCell.Params(scan="linear")).scan_method(x.to("meta")) == "linear"
    assert MinLSTMCell(3, 4).scan_method(x.to("meta")) == "log"  # non-CPU: the paper's scan


# -- gradcheck ---------------------------------------------------------------------------------------

class _Sequence(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state, lengths):
        return self.cell.forward_sequence(x, state, lengths)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("path", ["step", "linear", "log", "log_chunked", "linear_lengths",
                                  "log_lengths"])
def test_gradcheck(cls, path):
    torch.manual_seed(0)
    B, T, I, H = 2, 3, 2, 3  # noqa: E741
    scan = "log" if path.startswith("log") else "linear"
    cell = cls(I, H, cls.Params(scan=scan, chunk_size=2 if path == "log_chunked" else 0)).to(DT)
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    h0 = torch.randn(B, H, dtype=DT, requires_grad=True)
    lengths = torch.tensor([3, 1]) if path.endswith("lengths") else None
    module = cell if path == "step" else _Sequence(cell)
    prefix = "" if path == "step" else "cell."

    def fn(x, h0, *ps):
        args = (x[:, 0], (h0,)) if path == "step" else (x, (h0,), lengths)
        y, s = functional_call(module, {prefix + n: p for n, p in zip(names, ps)}, args)
        return y, *s

    assert torch.autograd.gradcheck(fn, (x, h0, *params))


# -- parameters, init, Params --------------------------------------------------------------------------

def test_layout_and_metadata():
    assert (MinGRUCell.num_gates, MinGRUCell.num_states, MinGRUCell.forget_gate) == (2, 1, None)
    assert (MinLSTMCell.num_gates, MinLSTMCell.num_states, MinLSTMCell.forget_gate) == (3, 1, 0)
    for cls in CELLS:
        cell = cls(5, 4)
        G = cls.num_gates
        shapes = {n: tuple(p.shape) for n, p in cell.named_parameters()}
        assert shapes == {"weight_ih": (G * 4, 5), "bias_ih": (G * 4,)}  # no weight_hh
        assert {n for n, _ in cls(5, 4, cls.Params(bias=False)).named_parameters()} == {"weight_ih"}
        assert cell.has_fast_path and "scan='auto'" in repr(cell)


def test_min_gru_step_equations():
    torch.manual_seed(0)
    cell = MinGRUCell(3, 4).to(DT)
    x, h = torch.randn(2, 3, dtype=DT), torch.randn(2, 4, dtype=DT)
    k, v = F.linear(x, cell.weight_ih, cell.bias_ih).chunk(2, dim=1)
    z = torch.sigmoid(k)
    expected = (1 - z) * h + z * torch.where(v >= 0, v + 0.5, torch.sigmoid(v))
    y, (h_new,) = cell(x, (h,))
    torch.testing.assert_close(y, expected, **TOL)
    assert y is h_new


def test_min_lstm_step_equations():
    torch.manual_seed(0)
    cell = MinLSTMCell(3, 4).to(DT)
    x, h = torch.randn(2, 3, dtype=DT), torch.randn(2, 4, dtype=DT)
    kf, ki, v = F.linear(x, cell.weight_ih, cell.bias_ih).chunk(3, dim=1)
    f, i = torch.sigmoid(kf), torch.sigmoid(ki)
    expected = f / (f + i) * h + i / (f + i) * torch.where(v >= 0, v + 0.5, torch.sigmoid(v))
    y, (h_new,) = cell(x, (h,))
    torch.testing.assert_close(y, expected, **TOL)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("init", ["default", "xavier", "orthogonal"])
def test_init_policies(cls, init):
    H, I = 5, 3  # noqa: E741
    cell = cls(I, H).to(DT)
    cell.reset_parameters(init, forget_bias=1.0)
    w = cell.weight_ih.detach()
    if init == "default":
        assert w.abs().max() <= 1 / H ** 0.5 and w.std() > 0
    elif init == "orthogonal":  # (G·H, I), G·H ≥ I: orthonormal columns
        torch.testing.assert_close(w.T @ w, torch.eye(I, dtype=DT), atol=1e-6, rtol=0)
    bias = cell.bias_ih.detach()
    if cls.forget_gate is None:  # minGRU: no forget gate, forget_bias does nothing
        if init != "default":
            assert torch.count_nonzero(bias) == 0
    else:
        torch.testing.assert_close(bias[:H], torch.ones(H, dtype=DT))
        if init != "default":
            assert torch.count_nonzero(bias[H:]) == 0
    with pytest.raises(ValueError):
        cell.reset_parameters("orthogonl")


def test_params_validation():
    for cls in CELLS:
        assert cls.Params().scan == "auto" and cls.Params().chunk_size == 64
        with pytest.raises(pydantic.ValidationError):
            cls.Params.model_validate({"scan": "cuda"})
        with pytest.raises(pydantic.ValidationError):
            cls.Params.model_validate({"chunk_size": -1})
        with pytest.raises(pydantic.ValidationError):
            cls.Params.model_validate({"hidden": 3})


# -- registry ----------------------------------------------------------------------------------------------

def test_registered():
    from seqforge.plugins import get_registry
    cells = get_registry().entries["cell"]
    assert cells["min_gru"].component is MinGRUCell
    assert cells["min_lstm"].component is MinLSTMCell
    assert cells["min_gru"].origin == cells["min_lstm"].origin == "builtin"


def test_builtin_module_is_torch_free():
    code = ("import sys, seqforge.builtins.cells\n"
            "assert 'torch' not in sys.modules, 'importing builtins.cells imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("cls", CELLS)
def test_in_recurrent_stack(cls):
    """Two bidirectional layers with padding: the scan fast path == the step loop."""
    from seqforge.recurrent import Recurrent

    torch.manual_seed(0)
    rnn = Recurrent(cls, 3, 4, num_layers=2, bidirectional=True, init="xavier",
                    forget_bias=1.0).to(DT)
    x = torch.randn(3, 6, 3, dtype=DT)
    lengths = torch.tensor([6, 2, 4])
    y_f, s_f = rnn(x, lengths=lengths)
    rnn.use_fast_path = False
    y_s, s_s = rnn(x, lengths=lengths)
    assert y_f.shape == (3, 6, 8)
    torch.testing.assert_close(y_f, y_s, **TOL)
    for a, b in zip(s_f, s_s):
        torch.testing.assert_close(a[0], b[0], **TOL)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("scan", SCANS)
def test_low_precision_runs_the_recurrence_in_float32(cls, scan):
    """Autocast (bf16 matmul, fp32 state): fp32 outputs, as the step gives. A bf16 model:
    bf16 outputs. Either way the recurrence itself runs in fp32 and matches the step loop."""
    torch.manual_seed(0)
    cell = cls(3, 8, cls.Params(scan=scan))
    x = torch.randn(2, 300, 3)
    lengths = torch.tensor([300, 120])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        state = cell.initial_state(2)
        y, (h,) = cell.forward_sequence(x, state, lengths)
        y_s, (h_s,) = step_loop(cell, x, state, lengths)
    assert y.dtype == h.dtype == y_s.dtype == torch.float32
    torch.testing.assert_close(y, y_s, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(h, h_s, rtol=1e-4, atol=1e-5)

    cell = cell.to(torch.bfloat16)
    xb, state = x.to(torch.bfloat16), cell.initial_state(2)
    assert state[0].dtype == torch.bfloat16
    y, (h,) = cell.forward_sequence(xb, state, lengths)
    y_s, (h_s,) = step_loop(cell, xb, state, lengths)
    assert y.dtype == h.dtype == torch.bfloat16
    # the step rounds h to bf16 after every step; the sequence path only at the end
    torch.testing.assert_close(y.float(), y_s.float(), rtol=0.05, atol=0.05)
