"""The modern cells: ``lru``, ``rg_lru``, ``mlstm``, ``slstm``, ``qrnn``.

The registry-wide contract kit (``tests/test_contracts.py``) already runs every cell and
topology property on them; here:

* each step form is the paper's equations, checked against a direct transcription
  (unstabilised for the xLSTM cells, complex arithmetic for the LRU, ``conv1d`` for QRNN);
* the sequence form equals the step form over T = 300 (float64, every scan and chunking,
  with padding, values and gradients) and stays close in float32 and under autocast;
* parameter ranges the kit's derived variants do not reach (chunk sizes, windows, heads);
* the papers' initialisations (the capability flags ``supports_*`` have their own tests,
  ``tests/test_cell_capabilities.py``: every modern cell has them all);
* every cell trains end to end from a spec (a char LM with truncated BPTT: the state —
  matrix memory, input history, complex state — is carried across chunks).
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import seqforge
from seqforge.cells.base import step_loop
from seqforge.cells.lru import LRUCell
from seqforge.cells.mlstm import MLSTMCell
from seqforge.cells.qrnn import QRNNCell
from seqforge.cells.rg_lru import RGLRUCell
from seqforge.cells.slstm import SLSTMCell
from seqforge.plugins import get_registry
from seqforge.recurrent import Recurrent
from seqforge.testing import run_cell_property

DT = torch.float64
TOL = dict(rtol=1e-9, atol=1e-11)
NAMES = {"lru": LRUCell, "rg_lru": RGLRUCell, "mlstm": MLSTMCell, "slstm": SLSTMCell,
         "qrnn": QRNNCell}
#: every sequence-path variant of each cell
VARIANTS = [
    ("lru", {"scan": "linear"}), ("lru", {"scan": "parallel", "chunk_size": 16}),
    ("lru", {"scan": "parallel", "chunk_size": 0, "state_size": 5, "activation": "none"}),
    ("rg_lru", {"scan": "linear"}), ("rg_lru", {"scan": "parallel", "chunk_size": 7}),
    ("mlstm", {"chunk_size": 64}), ("mlstm", {"chunk_size": 7, "num_heads": 2, "forget": "exp"}),
    ("mlstm", {"chunk_size": 0, "num_heads": 4}),
    ("slstm", {}), ("slstm", {"num_heads": 2, "forget": "exp"}),
    ("qrnn", {"scan": "linear"}), ("qrnn", {"scan": "parallel", "window": 4}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in p.items()) or 'default'}" for n, p in VARIANTS]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _cell(name, params=None, I=3, H=4, dtype=DT):  # noqa: E741
    cls = NAMES[name]
    return cls(I, H, cls.Params(**(params or {}))).to(dtype)


def _random_state(cell, B, gen, dtype=DT):
    return tuple(torch.randn(B, w, generator=gen, dtype=dtype) for w in cell.state_sizes())


# -- the papers' equations ----------------------------------------------------------------------

def test_rg_lru_is_griffin_equations_1_to_4():
    torch.manual_seed(0)
    cell = _cell("rg_lru")
    x, h = torch.randn(2, 5, 3, dtype=DT), torch.randn(2, 4, dtype=DT)
    y, _ = cell.forward_sequence(x, (h,))
    Wa, Wx, W = cell.weight_ih.chunk(3)
    ba, bx, b = cell.bias_ih.chunk(3)
    a = torch.sigmoid(cell.a_logit)
    for t in range(5):
        r = torch.sigmoid(x[:, t] @ Wa.T + ba)  # (1)
        i = torch.sigmoid(x[:, t] @ Wx.T + bx)  # (2)
        a_t = a ** (8.0 * r)  # (3), c = 8
        h = a_t * h + torch.sqrt(1 - a_t ** 2) * (i * (x[:, t] @ W.T + b))  # (4)
        torch.testing.assert_close(y[:, t], h, **TOL)


def test_lru_is_a_complex_diagonal_recurrence():
    torch.manual_seed(0)
    cell = _cell("lru", {"state_size": 3})
    x = torch.randn(2, 6, 3, dtype=DT)
    y, (y_T, h_re, h_im) = cell.forward_sequence(x, cell.initial_state(2))
    lam = torch.exp(-torch.exp(cell.nu_log) + 1j * torch.exp(cell.theta_log))  # (N,)
    B = torch.complex(*cell.weight_ih.chunk(2))  # (N, I)
    C = torch.complex(cell.weight_out[:, :3], -cell.weight_out[:, 3:])  # (H, N)
    gamma = torch.exp(cell.gamma_log)
    h = torch.zeros(2, 3, dtype=torch.complex128)
    for t in range(6):
        h = lam * h + gamma * (x[:, t].to(h.dtype) @ B.T)
        expected = F.gelu((h @ C.T).real + x[:, t] @ cell.weight_skip.T)
        torch.testing.assert_close(y[:, t], expected, **TOL)
    torch.testing.assert_close(torch.complex(h_re, h_im), h, **TOL)
    assert torch.equal(y_T, y[:, -1])


def test_mlstm_is_the_unstabilised_xlstm_mlstm():
    """(19)–(27) with i = exp(ĩ), f = σ(f̃) and max(|nᵀq|, 1): the stabiliser changes nothing."""
    torch.manual_seed(0)
    cell = _cell("mlstm", {"num_heads": 2, "chunk_size": 3}, H=6)
    torch.nn.init.normal_(cell.weight_if)  # input-dependent gates (their init is zero)
    x = torch.randn(2, 8, 3, dtype=DT)
    y, _ = cell.forward_sequence(x, cell.initial_state(2))
    q, k, v, o = F.linear(x, cell.weight_ih, cell.bias_ih).view(2, 8, 4, 2, 3).unbind(2)
    i_, f_ = F.linear(x, cell.weight_if, cell.bias_if).view(2, 8, 2, 2).unbind(2)
    k = k / math.sqrt(3)
    C, n = torch.zeros(2, 2, 3, 3, dtype=DT), torch.zeros(2, 2, 3, dtype=DT)
    for t in range(8):
        i, f = torch.exp(i_[:, t])[..., None], torch.sigmoid(f_[:, t])[..., None]
        C = f[..., None] * C + i[..., None] * v[:, t, :, :, None] * k[:, t, :, None, :]  # (19)
        n = f * n + i * k[:, t]  # (20)
        num = (C @ q[:, t, ..., None])[..., 0]
        den = (n * q[:, t]).sum(-1, keepdim=True).abs().clamp(min=1.0)
        h = torch.sigmoid(o[:, t]) * num / den  # (21)
        torch.testing.assert_close(y[:, t], h.reshape(2, 6), **TOL)


def test_slstm_is_the_unstabilised_xlstm_slstm():
    """(8)–(14) with i = exp(ĩ), f = σ(f̃), block-diagonal recurrence over 2 heads."""
    torch.manual_seed(0)
    cell = _cell("slstm", {"num_heads": 2})
    x = torch.randn(2, 7, 3, dtype=DT)
    y, _ = cell.forward_sequence(x, cell.initial_state(2))
    # the dense (4H, H) matrix the heads stand for: per gate, head blocks on the diagonal
    R_full = torch.cat([torch.block_diag(*cell.weight_hh[g * 4:(g + 1) * 4].split(2))
                        for g in range(4)])
    h, c, n = (torch.zeros(2, 4, dtype=DT) for _ in range(3))
    for t in range(7):
        i_, f_, z_, o_ = (x[:, t] @ cell.weight_ih.T + h @ R_full.T + cell.bias_ih).chunk(4, -1)
        c = torch.sigmoid(f_) * c + torch.exp(i_) * torch.tanh(z_)  # (8), (11)–(13)
        n = torch.sigmoid(f_) * n + torch.exp(i_)  # (9)
        h = torch.sigmoid(o_) * c / n  # (10), (14)
        torch.testing.assert_close(y[:, t], h, **TOL)


def test_qrnn_is_a_causal_convolution_and_fo_pooling():
    torch.manual_seed(0)
    cell = _cell("qrnn", {"window": 3})
    x = torch.randn(2, 9, 3, dtype=DT)
    y, (_, _, hist) = cell.forward_sequence(x, cell.initial_state(2))
    # (1): W * X over a zero-padded past; weight (3H, k·I), taps oldest first
    w = cell.weight_ih.view(12, 3, 3).transpose(1, 2)  # (3H, I, k) for conv1d
    pre = F.conv1d(F.pad(x.transpose(1, 2), (2, 0)), w, cell.bias_ih).transpose(1, 2)
    z, f, o = torch.tanh(pre[..., :4]), torch.sigmoid(pre[..., 4:8]), torch.sigmoid(pre[..., 8:])
    c = torch.zeros(2, 4, dtype=DT)
    for t in range(9):
        c = f[:, t] * c + (1 - f[:, t]) * z[:, t]  # fo-pooling (4)
        torch.testing.assert_close(y[:, t], o[:, t] * c, **TOL)
    torch.testing.assert_close(hist, x[:, -2:].reshape(2, 6), **TOL)  # the last k − 1 inputs


# -- sequence form == step form, long T ---------------------------------------------------------

def _grads(fn, cell, x, state, lengths, w):
    x = x.clone().requires_grad_(True)
    y, final = fn(cell, x, state, lengths)
    loss = (y * w).sum() + sum(s.square().sum() for s in final)
    return y.detach(), [s.detach() for s in final], torch.autograd.grad(loss, [x, *cell.parameters()])


@pytest.mark.parametrize("name,params", VARIANTS, ids=IDS)
def test_sequence_equals_steps_over_300_steps(name, params):
    """No drift of the scans / chunked forms over long sequences: float64, with padding."""
    torch.manual_seed(0)
    cell = _cell(name, params)
    gen = torch.Generator().manual_seed(1)
    B, T = 3, 300
    x = torch.randn(B, T, 3, generator=gen, dtype=DT)
    state = _random_state(cell, B, gen)
    w = torch.randn(B, T, 4, generator=gen, dtype=DT)
    for lengths in (None, torch.tensor([300, 0, 173])):
        y_f, s_f, g_f = _grads(lambda c, *a: c.forward_sequence(*a), cell, x, state, lengths, w)
        y_s, s_s, g_s = _grads(step_loop, cell, x, state, lengths, w)
        torch.testing.assert_close(y_f, y_s, rtol=1e-8, atol=1e-10)
        for a, b in zip(s_f, s_s):
            torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
        for a, b in zip(g_f, g_s):
            torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name,params", VARIANTS, ids=IDS)
def test_float32_and_autocast_stay_close_to_the_steps(name, params):
    torch.manual_seed(0)
    cell = _cell(name, params, H=8, dtype=torch.float32)
    x = torch.randn(2, 300, 3)
    lengths = torch.tensor([300, 120])
    with torch.no_grad():
        state = cell.initial_state(2)
        y, s = cell.forward_sequence(x, state, lengths)
        y_s, s_s = step_loop(cell, x, state, lengths)
        torch.testing.assert_close(y, y_s, rtol=1e-4, atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # bf16 matmuls, fp32 recurrence
            y_a, s_a = cell.forward_sequence(x, state, lengths)
            y_as, _ = step_loop(cell, x, state, lengths)
    assert y_a.dtype == torch.float32 and all(t.dtype == torch.float32 for t in s_a)
    # the recurrence runs in fp32 on both paths; bf16 matmuls before (and, for the LRU's
    # readout, after) it round alike, up to an ulp of bf16 where fp32 inputs differ last bit
    torch.testing.assert_close(y_a, y_as, rtol=1e-2, atol=2e-3)
    torch.testing.assert_close(y_a, y, rtol=0.05, atol=0.02)  # bf16 rounding, no drift


def test_generation_one_token_at_a_time_continues_the_sequence():
    """T = 1 calls with the state fed back (what sampling does) == one pass: O(1) state."""
    torch.manual_seed(0)
    for name, params in VARIANTS:
        cell = _cell(name, params)
        x = torch.randn(2, 12, 3, dtype=DT)
        y, final = cell.forward_sequence(x, cell.initial_state(2))
        state, outs = cell.initial_state(2), []
        for t in range(12):
            y_t, state = cell.forward_sequence(x[:, t:t + 1], state)
            assert all(s.shape == f.shape for s, f in zip(state, final))  # constant size
            outs.append(y_t)
        torch.testing.assert_close(torch.cat(outs, 1), y, **TOL)
        for a, b in zip(state, final):
            torch.testing.assert_close(a, b, **TOL)


# -- ranges the kit's derived variants do not reach -------------------------------------------------

@pytest.mark.parametrize("name,params", [
    ("mlstm", {"chunk_size": [0, 1, 2, 3]}),
    ("lru", {"scan": ["parallel"], "chunk_size": [0, 1, 2, 3], "state_size": [None, 1, 3]}),
    ("rg_lru", {"scan": ["parallel"], "chunk_size": [0, 1, 2, 3], "c": [1.0, 8.0]}),
    ("qrnn", {"scan": ["linear", "parallel"], "chunk_size": [0, 2], "window": [2, 3, 5]}),
])
@pytest.mark.parametrize("prop", ["state", "fast_path", "gradcheck", "batch_independence"])
def test_parameter_ranges(name, params, prop):
    run_cell_property(name, prop, params=params)


class _Sequence(torch.nn.Module):
    """``cell.forward_sequence`` as ``forward``, for ``functional_call``."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state, lengths):
        return self.cell.forward_sequence(x, state, lengths)


@pytest.mark.parametrize("name,params", [
    ("mlstm", {"num_heads": 2, "chunk_size": 2}), ("mlstm", {"num_heads": 4, "chunk_size": 0}),
    ("slstm", {"num_heads": 2}), ("slstm", {"num_heads": 4, "forget": "exp"})])
def test_gradcheck_with_heads(name, params):
    """Heads need hidden_size % heads == 0, which the kit's free sizes do not keep."""
    from torch.func import functional_call

    torch.manual_seed(0)
    cell = _cell(name, params, I=2, H=4)
    names = [n for n, _ in cell.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 2, generator=gen, dtype=DT, requires_grad=True)
    state = tuple(t.requires_grad_(True) for t in _random_state(cell, 2, gen))
    module, lengths = _Sequence(cell), torch.tensor([4, 2])

    def fn(x, *rest):
        ps = {"cell." + n: p for n, p in zip(names, rest[4:])}
        y, final = functional_call(module, ps, (x, tuple(rest[:4]), lengths))
        return (y, *final)

    assert torch.autograd.gradcheck(fn, (x, *state, *weights))


# -- the papers' initialisations ------------------------------------------------------------------

def test_lru_ring_initialisation_and_normalisation():
    torch.manual_seed(0)
    cell = _cell("lru", {"state_size": 512, "r_min": 0.5, "r_max": 0.9, "max_phase": 1.0})
    radius = torch.exp(-torch.exp(cell.nu_log.detach()))
    phase = torch.exp(cell.theta_log.detach())
    assert (radius >= 0.5 - 1e-6).all() and (radius <= 0.9 + 1e-6).all()  # Lemma 3.2
    assert (phase >= 0).all() and (phase <= 1.0 + 1e-6).all()
    assert abs(float((radius ** 2).mean()) - (0.25 + 0.81) / 2) < 0.03  # |λ|² uniform
    torch.testing.assert_close(cell.gamma_log.detach().exp(), torch.sqrt(1 - radius ** 2))  # §3.4
    for policy in ("default", "xavier", "orthogonal"):  # the policy never touches λ or γ
        cell.reset_parameters(policy)
        assert (torch.exp(-torch.exp(cell.nu_log)) <= 0.9 + 1e-6).all()


def test_rg_lru_decay_initialisation():
    torch.manual_seed(0)
    cell = _cell("rg_lru", {"c": 8.0, "a_min": 0.9, "a_max": 0.999}, H=256)
    a_c = torch.sigmoid(cell.a_logit.detach()) ** 8.0
    assert (a_c >= 0.9 - 1e-9).all() and (a_c <= 0.999 + 1e-9).all()
    assert float(a_c.std()) > 0.02  # spread over the interval, not one value


def test_mlstm_gate_initialisation():
    cell = _cell("mlstm", {"num_heads": 4})
    assert not cell.weight_if.any()
    torch.testing.assert_close(cell.bias_if[4:], torch.linspace(3.0, 6.0, 4, dtype=DT))
    exp = _cell("mlstm", {"num_heads": 4, "forget": "exp"})
    torch.testing.assert_close(exp.bias_if[4:].exp(), torch.sigmoid(cell.bias_if[4:]))
    cell.reset_parameters("xavier", forget_bias=1.5)
    assert torch.equal(cell.bias_if[4:], torch.full((4,), 1.5, dtype=DT))


def test_heads_must_divide_hidden_size():
    for name in ("mlstm", "slstm"):
        with pytest.raises(ValueError, match="not a multiple of num_heads 3"):
            _cell(name, {"num_heads": 3}, H=4)


def test_state_sizes():
    assert _cell("mlstm", {"num_heads": 2}, H=6).state_sizes() == (6, 18, 6, 2)
    assert _cell("qrnn", {"window": 3}, I=5).state_sizes() == (4, 4, 10)
    assert _cell("lru", {"state_size": 7}).state_sizes() == (4, 7, 7)
    assert _cell("slstm").state_sizes() == (4,) * 4 and _cell("rg_lru").state_sizes() == (4,)
    rnn = Recurrent(QRNNCell, 5, 4, num_layers=2)  # layer 2 reads H inputs, not I
    assert rnn.state_sizes() == [(4, 4, 5), (4, 4, 4)]


# -- registry and end to end ----------------------------------------------------------------------

def test_registered_as_builtins_with_every_capability():
    cells = get_registry().entries["cell"]
    for name, cls in NAMES.items():
        assert cells[name].component is cls and cells[name].origin == "builtin"
        assert cls.supports_lengths and cls.supports_bidirectional and cls.supports_state_carry


def test_builtin_module_is_torch_free():
    code = ("import sys, seqforge.builtins.cells\n"
            "assert 'torch' not in sys.modules, 'importing builtins.cells imported torch'")
    subprocess.run([sys.executable, "-c", code], check=True)


def _lm_spec(cell, **train):
    return {"name": "t", "data": {"dataset": "text", "source": ["t.txt"], "seq_len": 40,
                                  "val": 0.1, "test": 0.1},
            "model": {"topology": "many_to_many", "cell": cell, "hidden_size": 16,
                      "embedding": 8},
            "task": {"name": "language_model", "samples": 0},
            "train": {"epochs": 3, "batch_size": 8, "limit_train_batches": 6, "threads": 1,
                      "optimizer": {"name": "adam", "lr": 0.01}, **train}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import random

    rng = random.Random(0)
    path = tmp_path_factory.mktemp("corpus")
    words = ("alpha", "beta", "gamma", "delta")
    (path / "t.txt").write_text(" ".join(rng.choice(words) for _ in range(800)))
    return path


@pytest.mark.parametrize("name", sorted(NAMES))
def test_trains_end_to_end_with_truncated_bptt(name, corpus):
    """A char LM, state carried across 20-step chunks: the loss is finite and falls."""
    spec = seqforge.load_spec(_lm_spec(name, bptt={"truncate": 20}), base_dir=corpus)
    run = seqforge.train(spec, out=None)
    losses = [row["train_loss"] for row in run.history]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0] - 0.1, losses
    assert math.isfinite(run.summary["test"]["test_loss"])
