"""one_to_one: a vector in, a vector out — one step of the recurrent stack.

The degenerate case of the family (a gated feed-forward layer); useful as a baseline
and so that every topology of the classic diagram is a spec value.
"""

from __future__ import annotations

from torch import nn

from ..kinds import Shape
from .base import SeqModel, Topology


class OneToOneModel(SeqModel):
    produces = Shape.VECTOR

    def __init__(self, rnn, out_size: int):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.output_size, out_size)

    def forward(self, batch, state=None):
        x = batch["x"].unsqueeze(1)  # (B, 1, F): a sequence of one step
        h, state = self.rnn(x, state)  # (B, 1, D·H)
        return self.head(h[:, 0]), state  # (B, O)


class OneToOne(Topology):
    """Vector in, vector out (one recurrent step)."""

    consumes = Shape.VECTOR
    produces = Shape.VECTOR

    def build(self, info, out_size):
        return OneToOneModel(self.recurrent(info.n_features), out_size)
