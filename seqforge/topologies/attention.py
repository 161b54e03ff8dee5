"""Attention over encoder outputs (Luong et al. 2015), for the encoder–decoder.

score(h_t, m_s): ``dot`` hᵀm, ``general`` hᵀWm, ``additive`` vᵀtanh(W₁h + W₂m) (Bahdanau).
Padding positions of the source get zero weight.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Attention(nn.Module):
    def __init__(self, kind: str, query_size: int, memory_size: int):
        super().__init__()
        self.kind = kind
        if kind == "dot" and query_size != memory_size:
            kind = self.kind = "general"  # dot needs equal sizes; general learns the map
        if kind == "general":
            self.W = nn.Linear(memory_size, query_size, bias=False)
        elif kind == "additive":
            self.Wq = nn.Linear(query_size, query_size, bias=False)
            self.Wm = nn.Linear(memory_size, query_size, bias=True)
            self.v = nn.Linear(query_size, 1, bias=False)
        self.combine = nn.Linear(query_size + memory_size, query_size)

    def forward(self, q: Tensor, memory: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """q (B, T, Hq), memory (B, S, Hm), mask (B, S) true=valid -> (B, T, Hq), weights (B, T, S)."""
        if self.kind == "dot":
            scores = q @ memory.transpose(1, 2)  # (B, T, S)
        elif self.kind == "general":
            scores = q @ self.W(memory).transpose(1, 2)  # (B, T, S)
        else:
            e = torch.tanh(self.Wq(q).unsqueeze(2) + self.Wm(memory).unsqueeze(1))  # (B, T, S, Hq)
            scores = self.v(e).squeeze(-1)  # (B, T, S)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, T, S)
        context = weights @ memory  # (B, T, Hm)
        return torch.tanh(self.combine(torch.cat([q, context], dim=-1))), weights  # (B, T, Hq)
