"""windowing and chronological splits: shapes, alignment, views, errors."""

from __future__ import annotations

import numpy as np
import pytest

from seqforge.data.splits import split_by_fraction
from seqforge.data.transforms.windowing import window_spans, windows_at
from seqforge.errors import DataError


def ramp(n: int, c: int = 3) -> np.ndarray:
    # value = 10*row + column, so every cell says where it came from
    return np.arange(n)[:, None] * 10.0 + np.arange(c)[None, :]  # (n, c)


def test_spans_shapes_and_alignment():
    values = ramp(20)
    spans = window_spans(values, 7)
    assert spans.shape == (14, 7, 3)
    for i in range(14):
        np.testing.assert_array_equal(spans[i], values[i:i + 7])


def test_spans_are_views_and_windows_are_copies():
    values = ramp(10)
    assert np.shares_memory(window_spans(values, 3), values)
    x = windows_at(values, 3, np.array([0, 4]))
    x[0, 0, 0] = -1
    assert values[0, 0] == 0 and x.flags.c_contiguous and x.dtype == np.float32


def test_windows_at_centres_each_window_on_its_mean():
    x = windows_at(ramp(10), 4, np.array([2, 5]), center=True)
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(x[0, :, 0], [-15, -5, 5, 15])


def test_exactly_enough_rows_gives_one_window():
    assert window_spans(ramp(4), 4).shape == (1, 4, 3)


def test_split_is_chronological_and_covers_everything():
    train, val, test = split_by_fraction(100, 0.1, 0.2)
    assert (train, val, test) == (slice(0, 70), slice(70, 80), slice(80, 100))
    assert split_by_fraction(10, 0, 0) == (slice(0, 10), slice(10, 10), slice(10, 10))


@pytest.mark.parametrize("val,test", [(-0.1, 0.1), (0.5, 0.5), (0.01, 0.0), (0.0, 1.2)])
def test_split_errors(val, test):
    with pytest.raises(DataError, match="series"):
        split_by_fraction(20, val, test)
