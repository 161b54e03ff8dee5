"""``digits``: scikit-learn's 1797 handwritten 8×8 digits read row by row — 8 steps of 8
pixels, the small-scale "sequential MNIST" exercise (needs ``pip install 'seqforge[digits]'``).

Split with :func:`~seqforge.data.splits.split_indices` (stratified by default), seeded by
the spec's ``seed``. Items are ``{"x": (8, 8) float in [0, 1], "y": 0-d long}``.
"""

from __future__ import annotations

from typing import Any

import torch

from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, columns_of
from ..facets import Classes
from ..io.digits import (DIGIT_CLASSES, DIGIT_MAX, digits_bundle, load_digits_sequences,
                         read_pixel_rows)
from ..io.table import Table, as_table
from ..splits import SplitParams


class DigitsParams(SplitParams):
    pass


class Digits(DatasetSource):
    """Handwritten digits read row by row: 8 steps of 8 pixels (sequential MNIST, small)."""

    Params = DigitsParams
    provides = Shape.SEQUENCE
    facets = (Classes,)

    def load(self) -> DataBundle:
        x, y = load_digits_sequences()  # (N, 8, 8) in [0, 1], (N,)
        return digits_bundle(x, y, self.params, self.seed)

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
        items = []
        for pixels, label in read_pixel_rows(as_table(inputs), info.facet(Classes).names,
                                             targets=targets):
            item: dict[str, Any] = {"x": torch.from_numpy(pixels)}
            if label is not None:
                item["y"] = label
            items.append(item)
        return items


__all__ = ["Digits", "DigitsParams", "DIGIT_CLASSES"]
