"""The cell contract as properties, and :func:`check_cell` to run them on any cell class.

Every registered cell (built-in or plugin) must pass these; ``tests/test_contracts.py``
runs them over the whole registry. Checks run in float64, so "equal" means equal to
rounding. The properties:

``params``            ``Params`` is a ``CellParams`` that rejects unknown keys; the cell
                      builds from defaults and from every drawn variant.
``state``             ``initial_state``/step/sequence shapes (``state_sizes``) and dtypes;
                      ``num_states``.
``fast_path``         ``forward_sequence`` equals :func:`~seqforge.cells.base.step_loop`
                      in outputs, final state and gradients (inputs, state, weights),
                      with and without ``lengths`` (0 included; never for a cell whose
                      ``supports_lengths`` is False); outputs past a length are exactly
                      zero and padded inputs get exactly zero gradient.
``batch_independence`` changing row j (input, state, length) leaves every other row alone.
``causality``         ∂y_t/∂x_t' = 0 for t' > t on the sequence path.
``gradcheck``         ``torch.autograd.gradcheck`` of the step and of the sequence path
                      (with lengths) w.r.t. inputs, state and every parameter.
``init``              ``reset_parameters`` runs for every init policy with and without
                      ``forget_bias``, leaves finite weights, sets the forget-gate bias,
                      and rejects an unknown policy with ValueError.

Reference cells against torch's own cells (``nn.LSTMCell`` …) live in
``tests/test_cells.py``: they are specific to the built-ins.
"""

from __future__ import annotations

from dataclasses import dataclass

import pydantic
import torch
from hypothesis import note
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.func import functional_call

from ..cells.base import INIT_POLICIES, Cell, CellParams, step_loop
from .asserts import DEFAULT_TOL, Tolerance, assert_close, assert_finite, assert_shape, assert_zero
from .runner import NotApplicable, Property, check_all, resolve, run_property
from .settings import current
from .strategies import ParamsSpec, lengths_strategy, params_strategy, randn, seeds

DT = torch.float64


@dataclass(frozen=True)
class CellSubject:
    """A cell class under test, with how to draw its parameters."""

    cls: type[Cell]
    name: str
    params: ParamsSpec = None
    tol: Tolerance = DEFAULT_TOL

    def draw_params(self, data) -> CellParams:
        return data.draw(params_strategy(self.cls.Params, self.params), label="params")

    def build(self, I: int, H: int, params: CellParams) -> Cell:  # noqa: E741
        return self.cls(I, H, params).to(DT)


def cell_subject(cell: type[Cell] | str, params: ParamsSpec = None,
                 tol: Tolerance = DEFAULT_TOL) -> CellSubject:
    cls, name = resolve("cell", cell)
    if not (isinstance(cls, type) and issubclass(cls, Cell)):
        raise TypeError(f"{name}: expected a seqforge.cells.base.Cell subclass, got {cls!r}")
    params_strategy(cls.Params, params)  # a wrong field name is the caller's error: now
    return CellSubject(cls, name, params, tol)


# -- drawing --------------------------------------------------------------------------------------

def _sizes(data, *, tiny: bool = False, min_batch: int = 1,
           min_steps: int = 1) -> tuple[int, int, int, int]:
    m = 3 if tiny else current().max_size
    B = data.draw(st.integers(min_batch, max(min_batch, 2 if tiny else m)), label="B")
    T = data.draw(st.integers(min_steps, m + 1), label="T")
    I = data.draw(st.integers(1, 2 if tiny else m), label="I")  # noqa: E741
    H = data.draw(st.integers(1, m), label="H")
    return B, T, I, H


def _lengths(data, s: CellSubject, B: int, T: int, *, min_length: int = 0) -> Tensor | None:
    if not s.cls.supports_lengths or not data.draw(st.booleans(), label="use_lengths"):
        return None
    lens = data.draw(lengths_strategy(B, T, min_length=min_length, full_row=False), label="lengths")
    return torch.tensor(lens, dtype=torch.long)


def _state(cell: Cell, B: int, gen: torch.Generator) -> tuple[Tensor, ...]:
    return tuple(randn(gen, B, w) for w in cell.state_sizes())


def _gen(data) -> torch.Generator:
    return torch.Generator().manual_seed(data.draw(seeds(), label="data_seed"))


# -- properties -------------------------------------------------------------------------------------

def _params(s: CellSubject, data) -> None:
    P = s.cls.Params
    if not (isinstance(P, type) and issubclass(P, CellParams)):
        raise AssertionError(f"{s.name}.Params must subclass seqforge.cells.base.CellParams")
    if P.model_config.get("extra") != "forbid":
        raise AssertionError(f"{s.name}.Params must forbid unknown keys "
                             "(model_config extra='forbid', inherited from CellParams)")
    try:
        P.model_validate({"surely_not_a_cell_parameter": 1})
    except pydantic.ValidationError:
        pass
    else:
        raise AssertionError(f"{s.name}.Params accepted an unknown key")
    try:
        P()
    except pydantic.ValidationError as exc:
        raise AssertionError(f"{s.name}.Params() must build from defaults alone: {exc}") from None
    cell = s.cls(3, 2)  # params=None means the defaults
    if not isinstance(cell.params, P):
        raise AssertionError(f"{s.name}(3, 2).params is {type(cell.params).__name__}, "
                             f"expected {P.__name__}")
    params = s.draw_params(data)
    cell = s.cls(3, 2, params)
    if cell.params != params:
        raise AssertionError(f"{s.name}: cell.params {cell.params!r} is not the params it "
                             "was built with")
    if (cell.input_size, cell.hidden_size) != (3, 2):
        raise AssertionError(f"{s.name}(3, 2): input_size/hidden_size are "
                             f"{(cell.input_size, cell.hidden_size)}")


def _state_shapes(s: CellSubject, data) -> None:
    B, T, I, H = _sizes(data)  # noqa: E741
    params = s.draw_params(data)
    ns = s.cls.num_states
    if not (isinstance(ns, int) and ns >= 1):
        raise AssertionError(f"{s.name}.num_states must be an int >= 1, got {ns!r}")
    cell32 = s.cls(I, H, params)
    widths = tuple(cell32.state_sizes())
    if len(widths) != ns or widths[0] != H:
        raise AssertionError(f"state_sizes() must give num_states={ns} widths, the first "
                             f"hidden_size={H}; got {widths}")
    st32 = cell32.initial_state(B)
    if not isinstance(st32, tuple) or len(st32) != ns:
        raise AssertionError(f"initial_state({B}) must be a tuple of num_states={ns} tensors, "
                             f"got {type(st32).__name__} of {len(st32)}")
    for k, t in enumerate(st32):
        assert_shape(t, (B, widths[k]), f"initial_state({B})[{k}]")
        if t.dtype != torch.float32:
            raise AssertionError(f"initial_state[{k}] of a float32 cell is {t.dtype}")
    cell = cell32.to(DT)
    for k, t in enumerate(cell.initial_state(B)):
        if t.dtype != DT:
            raise AssertionError(f"initial_state[{k}] of a float64 cell is {t.dtype}: it must "
                                 "follow the parameters' dtype")
    gen = _gen(data)
    x = randn(gen, B, T, I)
    state = _state(cell, B, gen)
    y_t, s1 = cell(x[:, 0], state)
    assert_shape(y_t, (B, H), "step output y_t")
    if not isinstance(s1, tuple) or len(s1) != ns:
        raise AssertionError(f"step must return a tuple of {ns} state tensors, got {s1!r:.80}")
    for k, t in enumerate(s1):
        assert_shape(t, (B, widths[k]), f"step state[{k}]")
        if t.dtype != DT:
            raise AssertionError(f"step state[{k}] is {t.dtype}, input was float64")
    y, sT = cell.forward_sequence(x, state)
    assert_shape(y, (B, T, H), "forward_sequence output")
    if len(sT) != ns:
        raise AssertionError(f"forward_sequence must return {ns} state tensors, got {len(sT)}")
    for k, t in enumerate(sT):
        assert_shape(t, (B, widths[k]), f"forward_sequence state[{k}]")
    if not isinstance(cell.has_fast_path, bool):
        raise AssertionError("has_fast_path must be a bool")


def _loss_and_grads(fn, cell: Cell, x, state, lengths, wy, ws):
    x = x.clone().requires_grad_(True)
    state = tuple(t.clone().requires_grad_(True) for t in state)
    y, final = fn(cell, x, state, lengths)
    loss = (y * wy).sum() + sum((f * w).sum() for f, w in zip(final, ws))
    grads = torch.autograd.grad(loss, [x, *state, *cell.parameters()], allow_unused=True)
    grads = [torch.zeros_like(v) if g is None else g
             for g, v in zip(grads, [x, *state, *cell.parameters()])]
    return y.detach(), tuple(f.detach() for f in final), grads


def _fast(cell, x, state, lengths):
    return cell.forward_sequence(x, state, lengths)


def _fast_path(s: CellSubject, data) -> None:
    B, T, I, H = _sizes(data)  # noqa: E741
    params = s.draw_params(data)
    cell = s.build(I, H, params)
    gen = _gen(data)
    x = randn(gen, B, T, I)
    state = _state(cell, B, gen)
    wy = randn(gen, B, T, H)
    ws = [randn(gen, *t.shape) for t in state]
    # without lengths, then with padded ones (the cell masking): a fast path that ignores
    # lengths, or one that only works without them, shows in one of the two
    variants = [None]
    if s.cls.supports_lengths and T > 0:
        lens = data.draw(lengths_strategy(B, T, min_length=0, full_row=False), label="lengths")
        if min(lens) == T:  # lengths that pad nothing test nothing: pad a row
            lens[-1] = data.draw(st.integers(0, T - 1), label="shorter_row")
        variants.append(torch.tensor(lens, dtype=torch.long))
    for lengths in variants:
        note(f"lengths={None if lengths is None else lengths.tolist()}")
        _fast_vs_steps(s, cell, x, state, lengths, wy, ws)


def _fast_vs_steps(s: CellSubject, cell, x, state, lengths, wy, ws) -> None:
    B, T, _ = x.shape
    H = cell.hidden_size
    y_f, s_f, g_f = _loss_and_grads(_fast, cell, x, state, lengths, wy, ws)
    y_s, s_s, g_s = _loss_and_grads(step_loop, cell, x, state, lengths, wy, ws)
    assert_shape(y_f, (B, T, H), "forward_sequence output")
    assert_close(y_f, y_s, "forward_sequence output vs step loop", s.tol)
    if len(s_f) != len(s_s):
        raise AssertionError(f"forward_sequence returned {len(s_f)} state tensors, "
                             f"step loop {len(s_s)}")
    for k, (a, b) in enumerate(zip(s_f, s_s)):
        assert_close(a, b, f"final state[{k}] vs step loop", s.tol)
    names = ["x", *(f"initial state[{k}]" for k in range(len(state))),
             *(n for n, _ in cell.named_parameters())]
    for name, a, b in zip(names, g_f, g_s):
        assert_close(a, b, f"gradient w.r.t. {name} vs step loop", s.tol)
    if lengths is not None:
        for b, L in enumerate(lengths.tolist()):
            assert_zero(y_f[b, L:], f"forward_sequence output of row {b} past its length {L}")
            assert_zero(g_f[0][b, L:], f"gradient w.r.t. padded input of row {b} (length {L})")


def _batch_independence(s: CellSubject, data) -> None:
    B, T, I, H = _sizes(data, min_batch=2)  # noqa: E741
    params = s.draw_params(data)
    cell = s.build(I, H, params)
    gen = _gen(data)
    x = randn(gen, B, T, I)
    state = _state(cell, B, gen)
    lengths = _lengths(data, s, B, T, min_length=0)
    j = data.draw(st.integers(0, B - 1), label="changed_row")
    x2 = x.clone()
    x2[j] = randn(gen, T, I)
    state2 = tuple(t.clone() for t in state)
    for t in state2:
        t[j] = randn(gen, t.shape[1])
    lengths2 = None
    if lengths is not None:
        lengths2 = lengths.clone()
        lengths2[j] = data.draw(st.integers(0, T), label="changed_length")
    keep = [i for i in range(B) if i != j]
    with torch.no_grad():
        y1, s1 = cell(x[:, 0], state)
        y2, s2 = cell(x2[:, 0], state2)
        assert_close(y2[keep], y1[keep], f"step output of rows {keep} after changing row {j}", s.tol)
        for k, (a, b) in enumerate(zip(s2, s1)):
            assert_close(a[keep], b[keep],
                         f"step state[{k}] of other rows after changing row {j}", s.tol)
        y1, s1 = cell.forward_sequence(x, state, lengths)
        y2, s2 = cell.forward_sequence(x2, state2, lengths2)
        assert_close(y2[keep], y1[keep], f"forward_sequence output of other rows after changing "
                                         f"row {j}", s.tol)
        for k, (a, b) in enumerate(zip(s2, s1)):
            assert_close(a[keep], b[keep], f"forward_sequence final state[{k}] of other rows "
                                           f"after changing row {j}", s.tol)


def _causality(s: CellSubject, data) -> None:
    B, T, I, H = _sizes(data, min_steps=2)  # noqa: E741
    params = s.draw_params(data)
    cell = s.build(I, H, params)
    gen = _gen(data)
    x = randn(gen, B, T, I).requires_grad_(True)
    state = _state(cell, B, gen)
    lengths = _lengths(data, s, B, T, min_length=0)
    t = data.draw(st.integers(0, T - 2), label="t")
    y, _ = cell.forward_sequence(x, state, lengths)
    w = randn(gen, B, H)
    (grad,) = torch.autograd.grad((y[:, t] * w).sum(), x, allow_unused=True)
    if grad is None:
        return  # y_t reads no input at all: trivially causal
    scale = max(1.0, float(grad.abs().max()))
    assert_zero(grad[:, t + 1:], f"∂y_{t}/∂x_t' for t' > {t} (the sequence path sees the future)",
                atol=1e-12 * scale)


class _Sequence(nn.Module):
    """``cell.forward_sequence`` as ``forward``, for ``functional_call``."""

    def __init__(self, cell: Cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state, lengths):
        return self.cell.forward_sequence(x, state, lengths)


def _gradcheck(s: CellSubject, data) -> None:
    B, T, I, H = _sizes(data, tiny=True)  # noqa: E741
    params = s.draw_params(data)
    cell = s.build(I, H, params)
    gen = _gen(data)
    path = data.draw(st.sampled_from(["step", "sequence"]), label="path")
    lengths = _lengths(data, s, B, T, min_length=0) if path == "sequence" else None
    names = [n for n, _ in cell.named_parameters()]
    weights = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    x = randn(gen, B, T, I).requires_grad_(True)
    state = tuple(t.requires_grad_(True) for t in _state(cell, B, gen))
    ns = len(state)
    module, prefix = (cell, "") if path == "step" else (_Sequence(cell), "cell.")

    def fn(x, *rest):
        st_ = tuple(rest[:ns])
        ps = {prefix + n: p for n, p in zip(names, rest[ns:])}
        args = (x[:, 0], st_) if path == "step" else (x, st_, lengths)
        y, state_out = functional_call(module, ps, args)
        return (y, *state_out)

    note(f"gradcheck of the {path} path, parameters {names}")
    torch.autograd.gradcheck(fn, (x, *state, *weights), raise_exception=True)


def _init(s: CellSubject, data) -> None:
    params = s.draw_params(data)
    I = data.draw(st.integers(1, 4), label="I")  # noqa: E741
    H = data.draw(st.integers(1, 4), label="H")
    cell = s.build(I, H, params)
    gen = _gen(data)
    x = randn(gen, 2, 3, I)
    fg = s.cls.forget_gate
    for policy in INIT_POLICIES:
        for forget_bias in (None, 1.0):
            what = f"reset_parameters({policy!r}, forget_bias={forget_bias})"
            cell.reset_parameters(policy, forget_bias)
            for name, p in cell.named_parameters():
                assert_finite(p, f"{what}: parameter {name}")
            with torch.no_grad():
                y, _ = cell.forward_sequence(x, cell.initial_state(2))
            assert_finite(y, f"{what}: output")
            biases = [p for n, p in cell.named_parameters() if n in ("bias_ih", "bias_hh")]
            if forget_bias is not None and fg is not None and biases:
                sl = slice(fg * H, (fg + 1) * H)
                effective = sum(b.detach()[sl] for b in biases)  # torch adds bias_ih + bias_hh
                assert_close(effective, torch.full_like(effective, forget_bias),
                             f"{what}: forget-gate bias (gate block {fg})")
    try:
        cell.reset_parameters("surely_not_a_policy")
    except ValueError:
        pass
    else:
        raise AssertionError("reset_parameters accepted an unknown init policy "
                             "(it must raise ValueError, as init_recurrent_weights does)")


CELL_PROPERTIES: dict[str, Property] = {p.name: p for p in (
    Property("params", "Params forbids unknown keys; the cell builds from every variant", _params),
    Property("state", "state and output shapes and dtypes", _state_shapes),
    Property("fast_path", "forward_sequence equals the step loop in values and gradients",
             _fast_path),
    Property("batch_independence", "changing one row leaves every other row unchanged",
             _batch_independence),
    Property("causality", "y_t does not depend on later inputs", _causality),
    Property("gradcheck", "autograd.gradcheck in float64", _gradcheck, expensive=True),
    Property("init", "every init policy runs and sets the forget bias", _init),
)}


def run_cell_property(cell: type[Cell] | str, name: str, *, params: ParamsSpec = None,
                      max_examples: int | None = None, shrink: bool = True,
                      tol: Tolerance = DEFAULT_TOL) -> None:
    """Run one cell property (see :data:`CELL_PROPERTIES`); AssertionError on a violation.
    ``shrink=False`` reports the first failing example without minimising it."""
    if name not in CELL_PROPERTIES:
        raise ValueError(f"unknown cell property {name!r}; known: {', '.join(CELL_PROPERTIES)}")
    s = cell_subject(cell, params, tol)
    run_property(CELL_PROPERTIES[name], s, f"cell {s.name!r}", max_examples, shrink=shrink)


def check_cell(cell: type[Cell] | str, *, params: ParamsSpec = None, only=None, skip=(),
               max_examples: int | None = None, shrink: bool = True,
               tol: Tolerance = DEFAULT_TOL) -> dict[str, str]:
    """Check every cell property on ``cell`` (a Cell subclass or a registered name).

    ``params``: how to draw the cell's ``Params`` — None derives variants from its fields,
    ``{"field": [values]}`` adds choices, a list of instances picks among them.
    ``only``/``skip``: property names. Returns ``{property: "passed" | "skipped: …"}``;
    raises one AssertionError listing every violated property with its counterexample.
    """
    s = cell_subject(cell, params, tol)
    return check_all(CELL_PROPERTIES, s, f"cell {s.name!r}", only=only, skip=skip,
                     max_examples=max_examples, shrink=shrink)


__all__ = ["CELL_PROPERTIES", "CellSubject", "check_cell", "run_cell_property", "NotApplicable"]
