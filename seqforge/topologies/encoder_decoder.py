"""encoder_decoder: a source sequence in, a target sequence of its own length out.

The encoder reads x (B, S, ·); its final state is *bridged* into the decoder — a learned
map per decoder layer, so encoder and decoder may differ in hidden size, layer count and
direction. The decoder reads the previous target step (teacher forcing, with probability
``teacher_forcing``; otherwise its own previous prediction) and optionally attends over
the encoder outputs. Output (B, T, O). ``encode``/``decode_step`` drive greedy and beam
decoding at inference.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from ..data.info import DataInfo
from ..data.transforms.vocab import BOS_ID
from ..kinds import Shape
from .attention import Attention
from .base import InputAdapter, SeqModel, Topology, TopologyParams
from .protocols import StepDecoder

BOS = BOS_ID  # the vocabulary's fixed <bos> index: the decoder's first input


class EncoderDecoderParams(TopologyParams):
    attention: Literal["none", "dot", "general", "additive"] = "none"
    teacher_forcing: float = Field(1.0, ge=0.0, le=1.0,
                                   description="probability of feeding the true previous step")
    decoder_layers: int | None = Field(None, ge=1, le=64, description="default: model.num_layers")
    decoder_hidden_size: int | None = Field(None, ge=1, le=65_536,
                                            description="default: model.hidden_size")
    decoder_input: Literal["previous", "none"] = Field(
        "previous", description="none: the decoder sees only the bridged state (autoencoders)")
    max_length: int = Field(64, ge=1, le=100_000, description="longest output when decoding")


class EncoderDecoderModel(SeqModel):
    produces = Shape.SEQUENCE

    def __init__(self, info: DataInfo, src_adapter: InputAdapter, encoder, decoder,
                 out_size: int, params: EncoderDecoderParams, embedding: int | None):
        super().__init__()
        self.params = params
        self.src_adapter = src_adapter
        self.encoder = encoder
        self.decoder = decoder
        self.tokens = info.target_vocab is not None
        self.out_size = out_size
        tgt_info = DataInfo(input=Shape.SEQUENCE, vocab=info.target_vocab,
                            n_features=info.n_targets or 0)
        self.tgt_adapter = InputAdapter(tgt_info, embedding)
        enc_size = encoder.output_size
        Hd, S, D = decoder.hidden_size, decoder.num_states, encoder.num_directions
        enc_w, dec_w = encoder.state_sizes(), decoder.state_sizes()
        # bridge: decoder layer l reads encoder layer enc_layer(l), its directions' state
        # tensors concatenated: (in, out) widths per (layer, state), (D·H, Hd) for (B, H)
        # states; identity when it can be
        sizes = [(sum(enc_w[self._enc_layer(l) * D + d][s] for d in range(D)), dec_w[l][s])
                 for l in range(decoder.num_layers) for s in range(S)]
        self.same = (encoder.num_layers == decoder.num_layers
                     and all(i == o for i, o in sizes))
        if not self.same:
            self.bridge = nn.ModuleList(nn.Linear(i, o) for i, o in sizes)
        self.attn = (Attention(params.attention, Hd, enc_size)
                     if params.attention != "none" else None)
        self.head = nn.Linear(Hd, out_size)

    # -- pieces used by training and by decoding -------------------------------------------
    def _enc_layer(self, l: int) -> int:
        Le, Ld = self.encoder.num_layers, self.decoder.num_layers
        return Le - 1 if Ld == 1 else round(l * (Le - 1) / (Ld - 1))

    def encode(self, batch) -> tuple[Tensor, Tensor | None, list]:
        """-> memory (B, S, D·H), mask (B, S) or None, decoder initial state."""
        x = self.src_adapter(batch["x"])  # (B, S, I)
        lengths = batch.get("lengths")
        memory, enc_state = self.encoder(x, None, lengths)  # (B, S, D·H)
        mask = None
        if lengths is not None:
            S = memory.shape[1]
            mask = torch.arange(S, device=memory.device)[None] < lengths.to(memory.device)[:, None]
        D = self.encoder.num_directions
        dec_state = []
        for l in range(self.decoder.num_layers):
            e = self._enc_layer(l)
            parts = enc_state[e * D:(e + 1) * D]  # this encoder layer's directions
            comps = []
            for s in range(self.decoder.num_states):
                h = torch.cat([p[s] for p in parts], dim=-1)  # (B, D·W): D·H for s = 0
                if not self.same:
                    h = self.bridge[l * self.decoder.num_states + s](h)  # (B, W_dec): Hd
                    h = torch.tanh(h) if s == 0 else h
                comps.append(h)
            dec_state.append(tuple(comps))
        return memory, mask, dec_state

    def _embed_prev(self, prev: Tensor) -> Tensor:
        """prev tokens (B, T) or values (B, T, F) → decoder input (B, T, E)."""
        if self.params.decoder_input == "none":
            shape = prev.shape[:2]
            return torch.zeros(*shape, 1, device=prev.device, dtype=self.head.weight.dtype)
        return self.tgt_adapter(prev)

    def _output(self, h: Tensor, memory: Tensor, mask: Tensor | None
                ) -> tuple[Tensor, Tensor | None]:
        """Decoder states (B, T, Hd) -> outputs (B, T, O) and attention weights (B, T, S)."""
        weights = None
        if self.attn is not None:
            h, weights = self.attn(h, memory, mask)  # (B, T, Hd), (B, T, S)
        return self.head(h), weights  # (B, T, O)

    def start_token(self, B: int, device) -> Tensor:
        if self.tokens:
            return torch.full((B, 1), BOS, dtype=torch.long, device=device)  # (B, 1)
        return torch.zeros(B, 1, self.out_size, device=device)  # (B, 1, F)

    def decode_step(self, prev: Tensor, state, memory: Tensor, mask: Tensor | None, *,
                    with_attention: bool = False):
        """One step: prev (B, 1) tokens or (B, 1, F) values -> out (B, O), new state.

        ``with_attention=True`` adds a third value, the attention weights (B, S) (None
        without attention), for heat-maps.
        """
        h, state = self.decoder(self._embed_prev(prev), state)  # (B, 1, Hd)
        out, weights = self._output(h, memory, mask)  # (B, 1, O), (B, 1, S)
        if with_attention:
            return out[:, 0], state, (weights[:, 0] if weights is not None else None)
        return out[:, 0], state

    # -- training forward ------------------------------------------------------------------
    def forward(self, batch, state=None):
        memory, mask, dec_state = self.encode(batch)
        y = batch["y"]  # (B, T) tokens or (B, T, F) values
        B = y.shape[0]
        start = self.start_token(B, y.device)
        prev = torch.cat([start, y[:, :-1]], dim=1)  # shifted right
        tf = self.params.teacher_forcing
        if tf >= 1.0 or not self.training or self.params.decoder_input == "none":
            # every step's input is known: run the decoder over the whole sequence at once
            h, dec_state = self.decoder(self._embed_prev(prev), dec_state)  # (B, T, Hd)
            return self._output(h, memory, mask)[0], dec_state
        outs = []
        p = start
        for t in range(y.shape[1]):
            o, dec_state = self.decode_step(p, dec_state, memory, mask)  # (B, O)
            outs.append(o)
            if t + 1 < y.shape[1]:
                own = o.argmax(-1, keepdim=True) if self.tokens else o.detach().unsqueeze(1)
                use_true = torch.rand(B, device=y.device) < tf  # per-example coin
                true = y[:, t:t + 1]
                if self.tokens:
                    p = torch.where(use_true[:, None], true, own)
                else:
                    p = torch.where(use_true[:, None, None], true, own)
        return torch.stack(outs, dim=1), dec_state  # (B, T, O)


class EncoderDecoder(Topology):
    """Sequence in, sequence of another length out."""

    Params = EncoderDecoderParams
    consumes = Shape.SEQUENCE
    produces = Shape.SEQUENCE
    implements = (StepDecoder,)

    def build(self, info, out_size):
        p = self.params
        src = InputAdapter(info, self.spec.embedding)
        encoder = self.recurrent(src.size)
        tgt_size = (self.spec.embedding or len(info.target_vocab)) if info.target_vocab is not None \
            else (info.n_targets or out_size)
        dec_in = 1 if p.decoder_input == "none" else tgt_size
        decoder = self.recurrent(dec_in, hidden_size=p.decoder_hidden_size,
                                 num_layers=p.decoder_layers, bidirectional=False)
        return EncoderDecoderModel(info, src, encoder, decoder, out_size, p, self.spec.embedding)
