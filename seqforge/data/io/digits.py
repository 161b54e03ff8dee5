"""Handwritten digits as sequences: the small-scale "sequential MNIST" exercise.

scikit-learn ships 1797 8x8 digit images inside its package (no download). Reading each
image row by row turns it into an 8-step sequence of 8 features, so a recurrent model
must carry what it saw in earlier rows to classify the digit at the end.
"""

from __future__ import annotations

import numpy as np

from ...errors import DataError

DIGITS_SOURCE = "builtin:digits"


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
