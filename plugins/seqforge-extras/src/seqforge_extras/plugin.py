"""The seqforge plugin object of this package (entry point ``extras``)."""

from seqforge import hookimpl


@hookimpl
def register_cells(register):
    from .layernorm_lstm import LayerNormLSTMCell

    register("layernorm_lstm", LayerNormLSTMCell)
