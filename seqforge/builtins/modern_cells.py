"""Built-in modern recurrent cells: ``lru`` (Orvieto et al. 2023), ``rg_lru`` (De et al.
2024), ``mlstm`` and ``slstm`` (Beck et al. 2024), ``qrnn`` (Bradbury et al. 2016).

The cell modules are imported inside the hook, so importing this module (which plugin
discovery does for ``seqforge --help``) does not import torch.
"""

from seqforge.hookspecs import hookimpl


@hookimpl
def register_cells(register):
    from seqforge.cells.lru import LRUCell
    from seqforge.cells.mlstm import MLSTMCell
    from seqforge.cells.qrnn import QRNNCell
    from seqforge.cells.rg_lru import RGLRUCell
    from seqforge.cells.slstm import SLSTMCell

    register("lru", LRUCell)
    register("rg_lru", RGLRUCell)
    register("mlstm", MLSTMCell)
    register("slstm", SLSTMCell)
    register("qrnn", QRNNCell)
