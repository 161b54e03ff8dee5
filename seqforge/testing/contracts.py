"""pytest integration: one test per property, by subclassing or by parametrising.

Subclass (the class name must start with ``Test`` for pytest to collect it)::

    from seqforge.testing import CellContract, TopologyContract

    class TestMyCell(CellContract):
        cell = MyCell                      # or a registered name

    class TestMyTopology(TopologyContract):
        topology = MyTopology
        cells = ("gru", "lstm")           # built with these cells (default: lstm)

or parametrise a test of your own::

    @pytest.mark.parametrize("check", cell_contract_tests(MyCell))
    def test_my_cell(check):
        check()

Properties that do not apply (causality of a vector output …) are reported as skipped.
Nothing here imports pytest at import time; :func:`cell_contract_tests` does, to name
its parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .cells import CELL_PROPERTIES, run_cell_property
from .topologies import DEFAULT_CELLS, TOPOLOGY_PROPERTIES, run_topology_property


@dataclass(frozen=True)
class ContractTest:
    """One property of one component, callable with no arguments; ``str`` is its name."""

    name: str
    run: Callable[[], None]

    def __call__(self) -> None:
        self.run()

    def __str__(self) -> str:
        return self.name


def _as_params(tests: list[ContractTest]) -> list[Any]:
    try:
        import pytest
    except ImportError:  # pragma: no cover - without pytest, plain callables
        return list(tests)
    return [pytest.param(t, id=t.name) for t in tests]


def cell_contract_tests(cell: Any, *, params: Any = None, skip: Sequence[str] = (),
                        max_examples: int | None = None) -> list[Any]:
    """``pytest.param`` per cell property (ids = property names), for ``parametrize``."""
    tests = [ContractTest(name, lambda n=name: run_cell_property(
                 cell, n, params=params, max_examples=max_examples))
             for name in CELL_PROPERTIES if name not in skip]
    return _as_params(tests)


def topology_contract_tests(topology: Any, *, cells: Any = DEFAULT_CELLS, params: Any = None,
                            cell_params: Any = None, inputs: Sequence[str] | None = None,
                            output_length: str = "auto", skip: Sequence[str] = (),
                            max_examples: int | None = None) -> list[Any]:
    """``pytest.param`` per topology property (ids = property names), for ``parametrize``."""
    tests = [ContractTest(name, lambda n=name: run_topology_property(
                 topology, n, cells=cells, params=params, cell_params=cell_params,
                 inputs=inputs, output_length=output_length, max_examples=max_examples))
             for name in TOPOLOGY_PROPERTIES if name not in skip]
    return _as_params(tests)


class CellContract:
    """Base class: subclass as ``class TestX(CellContract): cell = X`` for one test per
    cell property. Optional: ``params`` (how to draw ``X.Params``, see
    :func:`seqforge.testing.check_cell`), ``skip`` (property names), ``max_examples``."""

    cell: ClassVar[Any] = None
    params: ClassVar[Any] = None
    skip: ClassVar[tuple[str, ...]] = ()
    max_examples: ClassVar[int | None] = None

    def _check(self, name: str) -> None:
        if self.cell is None:
            raise TypeError(f"{type(self).__name__}: set `cell = YourCell` on the class")
        if name in self.skip:
            from .runner import NotApplicable

            raise NotApplicable(f"{name} is in {type(self).__name__}.skip")
        run_cell_property(self.cell, name, params=self.params, max_examples=self.max_examples)


class TopologyContract:
    """Base class: subclass as ``class TestX(TopologyContract): topology = X`` for one test
    per topology property. Optional: ``cells`` (classes or registered names), ``params``,
    ``cell_params``, ``inputs`` (restrict input kinds), ``output_length``, ``skip``,
    ``max_examples``, ``matrix``."""

    topology: ClassVar[Any] = None
    cells: ClassVar[Any] = DEFAULT_CELLS
    params: ClassVar[Any] = None
    cell_params: ClassVar[Any] = None
    inputs: ClassVar[Sequence[str] | None] = None
    output_length: ClassVar[str] = "auto"
    skip: ClassVar[tuple[str, ...]] = ()
    max_examples: ClassVar[int | None] = None
    #: one pair of a larger cell × topology matrix: the profile's smaller example count
    matrix: ClassVar[bool] = False

    def _check(self, name: str) -> None:
        if self.topology is None:
            raise TypeError(f"{type(self).__name__}: set `topology = YourTopology` on the class")
        if name in self.skip:
            from .runner import NotApplicable

            raise NotApplicable(f"{name} is in {type(self).__name__}.skip")
        run_topology_property(self.topology, name, cells=self.cells, params=self.params,
                              cell_params=self.cell_params, inputs=self.inputs,
                              output_length=self.output_length,
                              max_examples=self.max_examples, matrix=self.matrix)


def _add_tests(base: type, names: Sequence[str], props: dict) -> None:
    """One ``test_<property>`` method per property, documented by the property."""
    for name in names:
        def test(self, _name=name):
            self._check(_name)

        test.__name__ = test.__qualname__ = f"test_{name}"
        test.__doc__ = props[name].doc
        setattr(base, test.__name__, test)


_add_tests(CellContract, list(CELL_PROPERTIES), CELL_PROPERTIES)
_add_tests(TopologyContract, list(TOPOLOGY_PROPERTIES), TOPOLOGY_PROPERTIES)
