"""``text_csv``: labelled texts from a CSV with a text and a label column.

Texts become token ids at character or word level, of varying length (the collate pads
them and adds ``lengths``, which the recurrent stack masks, so padding never changes a
prediction). Split with :func:`~seqforge.data.splits.split_indices` (stratified by
default), seeded by the spec's ``seed`` — or from fixed files: ``train`` (a synonym of
``source``) with ``val`` / ``test`` each a fraction of it or a CSV of its own, read as
``seqforge evaluate --data FILE`` reads files (the training vocabulary and classes; an
unseen label is an error naming its line). Items are ``{"x": (T,) long, "y": 0-d long,
"text": str}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, columns_of, fingerprint
from ..facets import Classes, Tokens
from ..io.csv_text import load_labelled_text
from ..io.table import Table, as_table, optional_column, resolve_columns
from ..splits import FileSplitParams, fixed_splits, split_indices, subset
from ..transforms.classes import class_counts, class_order, known_label
from ..transforms.vocab import Vocab, tokenize


class TextCSVParams(FileSplitParams):
    source: str | None = Field(None, description="CSV path, relative to the spec file")
    train: str | None = Field(None, description="the training CSV (a synonym of source, "
                                                "for specs with val/test files)")
    text_column: str = Field("text", description="column holding the text")
    label_column: str = Field("label", description="column holding the class label")
    level: Literal["char", "word"] = Field("word", description="tokens: characters or words")
    lowercase: bool = Field(True, description="lower-case texts before tokenizing")
    max_len: int | None = Field(200, ge=1, le=1_000_000,
                                description="keep the first max_len tokens of a text; null: all")
    min_freq: int = Field(1, ge=1, description="tokens seen fewer times in train become <unk>")
    max_vocab: int | None = Field(None, ge=1, description="keep only the most frequent tokens")

    @model_validator(mode="after")
    def _one_training_file(self):
        if (self.source is None) == (self.train is None):
            raise ValueError("give the training CSV as source (or train), exactly once")
        return self


class TextCSV(DatasetSource):
    """Labelled texts from a CSV (text and label columns), as char or word token ids."""

    Params = TextCSVParams
    provides = Shape.SEQUENCE
    facets = (Classes, Tokens)

    def _path(self) -> Path:
        return self.resolve_path(self.params.source or self.params.train)

    def tokens(self, text: str) -> list[str]:
        """The tokens the model reads for ``text`` (lower-cased, tokenized, truncated)."""
        p = self.params
        toks = tokenize(text.lower() if p.lowercase else text, p.level)
        return toks[:p.max_len] if p.max_len else toks

    def load(self) -> DataBundle:
        p = self.params
        path = self._path()
        source = str(path)
        texts, labels = load_labelled_text(path, p.text_column, p.label_column)
        saved = self.saved
        # scoring a trained run on another file keeps the run's classes and vocabulary
        classes = saved.facet(Classes).names if saved is not None else class_order(labels)
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(f"labels {unknown} were not among the classes the model was trained "
                            f"on ({', '.join(classes)})", source=source)
        y = np.array([index[lab] for lab in labels], dtype=np.int64)  # (N,)
        parts = split_indices(y, p.fraction("val"), p.fraction("test"), seed=self.seed,
                              stratified=p.split == "stratified", source=source)
        toks = [self.tokens(t) for t in texts]
        # the vocabulary comes from the training split only: val/test words the model
        # never trained on are <unk>, as they will be for real new text
        vocab = (saved.vocab if saved is not None else
                 Vocab.build((toks[i] for i in parts[0]), min_freq=p.min_freq,
                             max_size=p.max_vocab))
        cols = {
            "x": [torch.tensor(vocab.encode(t), dtype=torch.long) for t in toks],  # (T_i,)
            "y": torch.from_numpy(y),
            "text": texts,  # kept for prediction files; the collate passes strings through
        }
        splits = [subset(cols, i) for i in parts]
        info = DataInfo(input=Shape.SEQUENCE, vocab=vocab).with_facets(
            Classes(names=classes, train_counts=class_counts(y[parts[0]], len(classes))),
            Tokens(level=p.level))
        # val/test files are read as files to score are: the training vocabulary and classes
        others = {k: self.resolve_path(v) for k, v in p.files().items()}
        notes = fixed_splits(splits, path, others,
                             lambda f: self.read_inputs(f, info, targets=True))
        return DataBundle(*splits, info, source=source, notes=notes,
                          fingerprint=fingerprint(texts, labels, p.model_dump_json(), self.seed,
                                                  *(str(o) for o in others.values())))

    def example_keys(self, bundle: DataBundle, split: str) -> set[str]:
        """Each example's text as the file holds it (a file that holds one text twice can
        put it in two splits: the check then fails, rightly — that test example measures
        memory)."""
        return set(columns_of(bundle.split(split), "text")["text"])

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test texts with their labels, in the training file's column names."""
        cols = columns_of(bundle.test or bundle.train, "text", "y")
        names = bundle.info.facet(Classes).names
        return as_table({self.params.text_column: list(cols["text"][:5]),
                         self.params.label_column: [names[int(i)] for i in cols["y"][:5]]},
                        source="test texts")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Texts to classify from a CSV with the training text column.

        A label column (same name as in training) is optional; when present, each label
        must be one the model knows — it is then reported beside the prediction.
        """
        p = self.params
        table = as_table(inputs)
        (text_idx,) = resolve_columns([p.text_column], table.header, table.source)
        label_idx = optional_column(p.label_column, table.header)
        if targets and label_idx is None:
            resolve_columns([p.label_column], table.header, table.source)  # names the columns
        vocab: Vocab = info.vocab
        classes = info.facet(Classes).names
        items = []
        for row, line in zip(table.rows, table.lines):
            text = row[text_idx].strip()
            if not text:
                raise DataError(f"column {table.header[text_idx]!r} is empty; every row needs "
                                "a text", source=table.source, line=line)
            item: dict[str, Any] = {
                "x": torch.tensor(vocab.encode(self.tokens(text)), dtype=torch.long),  # (T,)
                "text": text,
            }
            if label_idx is not None:
                item["y"] = known_label(row[label_idx].strip(), classes, table.source, line)
            items.append(item)
        return items


__all__ = ["TextCSV", "TextCSVParams"]
