"""Sampling text from a trained language model: temperature, top-k and top-p (nucleus).

:func:`filter_logits` and :func:`sample_next` work on any ``(N, V)`` logits.
:func:`generate` drives a many-to-many model step by step: it runs the prompt through
the model once to *prime* the recurrent state, then feeds each sampled token back as a
``(N, 1)`` input together with the carried state — each new token costs one step, never
a re-run of the prefix.

Order of the filters (as in most toolkits): logits / temperature, then top-k, then top-p
on what top-k left. ``temperature == 0`` is greedy (argmax). Randomness comes only from
the ``torch.Generator`` passed in (or seeded by :func:`generate`), so a seed gives the
same text on the same machine and torch version.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ..data.transforms.vocab import SPECIALS, Vocab, detokenize, tokenize
from ..errors import DataError


def _check(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if temperature < 0:
        raise ValueError(f"temperature must be 0 (greedy) or more, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """``logits`` (N, V) with every token outside the top-k / top-p sets set to -inf.

    top-k keeps exactly the k largest logits of each row (ties broken by torch.topk).
    top-p keeps, per row, the smallest set of most probable tokens whose probability
    (softmax of the logits given) sums to at least ``p``: a token is kept when the mass
    of the tokens ranked above it is still below ``p``, so the most probable token is
    always kept.
    """
    _check(1.0, top_k, top_p)
    out = logits
    if top_k is not None and top_k < logits.shape[-1]:
        idx = torch.topk(out, top_k, dim=-1).indices  # (N, k)
        keep = torch.zeros_like(out, dtype=torch.bool).scatter_(-1, idx, True)
        out = out.masked_fill(~keep, float("-inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, order = torch.sort(out, dim=-1, descending=True)  # (N, V)
        probs = torch.softmax(sorted_logits, dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs  # (N, V): mass ranked above each
        drop_sorted = mass_before >= top_p
        drop_sorted[..., 0] = False  # never drop the best token (guards float rounding)
        drop = torch.zeros_like(drop_sorted).scatter_(-1, order, drop_sorted)
        out = out.masked_fill(drop, float("-inf"))
    return out


def sample_next(logits: Tensor, *, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None) -> Tensor:
    """One token id per row of ``logits`` (N, V) → (N,) long."""
    _check(temperature, top_k, top_p)
    if temperature == 0:
        return logits.argmax(dim=-1)  # greedy: the limit of temperature → 0
    scaled = filter_logits(logits.float() / temperature, top_k, top_p)  # (N, V)
    probs = torch.softmax(scaled, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (N,)


def prompt_ids(vocab: Vocab, prompt: str, level: str,
               on_unknown: Literal["error", "unk"] = "error") -> list[int]:
    """Token ids of ``prompt``. An empty char-level prompt means "at the start of a line".

    Tokens the vocabulary lacks are a DataError listing them (``on_unknown="error"``) —
    the model never saw them, so a silent ``<unk>`` would change the prompt — or become
    ``<unk>`` (``"unk"``).
    """
    tokens = tokenize(prompt, level)
    if not tokens:
        if level != "char":
            raise DataError("the prompt is empty — give a few words to start from",
                            source="prompt")
        tokens = ["\n"]  # a newline is the most neutral context in running text
    unknown = sorted({t for t in tokens if t not in vocab or t in SPECIALS})
    if unknown and on_unknown == "error":
        shown = ", ".join(repr(t) for t in unknown[:20]) + (" …" if len(unknown) > 20 else "")
        unit = ("character" if level == "char" else "word") + ("s" if len(unknown) > 1 else "")
        raise DataError(f"the prompt has {len(unknown)} {unit} the model never saw in "
                        f"training: {shown} — remove or replace them", source="prompt")
    return vocab.encode(tokens)


@torch.no_grad()
def generate(model: torch.nn.Module, vocab: Vocab, prompt: str, length: int, *,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None, num_samples: int = 1, level: str = "char",
             on_unknown: Literal["error", "unk"] = "error",
             device: torch.device | str | None = None) -> list[str]:
    """``num_samples`` continuations of ``prompt`` of ``length`` tokens each (prompt excluded).

    ``model`` is a many-to-many model: ``model({"x": (N, T) long}, state) -> ((N, T, V),
    state)``. Special tokens (``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``) are never
    emitted. ``seed=None`` draws a fresh seed.
    """
    _check(temperature, top_k, top_p)
    if length < 0:
        raise ValueError(f"length must be 0 or more, got {length}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    model = getattr(model, "_orig_mod", model)  # a torch.compile wrapper: use the module
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    ids = torch.tensor(prompt_ids(vocab, prompt, level, on_unknown), dtype=torch.long,
                       device=device).repeat(num_samples, 1)  # (N, P)
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    banned = torch.tensor([vocab.stoi[s] for s in SPECIALS if s in vocab.stoi], device=device)
    was_training = model.training
    model.eval()
    try:
        out, state = model({"x": ids}, None)  # (N, P, V): primes the state with the prompt
        emitted = []
        for step in range(length):
            logits = out[:, -1].float()  # (N, V)
            logits[:, banned] = float("-inf")
            nxt = sample_next(logits, temperature=temperature, top_k=top_k, top_p=top_p,
                              generator=gen)  # (N,)
            emitted.append(nxt)
            if step + 1 < length:  # the last token needs no forward pass
                out, state = model({"x": nxt.unsqueeze(1)}, state)  # (N, 1, V)
    finally:
        model.train(was_training)
    if not emitted:
        return [""] * num_samples
    tokens = torch.stack(emitted, dim=1).cpu()  # (N, length)
    return [detokenize(vocab.decode(row.tolist()), level) for row in tokens]


def with_prompt(prompt: str, continuation: str, level: str) -> str:
    """The prompt followed by its continuation, as text (words get a space between)."""
    if level == "word" and prompt and continuation:
        return detokenize(tokenize(prompt, "word") + tokenize(continuation, "word"), "word")
    return prompt + continuation


__all__ = ["filter_logits", "sample_next", "prompt_ids", "generate", "with_prompt"]
