"""many_to_many: an output at every input step (tagging, language models, denoising).

x (B, T, F) or tokens (B, T) → y (B, T, O). Unidirectional stacks are causal: y_t depends
on x_1..x_t only, which is what a language model needs. Supports truncated BPTT: the
state returned by one chunk is passed to the next.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..kinds import Shape
from .base import InputAdapter, SeqModel, Topology


class ManyToManyModel(SeqModel):
    produces = Shape.ALIGNED_SEQUENCE

    def __init__(self, adapter: InputAdapter, rnn, out_size: int):
        super().__init__()
        self.adapter = adapter
        self.rnn = rnn
        self.head = nn.Linear(rnn.output_size, out_size)

    def forward(self, batch, state=None) -> tuple[Tensor, object]:
        x = self.adapter(batch["x"])  # (B, T, I)
        h, state = self.rnn(x, state, batch.get("lengths"))  # (B, T, D·H)
        return self.head(h), state  # (B, T, O)


class ManyToMany(Topology):
    """Aligned sequence in, sequence out (same length)."""

    consumes = Shape.SEQUENCE
    produces = Shape.ALIGNED_SEQUENCE
    supports_tbptt = True

    def build(self, info, out_size):
        adapter = InputAdapter(info, self.spec.embedding)
        return ManyToManyModel(adapter, self.recurrent(adapter.size), out_size)
