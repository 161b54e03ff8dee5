"""autoencoder: a sequence in, the same sequence rebuilt from a fixed-size code.

The LSTM autoencoder of Srivastava et al. (2015): the encoder reads x (B, T, F); its
final state — every state tensor of its last layer: h, and c for an LSTM — is the
*code*, optionally squeezed through a linear bottleneck of ``latent_size`` numbers; the
decoder writes the sequence back from the code alone, and a linear head maps each
decoder output to F values. Output (B, T, O): as long as the target ``y`` when the
batch has one (for reconstruction the target is the input itself), else as long as the
input.

How the decoder gets the code (``feed``, named as in ``one_to_many``):

* ``init_state`` (default) — the code is the decoder's initial state (as the encoder
  left it when the shapes match, else through a learned map) and the decoder reads
  zeros: it unrolls the code like a free-running oscillator (Srivastava's
  "unconditioned" decoder);
* ``repeat`` — the code is the decoder's input at every step and its state starts at
  zero (the Keras "RepeatVector" recipe);
* ``both``.

Measured on the built-in anomaly series (``tests/test_anomaly.py``'s small config, seeds
0–3, point-wise F1 with ``min_error``): ``init_state`` with the state itself as the code
0.82–0.86; ``repeat`` with a 16-number code 0.78–0.83; ``init_state`` through a
16-number bottleneck 0.73–0.80 (it rebuilds normal windows worse, so it finds less). A
window of a seasonal signal is mostly a phase, and a state is where an LSTM keeps phase.

``encoder_decoder`` with ``decoder_input: none`` builds the same network as the default
here (same numbers). This topology exists for what that one does not do: its decoder
never reads the target (``encoder_decoder`` requires ``y`` and, with ``decoder_input:
previous``, would be fed the very steps it must rebuild), the bottleneck is a parameter
of its own, and ``repeat`` is available.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from ..kinds import Shape
from .base import InputAdapter, SeqModel, Topology, TopologyParams


class AutoencoderParams(TopologyParams):
    latent_size: int | None = Field(
        None, ge=1, le=65_536, description="squeeze the code through this many numbers; "
        "default: none — the code is the encoder's final state itself (h and c)")
    feed: Literal["init_state", "repeat", "both"] = Field(
        "init_state", description="the code becomes the decoder's initial state, its input "
        "at every step, or both")


class AutoencoderModel(SeqModel):
    produces = Shape.SEQUENCE

    def __init__(self, adapter: InputAdapter, encoder, decoder, latent_size: int | None,
                 out_size: int, feed: str):
        super().__init__()
        self.adapter = adapter
        self.encoder = encoder
        self.decoder = decoder
        self.feed = feed
        D, Ld = encoder.num_directions, decoder.num_layers
        enc_w, dec_w = encoder.state_sizes()[-D:], decoder.state_sizes()
        #: widths of the flat final state, state-major (all directions' h, then all c …)
        self.enc_widths = [w[k] for k in range(encoder.num_states) for w in enc_w]
        #: widths of the decoder's initial state, layer-major
        self.dec_widths = [w for ws in dec_w for w in ws]
        state_size = sum(self.enc_widths)
        self.to_code = nn.Linear(state_size, latent_size) if latent_size else None
        self.code_size = latent_size or state_size
        dec_size = sum(self.dec_widths)
        # the final state goes straight into the decoder when it has the decoder's shape:
        # decoder layer l takes encoder direction l's state tensors, of the same widths
        self.identity = (feed != "repeat" and self.to_code is None and D == Ld
                         and all(tuple(e) == tuple(d) for e, d in zip(enc_w, dec_w)))
        if feed != "repeat" and not self.identity:
            # one projection for every (decoder layer, state tensor): code → h0 (and c0)
            self.to_state = nn.Linear(self.code_size, dec_size)
        self.head = nn.Linear(decoder.output_size, out_size)

    def encode(self, batch) -> Tensor:
        """The code of each sequence: (B, L)."""
        x = self.adapter(batch["x"])  # (B, T, I)
        _, state = self.encoder(x, None, batch.get("lengths"))
        D = self.encoder.num_directions
        last = state[-D:]  # the last layer, each direction: tuples of (B, W_k)
        # state-major: all directions' h, then all c — the decoder's layout below
        S = self.encoder.num_states
        flat = torch.cat([d[k] for k in range(S) for d in last], dim=-1)  # (B, D·ΣW): D·S·H
        if self.to_code is None:
            return flat
        # tanh keeps the code bounded, as an LSTM's own h is
        return torch.tanh(self.to_code(flat))  # (B, L)

    def _initial_state(self, z: Tensor) -> list[tuple[Tensor, ...]]:
        Ld, S = self.decoder.num_layers, self.decoder.num_states
        if self.identity:  # layer l gets direction l's (h, c) as the encoder left them
            parts = z.split(self.enc_widths, dim=-1)  # part k·D + d, D = Ld: (B, W_k) each
            return [tuple(parts[k * Ld + l] for k in range(S)) for l in range(Ld)]
        parts = self.to_state(z).split(self.dec_widths, dim=-1)  # part l·S + k: (B, W_k)
        # h is bounded like the cell's own output; c (an LSTM's memory) is not
        return [tuple(torch.tanh(parts[l * S + k]) if k == 0 else parts[l * S + k]
                      for k in range(S)) for l in range(Ld)]

    def forward(self, batch, state=None) -> tuple[Tensor, object]:
        z = self.encode(batch)  # (B, L)
        B = z.shape[0]
        T = batch["y"].shape[1] if "y" in batch else batch["x"].shape[1]
        if self.feed == "init_state":
            inp = z.new_zeros(B, T, 1)  # (B, T, 1): the state carries everything
        else:
            inp = z.unsqueeze(1).expand(B, T, z.shape[1])  # (B, T, L): RepeatVector
        init = self._initial_state(z) if self.feed != "repeat" else None
        # forwards only, so padding after a row's end cannot reach its earlier steps
        h, state = self.decoder(inp, init)  # (B, T, H)
        return self.head(h), state  # (B, T, O)


class Autoencoder(Topology):
    """Sequence in, its reconstruction out (through a fixed-size code)."""

    Params = AutoencoderParams
    consumes = Shape.SEQUENCE
    produces = Shape.SEQUENCE

    def build(self, info, out_size):
        p = self.params
        adapter = InputAdapter(info, self.spec.embedding)
        encoder = self.recurrent(adapter.size)
        code = p.latent_size or sum(sum(w) for w in encoder.state_sizes()[-encoder.num_directions:])
        # the decoder runs forwards only: it writes the sequence out in order
        decoder = self.recurrent(1 if p.feed == "init_state" else code, bidirectional=False)
        return AutoencoderModel(adapter, encoder, decoder, p.latent_size, out_size, p.feed)
