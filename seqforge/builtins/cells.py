"""Built-in cells: ``rnn`` (Elman), ``lstm``, ``gru``.

The cell modules are imported inside the hook, so importing this module (which plugin
discovery does for ``seqforge --help``) does not import torch.
"""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_cells(register):
    from seqforge.cells.gru import GRUCell
    from seqforge.cells.lstm import LSTMCell
    from seqforge.cells.rnn import ElmanRNNCell

    register("rnn", ElmanRNNCell)
    register("lstm", LSTMCell)
    register("gru", GRUCell)
