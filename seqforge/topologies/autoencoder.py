"""autoencoder: a sequence in, the same sequence rebuilt from a fixed-size code.

The classic LSTM autoencoder (Srivastava et al. 2015; the Keras "RepeatVector" recipe):
the encoder reads x (B, T, F); its final hidden state is squeezed through a linear
bottleneck of ``latent_size`` numbers; the code is repeated at every one of the T steps
as the decoder's input, and a linear head maps each decoder output back to F values.
Output (B, T, O): as long as the target ``y`` when the batch has one (for reconstruction
the target is the input itself), else as long as the input.

Why its own topology rather than ``encoder_decoder`` with ``decoder_input: none``: the
decoder here sees the code at *every* step (not only through its initial state, which
it must otherwise carry unchanged across the whole window), and the bottleneck size is
a parameter of its own, independent of the hidden size — the compression is what makes
a reconstruction error mean "this does not look like the training data".
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor, nn

from ..recurrent import final_hidden
from .base import InputAdapter, SeqModel, Topology, TopologyParams


class AutoencoderParams(TopologyParams):
    latent_size: int | None = Field(
        None, ge=1, le=65_536, description="size of the code between encoder and decoder; "
        "default: model.hidden_size")


class AutoencoderModel(SeqModel):
    produces = "sequence"

    def __init__(self, adapter: InputAdapter, encoder, decoder, latent_size: int, out_size: int):
        super().__init__()
        self.adapter = adapter
        self.encoder = encoder
        self.decoder = decoder
        self.to_code = nn.Linear(encoder.output_size, latent_size)
        self.head = nn.Linear(decoder.output_size, out_size)

    def encode(self, batch) -> Tensor:
        """The code of each sequence: (B, L)."""
        x = self.adapter(batch["x"])  # (B, T, I)
        _, state = self.encoder(x, None, batch.get("lengths"))
        # tanh keeps the code bounded, as the LSTM's own h is
        return torch.tanh(self.to_code(final_hidden(self.encoder, state)))  # (B, L)

    def forward(self, batch, state=None) -> tuple[Tensor, object]:
        z = self.encode(batch)  # (B, L)
        T = batch["y"].shape[1] if "y" in batch else batch["x"].shape[1]
        rep = z.unsqueeze(1).expand(z.shape[0], T, z.shape[1])  # (B, T, L): RepeatVector
        # forwards only, so padding after a row's end cannot reach its earlier steps
        h, state = self.decoder(rep)  # (B, T, H)
        return self.head(h), state  # (B, T, O)


class Autoencoder(Topology):
    """Sequence in, its reconstruction out (through a fixed-size code)."""

    Params = AutoencoderParams
    consumes = "sequence"
    produces = "sequence"

    def build(self, info, out_size):
        adapter = InputAdapter(info, self.spec.embedding)
        encoder = self.recurrent(adapter.size)
        latent = self.params.latent_size or self.spec.hidden_size
        # the decoder runs forwards only: it writes the sequence out in order
        decoder = self.recurrent(latent, bidirectional=False)
        return AutoencoderModel(adapter, encoder, decoder, latent, out_size)
