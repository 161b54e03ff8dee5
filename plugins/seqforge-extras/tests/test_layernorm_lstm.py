"""LayerNormLSTMCell: the step is the definition; the fused BPTT fast path must equal it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from seqforge.cells.base import step_loop
from seqforge.recurrent import Recurrent
from seqforge.testing.asserts import assert_close, assert_zero
from seqforge_extras import _lnlstm_bptt
from seqforge_extras.layernorm_lstm import LayerNormLSTMCell, LayerNormLSTMParams

DT = torch.float64


def make_cell(I, H, seed=0, eps=1e-5):  # noqa: E741
    torch.manual_seed(seed)
    cell = LayerNormLSTMCell(I, H, LayerNormLSTMParams(eps=eps)).to(DT)
    with torch.no_grad():  # LN gains/shifts away from 1/0 so their gradients mean something
        for p in (cell.ln_ih_weight, cell.ln_hh_weight, cell.ln_c_weight, cell.ln_c_bias):
            p.add_(0.3 * torch.randn_like(p))
    return cell


@pytest.fixture(params=[True, False], ids=["torchscript", "python"])
def jit(request, monkeypatch):
    monkeypatch.setenv("SEQFORGE_EXTRAS_JIT", "1" if request.param else "0")
    return request.param


def run(fn, cell, x, state, lengths, wy, ws):
    x = x.clone().requires_grad_(True)
    state = tuple(s.clone().requires_grad_(True) for s in state)
    y, final = fn(x, state, lengths)
    loss = (y * wy).sum() + sum((f * w).sum() for f, w in zip(final, ws))
    grads = torch.autograd.grad(loss, [x, *state, *cell.parameters()])
    return y.detach(), [f.detach() for f in final], grads


def compare(cell, B, T, lengths, seed=1):
    g = torch.Generator().manual_seed(seed)
    H, I = cell.hidden_size, cell.input_size  # noqa: E741
    x = torch.randn(B, T, I, generator=g, dtype=DT)
    state = (torch.randn(B, H, generator=g, dtype=DT), torch.randn(B, H, generator=g, dtype=DT))
    wy = torch.randn(B, T, H, generator=g, dtype=DT)
    ws = [torch.randn(B, H, generator=g, dtype=DT) for _ in range(2)]
    fast = run(cell.forward_sequence, cell, x, state, lengths, wy, ws)
    ref = run(lambda x, s, L: step_loop(cell, x, s, L), cell, x, state, lengths, wy, ws)
    assert_close(fast[0], ref[0], "output")
    for k in range(2):
        assert_close(fast[1][k], ref[1][k], f"final state[{k}]")
    names = ["x", "h0", "c0", *(n for n, _ in cell.named_parameters())]
    for name, a, b in zip(names, fast[2], ref[2]):
        assert_close(a, b, f"gradient w.r.t. {name}")
    return fast


# -- the step ---------------------------------------------------------------------------------

def test_step_matches_independent_formulation():
    """Ba et al. 2016 written with nn.LayerNorm modules (torch's fastrnns style)."""
    I, H, B = 3, 5, 4  # noqa: E741
    cell = make_cell(I, H)
    ln_i, ln_h, ln_c = (nn.LayerNorm(4 * H).to(DT), nn.LayerNorm(4 * H).to(DT),
                        nn.LayerNorm(H).to(DT))
    with torch.no_grad():
        ln_i.weight.copy_(cell.ln_ih_weight)
        ln_i.bias.copy_(cell.bias_ih)
        ln_h.weight.copy_(cell.ln_hh_weight)
        ln_h.bias.copy_(cell.bias_hh)
        ln_c.weight.copy_(cell.ln_c_weight)
        ln_c.bias.copy_(cell.ln_c_bias)
    x, h, c = torch.randn(B, I, dtype=DT), torch.randn(B, H, dtype=DT), torch.randn(B, H, dtype=DT)
    gates = ln_i(x @ cell.weight_ih.T) + ln_h(h @ cell.weight_hh.T)
    i, f, g, o = gates.chunk(4, 1)
    c_ref = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_ref = torch.sigmoid(o) * torch.tanh(ln_c(c_ref))
    y, (h1, c1) = cell(x, (h, c))
    assert_close(c1, c_ref, "c")
    assert_close(h1, h_ref, "h")
    assert_close(y, h_ref, "y")


def test_layout_and_metadata():
    cell = LayerNormLSTMCell(3, 7)
    assert cell.weight_ih.shape == (28, 3) and cell.weight_hh.shape == (28, 7)
    assert cell.bias_ih.shape == cell.bias_hh.shape == (28,)
    assert (cell.num_states, cell.num_gates, cell.forget_gate) == (2, 4, 1)
    assert cell.has_fast_path
    assert torch.equal(cell.ln_c_weight, torch.ones(7))
    assert torch.equal(cell.ln_c_bias, torch.zeros(7))
    cell.reset_parameters("orthogonal", forget_bias=1.0)
    assert torch.equal(cell.bias_ih[7:14], torch.ones(7))
    assert torch.equal(cell.bias_hh, torch.zeros(28))
    with pytest.raises(ValueError):
        cell.reset_parameters("nope")
    with pytest.raises(Exception):
        LayerNormLSTMParams(eps=0)
    with pytest.raises(Exception):
        LayerNormLSTMParams(unknown=1)


# -- the fast path == the step loop -----------------------------------------------------------

@pytest.mark.parametrize("B,T,I,H", [(4, 9, 3, 5), (1, 1, 1, 1), (3, 2, 1, 6), (5, 12, 4, 2)])
def test_fast_path_equals_step_loop(jit, B, T, I, H):  # noqa: E741
    compare(make_cell(I, H, seed=B + T), B, T, None)


@pytest.mark.parametrize("lengths", [[9, 4, 0, 1, 9], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0],
                                     [9, 9, 9, 9, 8], [12, 9, 30, 3, 9]])
def test_fast_path_with_lengths(jit, lengths):
    B, T, I, H = 5, 9, 3, 4  # noqa: E741
    cell = make_cell(I, H, seed=3)
    L = torch.tensor(lengths)
    y, _, grads = compare(cell, B, T, L)
    for b, n in enumerate(lengths):  # exactly zero, not merely close
        assert_zero(y[b, n:], f"output of row {b} past its length {n}")
        assert_zero(grads[0][b, n:], f"gradient of padded input, row {b}")


def test_full_lengths_take_the_unmasked_path_and_agree():
    cell = make_cell(2, 3)
    x, s = torch.randn(4, 6, 2, dtype=DT), cell.initial_state(4)
    y1, s1 = cell.forward_sequence(x, s, torch.tensor([6, 6, 6, 6]))
    y2, s2 = cell.forward_sequence(x, s)
    assert torch.equal(y1, y2) and all(torch.equal(a, b) for a, b in zip(s1, s2))


def test_empty_sequence():
    cell = make_cell(2, 3)
    s = (torch.randn(4, 3, dtype=DT), torch.randn(4, 3, dtype=DT))
    y, s2 = cell.forward_sequence(torch.randn(4, 0, 2, dtype=DT), s)
    assert y.shape == (4, 0, 3) and s2[0] is s[0] and s2[1] is s[1]


def test_float32_stock_shape_as_accurate_as_step_loop():
    """In float32 both paths round differently and 60 LN-LSTM steps amplify rounding, so
    measure each against the float64 step loop: the fast path must be no less accurate
    than the float32 step loop (values and weight gradients)."""
    torch.manual_seed(0)
    cell = LayerNormLSTMCell(50, 50)
    x = torch.randn(32, 60, 50)
    errs = {}
    for name, c, xx, fn in (
            ("fast", cell, x, lambda c, x, s: c.forward_sequence(x, s)),
            ("step", cell, x, step_loop),
            ("f64", LayerNormLSTMCell(50, 50).to(DT), x.to(DT), step_loop)):
        if name == "f64":
            c.load_state_dict({k: v.to(DT) for k, v in cell.state_dict().items()})
        y, (h, cT) = fn(c, xx, c.initial_state(32))
        grads = torch.autograd.grad(y[:, -1].sum() + cT.sum(), list(c.parameters()))
        errs[name] = (y.detach().to(DT), [g.to(DT) for g in grads])
    ref_y, ref_g = errs.pop("f64")
    for name, (y, g) in errs.items():
        errs[name] = ((y - ref_y).abs().max().item(),
                      max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(g, ref_g)))
    (fy, fg), (sy, sg) = errs["fast"], errs["step"]
    assert fy <= max(2 * sy, 1e-5) and fg <= max(2 * sg, 1e-5), errs


def test_inference_no_grad_and_batch_first_view():
    cell = make_cell(3, 4).float()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        y, (h, c) = cell.forward_sequence(x, cell.initial_state(2))
    assert y.shape == (2, 5, 4) and not y.requires_grad
    assert torch.equal(h, y[:, -1])


def test_autocast_runs_the_recurrence_in_the_parameter_dtype():
    torch.manual_seed(0)
    cell = LayerNormLSTMCell(3, 4)
    x = torch.randn(2, 5, 3, requires_grad=True)
    ref, _ = cell.forward_sequence(x, cell.initial_state(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, (h, c) = cell.forward_sequence(x, cell.initial_state(2))
    assert y.dtype == h.dtype == c.dtype == torch.float32
    assert torch.equal(y, ref)
    y.sum().backward()
    assert x.grad is not None and cell.weight_hh.grad is not None


def test_in_place_change_of_output_is_detected():
    """The output is saved for backward; autograd must refuse a stale value."""
    cell = make_cell(2, 3)
    y, _ = cell.forward_sequence(torch.randn(2, 4, 2, dtype=DT), cell.initial_state(2))
    y.mul_(2)
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_double_backward_is_refused():
    cell = make_cell(2, 3)
    x = torch.randn(2, 4, 2, dtype=DT, requires_grad=True)
    y, _ = cell.forward_sequence(x, cell.initial_state(2))
    (gx,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        gx.sum().backward()


# -- gradcheck of the hand-written backward ---------------------------------------------------

@pytest.mark.parametrize("lengths", [None, [3, 0, 2]])
def test_gradcheck_fast_path(jit, lengths):
    B, T, I, H = 3, 3, 2, 2  # noqa: E741
    cell = make_cell(I, H, seed=7)
    L = None if lengths is None else torch.tensor(lengths)
    names = [n for n, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in cell.parameters()]
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    h0 = torch.randn(B, H, dtype=DT, requires_grad=True)
    c0 = torch.randn(B, H, dtype=DT, requires_grad=True)

    def fn(x, h0, c0, *ps):
        y, (h, c) = _seq(cell, names, ps, x, h0, c0, L)
        return y, h, c

    assert torch.autograd.gradcheck(fn, (x, h0, c0, *params))


def _seq(cell, names, ps, x, h0, c0, L):
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, x, s, L):
            return self.cell.forward_sequence(x, s, L)

    return functional_call(Seq(), {f"cell.{n}": p for n, p in zip(names, ps)}, (x, (h0, c0), L))


def test_gradcheck_recurrence_function_directly(jit):
    """The autograd.Function alone, every input (z, γ_ih, b, W_hh, γ_hh, γ_c, β_c, h0, c0)."""
    T, B, H = 4, 2, 2
    g = torch.Generator().manual_seed(5)
    args = [torch.randn(T, B, 4 * H, generator=g, dtype=DT),
            1 + 0.3 * torch.randn(4 * H, generator=g, dtype=DT),
            0.3 * torch.randn(4 * H, generator=g, dtype=DT),
            0.5 * torch.randn(4 * H, H, generator=g, dtype=DT),
            1 + 0.3 * torch.randn(4 * H, generator=g, dtype=DT),
            1 + 0.3 * torch.randn(H, generator=g, dtype=DT),
            0.3 * torch.randn(H, generator=g, dtype=DT),
            torch.randn(B, H, generator=g, dtype=DT), torch.randn(B, H, generator=g, dtype=DT)]
    args = [a.requires_grad_(True) for a in args]
    mask = torch.tensor([[1, 1], [1, 0], [0, 0], [0, 0]], dtype=torch.bool).unsqueeze(-1)
    for m in (None, mask):
        assert torch.autograd.gradcheck(
            lambda *a, m=m: _lnlstm_bptt.LNLSTMRecurrence.apply(*a, m, 1e-5, jit, 1), args)


# -- kernels: TorchScript when available, same maths in Python otherwise ----------------------

def test_kernels_compile_with_torchscript():
    fwd, bwd = _lnlstm_bptt.kernels(True)
    assert isinstance(fwd, torch.jit.ScriptFunction) and isinstance(bwd, torch.jit.ScriptFunction)
    assert _lnlstm_bptt.kernels(False) == (_lnlstm_bptt.forward_loop, _lnlstm_bptt.backward_loop)


def test_kernels_fall_back_to_python_without_torchscript(monkeypatch):
    monkeypatch.setattr(_lnlstm_bptt, "_kernels", {})

    def broken(fn):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(torch.jit, "script", broken)
    assert _lnlstm_bptt.kernels(True) == (_lnlstm_bptt.forward_loop, _lnlstm_bptt.backward_loop)
    compare(make_cell(2, 3), 3, 4, torch.tensor([4, 2, 0]))


# -- intra-op threads while the loops run -----------------------------------------------------

def test_loop_threads_cap_is_scoped_and_restored():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        seen = []
        out = _lnlstm_bptt.call_with_threads(1, torch.device("cpu"),
                                             lambda: seen.append(torch.get_num_threads()) or 7)
        assert out == 7 and seen == [1] and torch.get_num_threads() == 2

        def boom():
            raise KeyError("x")

        with pytest.raises(KeyError):
            _lnlstm_bptt.call_with_threads(1, torch.device("cpu"), boom)
        assert torch.get_num_threads() == 2
        seen.clear()
        _lnlstm_bptt.call_with_threads(0, torch.device("cpu"),
                                       lambda: seen.append(torch.get_num_threads()))
        assert seen == [2]  # 0: leave torch's setting alone
        # through the cell, forward and backward
        cell = make_cell(3, 4)
        x = torch.randn(2, 5, 3, dtype=DT, requires_grad=True)
        y, _ = cell.forward_sequence(x, cell.initial_state(2))
        y.sum().backward()
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_loop_threads_setting_does_not_change_results():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 6, 2, generator=g, dtype=DT)
    res = []
    for threads in (0, 1, 2, None):
        cell = make_cell(2, 5)
        cell.params = LayerNormLSTMParams(loop_threads=threads)
        xx = x.clone().requires_grad_(True)
        y, (h, c) = cell.forward_sequence(xx, cell.initial_state(3), torch.tensor([6, 2, 4]))
        grads = torch.autograd.grad(y.square().sum() + c.sum(), [xx, *cell.parameters()])
        res.append((y, grads))
    for y, grads in res[1:]:
        assert_close(y, res[0][0], "output")
        for a, b in zip(grads, res[0][1]):
            assert_close(a, b, "gradient")
    with pytest.raises(Exception):
        LayerNormLSTMParams(loop_threads=-1)


def test_loop_threads_default_depends_on_step_size():
    assert LayerNormLSTMCell(1, 50).loop_threads(32) == 1  # the stock shapes
    assert LayerNormLSTMCell(1, 512).loop_threads(64) == 0  # a big step: threads pay
    assert LayerNormLSTMCell(1, 512, LayerNormLSTMParams(loop_threads=3)).loop_threads(64) == 3


# -- in the engine ----------------------------------------------------------------------------

@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_stack_fast_equals_step(bidirectional):
    torch.manual_seed(0)
    rnn = Recurrent(LayerNormLSTMCell, 3, 4, num_layers=2, dropout=0.0,
                    bidirectional=bidirectional).to(DT)
    x = torch.randn(3, 7, 3, dtype=DT)
    L = torch.tensor([7, 3, 5])
    out = {}
    for fast in (True, False):
        rnn.use_fast_path = fast
        xx = x.clone().requires_grad_(True)
        y, state = rnn(xx, lengths=L)
        loss = y.square().sum() + sum(s.sum() for st in state for s in st)
        out[fast] = (y, torch.autograd.grad(loss, [xx, *rnn.parameters()]))
    assert_close(out[True][0], out[False][0], "stack output")
    for k, (a, b) in enumerate(zip(out[True][1], out[False][1])):
        assert_close(a, b, f"stack gradient {k}")


def test_registered_through_the_entry_point():
    from seqforge.plugins import get_registry

    entry = get_registry().entry("cell", "layernorm_lstm")
    assert entry.component is LayerNormLSTMCell
    assert entry.plugin == "seqforge-extras"


def test_cell_contract():
    """seqforge's contract kit: params, shapes, fast path, independence, causality,
    gradcheck, init."""
    from seqforge.testing.cells import check_cell

    results = check_cell(LayerNormLSTMCell)
    assert all(v == "passed" for v in results.values()), results


def test_independent_of_padding_amount():
    cell = make_cell(2, 3)
    x = torch.randn(2, 4, 2, dtype=DT)
    L = torch.tensor([4, 2])
    y1, s1 = cell.forward_sequence(x, cell.initial_state(2), L)
    y2, s2 = cell.forward_sequence(F.pad(x, (0, 0, 0, 5)), cell.initial_state(2), L)
    assert_close(y2[:, :4], y1, "output with more padding")
    for a, b in zip(s1, s2):
        assert_close(a, b, "final state with more padding")
