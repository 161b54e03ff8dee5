"""Built-in parallel-scan cells: ``min_gru``, ``min_lstm`` (Feng et al. 2024).

The cell modules are imported inside the hook, so importing this module (which plugin
discovery does for ``seqforge --help``) does not import torch.
"""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_cells(register):
    from seqforge.cells.min_gru import MinGRUCell
    from seqforge.cells.min_lstm import MinLSTMCell

    register("min_gru", MinGRUCell)
    register("min_lstm", MinLSTMCell)
