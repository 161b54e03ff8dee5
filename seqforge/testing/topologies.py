"""The topology contract as properties, and :func:`check_topology` to run them.

A topology is checked *built*: each example draws a configuration (cell, sizes, layers,
direction, input kind — float or token sequences, or vectors — target kind, padding and
the topology's own params; see :mod:`seqforge.testing.batches`), builds the model in
float64 and checks:

``shapes``             output (B, O), (B, T, O) or (B, Ty, O) as ``produces`` says (a
                       "sequence" as long as the target y or, for reconstructions, as the
                       input x — probed once per example, or pinned), finite,
                       in eval and train mode (dropout included), with a finite backward;
                       the state it returns can be fed back (topologies with TBPTT).
``dtype``              built in float32 and converted with ``model.to(float64)``, the model
                       computes in float64 (nothing follows torch's default dtype).
``batch_independence`` changing row j (inputs, target, length) leaves other rows' outputs
                       unchanged, in eval and in train mode (eval mode only for a model
                       that declares ``batch_statistics``: batch norm in training).
``causality``          unidirectional aligned outputs: ∂y_t/∂x_t' = 0 for t' > t.
``no_target_leak``     outputs do not read the target: a sequence output as long as the
                       target reads at most y_<t at step t (teacher forcing shifts right);
                       every other output (vectors, aligned sequences, reconstructions as
                       long as the input) reads none of y.
``padding_invariance`` padding a batch further (with garbage, not zeros) changes no valid
                       output, and a row alone, unpadded, gives the outputs it gets in a
                       padded batch.
``fast_path``          every recurrent stack on its cells' step loops gives the outputs and
                       parameter gradients of the fast paths.
``tbptt``              (topologies with ``supports_tbptt``) running the engine's time
                       chunks with the state carried equals one full pass: outputs, final
                       state and — without detaching — gradients.
``gradcheck``          ``torch.autograd.gradcheck`` of the whole model (float inputs,
                       targets and every parameter) on tiny sizes.
"""

from __future__ import annotations

from collections.abc import Sequence


from ..cells.base import Cell
from ..topologies.base import Topology
from .asserts import (
    DEFAULT_TOL,
    Tolerance,
)
from .batches import TARGETS, TopologySubject
from .runner import Property, check_all, resolve, run_property
from .strategies import ParamsSpec, params_strategy
from .topology_properties import (_batch_independence, _causality, _dtype, _fast_path,
                                  _gradcheck, _no_target_leak, _only_aligned, _only_sequences,
                                  _only_tbptt, _padding_invariance, _shapes, _tbptt)

#: the cell a topology is built with unless the caller names others: two states (h, c)
#: exercise more of a topology's state handling than one
DEFAULT_CELLS = ("lstm",)


def topology_subject(topology: type[Topology] | str,
                     cells: Sequence[type[Cell] | str] | type[Cell] | str = DEFAULT_CELLS,
                     *, params: ParamsSpec = None, cell_params: ParamsSpec = None,
                     inputs: Sequence[str] | None = None, targets: Sequence[str] = TARGETS,
                     output_length: str = "auto", tol: Tolerance = DEFAULT_TOL) -> TopologySubject:
    cls, name = resolve("topology", topology)
    if not (isinstance(cls, type) and issubclass(cls, Topology)):
        raise TypeError(f"{name}: expected a seqforge.topologies.base.Topology subclass, got {cls!r}")
    if isinstance(cells, (str, type)):
        cells = (cells,)
    resolved = [resolve("cell", c) for c in cells]
    # a wrong field name is the caller's error: say so now, not inside every example
    params_strategy(cls.Params, params)
    for c, _ in resolved:
        params_strategy(c.Params, cell_params)
    if output_length not in ("auto", "target", "input"):
        raise ValueError(f"output_length must be auto, target or input, not {output_length!r}")
    return TopologySubject(cls, name, resolved, params, cell_params,
                           tuple(inputs) if inputs is not None else None, tuple(targets), tol,
                           output_length)


# -- helpers --------------------------------------------------------------------------------------

TOPOLOGY_PROPERTIES: dict[str, Property] = {p.name: p for p in (
    Property("shapes", "output shape follows `produces`; finite values and gradients", _shapes),
    Property("dtype", "a model converted with .to(dtype) computes in that dtype", _dtype),
    Property("batch_independence", "changing one row leaves every other row unchanged",
             _batch_independence),
    Property("causality", "a unidirectional aligned output at t reads no input after t",
             _causality, applies=_only_aligned),
    Property("no_target_leak", "outputs never read the target they are scored against",
             _no_target_leak),
    Property("padding_invariance", "padding changes no valid output", _padding_invariance,
             applies=_only_sequences),
    Property("fast_path", "fast paths equal step loops in outputs and gradients", _fast_path),
    Property("tbptt", "chunks with carried state equal one full pass", _tbptt,
             applies=_only_tbptt),
    Property("gradcheck", "autograd.gradcheck of the whole model in float64", _gradcheck,
             expensive=True),
)}


def run_topology_property(topology: type[Topology] | str, name: str, *,
                          cells: Sequence[type[Cell] | str] | type[Cell] | str = DEFAULT_CELLS,
                          params: ParamsSpec = None, cell_params: ParamsSpec = None,
                          inputs: Sequence[str] | None = None, targets: Sequence[str] = TARGETS,
                          output_length: str = "auto", max_examples: int | None = None,
                          matrix: bool = False, shrink: bool = True,
                          tol: Tolerance = DEFAULT_TOL) -> None:
    """Run one topology property (see :data:`TOPOLOGY_PROPERTIES`); AssertionError on a
    violation, :class:`NotApplicable` where it does not apply. ``matrix``: this is one
    pair of a cell × topology matrix, run the profile's smaller example count."""
    if name not in TOPOLOGY_PROPERTIES:
        raise ValueError(f"unknown topology property {name!r}; "
                         f"known: {', '.join(TOPOLOGY_PROPERTIES)}")
    s = topology_subject(topology, cells, params=params, cell_params=cell_params, inputs=inputs,
                         targets=targets, output_length=output_length, tol=tol)
    run_property(TOPOLOGY_PROPERTIES[name], s, _label(s), max_examples, matrix, shrink)


def check_topology(topology: type[Topology] | str, *,
                   cells: Sequence[type[Cell] | str] | type[Cell] | str = DEFAULT_CELLS,
                   params: ParamsSpec = None, cell_params: ParamsSpec = None,
                   inputs: Sequence[str] | None = None, targets: Sequence[str] = TARGETS,
                   output_length: str = "auto", only=None, skip=(), max_examples: int | None = None,
                   shrink: bool = True,
                   tol: Tolerance = DEFAULT_TOL) -> dict[str, str]:
    """Check every topology property on ``topology`` (a Topology subclass or registered name).

    ``cells``: the cell(s) to build it with (classes or registered names; one is drawn per
    example). ``params``/``cell_params``: how to draw the topology's / cell's ``Params``
    (None derives variants from the fields). ``inputs``: restrict the input kinds
    ("float", "tokens" for sequence topologies; "vector"); ``targets``: "float"/"tokens";
    ``output_length``: whether a "sequence" output is as long as the "target" or the
    "input" ("auto" finds out by running the model on a target one step longer).
    ``shrink=False`` reports failing examples as found, without minimising them.
    Returns ``{property: "passed" | "skipped: …"}``; raises one AssertionError listing every
    violated property with its counterexample.
    """
    s = topology_subject(topology, cells, params=params, cell_params=cell_params, inputs=inputs,
                         targets=targets, output_length=output_length, tol=tol)
    return check_all(TOPOLOGY_PROPERTIES, s, _label(s), only=only, skip=skip,
                     max_examples=max_examples, shrink=shrink)


def _label(s: TopologySubject) -> str:
    return f"topology {s.name!r} with cell {'/'.join(n for _, n in s.cells)}"


__all__ = ["TOPOLOGY_PROPERTIES", "check_topology", "run_topology_property", "DEFAULT_CELLS"]
