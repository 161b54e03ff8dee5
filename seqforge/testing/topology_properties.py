"""The topology contract's properties, one function each (the table that names them and
the runners are in :mod:`seqforge.testing.topologies`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from hypothesis import assume, note
from hypothesis import strategies as st
from torch import Tensor
from torch.func import functional_call

from ..recurrent import Recurrent
from .asserts import (
    assert_close,
    assert_finite,
    assert_shape,
    assert_zero,
    flatten_tensors,
)
from .batches import DT, TopologyCase, TopologySubject, draw_case, float64, produces_of
from .runner import NotApplicable, seed_cpu
from .settings import current
from .strategies import lengths_strategy, seeds

#: the cell a topology is built with unless the caller names others: two states (h, c)
#: exercise more of a topology's state handling than one


def _gen(data) -> torch.Generator:
    return torch.Generator().manual_seed(data.draw(seeds(), label="data_seed"))


def _case(s: TopologySubject, data, **kw) -> TopologyCase:
    case = draw_case(data, s, current().max_size, **kw)
    note(case.describe())
    return case


def _forward(model, batch, state=None, seed: int | None = None) -> tuple[Tensor, Any]:
    """Run the model in float64; ``seed`` fixes the RNG (dropout, teacher-forcing coins) so
    two train-mode runs draw the same random numbers."""
    with float64():
        if seed is not None:
            seed_cpu(seed)
        return model(batch, state)


def _recurrents(model) -> list[Recurrent]:
    return [m for m in model.modules() if isinstance(m, Recurrent)]


def _weighted(out: Tensor, gen: torch.Generator) -> Tensor:
    """A scalar with a random weight on every output (so every output gets a gradient)."""
    return (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum()


def _param_grads(model, loss: Tensor, extra: Sequence[Tensor] = ()) -> list[tuple[str, Tensor]]:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    inputs = [p for _, p in named] + list(extra)
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    names = [n for n, _ in named] + [f"input[{k}]" for k in range(len(extra))]
    return [(n, torch.zeros_like(v) if g is None else g) for n, g, v in zip(names, grads, inputs)]


def _default_produces(s: TopologySubject) -> str:
    return produces_of(s.cls, s.cls.Params())


# -- properties -----------------------------------------------------------------------------------

def _shapes(s: TopologySubject, data) -> None:
    case = _case(s, data, dropout=True)
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    declared = getattr(model, "produces", None)
    if isinstance(declared, str) and declared != case.produces:
        raise AssertionError(f"the built model says produces={declared!r}, the topology "
                             f"{case.produces!r}")
    for mode in ("eval", "train"):
        model.train(mode == "train")
        out, state = _forward(model, batch, seed=0)
        assert_shape(out, case.out_shape(), f"{mode}-mode output (produces {case.produces!r})")
        assert_finite(out, f"{mode}-mode output")
        if mode == "train":
            grads = _param_grads(model, _weighted(out, gen))
            for name, g in grads:
                assert_finite(g, f"gradient of {name}")
            if grads and not any(bool(g.abs().sum() > 0) for _, g in grads):
                raise AssertionError("no parameter receives any gradient from the output")
    if s.cls.supports_tbptt:
        out2, _ = _forward(model, batch, state, seed=0)
        assert_shape(out2, case.out_shape(), "output when fed back its own returned state")


def _dtype(s: TopologySubject, data) -> None:
    case = _case(s, data)
    model = case.build(default_dtype=True)  # float32 weights, then model.to(float64)
    batch = case.batch(_gen(data))
    out, _ = model(batch)  # under torch's default dtype, not the kit's float64
    if out.dtype != DT:
        raise AssertionError(f"a model converted with .to(float64) returns {out.dtype}: some "
                             "tensor follows torch's default dtype instead of the parameters'")
    assert_shape(out, case.out_shape(), "output of the converted model")


def _batch_independence(s: TopologySubject, data) -> None:
    case = _case(s, data, min_batch=2)
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    j = data.draw(st.integers(0, case.B - 1), label="changed_row")
    other = case.batch(gen)  # fresh values for row j
    b2 = {k: (v.clone() if isinstance(v, Tensor) else v) for k, v in batch.items()}
    for key in ("x", "y"):
        b2[key][j] = other[key][j]
    if case.lengths is not None:
        L = data.draw(st.integers(1, case.T), label="changed_length")
        b2["lengths"][j] = L
        if case.input != "vector":
            b2["x"][j, L:] = 0
    keep = [i for i in range(case.B) if i != j]
    modes = ("eval",) if getattr(model, "batch_statistics", False) else ("eval", "train")
    if len(modes) == 1:
        note("batch_statistics: train mode normalises with the batch; eval mode checked")
    for mode in modes:
        model.train(mode == "train")
        out1, _ = _forward(model, batch, seed=1)
        out2, _ = _forward(model, b2, seed=1)
        assert_close(out2[keep], out1[keep],
                     f"{mode}-mode outputs of rows {keep} after changing row {j}", s.tol)


def _causality(s: TopologySubject, data) -> None:
    case = _case(s, data, bidirectional=False, min_steps=2)
    assume(case.produces == "aligned_sequence")
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    T = case.T
    if case.input == "float":
        t = data.draw(st.integers(0, T - 2), label="t")
        x = batch["x"].requires_grad_(True)
        out, _ = _forward(model, batch)
        (grad,) = torch.autograd.grad(_weighted(out[:, t], gen), x, allow_unused=True)
        if grad is not None:
            scale = max(1.0, float(grad.abs().max()))
            assert_zero(grad[:, t + 1:], f"∂y_{t}/∂x_t' for t' > {t} (a unidirectional "
                                         "aligned output sees the future)", atol=1e-12 * scale)
        return
    c = data.draw(st.integers(1, T - 1), label="cut")  # token ids: perturb x[:, c:]
    out1, _ = _forward(model, batch)
    b2 = dict(batch, x=batch["x"].clone())
    b2["x"][:, c:] = case.garbage(gen, *b2["x"][:, c:].shape)
    out2, _ = _forward(model, b2)
    assert_close(out2[:, :c], out1[:, :c], f"outputs before step {c} after changing the "
                                           f"tokens from step {c} on", s.tol)


def _no_target_leak(s: TopologySubject, data) -> None:
    case = _case(s, data)
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    fresh = case.y(gen)
    y2 = batch["y"].clone()
    if case.produces == "sequence" and case.follows == "target":
        c = data.draw(st.integers(0, case.Ty - 1), label="cut")
        y2[:, c:] = fresh[:, c:]
        upto, what = c + 1, f"outputs at steps ≤ {c} after changing the target from step {c} on"
    else:
        y2 = fresh
        upto, what = None, "outputs after changing the target"
    b2 = dict(batch, y=y2)
    for mode in ("eval", "train"):
        model.train(mode == "train")
        out1, _ = _forward(model, batch, seed=2)
        out2, _ = _forward(model, b2, seed=2)
        if upto is not None:
            out1, out2 = out1[:, :upto], out2[:, :upto]
        assert_close(out2, out1, f"{mode}-mode {what} (the model reads the answer)", s.tol)


def _padding_invariance(s: TopologySubject, data) -> None:
    case = _case(s, data, padded=True)
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    lengths = case.lengths or [case.T] * case.B
    extra = data.draw(st.integers(1, 3), label="extra_padding")
    x = batch["x"]
    T2 = case.T + extra
    x2 = torch.cat([x, case.garbage(gen, x.shape[0], extra, *x.shape[2:])], dim=1)  # (B, T2, ...)
    for b, L in enumerate(lengths):
        x2[b, L:] = case.garbage(gen, *x2[b, L:].shape)  # padding holds garbage, not zeros
    b2 = dict(batch, x=x2, lengths=torch.tensor(lengths, dtype=torch.long))
    aligned = case.per_step  # one output per input step: compare the valid ones
    if aligned:
        y = batch["y"]
        b2["y"] = torch.cat([y, torch.zeros_like(y[:, :1]).expand(-1, extra, *y.shape[2:])], 1)
    out1, _ = _forward(model, batch)
    out2, _ = _forward(model, b2)
    for b, L in enumerate(lengths):
        a, e = (out2[b, :L], out1[b, :L]) if aligned else (out2[b], out1[b])
        assert_close(a, e, f"outputs of row {b} (length {L}) after padding the batch from "
                           f"{case.T} to {T2} steps with garbage", s.tol)
    # one row alone, unpadded (no ``lengths``), as a batch of one would be collated
    i = data.draw(st.integers(0, case.B - 1), label="alone_row")
    L = lengths[i]
    alone: dict[str, Any] = {"x": x[i:i + 1, :L]}
    y = batch["y"][i:i + 1]
    Ly = None
    if aligned:
        y = y[:, :L]
    elif case.produces == "sequence" and case.y_lengths is not None:
        Ly = case.y_lengths[i]
        y = y[:, :Ly]
    alone["y"] = y
    out_i, _ = _forward(model, alone)
    expected = out1[i:i + 1]
    if aligned:
        expected = expected[:, :L]
    elif Ly is not None:
        expected = expected[:, :Ly]
    assert_close(out_i, expected, f"row {i} alone and unpadded (length {L}) vs the same row in "
                                  "a padded batch", s.tol)


def _fast_path(s: TopologySubject, data) -> None:
    case = _case(s, data)
    model = case.build()  # the model does not depend on the lengths: one for both variants
    if not _recurrents(model):
        raise NotApplicable("the built model has no seqforge.recurrent.Recurrent stack")
    # padding as drawn, then — the cell masking, the batch long enough — really padded
    # (rows of every length but one full row): a fast path that ignores lengths, or a
    # stack kernel that replaces the cell, shows in one of the two
    variants = [case.lengths]
    if case.cell.supports_lengths and case.input != "vector" and case.B > 1 and case.T > 1:
        lens = data.draw(lengths_strategy(case.B, case.T), label="padded_lengths")
        if min(lens) == case.T:  # every row full pads nothing; row 0 stays the full one
            lens[-1] = data.draw(st.integers(1, case.T - 1), label="shorter_row")
        if lens != case.lengths:
            variants.append(lens)
    for lengths in variants:
        case.lengths = lengths
        note(f"lengths={lengths}")
        _fast_vs_steps(s, case, model, data)


def _fast_vs_steps(s: TopologySubject, case, model, data) -> None:
    stacks = _recurrents(model)
    gen = _gen(data)
    batch = case.batch(gen)
    w_seed = data.draw(seeds(), label="weights_seed")
    results = []
    for fast in (True, False):
        for r in stacks:
            r.use_fast_path = fast
        b = dict(batch)
        extra = []
        if case.input != "tokens":
            b["x"] = batch["x"].clone().requires_grad_(True)
            extra = [b["x"]]
        out, _ = _forward(model, b)
        loss = _weighted(out, torch.Generator().manual_seed(w_seed))
        results.append((out.detach(), _param_grads(model, loss, extra)))
    for r in stacks:
        r.use_fast_path = True
    (out_f, g_f), (out_s, g_s) = results
    assert_close(out_f, out_s, "outputs with fast paths vs step loops", s.tol)
    for (name, a), (_, b) in zip(g_f, g_s):
        assert_close(a, b, f"gradient of {name} with fast paths vs step loops", s.tol)


def _tbptt(s: TopologySubject, data) -> None:
    from ..engine.tbptt import chunks

    case = _case(s, data, bidirectional=False, min_steps=2)
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    k = data.draw(st.integers(1, case.T), label="truncate")
    w_seed = data.draw(seeds(), label="weights_seed")
    out_full, state_full = _forward(model, batch)
    g_full = _param_grads(model, _weighted(out_full, torch.Generator().manual_seed(w_seed)))
    outs, state = [], None
    for chunk in chunks(batch, k):
        out_c, state = _forward(model, chunk, state)
        outs.append(out_c)
    out_chunks = torch.cat(outs, dim=1)
    what = f"in chunks of {k} steps with the state carried"
    assert_close(out_chunks, out_full, f"outputs {what} vs one full pass", s.tol)
    finals, full = flatten_tensors(state), flatten_tensors(state_full)
    if len(finals) != len(full):
        raise AssertionError(f"final state {what} has {len(finals)} tensors, a full pass {len(full)}")
    for n, (a, b) in enumerate(zip(finals, full)):
        assert_close(a, b, f"final state tensor {n} {what} vs one full pass", s.tol)
    g_chunks = _param_grads(model, _weighted(out_chunks, torch.Generator().manual_seed(w_seed)))
    for (name, a), (_, b) in zip(g_chunks, g_full):
        assert_close(a, b, f"gradient of {name} {what} (not detached) vs one full pass", s.tol)


def _gradcheck(s: TopologySubject, data) -> None:
    case = _case(s, data, tiny=True)
    model = case.build()
    gen = _gen(data)
    batch = case.batch(gen)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = tuple(p.detach().clone().requires_grad_(True)
                   for n, p in model.named_parameters() if p.requires_grad)
    keys = [k for k in ("x", "y") if isinstance(batch.get(k), Tensor) and batch[k].is_floating_point()]
    inputs = tuple(batch[k].clone().requires_grad_(True) for k in keys)

    def fn(*args):
        b = dict(batch, **dict(zip(keys, args[:len(keys)])))
        ps = dict(zip(names, args[len(keys):]))
        with float64():
            out, _ = functional_call(model, ps, (b,))
        return out

    full = current().full_gradcheck
    note(f"gradcheck ({'full' if full else 'fast_mode'}) w.r.t. {keys} and {len(names)} "
         "parameter tensors")
    torch.autograd.gradcheck(fn, inputs + params, raise_exception=True, fast_mode=not full)


def _only_aligned(s: TopologySubject) -> str | None:
    p = _default_produces(s)
    if p != "aligned_sequence":
        return f"it produces {p!r}; causality is a property of aligned outputs"
    return None


def _only_sequences(s: TopologySubject) -> str | None:
    if s.cls.consumes != "sequence" or (s.inputs is not None and "vector" in s.inputs):
        return f"it consumes {s.cls.consumes!r}: nothing is padded"
    return s.lacking("supports_lengths")


def _only_tbptt(s: TopologySubject) -> str | None:
    return s.lacking("supports_state_carry") if s.cls.supports_tbptt else "supports_tbptt is False"
