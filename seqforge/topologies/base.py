"""The topology contract and the pieces every topology shares.

A topology is registered as a :class:`Topology` subclass. It declares what it reads
(``consumes``) and what it produces (``produces``), so validation can refuse a dataset or
task that does not fit before any training. ``build`` returns a :class:`SeqModel`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import Tensor, nn

from ..data.info import DataInfo
from ..kinds import Shape
from ..recurrent import Recurrent


class TopologyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeqModel(nn.Module):
    """A built model. ``forward(batch, state=None) -> (out, state)``."""

    #: VECTOR (out (B, O)) or SEQUENCE / ALIGNED_SEQUENCE (out (B, T, O))
    produces: Shape = Shape.VECTOR
    #: True when a train-mode forward pass normalises with statistics of the whole batch
    #: (batch norm), so one row's training output depends on the other rows; eval mode
    #: must still be batch-independent (the topology contract checks it in eval mode only)
    batch_statistics: bool = False

    def forward(self, batch: dict[str, Any], state: Any = None) -> tuple[Tensor, Any]:  # pragma: no cover
        raise NotImplementedError


class InputAdapter(nn.Module):
    """Token ids → embeddings (or one-hot); float features pass through.

    x: (B, T) long → (B, T, E); x: (B, T, F) float → unchanged.
    """

    def __init__(self, info: DataInfo, embedding: int | None):
        super().__init__()
        self.vocab_size = len(info.vocab) if info.vocab is not None else 0
        self.embed = None
        if self.vocab_size and embedding:
            self.embed = nn.Embedding(self.vocab_size, embedding, padding_idx=0)
            self.size = embedding
        elif self.vocab_size:
            self.size = self.vocab_size  # one-hot: the classic char-RNN input
        else:
            self.size = info.n_features
        # an empty buffer only to follow the model's dtype (``model.double()``,
        # ``.to(torch.bfloat16)``): one-hot inputs have no weight to take it from;
        # non-persistent, so checkpoints are unchanged
        self.register_buffer("_dtype", torch.empty(0), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if not self.vocab_size:
            return x
        if self.embed is not None:
            return self.embed(x)  # (B, T, E)
        return F.one_hot(x, self.vocab_size).to(self._dtype.dtype)  # (B, T, V)


class Topology:
    """Base class of registered topologies."""

    Params: ClassVar[type[TopologyParams]] = TopologyParams
    consumes: ClassVar[Shape] = Shape.SEQUENCE
    produces: ClassVar[Any] = Shape.VECTOR  # or a classmethod(params) -> Shape
    #: protocols its models implement (see seqforge.topologies.protocols)
    implements: ClassVar[tuple[type, ...]] = ()
    supports_tbptt: ClassVar[bool] = False
    allows_bidirectional: ClassVar[bool] = True

    def __init__(self, model_spec, params: TopologyParams | None, cell_cls):
        self.spec = model_spec
        self.params = params if params is not None else self.Params()
        self.cell_cls = cell_cls

    def recurrent(self, input_size: int, *, hidden_size: int | None = None,
                  num_layers: int | None = None, bidirectional: bool | None = None) -> Recurrent:
        """A recurrent stack configured from the spec's model section."""
        m = self.spec
        return Recurrent(
            self.cell_cls, input_size, hidden_size or m.hidden_size,
            num_layers or m.num_layers, cell_params=m.cell.params, dropout=m.dropout,
            bidirectional=m.bidirectional if bidirectional is None else bidirectional,
            init=m.init, forget_bias=m.forget_bias)

    def build(self, info: DataInfo, out_size: int) -> SeqModel:  # pragma: no cover
        raise NotImplementedError
