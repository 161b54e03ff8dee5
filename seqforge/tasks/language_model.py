"""language_model: predict the next token at every step (softmax over the vocabulary).

Loss is cross-entropy in nats, ignoring padding. Metrics are what language-model papers
report: ``bits_per_char`` (``bits_per_word`` at word level) = loss / ln 2 and
``perplexity`` = e^loss, plus next-token ``accuracy``. The baseline is a *unigram* model
— each token's frequency in the training part, add-one smoothed — scored on the same
split: the bits/char any model gets without looking at context. A recurrent model is
worth something once it is clearly below it.

At the end of training, ``samples.txt`` holds a few continuations of held-out prompts
(see :func:`seqforge.inference.sampling.generate`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from ..data.facets import Tokens, TokenStream
from ..data.transforms.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from ..errors import SpecError
from ..kinds import Shape
from .base import ArtifactContext, Metrics, Task, TaskParams

LN2 = math.log(2.0)


class LanguageModelParams(TaskParams):
    samples: int = Field(3, ge=0, le=100, description="samples written to samples.txt at the end")
    sample_length: int = Field(300, ge=1, le=100_000, description="tokens per sample")
    temperature: float = Field(0.8, ge=0, description="sampling temperature of samples.txt (0: greedy)")
    top_k: int | None = Field(None, ge=1, description="top-k filter for samples.txt")
    top_p: float | None = Field(None, gt=0, le=1, description="nucleus filter for samples.txt")
    sample_seed: int = Field(0, ge=0, description="seed of the samples, so reruns compare")


def _nll_sum(out: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Summed NLL (nats), count of scored targets, and count of correct argmaxes."""
    V = out.shape[-1]
    logits = out.reshape(-1, V).float()  # (B·T, V)
    target = y.reshape(-1)  # (B·T,)
    mask = target != PAD_ID
    nll = F.cross_entropy(logits, target, ignore_index=PAD_ID, reduction="sum")
    correct = ((logits.argmax(-1) == target) & mask).sum()
    return nll, mask.sum(), correct


class LMMetrics(Metrics):
    """Token-weighted mean NLL over every scored target of the split."""

    def __init__(self, unit: str):
        self.unit = unit
        self.nll = 0.0
        self.count = 0
        self.correct = 0

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        nll, n, correct = _nll_sum(out.detach(), batch["y"])
        self.nll += float(nll)
        self.count += int(n)
        self.correct += int(correct)

    def compute(self) -> dict[str, float]:
        if not self.count:
            return {}
        return lm_metrics(self.nll / self.count, self.correct / self.count, self.unit)


def lm_metrics(nll: float, accuracy: float, unit: str) -> dict[str, float]:
    """Mean NLL in nats → the reported metric names."""
    return {f"bits_per_{unit}": nll / LN2, "perplexity": math.exp(min(nll, 700.0)),
            "accuracy": accuracy}


class LanguageModel(Task):
    """Next-token prediction (bits/char, perplexity vs a unigram model)."""

    Params = LanguageModelParams
    outputs = (Shape.ALIGNED_SEQUENCE,)
    requires = (Tokens, TokenStream)

    def __init__(self, params, info):
        super().__init__(params, info)
        self.stream = info.facet(TokenStream, needed_by="task 'language_model'")
        self.level = info.facet(Tokens, needed_by="task 'language_model'").level
        if info.vocab is None:
            raise SpecError("task 'language_model' needs token inputs (a vocabulary)", path="task")
        self.vocab = info.vocab
        self.unit = "char" if self.level == "char" else "word"

    def output_size(self) -> int:
        return len(self.vocab)

    # -- contract --------------------------------------------------------------------------
    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:
        V = out.shape[-1]
        return F.cross_entropy(out.reshape(-1, V), batch["y"].reshape(-1), ignore_index=PAD_ID)

    def batch_weight(self, batch: dict[str, Any]) -> int:
        return int((batch["y"] != PAD_ID).sum())  # the loss is a mean over target tokens

    def new_metrics(self, model) -> Metrics:
        return LMMetrics(self.unit)

    def baseline_name(self) -> str:
        return f"unigram ({self.unit} frequencies of train)"

    def unigram_log_probs(self) -> Tensor:
        """(V,) log-probabilities of the add-one smoothed unigram model fitted on train.

        Only tokens that can be targets get mass: every vocabulary token and ``<unk>``;
        ``<pad>``, ``<bos>`` and ``<eos>`` never occur in the stream and get none.
        """
        V = len(self.vocab)
        counts = torch.tensor(self.stream.unigram_counts[:V], dtype=torch.float64)  # (V,)
        counts = torch.nn.functional.pad(counts, (0, V - counts.numel()))
        possible = torch.ones(V, dtype=torch.bool)
        possible[[PAD_ID, BOS_ID, EOS_ID]] = False
        counts = torch.where(possible, counts + 1.0, torch.zeros_like(counts))
        return (counts / counts.sum()).log()

    def baseline(self, data) -> dict[str, float]:
        if data is None or len(data) == 0:
            return {}
        # every token of the split with a predecessor in it (streams), or every target
        y = data.targets() if hasattr(data, "targets") else _targets(data)  # (N,)
        logp = self.unigram_log_probs()
        nll = float(-logp[y].mean())
        majority = int(logp.argmax())
        return lm_metrics(nll, float((y == majority).double().mean()), self.unit)

    def predict(self, model, batch) -> list[dict[str, Any]]:
        """One row per example: its tokens scored, bits per token and perplexity."""
        out, _ = model(batch)  # (B, T, V)
        y = batch["y"]  # (B, T)
        V = out.shape[-1]
        nll = F.cross_entropy(out.reshape(-1, V).float(), y.reshape(-1), ignore_index=PAD_ID,
                              reduction="none").view(y.shape)  # (B, T); 0 at padding
        scored = (y != PAD_ID).sum(1)  # (B,)
        unknown = (y == UNK_ID).sum(1)  # (B,)
        rows = []
        for i in range(y.shape[0]):
            n = max(int(scored[i]), 1)
            mean = float(nll[i].sum()) / n
            row: dict[str, Any] = {}
            if "line" in batch:
                row["line"] = batch["line"][i]
            if "text" in batch:
                row["text"] = batch["text"][i]
            row[f"{self.unit}s_scored"] = int(scored[i])
            row[f"bits_per_{self.unit}"] = round(mean / LN2, 6)
            row["perplexity"] = round(math.exp(min(mean, 700.0)), 6)
            row["unknown"] = int(unknown[i])
            rows.append(row)
        return rows

    def artifacts(self, ctx: ArtifactContext) -> list:
        """``samples.txt``: continuations of held-out prompts at the configured temperature."""
        p = self.params
        if p.samples == 0:
            return []
        from ..inference.sampling import generate, with_prompt

        level = self.level
        prompts = list(self.stream.sample_prompts)
        prompts = (prompts + [""] * p.samples)[:p.samples]  # "": start of a line
        if level != "char":  # an empty prompt means nothing at word level
            prompts = [q for q in prompts if q]
        filters = [f"temperature {p.temperature}"]
        if p.top_k:
            filters.append(f"top-k {p.top_k}")
        if p.top_p:
            filters.append(f"top-p {p.top_p}")
        lines = [f"# {len(prompts)} samples of {p.sample_length} {self.unit}s each, "
                 f"{', '.join(filters)}, seed {p.sample_seed}; prompts come from held-out text", ""]
        for i, prompt in enumerate(prompts):
            text = generate(ctx.model, self.vocab, prompt, p.sample_length,
                            temperature=p.temperature, top_k=p.top_k, top_p=p.top_p,
                            seed=p.sample_seed + i, level=level, on_unknown="unk",
                            device=ctx.device)[0]
            lines += [f"--- sample {i + 1}, prompt {prompt!r} ---",
                      with_prompt(prompt, text, level), ""]
        path = ctx.run_dir / "samples.txt"
        path.write_text("\n".join(lines), encoding="utf-8")
        return [path]


def _targets(data) -> Tensor:
    """(N,) the real (non-padding) targets of an item dataset (e.g. scored lines)."""
    ys = [data[i]["y"].reshape(-1) for i in range(len(data))]
    y = torch.cat(ys) if ys else torch.zeros(0, dtype=torch.long)
    return y[y != PAD_ID]


__all__ = ["LanguageModel", "LanguageModelParams", "lm_metrics"]
