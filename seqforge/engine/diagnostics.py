"""Seeing gradients: how much of the loss's gradient reaches each time step.

Backpropagation through time multiplies the gradient by one Jacobian ∂s_{t+1}/∂s_t per
step; a tanh RNN's Jacobians shrink it, so ‖∂L/∂s_t‖ falls geometrically with the
distance from the steps the loss reads (Bengio et al. 1994; Pascanu et al. 2013) — the
vanishing gradient — while a gated cell whose forget gate stays open carries it back
intact (Hochreiter & Schmidhuber 1997). ``train.diagnostics: [gradient_flow]`` shows this
on the user's own model:

* at the chosen epochs (``epochs``: numbers, ``first``, ``last``), after the epoch's
  validation, one fixed batch — the first ``examples`` items of the training split (the
  first truncated-BPTT chunk under ``bptt: {truncate: k}``) — is run forward once more,
  every recurrent layer stepping through its cell one step at a time (the reference step
  loop, ``Recurrent.use_fast_path = False``) so that each step's state s_t is a node of
  the graph that the next step reads;
* ``torch.autograd.grad(loss, states)`` gives the *total* derivative ∂L/∂s_t at every
  step — what flows back through all later steps, not only the direct share — without
  touching the parameters' gradients; the model runs in eval mode (no dropout), which
  draws no random numbers, so training continues exactly as without the diagnostic;
* per (layer, direction) and step: the mean over examples of ‖∂L/∂s_t‖ (s_t = the whole
  state the cell carries: h for RNN/GRU, (h, c) for LSTM, (y, Re h, Im h) for LRU …) and
  of ‖∂L/∂h_t‖ (h_t = ``state[0]``, the hidden output), only over examples still running
  at t; the backward direction of a bidirectional layer is indexed by input position.

The run directory gets ``gradient_flow.json`` (the numbers) and ``gradient_flow.png``
(log scale), rewritten after each recorded epoch; a resumed run keeps what was recorded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..plots import figure, pyplot, save_figure
from ..recurrent import Recurrent
from . import evaluate as ev
from .callbacks import Callback
from .tbptt import chunks

JSON_NAME = "gradient_flow.json"
PNG_NAME = "gradient_flow.png"
QUANTITY = "mean over examples of ||dL/ds_t||, s_t the state a recurrent layer carries " \
           "after step t (h_grad_norm: of its hidden output h_t = state[0])"


def probe_batch(trainer, examples: int) -> dict[str, Any]:
    """The first ``examples`` training items as one batch on the trainer's device (the
    first chunk of it under truncated BPTT): the same batch at every recorded epoch."""
    ds = trainer.data.train
    n = min(len(ds), examples)
    batch = ev.to_device(trainer.data.collate([ds[i] for i in range(n)]), trainer.device)
    return next(chunks(batch, trainer.truncate)) if trainer.truncate else batch


@contextmanager
def stepping(model: torch.nn.Module) -> Iterator[list[tuple[str, Recurrent, int, list]]]:
    """Inside: every :class:`Recurrent` of ``model`` runs its reference step loop, and each
    of its cells appends the state it returns at every step to a list. Yields ``(label,
    stack, cell index, states)`` per (layer, direction); the fast paths come back after."""
    layers: list[tuple[str, Recurrent, int, list]] = []
    hooks, fast = [], {}
    for name, rnn in model.named_modules():
        if not isinstance(rnn, Recurrent):
            continue
        fast[rnn] = rnn.use_fast_path
        rnn.use_fast_path = False  # the step loop: every state s_t is a graph node
        for i, cell in enumerate(rnn.cells):
            layer, direction = divmod(i, rnn.num_directions)
            states: list[tuple[Tensor, ...]] = []
            layers.append((f"{name or 'rnn'} layer {layer + 1}"
                           + (" backward" if direction else ""), rnn, i, states))
            hooks.append(cell.register_forward_hook(
                lambda _m, _args, out, states=states: states.append(tuple(out[1]))))
    try:
        yield layers
    finally:
        for h in hooks:
            h.remove()
        for rnn, value in fast.items():
            rnn.use_fast_path = value


def gradient_flow(model: torch.nn.Module, task, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Per recurrent (layer, direction): ``{"layer", "grad_norm", "h_grad_norm"}`` — the
    per-step gradient norms (lists, one entry per step) of ``task.loss`` on ``batch``."""
    with stepping(model) as layers, torch.enable_grad():
        was_training = model.training
        model.eval()  # no dropout: deterministic, and no random numbers drawn
        try:
            out, _ = model(batch)
            loss = task.loss(out.float(), batch)
        finally:
            model.train(was_training)
        flat = [s for *_, states in layers for state in states for s in state]
        # state parts that hold only data (QRNN's input history) get no gradient
        needed = [s for s in flat if s.requires_grad]
        found = iter(torch.autograd.grad(loss, needed, allow_unused=True) if needed else ())
        grads = [next(found) if s.requires_grad else None for s in flat]
    curves, at = [], 0
    for label, rnn, i, states in layers:
        if not states:
            continue
        k = len(states[0])  # state tensors per step
        g = [grads[at + t * k: at + (t + 1) * k] for t in range(len(states))]
        at += k * len(states)
        norms, h_norms = _norms(g, states, batch.get("lengths"))
        if i % rnn.num_directions:  # backward direction: step k read position T − k
            norms, h_norms = norms[::-1], h_norms[::-1]
        curves.append({"layer": label, "grad_norm": norms, "h_grad_norm": h_norms})
    return curves


def _norms(grads: list, states: list, lengths: Tensor | None) -> tuple[list, list]:
    """Per step: mean over the examples still running of ‖∂L/∂s_t‖ and ‖∂L/∂h_t‖."""
    B = states[0][0].shape[0]

    def per_example(g, x) -> Tensor:  # (B,) squared norms of one state tensor's gradient
        return torch.zeros(B, device=x.device) if g is None else \
            g.float().reshape(B, -1).pow(2).sum(1)

    sq = torch.stack([torch.stack([per_example(gx, x) for gx, x in zip(g, s)])
                      for g, s in zip(grads, states)])  # (T, K, B)
    T = sq.shape[0]
    live = torch.ones(T, B, dtype=torch.bool, device=sq.device) if lengths is None else (
        torch.arange(T).unsqueeze(1) < lengths.cpu().unsqueeze(0)).to(sq.device)  # (T, B)
    n = live.sum(1).clamp(min=1)  # (T,)
    state = (sq.sum(1).sqrt() * live).sum(1) / n  # (T,)
    h = (sq[:, 0].sqrt() * live).sum(1) / n  # (T,)
    return state.tolist(), h.tolist()


class GradientFlow(Callback):
    """Records :func:`gradient_flow` at the chosen epochs (a ``train.diagnostics`` entry)."""

    def __init__(self, spec):
        self.spec = spec
        self.records: list[dict[str, Any]] = []

    def on_train_start(self, trainer) -> None:
        late = [e for e in self.spec.epochs if isinstance(e, int) and e > trainer.epochs]
        if late:
            trainer.emit("on_message", f"gradient_flow: epoch {late[0]} is after the last "
                         f"epoch ({trainer.epochs}) — it will not be recorded")
        path = self._path(trainer, JSON_NAME)
        if path is not None and path.exists():  # resuming: keep what was recorded
            try:
                self.records = list(json.loads(path.read_text())["records"])
            except (OSError, ValueError, KeyError, TypeError):
                self.records = []

    def wanted(self, trainer, epoch: int) -> bool:
        marks = self.spec.epochs
        last = epoch >= trainer.epochs or trainer.stopping.should_stop(trainer.state)
        return epoch in marks or ("first" in marks and epoch == 1) or ("last" in marks and last)

    def on_epoch_end(self, trainer, epoch, row) -> None:
        if not self.wanted(trainer, epoch):
            return
        # the plain module: a compiled one would recompile for the step loop
        curves = gradient_flow(trainer.base_model, trainer.task,
                               probe_batch(trainer, self.spec.examples))
        if not curves:
            trainer.emit("on_message", "gradient_flow: the model has no recurrent layer "
                         "(seqforge.recurrent.Recurrent) to record")
            return
        self.records = [r for r in self.records if r["epoch"] != epoch]
        self.records += [{"epoch": epoch, **c} for c in curves]
        if self._path(trainer, JSON_NAME) is not None:
            self.write(trainer)

    def _path(self, trainer, name: str) -> Path | None:
        return trainer.run_dir.path / name if trainer.run_dir is not None else None

    def write(self, trainer) -> None:
        data = {"quantity": QUANTITY, "examples": self.spec.examples, "records": self.records}
        self._path(trainer, JSON_NAME).write_text(json.dumps(data, indent=1))
        plot(self.records, self._path(trainer, PNG_NAME), title=trainer.name)


def plot(records: list[dict[str, Any]], path: Path, title: str = "") -> Path:
    """‖∂L/∂s_t‖ against t, log scale: a line per (epoch, layer)."""
    epochs = sorted({r["epoch"] for r in records})
    layers = list(dict.fromkeys(r["layer"] for r in records))
    fig, ax = figure(figsize=(8, 4.5))
    cmap = pyplot().get_cmap("viridis")
    styles = ["-", "--", ":", "-."]
    for r in records:
        ys = [v if v > 0 and math.isfinite(v) else float("nan") for v in r["grad_norm"]]
        k = epochs.index(r["epoch"])
        ax.plot(range(1, len(ys) + 1), ys, color=cmap(k / max(len(epochs) - 1, 1)),
                linestyle=styles[layers.index(r["layer"]) % len(styles)],
                label=f"epoch {r['epoch']}" + (f", {r['layer']}" if len(layers) > 1 else ""))
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂s_t‖ (mean over examples)")
    ax.set_title(f"{title} — gradient reaching each step's state".strip(" —"))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def diagnostics_for(train_spec) -> list[Callback]:
    """The callbacks ``train.diagnostics`` asks for."""
    return [GradientFlow(d) for d in getattr(train_spec, "diagnostics", ()) or ()
            if d.name == "gradient_flow"]


__all__ = ["GradientFlow", "gradient_flow", "diagnostics_for", "plot", "probe_batch"]
