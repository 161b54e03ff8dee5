"""Handwritten digits as sequences: the small-scale "sequential MNIST" exercise.

scikit-learn ships 1797 8x8 digit images inside its package (no download). Reading each
image row by row turns it into an 8-step sequence of 8 features, so a recurrent model
must carry what it saw in earlier rows to classify the digit at the end.
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import DataError
from ...kinds import Shape
from ..base import DataBundle, fingerprint
from ..facets import Classes
from ..info import DataInfo
from ..splits import SplitParams, split_indices, subset
from ..transforms.classes import class_counts, known_label
from .table import Table, optional_column

DIGITS_SOURCE = "builtin:digits"
DIGIT_CLASSES = [str(d) for d in range(10)]


def load_digits_sequences() -> tuple[np.ndarray, np.ndarray]:
    """``X`` ``(1797, 8, 8)`` float32 in [0, 1] (rows are time steps) and ``y`` ``(1797,)`` int64.

    Raises DataError telling the user how to install scikit-learn when it is missing.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError(
            "the digits data comes with scikit-learn, which is not installed; run "
            "pip install 'seqforge[digits]'",
            source=DIGITS_SOURCE,
        ) from None
    bunch = load_digits()
    # pixel intensities are 0..16 in this data set
    x = (np.asarray(bunch.images, dtype=np.float32) / 16.0).reshape(-1, 8, 8)  # (N, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)  # (N,)
    return x, y


#: the digits data stores pixel intensities as whole numbers 0..16
DIGIT_MAX = 16.0


def read_pixel_rows(table: Table, names: list[str], *, targets: bool
                    ) -> list[tuple[np.ndarray, torch.Tensor | None]]:
    """Images from a table of 64 pixel columns (0..16, row by row — the layout of
    scikit-learn's ``load_digits().data``) and an optional ``label``: one ``(pixels (8, 8)
    float32 in [0, 1], 0-d class index or None)`` per row. The pixel columns are every
    column but ``label``, in order. DataError (file, line) for anything else."""
    label_idx = optional_column("label", table.header)
    if targets and label_idx is None:
        raise DataError("has no 'label' column to score against", source=table.source)
    pix_idx = [k for k in range(len(table.header)) if k != label_idx]
    if len(pix_idx) != 64:
        raise DataError(f"expected 64 pixel columns (an 8×8 image, row by row) besides an "
                        f"optional 'label' column, found {len(pix_idx)}", source=table.source)
    out = []
    for row, line in zip(table.rows, table.lines):
        px = np.empty(64, dtype=np.float32)
        for j, k in enumerate(pix_idx):
            try:
                px[j] = float(row[k])
            except ValueError:
                raise DataError(f"pixel value {row[k]!r} is not a number", source=table.source,
                                line=line) from None
        if not np.all((px >= 0) & (px <= DIGIT_MAX)):
            raise DataError(f"pixel values must lie in 0..{DIGIT_MAX:g} (as in the training "
                            f"data), found {px.min():g}..{px.max():g}",
                            source=table.source, line=line)
        label = (known_label(row[label_idx].strip(), names, table.source, line)
                 if label_idx is not None else None)
        out.append(((px / DIGIT_MAX).reshape(8, 8), label))
    return out



def digits_bundle(x: np.ndarray, y: np.ndarray, params: SplitParams, seed: int) -> DataBundle:
    """The digits as sequences x (N, T, F), labels y (N,), split as ``params`` say
    (stratified by class unless ``split: shuffle``, seeded by the spec's ``seed``), with
    the classes facet."""
    parts = split_indices(y, params.val, params.test, seed=seed,
                          stratified=params.split == "stratified", source=DIGITS_SOURCE)
    cols = {"x": torch.from_numpy(x), "y": torch.from_numpy(y)}
    train, val, test = (subset(cols, i) for i in parts)
    classes = Classes(names=list(DIGIT_CLASSES), train_counts=class_counts(y[parts[0]], 10))
    info = DataInfo(input=Shape.SEQUENCE, n_features=int(x.shape[-1])).with_facets(classes)
    return DataBundle(train, val, test, info, source=DIGITS_SOURCE,
                      fingerprint=fingerprint(x, y, params.model_dump_json(), seed))
