"""The hooks a seqforge plugin can implement.

Every hook takes one ``register`` callback: ``register(name, component)``. Plugins
implement only the hooks they need and may accept fewer arguments than the spec, so new
keyword arguments can be added later without breaking them.
"""

import pluggy

hookspec = pluggy.HookspecMarker("seqforge")
hookimpl = pluggy.HookimplMarker("seqforge")


@hookspec
def register_cells(register):
    """Register recurrent cells: ``register("lstm", LSTMCell)`` (a seqforge.cells.base.Cell subclass)."""


@hookspec
def register_topologies(register):
    """Register topologies: ``register("many_to_one", ManyToOne)`` (a seqforge.topologies.base.Topology subclass)."""


@hookspec
def register_tasks(register):
    """Register tasks: ``register("forecast", Forecast)`` (a seqforge.tasks.base.Task subclass)."""


@hookspec
def register_datasets(register):
    """Register datasets: ``register("stock_csv", StockCSV)`` (a seqforge.data.base.DatasetSource subclass)."""


@hookspec
def register_optimizers(register):
    """Register optimizers: ``register("adam", Adam)`` (a seqforge.optim.OptimizerFactory subclass)."""


@hookspec
def register_schedulers(register):
    """Register LR schedulers: ``register("cosine", Cosine)`` (a seqforge.optim.SchedulerFactory subclass)."""


@hookspec
def register_commands(cli):
    """Add sub-commands to the ``seqforge`` CLI: ``cli`` is the typer.Typer app."""
