"""The built-in cells (rnn, lstm, gru) and the cell contract for every registered cell.

* the reference step equals torch's own cell on copied weights;
* the fused fast path equals the step loop, with and without ``lengths``, in values and
  in gradients w.r.t. inputs, initial state and parameters;
* gradcheck (float64) for the step and the fast path;
* init policies and ``Params`` validation;
* every cell in the registry constructs, steps and runs a sequence.
"""

from __future__ import annotations

import subprocess
import sys

import pydantic
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.func import functional_call

from seqforge.cells.base import Cell, CellParams, step_loop
from seqforge.cells.gru import GRUCell
from seqforge.cells.lstm import LSTMCell
from seqforge.cells.rnn import ElmanRNNCell

DT = torch.float64
TOL = dict(rtol=1e-10, atol=1e-12)


def make_ours(kind: str, I: int, H: int, bias: bool = True) -> Cell:  # noqa: E741
    if kind.startswith("rnn"):
        nl = kind.split("_")[1]
        return ElmanRNNCell(I, H, ElmanRNNCell.Params(nonlinearity=nl, bias=bias))
    cls = {"lstm": LSTMCell, "gru": GRUCell}[kind]
    return cls(I, H, cls.Params(bias=bias))


def make_torch(kind: str, I: int, H: int, bias: bool = True) -> nn.Module:  # noqa: E741
    if kind.startswith("rnn"):
        return nn.RNNCell(I, H, bias=bias, nonlinearity=kind.split("_")[1])
    return {"lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind](I, H, bias=bias)


KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
sizes = st.integers(1, 6)


def rand_state(cell: Cell, B: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn(B, cell.hidden_size, dtype=DT, generator=gen)
                 for _ in range(cell.num_states))


# -- reference step == torch's cell -----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(B=sizes, I=sizes, H=sizes, bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_step_matches_torch_cell(kind, B, I, H, bias, seed):  # noqa: E741
    torch.manual_seed(seed)
    ref = make_torch(kind, I, H, bias).to(DT)
    ours = make_ours(kind, I, H, bias).to(DT)
    ours.load_state_dict(ref.state_dict())  # same names, same layout
    gen = torch.Generator().manual_seed(seed)
    state = rand_state(ours, B, gen)
    ref_state = state if kind == "lstm" else state[0]
    for _ in range(3):  # a few steps, so the state is fed back
        x_t = torch.randn(B, I, dtype=DT, generator=gen)
        y, state = ours(x_t, state)
        ref_state = ref(x_t, ref_state)
        expected = ref_state if kind == "lstm" else (ref_state,)
        assert len(state) == ours.num_states
        for s, e in zip(state, expected):
            torch.testing.assert_close(s, e, **TOL)
        torch.testing.assert_close(y, expected[0], **TOL)  # y is h


# -- fast path == step loop -----------------------------------------------------------------

def _loss_and_grads(fn, cell, x, state, lengths, wy, ws):
    x = x.clone().requires_grad_(True)
    state = tuple(s.clone().requires_grad_(True) for s in state)
    y, final = fn(cell, x, state, lengths)
    loss = (y * wy).sum() + sum((f * w).sum() for f, w in zip(final, ws))
    params = list(cell.parameters())
    grads = torch.autograd.grad(loss, [x, *state, *params])
    return y.detach(), tuple(f.detach() for f in final), grads


def _fast(cell, x, state, lengths):
    return cell.forward_sequence(x, state, lengths)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(B=sizes, T=st.integers(1, 7), I=sizes, H=sizes, bias=st.booleans(),
       use_lengths=st.booleans(), data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_fast_path_matches_step_loop(kind, B, T, I, H, bias, use_lengths, data, seed):  # noqa: E741
    torch.manual_seed(seed)
    cell = make_ours(kind, I, H, bias).to(DT)
    assert cell.has_fast_path
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, I, dtype=DT, generator=gen)
    state = rand_state(cell, B, gen)
    lengths = None
    if use_lengths:
        lengths = torch.tensor(data.draw(st.lists(st.integers(1, T), min_size=B, max_size=B)))
    wy = torch.randn(B, T, H, dtype=DT, generator=gen)
    ws = [torch.randn(B, H, dtype=DT, generator=gen) for _ in state]

    y_f, s_f, g_f = _loss_and_grads(_fast, cell, x, state, lengths, wy, ws)
    y_s, s_s, g_s = _loss_and_grads(step_loop, cell, x, state, lengths, wy, ws)

    assert y_f.shape == (B, T, H)
    torch.testing.assert_close(y_f, y_s, **TOL)
    assert len(s_f) == len(s_s) == cell.num_states
    for a, b in zip(s_f, s_s):
        assert a.shape == (B, H)
        torch.testing.assert_close(a, b, **TOL)
    names = ["x", *(f"state[{i}]" for i in range(len(state))),
             *(n for n, _ in cell.named_parameters())]
    for name, a, b in zip(names, g_f, g_s):
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, n=name: f"grad {n}: {m}")
    if lengths is not None:
        for b, L in enumerate(lengths.tolist()):
            assert torch.count_nonzero(y_f[b, L:]) == 0  # exactly zero past the length
            assert torch.count_nonzero(g_f[0][b, L:]) == 0  # padding gets no gradient


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_edge_lengths(kind):
    """Length 0 keeps the state and emits zeros; lengths > T mean T; T == 0; list lengths."""
    torch.manual_seed(0)
    cell = make_ours(kind, 3, 4).to(DT)
    x = torch.randn(4, 5, 3, dtype=DT)
    state = rand_state(cell, 4, torch.Generator().manual_seed(1))
    for lengths in (torch.tensor([0, 5, 2, 0]), torch.tensor([9, 3, 5, 1]), [5, 0, 1, 4],
                    torch.tensor([5, 5, 5, 5]), torch.tensor([0, 0, 0, 0])):
        y_f, s_f = cell.forward_sequence(x, state, lengths)
        y_s, s_s = step_loop(cell, x, state, torch.as_tensor(lengths))
        torch.testing.assert_close(y_f, y_s, **TOL)
        for a, b in zip(s_f, s_s):
            torch.testing.assert_close(a, b, **TOL)
    y, s = cell.forward_sequence(x[:, :0], state)
    assert y.shape == (4, 0, 4) and all(torch.equal(a, b) for a, b in zip(s, state))


@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_eval_no_grad_float32(kind):
    cell = make_ours(kind, 3, 4).eval()
    x = torch.randn(2, 6, 3)
    state = cell.initial_state(2)
    assert all(s.dtype == torch.float32 and s.shape == (2, 4) for s in state)
    with torch.no_grad():
        for lengths in (None, torch.tensor([6, 2])):
            y_f, s_f = cell.forward_sequence(x, state, lengths)
            y_s, s_s = step_loop(cell, x, state, lengths)
            torch.testing.assert_close(y_f, y_s, rtol=1e-5, atol=1e-6)
            for a, b in zip(s_f, s_s):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# -- gradcheck --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["step", "fast", "fast_lengths"])
def test_gradcheck(kind, path):
    torch.manual_seed(0)
    B, T, I, H = 2, 3, 2, 3  # noqa: E741
    cell = make_ours(kind, I, H).to(DT)
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    x = torch.randn(B, T, I, dtype=DT, requires_grad=True)
    state = tuple(torch.randn(B, H, dtype=DT, requires_grad=True) for _ in range(cell.num_states))
    lengths = torch.tensor([3, 1]) if path == "fast_lengths" else None
    ns = len(state)

    module = cell if path == "step" else _Sequence(cell)
    prefix = "" if path == "step" else "cell."

    def fn(x, *rest):
        st_, ps = tuple(rest[:ns]), {prefix + n: p for n, p in zip(names, rest[ns:])}
        args = (x[:, 0], st_) if path == "step" else (x, st_, lengths)
        y, s = functional_call(module, ps, args)
        return (y, *s)

    assert torch.autograd.gradcheck(fn, (x, *state, *params))


class _Sequence(nn.Module):
    """Exposes ``cell.forward_sequence`` as ``forward``, for ``functional_call``."""

    def __init__(self, cell: Cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state, lengths):
        return self.cell.forward_sequence(x, state, lengths)


# -- initialisation and Params ------------------------------------------------------------------

def _blocks(w: torch.Tensor, G: int, H: int):
    return [w[g * H:(g + 1) * H] for g in range(G)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("init", ["orthogonal", "xavier"])
def test_init_orthogonal_recurrent_blocks(kind, init):
    H = 5
    cell = make_ours(kind, 3, H).to(DT)
    cell.reset_parameters(init)
    G = cell.num_gates
    assert cell.weight_hh.shape == (G * H, H) and cell.weight_ih.shape == (G * H, 3)
    eye = torch.eye(H, dtype=DT)
    for blk in _blocks(cell.weight_hh.detach(), G, H):  # each (H, H) block orthogonal
        torch.testing.assert_close(blk @ blk.T, eye, atol=1e-6, rtol=0)
    assert torch.count_nonzero(cell.bias_ih) == 0 and torch.count_nonzero(cell.bias_hh) == 0
    if init == "orthogonal":  # (G·H, I) with G·H ≥ I: orthonormal columns
        w = cell.weight_ih.detach()
        torch.testing.assert_close(w.T @ w, torch.eye(3, dtype=DT), atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_default_init_is_torch_uniform(kind):
    H = 7
    cell = make_ours(kind, 4, H)
    bound = 1 / H ** 0.5
    for name, p in cell.named_parameters():
        assert p.abs().max() <= bound, name
        assert p.std() > 0, name


@pytest.mark.parametrize("init", ["xavier", "orthogonal", "default"])
def test_lstm_forget_bias(init):
    H = 4
    cell = LSTMCell(3, H)
    cell.reset_parameters(init, forget_bias=1.0)
    assert LSTMCell.forget_gate == 1
    effective = (cell.bias_ih + cell.bias_hh).detach()  # torch adds the two
    torch.testing.assert_close(effective[H:2 * H], torch.ones(H))
    if init != "default":
        others = torch.cat([effective[:H], effective[2 * H:]])
        assert torch.count_nonzero(others) == 0


def test_unknown_init_policy_rejected():
    with pytest.raises(ValueError, match="orthogonal"):
        LSTMCell(2, 3).reset_parameters("orthogonl")


def test_params_validation():
    with pytest.raises(pydantic.ValidationError):
        ElmanRNNCell.Params(nonlinearity="tanh", hidden=3)
    with pytest.raises(pydantic.ValidationError):
        ElmanRNNCell.Params.model_validate({"nonlinearity": "sigmoid"})
    with pytest.raises(pydantic.ValidationError):
        LSTMCell.Params.model_validate({"nonlinearity": "tanh"})  # not an LSTM key
    with pytest.raises(pydantic.ValidationError):
        GRUCell.Params.model_validate({"bias": "maybe"})
    assert ElmanRNNCell.Params().nonlinearity == "tanh"
    assert ElmanRNNCell.Params.model_validate({"nonlinearity": "relu"}).nonlinearity == "relu"


def test_no_bias():
    for kind in KINDS:
        cell = make_ours(kind, 3, 4, bias=False)
        assert cell.bias_ih is None and cell.bias_hh is None
        assert {n for n, _ in cell.named_parameters()} == {"weight_ih", "weight_hh"}
        cell.reset_parameters("xavier", forget_bias=1.0)  # no bias: nothing to set


def test_shapes_and_metadata():
    assert (ElmanRNNCell.num_gates, ElmanRNNCell.num_states, ElmanRNNCell.forget_gate) == (1, 1, None)
    assert (LSTMCell.num_gates, LSTMCell.num_states, LSTMCell.forget_gate) == (4, 2, 1)
    assert (GRUCell.num_gates, GRUCell.num_states, GRUCell.forget_gate) == (3, 1, None)
    for cls in (ElmanRNNCell, LSTMCell, GRUCell):
        assert cls(2, 3).has_fast_path


def test_builtin_cells_module_is_torch_free():
    code = ("import sys, seqforge.builtins.cells\n"
            "assert 'torch' not in sys.modules, 'importing builtins.cells imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- every registered cell ------------------------------------------------------------------------

def _registered_cells():
    try:
        from seqforge.plugins import get_registry
        return sorted(get_registry().entries["cell"].items())
    except Exception as exc:  # report it as one failing test, not a collection error
        return [("<registry>", exc)]


def test_registry_has_builtin_cells():
    from seqforge.plugins import get_registry
    cells = get_registry().entries["cell"]
    assert cells["rnn"].component is ElmanRNNCell
    assert cells["lstm"].component is LSTMCell
    assert cells["gru"].component is GRUCell


_REGISTERED = _registered_cells()


@pytest.mark.parametrize("name,entry", _REGISTERED, ids=[n for n, _ in _REGISTERED])
def test_registered_cell_contract(name, entry):
    if isinstance(entry, Exception):
        pytest.fail(f"building the registry failed: {type(entry).__name__}: {entry}")
    cls = entry.component
    assert isinstance(cls, type) and issubclass(cls, Cell), name
    assert issubclass(cls.Params, CellParams)
    assert cls.Params.model_config.get("extra") == "forbid"
    with pytest.raises(pydantic.ValidationError):
        cls.Params.model_validate({"surely_not_a_cell_param": 1})

    torch.manual_seed(0)
    B, T, I, H = 3, 5, 4, 6  # noqa: E741
    cell = cls(I, H).to(DT).eval()
    assert (cell.input_size, cell.hidden_size) == (I, H)
    state = cell.initial_state(B)
    widths = cell.state_sizes()
    assert len(state) == len(widths) == cls.num_states >= 1 and widths[0] == H
    assert all(s.shape == (B, w) and s.dtype == DT for s, w in zip(state, widths))

    x = torch.randn(B, T, I, dtype=DT)
    y_t, s1 = cell(x[:, 0], state)
    assert y_t.shape == (B, H)
    assert len(s1) == cls.num_states and all(s.shape == (B, w) for s, w in zip(s1, widths))

    lengths = torch.tensor([5, 2, 1])
    with torch.no_grad():
        for ln in (None, lengths):
            y, s = cell.forward_sequence(x, state, ln)
            y_ref, s_ref = step_loop(cell, x, state, ln)
            assert y.shape == (B, T, H)
            torch.testing.assert_close(y, y_ref, rtol=1e-7, atol=1e-9)
            for a, b in zip(s, s_ref):
                torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)
    assert torch.count_nonzero(y[1, 2:]) == 0 and torch.count_nonzero(y[2, 1:]) == 0

    for init in ("default", "xavier", "orthogonal"):
        cell.reset_parameters(init)
