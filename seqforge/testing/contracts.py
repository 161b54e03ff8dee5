"""pytest integration: one test per property, by subclassing or by parametrising.

Subclass (the class name must start with ``Test`` for pytest to collect it)::

    from seqforge.testing import CellContract, TopologyContract

    class TestMyCell(CellContract):
        cell = MyCell                      # or a registered name

    class TestMyTopology(TopologyContract):
        topology = MyTopology
        cells = ("gru", "lstm")           # built with these cells (default: lstm)

    class TestMyDataset(DatasetContract):
        dataset = MyDataset
        params = {"source": "prices.csv"}
        files = {"prices.csv": "Date,Open\n2024-01-02,1.5\n…"}   # written for the test

    class TestMyTask(TaskContract):
        task = MyTask
        dataset = "timeseries_csv"        # any dataset with the facets it requires

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
from .datasets import DATASET_PROPERTIES, DatasetSubject, dataset_subject, run_dataset_property
from .tasks import TASK_PROPERTIES, TaskSubject, run_task_property, task_subject
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


def dataset_contract_tests(dataset: Any, *, skip: Sequence[str] = (),
                           max_examples: int | None = None, **config: Any) -> list[Any]:
    """``pytest.param`` per dataset property, sharing one load (``config``: as
    :func:`~seqforge.testing.datasets.dataset_subject`)."""
    s = dataset if isinstance(dataset, DatasetSubject) else dataset_subject(dataset, **config)
    tests = [ContractTest(name, lambda n=name: run_dataset_property(s, n,
                                                                    max_examples=max_examples))
             for name in DATASET_PROPERTIES if name not in skip]
    return _as_params(tests)


def task_contract_tests(task: Any, *, skip: Sequence[str] = (), max_examples: int | None = None,
                        **config: Any) -> list[Any]:
    """``pytest.param`` per task property, sharing one fitted task and model (``config``:
    ``dataset=`` and the rest of :func:`~seqforge.testing.tasks.task_subject`)."""
    s = task if isinstance(task, TaskSubject) else task_subject(task, **config)
    tests = [ContractTest(name, lambda n=name: run_task_property(s, n, max_examples=max_examples))
             for name in TASK_PROPERTIES if name not in skip]
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


class _Loaded:
    """A contract whose subject is built once per class (loading data is not free)."""

    skip: ClassVar[tuple[str, ...]] = ()
    max_examples: ClassVar[int | None] = None

    def _subject(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def _shared(self) -> Any:
        cls = type(self)
        if "_subject_cache" not in cls.__dict__:
            cls._subject_cache = self._subject()
        return cls._subject_cache

    def _skipped(self, name: str) -> None:
        if name in self.skip:
            from .runner import NotApplicable

            raise NotApplicable(f"{name} is in {type(self).__name__}.skip")


class DatasetContract(_Loaded):
    """Base class: ``class TestX(DatasetContract): dataset = X`` for one test per dataset
    property, loading X once. Optional: ``params`` (its data keys), ``files`` (``{name:
    text}`` written into a temporary folder the paths resolve against), ``base_dir``,
    ``seed``, ``inputs`` (a table for read_inputs, instead of ``example_inputs``),
    ``refit`` (params under which refitting changes the transforms), ``skip``,
    ``max_examples``."""

    dataset: ClassVar[Any] = None
    params: ClassVar[Any] = None
    files: ClassVar[dict[str, Any] | None] = None
    base_dir: ClassVar[Any] = None
    seed: ClassVar[int] = 0
    inputs: ClassVar[Any] = None
    refit: ClassVar[dict[str, Any] | None] = None

    def _subject(self) -> DatasetSubject:
        return dataset_subject(self.dataset, params=self.params, files=self.files,
                               base_dir=self.base_dir, seed=self.seed, inputs=self.inputs,
                               refit=self.refit)

    def _check(self, name: str) -> None:
        if self.dataset is None:
            raise TypeError(f"{type(self).__name__}: set `dataset = YourDataset` on the class")
        self._skipped(name)
        run_dataset_property(self._shared(), name, max_examples=self.max_examples)


class TaskContract(_Loaded):
    """Base class: ``class TestX(TaskContract): task = X; dataset = D`` for one test per
    task property, checked on dataset D (a class or registered name that provides the
    facets X requires). Optional: ``params`` (the task's), ``data_params``, ``files``,
    ``topology`` and ``cell`` (default: the first fitting topology, gru), ``skip``,
    ``max_examples``."""

    task: ClassVar[Any] = None
    dataset: ClassVar[Any] = None
    params: ClassVar[Any] = None
    data_params: ClassVar[Any] = None
    files: ClassVar[dict[str, Any] | None] = None
    topology: ClassVar[Any] = None
    cell: ClassVar[Any] = "gru"

    def _subject(self) -> TaskSubject:
        data = dataset_subject(self.dataset, params=self.data_params, files=self.files)
        return task_subject(self.task, dataset=data, params=self.params,
                            topology=self.topology, cell=self.cell)

    def _check(self, name: str) -> None:
        if self.task is None or self.dataset is None:
            raise TypeError(f"{type(self).__name__}: set `task = YourTask` and `dataset = "
                            "…` (one that provides its facets) on the class")
        self._skipped(name)
        run_task_property(self._shared(), name, max_examples=self.max_examples)


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
_add_tests(DatasetContract, list(DATASET_PROPERTIES), DATASET_PROPERTIES)
_add_tests(TaskContract, list(TASK_PROPERTIES), TASK_PROPERTIES)
