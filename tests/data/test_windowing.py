"""windowing: shapes, alignment of targets after windows, chronological splits."""

from __future__ import annotations

import numpy as np
import pytest

from seqforge.data.transforms.windowing import make_windows, split_by_fraction, windows_by_split
from seqforge.errors import DataError


def ramp(n: int, c: int = 3) -> np.ndarray:
    # value = 10*row + column, so every cell says where it came from
    return np.arange(n)[:, None] * 10.0 + np.arange(c)[None, :]  # (n, c)


def test_shapes_and_alignment():
    values = ramp(20)
    x, y = make_windows(values, window=5, horizon=2, input_idx=[0, 1, 2], target_idx=[1])
    assert x.shape == (14, 5, 3)
    assert y.shape == (14, 2, 1)
    for i in range(14):
        np.testing.assert_array_equal(x[i], values[i : i + 5])
        # the first target is the row right after window i
        assert y[i, 0, 0] == values[i + 5, 1]
        assert y[i, 1, 0] == values[i + 6, 1]


def test_exactly_enough_rows_gives_one_window():
    x, y = make_windows(ramp(4), 3, 1, [0], [0])
    assert x.shape == (1, 3, 1) and y.shape == (1, 1, 1)


def test_outputs_are_writable_copies():
    values = ramp(10)
    x, _ = make_windows(values, 3, 1, [0], [0])
    x[0, 0, 0] = -1
    assert values[0, 0] == 0 and x.flags.c_contiguous


def test_too_short_message_names_part_and_source():
    with pytest.raises(DataError) as err:
        make_windows(ramp(40), 60, 1, [0], [0], source="builtin:goog", part="test")
    msg = str(err.value)
    assert "window 60 + horizon 1 needs at least 61 rows" in msg
    assert "the test part of builtin:goog has 40" in msg
    assert "test fraction" in msg


@pytest.mark.parametrize("kwargs", [dict(window=0), dict(horizon=0), dict(input_idx=[5]),
                                    dict(target_idx=[])])
def test_bad_arguments(kwargs):
    args = dict(window=3, horizon=1, input_idx=[0], target_idx=[0]) | kwargs
    with pytest.raises(DataError):
        make_windows(ramp(10), **args)


def test_split_is_chronological_and_covers_everything():
    train, val, test = split_by_fraction(100, 0.1, 0.2)
    assert (train, val, test) == (slice(0, 70), slice(70, 80), slice(80, 100))
    assert split_by_fraction(10, 0, 0) == (slice(0, 10), slice(10, 10), slice(10, 10))


@pytest.mark.parametrize("val,test", [(-0.1, 0.1), (0.5, 0.5), (0.01, 0.0), (0.0, 1.2)])
def test_split_errors(val, test):
    with pytest.raises(DataError, match="series"):
        split_by_fraction(20, val, test)


def test_windows_by_split_errors_name_the_part():
    parts = windows_by_split(ramp(100), 5, 1, [0], [0], val=0.1, test=0.2)
    assert parts["train"][0].shape == (65, 5, 1)
    assert parts["val"][0].shape == (5, 5, 1)
    assert parts["test"][0].shape == (15, 5, 1)
    with pytest.raises(DataError, match="the val part of prices.csv has 10"):
        windows_by_split(ramp(100), 10, 1, [0], [0], val=0.1, test=0.2, source="prices.csv")
