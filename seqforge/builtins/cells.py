"""Built-in cells: ``rnn`` (Elman), ``lstm``, ``gru`` and the parallel-scan ``min_gru``,
``min_lstm`` (Feng et al. 2024)."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_cells(register):
    from seqforge.cells.gru import GRUCell
    from seqforge.cells.lstm import LSTMCell
    from seqforge.cells.min_gru import MinGRUCell
    from seqforge.cells.min_lstm import MinLSTMCell
    from seqforge.cells.rnn import ElmanRNNCell

    register("rnn", ElmanRNNCell)
    register("lstm", LSTMCell)
    register("gru", GRUCell)
    register("min_gru", MinGRUCell)
    register("min_lstm", MinLSTMCell)
