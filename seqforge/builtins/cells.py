"""Built-in cells: the classic ``rnn`` (Elman), ``lstm``, ``gru``; the parallel-scan
``min_gru``, ``min_lstm`` (Feng et al. 2024); and the recurrences that followed them —
``lru`` (Orvieto et al. 2023), ``rg_lru`` (De et al. 2024), ``mlstm`` and ``slstm``
(Beck et al. 2024), ``qrnn`` (Bradbury et al. 2016)."""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_cells(register):
    from seqforge.cells.gru import GRUCell
    from seqforge.cells.lru import LRUCell
    from seqforge.cells.lstm import LSTMCell
    from seqforge.cells.min_gru import MinGRUCell
    from seqforge.cells.min_lstm import MinLSTMCell
    from seqforge.cells.mlstm import MLSTMCell
    from seqforge.cells.qrnn import QRNNCell
    from seqforge.cells.rg_lru import RGLRUCell
    from seqforge.cells.rnn import ElmanRNNCell
    from seqforge.cells.slstm import SLSTMCell

    register("rnn", ElmanRNNCell)
    register("lstm", LSTMCell)
    register("gru", GRUCell)
    register("min_gru", MinGRUCell)
    register("min_lstm", MinLSTMCell)
    register("lru", LRUCell)
    register("rg_lru", RGLRUCell)
    register("mlstm", MLSTMCell)
    register("slstm", SLSTMCell)
    register("qrnn", QRNNCell)
