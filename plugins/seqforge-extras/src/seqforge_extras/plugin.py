"""The seqforge plugin object of this package (entry point ``extras``).

Heavy modules are imported inside the hooks, so that ``seqforge --help`` stays fast for
everyone who has this plugin installed.
"""

from seqforge import hookimpl


@hookimpl
def register_cells(register):
    from .layernorm_lstm import LayerNormLSTMCell

    register("layernorm_lstm", LayerNormLSTMCell)


@hookimpl
def register_datasets(register):
    from .mackey_glass import MackeyGlass

    register("mackey_glass", MackeyGlass)


@hookimpl
def register_optimizers(register):
    from .lion import Lion

    register("lion", Lion)


@hookimpl
def register_schedulers(register):
    from .one_cycle import OneCycle

    register("one_cycle", OneCycle)
