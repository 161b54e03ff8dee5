"""Synthetic models and batches for topology checks: a drawn :class:`TopologyCase`.

A case fixes everything a topology is built from — a small :class:`DataInfo`, a
:class:`ModelSpec` (cell, sizes, layers, direction, embedding) and the topology's own
params — and makes batches shaped as the default collate makes them:

* ``x``: float sequences ``(B, T, F)`` or token ids ``(B, T)`` (0 = padding) with
  ``lengths`` when rows differ in length (the longest row spans all T steps), or vectors
  ``(B, F)`` for topologies that consume vectors;
* ``y``: a target matching what the topology produces — ``(B, O)`` for a vector,
  ``(B, T, O)``/``(B, T)`` aligned with x, or ``(B, Ty, O)``/``(B, Ty)`` (float values or
  token ids) with ``y_lengths`` for a sequence of its own length (encoder–decoder
  targets, one-to-many output length).

Everything is float64 (built under ``torch.set_default_dtype(torch.float64)``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch
from hypothesis import strategies as st
from torch import Tensor

from ..cells.base import Cell
from ..data.info import DataInfo
from ..data.transforms.vocab import Vocab
from ..spec.schema import Component, ModelSpec
from ..topologies.base import Topology
from .strategies import ParamsSpec, lengths_strategy, params_strategy

DT = torch.float64

#: input kinds: float sequences, token sequences, vectors
SEQUENCE_INPUTS = ("float", "tokens")
VECTOR_INPUTS = ("vector",)
#: target kinds for sequence outputs
TARGETS = ("float", "tokens")


@contextlib.contextmanager
def float64():
    """Build and run in float64: parameters, one-hot inputs and zero tensors alike."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(DT)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def produces_of(topo: type[Topology], params: Any) -> str:
    """``produces`` is a class attribute or a classmethod of the params."""
    value = getattr(topo, "produces", "vector")
    return value(params) if callable(value) else value


@dataclass
class TopologySubject:
    """A topology class under test, with the cells to build it with and how to draw params."""

    cls: type[Topology]
    name: str
    cells: list[tuple[type[Cell], str]]
    params: ParamsSpec = None
    cell_params: ParamsSpec = None
    inputs: tuple[str, ...] | None = None  # None: every kind the topology consumes
    targets: tuple[str, ...] = TARGETS
    tol: Any = None
    #: how long a "sequence" output is: "target" (y's length: decoders, generators),
    #: "input" (x's length: reconstructions) or "auto" (probe the built model)
    output_length: str = "auto"

    def lacking(self, capability: str) -> str | None:
        """Why a property needing a cell ``capability`` (``supports_lengths`` …) does not
        apply, or None when every cell under test has it."""
        names = [n for c, n in self.cells if not getattr(c, capability)]
        return f"{capability} is False for cell {', '.join(names)}" if names else None

    def input_kinds(self) -> tuple[str, ...]:
        if self.inputs is not None:
            return self.inputs
        return VECTOR_INPUTS if self.cls.consumes == "vector" else SEQUENCE_INPUTS


@dataclass
class TopologyCase:
    """One drawn configuration of a topology, and the model and batches it makes."""

    subject: TopologySubject
    cell: type[Cell]
    cell_name: str
    topology_params: Any
    cell_params: Any
    B: int
    T: int  # input steps (1 for vector inputs)
    F: int  # float features per step / vector size
    H: int
    layers: int
    bidirectional: bool
    dropout: float
    embedding: int | None
    input: str  # "float" | "tokens" | "vector"
    target: str  # "float" | "tokens"
    O: int  # noqa: E741 - float target size
    Ty: int  # target steps for "sequence" outputs
    lengths: list[int] | None
    y_lengths: list[int] | None
    vocab_size: int = 7
    target_vocab_size: int = 6
    #: for "sequence" outputs: does the length follow the "target" or the "input"?
    follows: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- what it builds -----------------------------------------------------------------------
    @property
    def produces(self) -> str:
        return produces_of(self.subject.cls, self.topology_params)

    @property
    def out_size(self) -> int:
        return self.target_vocab_size if self.target == "tokens" else self.O

    def info(self) -> DataInfo:
        vocab = _vocab(self.vocab_size) if self.input == "tokens" else None
        tvocab = _vocab(self.target_vocab_size) if self.target == "tokens" else None
        return DataInfo(
            input="vector" if self.input == "vector" else "sequence",
            n_features=0 if self.input == "tokens" else self.F,
            vocab=vocab, target_vocab=tvocab,
            n_targets=self.O if self.target == "float" else None)

    def model_spec(self) -> ModelSpec:
        return ModelSpec(
            topology=Component(name=self.subject.name, params=self.topology_params),
            cell=Component(name=self.cell_name, params=self.cell_params),
            hidden_size=self.H, num_layers=self.layers, dropout=self.dropout,
            bidirectional=self.bidirectional, embedding=self.embedding)

    def build(self, default_dtype: bool = False) -> torch.nn.Module:
        """The model, float64, in eval mode (call ``.train()`` where a property needs it).

        ``default_dtype``: build it under torch's default dtype and convert it afterwards
        (``model.to(float64)``), as a user converting a trained model would.
        For a "sequence" output it also settles :attr:`follows` (see
        :attr:`TopologySubject.output_length`), which shapes the batches."""
        with contextlib.nullcontext() if default_dtype else float64():
            topo = self.subject.cls(self.model_spec(), self.topology_params, self.cell)
            model = topo.build(self.info(), self.out_size)
        model = model.to(DT).eval()
        if self.produces == "sequence" and self.follows is None:
            mode = self.subject.output_length
            self.follows = mode if mode != "auto" else self._probe_length(model)
        return model

    def _probe_length(self, model) -> str:
        """Run a batch whose target is one step longer than its input; the output's
        length says which one it follows."""
        gen = torch.Generator().manual_seed(0)
        x = self.x(gen)
        if self.target == "tokens":
            y = torch.randint(1, self.target_vocab_size, (self.B, self.T + 1), generator=gen)
        else:
            y = torch.randn(self.B, self.T + 1, self.O, generator=gen, dtype=DT)
        with float64(), torch.no_grad():
            out, _ = model({"x": x, "y": y})
        steps = out.shape[1] if out.dim() >= 2 else None
        if steps == self.T + 1:
            return "target"
        if steps == self.T:
            return "input"
        raise AssertionError(
            f"a 'sequence' output must be as long as the target y ({self.T + 1} steps) or as "
            f"the input x ({self.T} steps); got output shape {tuple(out.shape)}")

    @property
    def per_step(self) -> bool:
        """One output per input step (aligned, or a sequence as long as the input)."""
        return self.produces == "aligned_sequence" or (
            self.produces == "sequence" and self.follows == "input")

    def out_shape(self) -> tuple[int, ...]:
        if self.produces == "vector":
            return (self.B, self.out_size)
        return (self.B, self.T if self.per_step else self.Ty, self.out_size)

    # -- batches ------------------------------------------------------------------------------
    def x(self, gen: torch.Generator, lengths: list[int] | None = None) -> Tensor:
        """Fresh inputs; padding past ``lengths`` is zero (as the default collate pads)."""
        B, T = self.B, self.T
        if self.input == "vector":
            return torch.randn(B, self.F, generator=gen, dtype=DT)
        if self.input == "tokens":
            x = torch.randint(1, self.vocab_size, (B, T), generator=gen)
        else:
            x = torch.randn(B, T, self.F, generator=gen, dtype=DT)
        if lengths is not None:
            for b, L in enumerate(lengths):
                x[b, L:] = 0
        return x

    def garbage(self, gen: torch.Generator, *shape: int) -> Tensor:
        """Input values to write where padding is: anything a model must not read."""
        if self.input == "tokens":
            return torch.randint(1, self.vocab_size, shape, generator=gen)
        return 3.0 * torch.randn(*shape, generator=gen, dtype=DT)

    def y(self, gen: torch.Generator) -> Tensor:
        """A fresh target for the whole batch, zero past its lengths."""
        kind = self.produces
        steps = None if kind == "vector" else (self.T if self.per_step else self.Ty)
        if self.target == "tokens":
            shape = (self.B,) if steps is None else (self.B, steps)
            y = torch.randint(1, self.target_vocab_size, shape, generator=gen)
        else:
            shape = (self.B, self.O) if steps is None else (self.B, steps, self.O)
            y = torch.randn(*shape, generator=gen, dtype=DT)
        lens = None if kind == "vector" else (self.lengths if self.per_step else self.y_lengths)
        if lens is not None:
            for b, L in enumerate(lens):
                y[b, L:] = 0
        return y

    def batch(self, gen: torch.Generator) -> dict[str, Any]:
        b: dict[str, Any] = {"x": self.x(gen, lengths=self.lengths), "y": self.y(gen)}
        if self.lengths is not None:
            b["lengths"] = torch.tensor(self.lengths, dtype=torch.long)
        if self.produces != "vector":
            lens = self.lengths if self.per_step else self.y_lengths
            if lens is not None:
                b["y_lengths"] = torch.tensor(lens, dtype=torch.long)
        return b

    def describe(self) -> str:
        p = self.topology_params.model_dump() if self.topology_params is not None else {}
        c = self.cell_params.model_dump() if self.cell_params is not None else {}
        return (f"{self.subject.name}{p} with cell {self.cell_name}{c}: B={self.B} T={self.T} "
                f"F={self.F} H={self.H} layers={self.layers} bidirectional={self.bidirectional} "
                f"dropout={self.dropout} input={self.input} embedding={self.embedding} "
                f"target={self.target} O={self.O} Ty={self.Ty} lengths={self.lengths} "
                f"y_lengths={self.y_lengths}"
                + (f" output length follows the {self.follows}" if self.follows else ""))


def _vocab(size: int) -> Vocab:
    return Vocab([f"tok{i}" for i in range(size - 4)])  # 4 specials come first


def draw_case(data, subject: TopologySubject, max_size: int, *, tiny: bool = False,
              bidirectional: bool | None = None, padded: bool | None = None,
              inputs: tuple[str, ...] | None = None, dropout: bool = False,
              min_batch: int = 1, min_steps: int = 1) -> TopologyCase:
    """Draw one configuration. ``tiny`` keeps gradcheck cheap; the keyword arguments pin
    what a property needs (unidirectional for causality, padding for padding invariance…)."""
    m = 2 if tiny else max_size
    cell, cell_name = data.draw(st.sampled_from(subject.cells), label="cell")
    tparams = data.draw(params_strategy(subject.cls.Params, subject.params), label="topology_params")
    cparams = data.draw(params_strategy(cell.Params, subject.cell_params), label="cell_params")
    kinds = inputs if inputs is not None else subject.input_kinds()
    kind = data.draw(st.sampled_from(list(kinds)), label="input")
    B = data.draw(st.integers(min_batch, max(min_batch, m)), label="B")
    T = 1 if kind == "vector" else data.draw(st.integers(min_steps, max(min_steps, m + 1)), label="T")
    F = data.draw(st.integers(1, m), label="F")
    H = data.draw(st.integers(1, m), label="H")
    layers = data.draw(st.integers(1, 2), label="layers")
    if bidirectional is None:
        bidirectional = (subject.cls.allows_bidirectional and cell.supports_bidirectional
                         and data.draw(st.booleans(), label="bidirectional"))
    drop = data.draw(st.sampled_from([0.0, 0.5]), label="dropout") if dropout and layers > 1 else 0.0
    embedding = None
    if kind == "tokens":
        embedding = data.draw(st.sampled_from([None, 2, 3]), label="embedding")
    targets = subject.targets
    target = data.draw(st.sampled_from(list(targets)), label="target")
    O = data.draw(st.integers(1, 2 if tiny else 3), label="O")  # noqa: E741
    Ty = data.draw(st.integers(1, m + 1), label="Ty")
    lengths = None
    if kind != "vector" and cell.supports_lengths:
        use = padded if padded is not None else data.draw(st.booleans(), label="padded")
        if use:
            lengths = data.draw(lengths_strategy(B, T), label="lengths")
    y_lengths = None
    if data.draw(st.booleans(), label="padded_targets"):
        y_lengths = data.draw(lengths_strategy(B, Ty), label="y_lengths")
    return TopologyCase(subject, cell, cell_name, tparams, cparams, B, T, F, H, layers,
                        bidirectional, drop, embedding, kind, target, O, Ty, lengths, y_lengths)
