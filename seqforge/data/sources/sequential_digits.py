"""``sequential_digits``: scikit-learn's 8×8 digits read one pixel at a time (``classify``).

The small-scale counterpart of pixel-by-pixel sequential MNIST (Le et al. 2015): each
image becomes a sequence of ``64·scale²`` steps with one feature, and the digit must be
named after the last step — so whatever decides it (a stroke in the top rows) has to be
carried across the whole sequence.

* ``scale: 1`` reads the 8×8 image itself: T = 64.
* ``scale: s`` first upsamples the image bilinearly to 8s × 8s
  (:func:`~seqforge.data.transforms.pixels.upsample`): T = 64·s² (s = 4: 1024 steps,
  longer than sMNIST's 784). Be clear what this is: the same 8×8 digits, smoothed and
  spread over more steps — it tests how far a model can carry information, not whether
  it can read finer images (there is no finer detail in them).
* ``permute: true`` reads the pixels in one fixed random order (``permutation_seed``) —
  permuted sMNIST: neighbouring pixels end up far apart, so the dependencies span the
  whole sequence.

Split as ``digits`` is (stratified by default, seeded by the spec's ``seed``). Items:
``{"x": (T, 1) float in [0, 1], "y": 0-d long}``. New inputs are CSV rows of the 64
original pixels (0..16) and an optional ``label``, as ``digits`` reads them; they are
upsampled and ordered as the training images were.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from ...kinds import Shape
from ..base import DataBundle, DataInfo, DatasetSource, Inputs, columns_of
from ..facets import Classes
from ..io.digits import (DIGIT_CLASSES, DIGIT_MAX, digits_bundle, load_digits_sequences,
                         read_pixel_rows)
from ..io.table import Table, as_table
from ..splits import SplitParams
from ..transforms.pixels import as_sequences, pixel_order, upsample


class SequentialDigitsParams(SplitParams):
    scale: int = Field(1, ge=1, le=8, description="upsample each 8×8 image to 8·scale × "
                       "8·scale (bilinear) before reading it: T = 64·scale² steps")
    permute: bool = Field(False, description="read the pixels in one fixed random order "
                          "(permuted sequential digits)")
    permutation_seed: int = Field(0, ge=0, description="seed of that order (fixed: it does "
                                  "not change with the training seed)")


class SequentialDigits(DatasetSource):
    """8×8 digits one pixel per step: T = 64·scale², optionally in a fixed permuted order."""

    Params = SequentialDigitsParams
    provides = Shape.SEQUENCE
    facets = (Classes,)

    def _sequences(self, images: np.ndarray) -> np.ndarray:
        """(N, 8, 8) in [0, 1] → (N, T, 1), upsampled and ordered as the params say."""
        p = self.params
        big = upsample(images, p.scale)  # (N, 8s, 8s)
        return as_sequences(big, pixel_order(big[0].size, p.permute, p.permutation_seed))

    def load(self) -> DataBundle:
        images, y = load_digits_sequences()  # (N, 8, 8) in [0, 1], (N,)
        return digits_bundle(self._sequences(images), y, self.params, self.seed)  # x (N, T, 1)

    def example_keys(self, bundle: DataBundle, split: str) -> set[bytes]:
        """Each image's pixel sequence (the 1797 images are all distinct)."""
        x = columns_of(bundle.split(split), "x")["x"]  # (N, T, 1)
        return {seq.numpy().tobytes() for seq in x}

    def example_inputs(self, bundle: DataBundle) -> Table:
        """The first five images of the data set as a CSV holds them: 64 pixel columns
        (0..16) and ``label``."""
        images, y = load_digits_sequences()  # (N, 8, 8), (N,)
        pixels = np.rint(images[:5].reshape(5, 64) * DIGIT_MAX).astype(np.int64)  # (5, 64)
        table: dict[str, list] = {f"pixel_{k}": pixels[:, k].tolist() for k in range(64)}
        table["label"] = [DIGIT_CLASSES[int(i)] for i in y[:5]]
        return as_table(table, source="digit images")

    def read_inputs(self, inputs: Inputs, info: DataInfo, *,
                    targets: bool = False) -> list[dict[str, Any]]:
        """Images from a CSV: 64 pixel columns (0..16, row by row) and an optional
        ``label`` → the pixel sequences the model was trained on."""
        rows = read_pixel_rows(as_table(inputs), info.facet(Classes).names, targets=targets)
        if not rows:
            return []
        seqs = self._sequences(np.stack([px for px, _ in rows]))  # (n, T, 1)
        items = []
        for seq, (_, label) in zip(seqs, rows):
            item: dict[str, Any] = {"x": torch.from_numpy(seq)}
            if label is not None:
                item["y"] = label
            items.append(item)
        return items


__all__ = ["SequentialDigits", "SequentialDigitsParams"]
