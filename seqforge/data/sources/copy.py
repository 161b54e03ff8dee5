"""``copy``: the copy and selective-copy memory tasks (trained by ``language_model``).

Each example is a ``length``-character string: ``tokens`` symbols (of the first
``symbols`` letters) — at the start (copy, Arjovsky et al. 2016's "copy memory") or, with
``selective: true``, at random positions among blanks (Gu & Dao 2023's selective copy) —
then blanks, the delimiter ``:`` and ``tokens`` final steps in which the model must emit
the symbols in order (:func:`~seqforge.data.generators.memory.copy_sequences`)::

    input   abcd......:....        selective  ..a..b.c...d:....
    target  <pad>×11  abcd                    <pad>×13     abcd

The output is aligned with the input (a ``many_to_many`` model reads one character and
emits one), and only the answer steps are scored: every other target is ``<pad>``, which
the ``language_model`` task's loss and metrics ignore — so its ``accuracy`` is the share
of symbols recalled, and its unigram baseline is chance (the most frequent symbol, about
1/``symbols``; ln ``symbols`` nats of cross-entropy).

Splits are drawn with their own seeds from ``data_seed`` and never share an input.
Items: ``{"x": (T,) ids, "y": (T,) ids, "text": the input string}``. New inputs are a
table with an ``input`` column (strings like the ones above) and, to score them, an
``output`` column (the symbols to recall).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field, model_validator

from ...errors import DataError
from ...kinds import Shape
from ..base import (DataBundle, DataInfo, DatasetSource, Inputs, TensorItems, columns_of,
                    fingerprint)
from ..facets import Tokens, TokenStream
from ..generators.draws import DrawnParams
from ..generators.memory import BLANK, DELIMITER, MAX_SYMBOLS, SYMBOLS, copy_sequences
from ..io.table import Table, as_table, optional_column, resolve_columns
from ..memory import check_fits
from ..transforms.vocab import PAD_ID, UNK_ID, Vocab

SOURCE = "generator:copy"


class CopyParams(DrawnParams):
    length: int = Field(100, ge=4, le=100_000, description="steps per sequence: symbols, "
                        "blanks, the delimiter and the answer steps")
    tokens: int = Field(10, ge=1, le=1000, description="symbols to remember and reproduce")
    symbols: int = Field(8, ge=2, le=MAX_SYMBOLS, description="alphabet size (letters a, b, …)")
    selective: bool = Field(False, description="scatter the symbols among blanks at random "
                            "positions (selective copy) instead of putting them first")

    @model_validator(mode="after")
    def _fits(self):
        if self.tokens + 1 + self.tokens > self.length:
            raise ValueError(f"length {self.length} is too short for {self.tokens} tokens, the "
                             f"delimiter and {self.tokens} answer steps (at least "
                             f"{2 * self.tokens + 1})")
        return self


def copy_vocab(symbols: int) -> Vocab:
    """Blank, delimiter, then the symbols: the same ids for every run with ``symbols``."""
    return Vocab([BLANK, DELIMITER] + list(SYMBOLS[:symbols]))


def _ids(vocab: Vocab, text: str) -> torch.Tensor:
    """(len(text),) ids of the characters of ``text`` (any other character: ``<unk>``)."""
    lut = np.full(128, UNK_ID, dtype=np.int64)  # the copy tokens are ASCII characters
    for tok, i in vocab.stoi.items():
        if len(tok) == 1 and ord(tok) < 128:
            lut[ord(tok)] = i
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # one code per char
    return torch.from_numpy(np.where(codes < 128, lut[np.minimum(codes, 127)], UNK_ID))


def _encode(vocab: Vocab, text: str, answer: str) -> tuple[torch.Tensor, torch.Tensor]:
    """x (T,) the input's ids; y (T,) ``<pad>`` except the last len(answer) steps."""
    x = _ids(vocab, text)
    y = torch.full_like(x, PAD_ID)
    if answer:
        y[-len(answer):] = _ids(vocab, answer)
    return x, y


class Copy(DatasetSource):
    """Copy / selective copy: remember ``tokens`` symbols over ``length`` steps."""

    Params = CopyParams
    provides = Shape.SEQUENCE
    facets = (Tokens, TokenStream)

    def load(self) -> DataBundle:
        p = self.params
        check_fits(17.0 * p.total * p.length, f"{p.total:,} sequences of {p.length} steps",
                   "data.length", SOURCE)  # x, y int64 and the text: 17 bytes a step
        vocab = copy_vocab(p.symbols)
        seen: set[str] = set()
        splits: dict[str, TensorItems | None] = {}
        for name, n, seed in p.draws():
            pairs = copy_sequences(n, p.length, p.tokens, p.symbols, seed,
                                   selective=p.selective, exclude=seen)
            seen.update(text for text, _ in pairs)
            encoded = [_encode(vocab, text, target[-p.tokens:]) for text, target in pairs]
            splits[name] = TensorItems(
                x=torch.stack([x for x, _ in encoded]), y=torch.stack([y for _, y in encoded]),
                text=[text for text, _ in pairs]) if n else None
        y_train = splits["train"].columns["y"]  # (N, T)
        stream = TokenStream(seq_len=p.length, unigram_counts=torch.bincount(
            y_train[y_train != PAD_ID], minlength=len(vocab)).tolist())
        info = DataInfo(input=Shape.SEQUENCE, vocab=vocab, target_vocab=vocab).with_facets(
            Tokens(level="char"), stream)
        return DataBundle(splits["train"], splits["val"], splits["test"], info, source=SOURCE,
                          fingerprint=fingerprint(splits["train"].columns["x"],
                                                  p.model_dump_json()))

    def example_keys(self, bundle: DataBundle, split: str) -> set[str]:
        """Each input string (splits are drawn to be disjoint)."""
        return set(columns_of(bundle.split(split), "text")["text"])

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test examples as an ``input,output`` table."""
        cols = columns_of(bundle.test or bundle.train, "text")
        texts = list(cols["text"][:4])
        k = self.params.tokens
        answers = ["".join(c for c in t[:-k - 1] if c not in (BLANK, DELIMITER)) for t in texts]
        return as_table({"input": texts, "output": answers}, source="test examples")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Rows of ``input`` (a string over the blank, the delimiter and the symbols) and
        optionally ``output`` (the symbols to recall at its last steps)."""
        table = as_table(inputs)
        (k_in,) = resolve_columns(["input"], table.header, table.source)
        k_out = optional_column("output", table.header)
        if targets and k_out is None:
            raise DataError("has no 'output' column to score against", source=table.source)
        vocab = info.vocab
        items = []
        for row, line in zip(table.rows, table.lines):
            text = row[k_in].strip()
            answer = row[k_out].strip() if k_out is not None else ""
            for what, s in (("input", text), ("output", answer)):
                bad = sorted({c for c in s if c not in vocab.stoi})
                if bad:
                    raise DataError(f"{what} holds {''.join(bad)!r}, which is not among the "
                                    f"trained tokens {''.join(vocab.itos[4:])!r}",
                                    source=table.source, line=line)
            if not text or len(answer) > len(text):
                raise DataError(f"input must be non-empty and at least as long as output "
                                f"({len(text)} vs {len(answer)} characters)",
                                source=table.source, line=line)
            x, y = _encode(vocab, text, answer)
            item: dict[str, Any] = {"x": x, "text": text}
            if k_out is not None:
                item["y"] = y
            items.append(item)
        return items


__all__ = ["Copy", "CopyParams", "copy_vocab"]
