"""many_to_one: a sequence in, one vector out (classification, next-value forecasting).

x (B, T, F) → (B, O), from the last state (default) or pooled over valid steps.
Padding is masked, so a sequence's result does not depend on how much padding follows it.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from ..kinds import Shape
from ..recurrent import final_hidden
from .base import InputAdapter, SeqModel, Topology, TopologyParams


class ManyToOneParams(TopologyParams):
    pooling: Literal["last", "mean", "max"] = "last"


class ManyToOneModel(SeqModel):
    produces = Shape.VECTOR

    def __init__(self, adapter, rnn, out_size: int, pooling: str):
        super().__init__()
        self.adapter = adapter
        self.rnn = rnn
        self.pooling = pooling
        self.head = nn.Linear(rnn.output_size, out_size)

    def forward(self, batch, state=None) -> tuple[Tensor, object]:
        x = self.adapter(batch["x"])  # (B, T, I)
        lengths = batch.get("lengths")
        h, state = self.rnn(x, state, lengths)  # (B, T, D·H)
        if self.pooling == "last":
            # final state = after each row's last valid step, both directions
            pooled = final_hidden(self.rnn, state)  # (B, D·H)
        else:
            T = h.shape[1]
            if lengths is None:
                mask = torch.ones(h.shape[:2], dtype=torch.bool, device=h.device)
            else:
                mask = torch.arange(T, device=h.device)[None] < lengths.to(h.device)[:, None]
            mask = mask.unsqueeze(-1)  # (B, T, 1)
            if self.pooling == "mean":
                pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, D·H)
            else:
                pooled = h.masked_fill(~mask, float("-inf")).amax(1)  # (B, D·H)
        return self.head(pooled), state  # (B, O)


class ManyToOne(Topology):
    """Sequence in, one vector out."""

    Params = ManyToOneParams
    consumes = Shape.SEQUENCE
    produces = Shape.VECTOR

    def build(self, info, out_size):
        adapter = InputAdapter(info, self.spec.embedding)
        return ManyToOneModel(adapter, self.recurrent(adapter.size), out_size, self.params.pooling)
