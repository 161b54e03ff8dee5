"""Sliding windows over a series.

A forecasting example is ``window`` consecutive rows of the input columns followed by
the ``horizon`` rows of the target columns that come right after. Splits are contiguous
and in time order (train, then val, then test), so no future row leaks into training;
each part is windowed on its own, so a window never straddles two parts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...errors import DataError
from ..splits import split_by_fraction

PARTS = ("train", "val", "test")


def make_windows(
    values: np.ndarray,
    window: int,
    horizon: int,
    input_idx: Sequence[int],
    target_idx: Sequence[int],
    *,
    source: str | None = None,
    part: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every (input window, following targets) pair of ``values``.

    ``values`` is ``(N, C)``. Returns ``X`` ``(M, window, len(input_idx))`` and ``Y``
    ``(M, horizon, len(target_idx))`` with ``M = N - window - horizon + 1``, where
    ``X[i] = values[i : i+window, input_idx]`` and
    ``Y[i] = values[i+window : i+window+horizon, target_idx]``. ``source`` and ``part``
    ("train"/"val"/"test") only make error messages say which data was too short.
    """
    values = np.asarray(values)
    where = source or "series"
    if values.ndim != 2:
        raise DataError(
            f"expected a (rows, columns) array to window, got shape {values.shape}", source=where
        )
    _check_positive("window", window, where)
    _check_positive("horizon", horizon, where)
    input_idx = _check_idx("input", input_idx, values.shape[1], where)
    target_idx = _check_idx("target", target_idx, values.shape[1], where)

    n = values.shape[0]
    need = window + horizon
    if n < need:
        raise DataError(_too_short(window, horizon, n, source, part), source=where)
    # a view, no copy: (M, C, need) where M = n - need + 1
    spans = sliding_window_view(values, need, axis=0)
    x = spans[:, input_idx, :window].transpose(0, 2, 1)  # (M, window, I)
    y = spans[:, target_idx, window:].transpose(0, 2, 1)  # (M, horizon, T)
    # contiguous copies: callers turn these into tensors and may write to them
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def windows_by_split(
    values: np.ndarray,
    window: int,
    horizon: int,
    input_idx: Sequence[int],
    target_idx: Sequence[int],
    val: float,
    test: float,
    *,
    source: str | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`split_by_fraction` then :func:`make_windows` on each non-empty part.

    Returns ``{"train": (X, Y), "val": ..., "test": ...}``; a part whose fraction is 0
    is left out.
    """
    values = np.asarray(values)
    slices = split_by_fraction(values.shape[0] if values.ndim else 0, val, test, source=source)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for part, sl in zip(PARTS, slices):
        if sl.stop > sl.start:
            out[part] = make_windows(
                values[sl], window, horizon, input_idx, target_idx, source=source, part=part
            )
    return out


def _too_short(window: int, horizon: int, n: int, source: str | None, part: str | None) -> str:
    need = window + horizon
    what = source or "the series"
    if part is None:
        have, advice = f"{what} has {n}", "lower window or horizon, or use a longer series"
    elif part == "train":
        have = f"the train part of {what} has {n}"
        advice = "lower window or horizon, or the val/test fractions"
    else:
        have = f"the {part} part of {what} has {n}"
        advice = f"lower window or horizon, or raise the {part} fraction"
    return f"window {window} + horizon {horizon} needs at least {need} rows but {have} — {advice}"


def _check_positive(name: str, value: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{name} must be a whole number of at least 1, got {value!r}", source=where)


def _check_idx(kind: str, idx: Sequence[int], n_cols: int, where: str) -> list[int]:
    idx = [int(i) for i in idx]
    if not idx:
        raise DataError(f"no {kind} columns selected", source=where)
    bad = [i for i in idx if not -n_cols <= i < n_cols]
    if bad:
        raise DataError(
            f"{kind} column index {bad[0]} is out of range for {n_cols} columns", source=where
        )
    return idx
