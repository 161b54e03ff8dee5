"""Greedy and beam-search decoding for any encoder–decoder model over tokens.

The model needs only ``encode(batch) -> (memory, mask, state)``, ``start_token(B,
device)`` and ``decode_step(prev, state, memory, mask) -> (logits, state)`` (see
:class:`seqforge.topologies.encoder_decoder.EncoderDecoderModel`); decoding is batched
over the examples of ``batch`` and stops at ``<eos>`` or after ``max_length`` tokens.

Scores are *length-normalised*: the sum of the emitted tokens' log-probabilities
(``<eos>`` included) divided by ``length ** alpha`` — with the default ``alpha = 1`` the
mean log-probability per token — so short and long outputs compete fairly. Beam search
keeps the ``K`` best hypotheses by total log-probability at every step (a finished one
stays in the beam, extended by free padding), and picks among the final ``K`` by the
normalised score. With ``K = 1`` it is exactly greedy decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.transforms.vocab import EOS_ID, PAD_ID


@dataclass
class Decoded:
    """Decoder outputs for a batch of B examples."""

    tokens: Tensor  # (B, L) long: emitted ids, <eos> included, <pad> after it
    lengths: Tensor  # (B,) tokens emitted, <eos> included
    scores: Tensor  # (B,) length-normalised log-probability
    attention: Tensor | None = None  # (B, L, S) weights over the source (greedy only)


def _select_state(state: Any, index: Tensor) -> Any:
    """Rows ``index`` of every tensor in a (nested) decoder state."""
    if isinstance(state, Tensor):
        return state.index_select(0, index)
    if isinstance(state, (list, tuple)):
        return type(state)(_select_state(s, index) for s in state)
    return state


def _check_model(model) -> None:
    for attr in ("encode", "decode_step", "start_token"):
        if not hasattr(model, attr):
            raise TypeError(f"decoding needs an encoder–decoder model with {attr}(); "
                            f"got {type(model).__name__}")
    if not getattr(model, "tokens", True):
        raise TypeError("greedy/beam decoding is for token targets; this model predicts values")


def _normalise(total: Tensor, length: Tensor, alpha: float) -> Tensor:
    return total / length.clamp(min=1).to(total.dtype) ** alpha


def _max_length(model, max_length: int | None) -> int:
    if max_length is not None:
        return int(max_length)
    params = getattr(model, "params", None)
    return int(getattr(params, "max_length", 64))


@torch.no_grad()
def greedy_decode(model, batch: dict[str, Any], max_length: int | None = None, *,
                  alpha: float = 1.0, attention: bool = False) -> Decoded:
    """The most likely next token at every step. ``attention=True`` also returns the
    attention weights of every emitted token (None for a model without attention)."""
    _check_model(model)
    L = _max_length(model, max_length)
    memory, mask, state = model.encode(batch)  # (B, S, D·H)
    B, device = memory.shape[0], memory.device
    prev = model.start_token(B, device)  # (B, 1)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    total = torch.zeros(B, device=device)
    lengths = torch.zeros(B, dtype=torch.long, device=device)
    tokens, weights = [], []
    for _ in range(L):
        if attention:
            logits, state, w = model.decode_step(prev, state, memory, mask, with_attention=True)
        else:
            logits, state = model.decode_step(prev, state, memory, mask)  # (B, V)
        logp = F.log_softmax(logits.float(), dim=-1)  # (B, V)
        best, tok = logp.max(dim=-1)  # (B,), (B,)
        tok = tok.masked_fill(done, PAD_ID)
        total = total + best.masked_fill(done, 0.0)
        lengths = lengths + (~done).long()
        tokens.append(tok)
        if attention and w is not None:  # (B, S)
            weights.append(w.masked_fill(done[:, None], 0.0))
        done = done | (tok == EOS_ID)
        prev = tok[:, None]  # (B, 1)
        if bool(done.all()):
            break
    out = torch.stack(tokens, dim=1) if tokens else torch.zeros(B, 0, dtype=torch.long,
                                                                device=device)  # (B, L)
    att = torch.stack(weights, dim=1) if weights else None  # (B, L, S)
    return Decoded(out, lengths, _normalise(total, lengths, alpha), att)


@torch.no_grad()
def beam_search(model, batch: dict[str, Any], beam: int, max_length: int | None = None, *,
                alpha: float = 1.0, n_best: int = 1) -> list[Decoded]:
    """Beam search with ``beam`` hypotheses per example.

    Returns ``n_best`` (≤ beam) :class:`Decoded`, best first: element ``i`` holds every
    example's ``i``-th best hypothesis by normalised score.
    """
    _check_model(model)
    if beam < 1:
        raise ValueError(f"beam must be at least 1, got {beam}")
    if not 1 <= n_best <= beam:
        raise ValueError(f"n_best must be in 1..beam ({beam}), got {n_best}")
    L = _max_length(model, max_length)
    K = beam
    memory, mask, state = model.encode(batch)  # (B, S, D·H)
    B, device = memory.shape[0], memory.device
    rows = torch.arange(B, device=device).repeat_interleave(K)  # (B·K,): each example K times
    memory = memory.index_select(0, rows)  # (B·K, S, D·H)
    mask = mask.to(device).index_select(0, rows) if mask is not None else None  # (B·K, S)
    state = _select_state(state, rows)
    prev = model.start_token(B * K, device)  # (B·K, 1)
    # only the first copy is live at the start, so the K beams do not begin identical
    total = torch.full((B, K), float("-inf"), device=device)
    total[:, 0] = 0.0
    done = torch.zeros(B, K, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, K, dtype=torch.long, device=device)
    tokens = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    offset = (torch.arange(B, device=device) * K)[:, None]  # (B, 1)
    for _ in range(L):
        logits, state = model.decode_step(prev, state, memory, mask)  # (B·K, V)
        V = logits.shape[-1]
        logp = F.log_softmax(logits.float(), dim=-1).view(B, K, V)  # (B, K, V)
        # a finished hypothesis may only be extended by <pad>, at no cost
        frozen = torch.full_like(logp, float("-inf"))
        frozen[..., PAD_ID] = 0.0
        logp = torch.where(done[..., None], frozen, logp)
        cand = (total[..., None] + logp).view(B, K * V)  # (B, K·V)
        top, flat = cand.topk(K, dim=-1)  # (B, K)
        origin = torch.div(flat, V, rounding_mode="floor")  # (B, K): beam each came from
        tok = flat % V  # (B, K)
        was_done = done.gather(1, origin)  # (B, K)
        total = top
        lengths = lengths.gather(1, origin) + (~was_done).long()
        done = was_done | (tok == EOS_ID)
        tokens = torch.cat([tokens.gather(1, origin[..., None].expand_as(tokens)),
                            tok[..., None]], dim=-1)  # (B, K, t+1)
        state = _select_state(state, (origin + offset).view(-1))
        prev = tok.view(B * K, 1)  # (B·K, 1)
        if bool(done.all()):
            break
    scores = _normalise(total, lengths, alpha)  # (B, K); -inf for never-live beams
    order = scores.argsort(dim=-1, descending=True)  # (B, K)
    out = []
    for i in range(n_best):
        pick = order[:, i:i + 1]  # (B, 1)
        toks = tokens.gather(1, pick[..., None].expand(B, 1, tokens.shape[-1]))[:, 0]  # (B, L)
        out.append(Decoded(toks, lengths.gather(1, pick)[:, 0], scores.gather(1, pick)[:, 0]))
    return out


def decode(model, batch: dict[str, Any], beam: int = 1, max_length: int | None = None, *,
           alpha: float = 1.0) -> Decoded:
    """Greedy for ``beam == 1``, else the best beam-search hypothesis."""
    if beam == 1:
        return greedy_decode(model, batch, max_length, alpha=alpha)
    return beam_search(model, batch, beam, max_length, alpha=alpha)[0]


def strip_after_eos(ids: list[int]) -> list[int]:
    """Ids up to (not including) the first <eos>."""
    return ids[:ids.index(EOS_ID)] if EOS_ID in ids else ids


__all__ = ["Decoded", "greedy_decode", "beam_search", "decode", "strip_after_eos"]
