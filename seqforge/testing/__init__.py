"""seqforge's contract-test kit: the property tests every built-in passes, for your component.

In a plugin's own pytest suite, one line per component::

    from seqforge.testing import CellContract, TopologyContract

    class TestMyCell(CellContract):
        cell = MyCell

    class TestMyTopology(TopologyContract):
        topology = MyTopology

or, outside pytest (a notebook, a script), one call that raises a single AssertionError
listing every violated property with hypothesis's smallest counterexample::

    from seqforge.testing import check_cell, check_topology

    check_cell(MyCell)
    check_topology(MyTopology, cells=("gru", "lstm"))

Cell properties (:data:`CELL_PROPERTIES`): ``params``, ``state``, ``fast_path``,
``batch_independence``, ``causality``, ``gradcheck``, ``init`` — see
:mod:`seqforge.testing.cells`. Topology properties (:data:`TOPOLOGY_PROPERTIES`):
``shapes``, ``dtype``, ``batch_independence``, ``causality``, ``no_target_leak``,
``padding_invariance``, ``fast_path``, ``tbptt``, ``gradcheck`` — see
:mod:`seqforge.testing.topologies`.

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
    TopologyContract,
    cell_contract_tests,
    topology_contract_tests,
)
from .runner import NotApplicable
from .topologies import TOPOLOGY_PROPERTIES, check_topology, run_topology_property

__all__ = [
    "check_cell", "check_topology", "run_cell_property", "run_topology_property",
    "CellContract", "TopologyContract", "cell_contract_tests", "topology_contract_tests",
    "ContractTest", "CELL_PROPERTIES", "TOPOLOGY_PROPERTIES", "NotApplicable", "Tolerance",
    "settings",
]
