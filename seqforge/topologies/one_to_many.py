"""one_to_many: one vector in, a sequence out (captioning-style generation).

x (B, F) → (B, T, O). ``feed: repeat`` gives the vector to the stack at every step;
``feed: init_state`` maps it to the initial hidden state of every layer and feeds zeros
afterwards. T comes from the batch's target (``y`` (B, T, …)); at inference, from an
integer ``batch["steps"]``, else the ``steps`` parameter, else the dataset's output length
(``DataInfo.target_length``), else 50.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ..kinds import Shape
from .base import SeqModel, Topology, TopologyParams


class OneToManyParams(TopologyParams):
    feed: Literal["repeat", "init_state"] = "repeat"
    steps: int | None = Field(None, ge=1, le=100_000, description="output length when there "
                              "is no target; default: the dataset's output length, else 50")


class OneToManyModel(SeqModel):
    produces = Shape.SEQUENCE

    def __init__(self, rnn, in_features: int, out_size: int, feed: str, steps: int):
        super().__init__()
        self.rnn = rnn
        self.feed = feed
        self.steps = steps
        self.in_features = in_features
        if feed == "init_state":
            # one projection per (layer·direction, state tensor): v → h0 (and c0)
            self.widths = [w for ws in rnn.state_sizes() for w in ws]  # cell-major
            self.bridge = nn.Linear(in_features, sum(self.widths))
        self.head = nn.Linear(rnn.output_size, out_size)

    def forward(self, batch, state=None):
        v = batch["x"]  # (B, F)
        B = v.shape[0]
        T = batch["y"].shape[1] if "y" in batch else int(batch.get("steps", self.steps))
        if self.feed == "repeat":
            x = v.unsqueeze(1).expand(B, T, v.shape[-1])  # (B, T, F)
        else:
            x = v.new_zeros(B, T, 1)  # (B, T, 1): the state carries the information
            if state is None:
                S = self.rnn.num_states
                h0 = torch.tanh(self.bridge(v)).split(self.widths, dim=-1)  # (B, W) each
                state = [tuple(h0[i * S + s] for s in range(S)) for i in range(len(self.rnn.cells))]
        h, state = self.rnn(x, state)  # (B, T, D·H)
        return self.head(h), state  # (B, T, O)


class OneToMany(Topology):
    """Vector in, sequence out."""

    Params = OneToManyParams
    consumes = Shape.VECTOR
    produces = Shape.SEQUENCE

    def build(self, info, out_size):
        in_size = info.n_features if self.params.feed == "repeat" else 1
        steps = self.params.steps or info.target_length or 50
        return OneToManyModel(self.recurrent(in_size), info.n_features, out_size,
                              self.params.feed, steps)
