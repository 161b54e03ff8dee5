"""seqforge's contract-test kit: the property tests every built-in passes, for your component.

In a plugin's own pytest suite, one line per component::

    from seqforge.testing import CellContract, DatasetContract, TaskContract, TopologyContract

    class TestMyCell(CellContract):
        cell = MyCell

    class TestMyTopology(TopologyContract):
        topology = MyTopology

    class TestMyDataset(DatasetContract):
        dataset = MyDataset
        params = {"source": "data.csv"}
        files = {"data.csv": "…"}          # written into a temporary folder for the test

    class TestMyTask(TaskContract):
        task = MyTask
        dataset = "timeseries_csv"          # any dataset with the facets it requires

or, outside pytest (a notebook, a script), one call that raises a single AssertionError
listing every violated property with hypothesis's smallest counterexample::

    from seqforge.testing import check_cell, check_dataset, check_task, check_topology

    check_cell(MyCell)
    check_topology(MyTopology, cells=("gru", "lstm"))
    check_dataset(MyDataset, params={"source": "data.csv"})
    check_task(MyTask, dataset="timeseries_csv")

Cell properties (:data:`CELL_PROPERTIES`): ``params``, ``state``, ``fast_path``,
``batch_independence``, ``causality``, ``gradcheck``, ``init`` — see
:mod:`seqforge.testing.cells`. Topology properties (:data:`TOPOLOGY_PROPERTIES`):
``shapes``, ``dtype``, ``batch_independence``, ``causality``, ``no_target_leak``,
``padding_invariance``, ``fast_path``, ``tbptt``, ``gradcheck`` — see
:mod:`seqforge.testing.topologies`.
Dataset properties (:data:`DATASET_PROPERTIES`): ``declares``, ``facets``, ``items``,
``splits``, ``state``, ``saved``, ``read_inputs``, ``fingerprint`` — see
:mod:`seqforge.testing.datasets`. Task properties (:data:`TASK_PROPERTIES`): ``declares``,
``requires``, ``baseline``, ``state``, ``predict``, ``loss`` — see
:mod:`seqforge.testing.tasks`.

How many examples: profiles ``ci`` (default), ``dev``, ``thorough``, chosen with
``SEQFORGE_HYPOTHESIS_PROFILE`` or :func:`seqforge.testing.settings.load_profile`.

Needs ``hypothesis`` (``pip install seqforge[testing]``).
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("seqforge.testing needs hypothesis: pip install 'seqforge[testing]' "
                      "(or pip install hypothesis)") from exc

from . import settings
from .asserts import Tolerance
from .cells import CELL_PROPERTIES, check_cell, run_cell_property
from .contracts import (
    CellContract,
    ContractTest,
    DatasetContract,
    TaskContract,
    TopologyContract,
    cell_contract_tests,
    dataset_contract_tests,
    task_contract_tests,
    topology_contract_tests,
)
from .datasets import (
    DATASET_PROPERTIES,
    DatasetSubject,
    check_dataset,
    dataset_subject,
    run_dataset_property,
)
from .runner import NotApplicable
from .tasks import TASK_PROPERTIES, TaskSubject, check_task, run_task_property, task_subject
from .topologies import TOPOLOGY_PROPERTIES, check_topology, run_topology_property

__all__ = [
    "check_cell", "check_topology", "check_dataset", "check_task", "run_cell_property",
    "run_topology_property", "run_dataset_property", "run_task_property",
    "CellContract", "TopologyContract", "DatasetContract", "TaskContract",
    "cell_contract_tests", "topology_contract_tests", "dataset_contract_tests",
    "task_contract_tests", "dataset_subject", "task_subject", "DatasetSubject", "TaskSubject",
    "ContractTest", "CELL_PROPERTIES", "TOPOLOGY_PROPERTIES", "DATASET_PROPERTIES",
    "TASK_PROPERTIES", "NotApplicable", "Tolerance", "settings",
]
