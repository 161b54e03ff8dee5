"""seq2seq: translate a source string into a target string, character by character.

Loss: token cross-entropy of the *teacher-forced* decoder (each step reads the true
previous character), ignoring padding. Metrics judge what users get — *free-running*
greedy decoding, each step reading the model's own previous output:

* ``exact_match``: fraction of examples whose decoded string equals the target exactly
  (the right characters, then ``<eos>`` at the right place);
* ``token_accuracy``: fraction of target positions (``<eos>`` included) where the
  decoded token equals the target's; positions after an early ``<eos>`` count as wrong.

Baseline (model-free, same metrics): the better of two rules *chosen on the training
split* and then scored on the evaluated split —

* ``copy_input``: the output is the source itself (the identity; strong wherever target
  and source share most characters, e.g. reversal of near-palindromes);
* ``positional_mode``: one fixed string, the most frequent training target length filled
  with the most frequent character at each position (what a decoder that ignores its
  input converges to; for dates it gets the shared "19??-??-??" skeleton).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor

from ..data.base import columns_of
from ..data.facets import Pairs
from ..data.io.rows import write_rows
from ..data.transforms.vocab import EOS_ID, PAD_ID
from ..errors import SpecError
from ..inference.beam import Decoded, beam_search, greedy_decode, strip_after_eos
from ..kinds import Shape
from ..plots import figure, save_figure
from ..topologies.protocols import StepDecoder
from .base import ArtifactContext, Metrics, Task, TaskParams


class Seq2SeqTaskParams(TaskParams):
    beam: int = Field(1, ge=1, le=64, description="beam width for predictions (predict, "
                                                  "predictions.csv); metrics always decode greedily")
    attention_examples: int = Field(4, ge=0, le=16,
                                    description="test examples drawn in attention.png")


def match_counts(pred: Tensor, y: Tensor) -> tuple[int, int, int]:
    """(exact matches, correct tokens, target tokens) of predictions against targets.

    pred (B, L) decoded ids, <pad> after <eos>; y (B, T) target ids + <eos>, <pad> after.
    """
    B, T = y.shape
    if pred.shape[1] < T:
        pred = F.pad(pred, (0, T - pred.shape[1]), value=PAD_ID)
    pred = pred[:, :T]  # (B, T): anything decoded beyond the target is wrong anyway
    real = y != PAD_ID  # (B, T)
    hit = (pred == y) & real  # (B, T)
    # a full match of every real position includes <eos>, so the prediction ends there too
    exact = (hit.sum(1) == real.sum(1))  # (B,)
    return int(exact.sum()), int(hit.sum()), int(real.sum())


class Seq2SeqMetrics(Metrics):
    """exact_match and token_accuracy of free-running greedy decoding."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        self.exact = self.hit = self.tokens = self.n = 0

    def update(self, out: Tensor, batch: dict[str, Any]) -> None:
        y = batch["y"]  # (B, T)
        # decoding y's length suffices: a longer output cannot match the target
        dec = greedy_decode(self.model, batch, max_length=y.shape[1])
        e, h, t = match_counts(dec.tokens, y)
        self.exact += e
        self.hit += h
        self.tokens += t
        self.n += y.shape[0]

    def compute(self) -> dict[str, float]:
        if not self.n:
            return {}
        return {"exact_match": self.exact / self.n, "token_accuracy": self.hit / max(self.tokens, 1)}


class Seq2Seq(Task):
    """Source string → target string (exact match / token accuracy vs a model-free rule)."""

    Params = Seq2SeqTaskParams
    outputs = (Shape.SEQUENCE,)
    requires = (Pairs,)
    model_protocols = (StepDecoder,)
    monitor = "val_exact_match"

    def __init__(self, params, info):
        super().__init__(params, info)
        info.facet(Pairs, needed_by="task 'seq2seq'")
        if info.target_vocab is None or info.vocab is None:
            raise SpecError("task 'seq2seq' needs a dataset of token source/target pairs "
                            "(e.g. dataset: seq2seq)", path="task")
        self.src_vocab = info.vocab
        self.tgt_vocab = info.target_vocab
        self._rule: str | None = None  # the baseline, chosen on the training pairs
        self._mode: str = ""

    def output_size(self) -> int:
        return len(self.tgt_vocab)

    # -- training --------------------------------------------------------------------------
    def loss(self, out: Tensor, batch: dict[str, Any]) -> Tensor:
        y = batch["y"]  # (B, T)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=PAD_ID)

    def batch_weight(self, batch: dict[str, Any]) -> int:
        # the loss is a mean over real target tokens; weigh batches by them for epoch means
        return int((batch["y"] != PAD_ID).sum())

    def new_metrics(self, model) -> Metrics:
        return Seq2SeqMetrics(model)

    # -- strings ---------------------------------------------------------------------------
    def text(self, ids: list[int]) -> str:
        """Decoded ids (cut at the first <eos>) → the target string."""
        return "".join(self.tgt_vocab.decode(strip_after_eos([int(i) for i in ids])))

    def source_text(self, ids: list[int]) -> str:
        return "".join(self.src_vocab.decode(ids))

    # -- baseline --------------------------------------------------------------------------
    def fit(self, train) -> None:
        """Choose the model-free rule that scores best on the training pairs."""
        cols = columns_of(train, "src", "tgt")
        src, tgt = list(cols["src"]), list(cols["tgt"])
        self._mode = positional_mode(tgt)
        scored = {r: self._score_strings(self._rule_outputs(r, src), tgt)
                  for r in ("copy_input", "positional_mode")}
        self._rule = max(scored, key=lambda r: (scored[r]["exact_match"],
                                                scored[r]["token_accuracy"]))

    def state_dict(self) -> dict[str, Any]:
        return {"baseline_rule": self._rule, "positional_mode": self._mode}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rule = state.get("baseline_rule")
        self._mode = state.get("positional_mode", "")

    def _rule_outputs(self, rule: str, sources: list[str]) -> list[str]:
        if rule == "copy_input":
            return list(sources)
        return [self._mode] * len(sources)

    def _score_strings(self, preds: list[str], targets: list[str]) -> dict[str, float]:
        exact = hit = total = 0
        for p, t in zip(preds, targets):
            p_ids = self.tgt_vocab.encode(list(p), add_eos=True)
            t_ids = self.tgt_vocab.encode(list(t), add_eos=True)
            exact += p == t
            hit += sum(a == b for a, b in zip(p_ids, t_ids))
            total += len(t_ids)
        n = max(len(targets), 1)
        return {"exact_match": exact / n, "token_accuracy": hit / max(total, 1)}

    def baseline_name(self) -> str:
        return self._rule or "baseline"

    def baseline(self, data) -> dict[str, float]:
        if data is None or len(data) == 0 or self._rule is None:
            return {}
        cols = columns_of(data, "src", "tgt")
        return self._score_strings(self._rule_outputs(self._rule, list(cols["src"])),
                                   list(cols["tgt"]))

    # -- predictions -----------------------------------------------------------------------
    def decode(self, model, batch: dict[str, Any], beam: int | None = None) -> Decoded:
        beam = beam or self.params.beam
        if beam == 1:
            return greedy_decode(model, batch)
        return beam_search(model, batch, beam)[0]

    def predict(self, model, batch: dict[str, Any], beam: int | None = None) -> list[dict[str, Any]]:
        """Rows: source, prediction (and target / correct when known; score with a beam)."""
        beam = beam or self.params.beam
        dec = self.decode(model, batch, beam)
        rows = []
        sources = batch.get("src") or [self.source_text(r) for r in batch["x"].tolist()]
        for i, ids in enumerate(dec.tokens.tolist()):
            row: dict[str, Any] = {"source": sources[i], "prediction": self.text(ids)}
            if beam > 1:
                row["score"] = round(float(dec.scores[i]), 6)
            if "tgt" in batch:
                row["target"] = batch["tgt"][i]
                row["correct"] = row["prediction"] == batch["tgt"][i]
            rows.append(row)
        return rows

    # -- artifacts -------------------------------------------------------------------------
    def artifacts(self, ctx: ArtifactContext) -> list:
        """predictions.csv of the test split (val when there is none); attention.png."""
        _, ds = ctx.split()
        if ds is None:
            return []
        rows: list[dict[str, Any]] = []
        first = None
        for batch in ctx.passes.batches(ds):
            first = first or batch
            rows.extend(self.predict(ctx.model, batch))
        files = [ctx.run_dir / "predictions.csv"]
        write_rows(rows, files[0])
        if getattr(ctx.model, "attn", None) is not None and self.params.attention_examples and first:
            files.append(self._attention_plot(ctx.model, first, ctx))
        return files

    def _attention_plot(self, model, batch: dict[str, Any], ctx: ArtifactContext):
        k = min(self.params.attention_examples, batch["x"].shape[0])
        sub = {key: (v[:k] if isinstance(v, (Tensor, list)) else v) for key, v in batch.items()}
        dec = greedy_decode(model, sub, attention=True)
        cols = min(k, 2)
        rows = (k + cols - 1) // cols
        fig, axes = figure(rows, cols, figsize=(5.5 * cols, 3.6 * rows), squeeze=False)
        for i in range(rows * cols):
            ax = axes[i // cols][i % cols]
            if i >= k:
                ax.axis("off")
                continue
            src = sub["src"][i]
            n_out = int(dec.lengths[i])
            out_ids = dec.tokens[i, :n_out].tolist()
            out_labels = [self.tgt_vocab.itos[t] if t != EOS_ID else "</s>" for t in out_ids]
            w = dec.attention[i, :n_out, :len(src)].float().cpu().numpy()  # (L, S)
            ax.imshow(w, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0)
            ax.set_xticks(range(len(src)))
            ax.set_xticklabels(list(src), fontsize=7)
            ax.set_yticks(range(n_out))
            ax.set_yticklabels(out_labels, fontsize=7)
            ax.set_xlabel("source")
            ax.set_ylabel("output")
            ax.set_title(f"{src!r} → {self.text(out_ids)!r}", fontsize=8)
        fig.suptitle(f"{ctx.summary.get('name', '')}: attention (greedy decoding, test examples)")
        return save_figure(fig, ctx.run_dir / "attention.png")


def positional_mode(targets: list[str]) -> str:
    """The most frequent target length, filled with the most frequent character at each
    position (ties: the smaller character)."""
    length = Counter(len(t) for t in targets).most_common(1)[0][0]
    chars = []
    for i in range(length):
        counts = Counter(t[i] for t in targets if len(t) > i)
        chars.append(min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0])
    return "".join(chars)
