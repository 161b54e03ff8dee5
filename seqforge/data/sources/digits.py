"""``digits``: scikit-learn's 1797 handwritten 8×8 digits read row by row — 8 steps of 8
pixels, the small-scale "sequential MNIST" exercise (needs ``pip install 'seqforge[digits]'``).

Split with :func:`~seqforge.data.splits.split_indices` (stratified by default), seeded by
the spec's ``seed``. Items are ``{"x": (8, 8) float in [0, 1], "y": 0-d long}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, columns_of, fingerprint
from ..facets import Classes
from ..io.digits import DIGITS_SOURCE, load_digits_sequences
from ..io.table import Table, as_table, optional_column
from ..splits import SplitParams, split_indices, subset
from ..transforms.classes import class_counts, known_label

DIGIT_CLASSES = [str(d) for d in range(10)]
#: the digits data stores pixel intensities as whole numbers 0..16
DIGIT_MAX = 16.0


class DigitsParams(SplitParams):
    pass


class Digits(DatasetSource):
    """Handwritten digits read row by row: 8 steps of 8 pixels (sequential MNIST, small)."""

    Params = DigitsParams
    provides = Shape.SEQUENCE
    facets = (Classes,)

    def load(self) -> DataBundle:
        p = self.params
        x, y = load_digits_sequences()  # (N, 8, 8) in [0, 1], (N,)
        parts = split_indices(y, p.val, p.test, seed=self.seed,
                              stratified=p.split == "stratified", source=DIGITS_SOURCE)
        cols = {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}
        train, val, test = (subset(cols, i) for i in parts)
        classes = Classes(names=list(DIGIT_CLASSES), train_counts=class_counts(y[parts[0]], 10))
        info = DataInfo(input=Shape.SEQUENCE, n_features=8).with_facets(classes)
        return DataBundle(train, val, test, info, source=DIGITS_SOURCE,
                          fingerprint=fingerprint(x, y, p.model_dump_json(), self.seed))

    def example_keys(self, bundle: DataBundle, split: str) -> set[bytes]:
        """Each image's pixels: the 1797 images are all distinct, so an image in two
        splits is one example in both."""
        x = columns_of(bundle.split(split), "x")["x"]  # (N, 8, 8)
        return {img.numpy().tobytes() for img in x}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """A few test images as a CSV holds them: 64 pixel columns (0..16) and ``label``."""
        cols = columns_of(bundle.test or bundle.train, "x", "y")
        x, y = cols["x"][:5], cols["y"][:5]  # (n, 8, 8), (n,)
        pixels = (x.reshape(len(x), 64) * DIGIT_MAX).round().to(torch.int64)  # (n, 64)
        table: dict[str, list] = {f"pixel_{k}": pixels[:, k].tolist() for k in range(64)}
        table["label"] = [bundle.info.facet(Classes).names[int(i)] for i in y]
        return as_table(table, source="test images")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Images from a CSV: 64 pixel columns (0..16, row by row) and an optional ``label``.

        The pixel columns are every column but ``label``, in file order — the layout of
        scikit-learn's ``load_digits().data``.
        """
        table = as_table(inputs)
        label_idx = optional_column("label", table.header)
        if targets and label_idx is None:
            raise DataError("has no 'label' column to score against", source=table.source)
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
                item["y"] = known_label(row[label_idx].strip(), info.facet(Classes).names,
                                         table.source, line)
            items.append(item)
        return items


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


__all__ = ["Digits", "DigitsParams", "DIGIT_CLASSES"]
