"""A 1-D convolutional front-end for ``many_to_one`` (the LSTM-FCN family).

Karim et al. (2017, "LSTM Fully Convolutional Networks for Time Series Classification")
run three conv blocks (128/256/128 filters, kernels 8/5/3) *in parallel* with the
recurrent layer and classify from both; CNN-LSTMs run the blocks *in series*, the
recurrent stack reading the conv features. ``many_to_one`` offers both
(``conv: parallel | serial``); this module is the conv part, kept apart so the topology
file stays about wiring.

Each block is Conv1d ('same' padding) → LayerNorm over channels at each step → ReLU.
Not BatchNorm as in the paper: batch statistics make one series' prediction depend on
the others in its batch and on padding, which the topology contract forbids. Padded steps
are zeroed before every block, so a padded series convolves exactly like the same series
alone. (A masked per-series instance norm was tried too: no better on ArrowHead, and its
ReLU sits on a kink for one-step series, which gradcheck rejects.)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def valid_mask(lengths: Tensor | None, B: int, T: int, device) -> Tensor:
    """(B, T) bool, True at valid steps."""
    if lengths is None:
        return torch.ones(B, T, dtype=torch.bool, device=device)
    return torch.arange(T, device=device)[None] < lengths.to(device)[:, None]


class ConvBlocks(nn.Module):
    """x (B, T, I) → features (B, T, F) with F = ``channels[-1]``; padded steps are 0."""

    def __init__(self, input_size: int, channels: list[int], kernels: list[int],
                 dropout: float = 0.0):
        super().__init__()
        if len(channels) != len(kernels):
            raise ValueError(f"conv_channels {channels} and conv_kernels {kernels} must have "
                             "the same length (one kernel per block)")
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        size = input_size
        for c, k in zip(channels, kernels):
            self.convs.append(nn.Conv1d(size, c, k))  # 'same' padding is added in forward
            self.norms.append(nn.LayerNorm(c))
            size = c
        self.size = size
        self.dropout = dropout

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        m = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        h = x * m  # garbage in padding must not reach valid steps through the kernels
        for conv, norm in zip(self.convs, self.norms):
            k = conv.kernel_size[0]
            # 'same' padding by hand ((k-1)//2 before, k//2 after, as torch's own): torch
            # warns on every even kernel (LSTM-FCN's 8) when asked for padding="same"
            hp = nn.functional.pad(h.transpose(1, 2), ((k - 1) // 2, k // 2))  # (B, I, T+k-1)
            h = conv(hp).transpose(1, 2)  # (B, T, c)
            h = torch.relu(norm(h)) * m
            if self.dropout:
                h = nn.functional.dropout(h, self.dropout, self.training)
        return h  # (B, T, F)


def masked_mean(h: Tensor, mask: Tensor) -> Tensor:
    """(B, T, F), (B, T) → (B, F): the mean over valid steps (global average pooling)."""
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1)


class AttentionPool(nn.Module):
    """Additive attention pooling: weights softmax(vᵀ tanh(W h_t)) over valid steps, the
    output their weighted sum — the model learns which steps matter (Bahdanau-style)."""

    def __init__(self, size: int):
        super().__init__()
        self.proj = nn.Linear(size, size)
        self.score = nn.Linear(size, 1, bias=False)

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        s = self.score(torch.tanh(self.proj(h))).squeeze(-1)  # (B, T)
        s = s.masked_fill(~mask, float("-inf"))
        w = torch.softmax(s, dim=1).unsqueeze(-1)  # (B, T, 1)
        return (w * h).sum(1)  # (B, D·H)


__all__ = ["ConvBlocks", "AttentionPool", "masked_mean", "valid_mask"]
