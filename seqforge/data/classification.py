"""Datasets for sequence classification: one label per sequence.

``digits``
    scikit-learn's 1797 handwritten 8×8 digits read row by row — 8 steps of 8 pixels,
    the small-scale "sequential MNIST" exercise (needs ``pip install 'seqforge[digits]'``).
``text_csv``
    a CSV with a text and a label column; texts become token ids at character or word
    level, of varying length (the collate pads them and adds ``lengths``, which the
    recurrent stack masks, so padding never changes a prediction).

Both split with :func:`split_indices` (stratified by default: every split keeps the
class mix), seeded by the spec's ``seed``. Items are ``{"x", "y"}`` with ``y`` a 0-d
long class index; ``DataInfo.class_names`` maps indices back to labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from ..errors import DataError
from .base import DataBundle, DataInfo, DataParams, DatasetSource, TensorItems, fingerprint
from .digits import DIGITS_SOURCE, load_digits_sequences
from .series_csv import read_table, resolve_columns
from .text_csv import load_labelled_text
from .vocab import Vocab, tokenize

DIGIT_CLASSES = [str(d) for d in range(10)]
#: the digits data stores pixel intensities as whole numbers 0..16
DIGIT_MAX = 16.0


# ----------------------------------------------------------------------------- splits


class SplitParams(DataParams):
    """Split keys shared by the classification datasets."""

    val: float = Field(0.1, ge=0, lt=1, description="fraction of examples for validation")
    test: float = Field(0.2, ge=0, lt=1, description="fraction of examples for testing")
    split: Literal["stratified", "shuffle"] = Field(
        "stratified", description="stratified: each split keeps the class mix; shuffle: "
                                  "a seeded random split")

    @model_validator(mode="after")
    def _fractions(self):
        if self.val + self.test >= 1:
            raise ValueError(f"val {self.val} + test {self.test} leaves nothing to train on")
        return self


def split_indices(labels: np.ndarray, val: float, test: float, *, seed: int,
                  stratified: bool = True, source: str = "data"
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded (train, val, test) index arrays over ``labels`` (N,).

    Stratified: each class is shuffled and cut on its own (``round(n_c·test)`` to test,
    ``round(n_c·val)`` to val), always leaving at least one example of every class in
    train — a class the model never trains on cannot be learnt. Shuffle: one permutation
    cut by the same rounding. A non-zero fraction that yields no examples is an error.
    Each returned array is sorted, so items keep file order within a split.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)] if stratified \
        else [np.arange(len(labels))]
    for idx in groups:
        idx = rng.permutation(idx)
        n = len(idx)
        n_test = int(round(n * test))
        n_val = int(round(n * val))
        if stratified:  # keep one of each class for training
            n_test = min(n_test, n - 1)
            n_val = min(n_val, n - 1 - n_test)
        n_train = n - n_val - n_test
        parts[0].append(idx[:n_train])
        parts[1].append(idx[n_train:n_train + n_val])
        parts[2].append(idx[n_train + n_val:])
    out = tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    for name, frac, got in (("val", val, out[1]), ("test", test, out[2])):
        if frac > 0 and len(got) == 0:
            raise DataError(f"{name} fraction {frac} of {len(labels)} examples is less than one "
                            f"example — raise it or set it to 0", source=source)
    if len(out[0]) == 0:
        raise DataError(f"{len(labels)} examples leave none for training", source=source)
    return out  # type: ignore[return-value]


def _class_order(labels: list[str]) -> list[str]:
    """Sorted label names; numerically when every label is a whole number ("2" < "10")."""
    names = set(labels)
    try:
        return sorted(names, key=int)
    except ValueError:
        return sorted(names)


def _bundle_split(columns: dict[str, Any], idx: np.ndarray) -> TensorItems | None:
    if len(idx) == 0:
        return None
    return TensorItems(**{k: ([v[i] for i in idx] if isinstance(v, list) else v[idx])
                          for k, v in columns.items()})


# ----------------------------------------------------------------------------- digits


class DigitsParams(SplitParams):
    pass


class Digits(DatasetSource):
    """Handwritten digits read row by row: 8 steps of 8 pixels (sequential MNIST, small)."""

    Params = DigitsParams
    provides = "sequence"

    def load(self) -> DataBundle:
        p = self.params
        x, y = load_digits_sequences()  # (N, 8, 8) in [0, 1], (N,)
        parts = split_indices(y, p.val, p.test, seed=self.seed,
                              stratified=p.split == "stratified", source=DIGITS_SOURCE)
        cols = {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}
        train, val, test = (_bundle_split(cols, i) for i in parts)
        info = DataInfo(input="sequence", n_features=8, n_classes=10,
                        class_names=list(DIGIT_CLASSES),
                        meta={"source": DIGITS_SOURCE, "rows_as_steps": True})
        return DataBundle(train, val, test, info, transforms={"classes": list(DIGIT_CLASSES)},
                          source=DIGITS_SOURCE,
                          fingerprint=fingerprint(x, y, p.model_dump_json(), self.seed))

    def read_inputs(self, path: Path, bundle: DataBundle) -> list[dict[str, Any]]:
        """Images from a CSV: 64 pixel columns (0..16, row by row) and an optional ``label``.

        The pixel columns are every column but ``label``, in file order — the layout of
        scikit-learn's ``load_digits().data``.
        """
        table = read_table(path)
        label_idx = _optional_column("label", table.header)
        pix_idx = [k for k in range(len(table.header)) if k != label_idx]
        if len(pix_idx) != 64:
            raise DataError(f"expected 64 pixel columns (an 8×8 image, row by row) besides an "
                            f"optional 'label' column, found {len(pix_idx)}", source=table.source)
        items = []
        for row, line in zip(table.rows, table.lines):
            try:
                px = np.array([float(row[k]) for k in pix_idx], dtype=np.float32)
            except ValueError:
                bad = next(row[k] for k in pix_idx if not _is_float(row[k]))
                raise DataError(f"pixel value {bad!r} is not a number", source=table.source,
                                line=line) from None
            if not np.all((px >= 0) & (px <= DIGIT_MAX)):
                raise DataError(f"pixel values must lie in 0..{DIGIT_MAX:g} (as in the training "
                                f"data), found {px.min():g}..{px.max():g}",
                                source=table.source, line=line)
            item: dict[str, Any] = {"x": torch.from_numpy((px / DIGIT_MAX).reshape(8, 8))}
            if label_idx is not None:
                item["y"] = _known_label(row[label_idx].strip(), bundle.info.class_names,
                                         table.source, line)
            items.append(item)
        return items


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- text CSV


class TextCSVParams(SplitParams):
    source: str = Field(..., description="CSV path, relative to the spec file")
    text_column: str = Field("text", description="column holding the text")
    label_column: str = Field("label", description="column holding the class label")
    level: Literal["char", "word"] = Field("word", description="tokens: characters or words")
    lowercase: bool = Field(True, description="lower-case texts before tokenizing")
    max_len: int | None = Field(200, ge=1, le=1_000_000,
                                description="keep the first max_len tokens of a text; null: all")
    min_freq: int = Field(1, ge=1, description="tokens seen fewer times in train become <unk>")
    max_vocab: int | None = Field(None, ge=1, description="keep only the most frequent tokens")


class TextCSV(DatasetSource):
    """Labelled texts from a CSV (text and label columns), as char or word token ids."""

    Params = TextCSVParams
    provides = "sequence"

    def _path(self) -> Path:
        return self.resolve_path(self.params.source)

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
        saved = self.saved_transforms or {}
        # scoring a trained run on another file keeps the run's classes and vocabulary
        classes = list(saved["classes"]) if "classes" in saved else _class_order(labels)
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(f"labels {unknown} were not among the classes the model was trained "
                            f"on ({', '.join(classes)})", source=source)
        y = np.array([index[lab] for lab in labels], dtype=np.int64)  # (N,)
        parts = split_indices(y, p.val, p.test, seed=self.seed,
                              stratified=p.split == "stratified", source=source)
        toks = [self.tokens(t) for t in texts]
        # the vocabulary comes from the training split only: val/test words the model
        # never trained on are <unk>, as they will be for real new text
        vocab = (Vocab.from_dict(saved["vocab"]) if "vocab" in saved else
                 Vocab.build((toks[i] for i in parts[0]), min_freq=p.min_freq,
                             max_size=p.max_vocab))
        cols = {
            "x": [torch.tensor(vocab.encode(t), dtype=torch.long) for t in toks],  # (T_i,)
            "y": torch.from_numpy(y),
            "text": texts,  # kept for prediction files; the collate passes strings through
        }
        train, val, test = (_bundle_split(cols, i) for i in parts)
        info = DataInfo(input="sequence", vocab=vocab, n_classes=len(classes),
                        class_names=classes,
                        meta={"source": source, "level": p.level, "text_column": p.text_column,
                              "label_column": p.label_column})
        return DataBundle(train, val, test, info,
                          transforms={"vocab": vocab.to_dict(), "classes": classes},
                          source=source,
                          fingerprint=fingerprint(texts, labels, p.model_dump_json(), self.seed))

    def read_inputs(self, path: Path, bundle: DataBundle) -> list[dict[str, Any]]:
        """Texts to classify from a CSV with the training text column.

        A label column (same name as in training) is optional; when present, each label
        must be one the model knows — it is then reported beside the prediction.
        """
        p = self.params
        table = read_table(path)
        (text_idx,) = resolve_columns([p.text_column], table.header, table.source)
        label_idx = _optional_column(p.label_column, table.header)
        vocab: Vocab = bundle.info.vocab
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
                item["y"] = _known_label(row[label_idx].strip(), bundle.info.class_names,
                                         table.source, line)
            items.append(item)
        return items


# ----------------------------------------------------------------------------- helpers


def _optional_column(name: str, header: list[str]) -> int | None:
    """Position of ``name`` (case-insensitive) in ``header``, or None when absent."""
    for k, col in enumerate(header):
        if col == name:
            return k
    for k, col in enumerate(header):
        if col.lower() == name.lower():
            return k
    return None


def _known_label(label: str, classes: list[str], source: str, line: int) -> torch.Tensor:
    """The class index of ``label`` as a 0-d tensor; DataError naming the known classes."""
    if not label:
        raise DataError("the label cell is empty; fill it in or drop the label column (labels "
                        "are optional for prediction)", source=source, line=line)
    if label not in classes:
        shown = ", ".join(repr(c) for c in classes[:50]) + (" …" if len(classes) > 50 else "")
        raise DataError(f"label {label!r} is not one the model was trained on; known labels: "
                        f"{shown}", source=source, line=line)
    return torch.tensor(classes.index(label), dtype=torch.long)


__all__ = ["Digits", "DigitsParams", "TextCSV", "TextCSVParams", "split_indices"]
