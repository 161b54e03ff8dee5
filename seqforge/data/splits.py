"""How datasets split their examples into train / val / test.

Two ways, both seeded and both refusing a non-zero fraction that yields no example:

* :func:`split_by_fraction` — chronological slices (series, token streams, pair files):
  train first, test last, so nothing of the future leaks into training;
* :func:`split_indices` — per-example assignment for labelled data, stratified by class
  by default so every split keeps the class mix.
"""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import Field, model_validator

from ..errors import DataError
from .base import DataParams, TensorItems


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


Fraction = Annotated[float, Field(ge=0, lt=1)]


class SplitFiles(DataParams):
    """``val`` / ``test`` keys of datasets that read files: each a fraction of the training
    file's examples or a path to a file of its own (relative to the spec). With fixed
    ``val`` and ``test`` files nothing is cut from the training file. ``val`` and ``test``
    naming one file is refused: the best epoch would be chosen on test data."""

    val: Union[Fraction, str] = Field(
        0.1, description="validation: a fraction of the training file, or a file path")
    test: Union[Fraction, str] = Field(
        0.2, description="test: a fraction of the training file, or a file path")

    @model_validator(mode="after")
    def _fractions(self):
        fr = [v for v in (self.val, self.test) if not isinstance(v, str)]
        if sum(fr) >= 1:
            raise ValueError(f"val {self.val} + test {self.test} leaves nothing to train on")
        if isinstance(self.val, str) and isinstance(self.test, str) and \
                Path(self.val) == Path(self.test):
            raise ValueError(f"val and test name the same file ({self.test}): the best epoch "
                             "would be chosen on the test data — give a separate val file or "
                             "a fraction (val: 0.1)")
        return self

    def fraction(self, name: str) -> float:
        """The share of the training file cut for ``name`` (0 when it has a file)."""
        v = getattr(self, name)
        return 0.0 if isinstance(v, str) else float(v)

    def files(self) -> dict[str, str]:
        """``{"val": path, "test": path}`` for the splits read from files of their own."""
        return {k: v for k in ("val", "test") if isinstance(v := getattr(self, k), str)}


class FileSplitParams(SplitFiles):
    """Split keys of the labelled datasets that read files: ``train`` (the training file),
    ``val`` / ``test`` as :class:`SplitFiles` says — fractions stratified by class unless
    ``split: shuffle``."""

    split: Literal["stratified", "shuffle"] = Field(
        "stratified", description="stratified: each split keeps the class mix; shuffle: "
                                  "a seeded random split")


def same_file_notes(train: Path, others: dict[str, Path]) -> list[str]:
    """A note for each val/test file that is the training file itself (same path after
    resolving): its scores measure recall, not generalisation. Datasets hand these to
    :attr:`DataBundle.notes <seqforge.data.base.DataBundle.notes>`; the run prints them as
    warnings (``warning: …`` on the command line) and keeps them in ``summary.json``."""
    return [f"data.{name} is the training file ({path}): its scores measure recall of "
            "training examples, not generalisation"
            for name, path in others.items() if path.resolve() == train.resolve()]


def fixed_splits(splits: list, train: Path, files: dict[str, Path],
                 read: Callable[[Path], list[dict[str, Any]]]) -> list[str]:
    """Replace the ``splits`` [train, val, test] named in ``files`` by the items ``read``
    gives for their file (a dataset's ``read_inputs(path, info, targets=True)``); returns
    the notes for files that are the training file itself (:func:`same_file_notes`)."""
    for name, path in files.items():
        items = read(path)
        splits[("train", "val", "test").index(name)] = TensorItems(
            **{k: [it[k] for it in items] for k in items[0]})
    return same_file_notes(train, files)


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



def split_by_fraction(
    n: int, val: float, test: float, *, source: str | None = None
) -> tuple[slice, slice, slice]:
    """Chronological ``(train, val, test)`` slices of ``n`` rows.

    The last ``round(n*test)`` rows are test, the ``round(n*val)`` before them val, the
    rest train. A non-zero fraction that rounds to no rows is an error rather than a
    silently empty part.
    """
    where = source or "series"
    for name, frac in (("val", val), ("test", test)):
        is_number = isinstance(frac, (int, float, np.floating)) and not isinstance(frac, bool)
        if not (is_number and 0 <= frac < 1):
            raise DataError(f"{name} fraction must be in [0, 1), got {frac!r}", source=where)
    if val + test >= 1:
        raise DataError(
            f"val fraction {val} + test fraction {test} leaves no rows for training", source=where
        )
    n_test = int(round(n * test))
    n_val = int(round(n * val))
    for name, frac, count in (("val", val, n_val), ("test", test, n_test)):
        if frac > 0 and count == 0:
            raise DataError(
                f"{name} fraction {frac} of {n} rows is less than one row — raise it or set it "
                "to 0",
                source=where,
            )
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataError(
            f"{n} rows leave none for training after val and test", source=where
        )
    return (
        slice(0, n_train),
        slice(n_train, n_train + n_val),
        slice(n_train + n_val, n),
    )


def subset(columns: dict[str, Any], idx: np.ndarray) -> TensorItems | None:
    """The items at ``idx`` of parallel columns (lists or tensors); None when empty."""
    if len(idx) == 0:
        return None
    return TensorItems(**{k: ([v[i] for i in idx] if isinstance(v, list) else v[idx])
                          for k, v in columns.items()})



__all__ = ["SplitParams", "SplitFiles", "FileSplitParams", "same_file_notes", "fixed_splits",
           "split_indices", "split_by_fraction", "subset"]
