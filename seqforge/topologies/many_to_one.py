"""many_to_one: a sequence in, one vector out (classification, next-value forecasting).

x (B, T, F) → (B, O), from the last state (default) or pooled over valid steps (mean,
max, or learned attention weights). Padding is masked, so a sequence's result does not
depend on how much padding follows it.

Options for classification (all off by default): a 1-D conv front-end
(:mod:`~seqforge.topologies.conv_frontend`) in ``parallel`` with the recurrent stack
(LSTM-FCN: both read x, their pooled features are concatenated) or in ``serial`` (the
stack reads the conv features); ``embedding_dropout`` on the (embedded) inputs and
``recurrent_dropout`` on the recurrent outputs (before mean or attention pooling; on the
pooled vector for last and max, where dropout's rescaling would bias a maximum) — the
dropout LSTM-FCN puts after its LSTM, and the one that acts on a single-layer stack,
where the inter-layer ``dropout`` has nothing to act on.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Tensor, nn

from ..kinds import Shape
from ..recurrent import final_hidden
from .base import InputAdapter, SeqModel, Topology, TopologyParams
from .conv_frontend import AttentionPool, ConvBlocks, masked_mean, valid_mask


class ManyToOneParams(TopologyParams):
    pooling: Literal["last", "mean", "max", "attention"] = "last"
    conv: Literal["none", "parallel", "serial"] = Field(
        "none", description="1-D conv blocks beside (parallel, LSTM-FCN) or before (serial) "
                            "the recurrent stack")
    conv_channels: list[int] | None = Field(
        None, description="filters per conv block (null: 2H, 4H, 2H for hidden size H; "
                          "LSTM-FCN used 128, 256, 128)")
    conv_kernels: list[int] = Field([8, 5, 3], description="kernel size per conv block")
    conv_norm: Literal["layer", "batch"] = Field(
        "layer", description="normalisation in each conv block: layer (LayerNorm over channels "
                             "per step) or batch (BatchNorm over valid steps, the FCN recipe; "
                             "eval mode uses running statistics)")
    embedding_dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the (embedded) "
                                                                   "inputs")
    recurrent_dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the recurrent "
                                                                   "outputs (before mean / "
                                                                   "attention pooling, after "
                                                                   "last / max)")

    @model_validator(mode="after")
    def _blocks(self):
        if any(k < 1 for k in self.conv_kernels) or not self.conv_kernels:
            raise ValueError("conv_kernels must be one or more sizes >= 1")
        if self.conv_channels is not None:
            if any(c < 1 for c in self.conv_channels):
                raise ValueError("conv_channels must be sizes >= 1")
            if len(self.conv_channels) != len(self.conv_kernels):
                raise ValueError(f"conv_channels {self.conv_channels} and conv_kernels "
                                 f"{self.conv_kernels} need one entry per block each")
        return self


class ManyToOneModel(SeqModel):
    produces = Shape.VECTOR

    def __init__(self, adapter, rnn, out_size: int, params: ManyToOneParams,
                 conv: ConvBlocks | None = None):
        super().__init__()
        self.adapter = adapter
        self.rnn = rnn
        self.pooling = params.pooling
        self.conv_mode = params.conv if conv is not None else "none"
        self.conv = conv
        # batch norm: a training forward pass normalises with the batch's statistics
        self.batch_statistics = bool(conv is not None and conv.batch_statistics)
        self.p_in, self.p_rec = params.embedding_dropout, params.recurrent_dropout
        self.attend = AttentionPool(rnn.output_size) if self.pooling == "attention" else None
        extra = conv.size if self.conv_mode == "parallel" else 0
        self.head = nn.Linear(rnn.output_size + extra, out_size)

    def forward(self, batch, state=None) -> tuple[Tensor, object]:
        x = self.adapter(batch["x"])  # (B, T, I)
        lengths = batch.get("lengths")
        mask = valid_mask(lengths, x.shape[0], x.shape[1], x.device)  # (B, T)
        if self.p_in:
            x = F.dropout(x, self.p_in, self.training)
        conv_feat = None
        if self.conv_mode == "serial":
            x = self.conv(x, mask)  # (B, T, F): the stack reads conv features
        elif self.conv_mode == "parallel":
            conv_feat = masked_mean(self.conv(x, mask), mask)  # (B, F)
        h, state = self.rnn(x, state, lengths)  # (B, T, D·H)
        if self.p_rec and self.pooling in ("mean", "attention"):
            h = F.dropout(h, self.p_rec, self.training)
        pooled = self._pool(h, state, mask)  # (B, D·H)
        if conv_feat is not None:
            pooled = torch.cat([pooled, conv_feat], dim=-1)  # (B, D·H + F)
        return self.head(pooled), state  # (B, O)

    def _pool(self, h: Tensor, state, mask: Tensor) -> Tensor:
        if self.pooling == "last":
            # final state = after each row's last valid step, both directions
            last = final_hidden(self.rnn, state)  # (B, D·H)
            return F.dropout(last, self.p_rec, self.training) if self.p_rec else last
        if self.pooling == "attention":
            return self.attend(h, mask)
        if self.pooling == "mean":
            return masked_mean(h, mask)
        top = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)  # (B, D·H)
        # dropout after the max, as after the last state: before it, the survivors'
        # 1/(1-p) scaling inflates every training-time maximum over eval-time ones
        return F.dropout(top, self.p_rec, self.training) if self.p_rec else top


class ManyToOne(Topology):
    """Sequence in, one vector out."""

    Params = ManyToOneParams
    consumes = Shape.SEQUENCE
    produces = Shape.VECTOR

    def build(self, info, out_size):
        p = self.params
        adapter = InputAdapter(info, self.spec.embedding)
        conv = None
        size = adapter.size
        if p.conv != "none":
            H = self.spec.hidden_size
            channels = p.conv_channels or [2 * H, 4 * H, 2 * H][:len(p.conv_kernels)] + \
                [2 * H] * max(0, len(p.conv_kernels) - 3)
            conv = ConvBlocks(adapter.size, channels, p.conv_kernels, norm=p.conv_norm)
            if p.conv == "serial":
                size = conv.size
        return ManyToOneModel(adapter, self.recurrent(size), out_size, p, conv)
